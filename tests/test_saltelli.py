"""Tests of the generic Sobol engine (uncertainty.sensitivity.saltelli, sobolresult, sobolindices):
design, SALib agreement, analytic indices, errors.

Tolerances: point estimates against SALib on the same Y, 1e-10 (the same sums
regrouped); bootstrap half-widths with the same resample seed, 1e-10 (SALib draws the
same indices), with another seed within a factor 0.7..1.4 (100 resamples estimate a
standard deviation to about 7 %); analytic indices at N = 8192, within the interval
half-width or 0.02, whichever is larger.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from SALib.analyze import sobol as salib_sobol
from SALib.sample import sobol as salib_sample

from uncertainty.dists import Fixed, LogNormal, Normal, Uniform
from uncertainty.sensitivity.indices import DUMMY, bench_analyze, sobol_indices
from uncertainty.sensitivity.result import SobolResult, convergence
from uncertainty.sensitivity.saltelli import estimate, saltelli_rows, split_outputs

PI = np.pi


def ishigami(X: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami & Homma (1990) test function."""
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Exact S1 and ST of the Ishigami function for x_i ~ U(-pi, pi).

    Ishigami, T., Homma, T. (1990), An importance quantification technique in
    uncertainty analysis for computer models; the variance terms as in Sobol', I. M.,
    Levitan, Yu. L. (1999), On the use of variance reducing multipliers in Monte Carlo
    computations of a global sensitivity index, Comput. Phys. Commun. 117, 52-61:
    V1 = (1 + b pi^4 / 5)^2 / 2, V2 = a^2 / 8, V13 = b^2 pi^8 (1/18 - 1/50), V2..=0.
    """
    v1 = 0.5 * (1 + b * PI**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * PI**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


ISHIGAMI_PARAMS = {f"x{i}": Uniform(-PI, PI) for i in (1, 2, 3)}


def salib_analyze(result: SobolResult, m: int = 0, seed: int | None = None) -> dict:
    """SALib's analyze on the result's own Y (column m), with its problem dict."""
    assert result.Y is not None
    return salib_sobol.analyze(
        result.salib_problem(),
        result.Y[:, m],
        calc_second_order=result.second_order,
        num_resamples=result.num_resamples,
        conf_level=result.conf_level,
        seed=result.seed if seed is None else seed,
    )


def assert_matches_salib(result: SobolResult, m: int = 0) -> None:
    ref = salib_analyze(result, m)
    keys = ["S1", "ST", "S1_conf", "ST_conf"]
    for key in keys:
        np.testing.assert_allclose(getattr(result, key)[m], ref[key], rtol=0, atol=1e-10)
    if result.second_order:
        assert result.S2 is not None and result.S2_conf is not None
        np.testing.assert_allclose(result.S2[m], ref["S2"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(result.S2_conf[m], ref["S2_conf"], rtol=0, atol=1e-10)
    # another resample seed: intervals differ, their widths agree within sampling error
    # (the log-ratio of two 100-resample standard deviations has sd ~0.1: each ratio
    # within 0.6..1.6, about 5 sd, as there are many; their mean within 0.75..1.33)
    other = salib_analyze(result, m, seed=result.seed + 1000)
    for key in ("S1_conf", "ST_conf"):
        ours, theirs = getattr(result, key)[m], other[key]
        assert np.array_equal(ours == 0, theirs == 0), key
        ratio = ours[theirs > 0] / theirs[theirs > 0]
        assert np.all((ratio > 0.6) & (ratio < 1.6)), (key, ratio)
        assert 0.75 < ratio.mean() < 1.33, (key, ratio.mean())


# ---------------------------------------------------------------- (a) SALib agreement


@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize(
    "groups",
    [None, {"x2 alone": ["x2"], "x1 and x3": ["x1", "x3"]}],
    ids=["parameters", "groups"],
)
def test_ishigami_matches_salib_on_same_outputs(groups, second_order) -> None:
    res = sobol_indices(
        ishigami, ISHIGAMI_PARAMS, 1024, seed=7, groups=groups, second_order=second_order
    )
    if groups is None:
        assert res.factors == ("x1", "x2", "x3") and res.level == "parameter"
    else:  # SALib's order: by the first parameter of each group
        assert res.factors == ("x1 and x3", "x2 alone") and res.level == "group"
    per = 2 * len(res.factors) + 2 if second_order else len(res.factors) + 2
    assert res.Y is not None and res.Y.shape == (1024 * per, 1)
    assert_matches_salib(res)


def test_linear_model_d50_two_outputs_matches_salib() -> None:
    d = 50
    coef = np.linspace(1.0, 0.02, d)
    params = {f"p{j}": (Normal(1.0, 0.3) if j % 3 else Uniform(0.0, 2.0 + j / d)) for j in range(d)}

    def func(X: np.ndarray) -> np.ndarray:
        y = X @ coef
        return np.column_stack([y, np.exp(0.3 * y)])

    res = sobol_indices(func, params, 256, seed=11, outputs=["lin", "exp"])
    assert res.outputs == ("lin", "exp") and res.S1.shape == (2, d)
    for m in range(2):
        assert_matches_salib(res, m)
    # additive model: S1 == ST in expectation and the ST sum is near 1
    assert abs(res.sums["ST_sum"][0] - 1) < 0.1


def test_linear_groups_second_order_matches_salib() -> None:
    params = {f"p{j}": Uniform(0.0, 1.0 + j) for j in range(8)}
    groups = {"odd": ["p1", "p3", "p5", "p7"], "low": ["p0", "p2"], "high": ["p4", "p6"]}

    def func(X: np.ndarray) -> np.ndarray:
        return X[:, 0] * X[:, 4] + X[:, 1:].sum(axis=1) ** 2

    res = sobol_indices(func, params, 512, seed=3, groups=groups, second_order=True)
    assert res.factors == ("low", "odd", "high")
    assert_matches_salib(res)


@pytest.mark.parametrize("second_order", [False, True])
def test_saltelli_rows_match_salib_sample(second_order) -> None:
    names = ["a", "b", "c", "d"]
    groups = ["g1", "g2", "g1", "g3"]
    for grouped in (False, True):
        problem = {"num_vars": 4, "names": names, "bounds": [[0, 1]] * 4}
        if grouped:
            problem["groups"] = groups
        X = salib_sample.sample(problem, 16, calc_second_order=second_order, seed=5)
        d = 3 if grouped else 4
        per = 2 * d + 2 if second_order else d + 2
        A, B = X[0::per], X[per - 1 :: per]
        membership = (
            np.array([[g == f for g in groups] for f in ("g1", "g2", "g3")]) if grouped else None
        )
        np.testing.assert_array_equal(saltelli_rows(A, B, membership, second_order=second_order), X)


def test_split_outputs_round_trip() -> None:
    n, d = 4, 3
    yA, yB = np.arange(n) * 1.0, np.arange(n) + 100.0
    yAB = np.arange(n * d).reshape(n, d) + 10.0
    Y = np.concatenate([yA[:, None], yAB, yB[:, None]], axis=1).ravel()
    a, b, ab, ba = split_outputs(Y, d)
    np.testing.assert_array_equal(a, yA)
    np.testing.assert_array_equal(b, yB)
    np.testing.assert_array_equal(ab, yAB)
    assert ba is None


# ----------------------------------------------------------- (b, c) analytic values


def test_ishigami_analytic_indices() -> None:
    s1, st = ishigami_indices()
    np.testing.assert_allclose(s1, [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(st, [0.5576, 0.4424, 0.2437], atol=1e-4)
    res = sobol_indices(ishigami, ISHIGAMI_PARAMS, 8192, seed=2024)
    assert np.all(np.abs(res.S1[0] - s1) <= np.maximum(res.S1_conf[0], 0.02))
    assert np.all(np.abs(res.ST[0] - st) <= np.maximum(res.ST_conf[0], 0.02))


def test_product_of_lognormals_exact_indices() -> None:
    """A multiplicative model (docs/sensitivity.md): Y = prod X_i, X_i lognormal with log-sd s_i."""
    s = np.array([0.6, 0.4, 0.25, 0.1])
    params = {f"m{i}": LogNormal(1.0 + i, float(np.exp(si))) for i, si in enumerate(s)}

    def func(X: np.ndarray) -> np.ndarray:
        y = X.prod(axis=1)
        return np.column_stack([y, np.log(y)])

    res = sobol_indices(func, params, 8192, seed=99, outputs=["Y", "lnY"])
    total = np.exp((s**2).sum()) - 1
    s1 = (np.exp(s**2) - 1) / total
    st = 1 - (np.exp((s**2).sum() - s**2) - 1) / total
    share = s**2 / (s**2).sum()
    for m, (e1, et) in enumerate([(s1, st), (share, share)]):
        assert np.all(np.abs(res.S1[m] - e1) <= np.maximum(res.S1_conf[m], 0.02)), m
        assert np.all(np.abs(res.ST[m] - et) <= np.maximum(res.ST_conf[m], 0.02)), m


# ------------------------------------------------------------------- (d) the dummy


def test_dummy_is_zero_for_deterministic_model_and_flagged() -> None:
    res = sobol_indices(ishigami, ISHIGAMI_PARAMS, 1024, seed=5, dummy=True)
    assert res.factors[-1] == DUMMY and res.dummy
    assert res.S1[0, -1] == 0.0 and res.ST[0, -1] == 0.0 and res.ST_conf[0, -1] == 0.0
    assert res.flags["below_noise"][0].tolist() == [False, False, False, True]
    assert res.flags["s1_straddles_zero"][0, 2]  # x3 has no first-order effect
    assert not res.flags["s1_straddles_zero"][0, :2].any()
    # the dummy is outside the sums and top(); SALib agrees with it included
    np.testing.assert_allclose(res.sums["ST_sum"], res.ST[:, :3].sum(axis=1))
    assert DUMMY not in res.top("y", 10)["factor"].tolist()
    assert res.salib_problem()["names"][-1] == DUMMY
    assert_matches_salib(res)


def test_dummy_measures_noise_of_a_stochastic_model() -> None:
    noise = np.random.default_rng(0)

    def func(X: np.ndarray) -> np.ndarray:
        return X[:, 0] + 0.01 * X[:, 1] + 0.1 * noise.standard_normal(len(X))

    params = {"big": Uniform(0, 1), "tiny": Uniform(0, 1)}
    res = sobol_indices(func, params, 1024, seed=8, dummy=True)
    # dummy ST ~ var(noise) / var(Y) = 0.01 / (1/12 + 1e-4/12 + 0.01)
    assert res.ST[0, -1] == pytest.approx(0.01 / (1 / 12 + 1e-4 / 12 + 0.01), abs=0.02)
    assert res.flags["below_noise"][0].tolist() == [False, True, True]


def test_fixed_parameter_has_zero_indices() -> None:
    params = {**ISHIGAMI_PARAMS, "k": Fixed(2.0)}
    res = sobol_indices(lambda X: ishigami(X) * X[:, 3], params, 256, seed=4)
    assert res.S1[0, 3] == 0.0 and res.ST[0, 3] == 0.0
    assert res.flags["below_noise"][0, 3]


# ------------------------------------------------------------------- (e) errors


def test_n_base_must_be_power_of_2() -> None:
    with pytest.raises(ValueError, match=r"n_base must be a power of 2 \(got 1000\)"):
        sobol_indices(ishigami, ISHIGAMI_PARAMS, 1000, seed=1)


def test_group_errors_name_the_parameter() -> None:
    with pytest.raises(ValueError, match=r"group 'g' names unknown parameter 'x9'"):
        sobol_indices(ishigami, ISHIGAMI_PARAMS, 8, seed=1, groups={"g": ["x1", "x9"]})
    with pytest.raises(ValueError, match=r"parameter 'x1' is in two groups: 'g' and 'h'"):
        groups = {"g": ["x1", "x2"], "h": ["x1", "x3"]}
        sobol_indices(ishigami, ISHIGAMI_PARAMS, 8, seed=1, groups=groups)
    with pytest.raises(ValueError, match=r"parameters in no group: x3"):
        sobol_indices(ishigami, ISHIGAMI_PARAMS, 8, seed=1, groups={"g": ["x1", "x2"]})


def test_wrong_output_shape() -> None:
    with pytest.raises(
        ValueError, match=r"func returned shape \(10, 3\); expected \(1280,\) or \(1280, k\)"
    ):
        sobol_indices(lambda X: np.zeros((10, 3)), ISHIGAMI_PARAMS, 256, seed=1)
    with pytest.raises(ValueError, match=r"outputs names 2 outputs; func returned 1"):
        sobol_indices(ishigami, ISHIGAMI_PARAMS, 8, seed=1, outputs=["a", "b"])


def test_non_finite_rows_are_named() -> None:
    def func(X: np.ndarray) -> np.ndarray:
        y = ishigami(X)
        y[[3, 17, 40]] = [np.nan, np.inf, -np.inf]
        return y

    with pytest.raises(ValueError, match=r"non-finite values in rows 3, 17, 40 \(first 10 shown\)"):
        sobol_indices(func, ISHIGAMI_PARAMS, 256, seed=1)


def test_estimate_argument_errors() -> None:
    y = np.arange(8.0)
    with pytest.raises(ValueError, match=r"ci_method must be one of normal, percentile"):
        estimate(y, y, y[:, None], ci_method="bca")
    with pytest.raises(ValueError, match=r"num_resamples must be an integer >= 2 \(got 1\)"):
        estimate(y, y, y[:, None], num_resamples=1)
    with pytest.raises(ValueError, match=r"yAB must have shape \(8, D\)"):
        estimate(y, y, y[:4, None])
    with pytest.raises(ValueError, match=r"non-finite"):
        estimate(y, y, np.full((8, 1), np.nan))


# ------------------------------------------------- estimator properties and results


def test_constant_output_gives_zeros() -> None:
    y = np.ones(16)
    est = estimate(y, y, np.ones((16, 3)), rng_seed=1)
    assert est["constant"]
    assert not est["S1"].any() and not est["ST_conf"].any()


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1e-3, 1e6), offset=st.floats(-1e6, 1e6), seed=st.integers(1, 2**31))
def test_estimate_invariant_to_positive_affine_maps(scale, offset, seed) -> None:
    """Indices of scale * y + shift equal those of y (shift up to 1e6 standard deviations,
    where rounding of the inputs alone perturbs them by about 1e-10)."""
    shift = offset * scale
    rng = np.random.default_rng(seed)
    yA, yB = rng.standard_normal(64), rng.standard_normal(64)
    yAB = yA[:, None] + rng.standard_normal((64, 5)) * [0.1, 0.5, 1, 2, 0]
    ref = estimate(yA, yB, yAB, rng_seed=seed)
    got = estimate(scale * yA + shift, scale * yB + shift, scale * yAB + shift, rng_seed=seed)
    for key in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_allclose(got[key], ref[key], rtol=0, atol=1e-7)


def test_estimate_blocks_do_not_change_results() -> None:
    rng = np.random.default_rng(4)
    yA, yB = rng.standard_normal(128), rng.standard_normal(128)
    yAB = yA[:, None] + rng.standard_normal((128, 37)) * np.linspace(0, 1, 37)
    one = estimate(yA, yB, yAB, rng_seed=3, block_columns=37)
    many = estimate(yA, yB, yAB, rng_seed=3, block_columns=5)
    for key in ("S1", "ST", "S1_conf", "ST_conf", "S1_sum_conf"):
        np.testing.assert_allclose(many[key], one[key], rtol=1e-13, atol=1e-15)


def test_percentile_intervals() -> None:
    res = sobol_indices(ishigami, ISHIGAMI_PARAMS, 1024, seed=7, ci_method="percentile")
    normal = sobol_indices(ishigami, ISHIGAMI_PARAMS, 1024, seed=7)
    assert res.ci_method == "percentile"
    np.testing.assert_allclose(res.ST, normal.ST)  # same points, other intervals
    assert np.all((res.ST_low <= res.ST) & (res.ST <= res.ST_high))
    ratio = res.ST_conf / normal.ST_conf
    assert np.all((ratio > 0.7) & (ratio < 1.4))


def test_to_frame_and_top() -> None:
    res = sobol_indices(ishigami, ISHIGAMI_PARAMS, 256, seed=1)
    df = res.to_frame()
    assert list(df.columns[:7]) == ["metric", "factor", "level", "S1", "S1_conf", "ST", "ST_conf"]
    assert {"below_noise", "s1_straddles_zero"} <= set(df.columns)
    assert len(df) == 3 and (df["level"] == "parameter").all()
    top = res.top("y", 2)
    assert top["factor"].tolist() == ["x1", "x2"]
    assert res.top("y", 1, by="S1")["factor"].tolist() == ["x2"]
    with pytest.raises(ValueError, match=r"unknown metric 'tmr'"):
        res.top("tmr")


# ---------------------------------------------------------- (f) convergence and tol


def test_convergence_prefixes_reproduce_full_estimate() -> None:
    res = sobol_indices(ishigami, ISHIGAMI_PARAMS, 1024, seed=13)
    conv = res.convergence()
    assert sorted(conv["n"].unique()) == [64, 128, 256, 512, 1024]
    last = conv[conv["n"] == 1024]
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        np.testing.assert_array_equal(last[key].to_numpy(), getattr(res, key)[0])
    # a prefix is the design at that N: same numbers as a fresh run with n_base = 256
    small = sobol_indices(ishigami, ISHIGAMI_PARAMS, 256, seed=13)
    row = conv[conv["n"] == 256]
    np.testing.assert_allclose(row["ST"].to_numpy(), small.ST[0], rtol=0, atol=1e-12)
    # half-widths shrink with N
    width = conv.groupby("n")["ST_conf"].max()
    assert width.iloc[-1] < width.iloc[0] / 2
    with pytest.raises(ValueError, match=r"each n must be a power of 2 not above N = 1024"):
        convergence(*split_outputs(res.Y[:, 0], 3)[:3], ns=[100])


def test_tol_doubles_n_and_reuses_rows() -> None:
    rows = []

    def func(X: np.ndarray) -> np.ndarray:
        rows.append(len(X))
        return ishigami(X)

    res = sobol_indices(func, ISHIGAMI_PARAMS, 64, seed=21, tol=0.05)
    assert res.n_base > 64 and res.ST_conf.max() < 0.05
    assert sum(rows) == res.n_base * 5  # every row evaluated once
    direct = sobol_indices(ishigami, ISHIGAMI_PARAMS, res.n_base, seed=21)
    np.testing.assert_array_equal(res.Y, direct.Y)
    np.testing.assert_array_equal(res.ST, direct.ST)
    capped = sobol_indices(ishigami, ISHIGAMI_PARAMS, 64, seed=21, tol=1e-6, max_n=256)
    assert capped.n_base == 256


# ---------------------------------------------------------------------- speed


def test_bench_analyze_small_runs() -> None:
    out = bench_analyze(d=20, n=64, num_resamples=20)
    assert out["max_abs_diff"] < 1e-10 and out["max_abs_diff_conf"] < 1e-10


@pytest.mark.slow
def test_analyze_ten_times_faster_than_salib_at_d5000() -> None:
    out = bench_analyze(d=5000, n=1024, num_resamples=100, seed=1)
    assert out["max_abs_diff"] < 1e-10
    assert out["speedup"] >= 10, out


def test_frame_types() -> None:
    res = sobol_indices(ishigami, ISHIGAMI_PARAMS, 64, seed=2, dummy=True)
    df = res.to_frame()
    assert isinstance(df, pd.DataFrame)
    assert df.loc[df["factor"] == DUMMY, "level"].tolist() == ["dummy"]
