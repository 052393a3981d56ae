"""``uncertainty bench``: throughput of the Monte Carlo kernel and the Sobol engine.

Everything is measured on the default run (``runs/china-2019.toml`` and the data in
``distributions/``), baseline switches only, all metrics:

* **kernel** - :func:`uncertainty.montecarlo.evaluate_chunk` (counter-based uniforms,
  every ppf and the whole model fused in one numba kernel), compiled by a warm-up call
  of one chunk first, then timed over ``samples`` samples in chunks of 65,536 (the
  pipeline's default chunk size), three passes: the median pass is reported (and the
  best); after each pass two passes on one numba thread: the time per
  mine-evaluation of the fastest and the best pass's scaling against it;
* **reference** - the same samples in plain NumPy/SciPy: the uniforms of the same
  ``(seed, sample, parameter)`` counters from :func:`uncertainty.rng.uniforms_numpy`
  (the parameter indices of :meth:`uncertainty.space.ParameterSpace.parameter_indices`),
  each row's ``Distribution.ppf``, each Dirichlet group
  by its gamma-ppf normalisation (:meth:`uncertainty.dists.Dirichlet.ppf`; the kernel
  draws Dirichlet shares with Marsaglia-Tsang instead, so those few inputs differ), the
  grade-stripping copula when the run sets one, then
  :func:`uncertainty.model.evaluate_reference`; timed end to end (uniforms + ppf +
  model) on fewer samples, and also without the uniforms (pure-NumPy Philox, the
  slowest part), so the ratio can be read both ways;
* **Sobol engine** - :func:`uncertainty.sensitivity.tmr.sobol` ``by="parameter"`` on the four
  default sensitivity metrics, in a child process (so that the Monte Carlo arrays of
  this process do not count): wall time of the call after a small warm-up and the
  child's peak resident memory (``ru_maxrss``);
* **analyze** - :func:`uncertainty.sensitivity.indices.bench_analyze`: the vectorised estimators
  against ``SALib.analyze.sobol`` on the same outputs (D = 5,000, N = 1,024).

Throughputs are mine-evaluations per second: samples x mines / seconds. The machine's
load is not controlled: figures from a shared machine are lower bounds.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from uncertainty.config import load_run
from uncertainty.executor import ChunkRunner
from uncertainty.model import build_model, evaluate_reference
from uncertainty.montecarlo import ChunkJob, compute_chunk, evaluate_chunk
from uncertainty.montecarlo.reference import reference_inputs, reference_uniforms
from uncertainty.resolve import model_for
from uncertainty.resources import default_run
from uncertainty.sensitivity.indices import bench_analyze
from uncertainty.space import build_space

__all__ = [
    "DEFAULT_RUN", "FULL", "QUICK", "format_bench", "reference_inputs",
    "reference_uniforms", "run_bench",
]

DEFAULT_RUN = default_run()

#: Sizes of a full benchmark.
FULL: dict[str, int] = {
    "samples": 200_000, "reference_samples": 2_000, "sobol_n_base": 8192,
    "analyze_d": 5000, "analyze_n": 1024,
}
#: Sizes of ``--quick`` (a smoke test, seconds rather than minutes).
QUICK: dict[str, int] = {
    "samples": 2_000, "reference_samples": 200, "sobol_n_base": 256,
    "analyze_d": 200, "analyze_n": 256,
}

_CHUNK = 65_536
_KERNEL_REPEATS = 3  # timed passes of the kernel; the median is reported
_ONE_THREAD_SAMPLES = 16_000  # samples of each single-thread pass (at most)
_ONE_THREAD_PASSES = 2  # single-thread passes after each timed pass; the fastest counts
_REFERENCE_BLOCK = 500  # samples per reference block (bounds the Philox temporaries)
_SOBOL_WARMUP_N = 64

_SOBOL_CHILD = r"""
import json, resource, sys, time
from uncertainty.config import SensitivityConfig, load_run
from uncertainty.sensitivity import tmr as tmrsobol

