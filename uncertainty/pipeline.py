"""Run a run file end to end: load, evaluate, summarise, store. The glue the CLI calls.

Library code: it takes objects (a :class:`~uncertainty.config.RunConfig`) and an out
folder, and writes only through :mod:`uncertainty.store` (every file to a temporary name,
then renamed; the out folder locked against a second writer).

A Monte Carlo run writes, per chunk of samples, ``samples.parquet/part-NNNNNN.parquet``
(every metric) and ``scenario_samples/<scenario>/part-NNNNNN.parquet`` (the scenario
metrics). ``progress.json`` holds the run's settings (seed, samples, chunk size, sampler,
input hashes, resolved run file), ``complete``, and ``parts``: the SHA-256 of every part,
recorded before the part is renamed into place. A chunk is a checkpoint when all its
parts are on disk with their recorded digests; any other part is named in a notice and
its chunk recomputed. Then come ``summary.csv``, ``parameters.csv``, ``scenarios.csv``,
the Sobol tables, ``priorities.csv`` (a run with sensitivity on a dataset whose
``mines.csv`` states provenance), ``manifest.json``, the report, and ``progress.json``
with ``complete: true``. Every value is checked finite before it is written, and the run is
checked against its resource budget (:mod:`uncertainty.budget`) before anything is.

Batches (:func:`run_batch`): every run is validated first; a complete run with the same
settings is skipped unless ``force``; ``resume`` computes only missing chunks, and the
files then equal, byte for byte, those of an uninterrupted run, except ``manifest.json``
whose ``timings`` (seconds) and ``execution`` (chunks computed by this invocation, Dask
workers) describe the invocation (``report.html`` does not show them, so that it is
identical too). A finished run whose parts fail their digests is not skipped: the
damaged chunks are recomputed and the files derived from them rewritten.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uncertainty import budget as budgets
from uncertainty import calibration, executor, outputs, rng, scenarios, store
from uncertainty.budget import Budget
from uncertainty.config import ConfigError, RunConfig
from uncertainty.data import Dataset, coverage_table
from uncertainty.model import (
    Model,
    Scenario,
    evaluate,
    provenance_shares,
    undefined_metrics,
)
from uncertainty.montecarlo import ChunkJob, compute_chunk, summarise
from uncertainty.montecarlo.reference import reference_inputs, reference_uniforms
from uncertainty.resolve import model_for
from uncertainty.resources import is_packaged
from uncertainty.sensitivity.factors import PROVENANCE, has_provenance, require_provenance
from uncertainty.sensitivity.priorities import priorities_run, proof
from uncertainty.sensitivity.tmr import sobol_run
from uncertainty.space import build_space
from uncertainty.store import ResultsError

__all__ = [
    "default_out_dir",
    "nominal_values",
    "rebuild_report",
    "run_batch",
    "run_deterministic",
    "run_full",
    "run_priorities",
    "run_sobol",
]

SUMMARY_COLUMNS = outputs.SUMMARY.columns


def default_out_dir(run: RunConfig, kind: str = "montecarlo") -> Path:
    """``runs/out/<name>/`` beside the run file (under the working folder for a run
    without a file or a packaged one) for a Monte Carlo run; its ``nominal/`` and
    ``sobol/`` subfolders for a deterministic run and a stand-alone sensitivity
    analysis, so that neither replaces a run's files."""
    own = run.path is not None and not is_packaged(run.path)
    base = run.path.parent if own else Path.cwd() / "runs"
    out = base / "out" / run.name
    return out / {"montecarlo": "", "deterministic": "nominal", "sobol": "sobol",
                  "priorities": "", "calibration": "calibration"}[kind]


def _holds_montecarlo(out: Path) -> bool:
    """Whether ``out`` holds (part of) a Monte Carlo run's results."""
    return (out / outputs.PROGRESS.name).is_file() or (out / outputs.SAMPLES.name).is_dir()


def _refuse_montecarlo(out: Path, what: str, force_hint: bool) -> None:
    raise ResultsError(f"{out}: holds a Monte Carlo run; {what} would replace some of its "
                       f"files. Use --out for another folder"
                       + (", or --force to replace the run" if force_hint else ""))


def nominal_values(run: RunConfig, ds: Dataset, model: Model,
                   scenario: Scenario | None = None,
                   overrides: dict | None = None) -> np.ndarray:
    """All metrics at nominal input values, shape (n_metrics,)."""

    space = build_space(run, ds, model, extra_overrides=overrides)
    g, s, r, glob = space.nominal_inputs()
    return evaluate(model, g, s, r, glob, scenario=scenario or run.baseline)[0]


