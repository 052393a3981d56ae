"""Figures of a run's results: seaborn/matplotlib axes-level functions.

Every ``plot_*`` function draws on one :class:`~matplotlib.axes.Axes` (a new one on the
current pyplot figure when ``ax`` is None) and returns it. They never save, and they
compute nothing beyond selecting rows: every interval drawn is read from the stored
results (``summary.csv``, ``sobol.csv``, ``scenarios.csv``, ``sobol_convergence.csv``).
Draw inside :func:`style` for the house style; :func:`new_figure` and :func:`render`
make and render figures without pyplot (no GUI backend, no global figure registry),
which is how :mod:`uncertainty.report` uses them.

The style is readable in greyscale: series differ by hatch, marker and line style, not by
colour alone. Every axis carries its unit (Mt, t per vehicle, share, ``-`` for ratios
and indices).

Importing this module imports neither matplotlib nor seaborn; they are imported when a
function is called.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from uncertainty.metrics import HEADLINE_NAMES, metric_label, metric_unit
from uncertainty.report.text import show_bidi

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "HEADLINE_METRICS",
    "metric_label",
    "metric_unit",
    "new_figure",
    "plot_convergence",
    "plot_distribution",
    "plot_hidden_by_country",
    "plot_hidden_by_metal",
    "plot_per_vehicle",
    "plot_priorities",
    "plot_scenarios",
    "plot_sobol",
    "render",
    "style",
]

#: The headline metrics, in the order figures and tables show them.
HEADLINE_METRICS: tuple[str, ...] = HEADLINE_NAMES

# greyscale-distinct inks (luminance about 20%, 45%, 70%, 85%)
_INK = "#1f1f1f"
_DARK = "#2b4f7a"
_MID = "#c07a26"
_LIGHT = "#b8b8b8"
_HATCHES = ("", "////", "..", "xx", "\\\\", "oo")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_LINES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))


def _text(s: object) -> str:
    """Text from data made safe for matplotlib: no mathtext from ``$``, and each
    bidirectional control character written as its code point, ``<U+202E>``
    (:func:`uncertainty.report.text.show_bidi`), so that an SVG text cannot be reordered."""

    return show_bidi(s).replace("$", r"\$")


def _short(s: object, n: int = 38) -> str:
    t = _text(s)
    return t if len(t) <= n else t[: n - 1] + "…"


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


@contextmanager
def style() -> Iterator[None]:
    """The house style: seaborn ``ticks`` + ``paper`` context, greyscale-safe inks.

    A context manager; rcParams are restored on exit. Deterministic SVG output (fixed
    hash salt, no date) is part of the style.
    """
    import matplotlib as mpl
    import seaborn as sns
    from cycler import cycler

    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("ticks"))
    rc.update(sns.plotting_context("paper", font_scale=1.15))
    rc.update({
        "axes.prop_cycle": cycler(color=[_DARK, _MID, _INK, "#7f7f7f", "#5b8fbf"]),
        "axes.grid": True,
        "axes.grid.axis": "both",
        "grid.color": "#e3e3e3",
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
        "axes.labelsize": 9.5,
        "xtick.labelsize": 8.5,
        "ytick.labelsize": 8.5,
        "legend.fontsize": 8,
        "legend.frameon": False,
        "hatch.linewidth": 0.6,
        "hatch.color": _INK,
        "font.family": "DejaVu Sans",
        "svg.fonttype": "none",
        "svg.hashsalt": "uncertainty",
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.05,
        "figure.dpi": 100,
    })
    with mpl.rc_context(cast(Any, rc)):
        yield


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.4, 4.0),
               **kwargs: Any) -> tuple[Figure, Any]:
    """A figure and its axes, made without pyplot (constrained layout).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : Axes or ndarray of Axes, as :meth:`Figure.subplots` returns them
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


