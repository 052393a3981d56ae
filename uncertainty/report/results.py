"""The results of a run as loaded from its out folder (:func:`load_results`).

:func:`load_results` reads ``summary.csv``, ``manifest.json``, ``parameters.csv``, the
per-sample Parquet parts and, when present, ``sobol.csv``, ``convergence.csv``,
``scenarios.csv``, ``priorities.csv`` and ``proof.csv``, and raises :class:`~uncertainty.store.ResultsError` naming the first
missing or corrupt file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from uncertainty import outputs, store
from uncertainty.metrics import HEADLINE_NAMES
from uncertainty.report import figures
from uncertainty.store import ResultsError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Results", "load_results"]

SUMMARY_COLUMNS = outputs.SUMMARY.columns
SOBOL_COLUMNS = outputs.SOBOL.columns
CONVERGENCE_COLUMNS = outputs.SOBOL_CONVERGENCE.columns
SCENARIO_COLUMNS = outputs.SCENARIOS.columns
PARAMETER_COLUMNS = outputs.PARAMETERS.columns
LEVELS = ("parameter", "systematic", "metal-kind", "mine", "country", "provenance")


# ------------------------------------------------------------------ loading
@dataclass(frozen=True, repr=False)
class Results:
    """Everything a report shows, as loaded from one out folder (no I/O after loading).

    The ``plot_*`` methods draw the report's figures from these tables
    (:mod:`uncertainty.report.figures`) and return the matplotlib Axes.
    """

    out_dir: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    parameters: pd.DataFrame
    samples: pd.DataFrame
    sobol: pd.DataFrame | None = None
    convergence: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    mines: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    calibration_targets: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default=())
    coverage: pd.DataFrame | None = None
    provenance: pd.DataFrame | None = None
    priorities: pd.DataFrame | None = None
    proof: pd.DataFrame | None = None

    def __repr__(self) -> str:
        parts = [f"{len(self.summary)} metrics", f"{len(self.samples):,} samples"]
        if self.sobol is not None:
            parts.append("Sobol indices")
        if self.scenarios is not None:
            parts.append(f"{self.scenarios['scenario'].nunique()} scenario(s)")
        return f"<Results of {self.run_name or self.out_dir.name!r}: {', '.join(parts)}>"

    def plot_distribution(self, metric: str = "hidden_flows_mt", **kwargs: Any) -> Axes:
        """Histogram of a metric's samples (:func:`~uncertainty.report.figures.plot_distribution`)."""
        if metric not in self.samples:
            raise ResultsError(f"{self.out_dir}: no samples of {metric!r} were kept "
                               f"(kept: {', '.join(self.samples.columns)})")
        return figures.plot_distribution(self.samples[metric], self.row(metric), metric=metric,
                                         **kwargs)

    def plot_sobol(self, metric: str = "hidden_to_material_ratio", level: str = "parameter",
                   **kwargs: Any) -> Axes:
        """S1 and ST of the top factors (:func:`~uncertainty.report.figures.plot_sobol`)."""
        return figures.plot_sobol(self._need("sobol"), metric=metric, level=level,
                                  labels=self.mine_names or None, **kwargs)

    def plot_convergence(self, metric: str = "hidden_to_material_ratio",
                         level: str = "parameter", **kwargs: Any) -> Axes:
        """ST against N (:func:`~uncertainty.report.figures.plot_convergence`)."""
        return figures.plot_convergence(self._need("convergence"), metric=metric, level=level,
                                        **kwargs)

    def plot_hidden_by_metal(self, **kwargs: Any) -> Axes:
        """Hidden flows by metal (:func:`~uncertainty.report.figures.plot_hidden_by_metal`)."""
        return figures.plot_hidden_by_metal(self.summary, **kwargs)

    def plot_hidden_by_country(self, **kwargs: Any) -> Axes:
        """Hidden flows by country (:func:`~uncertainty.report.figures.plot_hidden_by_country`)."""
        return figures.plot_hidden_by_country(self.summary, **kwargs)

    def plot_per_vehicle(self, **kwargs: Any) -> Axes:
        """Hidden flow per vehicle (:func:`~uncertainty.report.figures.plot_per_vehicle`)."""
        return figures.plot_per_vehicle(self.summary, **kwargs)

    def plot_priorities(self, metric: str = "hidden_flows_mt", **kwargs: Any) -> Axes:
        """Data-collection priorities (:func:`~uncertainty.report.figures.plot_priorities`)."""
        return figures.plot_priorities(self._need("priorities"), metric=metric,
                                       labels=self.mine_names or None, **kwargs)

    def plot_scenarios(self, **kwargs: Any) -> Axes:
        """Scenario changes (:func:`~uncertainty.report.figures.plot_scenarios`)."""
        return figures.plot_scenarios(self._need("scenarios"), **kwargs)

    def _need(self, name: str) -> pd.DataFrame:
        df = getattr(self, name)
        if df is None:
            raise ResultsError(f"{self.out_dir}: the run holds no {name} results")
        return df

    @property
    def run_name(self) -> str:
        """The run's name (from the manifest)."""
        return str(self.manifest.get("run_name") or _section(self.manifest, "run").get("name", ""))

    def row(self, metric: str) -> pd.Series | None:
        """The summary row of ``metric``, or None."""
        d = self.summary[self.summary["metric"] == metric]
        return None if d.empty else d.iloc[0]

    @property
    def mine_names(self) -> dict[str, str]:
        """Mine id (and co-product site id) -> mine name (empty when the dataset's
        mines.csv was not found)."""
        if self.mines is None:
            return {}
        names = dict(zip(self.mines["mine_id"].astype(str), self.mines["name"].astype(str),
                         strict=True))
        if "site_id" in self.mines:
            for sid, name in zip(self.mines["site_id"].astype(str),
                                 self.mines["name"].astype(str), strict=True):
                if sid not in ("", "nan"):
                    names.setdefault(sid, name)
        return names