def run_deterministic(run: RunConfig, out_dir: str | Path, *,
                      echo: Callable[[str], None] | None = None,
                      force: bool = False) -> pd.DataFrame:
    """Evaluate the run at nominal values; write ``summary.csv``, ``scenarios.csv``, manifest.

    A folder that holds a Monte Carlo run is refused (:class:`~uncertainty.store.ResultsError`)
    unless ``force``, which removes that run's results first: a folder never mixes the
    files of two runs. Returns the summary table.
    """

    t0 = time.perf_counter()
    ds, model = model_for(run)
    space = build_space(run, ds, model)
    plan = scenarios.plan_scenarios(run, ds, model, space)
    nominal = plan.nominal(model)
    undefined = _undefined_columns(ds, model)
    for name, values in nominal.items():
        _check_nominal_finite(run, model, plan, name, values, undefined)
    base = nominal[scenarios.BASELINE]
    summary = pd.DataFrame({"metric": model.metric_names, "nominal": base})
    for col in SUMMARY_COLUMNS[2:-1]:
        summary[col] = np.nan
    summary["n"] = 0
    scen = scenarios.nominal_table(plan, model)
    out = Path(out_dir)
    with store.lock_folder(out):
        if _holds_montecarlo(out):
            if not force:
                _refuse_montecarlo(out, "the nominal values", True)
            _clear(out)
        store.write_csv(out / outputs.SUMMARY.name, summary)
        _write_data_tables(out, ds, model)
        if len(scen):
            store.write_csv(out / outputs.SCENARIOS.name, scen)
        else:
            (out / outputs.SCENARIOS.name).unlink(missing_ok=True)
        store.write_json(out / outputs.MANIFEST.name, store.manifest(
            kind="deterministic", run_name=run.name, seed=None, samples=0, chunk_size=None,
            inputs=store.input_hashes(ds.hashes, run.path), run=json_safe(run.resolved),
            dataset=str(run.dataset), timings={"total_s": time.perf_counter() - t0},
        ))
    if echo is not None:
        echo(format_table(summary, scen))
    return summary


def _write_data_tables(out: Path, ds: Dataset, model: Model) -> None:
    """``coverage.csv`` (:func:`uncertainty.data.coverage_table`) and ``provenance.csv``
    (the nominal hidden flows by where the mines' values came from,
    :func:`uncertainty.model.provenance_shares`)."""
    store.write_csv(out / outputs.COVERAGE.name, coverage_table(ds))
    store.write_csv(out / outputs.PROVENANCE.name, provenance_shares(model, ds))


def format_table(summary: pd.DataFrame, scenarios: pd.DataFrame | None = None) -> str:
    """A plain-text table of the headline metrics (and scenario reductions)."""
    keep = summary[~summary.metric.str.startswith("hidden_flows_mt_country_")]
    lines = [f"{'metric':44s} {'nominal':>14s}"]
    for m, v in zip(keep.metric, keep.nominal, strict=True):
        lines.append(f"{m:44s} {v:14.6g}")
    if scenarios is not None and len(scenarios):
        lines.append("")
        lines.append(f"{'scenario':20s} {'hidden_flows_mt':>16s} {'reduction':>10s}")
        s = scenarios[scenarios.metric == "hidden_flows_mt"]
        for name, v, r in zip(s.scenario, s.nominal, s.reduction_nominal, strict=True):
            lines.append(f"{name:20s} {v:16.6g} {r:10.2%}")
    return "\n".join(lines)


# ------------------------------------------------------------------ Monte Carlo run
#: Metrics stored per sample for each scenario (kept here for callers of the pipeline).
scenario_metrics = scenarios.scenario_metrics



def _plan(run: RunConfig) -> list[tuple[int, int, int]]:
    """Chunks as (index, first sample, count)."""
    n, size = run.montecarlo.samples, run.montecarlo.chunk_size
    return [(i, a, min(size, n - a)) for i, a in enumerate(range(0, n, size))]


def _part(folder: Path, i: int) -> Path:
    return folder / f"part-{i:06d}.parquet"


@dataclass
class _Prepared:
    """A run ready to compute: validated inputs, parameter spaces, scenario plan, state."""

    run: RunConfig
    out: Path
    ds: Dataset
    model: Model
    space: Any
    plan: scenarios.ScenarioPlan
    inputs: dict[str, str]
    state: dict[str, Any]
    #: Columns of the metrics the data cannot define (NaN by construction).
    undefined: tuple[int, ...] = ()


def _prepare(run: RunConfig, out: Path, budget: Budget | None = None) -> _Prepared:
    """Load and validate everything a run needs, and check it against the resource
    budget (:mod:`uncertainty.budget`); raises before anything is written."""

    budget = budget or Budget()
    mc = run.montecarlo
    where = str(run.path or run.name)
    budgets.check_caps(where, mc.samples, len(run.scenarios), budget)
    store.check_out_folder(out)
    ds, model = model_for(run)
    _check_sensitivity_data(run, ds)
    space = build_space(run, ds, model)
    sizes = budgets.Plan(
        samples=mc.samples, chunk_size=mc.chunk_size, n_metrics=len(model.metric_names),
        n_scenarios=len(run.scenarios),
        n_scenario_metrics=len(scenarios.scenario_metrics(model)), n_params=space.n_params,
        n_override_passes=sum(1 for s in run.scenarios
                              if s.overrides or (s.allocation or run.allocation) != run.allocation))
    kept = sum(f.stat().st_size for f in out.glob("**/part-*.parquet")) if out.is_dir() else 0
    budgets.check_plan(where, sizes, budget, out, reusable=kept)
    plan = scenarios.plan_scenarios(run, ds, model, space)  # validates scenario overrides
    inputs = store.input_hashes(ds.hashes, run.path)
    state = json_safe({"run_name": run.name, "seed": mc.seed, "samples": mc.samples,
                       "chunk_size": mc.chunk_size, "sampler": mc.sampler, "inputs": inputs,
                       "run": run.resolved, "generator": rng.GENERATOR})
    undefined = _undefined_columns(ds, model)
    return _Prepared(run, out, ds, model, space, plan, inputs, state, undefined)


def _check_sensitivity_data(run: RunConfig, ds: Dataset) -> None:
    """The sensitivity analysis a run asks for fits its dataset: the ``provenance`` level
    needs a dataset that states provenance (checked before anything is written)."""
    if run.sensitivity.enabled and PROVENANCE in run.sensitivity.by:
        require_provenance(ds)


