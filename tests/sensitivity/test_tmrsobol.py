"""The TMR Sobol fast path: incremental f(AB_j) against full re-evaluation (rtol 1e-12),
design extension, bad input, honest-reading tables, second order, delta, Dask.

The model is the default one restricted to the first two mines of every (metal,
country) supply group (227 mines, 887 parameters), so each test runs in seconds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uncertainty import rng
from uncertainty.config import load_run
from uncertainty.data import Dataset, load_dataset
from uncertainty.model import Scenario, build_model, evaluate
from uncertainty.sensitivity import kernel as sobolkernel
from uncertainty.sensitivity import tmr as tmrsobol
from uncertainty.space import build_space

REPO = Path(__file__).resolve().parents[2]
# every level but provenance: the default data's mines.csv states no provenance (the
# provenance level is tested in test_provenance.py)
ALL_LEVELS = (*(lv for lv in tmrsobol.LEVELS if lv != tmrsobol.PROVENANCE), tmrsobol.CUSTOM)
GROUPS = {
    "copper mines": ["grade[CU-*]", "stripping_ratio[CU-*]", "recovery[CU-*]"],
    "energy": ["energy_kwh_per_t[*]", "grid_hf_kg_per_kwh", "coal_used_kg_per_kwh"],
    "supply": ["supply[iron]", "supply[copper]"],
}


@pytest.fixture(scope="module")
def small() -> Dataset:
    ds = load_dataset(REPO / "distributions")
    mines = ds.mines.groupby(["metal", "country"], sort=False).head(2).reset_index(drop=True)
    return Dataset(ds.path, {**ds.tables, "mines": mines}, ds.hashes)


@pytest.fixture(scope="module")
def model(small):
    return build_model(small)


@pytest.fixture(scope="module")
def space(small, model):
    return build_space(None, small, model)


@pytest.fixture(scope="module")
def corr_space(small, model):
    """The grade-stripping copula on (rho = 0.6): a grade's uniform moves the stripping."""
    run = load_run(REPO / "runs" / "china-2019.toml")
    run = dataclasses.replace(run, montecarlo=dataclasses.replace(
        run.montecarlo, grade_stripping_correlation=0.6))
    return build_space(run, small, model)


@pytest.fixture(scope="module")
def design(space):
    P = space.n_params
    u = rng.sobol_points(8, 2 * P, seed=11)
    return u[:, :P], u[:, P:]


@pytest.fixture(scope="module")
def result(small):
    """All levels, two metrics, N = 256."""
    return tmrsobol.sobol(small, 256, seed=5, by=ALL_LEVELS, groups=GROUPS,
                          metrics=["hidden_to_material_ratio", "material_in_cars_mt"])


def _brute(model, space, fac, uA, uB, scenario=None, swap=False):
    """f(AB_j) (f(BA_j) with swap) by building every row and evaluating it whole."""
    base, other = (uB, uA) if swap else (uA, uB)
    n, D = base.shape[0], len(fac.names)
    rows = np.repeat(base[:, None, :], D, axis=1)
    for j, cols in enumerate(fac.columns):
        rows[:, j, cols] = other[:, cols]
    y = evaluate(model, *space.transform(rows.reshape(n * D, -1)), scenario)
    return y.reshape(n, D, -1)


# ------------------------------------------------------------ incremental = brute force
@pytest.mark.parametrize("level", ALL_LEVELS)
def test_incremental_equals_brute_force(model, space, design, level):
    uA, uB = design
    fac = tmrsobol.factors_for(space, level, GROUPS)
    metrics = list(model.metric_names)
    yA, yB, yAB = tmrsobol.ab_outputs(model, space, fac, uA, uB, metrics)
    np.testing.assert_allclose(yA, evaluate(model, *space.transform(uA)), rtol=1e-12, atol=0)
    np.testing.assert_allclose(yB, evaluate(model, *space.transform(uB)), rtol=1e-12, atol=0)
    np.testing.assert_allclose(yAB, _brute(model, space, fac, uA, uB), rtol=1e-12, atol=0)


