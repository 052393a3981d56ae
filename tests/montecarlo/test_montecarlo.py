"""Tests of uncertainty.montecarlo: reproducibility, the fused kernel against the
transform path, the counter layout, statistics of a single mine, Dirichlet draws, the
two levels of uncertainty and the in-memory API.

The fused kernel (``evaluate_chunk``) draws every input from ``(seed, sample,
parameter)`` and evaluates the model in one pass; the transform path does the same in
three visible steps (``rng.uniforms`` at the documented parameter indices ->
``ParameterSpace.transform`` -> ``model.evaluate``). The two agree to rtol 1e-12 except
for Dirichlet groups: the kernel draws them with ``rng.dirichlet_variate``
(Marsaglia-Tsang gammas on counter substreams, exact for any concentration) while
``transform`` maps a point of the unit cube through gamma quantiles (what a Sobol design
needs). :func:`kernel_dirichlet_rows` replays the kernel's draws so that the remaining
arithmetic can be compared exactly; Dirichlet groups of one member are exactly 1.0 in
both paths, so the tiny dataset compares without replay.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
import scipy.special as sc
from conftest import DEFAULT_DATASET, MINE, base_tables, write_dataset
from layout import documented_parameter_indices, kernel_dirichlet_rows

from uncertainty import rng
from uncertainty.config import parse_run
from uncertainty.data import load_dataset
from uncertainty.model import build_model, evaluate
from uncertainty.montecarlo import evaluate_chunk, monte_carlo
from uncertainty.space import ParameterSpace, build_space

RTOL = 1e-12
SEED = 20190101


# ------------------------------------------------------------------------- helpers


def transform_path(model, space: ParameterSpace, seed: int, start: int, count: int, *,
                   replay_dirichlet: bool = True) -> np.ndarray:
    """Metrics of samples start .. start+count-1 through uniforms -> transform -> evaluate."""
    u = rng.uniforms(seed, start, count, documented_parameter_indices(
        space.n_globals, space.n_mines))
    grade, strip, rec, glob = space.transform(u)
    if replay_dirichlet and len(space.dir_first):
        d = kernel_dirichlet_rows(space, seed, start, count)
        cols = ~np.isnan(d[0])
        glob[:, cols] = d[:, cols]
    return evaluate(model, grade, strip, rec, glob)


def fixed_tables(**mine: str) -> dict[str, list[dict[str, str]]]:
    """The tiny dataset with every spread removed (GSD 1, sd 0, CV 0); ``mine`` edits the mine."""
    t = base_tables()
    t["metals"][0].update(energy_gsd="1", sys_grade_gsd="1", sys_stripping_gsd="1",
                          sys_recovery_sd="0")
    t["mines"][0].update({"grade_gsd": "1", "stripping_gsd": "1", "recovery_sd": "0", **mine})
    for r in t["vehicles"]:
        r["cv"] = "0"
    for r in t["fleet"]:
        r["count_cv"] = "0"
    t["fleet"][1].update(battery_kwh_min="20", battery_kwh_max="20")
    for r in t["globals"]:
        r["gsd"] = "1"
    return t


def tiny(folder: Path, tables: dict) -> tuple:
    ds = load_dataset(write_dataset(folder, **tables))
    model = build_model(ds)
    return ds, model, build_space(None, ds, model)


def interval(x: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(x, [0.025, 0.975])
    return float(lo), float(hi)


# ------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def default(default_dataset):
    model = build_model(default_dataset)
    return default_dataset, model, build_space(None, default_dataset, model)


@pytest.fixture(scope="module")
def reference_run(default):
    """The default dataset, 3,000 samples in chunks of 65,536 (one call)."""
    _, model, space = default
    return evaluate_chunk(model, space, SEED, 0, 3000)[0]


# ------------------------------------------------------------ (a) reproducibility
@pytest.mark.parametrize("chunk_size", [1000, 777])
def test_identical_bytes_whatever_the_chunk_size(default_dataset, reference_run, chunk_size):
    small = monte_carlo(default_dataset, 3000, seed=SEED, chunk_size=chunk_size)
    big = monte_carlo(default_dataset, 3000, seed=SEED, chunk_size=65_536)
    assert small.samples.to_numpy().tobytes() == big.samples.to_numpy().tobytes()
    assert big.samples.to_numpy().tobytes() == reference_run.tobytes()
    assert np.isfinite(reference_run).all()


def test_identical_bytes_with_one_and_two_threads(default, reference_run):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads")
    _, model, space = default
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = evaluate_chunk(model, space, SEED, 0, 3000)
        numba.set_num_threads(2)
        two = evaluate_chunk(model, space, SEED, 0, 3000)
    finally:
        numba.set_num_threads(before)
    assert one.tobytes() == two.tobytes() == reference_run.tobytes()


def test_chunks_computed_alone_in_any_order(default, reference_run):
    _, model, space = default
    parts = {a: evaluate_chunk(model, space, SEED, a, 1000)[0] for a in (2000, 0, 1000)}
    joined = np.concatenate([parts[a] for a in sorted(parts)])
    assert joined.tobytes() == reference_run.tobytes()


def test_other_seed_other_samples(default, reference_run):
    _, model, space = default
    other = evaluate_chunk(model, space, SEED + 1, 0, 50)[0]
    assert not np.array_equal(other, reference_run[:50])


def test_sobol_sampler_identical_whatever_the_chunk_size(tmp_path):
    ds = load_dataset(write_dataset(tmp_path))
    a = monte_carlo(ds, 300, seed=5, chunk_size=64, sampler="sobol")
    b = monte_carlo(ds, 300, seed=5, chunk_size=1000, sampler="sobol")
    assert a.samples.to_numpy().tobytes() == b.samples.to_numpy().tobytes()


# ------------------------------------------- (b) fused kernel = the transform path
def test_kernel_equals_transform_path_default_dataset(default):
    _, model, space = default
    want = transform_path(model, space, SEED, 1234, 16)
    got = evaluate_chunk(model, space, SEED, 1234, 16)[0]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)


def test_kernel_equals_transform_path_with_copula(default_dataset):
    run = parse_run({"name": "rho", "dataset": str(DEFAULT_DATASET),
                     "montecarlo": {"grade_stripping_correlation": -0.6}})
    model = build_model(default_dataset)
    space = build_space(run, default_dataset, model)
    assert space.correlation == -0.6
    want = transform_path(model, space, 7, 0, 8)
    got = evaluate_chunk(model, space, 7, 0, 8)[0]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)


def test_kernel_equals_transform_path_tiny_without_replay(tmp_path):
    _, model, space = tiny(tmp_path, {})
    assert list(space.dir_len) == [1, 1]  # supply[copper] and battery_mix: one member each
    want = transform_path(model, space, 3, 10, 32, replay_dirichlet=False)
    got = evaluate_chunk(model, space, 3, 10, 32)[0]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)


def test_transform_dirichlet_rows_are_gamma_quantiles(default):
    """What the kernel does differently: transform's shares are the gamma-ppf normalisation."""
    _, _, space = default
    u = rng.uniforms(SEED, 0, 4, documented_parameter_indices(
        space.n_globals, space.n_mines))
    glob = space.transform(u)[3]
    for f, ln in zip(space.dir_first, space.dir_len, strict=True):
        d = space.dists[f]
        np.testing.assert_allclose(glob[:, f:f + ln], d.ppf(u[:, f:f + ln]), rtol=1e-12)