def _undefined_columns(ds: Dataset, model: Model) -> tuple[int, ...]:
    """Columns of :func:`~uncertainty.model.undefined_metrics`: the finiteness checks
    skip them (they are NaN by construction, and sensitivity refuses them)."""
    names = undefined_metrics(ds)
    return tuple(i for i, m in enumerate(model.metric_names) if m in names)


#: Keys of progress.json that are not settings: whether the run finished, and the
#: SHA-256 of every Parquet part (relative path -> hex digest).
_PROGRESS_ONLY = ("complete", "parts")


def _status(p: _Prepared, *, resume: bool, force: bool) -> str:
    """What to do with the out folder: 'skip' (finished), 'resume' or 'fresh'.

    ``progress.json`` holds the run's settings and ``complete`` (set after the last file,
    report included, is written). A finished run with the same settings is skipped
    unless ``force``; a finished run with other settings, or ``resume`` of a run with
    other settings, is refused (exit 2) so results are never silently replaced by those
    of a different run. Without ``resume`` an unfinished run starts afresh.
    """

    if force:
        return "fresh"
    state_path = p.out / outputs.PROGRESS.name
    prev = store.read_json(state_path) if state_path.is_file() else None
    complete = bool(prev and prev.get("complete"))
    if prev is not None:
        prev = {k: v for k, v in prev.items() if k not in _PROGRESS_ONLY}

    def differs() -> str:
        words = {"run": "resolved run file", "inputs": "input files", "run_name": "name",
                 "generator": "random-number generator"}
        order = ("samples", "seed", "chunk_size", "sampler", "run_name", "inputs", "run",
                 "generator")
        return ", ".join(words.get(k, k) for k in order if (prev or {}).get(k) != p.state.get(k))

    if complete:
        if prev == p.state:
            return "skip"
        raise ResultsError(f"{p.out}: holds a finished run with other settings ({differs()} "
                           "changed); use --force to replace it, or --out for another folder")
    if resume and prev is not None:
        if prev != p.state:
            raise ResultsError(f"{state_path}: the stored run differs from this one "
                               f"({differs()} changed); re-run without --resume (or with "
                               "--force)")
        return "resume"
    return "fresh"


def _finished(out: Path) -> bool:
    """Whether ``out`` holds a finished Monte Carlo run (of any settings)."""
    path = out / outputs.PROGRESS.name
    try:
        return path.is_file() and bool(store.read_json(path).get("complete"))
    except store.ResultsError:
        return False


def _clear(out: Path) -> None:
    """Remove a previous run's results (a fresh start)."""
    for p in [*out.glob("samples.parquet/part-*.parquet"),
              *out.glob("scenario_samples/*/part-*.parquet")]:
        p.unlink()
    for d in out.glob("scenario_samples/*"):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    for name in outputs.RESULT_FILES:
        (out / name).unlink(missing_ok=True)
    for p in [*out.glob("sobol_*.csv"), *out.glob("figures/*"), *out.glob("tables/*")]:
        if p.is_file():
            p.unlink()


def _remove_temporaries(out: Path) -> None:
    """Remove temporary files left by a process killed while writing (``.<name>.*.tmp``)."""
    for p in out.rglob(".*.tmp"):
        if p.is_file():
            p.unlink()


def run_full(run: RunConfig, out_dir: str | Path, *, resume: bool = False, force: bool = False,
             workers: int | None = None, scheduler: str | None = None, quiet: bool = False,
             progress: Any = None, runner: Any = None, budget: Budget | None = None
             ) -> pd.DataFrame | None:
    """Monte Carlo (chunked, checkpointed), scenarios, sensitivity and report for one run.

    Each chunk's per-sample metrics are written to ``samples.parquet/part-NNNNNN.parquet``
    (and each scenario's to ``scenario_samples/<name>/``) as soon as it is computed; a
    chunk already on disk is a checkpoint that ``resume`` keeps. A finished run with the
    same settings is skipped unless ``force``.

    Parameters
    ----------
    run : RunConfig
    out_dir : path
    resume : bool
        Keep the chunks of an interrupted run with the same settings.
    force : bool
        Start afresh even if the run finished before.
    workers, scheduler :
        A local Dask cluster of ``workers`` processes, or an existing scheduler's address
        (ignored when ``runner`` is given).
    quiet : bool
        Print nothing.
    progress : executor.Progress, optional
        A shared progress display (batches); default: a bar for this run.
    runner : executor.ChunkRunner, optional
        Where chunks run (batches share one); default: started here from ``workers`` /
        ``scheduler`` and closed at the end.
    budget : Budget, optional
        Resource limits (:mod:`uncertainty.budget`; default :class:`Budget()`).

    Returns
    -------
    pandas.DataFrame or None
        The summary, or None when the run had finished before and was skipped.
    """

    out = Path(out_dir)
    p = _prepare(run, out, budget)
    if _status(p, resume=resume, force=force) == "skip":
        return _run_prepared(p, resume=resume, force=force, runner=None, quiet=quiet,
                             progress=progress)
    own_runner = runner is None
    runner = runner or executor.ChunkRunner(workers=workers, scheduler=scheduler)
    own_progress = progress is None
    progress = progress or executor.Progress(run.montecarlo.samples, enabled=not quiet)
    try:
        return _run_prepared(p, resume=resume, force=force, runner=runner, quiet=quiet,
                             progress=progress)
    finally:
        if own_progress:
            progress.close()
        if own_runner:
            runner.close()


