"""Tables of a run's results, and the one number formatter every table uses.

:func:`format_number` rounds a value to the digits its 95% interval supports (two
significant digits of the interval width), so ``report.html``, ``tables/*.md``,
``tables/*.tex`` and ``summary.csv`` agree at the precision shown. A :class:`Table`
renders as Markdown, LaTeX (booktabs) or HTML; text from data and run files is escaped
for its target (:func:`escape_markdown`, :func:`escape_latex`, :func:`html.escape`).
Unicode bidirectional control characters (:data:`BIDI_CONTROLS`) cannot reorder a table:
Markdown and LaTeX show them as their code point (``<U+202E>``, :func:`show_bidi`), HTML
text isolates them in ``<bdi>``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from uncertainty.metrics import metric_unit
from uncertainty.report.results import LEVELS, Results, _conf_label
from uncertainty.report.text import BIDI_CONTROLS, show_bidi

__all__ = [
    "BIDI_CONTROLS",
    "PRIORITY_METRIC",
    "PRIORITY_TOP",
    "STUDY_TARGETS",
    "Table",
    "decimals",
    "escape_latex",
    "escape_markdown",
    "format_number",
    "html_attr",
    "metrics_table",
    "priorities_table",
    "proof_table",
    "provenance_table",
    "render_latex",
    "render_markdown",
    "scenarios_table",
    "show_bidi",
    "sobol_top_table",
    "study_targets_table",
]  # fmt: skip

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


#: The metric and the number of units the report shows of ``priorities.csv``.
PRIORITY_METRIC = "hidden_flows_mt"
PRIORITY_TOP = 20


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
        two significant digits of it (:func:`decimals`). A width below 1e-9 of the value
        (a constant up to rounding) counts as no interval.
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
    if width is not None and math.isfinite(width) and width <= 1e-9 * abs(value):
        width = None  # a constant up to rounding (e.g. a fixed change): no interval to go by
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
    """Text safe in a Markdown table cell: bidirectional controls shown as code points
    (:func:`show_bidi`; in the file ``&lt;U+202E&gt;``, rendered ``<U+202E>``), HTML
    characters as entities, Markdown escaped."""
    t = html.escape(show_bidi(text), quote=False)
    t = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), t)
    return t.replace("\n", " ")


def escape_latex(text: object) -> str:
    """Text safe in LaTeX text mode: bidirectional controls shown as code points
    (:func:`show_bidi`, e.g. ``\\textless{}U+202E\\textgreater{}``), every special
    character replaced."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)],
                         show_bidi(text)).replace("\n", " ")


def _e(text: object) -> str:
    """HTML text content: escaped, and isolated in ``<bdi>`` when it holds a
    bidirectional control character (the page's CSS isolates cells and headings too)."""
    t = html.escape(str(text), quote=True)
    return f"<bdi>{t}</bdi>" if show_bidi(t) != t else t


