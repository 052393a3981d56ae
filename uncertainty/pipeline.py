"""Run a run file end to end: load, evaluate, summarise, store. The glue the CLI calls.

Library code: it takes objects (a :class:`~uncertainty.config.RunConfig`) and an out
folder, and writes only through :mod:`uncertainty.store`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from uncertainty import store
from uncertainty.config import RunConfig
from uncertainty.data import Dataset, load_dataset
from uncertainty.model import Model, Scenario, build_model, evaluate

__all__ = ["default_out_dir", "model_for", "run_deterministic"]

SUMMARY_COLUMNS = ("metric", "nominal", "mean", "sd", "p2_5", "p50", "p97_5", "n")


def default_out_dir(run: RunConfig) -> Path:
    """``runs/out/<name>/`` beside the run file (or under the working folder)."""
    base = run.path.parent if run.path is not None else Path.cwd() / "runs"
    return base / "out" / run.name


def model_for(run: RunConfig) -> tuple[Dataset, Model]:
    """Load the run's dataset and build its model."""
    from uncertainty.config import ConfigError

    ds = load_dataset(run.dataset)
    file = run.path or "<run>"
    if run.domestic not in set(ds.tables["countries"]["iso3"]):
        raise ConfigError(file, "domestic", "must be a country code of the dataset", run.domestic)
    model = build_model(ds, allocation=run.allocation, domestic=run.domestic)
    checks = [("scenario", run.baseline)] + [
        (f"scenarios[{i}]", s.switches) for i, s in enumerate(run.scenarios)]
    for key, sw in checks:
        for metal in sw.recycled_share:
            if metal not in model.metals:
                raise ConfigError(file, f"{key}.recycled_share.{metal}",
                                  f"names a metal not in the dataset ({', '.join(model.metals)})",
                                  metal)
        if sw.lfp_share is not None and model.lfp_index < 0:
            raise ConfigError(file, f"{key}.lfp_share",
                              "the dataset's battery mix has no LFP chemistry", sw.lfp_share)
    return ds, model


def nominal_values(run: RunConfig, ds: Dataset, model: Model,
                   scenario: Scenario | None = None,
                   overrides: dict | None = None) -> np.ndarray:
    """All metrics at nominal input values, shape (n_metrics,)."""
    from uncertainty.space import build_space

    space = build_space(run, ds, model, extra_overrides=overrides)
    return evaluate(model, *space.nominal_inputs(), scenario=scenario or run.baseline)[0]