def run_batch(runs: Sequence[RunConfig], *, out: str | Path | None = None,
              deterministic: bool = False, resume: bool = False, force: bool = False,
              workers: int | None = None, scheduler: str | None = None, quiet: bool = False,
              budget: Budget | None = None) -> list[pd.DataFrame | None]:
    """Run several run files in turn with one progress display and one Dask cluster.

    Every run is loaded and validated (data, overrides, scenario overrides, the state of
    its out folder) before the first one starts, so bad input stops the batch before
    anything is written. Finished runs are skipped unless ``force``; ``resume`` finishes
    interrupted ones from their last chunk.

    Parameters
    ----------
    runs : sequence of RunConfig
    out : path, optional
        Out folder (one run only); default ``runs/out/<name>/`` for each run.
    deterministic : bool
        Nominal values only (:func:`run_deterministic`).
    resume, force, workers, scheduler, quiet, budget :
        As for :func:`run_full`.

    Returns
    -------
    list
        Each run's summary (None for a skipped run).
    """

    if out is not None and len(runs) > 1:
        raise ConfigError(out, "--out", "one out folder cannot hold several runs", str(out))
    kind = "deterministic" if deterministic else "montecarlo"
    outs = [Path(out) if out is not None else default_out_dir(r, kind) for r in runs]
    seen: dict[Path, RunConfig] = {}
    for r, o in zip(runs, outs, strict=True):
        key = o.resolve()
        if key in seen:
            raise ConfigError(r.path or "<run>", "name", f"writes the same out folder {o} as "
                              f"{seen[key].path or seen[key].name}; give the runs different "
                              "names", r.name)
        seen[key] = r
    echo: Callable[[str], None] | None = None if quiet else print
    budget = budget or Budget()
    if deterministic:
        for r, o in zip(runs, outs, strict=True):  # Monte Carlo runs check in _prepare
            budgets.check_caps(str(r.path or r.name), 0, len(r.scenarios), budget)
            store.check_out_folder(o)
        results: list[pd.DataFrame | None] = []
        for r, o in zip(runs, outs, strict=True):
            results.append(run_deterministic(r, o, echo=echo, force=force))
            if echo:
                echo(f"wrote {o}")
        return results
    prepared = [_prepare(r, o, budget) for r, o in zip(runs, outs, strict=True)]
    todo = [_status(p, resume=resume, force=force) != "skip" for p in prepared]
    runner = executor.ChunkRunner(workers=workers, scheduler=scheduler) if any(todo) else None
    progress = executor.Progress(sum(r.montecarlo.samples for r in runs), enabled=not quiet)
    results = []
    try:
        for p in prepared:
            results.append(_run_prepared(p, resume=resume, force=force, runner=runner,
                                         quiet=quiet, progress=progress))
    finally:
        progress.close()
        if runner is not None:
            runner.close()
    return results


def _run_prepared(p: _Prepared, *, resume: bool, force: bool, runner: Any, quiet: bool,
                  progress: Any) -> pd.DataFrame | None:
    run, out, model, plan = p.run, p.out, p.model, p.plan
    mc = run.montecarlo
    echo = progress.write if progress is not None else print
    t0 = time.perf_counter()
    with store.lock_folder(out):
        status = _status(p, resume=resume, force=force)
        plan_chunks = _plan(run)
        folders = [_samples_folder(out, n) for n in (scenarios.BASELINE, *plan.scenario_names)]
        digests: dict[str, str] = {}
        todo: list[tuple[int, int, int]] = []
        if status != "fresh":
            digests = dict(store.read_json(out / outputs.PROGRESS.name).get("parts") or {})
            todo = _unverified_chunks(out, plan_chunks, folders, digests)
        if status == "skip" and not todo:
            if progress is not None:
                progress.start(run.name, mc.samples)
            if not quiet:
                echo(f"{run.name}: finished before in {out}, skipped (use --force to re-run)")
            return None
        _remove_temporaries(out)
        if status == "fresh":
            kept = len(list(out.glob("samples.parquet/part-*.parquet")))
            if kept and not quiet:
                echo(f"{run.name}: replacing the finished run in {out} (--force)"
                     if _finished(out) else
                     f"{run.name}: {kept} chunk(s) of an unfinished run in {out} discarded "
                     "(use --resume to keep them)")
            _clear(out)
            todo = plan_chunks
        store.write_json(out / outputs.PROGRESS.name, {**p.state, "complete": False,
                                                 "parts": digests})
        if progress is not None:
            progress.start(run.name, mc.samples - sum(c[2] for c in todo))
        job = ChunkJob(model, plan.passes, mc.seed, mc.sampler)
        smetrics = scenarios.scenario_metrics(model)
        starts = {c[0]: c[1] for c in plan_chunks}
        if runner is None:  # a finished run with damaged parts: recomputed in this process
            runner = executor.ChunkRunner()
        t_mc = time.perf_counter()
        for i, arrays in runner.map(compute_chunk, todo, job):
            _write_chunk(p, i, starts[i], plan.split(arrays), smetrics, digests)
            if progress is not None:
                progress.update(arrays[0].shape[1])
        t_mc = time.perf_counter() - t_mc
        nominal = plan.nominal(model)
        summary = summarise_store(out, model, pd.Series(nominal[scenarios.BASELINE],
                                                        index=model.metric_names))
        _check_summary_finite(run, summary, [model.metric_names[i] for i in p.undefined])
        store.write_csv(out / outputs.SUMMARY.name, summary)
        store.write_csv(out / outputs.PARAMETERS.name, p.space.table)
        _write_data_tables(out, p.ds, model)
        scen = None
        if run.scenarios:
            scen = scenarios.scenario_table(
                lambda name, m: read_column(_samples_folder(out, name), m), plan, model,
                smetrics, nominal)
            store.write_csv(out / outputs.SCENARIOS.name, scen)
        timings: dict[str, float] = {"montecarlo_s": t_mc}
        if run.sensitivity.enabled:
            t_s = time.perf_counter()
            # the sensitivity of a run is computed in this process (`uncertainty sobol
            # --workers/--scheduler` distributes it)
            _write_sobol(out, _sobol_result(run, p.ds, model, quiet=quiet))
            timings["sobol_s"] = time.perf_counter() - t_s
            if has_provenance(p.ds):
                t_s = time.perf_counter()
                store.write_csv(out / outputs.PRIORITIES.name,
                                priorities_run(run, p.ds, model).to_frame())
                timings["priorities_s"] = time.perf_counter() - t_s
        timings["total_s"] = time.perf_counter() - t0
        store.write_json(out / outputs.MANIFEST.name, store.manifest(
            kind="montecarlo", complete=True, run_name=run.name, seed=mc.seed,
            samples=mc.samples, chunk_size=mc.chunk_size, sampler=mc.sampler,
            generator=rng.GENERATOR, chunks=len(plan_chunks), inputs=p.inputs, run=p.state["run"],
            dataset=str(run.dataset), scenarios=plan.scenario_names, timings=timings,
            execution={"chunks_computed": len(todo), "dask_workers": runner.n_workers},
            sensitivity=({"n_base": run.sensitivity.n_base, "seed": run.sensitivity.seed,
                          "num_resamples": run.sensitivity.num_resamples,
                          "conf_level": run.sensitivity.conf_level}
                         if run.sensitivity.enabled else None),
        ))
        if getattr(run, "report", True):
            _write_report(out, quiet=quiet)
        store.write_json(out / outputs.PROGRESS.name, {**p.state, "complete": True, "parts": digests})
    if not quiet:
        echo(format_summary(summary, scen))
        echo(f"{run.name}: {len(todo)} of {len(plan_chunks)} chunk(s) computed in "
             f"{t_mc:.1f} s; wrote {out}")
    return summary


