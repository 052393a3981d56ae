"""The reviewer report: ``report.html``, Markdown and LaTeX tables, figures.

:func:`load_results` reads an out folder (and raises
:class:`~uncertainty.store.ResultsError` naming the first missing or corrupt file);
everything else here is a pure function from the loaded :class:`Results` to text or
bytes; :func:`write_report` is the one writer. It checks and renders everything in
memory first, so a folder with bad results gets nothing written, not half a report.

Every number shown comes from one formatter, :func:`format_number`, which rounds a value
to the digits its 95% interval supports (two significant digits of the interval width),
so ``report.html``, ``tables/*.md``, ``tables/*.tex`` and ``summary.csv`` agree at the
precision shown. All text from data and run files is escaped for its target
(:func:`html.escape`, :func:`escape_markdown`, :func:`escape_latex`).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uncertainty import figures, store
from uncertainty.store import ResultsError

__all__ = [
    "CITATIONS",
    "STUDY_TARGETS",
    "Results",
    "Table",
    "decimals",
    "escape_latex",
    "escape_markdown",
    "format_number",
    "load_results",
    "metrics_table",
    "render_figures",
    "render_html",
    "render_latex",
    "render_markdown",
    "scenarios_table",
    "sobol_top_table",
    "study_targets_table",
    "write_report",
]

SUMMARY_COLUMNS = ("metric", "nominal", "mean", "sd", "p2_5", "p50", "p97_5", "n")
SOBOL_COLUMNS = ("metric", "factor", "level", "S1", "S1_conf", "ST", "ST_conf")
CONVERGENCE_COLUMNS = ("metric", "level", "factor", "n", "S1", "S1_conf", "ST", "ST_conf")
SCENARIO_COLUMNS = ("scenario", "metric", "nominal", "mean", "p2_5", "p97_5",
                    "reduction_mean", "reduction_p2_5", "reduction_p97_5")
PARAMETER_COLUMNS = ("name", "level", "kind", "family", "dist", "nominal")
LEVELS = ("parameter", "systematic", "metal-kind", "mine", "country")

#: The sources a report cites.
CITATIONS: tuple[str, ...] = (
    "Global hidden material flows triggered by China's vehicle supply chain far exceed "
    "eventual material use. Nature Communications (2025). The mine-site-specific TMR "
    "framework, the 1,784-mine / 11-metal scope and the headline results this toolkit "
    "is calibrated to.",
    "Jasansky, S., Lieber, M., Giljum, S. & Maus, V. An open database on global coal and "
    "metal mine production. Scientific Data 10, 52 (2023). doi:10.1038/s41597-023-01965-y. "
    "Mine-level grades, recoveries and waste/ore ratios from which the archetype "
    "statistics of the default database are fitted.",
    "Saltelli, A. et al. Variance based sensitivity analysis of model output. Design and "
    "estimator for the total sensitivity index. Computer Physics Communications 181, "
    "259-270 (2010). doi:10.1016/j.cpc.2009.09.018.",
    "Jansen, M. J. W. Analysis of variance designs for model output. Computer Physics "
    "Communications 117, 35-43 (1999). doi:10.1016/S0010-4655(98)00154-4.",
    "Herman, J. & Usher, W. SALib: An open-source Python library for sensitivity "
    "analysis. Journal of Open Source Software 2(9), 97 (2017). doi:10.21105/joss.00097.",
)

#: The study's headline results: (label, metric or (scenario, metric), low, high, shown).
#: A point value holds within +-5% (relative); a range holds when the nominal lies in it.
STUDY_TARGETS: tuple[tuple[str, str | tuple[str, str], float, float, str], ...] = (
    ("TMR", "tmr_mt", 1163 * 0.95, 1163 * 1.05, "1,163 Mt"),
    ("hidden flows", "hidden_flows_mt", 1106 * 0.95, 1106 * 1.05, "1,106 Mt"),
    ("hidden flows / material in cars", "hidden_to_material_ratio", 35 * 0.95, 35 * 1.05,
     "35"),
    ("share of extraction entering cars", "share_entering_cars", 0.025, 0.035, "about 3%"),
    ("share of hidden flows abroad", "hidden_abroad_share", 0.48 * 0.95, 0.48 * 1.05, "48%"),
    ("NEV / ICEV hidden flow per vehicle", "nev_to_icev_hidden_ratio", 3.0, math.inf,
     "over 3"),
    ("copper's share of hidden flows", "hidden_share_copper", 0.37 * 0.95, 0.37 * 1.05,
     "37%"),
    ("energy share of hidden flows", "energy_hidden_share", 0.13, 0.14, "13-14%"),
    ("recycled copper, change of total hidden flows", ("recycled-copper", "hidden_flows_mt"),
     -0.35 * 1.05, -0.35 * 0.95, "about -35%"),
    ("NMC/NCA to LFP, change of total hidden flows", ("lfp", "hidden_flows_mt"), -0.12, -0.03,
     "-3 to -12%"),
    ("NMC/NCA to LFP, change of TMR", ("lfp", "tmr_mt"), -0.12, -0.03, "-3 to -12%"),
    ("clean energy, change of total hidden flows", ("clean-energy", "hidden_flows_mt"),
     -0.14, -0.13, "-13 to -14%"),
)

_SAMPLERS = {
    "philox": "counter-based Philox4x32-10 uniforms, a pure function of (seed, sample "
              "index, parameter index), so results do not depend on chunking or threads",
    "sobol": "scrambled Sobol points (scipy.stats.qmc), extendable in pieces",
}


# ------------------------------------------------------------------ formatting
def decimals(width: float) -> int | None:
    """Decimal places that show two significant digits of an interval ``width``.

    Negative for coarse intervals (``-1``: round to tens). None when the width is zero,
    negative or not finite (no interval to go by).
    """
    if not (isinstance(width, int | float) and math.isfinite(width)) or width <= 0:
        return None
    return min(15, 1 - math.floor(math.log10(width)))


def format_number(value: float, width: float | None = None, *, digits: int | None = None
                  ) -> str:
    """The one number formatter of the report.

    Parameters
    ----------
    value : float
    width : float, optional
        Width of the value's interval (e.g. ``p97_5 - p2_5``): the value is rounded to
        two significant digits of it (:func:`decimals`).
    digits : int, optional
        Decimal places to use instead (may be negative).

    Returns
    -------
    str
        Fixed-point text (no thousands separators, no exponent) where an interval is
        known, at most six significant digits; four significant digits otherwise;
        ``"–"`` for NaN.
    """
    if value is None or not math.isfinite(float(value)):
        return "–"
    value = float(value)
    d = digits if digits is not None else decimals(width if width is not None else math.nan)
    if d is not None and digits is None and value != 0:
        # an interval far narrower than the value: at most six significant digits
        d = min(d, 5 - math.floor(math.log10(abs(value))))
    if d is None:
        text = f"{value:.4g}"
        if "e" in text:
            text = f"{value:.4e}"
    elif d <= 0:
        q = 10 ** (-d)
        text = f"{round(value / q) * q:.0f}"
    else:
        text = f"{value:.{d}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


_MD_SPECIAL = re.compile(r"([\\`*\[\]|])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))


def escape_markdown(text: object) -> str:
    """Text safe in a Markdown table cell: HTML characters as entities, Markdown escaped."""
    t = html.escape(str(text), quote=False)
    t = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), t)
    return t.replace("\n", " ")


def escape_latex(text: object) -> str:
    """Text safe in LaTeX text mode (every special character replaced)."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], str(text)).replace("\n", " ")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _section(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``mapping[key]`` when it is a dict (a manifest section), else an empty dict."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------ tables
