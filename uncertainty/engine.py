"""Where chunks run: in this process (numba threads) or on a Dask cluster.

A Monte Carlo task is a chunk ``(index, first sample, count)`` of a :class:`ChunkJob`
(the model, the parameter spaces and switch sets of the run's kernel passes, the seed
and the sampler). Its result depends only on the job and the sample indices (random
numbers are a pure function of seed, sample and parameter index), so chunks run
anywhere, in any order, and the results are bit-identical to a single-process run.

The job is built in the client and sent to the workers once (``scatter``): workers need
the ``uncertainty`` package but not the dataset, the run file or a shared filesystem;
results come back to the client, which alone writes files.

``--workers N`` starts a local Dask cluster of N worker processes with one thread and
one numba thread each; ``--scheduler ADDR`` connects to an existing scheduler
(``tcp://host:8786``) and fails with :class:`SchedulerError` after
``CONNECT_TIMEOUT_S`` seconds if nobody answers.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from uncertainty.model import Model, Scenario
from uncertainty.space import ParameterSpace

__all__ = [
    "CONNECT_TIMEOUT_S",
    "WORKER_ENV",
    "ChunkJob",
    "ChunkRunner",
    "Progress",
    "SchedulerError",
    "bench_workers",
    "compute_chunk",
    "progress_bar",
]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_TIMEOUT_S = 10

#: Environment of local worker processes: one numba (and BLAS/OpenMP) thread each, so
#: N workers use N cores and do not oversubscribe them.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


class SchedulerError(ValueError):
    """The Dask scheduler cannot be reached or a cluster cannot start (CLI exit 2)."""


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to compute Monte Carlo chunks of one run (no files).

    Attributes
    ----------
    model : Model
    passes : tuple of (ParameterSpace, tuple of Scenario)
        Kernel passes (:class:`uncertainty.scenarios.ScenarioPlan.passes`): each pass
        evaluates its switch sets on the same samples of its parameter space.
    seed : int
    sampler : {'philox', 'sobol'}
    """

    model: Model
    passes: tuple[tuple[ParameterSpace, tuple[Scenario, ...]], ...]
    seed: int
    sampler: str = "philox"


def compute_chunk(job: ChunkJob, task: tuple[int, int, int]) -> tuple[int, list[np.ndarray]]:
    """Evaluate one chunk ``task = (index, first sample, count)`` of ``job``.

    Returns
    -------
    index : int
    arrays : list of ndarray, shape (n_switch_sets, count, n_metrics)
        One array per pass of ``job.passes``.
    """
    from uncertainty.montecarlo import evaluate_chunk

    i, start, count = task
    return i, [evaluate_chunk(job.model, space, job.seed, start, count, list(switches),
                              job.sampler) for space, switches in job.passes]


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


# ------------------------------------------------------------------------ benchmark
def _bench_run(run: Any | None) -> Any:
    from dataclasses import replace

    from uncertainty.config import load_run

    if run is None:
        run = load_run(Path(__file__).resolve().parents[1] / "runs" / "china-2019.toml")
    return replace(run, scenarios=(), sensitivity=replace(run.sensitivity, enabled=False))


def _timed_chunk(job: ChunkJob, task: tuple[int, int, int]
                 ) -> tuple[tuple[int, list[np.ndarray]], float, float]:
    """:func:`compute_chunk` with the task's wall and CPU seconds (this process)."""
    w, c = time.perf_counter(), time.process_time()
    res = compute_chunk(job, task)
    return res, time.perf_counter() - w, time.process_time() - c


def bench_workers(samples: int = 400_000, workers: Sequence[int] = (1, 2), *,
                  chunk_size: int = 50_000, repeats: int = 3, run: Any | None = None
                  ) -> list[dict[str, Any]]:
    """Time Monte Carlo chunks on local Dask clusters of different sizes.

    For each entry ``w`` of ``workers`` (0 = this process, all numba threads): start the
    cluster (``startup_s``), run one 256-sample chunk on every worker to load the
    compiled kernels (``warmup_s``), then time ``repeats`` runs of ``samples`` samples in
    chunks of ``chunk_size`` (``compute_s``): submitting, computing, and moving every
    per-sample result array to this process; nothing is written to disk. The run is the
    default run file without scenarios or sensitivity (baseline switches only).

    Each task also reports its wall and CPU seconds inside the worker, so a measurement
    on a shared machine can be read: ``task_cpu_s`` (CPU seconds of all tasks of a
    repeat) stays put when other processes compete for the cores, while wall-clock
    times stretch; ``busy`` = task wall seconds / (workers x elapsed) near 1 means the
    client kept every worker busy.

    Returns
    -------
    list of dict
        Per entry: ``workers``, ``samples``, ``chunk_size``, ``startup_s``,
        ``warmup_s``, ``compute_s``, ``task_wall_s``, ``task_cpu_s`` (lists, one per
        repeat), ``best_s``, ``samples_per_s`` (from the best), ``busy`` (of the best)
        and ``speedup`` (best time of the first entry / this entry's best).
    """
    from uncertainty.pipeline import model_for
    from uncertainty.space import build_space

    run = _bench_run(run)
    ds, model = model_for(run)
    job = ChunkJob(model, ((build_space(run, ds, model), (run.baseline,)),),
                   run.montecarlo.seed, run.montecarlo.sampler)
    tasks = [(i, a, min(chunk_size, samples - a))
             for i, a in enumerate(range(0, samples, chunk_size))]
    out: list[dict[str, Any]] = []
    for w in workers:
        t0 = time.perf_counter()
        with ChunkRunner(workers=w or None) as runner:
            t1 = time.perf_counter()
            runner.warm(compute_chunk, job, (0, 0, 256))
            t2 = time.perf_counter()
            times, walls, cpus = [], [], []
            for _ in range(repeats):
                t = time.perf_counter()
                tw = tc = 0.0
                for _, task_wall, task_cpu in runner.map(_timed_chunk, tasks, job):
                    tw += task_wall
                    tc += task_cpu
                times.append(time.perf_counter() - t)
                walls.append(tw)
                cpus.append(tc)
        k = int(np.argmin(times))
        out.append({"workers": w, "samples": samples, "chunk_size": chunk_size,
                    "startup_s": t1 - t0, "warmup_s": t2 - t1, "compute_s": times,
                    "task_wall_s": walls, "task_cpu_s": cpus, "best_s": times[k],
                    "samples_per_s": samples / times[k],
                    "busy": walls[k] / (max(w, 1) * times[k])})
    for r in out:
        r["speedup"] = out[0]["best_s"] / r["best_s"]
    return out