def json_safe(obj: Any) -> Any:
    """Round-trip through JSON so comparisons with stored JSON are exact."""
    import json

    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _samples_folder(out: Path, name: str) -> Path:
    if name == scenarios.BASELINE:
        return out / outputs.SAMPLES.name
    return out / "scenario_samples" / name


def _part_key(out: Path, path: Path) -> str:
    """A part's key in progress.json: its path relative to the out folder."""
    return path.relative_to(out).as_posix()


def _unverified_chunks(out: Path, chunks: list[tuple[int, int, int]], folders: list[Path],
                       digests: dict[str, str]) -> list[tuple[int, int, int]]:
    """Chunks whose parts are not all on disk with the SHA-256 recorded in progress.json.

    A part that is on disk but has no recorded digest or another one (truncated,
    overwritten, damaged) is named in a one-line notice on stderr and never used: its
    chunk is recomputed. The digests of such chunks are dropped from ``digests``.
    """
    todo = []
    for c in chunks:
        bad = False
        for folder in folders:
            path = _part(folder, c[0])
            key = _part_key(out, path)
            if not path.is_file():
                bad = True
                continue
            why = store.digest_problem(path, digests.get(key))
            if why is None:
                continue
            bad = True
            print(f"notice: {path} {why}; chunk {c[0]} is recomputed", file=sys.stderr)
        if bad:
            todo.append(c)
            for folder in folders:
                digests.pop(_part_key(out, _part(folder, c[0])), None)
    return todo


def _write_chunk(p: _Prepared, i: int, start: int, arrays: dict[str, np.ndarray],
                 smetrics: list[str], digests: dict[str, str]) -> None:
    """Write chunk ``i``'s parts, their digests recorded in progress.json first.

    Every value is checked finite before anything is written. The digests go to
    progress.json before the parts are renamed into place (the baseline part last), so a
    part on disk always has its digest recorded; a process killed in between leaves a
    digest without its part, and the chunk is recomputed.
    """
    out, model = p.out, p.model
    _check_finite(p, start, arrays)
    idx = [model.metric_names.index(m) for m in smetrics]
    blobs: list[tuple[Path, bytes]] = []
    for name, arr in arrays.items():
        if name != scenarios.BASELINE:
            blobs.append((_part(_samples_folder(out, name), i),
                          store.parquet_bytes(pd.DataFrame(arr[:, idx], columns=smetrics))))
    blobs.append((_part(out / outputs.SAMPLES.name, i),
                  store.parquet_bytes(pd.DataFrame(arrays[scenarios.BASELINE],
                                                   columns=list(model.metric_names)))))
    for path, data in blobs:
        digests[_part_key(out, path)] = store.sha256_bytes(data)
    store.write_json(out / outputs.PROGRESS.name, {**p.state, "complete": False, "parts": digests})
    for path, data in blobs:
        store.write_bytes(path, data)


def _space_of(plan: scenarios.ScenarioPlan, name: str) -> Any:
    """The parameter space of the pass that evaluates baseline or scenario ``name``."""
    return next(sp for (_, sp, _), names in zip(plan.passes, plan.names, strict=True)
                if name in names)


def _evaluation(name: str) -> str:
    """``baseline`` or ``scenario '<name>'``, for messages."""
    return "baseline" if name == scenarios.BASELINE else f"scenario '{name}'"