def html_attr(text: object) -> str:
    """An HTML attribute value or ``<title>`` text (no markup allowed there): escaped,
    bidirectional controls shown as code points."""
    return html.escape(show_bidi(text), quote=True)


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
    ident = f' id="{html_attr(table.id)}"' if table.id else ""
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
        rows.append((str(r["metric"]), metric_unit(str(r["metric"])),
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
        rows.append((str(r["scenario"]), str(r["metric"]), metric_unit(str(r["metric"])),
                     *(format_number(r[c], w) for c in ("nominal", "mean", "p2_5", "p97_5")),
                     *(format_number(100 * float(r[c]), rw)
                       for c in ("reduction_mean", "reduction_p2_5", "reduction_p97_5"))))
    return Table(("scenario", "metric", "unit", "nominal", "mean", "2.5%", "97.5%",
                  "change (%)", "change 2.5% (%)", "change 97.5% (%)"), tuple(rows),
                 "lllrrrrrrr", caption="Scenarios: values and paired changes against the "
                 "baseline on common random numbers (mean and 95% interval of the per-sample "
                 "change)", id=table_id)


def provenance_table(results: Results) -> Table:
    """The ``provenance`` level: per metric, S1 and ST of all per-site values of each
    provenance together (empty when the run did not compute that level)."""
    sob = results.sobol
    conf = _conf_label(results)
    rows = []
    if sob is not None:
        d = sob[(sob["level"] == "provenance") & sob["factor"].astype(str).str.startswith(
            "per-site: ")]
        for r in d.sort_values(["metric", "ST"], ascending=[True, False],
                               kind="stable").to_dict("records"):
            rows.append((str(r["metric"]), str(r["factor"])[len("per-site: "):],
                         _ci(r["S1"], r["S1_low"], r["S1_high"]),
                         _ci(r["ST"], r["ST_low"], r["ST_high"])))
    return Table(("metric", "provenance", f"S1 [{conf} CI]", f"ST [{conf} CI]"), tuple(rows),
                 "llll", caption="Variance shares by provenance: S1, the share removed if "
                 "every per-site value of that provenance were known exactly; ST, the share "
                 "it takes part in (level provenance)", id="sobol-provenance")


def priorities_table(results: Results, metric: str = PRIORITY_METRIC,
                     top: int = PRIORITY_TOP) -> Table:
    """The top ``top`` data-collection priorities of ``metric`` (``priorities.csv``)."""
    pri = results.priorities
    conf = _conf_label(results)
    rows = []
    names = results.mine_names
    if pri is not None:
        d = pri[pri["metric"] == metric].sort_values("rank", kind="stable").head(top)
        for r in d.to_dict("records"):
            uid = str(r["id"])
            label = f"{uid} ({names[uid]})" if r["unit"] == "site" and uid in names else uid
            v, c = float(r["variance_reduction"]), float(r["variance_reduction_conf"])
            rows.append((str(int(r["rank"])), label, str(r["unit"]), str(r["metal"]),
                         str(r["country"]), str(r["provenance"]),
                         _ci(v, v - c, v + c),
                         format_number(100 * float(r["interval_width_reduction"]), digits=1)))
    return Table(("rank", "site or metal, country", "unit", "metal", "country", "provenance",
                  f"variance reduction [{conf} CI]", "interval narrowing (%)"), tuple(rows),
                 "rlllllll", caption=f"What to measure next for {metric}: the expected share "
                 "of its variance removed by measuring the unit's non-reported values exactly "
                 "(first-order Sobol index of the unit's values) and the expected narrowing of "
                 f"its 95% interval, 1 - sqrt(1 - S1); top {top} (priorities.csv)",
                 id=f"priorities-{_slug(metric)}")


def proof_table(results: Results) -> Table:
    """Predicted against observed variance reductions (``proof.csv``)."""
    pr = results.proof
    rows = []
    names = results.mine_names
    if pr is not None:
        for r in pr.to_dict("records"):
            site = str(r["site"])
            label = f"{site} ({names[site]})" if site in names else site
            p, pc = float(r["predicted"]), float(r["predicted_conf"])
            o, os_ = float(r["observed"]), float(r["observed_se"])
            rep = float(r.get("observed_reported", float("nan")))
            rep_se = float(r.get("observed_reported_se", float("nan")))
            rows.append((label, _ci(p, p - pc, p + pc),
                         _ci(o, o - 1.96 * os_, o + 1.96 * os_),
                         _ci(rep, rep - 1.96 * rep_se, rep + 1.96 * rep_se)
                         if math.isfinite(rep) else "–",
                         str(int(r["n_draws"])), str(r.get("agrees", ""))))
    return Table(("site", "predicted [CI]", "observed, exact [95% CI]",
                  "observed, reported spread [95% CI]", "draws", "agrees"), tuple(rows),
                 "llllrl", caption="The proof: variance reduction of hidden flows predicted by "
                 "the first-order index against the reduction observed when the site is "
                 "measured in a re-run Monte Carlo on the same random numbers, averaged over "
                 "the measured values drawn (proof.csv)", id="proof")


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


def _level_title(level: str, top: int) -> str:
    return {
        "parameter": f"by parameter (top {top})",
        "systematic": f"systematic factors and all per-mine parameters (top {top})",
        "metal-kind": f"by metal x parameter kind, all mines together (top {top})",
        "mine": f"by mine (a co-product site as one), its parameters together (top {top})",
        "country": f"by country, each country's mines together (top {top})",
        "provenance": f"by provenance, all per-site values of one provenance together "
                      f"(top {top})",
    }.get(level, f"by {level} (top {top})")


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)
