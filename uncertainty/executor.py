"""Where tasks run: in this process (numba threads) or on a Dask cluster.

:class:`ChunkRunner` maps a function over tasks and yields the results in task order;
it knows nothing of the model. A Monte Carlo task is a chunk ``(index, first sample,
count)`` of a :class:`~uncertainty.montecarlo.ChunkJob`; a Sobol task is a block of
base rows. A task's result depends only on the job and its indices (random numbers are
a pure function of seed, sample and parameter index), so tasks run anywhere, in any
order, and the results are bit-identical to a single-process run.

The job is sent to the workers once (``scatter``): workers need the ``uncertainty``
package but not the dataset, the run file or a shared filesystem; results come back to
the client, which alone writes files.

``--workers N`` starts a local Dask cluster of N worker processes with one thread and
one numba thread each; ``--scheduler ADDR`` connects to an existing scheduler
(``tcp://host:8786``) and fails with :class:`SchedulerError` after
``CONNECT_TIMEOUT_S`` seconds if nobody answers.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from uncertainty.errors import UserError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "WORKER_ENV",
    "ChunkRunner",
    "Progress",
    "SchedulerError",
    "progress_bar",
]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_TIMEOUT_S = 10

#: Environment of local worker processes: one numba (and BLAS/OpenMP) thread each, so
#: N workers use N cores and do not oversubscribe them.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


class SchedulerError(UserError):
    """The Dask scheduler cannot be reached or a cluster cannot start (CLI exit 2)."""


_KERNEL_LOCK = threading.Lock()


def _in_worker(func: Callable[..., Any], *args: Any) -> Any:
    """Run a task in a Dask worker: one numba thread, one task at a time per process.

    ``set_num_threads(1)`` holds for the calling thread, so it is set in every task; the
    lock keeps a worker started with ``--nthreads`` > 1 from running two parallel
    kernels at once (numba's threading layers do not all allow it).
    """
    import numba

    with _KERNEL_LOCK:
        numba.set_num_threads(1)
        return func(*args)


class ChunkRunner:
    """Runs tasks in this process or on Dask and yields their results in task order.

    Parameters
    ----------
    workers : int, optional
        Start a local Dask cluster of this many worker processes (one thread each).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); wins over
        ``workers``.
    timeout : float, optional
        Seconds to wait for the scheduler (default ``CONNECT_TIMEOUT_S``).

    Raises
    ------
    SchedulerError
        The scheduler does not answer within ``timeout``, has no worker by then, or the
        address is malformed; or the local cluster cannot start.

    Notes
    -----
    Without ``workers`` or ``scheduler`` tasks run here, one after the other, each
    using all numba threads. Use as a context manager (or call :meth:`close`).
    """

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None,
                 timeout: float | None = None) -> None:
        self.client: Any = None
        self.cluster: Any = None
        if not (workers or scheduler):
            return
        from dask.distributed import Client, LocalCluster

        if scheduler:
            timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
            try:
                self.client = Client(scheduler, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise SchedulerError(
                    f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                    f"({exc}); check the address (tcp://host:port) and that "
                    f"'dask scheduler' is running there") from exc
            try:
                self.client.wait_for_workers(1, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                self.close()
                raise SchedulerError(
                    f"the Dask scheduler at {scheduler!r} has no workers after {timeout:g} s; "
                    f"start some with 'dask worker {scheduler} --nthreads 1'") from exc
            return
        try:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, dashboard_address=":0",
                                        env=dict(WORKER_ENV))
            self.client = Client(self.cluster, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise SchedulerError(f"cannot start a local Dask cluster of {workers} workers "
                                 f"({exc})") from exc

    @property
    def distributed(self) -> bool:
        """True when tasks run on Dask."""
        return self.client is not None

    @property
    def n_workers(self) -> int:
        """Dask workers connected now (0 when tasks run in this process)."""
        if self.client is None:
            return 0
        return len(self.client.nthreads())

    def map(self, func: Callable[..., Any], tasks: Iterable[Any], *shared: Any,
            window: int | None = None) -> Iterator[Any]:
        """Yield ``func(*shared, task)`` for each task, in task order.

        On Dask, ``shared`` objects are sent to every worker once; at most ``window``
        tasks (default twice the number of worker threads, at least 4) are in flight,
        so memory holds a bounded number of results while workers stay busy.
        """
        if self.client is None:
            for t in tasks:
                yield func(*shared, t)
            return
        client = self.client
        shared_f = client.scatter(list(shared), broadcast=True, hash=False) if shared else []
        if window is None:
            window = max(4, 2 * sum(client.nthreads().values()))
        it = iter(tasks)
        pending: deque[Any] = deque(
            client.submit(_in_worker, func, *shared_f, t, pure=False) for t in islice(it, window))
        try:
            while pending:
                fut = pending.popleft()
                res = fut.result()
                fut.release()
                for t in islice(it, 1):
                    pending.append(client.submit(_in_worker, func, *shared_f, t, pure=False))
                yield res
        finally:
            if pending:
                client.cancel(list(pending))
            for f in shared_f:
                f.release()

    def warm(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` once on every worker (or here): compile kernels up front."""
        if self.client is None:
            func(*args)
        else:
            self.client.run(_in_worker, func, *args)

    def close(self) -> None:
        """Disconnect from the scheduler and stop the local cluster, if any."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def __enter__(self) -> ChunkRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------ progress
class Progress:
    """One progress display for a batch of runs: a single bar over all runs' samples.

    On a terminal (stderr a TTY) it is a tqdm bar whose total is the sum of the
    samples of every Monte Carlo run in the batch; its label names the run being
    computed, and runs skipped as finished or chunks kept from an interrupted run
    advance it at once. Elsewhere (logs, CI) or when disabled it draws nothing.
    """

    def __init__(self, total: int, *, enabled: bool = True) -> None:
        self.bar: Any = None
        if enabled and total > 0 and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="samples", unit_scale=True, file=sys.stderr,
                            smoothing=0.1)

    def start(self, name: str, done: int = 0) -> None:
        """Label the bar with run ``name``; ``done`` samples of it are already finished."""
        if self.bar is not None:
            self.bar.set_description(name)
            if done:
                self.bar.update(done)

    def update(self, n: int) -> None:
        """``n`` more samples computed."""
        if self.bar is not None:
            self.bar.update(n)

    def write(self, text: str) -> None:
        """Print ``text`` to stdout without breaking the bar."""
        if self.bar is None:
            print(text)
        else:
            from tqdm import tqdm

            tqdm.write(text, file=sys.stdout)

    def close(self) -> None:
        """Finish the display."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_bar(total: int, name: str, done: int = 0) -> Progress:
    """A one-run :class:`Progress` (a tqdm bar on a terminal, nothing elsewhere)."""
    p = Progress(total)
    p.start(name, done)
    return p