def _check_finite(p: _Prepared, start: int, arrays: dict[str, np.ndarray]) -> None:
    """Raise :class:`~uncertainty.store.NonFiniteError` at the first non-finite metric,
    naming the sample, the metric and the inputs that produced it."""
    for name, arr in arrays.items():
        bad = ~np.isfinite(arr)
        bad[:, list(p.undefined)] = False
        if not bad.any():
            continue
        row, col = (int(v[0]) for v in np.nonzero(bad))
        sample = start + row
        metric = p.model.metric_names[col]
        raise store.NonFiniteError(
            f"{p.run.path or p.run.name}: metric '{metric}' of sample {sample:,} "
            f"({_evaluation(name)}, seed "
            f"{p.run.montecarlo.seed}) is {float(arr[row, col])!r}; the inputs that produced it: "
            f"{_suspect_inputs(p, name, sample)}. Check these values in the dataset (its "
            "plausibility bounds) or the run file's overrides; nothing of this chunk was "
            "written")


def _check_nominal_finite(run: RunConfig, model: Model, plan: scenarios.ScenarioPlan,
                          name: str, values: np.ndarray, undefined: tuple[int, ...] = ()
                          ) -> None:
    """Raise :class:`~uncertainty.store.NonFiniteError` if a nominal metric (other than
    the ``undefined`` columns) is not finite, naming the nominal inputs of largest
    magnitude."""
    bad = np.setdiff1d(np.flatnonzero(~np.isfinite(values)), undefined)
    if not len(bad):
        return
    space = _space_of(plan, name)
    nominal = np.asarray(space.nominal, dtype=float)
    with np.errstate(all="ignore"):
        size = np.abs(np.log10(np.where(nominal != 0, np.abs(nominal), 1.0)))
    pick = np.argsort(-np.nan_to_num(size, nan=np.inf), kind="stable")[:3]
    names = space.table["name"].tolist()
    raise store.NonFiniteError(
        f"{run.path or run.name}: metric '{model.metric_names[bad[0]]}' at nominal inputs "
        f"({_evaluation(name)}) is {float(values[bad[0]])!r}; the inputs of largest magnitude: "
        + ", ".join(f"{names[j]} = {nominal[j]:.6g}" for j in pick)
        + ". Check these values in the dataset (its plausibility bounds) or the run file's "
        "overrides; nothing was written")


def _check_summary_finite(run: RunConfig, summary: pd.DataFrame,
                          undefined: Sequence[str] = ()) -> None:
    """Raise :class:`~uncertainty.store.NonFiniteError` if a summary statistic of a
    metric other than ``undefined`` is not finite (finite samples whose spread
    overflows, e.g. values near 1e300)."""
    cols = list(SUMMARY_COLUMNS[1:-1])
    vals = summary[cols].to_numpy(dtype=float, copy=True)
    vals[summary["metric"].isin(list(undefined)).to_numpy()] = 0.0
    bad = np.argwhere(~np.isfinite(vals))
    if len(bad):
        r, c = (int(v) for v in bad[0])
        raise store.NonFiniteError(
            f"{run.path or run.name}: summary statistic '{cols[c]}' of metric "
            f"'{summary['metric'].iloc[r]}' is {float(vals[r, c])!r} (its samples are finite "
            "but too large to summarise); check the inputs of that metric for implausible "
            "values; summary.csv was not written")


def _suspect_inputs(p: _Prepared, name: str, sample: int, top: int = 3) -> str:
    """The sampled inputs of ``sample`` most likely to make a metric non-finite: those
    that are non-finite or beyond 1e±100, else the ``top`` farthest from their nominal
    values (in log ratio). Drawn with the plain-NumPy reference of the kernel's inputs."""

    space = _space_of(p.plan, name)
    if p.run.montecarlo.sampler == "sobol":
        u = rng.sobol_points(1, space.n_params, seed=p.run.montecarlo.seed, start=sample)
    else:
        u = reference_uniforms(space, p.run.montecarlo.seed, np.array([sample]))
    with np.errstate(all="ignore"):
        g, s, r, glob = reference_inputs(space, u)
        values = np.concatenate([glob[0], np.stack([g[0], s[0], r[0]], axis=1).ravel()])
        nominal = space.nominal
        names = space.table["name"].tolist()
        mag = np.abs(values)
        extreme = ~np.isfinite(values) | (mag > 1e100) | ((mag > 0) & (mag < 1e-100))
        if extreme.any():
            pick = np.flatnonzero(extreme)[:top * 3]
        else:
            ratio = np.abs(np.log(np.where(mag > 0, mag, 1.0) /
                                  np.where(np.abs(nominal) > 0, np.abs(nominal), 1.0)))
            pick = np.argsort(-np.nan_to_num(ratio, nan=np.inf), kind="stable")[:top]
    return ", ".join(f"{names[j]} = {values[j]:.6g} (nominal {nominal[j]:.6g})" for j in pick)


def read_column(folder: Path, metric: str) -> np.ndarray:
    """One metric's per-sample values from a folder of Parquet parts, in sample order."""
    import pyarrow.parquet as pq

    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        raise ResultsError(f"{folder}: no samples stored")
    return np.concatenate([pq.read_table(p, columns=[metric]).column(0).to_numpy()
                           for p in parts])


def summarise_store(out: Path, model: Model, nominal: pd.Series) -> pd.DataFrame:
    """summary.csv from the stored samples, one column at a time (memory ~ one column)."""

    frames = [summarise({m: read_column(out / outputs.SAMPLES.name, m)}, nominal)
              for m in model.metric_names]
    return pd.concat(frames, ignore_index=True)