# --------------------------------------------------------- (c) the counter layout
def test_kernel_reads_the_documented_counters(tmp_path):
    """One mine; grade, stripping ratio, recovery and grid_hf uncertain, all else fixed.

    Each input must be its distribution's ppf of ``rng.uniform(seed, i, p)`` with p the
    documented index (tests/layout.py) for the mine, the row index for a global.
    """
    t = fixed_tables(grade_gsd="1.5", stripping_gsd="1.3", recovery_sd="0.05")
    t["globals"][0]["gsd"] = "1.4"  # grid_hf_kg_per_kwh
    _, model, space = tiny(tmp_path, t)
    j_grid = space.names.index("grid_hf_kg_per_kwh")
    # kernel codes: 0 fixed (a LogNormal of GSD 1 included), -1 Dirichlet (one member: 1.0)
    uncertain = [nm for nm, c in zip(space.names, space.codes, strict=True) if c > 0]
    assert sorted(uncertain) == sorted(["grade[CU-CHL-001]", "stripping_ratio[CU-CHL-001]",
                                        "recovery[CU-CHL-001]", "grid_hf_kg_per_kwh"])
    assert list(space.dir_len) == [1, 1]
    seed, start, n = 99, 5000, 40
    mine = documented_parameter_indices(space.n_globals, 1)[-3:]
    u = np.array([[rng.uniform(seed, start + i, p) for p in (*mine, j_grid)]
                  for i in range(n)])
    ng = space.n_globals
    dg, dsr, drec = space.dists[ng], space.dists[ng + 1], space.dists[ng + 2]
    grade = np.exp(math.log(0.01) + math.log(1.5) * sc.ndtri(u[:, [0]]))
    strip = np.exp(math.log(2.0) + math.log(1.3) * sc.ndtri(u[:, [1]]))
    np.testing.assert_allclose(grade, dg.ppf(u[:, [0]]), rtol=1e-14)
    np.testing.assert_allclose(strip, dsr.ppf(u[:, [1]]), rtol=1e-14)
    rec = drec.ppf(u[:, [2]])
    glob = np.tile(model.nominal_globals, (n, 1))
    glob[:, j_grid] = np.exp(math.log(1.5) + math.log(1.4) * sc.ndtri(u[:, 3]))
    want = evaluate(model, grade, strip, rec, glob)
    got = evaluate_chunk(model, space, seed, start, n)[0]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)
    # and the hidden flow really moves with the grade (the test is not vacuous)
    assert np.ptp(got[:, model.metric_names.index("hidden_flows_mt")]) > 0