run = load_run(sys.argv[1])
n_base, seed, warmup = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
metrics = list(SensitivityConfig().metrics)
t0 = time.perf_counter()
tmrsobol.sobol(run, warmup, seed=seed, by="parameter", metrics=metrics)
t1 = time.perf_counter()
res = tmrsobol.sobol(run, n_base, seed=seed, by="parameter", metrics=metrics)
t2 = time.perf_counter()
frame = res.to_frame()
print(json.dumps({
    "seconds": t2 - t1, "warmup_seconds": t1 - t0, "n_params": int(res.n_params),
    "n_factors": int(frame[frame.level == "parameter"].factor.nunique()),
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def _load_default() -> tuple[Any, Any, Any, Any]:
    """(run, dataset, model, space) of the default run."""

    run = load_run(DEFAULT_RUN)
    ds, model = model_for(run)
    return run, ds, model, build_space(run, ds, model)


def _bench_kernel(model: Any, space: Any, seed: int, samples: int,
                  scenario: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    # a whole chunk: it compiles (or loads) the kernel, and a process's first large
    # arrays cost more than later ones (the first 50 MB took 107 ms to touch here,
    # later ones 12 ms), a one-time cost that belongs to the warm-up, not to a pass
    evaluate_chunk(model, space, seed, 0, min(_CHUNK, samples), [scenario])
    warm = time.perf_counter() - t0
    times = []
    one = []
    n1 = min(samples, _ONE_THREAD_SAMPLES)
    for _ in range(_KERNEL_REPEATS):
        t0 = time.perf_counter()
        for a in range(0, samples, _CHUNK):
            evaluate_chunk(model, space, seed, a, min(_CHUNK, samples - a), [scenario])
        times.append(time.perf_counter() - t0)
        # one-thread passes right after each pass, so that the two kinds see the same
        # state of a shared machine (its speed drifts over minutes)
        one += _one_thread_times(model, space, seed, n1, scenario)
    # the median pass: a shared machine's other load slows single passes at random
    dt = float(np.median(times))
    ns = min(one) / (n1 * space.n_mines) * 1e9
    best = samples * space.n_mines / min(times)
    return {"kernel_seconds": dt, "kernel_warmup_seconds": warm,
            "kernel_repeat_seconds": times,
            "kernel_mine_evals_per_s": samples * space.n_mines / dt,
            "kernel_mine_evals_per_s_best": best,
            "kernel_ns_per_mine_one_thread": ns, "kernel_one_thread_samples": n1,
            "kernel_thread_scaling": best * ns * 1e-9}


def _one_thread_times(model: Any, space: Any, seed: int, n: int, scenario: Any) -> list[float]:
    """Seconds of ``_ONE_THREAD_PASSES`` passes of ``n`` samples on one numba thread
    (numba's thread count is restored afterwards, also on error)."""
    import numba


    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        out = []
        for _ in range(_ONE_THREAD_PASSES):
            t0 = time.perf_counter()
            evaluate_chunk(model, space, seed, 0, n, [scenario])
            out.append(time.perf_counter() - t0)
    finally:
        numba.set_num_threads(threads)
    return out


def _bench_reference(model: Any, space: Any, seed: int, samples: int,
                     scenario: Any) -> dict[str, float]:
    t_u = t_ppf = t_model = 0.0
    for a in range(0, samples, _REFERENCE_BLOCK):
        idx = np.arange(a, min(samples, a + _REFERENCE_BLOCK))
        t0 = time.perf_counter()
        u = reference_uniforms(space, seed, idx)
        t1 = time.perf_counter()
        x = reference_inputs(space, u)
        t2 = time.perf_counter()
        evaluate_reference(model, *x, scenario=scenario)
        t3 = time.perf_counter()
        t_u += t1 - t0
        t_ppf += t2 - t1
        t_model += t3 - t2
    dt = t_u + t_ppf + t_model
    evals = samples * space.n_mines
    return {"reference_seconds": dt, "reference_uniforms_seconds": t_u,
            "reference_ppf_seconds": t_ppf, "reference_model_seconds": t_model,
            "reference_mine_evals_per_s": evals / dt,
            "reference_ppf_model_mine_evals_per_s": evals / (t_ppf + t_model)}


def _bench_sobol(n_base: int, seed: int, run_file: Path = DEFAULT_RUN) -> dict[str, float]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])  # the folder that holds the package
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(
        [sys.executable, "-c", _SOBOL_CHILD, str(run_file), str(n_base), str(seed),
         str(min(_SOBOL_WARMUP_N, n_base))],
        capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the Sobol benchmark child failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"sobol_seconds": res["seconds"], "sobol_warmup_seconds": res["warmup_seconds"],
            "sobol_peak_rss_mb": res["maxrss_kb"] / 1024.0, "sobol_n_params": res["n_params"],
            "sobol_n_factors": res["n_factors"], "sobol_n_base": n_base}


def _fixed_prices(ds: Any) -> Any:
    """The dataset with every price fixed (``price_gsd`` dropped): fixed allocation."""
    metals = ds.tables["metals"].drop(columns=["price_gsd"], errors="ignore")
    return replace(ds, tables={**ds.tables, "metals": metals})


def _bench_run_kernel(path: Path, samples: int, sobol_n_base: int) -> dict[str, Any]:
    """Another run file's dataset: the kernel (and, where prices are uncertain, the
    kernel with every price fixed, the fixed-allocation figure) and the Sobol engine."""

    run = load_run(path)
    ds, model = model_for(run)
    space = build_space(run, ds, model)
    res = _bench_kernel(model, space, run.montecarlo.seed, samples, run.baseline)
    out = {"run": run.name, "file": str(path), "n_mines": space.n_mines,
           "n_sites": int(model.n_sites), "n_site_rows": int((model.mine_site >= 0).sum()),
           "n_sites_by_price": int((model.site_mode > 0).sum()),
           "n_params": space.n_params, **res}
    if out["n_sites_by_price"]:
        fds = _fixed_prices(ds)
        fmodel = build_model(fds, allocation=run.allocation, domestic=run.domestic)
        fixed = _bench_kernel(fmodel, build_space(run, fds, fmodel), run.montecarlo.seed,
                              samples, run.baseline)
        out.update({f"fixed_prices_{k}": v for k, v in fixed.items()})
    out.update(_bench_sobol(sobol_n_base, run.montecarlo.seed, Path(path)))
    return out


def run_bench(samples: int | None = None, quick: bool = False,
              runs: Sequence[Path] = ()) -> dict[str, Any]:
    """Measure the kernel, the NumPy reference, the Sobol engine and the estimators.

    Parameters
    ----------
    samples : int, optional
        Monte Carlo samples of the kernel timing (default 200,000; 2,000 with
        ``quick``). The reference runs on ``min(samples, 2,000)`` (200 with ``quick``).
    quick : bool, default False
        Small sizes everywhere (a smoke test): Sobol N = 256, analyze D = 200, N = 256.
    runs : sequence of Path
        Run files whose datasets are timed too (``runs``: one dict each with ``run``,
        ``n_mines``, ``n_sites`` (co-product sites), ``n_site_rows``,
        ``n_sites_by_price`` (sites allocated per sample from uncertain prices), the
        ``kernel_*`` keys, the same keys prefixed ``fixed_prices_`` for the dataset with
        every price fixed (where some site follows prices) and the ``sobol_*`` keys: the
        every-parameter Sobol engine at the same ``N`` as the default run's).

    Returns
    -------
    dict
        JSON-ready. Keys: ``kernel_mine_evals_per_s``, ``reference_mine_evals_per_s``,
        ``kernel_vs_reference`` (their ratio), ``kernel_seconds`` (the median of three
        timed passes, ``kernel_repeat_seconds``; the best pass's rate is
        ``kernel_mine_evals_per_s_best``), ``kernel_warmup_seconds``, ``kernel_ns_per_mine_one_thread`` (the fastest of
        six passes of up to 16,000 samples, ``kernel_one_thread_samples``, on one numba
        thread, two after each timed pass) and ``kernel_thread_scaling`` (the best
        pass's rate against that one thread's: about the thread count when the threads
        scale), ``reference_seconds`` (with its ``_uniforms``,
        ``_ppf`` and ``_model`` parts), ``reference_ppf_model_mine_evals_per_s`` and
        ``kernel_vs_reference_ppf_model`` (the reference without generating the
        uniforms, whose pure-NumPy Philox dominates its time), ``samples``, ``reference_samples``, ``n_mines``,
        ``n_params``, ``n_metrics``, ``sobol_seconds``, ``sobol_warmup_seconds``,
        ``sobol_peak_rss_mb``, ``sobol_n_params``, ``sobol_n_factors``, ``sobol_n_base``,
        ``analyze_vs_salib`` (SALib seconds / ours), ``analyze_seconds``,
        ``analyze_salib_seconds``, ``analyze_max_abs_diff``, ``analyze_d``,
        ``analyze_n``, ``threads`` (numba), ``machine`` (``os.cpu_count()``),
        ``quick``, ``platform`` and versions.

    Raises
    ------
    ValueError
        If ``samples`` is not a positive integer.
    """
    import numba


    sizes = dict(QUICK if quick else FULL)
    if samples is not None:
        if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or samples <= 0:
            raise ValueError(f"samples must be a positive integer (got {samples!r})")
        sizes["samples"] = int(samples)
    n = sizes["samples"]
    n_ref = min(n, sizes["reference_samples"])
    run, _ds, model, space = _load_default()
    seed = run.montecarlo.seed
    out: dict[str, Any] = {
        "quick": bool(quick), "samples": n, "reference_samples": n_ref,
        "n_mines": space.n_mines, "n_params": space.n_params,
        "n_metrics": len(model.metric_names), "seed": seed,
        "threads": numba.get_num_threads(), "machine": os.cpu_count(),
        "platform": platform.platform(), "python": platform.python_version(),
        "numpy": np.__version__, "numba": numba.__version__,
    }
    out.update(_bench_kernel(model, space, seed, n, run.baseline))
    out.update(_bench_reference(model, space, seed, n_ref, run.baseline))
    out["kernel_vs_reference"] = (out["kernel_mine_evals_per_s"]
                                  / out["reference_mine_evals_per_s"])
    out["kernel_vs_reference_ppf_model"] = (out["kernel_mine_evals_per_s"]
                                            / out["reference_ppf_model_mine_evals_per_s"])
    out.update(_bench_sobol(sizes["sobol_n_base"], seed))
    an = bench_analyze(d=sizes["analyze_d"], n=sizes["analyze_n"])
    out.update({"analyze_vs_salib": an["speedup"], "analyze_seconds": an["ours_s"],
                "analyze_salib_seconds": an["salib_s"], "analyze_max_abs_diff": an["max_abs_diff"],
                "analyze_d": an["d"], "analyze_n": an["n"]})
    out["runs"] = [_bench_run_kernel(Path(r), n, sizes["sobol_n_base"]) for r in runs]
    return out


def format_bench(res: dict[str, Any]) -> str:
    """The result of :func:`run_bench` as a short plain-text report.

    Parameters
    ----------
    res : dict
        As returned by :func:`run_bench`.

    Returns
    -------
    str
    """
    def rate(x: float) -> str:
        return f"{x / 1e6:,.1f} million mine-evaluations/s"

    lines = [
        f"uncertainty bench{' (quick)' if res.get('quick') else ''}: default run, "
        f"{res['n_mines']:,} mines, {res['n_params']:,} parameters, {res['n_metrics']} metrics; "
        f"{res['threads']} numba threads on {res['machine']} CPUs",
        f"  kernel     {rate(res['kernel_mine_evals_per_s'])}  "
        f"({res['samples']:,} samples in {res['kernel_seconds']:.2f} s, median of "
        f"{len(res['kernel_repeat_seconds'])} passes; best "
        f"{res['kernel_mine_evals_per_s_best'] / 1e6:,.1f} million; "
        f"warm-up {res['kernel_warmup_seconds']:.1f} s)",
        f"  one thread {res['kernel_ns_per_mine_one_thread']:.1f} ns per mine-evaluation "
        f"(fastest of {_ONE_THREAD_PASSES * len(res['kernel_repeat_seconds'])} passes of "
        f"{res['kernel_one_thread_samples']:,} samples); best pass on {res['threads']} "
        f"threads {res['kernel_thread_scaling']:.2f}x that",
        f"  reference  {rate(res['reference_mine_evals_per_s'])}  "
        f"({res['reference_samples']:,} samples in {res['reference_seconds']:.2f} s: "
        f"uniforms {res['reference_uniforms_seconds']:.2f} s, ppf "
        f"{res['reference_ppf_seconds']:.2f} s, model {res['reference_model_seconds']:.2f} s)",
        f"  kernel / reference  {res['kernel_vs_reference']:.1f}x  (against the reference's "
        f"ppf + model alone: {res['kernel_vs_reference_ppf_model']:.1f}x)",
        f"  Sobol engine  N = {res['sobol_n_base']:,}, {res['sobol_n_factors']:,} factors "
        f"({res['sobol_n_params']:,} parameters): {res['sobol_seconds']:.1f} s, "
        f"peak RSS {res['sobol_peak_rss_mb']:,.0f} MB",
        f"  analyze  D = {res['analyze_d']:,}, N = {res['analyze_n']:,}: ours "
        f"{res['analyze_seconds']:.2f} s, SALib {res['analyze_salib_seconds']:.2f} s "
        f"({res['analyze_vs_salib']:.1f}x; max |diff| {res['analyze_max_abs_diff']:.1e})",
    ]
    for r in res.get("runs", []):
        lines.append(
            f"  run {r['run']}: {r['n_mines']:,} mines ({r['n_site_rows']:,} rows in "
            f"{r['n_sites']:,} co-product sites): kernel {rate(r['kernel_mine_evals_per_s'])}"
            f", one thread {r['kernel_ns_per_mine_one_thread']:.1f} ns per mine-evaluation")
        if "fixed_prices_kernel_ns_per_mine_one_thread" in r:
            lines.append(
                f"    {r['n_sites_by_price']:,} sites allocated per sample from uncertain "
                f"prices; with every price fixed: one thread "
                f"{r['fixed_prices_kernel_ns_per_mine_one_thread']:.1f} ns per mine-evaluation")
        if "sobol_seconds" in r:
            lines.append(
                f"    Sobol engine N = {r['sobol_n_base']:,}, {r['sobol_n_factors']:,} factors "
                f"({r['sobol_n_params']:,} parameters): {r['sobol_seconds']:.1f} s, peak RSS "
                f"{r['sobol_peak_rss_mb']:,.0f} MB")
    return "\n".join(lines)


# ------------------------------------------------------------------------ Dask workers
def _bench_run(run: Any | None) -> Any:
    if run is None:
        run = load_run(DEFAULT_RUN)
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