def format_summary(summary: pd.DataFrame, scen: pd.DataFrame | None) -> str:
    """Plain-text table of the headline metrics with their 95% intervals."""
    keep = summary[~summary.metric.str.startswith("hidden_flows_mt_country_")]
    lines = [f"{'metric':44s} {'nominal':>12s} {'mean':>12s} {'p2_5':>12s} {'p97_5':>12s}"]
    for r in keep.itertuples(index=False):
        lines.append(f"{r.metric:44s} {r.nominal:12.5g} {r.mean:12.5g} {r.p2_5:12.5g} "
                     f"{r.p97_5:12.5g}")
    if scen is not None:
        lines.append("")
        lines.append(f"{'scenario (hidden_flows_mt)':28s} {'reduction':>10s} "
                     f"{'paired 95% interval':>22s} {'at nominal':>11s}")
        s = scen[scen.metric == "hidden_flows_mt"]
        for r in s.itertuples(index=False):
            lines.append(f"{r.scenario:28s} {r.reduction_mean:10.2%} "
                         f"[{r.reduction_p2_5:8.2%}, {r.reduction_p97_5:8.2%}] "
                         f"{r.reduction_nominal:11.2%}")
    return "\n".join(lines)


def _sobol_result(run: RunConfig, ds: Dataset, model: Model, *, quiet: bool,
                  workers: int | None = None, scheduler: str | None = None):
    return sobol_run(run, ds, model, quiet=quiet, workers=workers, scheduler=scheduler)


def _write_sobol(out: Path, res) -> None:
    """sobol.csv, sobol_convergence.csv and, where computed, the extra tables."""
    store.write_csv(out / outputs.SOBOL.name, res.to_frame())
    store.write_csv(out / outputs.SOBOL_CONVERGENCE.name, res.convergence_frame())
    for name in ("sums", "ranking", "delta", "s2"):
        frame = getattr(res, name, None)
        if frame is not None and len(frame):
            store.write_csv(out / f"sobol_{name}.csv", frame)


def run_sobol(run: RunConfig, out_dir: str | Path, *, quiet: bool = False,
              workers: int | None = None, scheduler: str | None = None) -> pd.DataFrame:
    """Sensitivity alone: write sobol.csv, its convergence table, the extra tables and a
    manifest (``kind = "sobol"``). A folder that holds a Monte Carlo run is refused
    (:class:`~uncertainty.store.ResultsError`): its own sensitivity comes from its run
    file, and a separate analysis must not replace it under its manifest."""
    out = Path(out_dir)
    ds, model = model_for(run)
    _check_sensitivity_data(run, ds)
    t0 = time.perf_counter()
    with store.lock_folder(out):
        if _holds_montecarlo(out):
            _refuse_montecarlo(out, "a separate sensitivity analysis", False)
        for old in out.glob("sobol*.csv"):  # a previous analysis's tables (e.g. its s2)
            old.unlink()
        res = _sobol_result(run, ds, model, quiet=quiet, workers=workers, scheduler=scheduler)
        _write_sobol(out, res)
        se = run.sensitivity
        store.write_json(out / outputs.MANIFEST.name, store.manifest(
            kind="sobol", complete=True, run_name=run.name, seed=se.seed,
            n_base=int(res.n_base), levels=list(se.by), metrics=list(se.metrics),
            num_resamples=se.num_resamples, conf_level=se.conf_level,
            inputs=store.input_hashes(ds.hashes, run.path), run=json_safe(run.resolved),
            dataset=str(run.dataset), timings={"total_s": time.perf_counter() - t0}))
    frame = res.to_frame()
    if not quiet:
        print(frame.sort_values("ST", ascending=False).head(20).to_string(index=False))
    return frame


def run_priorities(run: RunConfig, out_dir: str | Path, *, n_base: int | None = None,
                   seed: int | None = None, proof_k: int = 0, proof_samples: int | None = None,
                   proof_draws: int = 16, quiet: bool = False) -> pd.DataFrame:
    """Data-collection priorities alone (:mod:`uncertainty.sensitivity.priorities`):
    write ``priorities.csv`` and, with ``proof_k``, ``proof.csv`` (the top ``proof_k``
    sites of hidden flows measured in a re-run Monte Carlo of ``proof_samples`` samples,
    ``proof_draws`` measured values each).

    The out folder is usually the run's own (``runs/out/<name>/``): only these files are
    replaced, and when it holds a finished Monte Carlo run its report is rebuilt to
    show them. ``n_base`` and ``seed`` replace the run file's ``[sensitivity]`` ones.

    Raises
    ------
    ConfigError
        The run file's sensitivity analysis is disabled (``sensitivity.enabled =
        false``), or ``n_base`` is not a power of 2.
    ProvenanceError
        The dataset's ``mines.csv`` states no provenance.
    """
    where = run.path or run.name
    if not run.sensitivity.enabled:
        raise ConfigError(where, "sensitivity.enabled", "data-collection priorities are a "
                          "sensitivity analysis; set [sensitivity] enabled = true", False)
    if n_base is not None and (n_base <= 0 or n_base & (n_base - 1)):
        raise ConfigError(where, "--base-samples", "must be a power of 2", n_base)
    out = Path(out_dir)
    store.check_out_folder(out)
    ds, model = model_for(run)
    require_provenance(ds, "the data-collection priority list")
    res = priorities_run(run, ds, model, n_base=n_base, seed=seed, quiet=quiet)
    frame = res.to_frame()
    proof_frame = None
    if proof_k:
        proof_frame = proof(run, proof_k, samples=proof_samples, n_draws=proof_draws,
                            table=frame)
    with store.lock_folder(out):
        store.write_csv(out / outputs.PRIORITIES.name, frame)
        if proof_frame is not None:
            store.write_csv(out / outputs.PROOF.name, proof_frame)
        if _finished(out) and getattr(run, "report", True):
            _write_report(out, quiet=quiet)
    if not quiet:
        top = frame[frame["metric"] == "hidden_flows_mt"].head(10)
        print(top.to_string(index=False))
        if proof_frame is not None:
            print(proof_frame.to_string(index=False))
        print(f"wrote {out / outputs.PRIORITIES.name}"
              + (f" and {out / outputs.PROOF.name}" if proof_frame is not None else ""))
    return frame