@pytest.mark.parametrize("level", ["parameter", "custom"])
def test_headline_path_equals_brute_force(model, space, design, level):
    """Asked for headline metrics only, the kernel skips the per-metal/country ones."""
    uA, uB = design
    fac = tmrsobol.factors_for(space, level, GROUPS)
    metrics = ["hidden_abroad_share", "tmr_mt", "nev_to_icev_hidden_ratio"]
    assert set(metrics) < set(tmrsobol.HEADLINE)
    _, _, yAB = tmrsobol.ab_outputs(model, space, fac, uA, uB, metrics)
    idx = [model.metric_names.index(m) for m in metrics]
    want = _brute(model, space, fac, uA, uB)[:, :, idx]
    np.testing.assert_allclose(yAB, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("level", ["parameter", "metal-kind", "mine"])
def test_incremental_equals_brute_force_with_copula(model, corr_space, design, level):
    uA, uB = design
    fac = tmrsobol.factors_for(corr_space, level)
    metrics = list(model.metric_names)
    _, _, yAB = tmrsobol.ab_outputs(model, corr_space, fac, uA, uB, metrics)
    np.testing.assert_allclose(yAB, _brute(model, corr_space, fac, uA, uB), rtol=1e-12, atol=0)


def test_incremental_equals_brute_force_in_a_scenario(model, space, design):
    uA, uB = design
    sc = Scenario(recycled_share={"copper": 0.5}, lfp_share=0.6, clean_energy_factor=0.3)
    fac = tmrsobol.factors_for(space, "systematic")
    metrics = list(model.metric_names)
    _, _, yAB = tmrsobol.ab_outputs(model, space, fac, uA, uB, metrics, sc)
    np.testing.assert_allclose(yAB, _brute(model, space, fac, uA, uB, sc), rtol=1e-12, atol=0)


def test_ba_rows_equal_brute_force(model, space):
    fac = tmrsobol.factors_for(space, "metal-kind")
    metrics = ["hidden_to_material_ratio", "hidden_abroad_share"]
    job = tmrsobol.make_job(model, space, fac.columns, metrics, seed=2, second_order=True)
    blk = tmrsobol.evaluate_block(job, 8, 16)
    P = space.n_params
    u = rng.sobol_points(8, 2 * P, seed=2, start=8)
    want = _brute(model, space, fac, u[:, :P], u[:, P:], swap=True)
    idx = [model.metric_names.index(m) for m in metrics]
    np.testing.assert_allclose(blk.yBA.transpose(1, 2, 0), want[:, :, idx], rtol=1e-12, atol=0)


def test_levels_partition_the_uncertain_inputs(space):
    unc = np.flatnonzero((space.table.family != "fixed").to_numpy())
    for level in ALL_LEVELS:
        fac = tmrsobol.factors_for(space, level, GROUPS)
        cols = np.concatenate(fac.columns)
        assert len(cols) == len(set(cols.tolist())), level
        np.testing.assert_array_equal(np.sort(cols), unc)
    custom = tmrsobol.factors_for(space, "custom", GROUPS)
    assert custom.names == ("copper mines", "energy", "supply", tmrsobol.OTHER)
    names = space.table.name.to_numpy()
    assert all(n.startswith(("grade[CU-", "stripping_ratio[CU-", "recovery[CU-"))
               for n in names[custom.columns[0]])
    assert set(names[custom.columns[2]]) == set(
        names[(space.table.group.isin(["supply[iron]", "supply[copper]"])).to_numpy()])


# --------------------------------------------------------------------- the design
def test_stream_rows_equal_rng_sobol_points():
    s = sobolkernel._SobolStream(40, seed=9)
    got = np.vstack([s.take(0, 16), s.take(16, 16), s.take(32, 32), s.take(128, 8)])
    want = np.vstack([rng.sobol_points(64, 40, seed=9), rng.sobol_points(8, 40, seed=9,
                                                                           start=128)])
    np.testing.assert_array_equal(got, want)


def test_evaluate_block_draws_the_same_rows(model, space):
    fac = tmrsobol.factors_for(space, "country")
    job = tmrsobol.make_job(model, space, fac.columns, ["hidden_flows_mt"], seed=4)
    u = sobolkernel._SobolStream(2 * space.n_params, 4).take(0, 16)[8:]
    a = tmrsobol.evaluate_block(job, 8, 16)
    b = tmrsobol.evaluate_block(job, 8, 16, u)
    np.testing.assert_array_equal(a.yAB, b.yAB)
    np.testing.assert_array_equal(a.yA, b.yA)


def test_tol_doubles_n_and_reuses_rows(small):
    kw = dict(seed=3, by=("metal-kind", "systematic"), metrics=["hidden_flows_mt"])
    with pytest.warns(RuntimeWarning, match=r"tol = 1e-09 not reached: .* at N = max_n = 256"):
        grown = tmrsobol.sobol(small, 64, tol=1e-9, max_n=256, **kw)
    assert grown.history.n.tolist() == [64, 128, 256] and grown.tol_reached is False
    assert grown.history.widest_ST_conf.iloc[-1] < grown.history.widest_ST_conf.iloc[0]
    direct = tmrsobol.sobol(small, 256, **kw)
    assert grown.n_base == direct.n_base == 256
    pd.testing.assert_frame_equal(grown.frame, direct.frame)
    pd.testing.assert_frame_equal(grown.convergence, direct.convergence)
    stop = tmrsobol.sobol(small, 64, tol=10.0, **kw)  # met at once
    assert stop.history.n.tolist() == [64] and stop.tol_reached is True
    assert direct.tol_reached is None


def test_convergence_table_has_prefixes(result):
    c = result.convergence
    assert sorted(set(c.n)) == [64, 128, 256]
    assert list(c.columns) == ["metric", "level", "factor", "n", "S1", "S1_conf", "ST", "ST_conf"]
    last = c[(c.n == 256) & (c.level == "parameter") & (c.metric == "hidden_to_material_ratio")]
    top = result.top("hidden_to_material_ratio", 20)
    np.testing.assert_array_equal(last.factor, top.factor)
    np.testing.assert_allclose(last.ST, top.ST, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ reading the tables
def test_frame_leads_with_st_and_flags(result):
    f = result.frame
    assert list(f.columns[:7]) == ["metric", "factor", "level", "S1", "S1_conf", "ST", "ST_conf"]
    assert set(f.ci_method) == {"normal"}
    for _, g in f.groupby(["metric", "level"]):
        assert (np.diff(g.ST.to_numpy()) <= 0).all()
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
    np.testing.assert_array_equal(f.st_resolved, f.ST_low > 0)
    np.testing.assert_array_equal(f.s1_straddles_zero, (f.S1_low <= 0) & (f.S1_high >= 0))
    assert set(f.level) == set(ALL_LEVELS)


def test_a_factor_the_metric_never_sees_is_exactly_zero(result):
    """Why the noise floor is per factor: f(AB_j) == f(A) gives S1 = ST = 0, no spread."""
    f = result.frame
    g = f[(f.metric == "material_in_cars_mt") & f.factor.str.startswith("grade[")]
    assert len(g) > 100
    assert (g.ST == 0).all() and (g.S1 == 0).all() and (g.ST_conf == 0).all()
    assert not g.st_resolved.any()


def test_sums_match_the_frame(result):
    f, s = result.frame, result.sums
    for r in s.itertuples(index=False):
        g = f[(f.metric == r.metric) & (f.level == r.level)]
        assert r.n_factors == len(g)
        assert r.S1_sum == pytest.approx(g.S1.sum(), abs=1e-12)
        assert r.ST_sum == pytest.approx(g.ST.sum(), abs=1e-12)
        assert r.n_st_resolved == g.st_resolved.sum()
        assert r.ST_sum_conf > 0
    syst = s[(s.metric == "hidden_to_material_ratio") & (s.level == "systematic")].iloc[0]
    assert 0.8 < syst.ST_sum < 1.3  # nearly additive at this level


def test_shared_factors_agree_across_levels(result):
    """A global input is the same factor at every level: one evaluation, the same ST (to
    rounding); S1 differs by SALib's standardisation of each level's Y (about 1e-6)."""
    f = result.frame
    g = f[(f.metric == "hidden_to_material_ratio") & (f.factor == "grid_hf_kg_per_kwh")]
    assert len(g) == len(ALL_LEVELS) - 1  # inside the custom group "energy"
    np.testing.assert_allclose(g.ST, g.ST.iloc[0], rtol=1e-12)
    np.testing.assert_allclose(g.S1, g.S1.iloc[0], rtol=0, atol=1e-4)
    g = f[(f.metric == "hidden_to_material_ratio") & (f.factor == "supply[copper]")]
    assert len(g) == len(ALL_LEVELS) - 1  # inside the custom group "supply"
    np.testing.assert_allclose(g.ST, g.ST.iloc[0], rtol=1e-12)


def test_ranking_table(result):
    r = result.ranking
    assert {"rank", "rank_share", "rank_low", "rank_high", "top_share", "kendall_tau"} <= set(
        r.columns)
    g = r[(r.metric == "hidden_to_material_ratio") & (r.level == "systematic")]
    assert len(g) == 20 and g["rank"].tolist() == list(range(1, 21))
    assert ((g.rank_share >= 0) & (g.rank_share <= 1)).all()
    assert (g.rank_low <= g["rank"]).all() and (g.rank_high >= g["rank"]).all()
    assert g.rank_share.iloc[0] > 0.5  # the leading factor keeps its place
    assert 0.5 < g.kendall_tau.iloc[0] <= 1


def test_percentile_intervals_are_named(small):
    r = tmrsobol.sobol(small, 64, seed=1, by="systematic", metrics=["hidden_flows_mt"],
                       ci_method="percentile", num_resamples=50)
    f = r.frame
    assert set(f.ci_method) == {"percentile"} and r.ci_method == "percentile"
    assert ((f.ST_low <= f.ST + 1e-12) | (f.ST_conf == 0)).all()
    np.testing.assert_allclose(f.ST_conf, (f.ST_high - f.ST_low) / 2, rtol=1e-12)


def test_log_of_a_metric(small):
    r = tmrsobol.sobol(small, 64, seed=1, by="systematic", metrics=["hidden_flows_mt"], log=True)
    assert set(r.frame.metric) == {"log(hidden_flows_mt)"}


def test_markdown_top(result):
    md = result.markdown_top("hidden_to_material_ratio", 3, "metal-kind")
    lines = md.splitlines()
    assert len(lines) == 5 and lines[0].startswith("| rank | factor | ST")


# ----------------------------------------------------------------- second order, cost
def test_second_order_for_a_few_factors(small):
    r = tmrsobol.sobol(small, 64, seed=2, by="systematic", metrics=["hidden_flows_mt"],
                       second_order=True)
    D = len(r.frame)
    assert len(r.s2) == D * (D - 1) // 2
    assert list(r.s2.columns) == ["metric", "level", "factor_i", "factor_j", "S2", "S2_conf"]
    assert np.isfinite(r.s2.S2).all()


def test_second_order_for_custom_groups(small):
    r = tmrsobol.sobol(small, 64, seed=2, by="custom", groups=GROUPS,
                       metrics=["hidden_flows_mt"], second_order=True)
    assert len(r.frame) == 4 and len(r.s2) == 6
    assert set(r.s2.factor_i) | set(r.s2.factor_j) == set(r.frame.factor)


def test_second_order_refused_for_many_factors(small):
    with pytest.raises(ValueError, match=r"second order at level 'parameter' has D = 765 "
                                         r"factors: N \(2D \+ 2\) = 98,048 model rows"):
        tmrsobol.sobol(small, 64, seed=2, by="parameter", second_order=True)


def test_cost_rows(space):
    c = tmrsobol.cost_rows(space, 1024, by=("parameter", "systematic"), n_metrics=4)
    assert c.level.tolist() == ["parameter", "systematic", "all (distinct)"]
    assert c.model_rows.iloc[0] == 1024 * (765 + 2)
    assert c.n_factors.iloc[2] == 765 + 1  # systematic adds only "per-mine (independent)"
    c2 = tmrsobol.cost_rows(space, 64, by="systematic", second_order=True)
    assert c2.model_rows.iloc[0] == 64 * (2 * 90 + 2)


# --------------------------------------------------------------------------- delta
def test_delta_against_a_dummy(small):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    r = tmrsobol.sobol(small, 512, seed=1, by=("parameter", "metal-kind"),
                       metrics=["hidden_to_material_ratio"], delta=True, delta_n=512,
                       delta_factors=3, delta_resamples=4)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    d = r.delta
    assert {"metric", "level", "factor", "parameter", "proxy", "delta", "delta_conf",
            "S1_delta", "delta_resolved"} <= set(d.columns)
    dummy = d[d.level == "dummy"]
    assert len(dummy) == 1 and dummy.factor.iloc[0] == tmrsobol.DUMMY
    real = d[d.level != "dummy"]
    assert real.parameter.nunique() == 3
    mk = real[real.level == "metal-kind"]
    assert mk.proxy.any() and mk[mk.proxy].parameter.str.startswith("sys_").all()
    assert real.delta.max() > dummy.delta.iloc[0]
    assert real.delta_resolved.any()


# ------------------------------------------------------------------------ bad input
def test_n_base_must_be_a_power_of_2(small):
    with pytest.raises(ValueError, match=r"n_base must be a power of 2 \(got 100\)"):
        tmrsobol.sobol(small, 100, seed=1)


def test_unknown_metric_lists_the_valid_ones(small):
    with pytest.raises(ValueError, match=r"unknown metric 'tmr'; metrics are: tmr_mt, "
                                         r"hidden_flows_mt, .*hidden_to_material_ratio"):
        tmrsobol.sobol(small, 64, seed=1, metrics=["tmr"])


def test_unknown_level(small, space):
    with pytest.raises(ValueError, match=r"unknown level 'metal'; levels are: parameter, mine, "
                                         r"metal-kind, country, systematic, provenance, custom"):
        tmrsobol.sobol(small, 64, seed=1, by=["parameter", "metal"])
    with pytest.raises(ValueError, match="level must be one of"):
        tmrsobol.factors_for(space, "metal")


@pytest.mark.parametrize(("groups", "match"), [
    ({"g": ["grade[NOPE-1]"]}, r"group 'g' names unknown parameter 'grade\[NOPE-1\]'"),
    ({"g": "grid_hf_kg_per_kwh"}, r"group 'g' must be a non-empty list"),
    ({"g": []}, r"group 'g' must be a non-empty list"),
    ({"a": ["grid_hf_kg_per_kwh"], "b": ["grid_*"]},
     r"parameter 'grid_hf_kg_per_kwh' is in two groups: 'a' and 'b'"),
    ({"g": ["supply[copper,CHL]"]}, r"takes part of the share group 'supply\[copper\]'"),
    ({"g": ["coal_used_kg_per_kwh"]}, r"group 'g' matches only Fixed inputs"),
    ({"grid_hf_kg_per_kwh": ["coal_used_kg_per_kwh"]}, r"is the name of an input"),
    ({"other (ungrouped)": ["grid_*"]}, r"is the name of an input"),
])
def test_bad_groups(small, groups, match):
    with pytest.raises(ValueError, match=match):
        tmrsobol.sobol(small, 64, seed=1, groups=groups)


def test_custom_level_needs_groups(small):
    with pytest.raises(ValueError, match="level 'custom' needs groups"):
        tmrsobol.sobol(small, 64, seed=1, by="custom")


@pytest.mark.parametrize(("kw", "match"), [
    ({"tol": 0.0}, r"tol must be positive \(got 0.0\)"),
    ({"tol": 0.1, "max_n": 100}, r"max_n must be a power of 2 >= n_base = 64 \(got 100\)"),
    ({"ci_method": "bca"}, r"ci_method must be one of normal, percentile \(got 'bca'\)"),
    ({"num_resamples": 1}, r"num_resamples must be an integer >= 2 \(got 1\)"),
    ({"block_rows": 100}, r"block_rows must be a power of 2 \(got 100\)"),
])
def test_bad_options(small, kw, match):
    with pytest.raises(ValueError, match=match):
        tmrsobol.sobol(small, 64, seed=1, by="systematic", **kw)


def test_non_finite_outputs_name_metric_rows_and_where(small, model):
    sp = build_space(None, small, model,
                     extra_overrides={"grade[CU-CHL-001]": {"dist": "fixed", "value": 0.0}})
    with pytest.raises(ValueError, match=r"metric 'hidden_flows_mt' is not finite \(NaN or "
                                         r"inf\) in f\(A\) for base rows 0, 1, 2, .* \.\.\."):
        tmrsobol.sobol_model(model, sp, 64, seed=1, by="systematic", metrics=["hidden_flows_mt"])


def test_log_of_a_non_positive_metric(small, model):
    sp = build_space(None, small, model,
                     extra_overrides={"grid_hf_kg_per_kwh": {"dist": "fixed", "value": 0.0}})
    with pytest.raises(ValueError, match=r"metric 'log\(energy_hidden_share\)' is <= 0, so its "
                                         r"log is undefined \(log=True\) in f\(A\)"):
        tmrsobol.sobol_model(model, sp, 64, seed=1, by="systematic", log=True,
                             metrics=["energy_hidden_share"])


def test_non_finite_in_ab_rows_names_the_factors(small, model, space):
    job = tmrsobol.make_job(model, space, tmrsobol.factors_for(space, "systematic").columns,
                            ["hidden_flows_mt"], seed=1)
    store = sobolkernel._Store(job, ["hidden_flows_mt"], ["f0", "f1", "f2"], 8, False)
    yAB = np.ones((1, 4, job.n_units))
    yAB[0, 2, 1] = np.nan
    blk = tmrsobol.Block(4, np.ones((1, 4)), np.ones((1, 4)), yAB)
    with pytest.raises(ValueError, match=r"in f\(AB_j\) of factors 'f1' for base rows 6 "):
        store.put(blk)


# ----------------------------------------------------------------------------- Dask
def test_dask_blocks_equal_the_local_loop(small):
    """Blocks on a 2-worker LocalCluster: the same frames, exactly (about 20-30 s)."""
    kw = dict(seed=7, by=("mine", "systematic"), metrics=["hidden_to_material_ratio"],
              block_rows=16)
    local = tmrsobol.sobol(small, 64, **kw)
    dask = tmrsobol.sobol(small, 64, workers=2, **kw)
    pd.testing.assert_frame_equal(local.frame, dask.frame)
    pd.testing.assert_frame_equal(local.convergence, dask.convergence)


# ------------------------------------------------------------- delta_indices itself
def test_delta_indices_leaves_global_state_alone():
    import warnings

    from uncertainty.sensitivity.delta import DELTA_COLUMNS, delta_indices

    u = rng.sobol_points(512, 3, seed=2)
    Y = np.exp(3 * u[:, 0]) + 0.2 * u[:, 1]
    before_rng = np.random.get_state()[1].copy()  # noqa: NPY002
    before_fmt, before_filters = warnings.formatwarning, list(warnings.filters)
    d = delta_indices(u, Y, ["a", "b", "c"], num_resamples=4, seed=5)
    assert tuple(d.columns) == DELTA_COLUMNS
    assert d.delta.iloc[0] > 0.3 > d.delta.iloc[2]
    assert warnings.formatwarning is before_fmt and warnings.filters == before_filters
    np.testing.assert_array_equal(np.random.get_state()[1], before_rng)  # noqa: NPY002
    again = delta_indices(u, Y, ["a", "b", "c"], num_resamples=4, seed=5)
    pd.testing.assert_frame_equal(d, again)  # seeded: reproducible


def test_delta_indices_bad_input():
    from uncertainty.sensitivity.delta import delta_indices

    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match=r"X must be \(n, 3\) and Y \(n,\)"):
        delta_indices(X, np.zeros(10), ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"Y has non-finite values in rows 3"):
        delta_indices(X, np.where(np.arange(10) == 3, np.nan, 1.0), ["a", "b"])


def test_indices_equal_salib_on_the_same_outputs(small, model, space):
    """The fast path's frame is SALib's analyze on f(A), f(AB_j), f(B) in its row order."""
    from SALib.analyze import sobol as salib_sobol

    metric, n, seed = "hidden_abroad_share", 128, 3
    res = tmrsobol.sobol(small, n, seed=seed, by=("parameter", "metal-kind"), metrics=[metric])
    fac = tmrsobol.factors_for(space, "metal-kind")
    job = tmrsobol.make_job(model, space, fac.columns, [metric], seed=seed)
    blk = tmrsobol.evaluate_block(job, 0, n)
    Y = np.concatenate([blk.yA[0][:, None], blk.yAB[0], blk.yB[0][:, None]], axis=1).ravel()
    problem = {"num_vars": len(fac), "names": list(fac.names), "bounds": [[0, 1]] * len(fac)}
    ref = salib_sobol.analyze(problem, Y, calc_second_order=False, num_resamples=100, seed=seed)
    got = res.frame[res.frame.level == "metal-kind"].set_index("factor").loc[list(fac.names)]
    for key in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_allclose(got[key].to_numpy(), ref[key], rtol=0, atol=1e-10)