# -------------------------------------------- (d) statistics of one mine's flow
def test_single_mine_hidden_flow_mean_and_variance_match_lognormal(tmp_path):
    """Grade ~ LogNormal(0.01, 1.5), everything else fixed: the hidden flow is affine in
    1 / grade, itself lognormal (median 100, sigma ln 1.5), so its mean and variance are
    known in closed form. n = 200,000; both within 4 standard errors."""
    gsd, n = 1.5, 200_000
    ds, model, space = tiny(tmp_path, fixed_tables(grade_gsd=str(gsd)))
    res = monte_carlo(ds, n, seed=SEED)
    y = res.samples["hidden_flows_mt"].to_numpy()
    # y = alpha / grade + beta, alpha and beta from two exact model evaluations
    grade, strip, rec, glob = space.nominal_inputs(2)
    grade[:, 0] = [0.01, 0.02]
    y1, y2 = evaluate(model, grade, strip, rec, glob)[:, model.metric_names.index(
        "hidden_flows_mt")]
    alpha = (y1 - y2) / (100.0 - 50.0)
    beta = y1 - 100.0 * alpha
    s2 = math.log(gsd) ** 2
    mean_inv = 100.0 * math.exp(s2 / 2)  # E[1 / grade]
    var_inv = mean_inv**2 * math.expm1(s2)
    kurt = math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 3
    mean, var = alpha * mean_inv + beta, alpha**2 * var_inv
    se_mean = math.sqrt(var / n)
    se_var = var * math.sqrt((kurt - 1) / n)
    got_mean, got_var = float(y.mean()), float(y.var(ddof=1))
    print(f"hidden flow: mean {got_mean:.6g} (want {mean:.6g} +- {se_mean:.2g}), "
          f"variance {got_var:.6g} (want {var:.6g} +- {se_var:.2g})")
    assert abs(got_mean - mean) <= 4 * se_mean
    assert abs(got_var - var) <= 4 * se_var
    assert abs(got_mean - mean) > 0  # random, not degenerate


