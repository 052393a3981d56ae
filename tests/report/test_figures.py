"""Figure functions: axes in, axes out, units on every axis, no pyplot state left behind."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from uncertainty.report import figures


def _summary() -> pd.DataFrame:
    rows = [("hidden_flows_mt_copper", 409.0, 434.0, 240.0, 722.0),
            ("hidden_flows_mt_iron", 376.0, 407.0, 251.0, 637.0),
            ("hidden_flows_mt_rare_earths", 1.49, 1.59, 0.76, 2.98),
            ("hidden_flows_mt_country_chn", 380.0, 418.0, 266.0, 684.0),
            ("hidden_flows_mt_country_aus", 176.0, 187.0, 130.0, 266.0),
            ("hidden_flows_mt_country_mdg", 0.003, 0.003, 1e-12, 0.026),
            ("hidden_abroad_share", 0.656, 0.649, 0.521, 0.745),
            ("hidden_per_vehicle_t_icev", 47.8, 51.3, 37.6, 70.2),
            ("hidden_per_vehicle_t_bev", 130.9, 142.8, 103.9, 195.4),
            ("hidden_per_vehicle_t_phev", 87.4, 93.5, 67.6, 130.0)]
    return pd.DataFrame(rows, columns=["metric", "nominal", "mean", "p2_5", "p97_5"])


def _sobol() -> pd.DataFrame:
    rows = [("hidden_flows_mt", f, "parameter", s1, 0.02, st, 0.01)
            for f, s1, st in (("sys_stripping[copper]", 0.23, 0.25), ("grid_hf", 0.22, 0.24),
                              ("grade[$M$]", -0.01, 0.004))]
    return pd.DataFrame(rows, columns=["metric", "factor", "level", "S1", "S1_conf", "ST",
                                       "ST_conf"])


def _convergence() -> pd.DataFrame:
    rows = [("hidden_flows_mt", "parameter", f, n, 0.2, 0.1, st, 0.08 * (64 / n) ** 0.5)
            for n in (64, 128, 256) for f, st in (("a", 0.25), ("b", 0.1))]
    return pd.DataFrame(rows, columns=["metric", "level", "factor", "n", "S1", "S1_conf", "ST",
                                       "ST_conf"])


@pytest.fixture
def ax():
    with figures.style():
        fig, ax = figures.new_figure()
        yield ax
        assert figures.render(fig, "png", dpi=40).startswith(b"\x89PNG")


def test_import_has_no_side_effects() -> None:
    code = ("import sys, uncertainty.report.figures, uncertainty.report; "
            "print('matplotlib' in sys.modules, 'seaborn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


def test_metric_units() -> None:
    assert figures.metric_unit("tmr_mt") == "Mt"
    assert figures.metric_unit("hidden_flows_mt_country_chn") == "Mt"
    assert figures.metric_unit("hidden_per_vehicle_t_bev") == "t per vehicle"
    assert figures.metric_unit("tmr_coefficient_pgm") == "t/t"
    assert figures.metric_unit("battery_metals_hidden_share_bev") == "share"
    assert figures.metric_unit("nev_to_icev_hidden_ratio") == "-"


def test_distribution(ax) -> None:
    rng = np.random.default_rng(1)
    x = pd.Series(rng.lognormal(7, 0.15, 500), name="tmr_mt")
    row = {"metric": "tmr_mt", "nominal": 1100.0, "mean": 1110.0, "p2_5": 850.0,
           "p97_5": 1450.0}
    assert figures.plot_distribution(x, row, ax=ax) is ax
    assert ax.get_xlabel() == "tmr_mt (Mt)" and ax.get_ylabel() == "density (1/Mt)"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"95% interval", "mean",
                                                                   "nominal"}


def test_sobol_top_factors_with_error_bars(ax) -> None:
    figures.plot_sobol(_sobol(), metric="hidden_flows_mt", top=2, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sys_stripping[copper]", "grid_hf"]
    assert ax.get_xlabel() == "Sobol index (-)"
    assert len(ax.patches) == 4   # ST and S1 bar per factor
    assert any(h.get_hatch() for h in ax.patches)   # S1 hatched: readable in greyscale


def test_sobol_escapes_dollar_signs(ax) -> None:
    figures.plot_sobol(_sobol(), metric="hidden_flows_mt", factors=["grade[$M$]"], ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == [r"grade[\$M\$]"]


def test_hidden_by_metal_uses_a_log_axis_when_values_span_decades(ax) -> None:
    figures.plot_hidden_by_metal(_summary(), ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["copper", "iron", "rare earths"]   # countries excluded, largest first
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "hidden flows (Mt)"


def test_hidden_by_country_marks_domestic_and_abroad(ax) -> None:
    figures.plot_hidden_by_country(_summary(), top=2, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["CHN", "AUS"]
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"domestic (CHN)", "abroad", "nominal"} <= legend
    assert "abroad (outside CHN): 65%" in ax.get_title()


def test_per_vehicle(ax) -> None:
    figures.plot_per_vehicle(_summary(), ax=ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ICEV", "PHEV", "BEV"]
    assert ax.get_ylabel() == "hidden flow (t per vehicle)"
    assert len({p.get_hatch() for p in ax.patches}) == 3


def test_scenarios(ax) -> None:
    sc = pd.DataFrame({"scenario": ["a", "a", "b", "b"],
                       "metric": ["tmr_mt", "hidden_flows_mt"] * 2,
                       "reduction_mean": [-0.34, -0.36, -0.027, -0.028],
                       "reduction_p2_5": [-0.49, -0.5, -0.043, -0.045],
                       "reduction_p97_5": [-0.22, -0.23, -0.016, -0.016]})
    figures.plot_scenarios(sc, ax=ax)
    assert "%" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlim()[0] < -50   # room for the labels beyond the whiskers


@pytest.mark.parametrize("quantity", ["ST", "halfwidth"])
def test_convergence_log2_axis(ax, quantity: str) -> None:
    figures.plot_convergence(_convergence(), metric="hidden_flows_mt", quantity=quantity, ax=ax)
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["64", "128", "256"]
    assert "(-)" in ax.get_ylabel() and "N" in ax.get_xlabel()
    if quantity == "halfwidth":
        assert ax.get_yscale() == "log"


def test_convergence_rejects_unknown_quantity(ax) -> None:
    with pytest.raises(ValueError, match=r"'quantity' must be 'ST' or 'halfwidth' \(got 'x'\)"):
        figures.plot_convergence(_convergence(), metric="hidden_flows_mt", quantity="x", ax=ax)


def test_style_restores_rcparams_and_svg_is_deterministic() -> None:
    import matplotlib as mpl

    before = dict(mpl.rcParams)
    svgs = []
    for _ in range(2):
        with figures.style():
            fig, ax = figures.new_figure()
            figures.plot_per_vehicle(_summary(), ax=ax)
            svgs.append(figures.render(fig, "svg"))
    assert svgs[0] == svgs[1]
    assert dict(mpl.rcParams) == before


def test_default_axes_is_pyplots_current_axes() -> None:
    import matplotlib.pyplot as plt

    try:
        ax = figures.plot_per_vehicle(_summary())
        assert ax is plt.gca()
    finally:
        plt.close("all")


def _results():
    from pathlib import Path

    from uncertainty.report.results import Results

    rng = np.random.default_rng(1)
    summary = _summary().assign(sd=1.0, p50=1.0, n=200)
    samples = pd.DataFrame({"hidden_flows_mt_copper": rng.lognormal(6, 0.3, 200)})
    scen = pd.DataFrame([("recycling", "tmr_mt", 1.0, 1.0, 0.9, 1.1, -0.35, -0.4, -0.3),
                         ("recycling", "hidden_flows_mt", 1.0, 1.0, 0.9, 1.1, -0.36, -0.4, -0.3)],
                        columns=["scenario", "metric", "nominal", "mean", "p2_5", "p97_5",
                                 "reduction_mean", "reduction_p2_5", "reduction_p97_5"])
    return Results(Path("out/x"), {"run": {"name": "x"}}, summary, pd.DataFrame(), samples,
                   sobol=_sobol(), convergence=_convergence(), scenarios=scen)


def test_the_figures_are_reachable_from_loaded_results() -> None:
    res = _results()
    assert repr(res) == "<Results of 'x': 10 metrics, 200 samples, Sobol indices, 1 scenario(s)>"
    with figures.style():
        for ax in (res.plot_distribution("hidden_flows_mt_copper"),
                   res.plot_sobol("hidden_flows_mt"), res.plot_convergence("hidden_flows_mt"),
                   res.plot_hidden_by_metal(), res.plot_hidden_by_country(),
                   res.plot_per_vehicle(), res.plot_scenarios()):
            assert ax.get_figure() is not None
            ax.get_figure().clf()


def test_results_without_a_table_say_so() -> None:
    from uncertainty.store import ResultsError

    res = _results()
    with pytest.raises(ResultsError, match="no samples of 'tmr_mt'"):
        res.plot_distribution("tmr_mt")
    from dataclasses import replace

    with pytest.raises(ResultsError, match="holds no sobol results"):
        replace(res, sobol=None).plot_sobol("hidden_flows_mt")
