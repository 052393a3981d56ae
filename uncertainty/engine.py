"""Where chunks run: in this process (numba threads) or on a Dask cluster.

A task is a chunk ``(index, first sample, count)`` of a run; its result depends only on
the run, the seed and the sample indices, so chunks can run anywhere, in any order, and
the results are identical to a single-process run.

``--workers N`` starts a local Dask cluster of N worker processes (one numba thread
each); ``--scheduler ADDR`` connects to an existing scheduler (``tcp://host:8786``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["ChunkRunner", "SchedulerError", "compute_chunk", "progress_bar"]

CONNECT_TIMEOUT_S = 10


class SchedulerError(ValueError):
    """The Dask scheduler cannot be reached (bad input: the CLI exits 2)."""


_CACHE: dict[str, Any] = {}


def _prepared(run: Any) -> tuple[Any, Any, Any]:
    """(dataset, model, space) of a run, cached per process (workers reuse them)."""
    from uncertainty.pipeline import model_for
    from uncertainty.space import build_space

    key = json.dumps([str(run.dataset), run.allocation, run.domestic,
                      run.montecarlo.per_mine, run.montecarlo.systematic,
                      run.montecarlo.grade_stripping_correlation, run.overrides],
                     sort_keys=True, default=str)
    if key not in _CACHE:
        ds, model = model_for(run)
        _CACHE.clear()
        _CACHE[key] = (ds, model, build_space(run, ds, model))
    return _CACHE[key]


def compute_chunk(run: Any, task: tuple[int, int, int], switches: Sequence[Any],
                  scen_overrides: Sequence[Any], threads: int | None = None
                  ) -> tuple[int, np.ndarray, list[np.ndarray]]:
    """Evaluate one chunk: baseline and switch scenarios, then override scenarios.

    Returns ``(index, array (n_switch, count, n_metrics), [array (count, n_metrics)])``.
    """
    import numba

    from uncertainty.montecarlo import evaluate_chunk
    from uncertainty.space import build_space

    if threads is not None:
        numba.set_num_threads(threads)
    i, start, count = task
    ds, model, space = _prepared(run)
    mc = run.montecarlo
    arr = evaluate_chunk(model, space, mc.seed, start, count, list(switches), mc.sampler)
    extra = []
    for s in scen_overrides:
        sp = build_space(run, ds, model, extra_overrides=s.overrides)
        extra.append(evaluate_chunk(model, sp, mc.seed, start, count, [s.switches],
                                    mc.sampler)[0])
    return i, arr, extra


class ChunkRunner:
    """Runs chunk tasks locally or on Dask and yields results in task order."""

    def __init__(self, run: Any, *, workers: int | None = None, scheduler: str | None = None
                 ) -> None:
        self.run = run
        self.client = None
        self.cluster = None
        if workers or scheduler:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError as exc:  # pragma: no cover - dask is a dependency
                raise SchedulerError(f"Dask is not installed ({exc})") from exc
            if scheduler:
                try:
                    self.client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
                except (OSError, TimeoutError) as exc:
                    raise SchedulerError(
                        f"cannot reach the Dask scheduler at {scheduler!r} within "
                        f"{CONNECT_TIMEOUT_S} s ({exc.__class__.__name__}: {exc})") from exc
            else:
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                            processes=True, dashboard_address=None)
                self.client = Client(self.cluster)

    def map(self, tasks: Sequence[tuple[int, int, int]], switches: Sequence[Any],
            scen_overrides: Sequence[Any]) -> Iterator[tuple[int, np.ndarray, list[np.ndarray]]]:
        """Yield ``compute_chunk`` results in task order (so files appear in order)."""
        if self.client is None:
            for t in tasks:
                yield compute_chunk(self.run, t, switches, scen_overrides)
            return
        from dask.distributed import as_completed

        run_f = self.client.scatter(self.run, broadcast=True)
        futs = [self.client.submit(compute_chunk, run_f, t, switches, scen_overrides, 1,
                                   pure=False) for t in tasks]
        done: dict[int, Any] = {}
        order = [t[0] for t in tasks]
        nxt = 0
        for fut in as_completed(futs):
            i, arr, extra = fut.result()
            done[i] = (i, arr, extra)
            fut.release()
            while nxt < len(order) and order[nxt] in done:
                yield done.pop(order[nxt])
                nxt += 1

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def progress_bar(total: int, name: str, done: int = 0) -> Any:
    """A tqdm progress bar (samples/s, time left) on a terminal, None otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="samples", unit_scale=True, desc=name,
                file=sys.stderr, smoothing=0.1)
