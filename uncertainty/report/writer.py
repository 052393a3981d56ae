"""The reviewer report: ``report.html``, Markdown and LaTeX tables, figures.

The parts: :mod:`uncertainty.report.results` (loading an out folder), :mod:`uncertainty.report.tables`
(the number formatter and every table), :mod:`uncertainty.report.html` (the page); this
module renders the figures, writes everything, and re-exports the public names.

:func:`load_results` reads an out folder (and raises
:class:`~uncertainty.store.ResultsError` naming the first missing or corrupt file);
everything else here is a pure function from the loaded :class:`Results` to text or
bytes; :func:`write_report` is the one writer. It checks and renders everything in
memory first, so a folder with bad results gets nothing written, not half a report.

Every number shown comes from one formatter, :func:`format_number`, which rounds a value
to the digits its 95% interval supports (two significant digits of the interval width),
so ``report.html``, ``tables/*.md``, ``tables/*.tex`` and ``summary.csv`` agree at the
precision shown. All text from data and run files is escaped for its target
(:func:`html.escape`, :func:`escape_markdown`, :func:`escape_latex`); a Unicode
bidirectional control character in it is isolated in ``<bdi>`` in HTML and written as
its code point (``<U+202E>``) in Markdown, LaTeX, figure texts and file metadata.

The output is a function of the stored results and the software versions only: the
same results give the same bytes, whatever the invocation that computed them did (its
timings, the chunks it computed, its Dask workers are in ``manifest.json``, not in the
report), and no file carries a date or an absolute path.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from uncertainty import outputs, store
from uncertainty.report import figures
from uncertainty.report.html import CITATIONS, render_html
from uncertainty.report.results import (
    LEVELS,
    Results,
    _section,
    _sobol_metrics,
    load_results,
)
from uncertainty.report.tables import (
    PRIORITY_METRIC,
    PRIORITY_TOP,
    STUDY_TARGETS,
    Table,
    _group_factors,
    _level_title,
    _slug,
    decimals,
    escape_latex,
    escape_markdown,
    format_number,
    metrics_table,
    priorities_table,
    render_latex,
    render_markdown,
    scenarios_table,
    show_bidi,
    sobol_top_table,
    study_targets_table,
)

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
    "priorities_table",
    "render_figures",
    "render_html",
    "render_latex",
    "render_markdown",
    "scenarios_table",
    "sobol_top_table",
    "study_targets_table",
    "write_report",
]

# ------------------------------------------------------------------ figures
def render_figures(results: Results, *, dpi: float = 150, svg: bool = True
                   ) -> dict[str, dict[str, bytes]]:
    """Every report figure rendered in memory: ``{name: {"png": bytes, "svg": bytes}}``.

    Each file's metadata names the run, sample count, seed and sampler it comes from
    (bidirectional control characters as code points, :func:`show_bidi`); it holds no
    date, so the same results render to the same bytes.
    """
    out: dict[str, dict[str, bytes]] = {}
    s = results.summary
    metrics = set(s["metric"])
    man = results.manifest
    source = show_bidi(f"uncertainty {_section(man, 'versions').get('uncertainty', '')}: run "
              f"{results.run_name}, {man.get('samples')} samples, seed {man.get('seed')}, "
              f"sampler {man.get('sampler')}; Sobol N = "
              f"{_section(man, 'sensitivity').get('n_base', '-')}")

    def keep(name: str, fig: Any) -> None:
        out[name] = {"png": figures.render(fig, "png", dpi=dpi, description=source)}
        if svg:
            out[name]["svg"] = figures.render(fig, "svg", description=source)

    with figures.style():
        # a metric the data cannot define (all NaN: a fleet without NEVs) has no figure
        head = [m for m in figures.HEADLINE_METRICS if m in metrics and m in results.samples
                and np.isfinite(results.samples[m].to_numpy(dtype=float)).any()]
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
        pri = results.priorities
        if pri is not None and (pri["metric"] == PRIORITY_METRIC).any():
            n = min(PRIORITY_TOP, int((pri["metric"] == PRIORITY_METRIC).sum()))
            fig, ax = figures.new_figure(figsize=(7.4, 1.2 + 0.26 * n))
            conf = float(_section(results.manifest, "sensitivity").get("conf_level", 0.95))
            figures.plot_priorities(pri, metric=PRIORITY_METRIC, top=PRIORITY_TOP,
                                    labels=results.mine_names or None, conf_level=conf, ax=ax)
            keep(f"priorities_{_slug(PRIORITY_METRIC)}", fig)
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


# ------------------------------------------------------------------ writer
def write_report(out_dir: str | Path) -> Path:
    """Render figures, tables and ``report.html`` into an out folder; return the HTML path.

    Everything is read, checked and rendered in memory first; a missing or corrupt
    result raises :class:`~uncertainty.store.ResultsError` (naming the file) before any
    file is written. Files are written atomically through :mod:`uncertainty.store`:
    ``figures/<name>.png`` and ``.svg``, ``tables/{metrics,sobol_top,scenarios}.{md,tex}`` (and ``priorities`` when the run
    has ``priorities.csv``),
    ``report.html``. None of them shows what the invocation that computed the results
    did (``manifest.json``'s ``timings`` and ``execution``), so two identical runs, or a
    run and its ``--resume``, give the same bytes.
    """
    out = Path(out_dir)
    results = load_results(out)
    figs = render_figures(results)
    tables = {"metrics": metrics_table(results), "sobol_top": sobol_top_table(results),
              "scenarios": scenarios_table(results)}
    if results.priorities is not None:
        tables["priorities"] = priorities_table(results)
    texts = {f"tables/{k}.md": render_markdown(t) for k, t in tables.items()}
    texts.update({f"tables/{k}.tex": render_latex(t) for k, t in tables.items()})
    page = render_html(results, figs)
    for name, fmts in figs.items():
        for fmt, data in fmts.items():
            store.write_bytes(out / "figures" / f"{name}.{fmt}", data)
    for rel, text in texts.items():
        store.write_text(out / rel, text)
    return store.write_text(out / outputs.REPORT.name, page)