# ----------------------------------------------------------- (e) Dirichlet draws
def test_dirichlet_draws_of_the_default_groups_sum_to_one(default):
    _, _, space = default
    d = kernel_dirichlet_rows(space, SEED, 0, 200)
    for f, ln in zip(space.dir_first, space.dir_len, strict=True):
        block = d[:, f:f + ln]
        assert np.all(block >= 0.0)
        np.testing.assert_array_less(np.abs(block.sum(axis=1) - 1.0), 1e-12)
        # the draws vary and centre on the data's shares
        mean = space.dists[f].mean
        assert np.all(np.abs(block.mean(axis=0) - mean) <= 5 * space.dists[f].sd / math.sqrt(200)
                      + 1e-15)


def test_kernel_supply_and_mix_shares_sum_to_one(tmp_path):
    """Three identical copper mines in three supplying countries and three chemistries of
    equal copper intensity, loose Dirichlets (concentration 2): the totals are those of the
    nominal shares exactly when every sampled share vector sums to 1 (within 1e-12)."""
    t = fixed_tables()
    t["countries"].append({"iso3": "PER", "name": "Peru"})
    t["mines"] = [{**t["mines"][0], "mine_id": f"CU-{c}-001", "country": c}
                  for c in ("CHL", "CHN", "PER")]
    t["supply"] = [{"metal": "copper", "country": c, "share": s, "concentration": "2"}
                   for c, s in (("CHL", "0.5"), ("CHN", "0.3"), ("PER", "0.2"))]
    t["chemistries"] = [{"chemistry": h, "metal": "copper", "kg_per_kwh": "0.05"}
                        for h in ("NMC", "LFP", "NCA")]
    t["battery_mix"] = [{"chemistry": h, "share": s, "concentration": "2"}
                        for h, s in (("NMC", "0.5"), ("LFP", "0.3"), ("NCA", "0.2"))]
    _, model, space = tiny(tmp_path, t)
    assert sorted(space.dir_len.tolist()) == [3, 3]
    got = evaluate_chunk(model, space, SEED, 0, 2000)[0]
    nominal = evaluate(model, *space.nominal_inputs())[0]
    for m in ("hidden_flows_mt", "used_extraction_mt", "material_in_cars_mt", "tmr_mt",
              "tmr_coefficient_copper", "hidden_per_vehicle_t_bev"):
        k = model.metric_names.index(m)
        np.testing.assert_allclose(got[:, k], nominal[k], rtol=1e-12, atol=0.0, err_msg=m)
    # the shares did vary: the domestic (CHN) share of the hidden flow moves
    k = model.metric_names.index("hidden_abroad_share")
    assert np.std(got[:, k]) > 0.05


# --------------------------------------------- (f) the two levels of uncertainty
def _fixed_globals_overrides(space: ParameterSpace) -> dict[str, dict]:
    """Every global input fixed at its nominal value (share groups: concentration 1e12)."""
    out: dict[str, dict] = {}
    for j in range(space.n_globals):
        r = space.table.iloc[j]
        if r.level != "global":
            continue
        if r.group:
            out[r.group] = {"dist": "dirichlet", "shares": list(space.dists[j].shares),
                            "concentration": 1e12}
        else:
            out[r["name"]] = {"dist": "fixed", "value": float(r.nominal)}
    return out


N_LEVELS = 5000