def run_deterministic(run: RunConfig, out_dir: str | Path, *,
                      echo: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Evaluate the run at nominal values; write ``summary.csv``, ``scenarios.csv``, manifest.

    Returns the summary table.
    """
    t0 = time.perf_counter()
    ds, model = model_for(run)
    base = nominal_values(run, ds, model)
    summary = pd.DataFrame({"metric": model.metric_names, "nominal": base})
    for col in SUMMARY_COLUMNS[2:-1]:
        summary[col] = np.nan
    summary["n"] = 0
    rows = []
    for sc in run.scenarios:
        vals = nominal_values(run, ds, model, sc.switches, dict(sc.overrides))
        for metric, b, v in zip(model.metric_names, base, vals, strict=True):
            red = (v - b) / b if b != 0 else np.nan
            rows.append((sc.name, metric, v, np.nan, np.nan, np.nan, red, np.nan, np.nan))
    scen = pd.DataFrame(rows, columns=["scenario", "metric", "nominal", "mean", "p2_5", "p97_5",
                                       "reduction_mean", "reduction_p2_5", "reduction_p97_5"])
    out = Path(out_dir)
    with store.lock_folder(out):
        store.write_csv(out / "summary.csv", summary)
        if rows:
            store.write_csv(out / "scenarios.csv", scen)
        store.write_json(out / "manifest.json", store.manifest(
            kind="deterministic", run_name=run.name, seed=None, samples=0, chunk_size=None,
            inputs=store.input_hashes(ds.hashes, run.path), run=dict(run.resolved),
            dataset=str(run.dataset), timings={"total_s": time.perf_counter() - t0},
        ))
    if echo is not None:
        echo(format_table(summary, scen))
    return summary


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
        for name, v, r in zip(s.scenario, s.nominal, s.reduction_mean, strict=True):
            lines.append(f"{name:20s} {v:16.6g} {r:10.2%}")
    return "\n".join(lines)


# ------------------------------------------------------------------ Monte Carlo run
#: Metrics stored per sample for each scenario (scenarios.csv reports these).
def scenario_metrics(model: Model) -> list[str]:
    """Headline, per-metal hidden flow and per-vehicle metrics (what scenarios.csv reports)."""
    head = ["tmr_mt", "hidden_flows_mt", "used_extraction_mt", "material_in_cars_mt",
            "hidden_to_material_ratio", "share_entering_cars", "hidden_abroad_share",
            "nev_to_icev_hidden_ratio"]
    return head + [f"hidden_flows_mt_{m}" for m in model.metals] + [
        f"hidden_per_vehicle_t_{v}" for v in model.vehicles]


def _plan(run: RunConfig) -> list[tuple[int, int, int]]:
    """Chunks as (index, first sample, count)."""
    n, size = run.montecarlo.samples, run.montecarlo.chunk_size
    return [(i, a, min(size, n - a)) for i, a in enumerate(range(0, n, size))]


def _part(folder: Path, i: int) -> Path:
    return folder / f"part-{i:06d}.parquet"


def run_full(run: RunConfig, out_dir: str | Path, *, resume: bool = False, force: bool = False,
             workers: int | None = None, scheduler: str | None = None, quiet: bool = False,
             progress=None) -> pd.DataFrame | None:
    """Monte Carlo (chunked, checkpointed), scenarios, sensitivity and report for one run.

    Each chunk's per-sample metrics are written to ``samples.parquet/part-NNNNNN.parquet``
    (and each scenario's to ``scenario_samples/<name>/``) as soon as it is computed; a
    chunk already on disk is a checkpoint that ``resume`` skips. Returns the summary, or
    None when the run had finished before and ``force`` is off.
    """
    from uncertainty import engine
    from uncertainty.space import build_space

    out = Path(out_dir)
    t0 = time.perf_counter()
    with store.lock_folder(out):
        manifest_path = out / "manifest.json"
        if manifest_path.is_file() and not force and not resume:
            prev = store.read_json(manifest_path)
            if prev.get("kind") == "montecarlo" and prev.get("complete"):
                if not quiet:
                    print(f"{run.name}: finished before, skipped (use --force to re-run)")
                return None
        ds, model = model_for(run)
        space = build_space(run, ds, model)
        scen_overrides = [s for s in run.scenarios if s.overrides]
        for s in scen_overrides:  # validate overrides before anything is written
            build_space(run, ds, model, extra_overrides=s.overrides)
        mc = run.montecarlo
        inputs = store.input_hashes(ds.hashes, run.path)
        state = {"run_name": run.name, "seed": mc.seed, "samples": mc.samples,
                 "chunk_size": mc.chunk_size, "sampler": mc.sampler, "inputs": inputs,
                 "run": json_safe(run.resolved)}
        state_path = out / "progress.json"
        if resume and state_path.is_file():
            prev = store.read_json(state_path)
            if prev != json_safe(state):
                from uncertainty.store import ResultsError

                raise ResultsError(f"{state_path}: the stored run differs from this one (seed, "
                                   "samples, chunk size, sampler, inputs or run file changed); "
                                   "re-run without --resume (or with --force)")
        else:
            for p in [*out.glob("samples.parquet/part-*.parquet"),
                      *out.glob("scenario_samples/*/part-*.parquet")]:
                p.unlink()
            for name in ("summary.csv", "scenarios.csv", "manifest.json", "sobol.csv",
                         "sobol_convergence.csv", "parameters.csv", "report.html"):
                (out / name).unlink(missing_ok=True)
            store.write_json(state_path, state)
        plan = _plan(run)
        todo = [c for c in plan if not _part(out / "samples.parquet", c[0]).is_file()]
        switch = [run.baseline] + [s.switches for s in run.scenarios if not s.overrides]
        switch_names = [s.name for s in run.scenarios if not s.overrides]
        smetrics = scenario_metrics(model)
        t_mc = time.perf_counter()
        runner = engine.ChunkRunner(run, workers=workers, scheduler=scheduler)
        try:
            bar = None if quiet else engine.progress_bar(mc.samples, run.name,
                                                         done=mc.samples - sum(c[2] for c in todo))
            for i, arr, extra in runner.map(todo, switch, scen_overrides):
                _write_chunk(out, i, model, arr, extra, switch_names, scen_overrides, smetrics)
                if bar is not None:
                    bar.update(arr.shape[1])
            if bar is not None:
                bar.close()
        finally:
            runner.close()
        t_mc = time.perf_counter() - t_mc
        nominal = pd.Series(evaluate(model, *space.nominal_inputs(), scenario=run.baseline)[0],
                            index=model.metric_names)
        summary = summarise_store(out, model, nominal)
        store.write_csv(out / "summary.csv", summary)
        store.write_csv(out / "parameters.csv", space.table)
        scen = scenario_table(out, run, ds, model, space, smetrics)
        if scen is not None:
            store.write_csv(out / "scenarios.csv", scen)
        timings = {"montecarlo_s": t_mc}
        sob = None
        if run.sensitivity.enabled:
            t_s = time.perf_counter()
            sob = _sobol_frames(run, ds, model, quiet=quiet)
            store.write_csv(out / "sobol.csv", sob[0])
            store.write_csv(out / "sobol_convergence.csv", sob[1])
            timings["sobol_s"] = time.perf_counter() - t_s
        timings["total_s"] = time.perf_counter() - t0
        store.write_json(manifest_path, store.manifest(
            kind="montecarlo", complete=True, run_name=run.name, seed=mc.seed,
            samples=mc.samples, chunk_size=mc.chunk_size, sampler=mc.sampler,
            chunks=len(plan), inputs=inputs, run=json_safe(run.resolved),
            dataset=str(run.dataset), timings=timings,
            sensitivity=({"n_base": run.sensitivity.n_base, "seed": run.sensitivity.seed,
                          "num_resamples": run.sensitivity.num_resamples,
                          "conf_level": run.sensitivity.conf_level}
                         if run.sensitivity.enabled else None),
        ))
        _write_report(out, quiet=quiet)
        if not quiet:
            print(format_summary(summary, scen))
        return summary


def json_safe(obj):
    """Round-trip through JSON so comparisons with stored JSON are exact."""
    import json

    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _write_chunk(out: Path, i: int, model: Model, arr: np.ndarray, extra: list[np.ndarray],
                 switch_names: list[str], scen_overrides, smetrics: list[str]) -> None:
    idx = [model.metric_names.index(m) for m in smetrics]
    for k, name in enumerate(switch_names):
        store.write_parquet(_part(out / "scenario_samples" / name, i),
                            pd.DataFrame(arr[k + 1][:, idx], columns=smetrics))
    for s, a in zip(scen_overrides, extra, strict=True):
        store.write_parquet(_part(out / "scenario_samples" / s.name, i),
                            pd.DataFrame(a[:, idx], columns=smetrics))
    # the baseline part is written last: its presence marks the chunk as done
    store.write_parquet(_part(out / "samples.parquet", i),
                        pd.DataFrame(arr[0], columns=list(model.metric_names)))


def read_column(folder: Path, metric: str) -> np.ndarray:
    """One metric's per-sample values from a folder of Parquet parts, in sample order."""
    import pyarrow.parquet as pq

    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        from uncertainty.store import ResultsError

        raise ResultsError(f"{folder}: no samples stored")
    return np.concatenate([pq.read_table(p, columns=[metric]).column(0).to_numpy()
                           for p in parts])


def summarise_store(out: Path, model: Model, nominal: pd.Series) -> pd.DataFrame:
    """summary.csv from the stored samples, one column at a time (memory ~ one column)."""
    from uncertainty.montecarlo import summarise

    frames = [summarise({m: read_column(out / "samples.parquet", m)}, nominal)
              for m in model.metric_names]
    return pd.concat(frames, ignore_index=True)


def scenario_table(out: Path, run: RunConfig, ds: Dataset, model: Model, space,
                   smetrics: list[str]) -> pd.DataFrame | None:
    """scenarios.csv: each scenario's metrics and paired reductions on common random numbers."""
    if not run.scenarios:
        return None
    rows = []
    for sc in run.scenarios:
        nom = nominal_values(run, ds, model, sc.switches, dict(sc.overrides))
        for m in smetrics:
            base = read_column(out / "samples.parquet", m)
            x = read_column(out / "scenario_samples" / sc.name, m)
            with np.errstate(divide="ignore", invalid="ignore"):
                red = (x - base) / base
            q = np.quantile(x, [0.025, 0.975])
            rq = np.quantile(red, [0.025, 0.975])
            rows.append((sc.name, m, float(nom[model.metric_names.index(m)]), float(x.mean()),
                         float(q[0]), float(q[1]), float(red.mean()), float(rq[0]),
                         float(rq[1])))
    return pd.DataFrame(rows, columns=["scenario", "metric", "nominal", "mean", "p2_5", "p97_5",
                                       "reduction_mean", "reduction_p2_5", "reduction_p97_5"])


def format_summary(summary: pd.DataFrame, scen: pd.DataFrame | None) -> str:
    """Plain-text table of the headline metrics with their 95% intervals."""
    keep = summary[~summary.metric.str.startswith("hidden_flows_mt_country_")]
    lines = [f"{'metric':44s} {'nominal':>12s} {'mean':>12s} {'p2_5':>12s} {'p97_5':>12s}"]
    for r in keep.itertuples(index=False):
        lines.append(f"{r.metric:44s} {r.nominal:12.5g} {r.mean:12.5g} {r.p2_5:12.5g} "
                     f"{r.p97_5:12.5g}")
    if scen is not None:
        lines.append("")
        lines.append(f"{'scenario (hidden_flows_mt)':28s} {'reduction':>10s} {'95% interval':>22s}")
        s = scen[scen.metric == "hidden_flows_mt"]
        for r in s.itertuples(index=False):
            lines.append(f"{r.scenario:28s} {r.reduction_mean:10.2%} "
                         f"[{r.reduction_p2_5:8.2%}, {r.reduction_p97_5:8.2%}]")
    return "\n".join(lines)


def _sobol_frames(run: RunConfig, ds: Dataset, model: Model, *, quiet: bool):
    from uncertainty.tmrsobol import sobol_run

    res = sobol_run(run, ds, model, quiet=quiet)
    return res.to_frame(), res.convergence_frame()


def run_sobol(run: RunConfig, out_dir: str | Path, *, quiet: bool = False) -> pd.DataFrame:
    """Sensitivity alone: write sobol.csv and its convergence table."""
    out = Path(out_dir)
    ds, model = model_for(run)
    with store.lock_folder(out):
        frame, conv = _sobol_frames(run, ds, model, quiet=quiet)
        store.write_csv(out / "sobol.csv", frame)
        store.write_csv(out / "sobol_convergence.csv", conv)
    if not quiet:
        print(frame.sort_values("ST", ascending=False).head(20).to_string(index=False))
    return frame


def _write_report(out: Path, *, quiet: bool) -> None:
    try:
        from uncertainty import report
    except ImportError:  # the report module is optional until it exists
        return
    report.write_report(out)


def rebuild_report(out_dir: str | Path) -> None:
    """Rebuild figures, tables and report.html from stored results (no re-run)."""
    from uncertainty import report

    report.write_report(Path(out_dir))