def run_calibration(run: RunConfig, out_dir: str | Path, *, apply: str | Path | None = None,
                    quiet: bool = False) -> calibration.Calibration:
    """``uncertainty calibrate``: fit the run's knobs (:mod:`uncertainty.calibration`) on
    its ``calibration.dataset`` (else its dataset), write ``calibration.csv``,
    ``calibration_targets.csv`` and ``calibration_conflicts.csv`` to ``out_dir`` and,
    with ``apply``, a calibrated copy of that dataset there.

    The copy is checked before it is renamed into place: loaded as a dataset, with no
    knob moved, it gives every target's achieved value (to 1e-8 relative).

    Raises
    ------
    ConfigError
        The run file's ``[calibration]`` is missing or broken.
    OutputPathError
        ``apply`` is not empty, is the fitted dataset's folder or holds ``out_dir``.
    """
    out = Path(out_dir)
    store.check_out_folder(out)
    run = calibration.fitted_run(run)
    dest = None if apply is None else Path(apply)
    if dest is not None:
        _check_apply(run, dest, out)
    ds, model = model_for(run)
    cal = calibration.calibrate(run, ds, model)
    files = calibration.calibrated_files(cal) if dest is not None else {}
    with store.lock_folder(out):
        store.write_csv(out / outputs.CALIBRATION.name, cal.knobs)
        store.write_csv(out / outputs.CALIBRATION_TARGETS.name, cal.targets)
        store.write_csv(out / outputs.CALIBRATION_CONFLICTS.name, cal.conflicts)
    if dest is not None:
        store.write_folder_copy(run.dataset, dest, files,
                                check=lambda folder: _check_copy(run, folder, cal))
    if not quiet:
        print(format_calibration(cal))
        print(f"wrote {out / outputs.CALIBRATION.name}, {outputs.CALIBRATION_TARGETS.name} "
              f"and {outputs.CALIBRATION_CONFLICTS.name}"
              + (f"; calibrated dataset in {dest}" if dest is not None else ""))
    return cal


def format_calibration(cal: calibration.Calibration) -> str:
    """The knobs, targets and conflicts as text tables."""
    k = cal.knobs[["knob", "value", "low", "high", "at_bound", "profile_low", "profile_high"]]
    t = cal.targets[["target", "value", "band_low", "band_high", "achieved", "holds"]]
    parts = ["knobs", k.to_string(index=False), "", "targets", t.to_string(index=False)]
    if len(cal.conflicts):
        c = cal.conflicts[["target", "other", "target_holds_when_pushed", "cost",
                           "active_bounds"]]
        parts += ["", "conflicts (pushing target to hold costs other, in half-bands)",
                  c.to_string(index=False)]
    else:
        parts += ["", "every target holds" if cal.all_hold else "no conflicts"]
    return "\n".join(parts)


def _check_apply(run: RunConfig, dest: Path, out: Path) -> None:
    if out.resolve().is_relative_to(dest.resolve()):
        raise store.OutputPathError(f"{dest}: --apply must not hold the out folder {out}; "
                                    "give the calibrated copy a folder of its own")
    if dest.resolve() == Path(run.dataset).resolve():
        raise store.OutputPathError(f"{dest}: --apply would overwrite the run's own dataset; "
                                    "give a new folder for the calibrated copy")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise store.OutputPathError(f"{dest}: --apply needs a new or empty folder (it holds "
                                    "files, which a calibrated copy would mix with)")


def _check_copy(run: RunConfig, folder: Path, cal: calibration.Calibration) -> None:
    """The copy in ``folder``, loaded as a dataset with no knob moved, gives the fit."""
    from dataclasses import replace

    copy = replace(run, dataset=folder.resolve())
    ds, model = model_for(copy)
    got = calibration.nominal_targets(copy, ds, model)
    want = cal.targets["achieved"].to_numpy(float)
    if not np.allclose(got, want, rtol=1e-8, atol=1e-12):
        raise RuntimeError(f"the calibrated copy gives {got.tolist()}, the fit "
                           f"{want.tolist()}")  # a bug, not input


def _write_report(out: Path, *, quiet: bool) -> None:
    from uncertainty import report  # lazy: matplotlib and seaborn load only to draw

    report.write_report(out)


def rebuild_report(out_dir: str | Path) -> None:
    """Rebuild figures, tables and report.html from stored results (no re-run)."""
    from uncertainty import report  # lazy: matplotlib and seaborn load only to draw

    out = Path(out_dir)
    if not out.is_dir():
        raise store.ResultsError(f"{out}: out folder is missing")
    with store.lock_folder(out):
        report.write_report(out)