def test_systematic_factors_widen_the_interval(default):
    """hidden_flows_mt with the global inputs fixed: per-mine uncertainty alone averages
    out over 1,784 mines (narrow); the shared per-metal biases do not (wide)."""
    _, _, space = default
    fixed = _fixed_globals_overrides(space)
    res = {}
    for systematic in (False, True):
        run = parse_run({"name": "levels", "dataset": str(DEFAULT_DATASET), "overrides": fixed,
                         "montecarlo": {"systematic": systematic}})
        r = monte_carlo(run, N_LEVELS, seed=SEED)
        res[systematic] = (r.nominal["hidden_flows_mt"],
                           interval(r.samples["hidden_flows_mt"].to_numpy()))
    (nom, (lo0, hi0)), (_, (lo1, hi1)) = res[False], res[True]
    ratio = (hi1 - lo1) / (hi0 - lo0)
    print(f"hidden_flows_mt (Mt), nominal {nom:.1f}, n = {N_LEVELS}: per-mine only "
          f"[{lo0:.1f}, {hi0:.1f}]; with systematic factors [{lo1:.1f}, {hi1:.1f}]; "
          f"width ratio {ratio:.1f}")
    assert lo1 < lo0 < hi0 < hi1
    assert ratio > 3


# --------------------------------------------------------------- (g) the API
SUMMARY_COLUMNS = ["metric", "nominal", "mean", "sd", "p2_5", "p50", "p97_5", "n"]


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
    ds = load_dataset(write_dataset(tmp_path_factory.mktemp("api")))
    return ds, monte_carlo(ds, 2000, seed=11, chunk_size=512)


def test_summary_columns_and_values(tiny_result):
    ds, res = tiny_result
    model = build_model(ds)
    s = res.summary()
    assert list(s.columns) == SUMMARY_COLUMNS
    assert list(s.metric) == list(model.metric_names)
    assert (s.n == 2000).all() and res.n == 2000 and res.seed == 11
    assert res.samples.shape == (2000, len(model.metric_names))
    finite = s[np.isfinite(s["mean"])]
    assert (finite.p2_5 <= finite.p50).all() and (finite.p50 <= finite.p97_5).all()
    row = s.set_index("metric").loc["hidden_flows_mt"]
    x = res.samples["hidden_flows_mt"].to_numpy()
    assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert row["sd"] == pytest.approx(x.std(ddof=1), rel=1e-12)
    nominal = evaluate(model, *build_space(None, ds, model).nominal_inputs())[0]
    np.testing.assert_allclose(s.nominal, nominal, rtol=1e-12)
    assert res.scenarios == {}


def test_monte_carlo_of_a_run_includes_switch_scenarios(tmp_path):
    folder = write_dataset(tmp_path / "data")
    run = parse_run({"name": "api", "dataset": str(folder),
                     "scenarios": [{"name": "clean", "clean_energy_factor": 0.0}]})
    res = monte_carlo(run, 500, seed=2)
    assert set(res.scenarios) == {"clean"}
    base = res.samples["hidden_flows_mt"].to_numpy()
    clean = res.scenarios["clean"]["hidden_flows_mt"].to_numpy()
    assert np.all(clean < base)  # common random numbers: lower in every sample
    assert isinstance(res.summary(), pd.DataFrame)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "100", None])
def test_bad_sample_count_raises(tiny_result, n):
    ds, _ = tiny_result
    with pytest.raises(ValueError, match="positive integer"):
        monte_carlo(ds, n, seed=1)


def test_bad_run_or_dataset_raises():
    with pytest.raises(TypeError, match="RunConfig or a Dataset"):
        monte_carlo("runs/china-2019.toml", 10, seed=1)


def test_api_functions_stay_callable_after_their_modules_load():
    code = ("import uncertainty, uncertainty.montecarlo, uncertainty.sensitivity.tmr, "
            "uncertainty.sensitivity.saltelli\n"
            "bad = [n for n in uncertainty.__all__ if not callable(getattr(uncertainty, n))]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_mine_table_unchanged_by_fixture():
    """Guard: the shared tiny-dataset rows are not mutated by these tests."""
    assert MINE["grade_gsd"] == "1.1" and base_tables()["mines"][0]["grade_gsd"] == "1.1"