def render(fig: Figure, fmt: str = "png", *, dpi: float = 150,
           description: str | None = None) -> bytes:
    """The figure rendered to bytes (``png`` or ``svg``), without touching the disk.

    ``description`` is stored in the file's metadata (PNG text chunk, SVG Dublin Core),
    e.g. the run, sample count and seed the figure comes from. The bytes carry no date,
    so the same figure renders to the same bytes.
    """
    buf = io.BytesIO()
    meta: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": None}
    if description:
        meta["Description"] = description
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


# ------------------------------------------------------------------ distributions
def plot_distribution(samples: pd.Series | np.ndarray, summary: Mapping[str, Any] | pd.Series,
                      *, metric: str | None = None, legend: bool = True,
                      ax: Axes | None = None) -> Axes:
    """Histogram of one metric's Monte Carlo samples with its 95% interval and nominal.

    Parameters
    ----------
    samples : Series or ndarray, shape (n,)
        The metric's per-sample values (a column of ``samples.parquet``).
    summary : mapping
        The metric's row of ``summary.csv`` (``nominal``, ``mean``, ``p2_5``, ``p97_5``;
        ``metric`` names it unless ``metric`` is given).
    metric : str, optional
        Metric name (for the title and the unit).
    legend : bool
        Draw the legend of the marked values.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    import seaborn as sns

    ax = _axes(ax)
    name = metric or str(summary.get("metric", getattr(samples, "name", "")))
    unit = metric_unit(name)
    x = np.asarray(samples, dtype=float)
    lo, hi = float(summary["p2_5"]), float(summary["p97_5"])
    ax.axvspan(lo, hi, facecolor="#dfe7f0", edgecolor=_DARK, hatch="", lw=0, zorder=0,
               label="95% interval")
    sns.histplot(x=x, stat="density", bins=60, element="step", fill=True, color=_LIGHT,
                 edgecolor="#6e6e6e", linewidth=0.7, alpha=0.9, ax=ax, zorder=1)
    for v in (lo, hi):
        ax.axvline(v, color=_DARK, lw=0.9, ls=":", zorder=2)
    ax.axvline(float(summary["mean"]), color=_DARK, lw=1.6, ls="-", label="mean", zorder=3)
    ax.axvline(float(summary["nominal"]), color=_INK, lw=1.4, ls="--", label="nominal",
               zorder=3)
    ax.set_title(_short(metric_label(name), 44))
    ax.set_xlabel(f"{_text(name)} ({unit})")
    ax.set_ylabel("density" + (f" (1/{unit})" if unit not in ("-", "share") else " (-)"))
    ax.grid(axis="y", visible=False)
    if legend:
        ax.legend(loc="upper right")
    return ax


# ------------------------------------------------------------------ sensitivity
def _interval(df: pd.DataFrame, idx: str) -> tuple[np.ndarray, np.ndarray]:
    if f"{idx}_low" in df and f"{idx}_high" in df:
        return df[f"{idx}_low"].to_numpy(float), df[f"{idx}_high"].to_numpy(float)
    c = df[f"{idx}_conf"].to_numpy(float)
    v = df[idx].to_numpy(float)
    return v - c, v + c


def plot_sobol(sobol: pd.DataFrame, *, metric: str, level: str = "parameter", top: int = 12,
               factors: Sequence[str] | None = None, labels: Mapping[str, str] | None = None,
               title: str | None = None, legend: bool = True, ax: Axes | None = None) -> Axes:
    """First-order (S1) and total-order (ST) indices with their CIs, top factors by ST.

    Parameters
    ----------
    sobol : DataFrame
        ``sobol.csv`` (metric, factor, level, S1, ST and ``*_low``/``*_high`` or
        ``*_conf``).
    metric, level : str
        The rows shown.
    top : int
        Number of factors, the largest ST first.
    factors : sequence of str, optional
        Restrict to these factors (e.g. the mine groups of the ``mine`` level).
    labels : mapping, optional
        Display names of factors.
    title : str, optional
    legend : bool
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    from matplotlib.ticker import MaxNLocator

    ax = _axes(ax)
    d = sobol[(sobol["metric"] == metric) & (sobol["level"] == level)]
    if factors is not None:
        d = d[d["factor"].isin(list(factors))]
    d = d.sort_values("ST", ascending=False, kind="stable").head(top)
    y = np.arange(len(d))
    h = 0.38
    for k, (idx, face, hatch, lab) in enumerate((("ST", _DARK, "", "total order $S_T$"),
                                                  ("S1", "white", "////",
                                                   "first order $S_1$"))):
        v = d[idx].to_numpy(float)
        lo, hi = _interval(d, idx)
        err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
        ax.barh(y + (k - 0.5) * h, v, height=h, color=face, edgecolor=_DARK, hatch=hatch,
                lw=0.8, label=lab, xerr=err,
                error_kw={"ecolor": _INK, "elinewidth": 0.9, "capsize": 2.0})
    names = [labels.get(f, f) if labels else f for f in d["factor"]]
    ax.set_yticks(y, [_short(n) for n in names])
    ax.set_ylim(len(d) - 0.5, -0.5)
    ax.axvline(0, color=_INK, lw=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel("Sobol index (-)")
    ax.grid(axis="y", visible=False)
    ax.set_title(title if title is not None else f"{_text(metric)} by {_text(level)}")
    if legend and len(d):
        ax.legend(loc="lower right")
    return ax


def plot_priorities(priorities: pd.DataFrame, *, metric: str = "hidden_flows_mt",
                    top: int = 20, labels: Mapping[str, str] | None = None,
                    conf_level: float = 0.95, ax: Axes | None = None) -> Axes:
    """Data-collection priorities: the expected variance reduction of the top units with
    its bootstrap CI (``priorities.csv``), largest first; hatched bars for synthetic
    metal-country units, solid for sites.

    Parameters
    ----------
    priorities : DataFrame
        ``priorities.csv`` (metric, unit, id, variance_reduction,
        variance_reduction_conf, rank).
    metric : str
    top : int
    labels : mapping, optional
        Display names of site ids.
    conf_level : float
        The level of the intervals, for the axis label.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    from matplotlib.ticker import MaxNLocator

    ax = _axes(ax)
    d = priorities[priorities["metric"] == metric].sort_values("rank", kind="stable").head(top)
    y = np.arange(len(d))
    v = d["variance_reduction"].to_numpy(float)
    c = d["variance_reduction_conf"].to_numpy(float)
    synthetic = (d["unit"] != "site").to_numpy()
    for mask, face, hatch, lab in ((~synthetic, _DARK, "", "site (non-reported values)"),
                                   (synthetic, "white", "////", "synthetic metal, country")):
        if mask.any():
            ax.barh(y[mask], v[mask], height=0.7, color=face, edgecolor=_DARK, hatch=hatch,
                    lw=0.8, label=lab, xerr=c[mask],
                    error_kw={"ecolor": _INK, "elinewidth": 0.9, "capsize": 2.0})
    names = []
    for unit, uid in zip(d["unit"], d["id"], strict=True):
        name = labels.get(str(uid)) if labels and unit == "site" else None
        names.append(f"{uid} ({name})" if name else str(uid))
    ax.set_yticks(y, [_short(n) for n in names])
    ax.set_ylim(len(d) - 0.5, -0.5)
    ax.axvline(0, color=_INK, lw=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(f"expected share of the variance removed, $S_1$ with {conf_level:.0%} CI (-)")
    ax.grid(axis="y", visible=False)
    ax.set_title(f"What to measure next: {_text(metric)}")
    if len(d):
        ax.legend(loc="lower right")
    return ax


def plot_convergence(convergence: pd.DataFrame, *, metric: str, level: str = "parameter",
                     factors: Sequence[str] | None = None, top: int = 5,
                     quantity: str = "ST", conf_level: float = 0.95, legend: bool = True,
                     ax: Axes | None = None) -> Axes:
    """Total-order index, or its CI half-width, against the number of base samples N.

    Parameters
    ----------
    convergence : DataFrame
        ``sobol_convergence.csv`` (metric, level, factor, n, ST, ST_conf).
    metric, level : str
    factors : sequence of str, optional
        Factors drawn; default the ``top`` largest ST at the largest N.
    top : int
    quantity : {"ST", "halfwidth"}
        ``ST`` with its CI as error bars, or the CI half-width (``ST_conf``) on log axes
        with an N^-1/2 guide line.
    conf_level : float
        For the axis label.
    legend : bool
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    if quantity not in ("ST", "halfwidth"):
        raise ValueError(f"'quantity' must be 'ST' or 'halfwidth' (got {quantity!r})")
    ax = _axes(ax)
    d = convergence[(convergence["metric"] == metric) & (convergence["level"] == level)]
    if factors is None:
        last = d[d["n"] == d["n"].max()].sort_values("ST", ascending=False, kind="stable")
        factors = list(last["factor"].head(top))
    ns: list[int] = sorted(int(n) for n in d["n"].unique())
    for i, f in enumerate(factors):
        s = d[d["factor"] == f].sort_values("n")
        n = s["n"].to_numpy(float)
        kw: dict[str, Any] = {"marker": _MARKERS[i % len(_MARKERS)], "ls": _LINES[i % len(_LINES)],
              "ms": 4.5, "lw": 1.2, "label": _short(f, 32), "mfc": "white" if i % 2 else None}
        if quantity == "ST":
            ax.errorbar(n * (1 + 0.03 * (i - len(factors) / 2)), s["ST"], yerr=s["ST_conf"],
                        capsize=2, elinewidth=0.8, **kw)
        else:
            ax.plot(n, s["ST_conf"], **kw)
    if quantity == "halfwidth" and ns and len(d):
        first = d[d["n"] == ns[0]]["ST_conf"].max()
        ref = np.asarray(ns, float)
        ax.plot(ref, first * np.sqrt(ref[0] / ref), color="#8c8c8c", lw=1.0, ls=(0, (1, 2)),
                label="$N^{-1/2}$ guide")
        ax.set_yscale("log")
        ax.set_ylabel(f"{conf_level:.0%} CI half-width of $S_T$ (-)")
    else:
        ax.axhline(0, color=_INK, lw=0.7)
        ax.set_ylabel("total-order index $S_T$ (-)")
    ax.set_xscale("log", base=2)
    if ns:
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.minorticks_off()
    ax.set_xlabel("base samples N (-)")
    ax.set_title(f"{_text(metric)}: " + ("$S_T$ against N" if quantity == "ST"
                                          else "CI half-width against N"))
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)
    elif quantity == "halfwidth":
        guide = [h for h in ax.get_lines() if h.get_label() == "$N^{-1/2}$ guide"]
        ax.legend(guide, [str(g.get_label()) for g in guide], loc="upper right")
    return ax