def _numeric(df: pd.DataFrame, cols: Sequence[str], path: Path) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        if c not in df:
            continue
        try:
            df[c] = pd.to_numeric(df[c])
        except (ValueError, TypeError) as exc:
            raise ResultsError(f"{path}: result file is corrupt (column {c!r} is not "
                               f"numeric: {exc})") from exc
    return df


def _read(path: Path, required: tuple[str, ...], numeric: Sequence[str] = ()) -> pd.DataFrame:
    df = store.read_csv(path, required=required)
    if df.empty:
        raise ResultsError(f"{path}: result file is corrupt (no rows)")
    return _numeric(df, numeric, path)


#: Samples read for the distribution figures: the first rows in sample order (samples
#: are independent, so this is a random subsample); keeps memory flat in the sample count.
MAX_PLOT_SAMPLES = 200_000


def _read_samples(folder: Path, columns: list[str], limit: int = MAX_PLOT_SAMPLES,
                  digests: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The first ``limit`` rows of ``columns`` from a folder of Parquet parts.

    With ``digests`` (progress.json's ``parts``: path relative to the out folder -> SHA-256),
    every part is checked against its digest and a part that fails is refused.
    """
    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        raise ResultsError(f"{folder}: result file is missing (no part-*.parquet)")
    if digests is not None:
        for p in parts:
            why = store.digest_problem(p, digests.get(f"{folder.name}/{p.name}"))
            if why is not None:
                raise ResultsError(f"{p}: result file is corrupt (it {why}); rerun the run "
                                   "with --resume to recompute it")
    import pyarrow as pa
    import pyarrow.parquet as pq

    frames = []
    have = 0
    for p in parts:
        try:
            meta = pq.read_metadata(p)  # every part is checked, even those not read
            missing = [c for c in columns if c not in meta.schema.names]
            if missing:
                raise KeyError(f"missing column(s) {', '.join(missing)}")
            if have < limit:
                t = pq.read_table(p, columns=columns)
                frames.append(t.slice(0, limit - have).to_pandas())
                have += min(t.num_rows, limit - have)
        except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
            raise ResultsError(f"{p}: result file is corrupt ({exc})") from exc
    return pd.concat(frames, ignore_index=True)


def load_results(out_dir: str | Path) -> Results:
    """Read and check an out folder's results.

    Raises
    ------
    ResultsError
        Naming the first missing or corrupt file: ``manifest.json``, ``summary.csv``,
        ``parameters.csv``, ``samples.parquet``, and ``sobol.csv`` /
        ``sobol_convergence.csv`` / ``scenarios.csv`` where the run made them.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise ResultsError(f"{out}: out folder is missing")
    mpath = out / outputs.MANIFEST.name
    manifest = store.read_json(mpath)
    if manifest.get("kind") != "montecarlo" or not manifest.get("complete"):
        raise ResultsError(f"{mpath}: the report needs a complete Monte Carlo run (kind "
                           f"{manifest.get('kind')!r}, complete {manifest.get('complete')!r})")
    for key in ("seed", "samples"):
        if key not in manifest:
            raise ResultsError(f"{mpath}: result file is corrupt (no {key!r})")
    summary = _read(out / outputs.SUMMARY.name, SUMMARY_COLUMNS, SUMMARY_COLUMNS[1:])
    if summary["metric"].duplicated().any():
        dup = summary.loc[summary["metric"].duplicated(), "metric"].iloc[0]
        raise ResultsError(f"{out / 'summary.csv'}: result file is corrupt (metric {dup!r} "
                           "appears twice)")
    parameters = _read(out / outputs.PARAMETERS.name, PARAMETER_COLUMNS, ("nominal",))
    headline = [m for m in HEADLINE_NAMES if m in set(summary["metric"])]
    progress = store.read_json(out / outputs.PROGRESS.name) if (out / outputs.PROGRESS.name).is_file() \
        else {}
    parts = progress.get("parts")
    samples = _read_samples(out / outputs.SAMPLES.name, headline,
                            digests=parts if isinstance(parts, dict) else None)
    sobol = convergence = scenarios = None
    if manifest.get("sensitivity"):
        sobol = _read(out / outputs.SOBOL.name, SOBOL_COLUMNS, SOBOL_COLUMNS[3:])
        convergence = _read(out / outputs.SOBOL_CONVERGENCE.name, CONVERGENCE_COLUMNS,
                            CONVERGENCE_COLUMNS[3:])
        for idx in ("S1", "ST"):
            if f"{idx}_low" not in sobol or f"{idx}_high" not in sobol:
                sobol[f"{idx}_low"] = sobol[idx] - sobol[f"{idx}_conf"]
                sobol[f"{idx}_high"] = sobol[idx] + sobol[f"{idx}_conf"]
        sobol = _numeric(sobol, ("S1_low", "S1_high", "ST_low", "ST_high"), out / outputs.SOBOL.name)
    run = _section(manifest, "run")
    if run.get("scenarios") or (out / outputs.SCENARIOS.name).exists():
        scenarios = _read(out / outputs.SCENARIOS.name, SCENARIO_COLUMNS, SCENARIO_COLUMNS[2:])
    mines = calibration = calibration_targets = None
    notes: list[str] = []
    dataset = manifest.get("dataset")
    if dataset:
        ds = Path(str(dataset))
        if (ds / "mines.csv").is_file():
            mines = store.read_csv(ds / "mines.csv", required=("mine_id", "name"))
        else:
            notes.append(f"The dataset's mines.csv was not found at {ds}; mines are shown by id.")
        if (ds / outputs.CALIBRATION.name).is_file():
            calibration = store.read_csv(ds / outputs.CALIBRATION.name,
                                         required=outputs.CALIBRATION.columns)
        if (ds / outputs.CALIBRATION_TARGETS.name).is_file():
            calibration_targets = store.read_csv(ds / outputs.CALIBRATION_TARGETS.name,
                                                 required=outputs.CALIBRATION_TARGETS.columns)
    coverage = provenance = None
    if (out / outputs.COVERAGE.name).is_file():
        coverage = store.read_csv(out / outputs.COVERAGE.name, required=outputs.COVERAGE.columns)
    if (out / outputs.PROVENANCE.name).is_file():
        provenance = store.read_csv(out / outputs.PROVENANCE.name,
                                    required=outputs.PROVENANCE.columns)
    priorities = proof = None
    if (out / outputs.PRIORITIES.name).is_file():
        priorities = _numeric(store.read_csv(out / outputs.PRIORITIES.name,
                                             required=outputs.PRIORITIES.columns),
                              outputs.PRIORITIES.columns[6:], out / outputs.PRIORITIES.name)
        priorities["id"] = priorities["id"].astype(str)
    if (out / outputs.PROOF.name).is_file():
        proof = _numeric(store.read_csv(out / outputs.PROOF.name, required=outputs.PROOF.columns),
                         outputs.PROOF.columns[1:], out / outputs.PROOF.name)
    return Results(out, manifest, summary, parameters, samples, sobol, convergence, scenarios,
                   mines, calibration, calibration_targets, tuple(notes), coverage, provenance, priorities, proof)


def _section(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``mapping[key]`` when it is a dict (a manifest section), else an empty dict."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _conf_label(results: Results) -> str:
    sens = _section(results.manifest, "sensitivity")
    try:
        return f"{float(sens.get('conf_level', 0.95)):.0%}"
    except (TypeError, ValueError):
        return "95%"


def _sobol_metrics(results: Results) -> list[str]:
    return [] if results.sobol is None else list(dict.fromkeys(results.sobol["metric"]))