@dataclass(frozen=True)
class Table:
    """A table of text cells, rendered to Markdown, LaTeX or HTML from the same strings.

    ``align`` has one letter per column: ``l`` text, ``r`` numbers.
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str
    caption: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        if len(self.align) != len(self.header) or any(len(r) != len(self.header)
                                                       for r in self.rows):
            raise ValueError("'rows' and 'align' must have one entry per header column")


def render_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table (cells escaped)."""
    def line(cells: Iterable[str]) -> str:
        return "| " + " | ".join(escape_markdown(c) for c in cells) + " |"

    rule = "|" + "|".join("---:" if a == "r" else ":---" for a in table.align) + "|"
    out = [f"{escape_markdown(table.caption)}\n"] if table.caption else []
    out += [line(table.header), rule, *(line(r) for r in table.rows)]
    return "\n".join(out) + "\n"


def render_latex(table: Table) -> str:
    """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``; cells escaped)."""
    out = []
    if table.caption:
        out.append(f"% {escape_latex(table.caption)}")
    out += [f"\\begin{{tabular}}{{{table.align}}}", "\\toprule",
            " & ".join(escape_latex(h) for h in table.header) + r" \\", "\\midrule"]
    out += [" & ".join(escape_latex(c) for c in r) + r" \\" for r in table.rows]
    out += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def _html_table(table: Table) -> str:
    cls = ["num" if a == "r" else "" for a in table.align]
    ident = f' id="{_e(table.id)}"' if table.id else ""
    out = [f"<table{ident}>"]
    if table.caption:
        out.append(f"<caption>{_e(table.caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th class="{c}">{_e(h)}</th>' if c else f"<th>{_e(h)}</th>"
        for h, c in zip(table.header, cls, strict=True)) + "</tr></thead><tbody>")
    for r in table.rows:
        out.append("<tr>" + "".join(f'<td class="{c}">{_e(v)}</td>' if c else f"<td>{_e(v)}</td>"
                                    for v, c in zip(r, cls, strict=True)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


# ------------------------------------------------------------------ loading
@dataclass(frozen=True)
class Results:
    """Everything a report shows, as loaded from one out folder (no I/O after loading)."""

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
    notes: tuple[str, ...] = field(default=())

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
        """Mine id -> mine name (empty when the dataset's mines.csv was not found)."""
        if self.mines is None:
            return {}
        return dict(zip(self.mines["mine_id"].astype(str), self.mines["name"].astype(str),
                        strict=True))


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


def _read_samples(folder: Path, columns: list[str],
                  limit: int = MAX_PLOT_SAMPLES) -> pd.DataFrame:
    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        raise ResultsError(f"{folder}: result file is missing (no part-*.parquet)")
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
    mpath = out / "manifest.json"
    manifest = store.read_json(mpath)
    if manifest.get("kind") != "montecarlo" or not manifest.get("complete"):
        raise ResultsError(f"{mpath}: the report needs a complete Monte Carlo run (kind "
                           f"{manifest.get('kind')!r}, complete {manifest.get('complete')!r})")
    for key in ("seed", "samples"):
        if key not in manifest:
            raise ResultsError(f"{mpath}: result file is corrupt (no {key!r})")
    summary = _read(out / "summary.csv", SUMMARY_COLUMNS, SUMMARY_COLUMNS[1:])
    if summary["metric"].duplicated().any():
        dup = summary.loc[summary["metric"].duplicated(), "metric"].iloc[0]
        raise ResultsError(f"{out / 'summary.csv'}: result file is corrupt (metric {dup!r} "
                           "appears twice)")
    parameters = _read(out / "parameters.csv", PARAMETER_COLUMNS, ("nominal",))
    headline = [m for m in figures.HEADLINE_METRICS if m in set(summary["metric"])]
    samples = _read_samples(out / "samples.parquet", headline)
    sobol = convergence = scenarios = None
    if manifest.get("sensitivity"):
        sobol = _read(out / "sobol.csv", SOBOL_COLUMNS, SOBOL_COLUMNS[3:])
        convergence = _read(out / "sobol_convergence.csv", CONVERGENCE_COLUMNS,
                            CONVERGENCE_COLUMNS[3:])
        for idx in ("S1", "ST"):
            if f"{idx}_low" not in sobol or f"{idx}_high" not in sobol:
                sobol[f"{idx}_low"] = sobol[idx] - sobol[f"{idx}_conf"]
                sobol[f"{idx}_high"] = sobol[idx] + sobol[f"{idx}_conf"]
        sobol = _numeric(sobol, ("S1_low", "S1_high", "ST_low", "ST_high"), out / "sobol.csv")
    run = _section(manifest, "run")
    if run.get("scenarios") or (out / "scenarios.csv").exists():
        scenarios = _read(out / "scenarios.csv", SCENARIO_COLUMNS, SCENARIO_COLUMNS[2:])
    mines = calibration = None
    notes: list[str] = []
    dataset = manifest.get("dataset")
    if dataset:
        ds = Path(str(dataset))
        if (ds / "mines.csv").is_file():
            mines = store.read_csv(ds / "mines.csv", required=("mine_id", "name"))
        else:
            notes.append(f"The dataset's mines.csv was not found at {ds}; mines are shown by id.")
        if (ds / "calibration.csv").is_file():
            calibration = store.read_csv(ds / "calibration.csv",
                                         required=("knob", "value", "target_metric", "target",
                                                   "achieved"))
    return Results(out, manifest, summary, parameters, samples, sobol, convergence, scenarios,
                   mines, calibration, tuple(notes))


# ------------------------------------------------------------------ result tables
def _width(row: Mapping[Any, Any] | pd.Series, lo: str = "p2_5", hi: str = "p97_5") -> float:
    return float(row[hi]) - float(row[lo])


def metrics_table(results: Results, metrics: Sequence[str] | None = None, *,
                  table_id: str = "metrics") -> Table:
    """Every metric (or ``metrics``) with nominal, mean and 95% interval, same rounding."""
    s = results.summary
    if metrics is not None:
        s = s.set_index("metric").loc[[m for m in metrics if m in set(s["metric"])]]
        s = s.reset_index()
    rows = []
    for r in s.to_dict("records"):
        w = _width(r)
        rows.append((str(r["metric"]), figures.metric_unit(str(r["metric"])),
                     *(format_number(r[c], w) for c in ("nominal", "mean", "p2_5", "p97_5"))))
    return Table(("metric", "unit", "nominal", "mean", "2.5%", "97.5%"), tuple(rows),
                 "llrrrr", caption="Metrics: nominal value, Monte Carlo mean and 95% interval "
                 "(2.5th-97.5th percentile); rounded to two significant digits of the "
                 "interval width", id=table_id)


def _group_factors(results: Results, level: str) -> list[str] | None:
    """The factors a level adds to the parameter level: its groups.

    At the ``systematic`` level the systematic parameters are kept too (they are that
    level's subject, beside the group of all per-mine parameters). None for the
    parameter level (every factor) or when there is no parameter level to compare with.
    """
    sob = results.sobol
    if sob is None or level == "parameter":
        return None
    single = set(sob.loc[sob["level"] == "parameter", "factor"])
    if not single:
        return None
    here = set(sob.loc[sob["level"] == level, "factor"])
    keep = here - single
    if level == "systematic":
        p = results.parameters
        keep |= here & set(p.loc[p["level"] == "systematic", "name"].astype(str))
    return sorted(keep)


def _ci(v: float, lo: float, hi: float) -> str:
    w = hi - lo
    return f"{format_number(v, w)} [{format_number(lo, w)}, {format_number(hi, w)}]"


def _sobol_rows(results: Results, metric: str, level: str, top: int) -> pd.DataFrame:
    sob = results.sobol
    assert sob is not None
    d = sob[(sob["metric"] == metric) & (sob["level"] == level)]
    groups = _group_factors(results, level)
    if groups is not None:
        d = d[d["factor"].isin(groups)]
    return d.sort_values("ST", ascending=False, kind="stable").head(top)


def _flags(r: Mapping[Any, Any]) -> str:
    out = []
    if float(r["ST_low"]) <= 0:
        out.append("ST interval reaches 0")
    if float(r["S1_low"]) < 0 < float(r["S1_high"]):
        out.append("S1 interval straddles 0")
    return "; ".join(out)


def sobol_top_table(results: Results, *, metrics: Sequence[str] | None = None,
                    levels: Sequence[str] = LEVELS, top: int = 10,
                    table_id: str = "sobol") -> Table:
    """The ``top`` factors by total-order index per metric and level, with CIs and flags.

    Above the parameter level only what the level adds is listed: its groups (a mine's,
    a country's, a metal x kind's parameters together; all per-mine parameters as one
    group) and, at the ``systematic`` level, the systematic factors.
    """
    sob = results.sobol
    if sob is None:
        return Table(("metric",), (), "l", caption="No sensitivity analysis in this run",
                     id=table_id)
    conf = _conf_label(results)
    names = results.mine_names
    rows = []
    for m in metrics or list(dict.fromkeys(sob["metric"])):
        for lv in levels:
            for r in _sobol_rows(results, m, lv, top).to_dict("records"):
                f = str(r["factor"])
                label = f"{f} ({names[f]})" if lv == "mine" and f in names else f
                rows.append((m, lv, label, _ci(r["ST"], r["ST_low"], r["ST_high"]),
                             _ci(r["S1"], r["S1_low"], r["S1_high"]), _flags(r)))
    return Table(("metric", "level", "factor", f"ST [{conf} CI]", f"S1 [{conf} CI]", "note"),
                 tuple(rows), "llllll",
                 caption=f"Sobol indices, top {top} factors by total-order index (ST) per "
                 f"metric and level, bootstrap {conf} confidence intervals", id=table_id)


def scenarios_table(results: Results, metrics: Sequence[str] | None = None, *,
                    table_id: str = "scenarios") -> Table:
    """Scenario values and paired changes against the baseline (per cent)."""
    sc = results.scenarios
    if sc is None:
        return Table(("scenario",), (), "l", caption="No scenarios in this run", id=table_id)
    if metrics is not None:
        sc = sc[sc["metric"].isin(list(metrics))]
    rows = []
    for r in sc.to_dict("records"):
        w = _width(r)
        rw = 100 * _width(r, "reduction_p2_5", "reduction_p97_5")
        rows.append((str(r["scenario"]), str(r["metric"]), figures.metric_unit(str(r["metric"])),
                     *(format_number(r[c], w) for c in ("nominal", "mean", "p2_5", "p97_5")),
                     *(format_number(100 * float(r[c]), rw)
                       for c in ("reduction_mean", "reduction_p2_5", "reduction_p97_5"))))
    return Table(("scenario", "metric", "unit", "nominal", "mean", "2.5%", "97.5%",
                  "change (%)", "change 2.5% (%)", "change 97.5% (%)"), tuple(rows),
                 "lllrrrrrrr", caption="Scenarios: values and paired changes against the "
                 "baseline on common random numbers (mean and 95% interval of the per-sample "
                 "change)", id=table_id)


def study_targets_table(results: Results) -> Table:
    """The study's headline results against this run: nominal and 95% interval."""
    rows = []
    for label, key, lo, hi, shown in STUDY_TARGETS:
        if isinstance(key, tuple):
            if results.scenarios is None:
                continue
            sc = results.scenarios
            s = sc[(sc["scenario"] == key[0]) & (sc["metric"] == key[1])]
            base = results.row(key[1])
            if s.empty or base is None or float(base["nominal"]) == 0:
                continue
            r = s.iloc[0]
            nominal = (float(r["nominal"]) - float(base["nominal"])) / float(base["nominal"])
            a, b = float(r["reduction_p2_5"]), float(r["reduction_p97_5"])
            w = 100 * (b - a)
            vals = (format_number(100 * nominal, w) + "%", f"[{format_number(100 * a, w)}%, "
                    f"{format_number(100 * b, w)}%]")
            name = f"{key[0]}: {key[1]}"
        else:
            row = results.row(key)
            if row is None:
                continue
            nominal, a, b = float(row["nominal"]), float(row["p2_5"]), float(row["p97_5"])
            w = b - a
            vals = (format_number(nominal, w), f"[{format_number(a, w)}, {format_number(b, w)}]")
            name = key
        holds = lo <= nominal <= hi
        inside = a <= hi and b >= lo
        rows.append((label, name, shown, *vals, "yes" if holds else "no",
                     "yes" if inside else "no"))
    return Table(("study result", "metric", "study", "this run, nominal",
                  "this run, 95% interval", "nominal holds", "overlaps interval"),
                 tuple(rows), "lllrrll", caption="The study's headline results against this "
                 "run (a point value holds within 5%; a range when the nominal lies in it)",
                 id="targets")


# ------------------------------------------------------------------ figures
def _conf_label(results: Results) -> str:
    sens = _section(results.manifest, "sensitivity")
    try:
        return f"{float(sens.get('conf_level', 0.95)):.0%}"
    except (TypeError, ValueError):
        return "95%"


def _sobol_metrics(results: Results) -> list[str]:
    return [] if results.sobol is None else list(dict.fromkeys(results.sobol["metric"]))


def render_figures(results: Results, *, dpi: float = 150, svg: bool = True
                   ) -> dict[str, dict[str, bytes]]:
    """Every report figure rendered in memory: ``{name: {"png": bytes, "svg": bytes}}``.

    Each file's metadata names the run, sample count, seed and sampler it comes from.
    """
    out: dict[str, dict[str, bytes]] = {}
    s = results.summary
    metrics = set(s["metric"])
    man = results.manifest
    source = (f"uncertainty {_section(man, 'versions').get('uncertainty', '')}: run "
              f"{results.run_name}, {man.get('samples')} samples, seed {man.get('seed')}, "
              f"sampler {man.get('sampler')}; Sobol N = "
              f"{_section(man, 'sensitivity').get('n_base', '-')}")

    def keep(name: str, fig: Any) -> None:
        out[name] = {"png": figures.render(fig, "png", dpi=dpi, description=source)}
        if svg:
            out[name]["svg"] = figures.render(fig, "svg", description=source)

    with figures.style():
        head = [m for m in figures.HEADLINE_METRICS if m in metrics and m in results.samples]
        if head:
            ncols = 3
            nrows = math.ceil(len(head) / ncols)
            fig, axes = figures.new_figure(nrows, ncols, figsize=(11, 2.9 * nrows))
            flat = np.atleast_1d(axes).ravel()
            for i, m in enumerate(head):
                row = results.row(m)
                assert row is not None  # head holds metrics of the summary only
                figures.plot_distribution(results.samples[m], row, metric=m, legend=i == 0,
                                          ax=flat[i])
            for ax in flat[len(head):]:
                ax.set_axis_off()
            keep("distributions", fig)
        if any(m.startswith("hidden_flows_mt_") and not m.startswith("hidden_flows_mt_country_")
               for m in metrics):
            fig, ax = figures.new_figure(figsize=(6.4, 4.4))
            figures.plot_hidden_by_metal(s, ax=ax)
            keep("hidden_by_metal", fig)
        if any(m.startswith("hidden_flows_mt_country_") for m in metrics):
            fig, ax = figures.new_figure(figsize=(6.4, 5.2))
            domestic = str(_section(results.manifest, "run").get("domestic", "CHN"))
            figures.plot_hidden_by_country(s, domestic=domestic, ax=ax)
            keep("hidden_by_country", fig)
        if any(m.startswith("hidden_per_vehicle_t_") for m in metrics):
            fig, ax = figures.new_figure(figsize=(4.8, 4.2))
            figures.plot_per_vehicle(s, ax=ax)
            keep("per_vehicle", fig)
        if results.scenarios is not None:
            fig, ax = figures.new_figure(figsize=(7.0, 3.8))
            figures.plot_scenarios(results.scenarios, ax=ax)
            keep("scenarios", fig)
        sob = results.sobol
        for m in _sobol_metrics(results):
            assert sob is not None
            levels = [lv for lv in LEVELS if ((sob["metric"] == m) & (sob["level"] == lv)).any()]
            ncols = 2 if len(levels) > 1 else 1
            nrows = math.ceil(len(levels) / ncols)
            fig, axes = figures.new_figure(nrows, ncols, figsize=(11.5, 3.7 * nrows))
            flat = np.atleast_1d(axes).ravel()
            for i, lv in enumerate(levels):
                top = 12 if lv == "parameter" else 10
                figures.plot_sobol(sob, metric=m, level=lv, top=top,
                                   factors=_group_factors(results, lv), legend=i == 0,
                                   ax=flat[i],
                                   title=_level_title(lv, top))
            for ax in flat[len(levels):]:
                ax.set_axis_off()
            fig.suptitle(f"Sobol indices of {m}", fontweight="bold")
            keep(f"sobol_{_slug(m)}", fig)
            if results.convergence is not None and (results.convergence["metric"] == m).any():
                fig, axes = figures.new_figure(1, 2, figsize=(11, 4.4))
                conf = float(_section(results.manifest, "sensitivity").get("conf_level", 0.95))
                figures.plot_convergence(results.convergence, metric=m, ax=axes[0],
                                         conf_level=conf)
                figures.plot_convergence(results.convergence, metric=m, quantity="halfwidth",
                                         legend=False, conf_level=conf, ax=axes[1])
                keep(f"convergence_{_slug(m)}", fig)
    return out


def _level_title(level: str, top: int) -> str:
    return {
        "parameter": f"by parameter (top {top})",
        "systematic": f"systematic factors and all per-mine parameters (top {top})",
        "metal-kind": f"by metal x parameter kind, all mines together (top {top})",
        "mine": f"by mine, each mine's parameters together (top {top})",
        "country": f"by country, each country's mines together (top {top})",
    }.get(level, f"by {level} (top {top})")


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)


# ------------------------------------------------------------------ HTML
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;
 color:#1f1f1f;margin:0;background:#fafafa}
header,main,footer{max-width:1120px;margin:0 auto;padding:0 24px}
header{padding-top:24px}
h1{font-size:1.7em;margin:.2em 0}
h2{border-bottom:2px solid #2b4f7a;padding-bottom:4px;margin-top:2em}
h3{margin-top:1.5em}
nav a{margin-right:1em}
a{color:#2b4f7a}
section{background:#fff;padding:4px 24px 20px;margin:16px 0;border:1px solid #e3e3e3;
 border-radius:6px}
table{border-collapse:collapse;margin:12px 0;font-size:.86em}
caption{caption-side:top;text-align:left;color:#555;padding-bottom:4px}
th,td{padding:3px 10px;border-bottom:1px solid #e8e8e8;vertical-align:top}
thead th{border-bottom:2px solid #444;text-align:left}
tbody tr:nth-child(even){background:#f6f6f6}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:16px 0}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em}
.note{background:#fff7e6;border-left:4px solid #c07a26;padding:8px 12px}
.key{font-weight:600}
code{font-size:.92em}
details{margin:8px 0}
summary{cursor:pointer;color:#2b4f7a}
footer{color:#666;font-size:.85em;padding-bottom:32px}
.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.85em;word-break:break-all}
"""


def _figure_html(figs: Mapping[str, Mapping[str, bytes]], name: str, caption: str) -> str:
    if name not in figs:
        return ""
    data = base64.b64encode(figs[name]["png"]).decode("ascii")
    return (f'<figure id="fig-{_e(name)}"><img alt="{_e(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_e(caption)} '
            f'(<code>figures/{_e(name)}.png</code>)</figcaption></figure>')


def _value(results: Results, metric: str) -> str | None:
    r = results.row(metric)
    if r is None:
        return None
    w = _width(r)
    unit = figures.metric_unit(metric)
    unit = "" if unit in ("-", "share") else f" {unit}"
    return (f"{format_number(r['mean'], w)}{unit} (nominal "
            f"{format_number(r['nominal'], w)}; 95% interval {format_number(r['p2_5'], w)} to "
            f"{format_number(r['p97_5'], w)})")


def _summary_html(results: Results) -> str:
    m = results.manifest
    parts = [f"<p>Monte Carlo uncertainty of the hidden flows and the Total Material "
             f"Requirement (TMR) of run <span class=\"key\">{_e(results.run_name)}</span>: "
             f"{_e(m.get('samples'))} samples, seed {_e(m.get('seed'))}, sampler "
             f"{_e(m.get('sampler'))}. Values are Monte Carlo means with the nominal value and "
             f"the 95% interval (2.5th-97.5th percentile).</p>", "<ul>"]
    for metric in figures.HEADLINE_METRICS:
        v = _value(results, metric)
        if v is not None:
            parts.append(f"<li><span class=\"key\">{_e(figures.metric_label(metric))}</span> "
                         f"(<code>{_e(metric)}</code>): {_e(v)}</li>")
    parts.append("</ul>")
    if results.sobol is not None:
        items = []
        for metric in _sobol_metrics(results):
            top = _sobol_rows(results, metric, "parameter", 1)
            if len(top):
                b = top.iloc[0]
                items.append(f"<li><code>{_e(metric)}</code>: <code>{_e(b['factor'])}</code>, "
                             f"S<sub>T</sub> = {_e(_ci(b['ST'], b['ST_low'], b['ST_high']))}</li>")
        if items:
            parts.append("<p>Largest total-order Sobol index (the input whose uncertainty, "
                         "with all its interactions, explains most of the variance):</p><ul>"
                         + "".join(items) + "</ul>")
    if results.scenarios is not None:
        sc = results.scenarios[results.scenarios["metric"] == "hidden_flows_mt"]
        items = []
        for r in sc.to_dict("records"):
            w = 100 * _width(r, "reduction_p2_5", "reduction_p97_5")
            items.append(f"<li><code>{_e(r['scenario'])}</code>: "
                         f"{_e(format_number(100 * r['reduction_mean'], w))}% (paired 95% "
                         f"interval {_e(format_number(100 * r['reduction_p2_5'], w))}% to "
                         f"{_e(format_number(100 * r['reduction_p97_5'], w))}%)</li>")
        if items:
            parts.append("<p>Scenario changes of the hidden flows against the baseline:</p><ul>"
                         + "".join(items) + "</ul>")
    syn = _synthetic_count(results)
    if syn is not None and syn[0] > 0:
        parts.append(f'<p class="note">{syn[0]} of {syn[1]} mines in the dataset are '
                     "synthetic: these results illustrate the method and are not findings "
                     'about real mines (see <a href="#limitations">Limitations</a>).</p>')
    return "\n".join(parts)


def _synthetic_count(results: Results) -> tuple[int, int] | None:
    if results.mines is None or "synthetic" not in results.mines:
        return None
    flag = results.mines["synthetic"].astype(str).str.strip().str.lower().isin(("true", "1"))
    return int(flag.sum()), len(flag)


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(obj, dict):
        out = []
        for k in sorted(obj):
            out += _flatten(obj[k], f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(obj, list) and any(isinstance(v, dict | list) for v in obj):
        out = []
        for i, v in enumerate(obj):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, str(obj))]


def _distribution_tables(results: Results) -> tuple[Table, Table]:
    p = results.parameters.copy()
    p["level"] = p["level"].astype(str)
    grouped = []
    for (lv, kind, fam), d in p.groupby(["level", "kind", "family"], sort=True, dropna=False):
        ex = d.iloc[0]
        grouped.append((str(lv), str(kind), str(fam), str(len(d)),
                        f"{ex['name']}: {ex['dist']}"))
    t1 = Table(("level", "kind", "family", "parameters", "example (name: distribution)"),
               tuple(grouped), "lllrl", caption="Uncertain inputs by level, kind and "
               "distribution family (parameters.csv)", id="dist-summary")
    rows = []
    g = p[p["level"] != "mine"]
    has_group = "group" in g
    seen: set[str] = set()
    for r in g.to_dict("records"):
        grp = r.get("group") if has_group else None
        if r["family"] == "dirichlet" and isinstance(grp, str) and grp:
            if grp in seen:
                continue
            seen.add(grp)
            members = g[g["group"] == grp]
            rows.append((grp, r["level"], r["kind"], r["family"],
                         f"{len(members)} shares: " + ", ".join(map(str, members["name"])),
                         str(r["dist"])))
        else:
            rows.append((str(r["name"]), str(r["level"]), str(r["kind"]), str(r["family"]),
                         format_number(r["nominal"]), str(r["dist"])))
    t2 = Table(("name", "level", "kind", "family", "nominal", "distribution"), tuple(rows),
               "llllrl", caption="Every global and systematic input (a Dirichlet group as one "
               "row)", id="dist-global")
    return t1, t2


def _kv_table(pairs: Sequence[tuple[str, str]], caption: str, table_id: str) -> Table:
    return Table(("key", "value"), tuple(pairs), "ll", caption=caption, id=table_id)


def _methods_html(results: Results, figs: Mapping[str, Mapping[str, bytes]]) -> str:
    m = results.manifest
    run = _section(m, "run")
    mc = _section(run, "montecarlo")
    p = results.parameters
    n_mine_params = int((p["level"] == "mine").sum())
    n_sys = int((p["level"] == "systematic").sum())
    n_glob = int((p["level"] == "global").sum())
    mines = p["mine"].dropna().nunique() if "mine" in p else 0
    out = ["<h3>Data sources</h3>",
           f"<p>Dataset: <span class=\"mono\">{_e(m.get('dataset', 'not recorded'))}</span> "
           f"({mines} mines with uncertain parameters"
           + (f", {p['metal'].dropna().nunique()} metals" if "metal" in p else "")
           + (f", {p['country'].dropna().nunique()} countries" if "country" in p else "")
           + "). The framework follows the 2025 Nature Communications study; the archetype "
           "statistics of the default database are fitted from Jasansky et al. (2023).</p>",
           "<ol>" + "".join(f"<li>{_e(c)}</li>" for c in CITATIONS) + "</ol>",
           "<h3>Run</h3>"]
    settings = [("run name", results.run_name),
                ("description", str(run.get("description", ""))),
                ("samples", str(m.get("samples"))), ("seed", str(m.get("seed"))),
                ("chunk size", str(m.get("chunk_size"))),
                ("chunks", str(m.get("chunks", ""))),
                ("sampler", f"{m.get('sampler')}: "
                 f"{_SAMPLERS.get(str(m.get('sampler')), 'see the run file')}"),
                ("allocation", str(run.get("allocation", ""))),
                ("domestic country", str(run.get("domestic", ""))),
                ("per-mine uncertainty", str(mc.get("per_mine", ""))),
                ("systematic uncertainty", str(mc.get("systematic", ""))),
                ("grade-stripping correlation (Gaussian copula)",
                 str(mc.get("grade_stripping_correlation", "")))]
    for key, name in (("samples", "samples"), ("seed", "seed"), ("chunk_size", "chunk size"),
                      ("sampler", "sampler")):
        if key in mc and key in m and str(mc[key]) != str(m[key]):
            settings.append((f"{name}, run file", f"{mc[key]} (overridden on the command line "
                             f"by {m[key]})"))
    out.append(_html_table(_kv_table(settings, "Run settings (manifest.json)", "run-settings")))
    out.append("<details><summary>The resolved run file, as stored in manifest.json</summary>"
               + _html_table(_kv_table(_flatten(run), "Resolved run file", "run-file"))
               + "</details>")
    t1, t2 = _distribution_tables(results)
    out += ["<h3>Uncertain inputs</h3>",
            f"<p>{len(p)} uncertain inputs: {n_mine_params} per-mine, {n_sys} systematic and "
            f"{n_glob} global. Each is sampled as u in (0, 1) and mapped through its "
            "distribution's quantile function (Dirichlet groups jointly).</p>",
            _html_table(t1),
            "<details><summary>Every global and systematic input</summary>" + _html_table(t2)
            + "</details>",
            "<h3>Systematic and per-mine uncertainty</h3>",
            "<p>Two levels of uncertainty are sampled. <em>Per-mine</em> parameters (ore "
            "grade, stripping ratio, recovery of each mine) vary independently from mine to "
            "mine: summed over many mines their errors partly cancel. <em>Systematic</em> "
            "factors are one multiplicative bias per metal and parameter kind shared by all "
            "mines of that metal (e.g. every copper stripping ratio): they do not cancel. "
            "Global inputs (vehicle contents, battery sizes, chemistry and supply mixes as "
            "Dirichlet shares, energy intensities, hidden flow per kWh, fleet counts) act on "
            "all mines.</p>"]
    if results.sobol is not None:
        rows = []
        sob = results.sobol
        for metric in _sobol_metrics(results):
            d = sob[(sob["metric"] == metric) & (sob["level"] == "systematic")]
            pm = d[d["factor"].str.startswith("per-mine")]
            sysd = d[d["factor"].str.startswith("sys_")].sort_values("ST", ascending=False)
            if pm.empty and sysd.empty:
                continue
            cell = (_ci(pm.iloc[0]["ST"], pm.iloc[0]["ST_low"], pm.iloc[0]["ST_high"])
                    if len(pm) else "–")
            best = (f"{sysd.iloc[0]['factor']}: "
                    f"{_ci(sysd.iloc[0]['ST'], sysd.iloc[0]['ST_low'], sysd.iloc[0]['ST_high'])}"
                    if len(sysd) else "–")
            rows.append((metric, cell, best))
        if rows:
            out.append("<p>Total-order indices at the <code>systematic</code> level answer "
                       "which level matters: all per-mine parameters together as one group "
                       "against the largest single systematic factor.</p>")
            out.append(_html_table(Table(("metric", "ST of all per-mine parameters",
                                          "largest systematic factor, ST"), tuple(rows), "lll",
                                         caption="Systematic vs per-mine uncertainty",
                                         id="sys-vs-mine")))
    out += ["<h3>Monte Carlo</h3>",
            f"<p>{_e(m.get('samples'))} samples in chunks of {_e(m.get('chunk_size'))} "
            f"(seed {_e(m.get('seed'))}; {_e(_SAMPLERS.get(str(m.get('sampler')), ''))}). "
            "Each chunk's per-sample outputs are stored (samples.parquet); the summary gives "
            "the mean, standard deviation and the 2.5th, 50th and 97.5th percentiles. "
            "Scenarios are evaluated on the same random numbers as the baseline, so their "
            "changes are paired, per sample.</p>"]
    sens = _section(m, "sensitivity")
    if results.sobol is not None:
        sob = results.sobol
        methods = ", ".join(sorted(map(str, sob["ci_method"].dropna().unique()))) \
            if "ci_method" in sob else "normal"
        counts = sob[sob["metric"] == sob["metric"].iloc[0]].groupby("level").size()
        out += ["<h3>Sensitivity analysis</h3>",
                f"<p>Sobol indices from Saltelli's design with N = {_e(sens.get('n_base'))} base "
                f"samples (seed {_e(sens.get('seed'))}): first-order indices with the "
                "Saltelli et al. (2010) estimator, total-order indices with the Jansen (1999) "
                "estimator, as in SALib. Confidence intervals from "
                f"{_e(sens.get('num_resamples'))} bootstrap resamples of the rows at "
                f"confidence level {_e(sens.get('conf_level'))} (interval method: "
                f"{_e(methods)}). Factors per level: "
                + ", ".join(f"{_e(k)} {int(v)}" for k, v in counts.items())
                + ". At the mine, country, metal-kind and systematic levels the parameters of "
                "a group are moved together (group indices).</p>"]
    if results.convergence is not None:
        out += ["<h3>Convergence</h3>", "<p>Indices recomputed on the first N base samples, "
                "N doubling; the CI half-width should fall about as N<sup>-1/2</sup>.</p>",
                _html_table(_convergence_table(results))]
        for metric in _sobol_metrics(results):
            out.append(_figure_html(figs, f"convergence_{_slug(metric)}",
                                    f"Convergence of the total-order indices of {metric}: the "
                                    "five largest factors, S_T with its CI (left) and CI "
                                    "half-width (right) against the base sample size N"))
    versions, inputs = _section(m, "versions"), _section(m, "inputs")
    timings = _section(m, "timings")
    out += ["<h3>Software, inputs and timings</h3>",
            _html_table(_kv_table([(k, str(v)) for k, v in sorted(versions.items())],
                                  "Software versions", "versions")),
            _html_table(Table(("input", "sha256"), tuple((k, str(v)) for k, v in
                                                         sorted(inputs.items())), "ll",
                              caption="SHA-256 of every input file", id="inputs")),
            _html_table(_kv_table([(k, format_number(float(v), digits=1)) for k, v in
                                   sorted(timings.items()) if _is_number(v)],
                                  "Timings (s)", "timings"))]
    return "\n".join(out)


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _convergence_table(results: Results, top: int = 10) -> Table:
    conv = results.convergence
    assert conv is not None
    d = conv[conv["level"] == "parameter"]
    ns = sorted(int(n) for n in d["n"].unique())
    rows = []
    for metric in list(dict.fromkeys(d["metric"])):
        dm = d[d["metric"] == metric]
        last = dm[dm["n"] == dm["n"].max()].sort_values("ST", ascending=False).head(top)
        dm = dm[dm["factor"].isin(last["factor"])]
        widest = dm.groupby("n")["ST_conf"].max()
        rows.append((metric, *(format_number(widest[n], digits=4) if n in widest.index
                               else "–" for n in ns)))
    return Table(("metric", *(f"N = {n}" for n in ns)), tuple(rows), "l" + "r" * len(ns),
                 caption=f"Largest CI half-width of ST among the top {top} factors (parameter "
                 "level, top by ST at the largest N) against the base sample size N",
                 id="convergence")


def _results_html(results: Results, figs: Mapping[str, Mapping[str, bytes]]) -> str:
    out = [_figure_html(figs, "distributions", "Distributions of the headline metrics: "
                        "histogram of the Monte Carlo samples, 95% interval shaded, mean (solid) "
                        "and nominal value (dashed)"),
           "<h3>Every metric</h3>", _html_table(metrics_table(results)),
           _figure_html(figs, "hidden_by_metal", "Hidden flows by metal: mean, 95% interval "
                        "and nominal value"),
           _figure_html(figs, "hidden_by_country", "Hidden flows by country (largest): "
                        "domestic (filled square, shaded) and abroad (open circles)"),
           _figure_html(figs, "per_vehicle", "Hidden flow per vehicle: ICEV, PHEV, BEV")]
    return "\n".join(out)


def _sensitivity_html(results: Results, figs: Mapping[str, Mapping[str, bytes]]) -> str:
    if results.sobol is None:
        return "<p>This run has no sensitivity analysis (sensitivity.enabled = false).</p>"
    sob = results.sobol
    conf = _conf_label(results)
    par = sob[sob["level"] == "parameter"]
    reach = int((par["ST_low"] <= 0).sum())
    straddle = int(((par["S1_low"] < 0) & (par["S1_high"] > 0)).sum())
    out = [f"<p>Total-order indices (S<sub>T</sub>: the share of the output variance that "
           "vanishes when an input is fixed, interactions included) lead; first-order indices "
           "(S<sub>1</sub>: the input alone) follow. An S<sub>T</sub> near S<sub>1</sub> means "
           f"the input acts additively. Intervals are bootstrap {conf} confidence intervals. "
           f"At the parameter level, {reach} of {len(par)} (metric, factor) pairs have an "
           f"S<sub>T</sub> interval reaching 0 (not resolved from zero at this N) and "
           f"{straddle} have an S<sub>1</sub> interval straddling 0; the tables flag them.</p>"]
    for metric in _sobol_metrics(results):
        out.append(f"<h3><code>{_e(metric)}</code></h3>")
        out.append(_figure_html(figs, f"sobol_{_slug(metric)}",
                                f"Sobol indices of {metric}: total order (solid) and first "
                                f"order (hatched) with {conf} CIs, largest total-order first, "
                                "at each level"))
        for lv, top in (("parameter", 10), ("systematic", 10)):
            out.append(_html_table(_level_table(results, metric, lv, top)))
        extra = "".join(_html_table(_level_table(results, metric, lv, 10))
                        for lv in ("metal-kind", "mine", "country"))
        if extra:
            out.append("<details><summary>By metal x kind, by mine and by country</summary>"
                       + extra + "</details>")
    return "\n".join(out)


def _level_table(results: Results, metric: str, level: str, top: int) -> Table:
    t = sobol_top_table(results, metrics=[metric], levels=[level], top=top,
                        table_id=f"sobol-{_slug(metric)}-{_slug(level)}")
    rows = tuple(r[2:] for r in t.rows)
    return Table(t.header[2:], rows, t.align[2:], caption=f"{metric}, level {level}: top {top} "
                 "by total-order index", id=t.id)


def _scenarios_html(results: Results, figs: Mapping[str, Mapping[str, bytes]]) -> str:
    if results.scenarios is None:
        return "<p>This run has no scenarios.</p>"
    run = _section(results.manifest, "run")
    desc = [(str(s.get("name", "")), str(s.get("description", "")),
             ", ".join(f"{k} = {v}" for k, v in sorted(s.items())
                       if k not in ("name", "description")))
            for s in run.get("scenarios", []) if isinstance(s, dict)]
    out = ["<p>Each scenario is evaluated on the same random numbers as the baseline; the "
           "change is computed per sample, (scenario - baseline) / baseline, so its interval "
           "is paired and excludes the uncertainty both share.</p>"]
    if desc:
        out.append(_html_table(Table(("scenario", "description", "switches"), tuple(desc),
                                     "lll", caption="Scenarios of the run file",
                                     id="scenario-defs")))
    out.append(_figure_html(figs, "scenarios", "Scenario changes of TMR and hidden flows with "
                            "paired 95% intervals"))
    main = [m for m in ("tmr_mt", "hidden_flows_mt", "hidden_per_vehicle_t_icev",
                        "hidden_per_vehicle_t_bev", "hidden_per_vehicle_t_phev")]
    out.append(_html_table(scenarios_table(results, main, table_id="scenarios-main")))
    out.append("<details><summary>Every scenario metric</summary>"
               + _html_table(scenarios_table(results)) + "</details>")
    return "\n".join(out)


def _limitations_html(results: Results) -> str:
    out = []
    syn = _synthetic_count(results)
    if syn is not None and syn[0] > 0:
        out.append(f'<p class="note"><strong>Synthetic database.</strong> {syn[0]} of {syn[1]} '
                   "mines in this run's dataset are synthetic (illustrative rows generated from "
                   "archetype statistics and calibrated to the study's published totals); no "
                   "row is a real mine. The results show how uncertainty propagates; they are "
                   "not findings about real mines or countries.</p>")
    elif syn is None:
        out.append("<p>The dataset's mines.csv was not available when this report was made; "
                   "whether its mines are synthetic is not known here. The default database "
                   "shipped with the toolkit is synthetic.</p>")
    out.extend(f"<p>{_e(n)}</p>" for n in results.notes)
    if results.calibration is not None:
        c = results.calibration
        rows = tuple((str(r["knob"]), format_number(float(r["value"])), str(r["target_metric"]),
                      format_number(float(r["target"])), format_number(float(r["achieved"])))
                     for r in c.to_dict("records"))
        out.append("<p>Calibrated values of the dataset (calibration.csv): each knob was solved "
                   "to reproduce one of the study's results at nominal values.</p>")
        out.append(_html_table(Table(("knob", "value", "target metric", "target", "achieved"),
                                     rows, "lrlrr", caption="Calibration", id="calibration")))
    t = study_targets_table(results)
    failing = [r[0] for r in t.rows if r[5] == "no"]
    out.append("<p>The study's headline results against this run. Targets not calibrated are "
               "outcomes of the data; "
               + (f"those that do not hold at nominal values: {_e('; '.join(failing))}."
                  if failing else "all hold at nominal values.") + "</p>")
    out.append(_html_table(t))
    corr = _section(_section(results.manifest, "run"), "montecarlo").get(
        "grade_stripping_correlation", 0.0)
    out.append("<ul><li>Inputs are independent except within Dirichlet groups and the "
               f"grade-stripping copula (correlation {_e(corr)}); shared biases beyond one per "
               "metal and parameter kind are not modelled.</li>"
               "<li>Percentiles and indices carry Monte Carlo error: see the sample counts and "
               "the convergence section; indices of ratio metrics depend on both numerator and "
               "denominator.</li>"
               "<li>Allocation at multi-product mines and the hidden flow per kWh of process "
               "energy are modelling choices (run file); they scale whole metals.</li></ul>")
    return "\n".join(out)


def render_html(results: Results, figs: Mapping[str, Mapping[str, bytes]]) -> str:
    """The self-contained report: figures as base64 PNG, CSS inline, no scripts, no links.

    Parameters
    ----------
    results : Results
    figs : mapping
        :func:`render_figures`'s output (only the PNGs are used).

    Returns
    -------
    str
        An HTML5 document. A Content-Security-Policy forbids every external resource and
        every script.
    """
    m = results.manifest
    title = f"Uncertainty report: {results.run_name}"
    sections: list[tuple[str, str, Callable[[], str]]] = [
        ("summary", "Summary", lambda: _summary_html(results)),
        ("methods", "Methods", lambda: _methods_html(results, figs)),
        ("results", "Results", lambda: _results_html(results, figs)),
        ("sensitivity", "Sensitivity", lambda: _sensitivity_html(results, figs)),
        ("scenarios", "Scenarios", lambda: _scenarios_html(results, figs)),
        ("limitations", "Limitations", lambda: _limitations_html(results)),
    ]
    body = [f'<section id="{sid}"><h2>{_e(name)}</h2>\n{make()}\n</section>'
            for sid, name, make in sections]
    version = _section(m, "versions").get("uncertainty", "")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        f"<p>{_e(_section(m, 'run').get('description', ''))}</p>",
        "<nav>" + "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
        + "</nav></header>",
        "<main>", *body, "</main>",
        f"<footer>Generated by uncertainty {_e(version)} from the results in "
        f'<span class="mono">{_e(results.out_dir)}</span> (manifest.json, summary.csv, '
        "sobol.csv, scenarios.csv, parameters.csv). Tables: tables/*.md, tables/*.tex; "
        "figures: figures/*.png, figures/*.svg.</footer>",
        "</body></html>", ""])


# ------------------------------------------------------------------ writer
def write_report(out_dir: str | Path) -> Path:
    """Render figures, tables and ``report.html`` into an out folder; return the HTML path.

    Everything is read, checked and rendered in memory first; a missing or corrupt
    result raises :class:`~uncertainty.store.ResultsError` (naming the file) before any
    file is written. Files are written atomically through :mod:`uncertainty.store`:
    ``figures/<name>.png`` and ``.svg``, ``tables/{metrics,sobol_top,scenarios}.{md,tex}``,
    ``report.html``.
    """
    out = Path(out_dir)
    results = load_results(out)
    figs = render_figures(results)
    tables = {"metrics": metrics_table(results), "sobol_top": sobol_top_table(results),
              "scenarios": scenarios_table(results)}
    texts = {f"tables/{k}.md": render_markdown(t) for k, t in tables.items()}
    texts.update({f"tables/{k}.tex": render_latex(t) for k, t in tables.items()})
    page = render_html(results, figs)
    for name, fmts in figs.items():
        for fmt, data in fmts.items():
            store.write_bytes(out / "figures" / f"{name}.{fmt}", data)
    for rel, text in texts.items():
        store.write_text(out / rel, text)
    return store.write_text(out / "report.html", page)