# ------------------------------------------------------------------ breakdowns
def _rows(summary: pd.DataFrame, prefix: str) -> pd.DataFrame:
    d = summary[summary["metric"].str.startswith(prefix)].copy()
    d["key"] = d["metric"].str.slice(len(prefix))
    return d


def _pointrange(ax: Axes, d: pd.DataFrame, y: np.ndarray, *, marker: str, face: str,
                label: str | None) -> None:
    mean = d["mean"].to_numpy(float)
    err = np.vstack([np.clip(mean - d["p2_5"].to_numpy(float), 0, None),
                     np.clip(d["p97_5"].to_numpy(float) - mean, 0, None)])
    ax.errorbar(mean, y, xerr=err, fmt=marker, color=_DARK, mfc=face, mec=_DARK, ms=6,
                elinewidth=1.2, capsize=2.5, label=label, zorder=3)
    ax.plot(d["nominal"].to_numpy(float), y, ls="none", marker="|", ms=10, mew=1.6,
            color=_INK, zorder=4, label="nominal" if label is not None else None)


def _log_if_spread(ax: Axes, values: np.ndarray) -> None:
    v = values[np.isfinite(values) & (values > 0)]
    if len(v) and v.max() / v.min() > 30:
        ax.set_xscale("log")


def plot_hidden_by_metal(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Hidden flows by metal: mean with 95% interval, nominal marked; log axis if spread.

    Parameters
    ----------
    summary : DataFrame
        ``summary.csv``; the rows ``hidden_flows_mt_<metal>`` are drawn.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    d = _rows(summary, "hidden_flows_mt_")
    d = d[~d["key"].str.startswith("country_")].sort_values("mean", ascending=False,
                                                             kind="stable")
    y = np.arange(len(d))
    _pointrange(ax, d, y, marker="o", face=_DARK, label="mean, 95% interval")
    ax.set_yticks(y, [_text(k).replace("_", " ") for k in d["key"]])
    ax.set_ylim(len(d) - 0.5, -0.5)
    _log_if_spread(ax, d[["p2_5", "p97_5"]].to_numpy(float).ravel())
    ax.set_xlabel("hidden flows (Mt)")
    ax.grid(axis="y", visible=False)
    ax.set_title("Hidden flows by metal")
    ax.legend(loc="lower right")
    return ax


def plot_hidden_by_country(summary: pd.DataFrame, *, domestic: str = "CHN", top: int = 15,
                           ax: Axes | None = None) -> Axes:
    """Hidden flows by country (the ``top`` largest), domestic and abroad marked apart.

    The domestic country is a filled square, countries abroad open circles; the share of
    hidden flows abroad (``hidden_abroad_share``, with its interval) is printed on the
    axes when the summary has it.

    Parameters
    ----------
    summary : DataFrame
        ``summary.csv``; the rows ``hidden_flows_mt_country_<iso3>`` are drawn.
    domestic : str
        ISO3 code of the domestic country.
    top : int
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    d = _rows(summary, "hidden_flows_mt_country_")
    d["key"] = d["key"].str.upper()
    d = d.sort_values("mean", ascending=False, kind="stable").head(top).reset_index(drop=True)
    y = np.arange(len(d))
    home = (d["key"] == domestic.upper()).to_numpy()
    if home.any():
        ax.axhspan(y[home][0] - 0.5, y[home][0] + 0.5, color="#efe4d2", hatch="..",
                   lw=0, zorder=0)
        _pointrange(ax, d[home], y[home], marker="s", face=_DARK,
                    label=f"domestic ({_text(domestic.upper())})")
    _pointrange(ax, d[~home], y[~home], marker="o", face="white", label="abroad")
    # one nominal entry in the legend
    handles, names = ax.get_legend_handles_labels()
    seen: dict[str, Any] = {}
    for hnd, nm in zip(handles, names, strict=True):
        seen.setdefault(nm, hnd)
    ax.set_yticks(y, [_text(k) for k in d["key"]])
    ax.set_ylim(len(d) - 0.5, -0.5)
    _log_if_spread(ax, d[["p2_5", "p97_5"]].to_numpy(float).ravel())
    ax.set_xlabel("hidden flows (Mt)")
    ax.grid(axis="y", visible=False)
    title = f"Hidden flows by country (top {len(d)})"
    ab = summary[summary["metric"] == "hidden_abroad_share"]
    if len(ab):
        r = ab.iloc[0]
        title += (f"\nabroad (outside {_text(domestic.upper())}): {r['mean']:.0%}, "
                  f"95% interval {r['p2_5']:.0%}–{r['p97_5']:.0%}")
    ax.set_title(title)
    ax.legend(list(seen.values()), [str(k) for k in seen], loc="lower right")
    return ax


def plot_per_vehicle(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Hidden flow per vehicle, ICEV vs BEV vs PHEV: bars of the mean, 95% intervals.

    Parameters
    ----------
    summary : DataFrame
        ``summary.csv``; the rows ``hidden_per_vehicle_t_<vehicle>`` are drawn.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    d = _rows(summary, "hidden_per_vehicle_t_")
    order = {"icev": 0, "phev": 1, "bev": 2}
    d = d.assign(o=d["key"].map(lambda k: order.get(k, 9))).sort_values(["o", "key"])
    x = np.arange(len(d))
    mean = d["mean"].to_numpy(float)
    err = np.vstack([np.clip(mean - d["p2_5"].to_numpy(float), 0, None),
                     np.clip(d["p97_5"].to_numpy(float) - mean, 0, None)])
    faces = [_LIGHT, "white", _DARK]
    for i in range(len(d)):
        ax.bar(x[i], mean[i], width=0.6, color=faces[i % 3], edgecolor=_INK,
               hatch=_HATCHES[i % len(_HATCHES)], lw=0.9,
               yerr=err[:, i:i + 1], capsize=4,
               error_kw={"ecolor": _INK, "elinewidth": 1.1},
               label="mean (bar), 95% interval" if i == 0 else None)
    ax.plot(x, d["nominal"].to_numpy(float), ls="none", marker="D", ms=7, mew=1.3,
            mfc="white", mec=_INK, label="nominal", zorder=4)
    ax.set_xticks(x, [_text(k).upper() for k in d["key"]])
    ax.set_ylabel("hidden flow (t per vehicle)")
    ax.set_xlabel("vehicle type (-)")
    ax.grid(axis="x", visible=False)
    ax.set_title("Hidden flow per vehicle")
    ax.legend(loc="upper left")
    return ax


def plot_scenarios(scenarios: pd.DataFrame, *,
                   metrics: Sequence[str] = ("tmr_mt", "hidden_flows_mt"),
                   ax: Axes | None = None) -> Axes:
    """Scenario changes against the baseline with paired 95% intervals (per cent).

    Parameters
    ----------
    scenarios : DataFrame
        ``scenarios.csv`` (scenario, metric, reduction_mean, reduction_p2_5,
        reduction_p97_5; reductions are (scenario - baseline) / baseline per sample).
    metrics : sequence of str
        One bar per scenario and metric.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    d = scenarios[scenarios["metric"].isin(list(metrics))]
    names = list(dict.fromkeys(d["scenario"]))
    k = max(len(metrics), 1)
    h = 0.8 / k
    faces = [_DARK, "white", _LIGHT, _MID]
    for j, m in enumerate(metrics):
        s = d[d["metric"] == m].set_index("scenario").reindex(names)
        v = 100 * s["reduction_mean"].to_numpy(float)
        err = np.vstack([np.clip(v - 100 * s["reduction_p2_5"].to_numpy(float), 0, None),
                         np.clip(100 * s["reduction_p97_5"].to_numpy(float) - v, 0, None)])
        y = np.arange(len(names)) + (j - (k - 1) / 2) * h
        ax.barh(y, v, height=h, color=faces[j % len(faces)], edgecolor=_INK,
                hatch=_HATCHES[j % len(_HATCHES)], lw=0.8, xerr=err, label=_text(m),
                error_kw={"ecolor": _INK, "elinewidth": 1.0, "capsize": 2.5})
        ends = np.where(v < 0, v - err[0], v + err[1])
        for yi, vi, end in zip(y, v, ends, strict=True):
            if math.isfinite(vi):
                ax.text(end, yi, f" {vi:.1f}% ", va="center", ha="right" if vi < 0 else "left",
                        fontsize=7.5, color=_INK)
    lo, hi = ax.get_xlim()
    span = hi - lo
    ax.set_xlim(lo - (0.12 * span if lo < 0 else 0), hi + (0.12 * span if hi > 0 else 0))
    ax.set_yticks(np.arange(len(names)), [_text(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.axvline(0, color=_INK, lw=0.8)
    ax.set_xlabel("change against baseline (%), paired 95% interval")
    ax.grid(axis="y", visible=False)
    ax.set_title("Scenarios")
    ax.legend(loc="lower left")
    return ax

