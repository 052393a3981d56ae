"""The HTML of ``report.html``: a self-contained page (embedded figures, no scripts,
a Content-Security-Policy) with the summary, the methods generated from the run, the
results, the sensitivity, the scenarios and the limitations; pure functions from the
loaded :class:`~uncertainty.report.results.Results` and rendered figures to text.

The page depends on the stored results, settings, input hashes and software versions
only: it shows no timings, no counts of what an invocation computed, no date and no
absolute path (a folder's name only), so identical runs give identical bytes; the text
says that an invocation's timings are in ``manifest.json``. Text from data and run files
is isolated: escaped by :func:`~uncertainty.report.tables._e` (``<bdi>`` around text holding a
bidirectional control character), and the CSS gives cells, captions, headings, list
items and inline spans ``unicode-bidi: isolate``; attributes and the title show such
characters as code points (:func:`~uncertainty.report.tables.html_attr`)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from uncertainty.report import figures
from uncertainty.report.results import Results, _conf_label, _section, _sobol_metrics
from uncertainty.report.tables import (
    PRIORITY_METRIC,
    PRIORITY_TOP,
    Table,
    _ci,
    _e,
    _html_table,
    _slug,
    _sobol_rows,
    _width,
    format_number,
    html_attr,
    metrics_table,
    priorities_table,
    proof_table,
    provenance_table,
    scenarios_table,
    sobol_top_table,
    study_targets_table,
)

__all__ = ["CITATIONS", "render_html"]

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


_SAMPLERS = {
    "philox": "counter-based Philox4x32-10 uniforms, a pure function of (seed, sample "
              "index, parameter index), so results do not depend on chunking or threads",
    "sobol": "scrambled Sobol points (scipy.stats.qmc), extendable in pieces",
}



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
th,td,caption,li,h1,h2,h3,figcaption,code,.key,.mono{unicode-bidi:isolate}
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
    return (f'<figure id="fig-{html_attr(name)}"><img alt="{html_attr(caption)}" '
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


def _folder_name(path: object) -> str:
    """A folder's name only (the dataset's, the out folder's): a report is shared, and
    absolute paths of the machine it was made on say nothing to its readers (the
    manifest keeps the dataset's)."""
    if not path:
        return "not recorded"
    text = str(path)
    name = (PureWindowsPath(text) if "\\" in text else PurePosixPath(text)).name
    return name or text


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
           f"<p>Dataset: <span class=\"mono\">{_e(_folder_name(m.get('dataset')))}</span> "
           "(its full path and its files' SHA-256 in manifest.json) "
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
               + _html_table(_kv_table([(k, _folder_name(v) if k == "dataset" else v)
                                        for k, v in _flatten(run)], "Resolved run file",
                                       "run-file"))
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
    if results.priorities is not None:
        out += ["<h3>Data-collection priorities and their proof</h3>",
                "<p>For every site whose grade, stripping ratio or recovery is not reported "
                "for the study year (other_year, imputed or synthetic), the expected share of "
                "a metric's variance removed if those values were measured exactly is the "
                "first-order Sobol index of that group of parameters, V[E(Y | X<sub>site</sub>)]"
                " / V(Y). It is estimated on the same radial Saltelli design, with one factor "
                "per such site, one per metal and country of synthetic production (its "
                "synthetic rows together) and one for everything else; its interval is the "
                "bootstrap interval of S<sub>1</sub>. The expected narrowing of the 95% "
                "interval, 1 - sqrt(1 - S<sub>1</sub>), is exact when the output's shape "
                "does not change when the site is known (a location-scale output) and an "
                "approximation otherwise (priorities.csv).</p>",
                "<p>The proof (<code>uncertainty priorities RUN --proof K</code>, "
                "proof.csv): for each of the top K sites, a value of each non-reported "
                "parameter is drawn from its own distribution, the distribution is replaced "
                "by the measured value and the Monte Carlo re-run on the same random numbers; "
                "averaged over the draws, the observed reduction 1 - V(Y | measured) / V(Y) "
                "equals S<sub>1</sub> by the law of total variance, whatever the model. A "
                "measurement with the reported-level spread (the year-to-year spread of one "
                "facility) around the drawn value leaves the site part of its variance, so its "
                "observed reduction is systematically smaller, by about S<sub>1</sub> times "
                "(reported log-sd / prior log-sd)<sup>2</sup>.</p>"]
        if results.proof is not None and len(results.proof):
            out.append(_html_table(proof_table(results)))
        else:
            out.append("<p>This out folder has no proof.csv (the proof is not part of a run: "
                       "it re-runs the Monte Carlo many times).</p>")
    versions, inputs = _section(m, "versions"), _section(m, "inputs")
    out += ["<h3>Software and inputs</h3>",
            "<p>The same inputs and settings give this page byte for byte; what an invocation "
            "did (its timings, the chunks it computed, its Dask workers) is recorded in "
            "<code>manifest.json</code> only.</p>",
            _html_table(_kv_table([(k, str(v)) for k, v in sorted(versions.items())],
                                  "Software versions", "versions")),
            _html_table(Table(("input", "sha256"), tuple((k, str(v)) for k, v in
                                                         sorted(inputs.items())), "ll",
                              caption="SHA-256 of every input file", id="inputs"))]
    return "\n".join(out)


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


_PROV = ("reported", "other_year", "imputed", "synthetic")
_VALUES = (("grade", "grade"), ("stripping_ratio", "stripping ratio"),
           ("mill_recovery", "recovery"))


def _data_html(results: Results) -> str:
    """What the mine data rests on: real facilities or synthetic mines, and per metal the
    provenance of grade, stripping ratio and recovery (coverage.csv, provenance.csv)."""
    out: list[str] = []
    prov, cov = results.provenance, results.coverage
    if prov is not None and len(prov):
        site = prov[prov["value"] == "site"].set_index("provenance")["share"]
        real = float(site.get("real", float("nan")))
        syn = _synthetic_count(results)
        count = f"{syn[1] - syn[0]:,} of {syn[1]:,} mine rows are real facilities; " \
            if syn is not None else ""
        out.append(f"<p>{count}they carry {100 * real:.1f}% of the mines' "
                   "hidden flows at nominal values; synthetic archetype mines carry "
                   f"{100 * (1 - real):.1f}%. Hidden flows by where each "
                   "value came from (a row's least known value for <em>row</em>):</p>")
        rows = []
        for value, label in (*_VALUES, ("row", "row")):
            d = prov[prov["value"] == value].set_index("provenance")["share"]
            rows.append((label, *(f"{100 * float(d.get(p, 0.0)):.1f}%" for p in _PROV)))
        out.append(_html_table(Table(("value", *_PROV), tuple(rows), "lrrrr",
                                     caption="Share of the nominal mine hidden flows by "
                                     "provenance (provenance.csv)", id="data-provenance")))
    if cov is not None and len(cov):
        rows = []
        for r in cov.to_dict("records"):
            cells = []
            for value, _ in _VALUES:
                cells.append(" / ".join(f"{100 * float(r.get(f'{value}:{p}', 0.0)):.0f}"
                                        for p in _PROV))
            rows.append((str(r["metal"]), str(int(r["sites"])), str(int(r["rows"])),
                         f"{float(r['production_t']):,.0f}", *cells))
        out.append(_html_table(Table(
            ("metal", "sites", "rows", "production (t)",
             *(f"{label} % r / o / i / s" for _, label in _VALUES)), tuple(rows), "lrrrlll",
            caption="Coverage by metal: share of production whose value is reported / "
            "other_year / imputed / synthetic (coverage.csv)", id="data-coverage")))
    if not out:
        out.append("<p>This run's out folder has no coverage.csv or provenance.csv.</p>")
    return "\n".join(out)


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
    out += _provenance_html(results)
    out += _priorities_html(results, figs)
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


def _provenance_html(results: Results) -> list[str]:
    """The provenance level: how much of the variance rests on imputed (or other) values."""
    sob = results.sobol
    if sob is None:
        return []
    d = sob[(sob["level"] == "provenance") & sob["factor"].astype(str).str.startswith(
        "per-site: ")]
    if d.empty:
        return []
    metric = PRIORITY_METRIC if (d["metric"] == PRIORITY_METRIC).any() else d["metric"].iloc[0]
    dm = d[d["metric"] == metric].set_index("factor")
    parts = []
    for prov in ("imputed", "synthetic", "other_year", "reported"):
        key = f"per-site: {prov}"
        if key in dm.index:
            r = dm.loc[key]
            parts.append(f"{prov} values S<sub>1</sub> {100 * float(r['S1']):.1f}% "
                         f"[{100 * float(r['S1_low']):.1f}, {100 * float(r['S1_high']):.1f}], "
                         f"S<sub>T</sub> {100 * float(r['ST']):.1f}%")
    return ["<h3>Uncertainty by provenance</h3>",
            f"<p>Of the variance of <code>{_e(metric)}</code>, the per-site values carry, by "
            "where they came from: " + "; ".join(parts) + ". S<sub>1</sub> is the share "
            "that would go if every value of that provenance were known exactly.</p>",
            _html_table(provenance_table(results))]


def _priorities_html(results: Results, figs: Mapping[str, Mapping[str, bytes]]) -> list[str]:
    pri = results.priorities
    if pri is None:
        return []
    if not (pri["metric"] == PRIORITY_METRIC).any():
        return ["<h3>What to measure next</h3>", "<p>priorities.csv has no rows for "
                f"<code>{PRIORITY_METRIC}</code> (every value reported, or the metric not "
                "among the sensitivity metrics).</p>"]
    return ["<h3>What to measure next</h3>",
            "<p>The sites (and synthetic metal-country productions) whose measurement would "
            f"narrow <code>{PRIORITY_METRIC}</code> most: the expected share of its variance "
            "removed by measuring the unit's non-reported values exactly, with its bootstrap "
            "interval, and the expected narrowing of the 95% interval (Methods: data-collection "
            "priorities; every metric in priorities.csv).</p>",
            _figure_html(figs, f"priorities_{_slug(PRIORITY_METRIC)}",
                         f"Data-collection priorities for {PRIORITY_METRIC}: expected share "
                         f"of the variance removed, top {PRIORITY_TOP}, with CIs"),
            _html_table(priorities_table(results))]


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
        rows = tuple((str(r["knob"]), format_number(float(r["value"])),
                      format_number(float(r["low"])), format_number(float(r["high"])),
                      str(r["at_bound"]) if isinstance(r["at_bound"], str) else "")
                     for r in results.calibration.to_dict("records"))
        out.append("<p>Calibrated values of the dataset (calibration.csv, fitted by "
                   "<code>uncertainty calibrate</code> within the bounds shown).</p>")
        out.append(_html_table(Table(("knob", "value", "low", "high", "at bound"), rows,
                                     "lrrrl", caption="Calibration knobs", id="calibration")))
    if results.calibration_targets is not None:
        rows = tuple((str(r["target"]), format_number(float(r["value"])),
                      f"[{format_number(float(r['band_low']))}, "
                      f"{format_number(float(r['band_high']))}]",
                      format_number(float(r["achieved"])),
                      "yes" if str(r["holds"]).lower() == "true" else "no")
                     for r in results.calibration_targets.to_dict("records"))
        out.append(_html_table(Table(("target", "value", "band", "achieved", "holds"), rows,
                                     "lrrrl", caption="Calibration targets",
                                     id="calibration-targets")))
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
        ("data", "Data", lambda: _data_html(results)),
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
        f"<title>{html_attr(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        f"<p>{_e(_section(m, 'run').get('description', ''))}</p>",
        "<nav>" + "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
        + "</nav></header>",
        "<main>", *body, "</main>",
        f"<footer>Generated by uncertainty {_e(version)} from the results in "
        f'<span class="mono">{_e(_folder_name(results.out_dir))}</span> (manifest.json, summary.csv, '
        "sobol.csv, scenarios.csv, parameters.csv). Tables: tables/*.md, tables/*.tex; "
        "figures: figures/*.png, figures/*.svg.</footer>",
        "</body></html>", ""])


