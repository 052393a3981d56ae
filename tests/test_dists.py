"""Tests of uncertainty.dists, uncertainty.dists.statsarrays and uncertainty.dists.special.ndtri_fast.

Tolerances: a distribution against its SciPy twin and the kernel against ``ppf``,
rtol 1e-12; hand-computed values, rtol 1e-12; ``ndtri_fast`` against a 70-digit
reference, 4.5e-16 relative (2 ulp); seeded sampling checks, 5 standard errors.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from numba.core.errors import NumbaWarning

from uncertainty import dists
from uncertainty.dists import (
    CODES,
    PERT,
    REGISTRY,
    Beta,
    Dirichlet,
    DistributionError,
    Fixed,
    Gamma,
    LogNormal,
    Normal,
    Triangular,
    TruncatedLogNormal,
    TruncatedNormal,
    Uniform,
    Univariate,
    from_dict,
    make,
    ppf_kernel,
    statsarrays,
)
from uncertainty.dists.special import (
    betaincinv_sym,
    gammaincinv_sym,
    ndtr_sym,
    ndtri_fast,
    ndtri_sym,
)
from uncertainty.dists.statsarrays import PEDIGREE_FACTORS, from_stats_arrays, pedigree_gsd

# One valid instance of every registered univariate class, with values that stay away
# from 0 so that relative tolerances are meaningful over the whole grid U.
INSTANCES = [
    LogNormal(0.006, 1.2),
    Normal(2.0, 0.25),
    TruncatedNormal(0.9, 0.05, 0.8, 0.975),
    TruncatedLogNormal(0.01, 2.0, 0.004, 0.03),
    Uniform(1.0, 3.0),
    Triangular(1.0, 2.0, 4.0),
    PERT(1.0, 2.0, 4.0),
    Beta(2.5, 3.5, 1.0, 2.0),
    Gamma(2.0, 3.0),
    Fixed(3.0),
]
IDS = [d.name for d in INSTANCES]
U = np.sort(
    np.concatenate(
        [
            [1e-12, 1e-9, 1e-6, 0.5, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12],
            np.random.default_rng(1).random(993),
        ]
    )
)


@njit
def kernel_ppf(code, p, u):
    """The kernel called from another jitted function, as the Monte Carlo kernel does."""
    out = np.empty_like(u)
    for i in range(u.size):
        out[i] = ppf_kernel(code, p[0], p[1], p[2], p[3], u[i])
    return out


def test_instances_cover_every_registered_univariate() -> None:
    univariate = {c for c in REGISTRY.values() if issubclass(c, Univariate)}
    assert {type(d) for d in INSTANCES} == univariate
    assert set(REGISTRY) == set(CODES) | {"dirichlet"}
    assert sorted(CODES.values()) == list(range(10))


@pytest.mark.parametrize("dist", INSTANCES, ids=IDS)
def test_ppf_matches_scipy(dist: Univariate) -> None:
    np.testing.assert_allclose(dist.ppf(U), dist.to_scipy().ppf(U), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dist", INSTANCES, ids=IDS)
def test_moments_median_support_match_scipy(dist: Univariate) -> None:
    ref = dist.to_scipy()
    np.testing.assert_allclose(dist.moments(), (ref.mean(), ref.std()), rtol=1e-12, atol=0)
    np.testing.assert_allclose(dist.median, ref.median(), rtol=1e-12)
    np.testing.assert_allclose(dist.support, ref.support(), rtol=1e-12)
    x = dist.ppf(U)
    assert np.all((x >= dist.support[0]) & (x <= dist.support[1]))
    if not isinstance(dist, TruncatedNormal):  # its mean and sd are the parent's
        assert (dist.mean, dist.sd) == dist.moments()


@pytest.mark.parametrize("dist", INSTANCES, ids=IDS)
def test_ppf_is_monotone_and_keeps_shape(dist: Univariate) -> None:
    x = dist.ppf(U)
    assert np.all(np.diff(x) >= 0)
    if not isinstance(dist, Fixed):
        assert x[-1] > x[0]
    assert dist.ppf(0.3).shape == ()
    assert dist.ppf(U.reshape(10, 100)).shape == (10, 100)


@pytest.mark.parametrize("dist", INSTANCES, ids=IDS)
def test_kernel_matches_ppf(dist: Univariate) -> None:
    code, p = dist.kernel_spec()
    assert code == CODES[dist.name] and len(p) == 4
    got = kernel_ppf(code, np.array(p), U)
    np.testing.assert_allclose(got, dist.ppf(U), rtol=1e-12, atol=0)
    if isinstance(dist, Beta | PERT | Gamma | Uniform | Fixed):  # same SciPy function
        np.testing.assert_array_equal(got, dist.ppf(U))


@pytest.mark.parametrize(
    "dist", [*INSTANCES, Dirichlet((0.5, 0.3, 0.2, 0.0), 80.0)], ids=[*IDS, "dirichlet"]
)
def test_dict_round_trip_and_frozen(dist) -> None:
    assert from_dict(dist.to_dict()) == dist
    assert make(dist.name, **dist.params()) == dist
    assert dist.to_dict()["dist"] == dist.name
    field = dataclasses.fields(dist)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(dist, field, 1.0)


def test_lognormal_gsd_one_is_a_point_mass() -> None:
    d = LogNormal(0.02, 1.0)
    np.testing.assert_array_equal(d.ppf(U), np.full(U.shape, 0.02))
    assert d.kernel_spec() == (CODES["fixed"], (0.02, 0.0, 0.0, 0.0))
    assert (d.mean, d.sd, d.support) == (0.02, 0.0, (0.02, 0.02))
    assert d.to_scipy().ppf(0.7) == 0.02


def test_lognormal_hand_values() -> None:
    d = LogNormal(2.0, math.e)  # sigma = 1
    assert math.isclose(d.mean, 2.0 * math.exp(0.5), rel_tol=1e-12)
    assert math.isclose(d.sd, 2.0 * math.exp(0.5) * math.sqrt(math.e - 1), rel_tol=1e-12)
    assert math.isclose(float(d.ppf(sc.ndtr(1.0))), 2.0 * math.e, rel_tol=1e-12)


def test_pert_and_beta_from_mean_sd() -> None:
    d = PERT(1.0, 2.0, 4.0)
    assert math.isclose(d.mean, (1 + 4 * 2 + 4) / 6, rel_tol=1e-12)
    b = Beta.from_mean_sd(0.9, 0.05)
    assert math.isclose(b.mean, 0.9, rel_tol=1e-12) and math.isclose(b.sd, 0.05, rel_tol=1e-12)
    b = Beta.from_mean_sd(12.0, 1.5, low=10.0, high=20.0)
    assert b.support == (10.0, 20.0)
    assert math.isclose(b.mean, 12.0, rel_tol=1e-12) and math.isclose(b.sd, 1.5, rel_tol=1e-12)


# ---- truncated normal: every branch of the tail-safe inverse --------------------------

TRUNC_CASES = [
    (-math.inf, -3.0),
    (-6.0, -4.0),
    (4.0, 6.0),
    (5.0, math.inf),
    (-2.0, 1.5),
    (-1.0, 8.0),
    (-0.001, 0.002),
]


@pytest.mark.parametrize(("a", "b"), TRUNC_CASES)
def test_truncnormal_branches_match_scipy_and_kernel(a: float, b: float) -> None:
    d = TruncatedNormal(10.0, 2.0, 10.0 + 2.0 * a, 10.0 + 2.0 * b)
    u = U[(U >= 1e-6) & (U <= 1 - 1e-6)]  # beyond, SciPy's own truncnorm loses digits
    np.testing.assert_allclose(d.ppf(u), d.to_scipy().ppf(u), rtol=1e-12)
    np.testing.assert_allclose(d.moments(), (d.to_scipy().mean(), d.to_scipy().std()), rtol=1e-9)
    code, p = d.kernel_spec()
    np.testing.assert_allclose(kernel_ppf(code, np.array(p), U), d.ppf(U), rtol=1e-12)
    x = d.ppf(U)
    assert np.all(np.diff(x) >= 0) and x[0] >= d.low and x[-1] <= d.high


def test_truncnormal_far_upper_tail_is_exact() -> None:
    # Phi(8) rounds to 1 - 6.7e-16; the median of N(0, 1) on [8, inf) solves
    # Q(x) = Q(8) / 2 and needs the survival-function form.
    d = TruncatedNormal(0.0, 1.0, 8.0)
    expected = -sc.ndtri(0.5 * sc.ndtr(-8.0))
    assert math.isclose(d.median, expected, rel_tol=1e-14)
    code, p = d.kernel_spec()
    assert math.isclose(ppf_kernel(code, *p, 0.5), expected, rel_tol=1e-14)


def test_truncnormal_mirror_symmetry_is_exact() -> None:
    u = U[U >= 0.5]  # 1 - u and 1 - (1 - u) are exact
    lower, upper = TruncatedNormal(0.0, 1.0, -7.0, -3.0), TruncatedNormal(0.0, 1.0, 3.0, 7.0)
    np.testing.assert_array_equal(lower.ppf(u), -upper.ppf(1.0 - u))


@settings(max_examples=60, deadline=None)
@given(
    mean=st.floats(-5, 5),
    sd=st.floats(0.01, 3),
    a=st.floats(-9, 9),
    width=st.floats(0.01, 12),
    u=st.floats(1e-12, 1 - 1e-12),
)
def test_truncnormal_kernel_equals_ppf_inside_bounds(mean, sd, a, width, u) -> None:
    d = TruncatedNormal(mean, sd, mean + a * sd, mean + (a + width) * sd)
    code, p = d.kernel_spec()
    x = float(d.ppf(u))
    assert d.low <= x <= d.high
    assert math.isclose(ppf_kernel(code, *p, u), x, rel_tol=1e-12, abs_tol=1e-13 * sd)


# ---- Dirichlet --------------------------------------------------------------------------


def test_dirichlet_rows_sum_to_one_and_mean_is_shares() -> None:
    d = Dirichlet((0.5, 0.3, 0.0, 0.2), 60.0)
    u = np.random.default_rng(7).random((20_000, 4))
    x = d.ppf(u)
    assert x.shape == (20_000, 4) and d.dim == 4
    np.testing.assert_allclose(x.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(x[:, 2] == 0.0)
    se = d.sd / math.sqrt(len(x))
    assert np.all(np.abs(x.mean(axis=0) - d.shares) <= 5 * se + 1e-15)
    np.testing.assert_array_equal(d.mean, d.shares)
    np.testing.assert_allclose(d.alphas, [30.0, 18.0, 0.0, 12.0], rtol=1e-15)
    full = Dirichlet((0.5, 0.3, 0.2), 60.0)
    np.testing.assert_allclose(full.sd**2, full.to_scipy().var(), rtol=1e-12)
    assert full.ppf(u[0, :3]).shape == (3,)


# ---- errors -----------------------------------------------------------------------------

ERRORS = [
    (lambda: LogNormal(0.006, 0.9), "LogNormal: 'gsd' must be >= 1 (got 0.9)"),
    (lambda: LogNormal(0.0, 1.2), "LogNormal: 'median' must be > 0 (got 0)"),
    (lambda: LogNormal("a", 1.2), "LogNormal: 'median' must be a real number (got 'a')"),
    (lambda: LogNormal(True, 1.2), "LogNormal: 'median' must be a real number (got True)"),
    (lambda: Normal(math.nan, 1.0), "Normal: 'mean' must be finite (got nan)"),
    (lambda: Normal(1.0, 0), "Normal: 'sd' must be > 0 (got 0)"),
    (lambda: TruncatedNormal(0, 1, 2, 1), "TruncatedNormal: must have low < high (got low=2, high=1)"),
    (lambda: TruncatedNormal(0, 1, 50, 60), "TruncatedNormal: [low, high] has no probability mass"),
    (lambda: TruncatedNormal(0, -1, 0, 1), "TruncatedNormal: 'sd' must be > 0 (got -1)"),
    (lambda: TruncatedNormal(0, 1, math.nan, 1), "TruncatedNormal: 'low' must be finite (got nan)"),
    (lambda: Uniform(1, 1), "Uniform: must have low < high (got low=1, high=1)"),
    (lambda: Uniform(0, math.inf), "Uniform: 'high' must be finite (got inf)"),
    (lambda: Triangular(3, 2, 1), "Triangular: must have low <= mode <= high (got low=3, mode=2, high=1)"),
    (lambda: Triangular(1, 1, 1), "Triangular: must have low < high (got low=1, high=1)"),
    (lambda: PERT(0, 5, 4), "PERT: must have low <= mode <= high (got low=0, mode=5, high=4)"),
    (lambda: Beta(-1, 2), "Beta: 'a' must be > 0 (got -1)"),
    (lambda: Beta(1, 0), "Beta: 'b' must be > 0 (got 0)"),
    (lambda: Beta(1, 2, 1, 0), "Beta: must have low < high (got low=1, high=0)"),
    (lambda: Beta.from_mean_sd(0.9, 0.35), "Beta.from_mean_sd: 'sd' must be in (0, 0.3) for a beta with mean 0.9 on [0, 1] (got 0.35)"),
    (lambda: Beta.from_mean_sd(1.2, 0.1), "Beta.from_mean_sd: 'mean' must be inside (low, high) = (0, 1) (got 1.2)"),
    (lambda: Gamma(0, 1), "Gamma: 'shape' must be > 0 (got 0)"),
    (lambda: Gamma(1, -2), "Gamma: 'scale' must be > 0 (got -2)"),
    (lambda: Fixed(math.inf), "Fixed: 'value' must be finite (got inf)"),
    (lambda: Dirichlet((0.5, 0.47), 50), "Dirichlet: 'shares' must sum to 1 (got 0.97)"),
    (lambda: Dirichlet((1.1, -0.1), 50), "Dirichlet: 'shares' must be >= 0 (got -0.1 at index 1)"),
    (lambda: Dirichlet((0.5, 0.5), 0), "Dirichlet: 'concentration' must be > 0 (got 0)"),
    (lambda: Dirichlet((), 1), "Dirichlet: 'shares' must not be empty"),
    (lambda: Dirichlet("ab", 1), "Dirichlet: 'shares' must be a sequence of numbers (got 'ab')"),
    (lambda: Dirichlet((0.5, 0.5), 2).ppf(np.ones((4, 3)) / 2), "Dirichlet.ppf: 'u' must have shape (..., 2) (got (4, 3))"),
    (lambda: make("lognorm"), "unknown distribution 'lognorm'; valid names: beta, dirichlet, fixed, gamma, lognormal, normal, pert, triangular, trunclognormal, truncnormal, uniform"),
    (lambda: make("lognormal", median=1, sigma=0.2), "LogNormal: unknown parameter 'sigma' (parameters: median, gsd)"),
    (lambda: make("lognormal", median=1), "LogNormal: missing parameter 'gsd' (parameters: median, gsd)"),
    (lambda: make("beta", low=0), "Beta: missing parameters 'a', 'b' (parameters: a, b, low, high)"),
    (lambda: from_dict({"median": 1, "gsd": 2}), "a distribution mapping needs a 'dist' key naming the distribution (got keys: median, gsd)"),
    (lambda: from_dict([1, 2]), "a distribution must be a mapping (got [1, 2])"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "message"), ERRORS, ids=[m[:48] for _, m in ERRORS])
def test_error_messages(build, message: str) -> None:
    with pytest.raises(DistributionError, match=re.escape(message)):
        build()


def test_distribution_error_is_a_value_error() -> None:
    assert issubclass(DistributionError, ValueError)


def test_make_and_from_dict() -> None:
    assert from_dict({"dist": "lognormal", "median": 0.006, "gsd": 1.2}) == LogNormal(0.006, 1.2)
    one_sided = make("TruncNormal", mean=1, sd=0.1, low=0)
    assert one_sided == TruncatedNormal(1.0, 0.1, 0.0, math.inf)
    assert one_sided.to_dict() == {"dist": "truncnormal", "mean": 1.0, "sd": 0.1, "low": 0.0}
    assert from_dict(one_sided.to_dict()) == one_sided
    d = from_dict({"dist": "dirichlet", "shares": [0.25, 0.75], "concentration": 10})
    assert d == Dirichlet((0.25, 0.75), 10.0) and d.to_dict()["shares"] == [0.25, 0.75]


# ---- stats_arrays -----------------------------------------------------------------------

NAN = math.nan
STATS_ARRAYS = [
    ({"uncertainty type": 0, "amount": 4.0, "loc": NAN}, Fixed(4.0)),
    ({"uncertainty_type": 1, "loc": 2.5}, Fixed(2.5)),
    ({"uncertainty type": 2, "amount": 0.006, "loc": math.log(0.006), "scale": 0.2}, LogNormal(0.006, math.exp(0.2))),
    ({"uncertainty type": 2, "amount": 0.006, "scale": 0.0}, LogNormal(0.006, 1.0)),
    ({"uncertainty type": 3, "loc": 5.0, "scale": 0.5, "minimum": NAN, "maximum": None}, Normal(5.0, 0.5)),
    ({"uncertainty type": 3, "amount": 5.0, "scale": 0.5, "minimum": 4.0}, TruncatedNormal(5.0, 0.5, 4.0, math.inf)),
    ({"uncertainty type": 4, "minimum": 1.0, "maximum": 2.0, "negative": False}, Uniform(1.0, 2.0)),
    ({"uncertainty type": 5, "minimum": 35.0, "loc": 47.0, "maximum": 70.0}, Triangular(35.0, 47.0, 70.0)),
    ({"uncertainty type": 9, "shape": 2.0, "scale": 3.0, "loc": NAN}, Gamma(2.0, 3.0)),
    ({"uncertainty type": 10, "loc": 2.0, "shape": 5.0, "scale": NAN}, Beta(2.0, 5.0, 0.0, 1.0)),
    ({"uncertainty type": 10, "loc": 2.0, "shape": 5.0, "minimum": 1.0, "maximum": 3.0}, Beta(2.0, 5.0, 1.0, 3.0)),
    ({"uncertainty type": 13, "minimum": 0.8, "loc": 0.9, "maximum": 0.95}, PERT(0.8, 0.9, 0.95)),
    ({"uncertainty type": np.int64(13), "minimum": 1, "amount": 2, "maximum": 4, "scale": 4}, PERT(1.0, 2.0, 4.0)),
]  # fmt: skip


@pytest.mark.parametrize(("mapping", "expected"), STATS_ARRAYS)
def test_from_stats_arrays(mapping, expected) -> None:
    got = from_stats_arrays({"input": ("db", "code"), **mapping})
    assert type(got) is type(expected)
    for k, v in expected.params().items():
        assert math.isclose(getattr(got, k), v, rel_tol=1e-15), k


def test_stats_arrays_beta_uses_loc_alpha_shape_beta() -> None:
    d = from_stats_arrays(
        {"uncertainty type": 10, "loc": 2.0, "shape": 5.0, "minimum": 1.0, "maximum": 3.0}
    )
    assert math.isclose(d.mean, 1.0 + 2.0 * 2.0 / 7.0, rel_tol=1e-12)


UNSUPPORTED = [
    (6, "bernoulli"), (7, "discrete uniform"), (8, "weibull"), (11, "generalized extreme value"),
    (12, "student's t"), (42, "unknown"), (-1, "unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "label"), UNSUPPORTED)
def test_stats_arrays_unsupported_types(kind: int, label: str) -> None:
    message = (
        f"stats_arrays uncertainty type {kind} ({label}) is not supported; "
        "supported types: 0, 1, 2, 3, 4, 5, 9, 10, 13"
    )
    with pytest.raises(DistributionError, match=re.escape(message)):
        from_stats_arrays({"uncertainty type": kind, "loc": 1.0, "scale": 1.0})


STATS_ARRAYS_ERRORS = [
    ({"amount": 1.0}, "stats_arrays: mapping has no 'uncertainty type' key"),
    ({"uncertainty type": 2.5}, "stats_arrays: 'uncertainty type' must be an integer (got 2.5)"),
    ({"uncertainty type": 2, "uncertainty_type": 3}, "'uncertainty type' (2) and 'uncertainty_type' (3) disagree"),
    ({"uncertainty type": 2, "loc": 0.0, "scale": 0.1, "negative": True}, "stats_arrays lognormal (type 2): 'negative': True (a negated distribution) is not supported"),
    ({"uncertainty type": 2, "loc": 0.0}, "stats_arrays lognormal (type 2) needs 'scale'"),
    ({"uncertainty type": 2, "amount": -3.0, "scale": 0.1}, "stats_arrays lognormal (type 2): 'amount' must be > 0 (got -3)"),
    ({"uncertainty type": 0}, "stats_arrays undefined (type 0) needs 'amount' (or 'loc')"),
    ({"uncertainty type": 4, "minimum": 1.0}, "stats_arrays uniform (type 4) needs 'maximum'"),
    ({"uncertainty type": 9, "shape": 2.0, "scale": 1.0, "loc": 3.0}, "stats_arrays gamma (type 9): an offset 'loc' is not supported (got 3)"),
    ({"uncertainty type": 10, "loc": 2.0, "shape": 3.0, "scale": 5.0}, "stats_arrays beta (type 10): 'scale' is ambiguous"),
    ({"uncertainty type": 13, "minimum": 0, "loc": 1, "maximum": 2, "scale": 3}, "stats_arrays beta-PERT (type 13): only the classic lambda = 4 is supported (got scale=3)"),
    ({"uncertainty type": 3, "loc": 1.0, "scale": -1.0}, "Normal: 'sd' must be > 0 (got -1)"),
]  # fmt: skip


@pytest.mark.parametrize(("mapping", "message"), STATS_ARRAYS_ERRORS)
def test_stats_arrays_errors(mapping, message: str) -> None:
    with pytest.raises(DistributionError, match=re.escape(message)):
        from_stats_arrays(mapping)


# ---- pedigree ---------------------------------------------------------------------------


def test_pedigree_hand_computed() -> None:
    # scores (2, 3, 1, 4, 5): U = 1.05, 1.05, 1.00, 1.05, 2.00; basic GSD 1.1 -> U_b = 1.21
    # sigma = 0.5 sqrt(ln(1.21)^2 + 3 ln(1.05)^2 + ln(2)^2) = 0.5 sqrt(0.52393056) = 0.36191524
    sigma = 0.5 * math.sqrt(math.log(1.21) ** 2 + 3 * math.log(1.05) ** 2 + math.log(2.0) ** 2)
    assert math.isclose(sigma, 0.36191524414, rel_tol=1e-10)
    gsd = pedigree_gsd((2, 3, 1, 4, 5), basic_gsd=1.1)
    assert math.isclose(gsd, math.exp(sigma), rel_tol=1e-12)
    assert math.isclose(gsd, 1.4360772208, rel_tol=1e-10)
    assert math.isclose(pedigree_gsd([1, 1, 1, 1, 1]), 1.05, rel_tol=1e-12)
    assert pedigree_gsd((1, 1, 1, 1, 1), basic_gsd=1.0) == 1.0
    by_name = dict(zip(PEDIGREE_FACTORS, (2, 3, 1, 4, 5), strict=True))
    assert pedigree_gsd(by_name, 1.1) == pedigree_gsd(np.array([2, 3, 1, 4, 5]), 1.1)
    assert PEDIGREE_FACTORS["further technological correlation"] == (1.0, 1.05, 1.2, 1.5, 2.0)


PEDIGREE_ERRORS = [
    ((1, 2, 3, 4), "pedigree: scores must be 5 integers 1..5"),
    ("12345", "pedigree: scores must be 5 integers 1..5"),
    ((1, 2, 6, 4, 5), "pedigree: 'temporal correlation' score must be an integer 1..5 (got 6)"),
    ((1, 2, 3, 2.5, 5), "pedigree: 'geographical correlation' score must be an integer 1..5 (got 2.5)"),
    ((True, 2, 3, 4, 5), "pedigree: 'reliability' score must be an integer 1..5 (got True)"),
    ({"reliability": 1}, "pedigree: scores need exactly the keys"),
]  # fmt: skip


@pytest.mark.parametrize(("scores", "message"), PEDIGREE_ERRORS)
def test_pedigree_errors(scores, message: str) -> None:
    with pytest.raises(DistributionError, match=re.escape(message)):
        pedigree_gsd(scores)


def test_pedigree_basic_gsd_below_one() -> None:
    with pytest.raises(
        DistributionError, match=re.escape("pedigree: 'basic_gsd' must be >= 1 (got 0.9)")
    ):
        pedigree_gsd((1, 1, 1, 1, 1), basic_gsd=0.9)


# ---- the contract path: uncertainty.dists re-exports statsarrays -----------------------


def test_dists_re_exports_statsarrays() -> None:
    # the public API names uncertainty.dists.from_stats_arrays and .pedigree_gsd; they
    # live in uncertainty.dists.statsarrays and the package re-exports them.
    for name in statsarrays.__all__:
        assert name in dists.__all__
        assert getattr(dists, name) is getattr(statsarrays, name)
        assert name in dir(dists)  # help() and tab completion see them
    uniform = {"uncertainty type": 4, "minimum": 1.0, "maximum": 2.0}
    assert dists.from_stats_arrays(uniform) == Uniform(1.0, 2.0)
    assert math.isclose(dists.pedigree_gsd((1, 1, 1, 1, 1), 1.05), 1.05, rel_tol=1e-12)
    message = "module 'uncertainty.dists' has no attribute 'nope'"
    with pytest.raises(AttributeError, match=re.escape(message)):
        _ = dists.nope


# ---- ndtri_fast -------------------------------------------------------------------------


@njit
def ndtri_fast_array(p):
    out = np.empty_like(p)
    for i in range(p.size):
        out[i] = ndtri_fast(p[i])
    return out


def test_ndtri_fast_against_scipy() -> None:
    rng = np.random.default_rng(2024)
    lower = 10.0 ** rng.uniform(-300, -1, 250_000)
    upper = 1.0 - 10.0 ** rng.uniform(-16, -1, 250_000)
    p = np.concatenate([rng.random(500_000), lower, upper])
    got, ref = ndtri_fast_array(p), sc.ndtri(p)
    assert np.all(np.isfinite(got))
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
    # Both are accurate to about 2.5 ulp; SciPy's ndtri alone is off by up to 8.8e-16
    # near p = 0.14 (see the reference test), so the two can differ by a little more
    # than 1e-15 there.
    assert rel.max() <= 1.25e-15
    assert np.mean(rel > 1e-15) < 1e-4


def _phi_decimal(x: Decimal) -> Decimal:
    """Standard normal CDF to about 65 digits (Taylor series of erf; |x| <= 7)."""
    z = x / Decimal(2).sqrt()
    term, total, n = z, Decimal(0), 0
    while abs(term) > Decimal("1e-75"):
        total += term / (2 * n + 1)
        n += 1
        term = -term * z * z / n
    pi = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781")
    return (1 + 2 * total / pi.sqrt()) / 2


def test_ndtri_fast_against_high_precision_reference() -> None:
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.random(120), 10.0 ** rng.uniform(-10, -1, 40), [0.1386270546081548]])
    got = ndtri_fast_array(p)
    with localcontext() as ctx:
        ctx.prec = 80
        two_pi = 2 * Decimal(
            "3.14159265358979323846264338327950288419716939937510582097494459230781"
        )
        worst = 0.0
        for pi, gi in zip(p, got, strict=True):
            target, x = Decimal(pi), Decimal(float(gi))
            for _ in range(2):  # Newton from a 1e-16 start: 1e-32, then 1e-64
                x -= (_phi_decimal(x) - target) / ((-x * x / 2).exp() / two_pi.sqrt())
            worst = max(worst, float(abs((Decimal(float(gi)) - x) / x)))
    assert worst <= 4.5e-16


def test_ndtri_fast_special_values_and_symmetry() -> None:
    assert ndtri_fast(0.0) == -math.inf and ndtri_fast(1.0) == math.inf
    assert ndtri_fast(0.5) == 0.0
    for bad in (-0.1, 1.1, math.nan):
        assert math.isnan(ndtri_fast(bad))
    p = np.random.default_rng(3).uniform(0.5, 1.0, 1000)  # 1 - p is exact
    np.testing.assert_array_equal(ndtri_fast_array(1.0 - p), -ndtri_fast_array(p))
    assert ndtri_fast(1e-300) == pytest.approx(sc.ndtri(1e-300), rel=1e-15)


@njit
def _special_sym(x):
    out = np.empty((4, x.size))
    for i in range(x.size):
        out[0, i] = ndtri_sym(x[i])
        out[1, i] = ndtr_sym(x[i])
        out[2, i] = gammaincinv_sym(2.5, x[i])
        out[3, i] = betaincinv_sym(2.5, 0.5, x[i])
    return out


def test_symbol_bound_special_functions_equal_scipy() -> None:
    x = np.random.default_rng(9).random(1000)
    got = _special_sym(x)
    ref = [sc.ndtri(x), sc.ndtr(x), sc.gammaincinv(2.5, x), sc.betaincinv(2.5, 0.5, x)]
    np.testing.assert_array_equal(got, np.array(ref))


def _call_kernel(code, p, u):
    return ppf_kernel(code, p[0], p[1], p[2], p[3], u)


def test_kernel_callers_can_be_cached() -> None:
    # numba refuses to cache a function that calls a ctypes pointer, with a NumbaWarning
    caller = njit(cache=True)(_call_kernel)
    for dist in INSTANCES:
        code, p = dist.kernel_spec()
        with warnings.catch_warnings():
            warnings.simplefilter("error", NumbaWarning)
            assert math.isclose(caller(code, np.array(p), 0.3), float(dist.ppf(0.3)), rel_tol=1e-12)
