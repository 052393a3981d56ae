"""Tests of uncertainty.rng: Sobol points and the counter-based generator."""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest
from numba import njit
from scipy import stats
from scipy.stats import qmc

from uncertainty.rng import (
    _philox4x32_10_numpy,
    _unit42,
    dirichlet_variate,
    gamma_variate,
    philox4x32_10,
    sobol_points,
    uniform,
    uniform_triple,
    uniforms,
    uniforms_numpy,
)


def test_sobol_points_match_scipy_and_lie_in_open_unit_interval() -> None:
    points = sobol_points(64, 5, seed=3)
    expected = qmc.Sobol(5, scramble=True, rng=np.random.default_rng(3)).random(64)
    assert points.shape == (64, 5)
    np.testing.assert_array_equal(points, np.clip(expected, 2.0**-53, 1.0 - 2.0**-53))
    assert np.all(points > 0.0) and np.all(points < 1.0)


def test_sobol_points_in_pieces_equal_one_call() -> None:
    whole = sobol_points(128, 7, seed=11)
    pieces = [(0, 32), (32, 32), (64, 5), (69, 59)]
    joined = np.vstack([sobol_points(n, 7, seed=11, start=s) for s, n in pieces])
    np.testing.assert_array_equal(joined, whole)
    doubled = np.vstack([sobol_points(64, 7, seed=11), sobol_points(64, 7, seed=11, start=64)])
    np.testing.assert_array_equal(doubled, whole)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0, "d": 2, "seed": 0}, "'n' must be positive"),
        ({"n": 4, "d": 0, "seed": 0}, "'d' must be positive"),
        ({"n": 4, "d": 2.0, "seed": 0}, "'d' must be an integer"),
        ({"n": 4, "d": 2, "seed": -1}, "'seed' must be non-negative"),
        ({"n": 4, "d": 2, "seed": True}, "'seed' must be an integer"),
        ({"n": 4, "d": 2, "seed": 0, "start": -1}, "'start' must be non-negative"),
        ({"n": 4, "d": 2, "seed": 0, "start": 2**30}, r"'start \+ n' must be <= 2\*\*30"),
    ],
)
def test_sobol_points_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sobol_points(**kwargs)


# --- Philox4x32-10 -------------------------------------------------------------------

MASK32 = 2**32 - 1
MASK64 = 2**64 - 1


def _words(value: int, n: int) -> list[int]:
    """Little-endian 32-bit words of a non-negative integer."""
    return [(value >> (32 * i)) & MASK32 for i in range(n)]


@njit
def _philox_many(counters: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Call philox4x32_10 from inside another jitted function, one row at a time."""
    out = np.empty_like(counters)
    for i in range(counters.shape[0]):
        c = counters[i]
        k = keys[i]
        x0, x1, x2, x3 = philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1])
        out[i, 0] = x0
        out[i, 1] = x1
        out[i, 2] = x2
        out[i, 3] = x3
    return out


# Random123 known-answer vectors, philox4x32 10 rounds: (counter, key, expected), from
# Random123's tests/kat_vectors (the third counter and key are the hex digits of pi).
KAT_PHILOX4X32_10 = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([MASK32] * 4, [MASK32] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]  # fmt: skip


@pytest.mark.parametrize(("counter", "key", "expected"), KAT_PHILOX4X32_10)
def test_philox_matches_random123_known_answers(
    counter: list[int], key: list[int], expected: list[int]
) -> None:
    got = philox4x32_10(*(np.uint64(w) for w in counter), *(np.uint64(w) for w in key))
    assert [int(w) for w in got] == expected
    c = [np.array([w], dtype=np.uint64) for w in counter]
    got_numpy = _philox4x32_10_numpy(*c, key[0], key[1])
    assert [int(w[0]) for w in got_numpy] == expected


def _randomgen_philox_blocks(first_counter: int, key: int, n_blocks: int) -> np.ndarray:
    """Blocks first_counter .. first_counter+n_blocks-1 (mod 2**128) from randomgen's
    ``Philox(number=4, width=32)``, a well-kept independent implementation.

    Like NumPy's Philox, it increments the 128-bit counter *before* each block and
    returns the block's four words in order (one 32-bit word per ``random_raw``
    value), so start one below the wanted counter.
    """
    from randomgen import Philox

    bitgen = Philox(number=4, width=32, counter=(first_counter - 1) % 2**128, key=key)
    return bitgen.random_raw(4 * n_blocks).reshape(n_blocks, 4)


def test_philox_matches_randomgen_philox_bit_for_bit() -> None:
    rng = np.random.default_rng(20240611)
    starts = [0, 1, 2**32 - 3, 2**64 - 2, 2**96 - 1, 2**128 - 2]
    starts += [int(w) for w in rng.integers(0, 2**63, size=4, dtype=np.uint64) << np.uint64(1)]
    starts += [int.from_bytes(rng.bytes(16), "little") for _ in range(6)]
    keys = [0, 1, MASK32, 2**32 + 5, MASK64]
    keys += [int.from_bytes(rng.bytes(8), "little") for _ in range(5)]
    n_blocks = 6
    counters, key_rows, expected = [], [], []
    for start in starts:
        for key in keys:
            expected.append(_randomgen_philox_blocks(start, key, n_blocks))
            for b in range(n_blocks):
                counters.append(_words((start + b) % 2**128, 4))
                key_rows.append(_words(key, 2))
    counters_a = np.array(counters, dtype=np.uint64)
    keys_a = np.array(key_rows, dtype=np.uint64)
    expected_a = np.concatenate(expected).astype(np.uint64)
    # The runs cross word boundaries: carries into c1, c2, c3 and the 2**128 wrap.
    seen = {tuple(row) for row in counters_a.tolist()}
    assert {(0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0), (1, 0, 0, 0)} <= seen
    np.testing.assert_array_equal(_philox_many(counters_a, keys_a), expected_a)
    for key in keys:
        rows = np.all(keys_a == np.array(_words(key, 2), dtype=np.uint64), axis=1)
        got_numpy = np.stack(
            _philox4x32_10_numpy(*counters_a[rows].T.copy(), *_words(key, 2)), axis=1
        )
        np.testing.assert_array_equal(got_numpy, expected_a[rows])


def _layout_words(seed: int, sample: int, call: int, substream: int) -> list[int]:
    """The four words of a call as the module docstring lays out its counter, from
    randomgen's Philox4x32-10 and Python integers."""
    counter = _words(sample, 2)[0] + (call << 32) + ((sample >> 32) << 64) + (substream << 96)
    return [int(w) for w in _randomgen_philox_blocks(counter, seed, 1)[0]]


def _layout_triple(seed: int, sample: int, call: int) -> list[float]:
    """The three 42-bit uniforms of a call of substream 0."""
    x = _layout_words(seed, sample, call, 0)
    return [((x[q] << 10) + ((x[3] >> (10 * q)) & 1023) + 0.5) * 2.0**-42 for q in range(3)]


@pytest.mark.parametrize(("seed", "sample", "call"),
                         [(12345, 77, 9), (2**64 - 1, 2**40 + 3, 2**32 - 1), (0, 0, 0)])
def test_uniforms_follow_randomgen_philox_with_the_documented_layout(
    seed: int, sample: int, call: int
) -> None:
    expected = _layout_triple(seed, sample, call)
    assert uniform_triple(np.uint64(seed), np.uint64(sample), call) == tuple(expected)
    assert [uniform(np.uint64(seed), np.uint64(sample), 3 * call + q)
            for q in range(3)] == expected
    samples = np.array([sample], dtype=np.uint64)
    assert uniforms_numpy(seed, samples, 3 * call + np.arange(3))[0].tolist() == expected


def test_gamma_attempts_read_the_documented_calls() -> None:
    # attempt 0 accepted by the squeeze is d * v from the three uniforms of call
    # ``param`` of substream 1; with shape < 1 the boost is the parameter's own uniform
    seed, param = 99, 5
    for shape in (1.0, 0.4):
        a = shape + 1.0 if shape < 1.0 else shape
        d = a - 1.0 / 3.0
        c = 1.0 / np.sqrt(9.0 * d)
        for sample in range(20):
            x = _layout_words(seed, sample, param, 1)
            u0, u1, u2 = [((x[q] << 10) + ((x[3] >> (10 * q)) & 1023) + 0.5) * 2.0**-42
                          for q in range(3)]
            z = np.sqrt(-2.0 * np.log(u0)) * np.cos(2.0 * np.pi * u1)
            v = (1.0 + c * z) ** 3
            if 1.0 + c * z > 0 and u2 < 1.0 - 0.0331 * z**4:
                boost = _layout_triple(seed, sample, param // 3)[param % 3] ** (1.0 / shape) \
                    if shape < 1.0 else 1.0
                assert gamma_variate(seed, sample, param, shape) == pytest.approx(
                    d * v * boost, rel=1e-13)
                break
        else:
            pytest.fail("no first attempt accepted by the squeeze in 20 samples")


def test_unit42_conversion_is_exact_and_open() -> None:
    zero, top, top10 = np.uint64(0), np.uint64(MASK32), np.uint64(1023)
    assert _unit42(zero, zero) == 2.0**-43
    assert _unit42(top, top10) == 1.0 - 2.0**-43
    assert _unit42(zero, np.uint64(1)) == 1.5 * 2.0**-42
    assert _unit42(np.uint64(1), zero) == (1024 + 0.5) * 2.0**-42
    rs = np.random.default_rng(6)
    for hi, lo in zip(rs.integers(0, 2**32, 300, dtype=np.uint64),
                      rs.integers(0, 1024, 300, dtype=np.uint64), strict=True):
        assert _unit42(hi, lo) == ((int(hi) << 10) + int(lo) + 0.5) * 2.0**-42


# --- uniforms -------------------------------------------------------------------------


@njit
def _uniform_loop(seed: int, start: int, count: int, params: np.ndarray) -> np.ndarray:
    out = np.empty((count, params.size))
    for i in range(count):
        for j in range(params.size):
            out[i, j] = uniform(seed, start + i, params[j])
    return out


PARAMS = np.array([0, 1, 2, 3, 4, 5, 13, 12, 40, 41, 7, 7, 1000, 3], dtype=np.int64)


@pytest.mark.parametrize("seed", [0, 1, np.uint64(2**63 + 11)])
def test_uniforms_agree_across_implementations_splits_and_threads(seed: int) -> None:
    start, count = 1000, 503
    whole = uniforms(seed, start, count, PARAMS)
    assert whole.shape == (count, PARAMS.size)
    assert np.all(whole > 0.0) and np.all(whole < 1.0)
    np.testing.assert_array_equal(whole, _uniform_loop(seed, start, count, PARAMS))
    samples = np.arange(start, start + count)
    np.testing.assert_array_equal(whole, uniforms_numpy(int(seed), samples, PARAMS))
    cuts = [0, 1, 2, 100, 101, 400, count]
    pieces = [uniforms(seed, start + a, b - a, PARAMS) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_array_equal(np.vstack(pieces), whole)
    threads = numba.get_num_threads()
    try:
        for n in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(n)
            np.testing.assert_array_equal(uniforms(seed, start, count, PARAMS), whole)
    finally:
        numba.set_num_threads(threads)


def test_uniforms_numpy_handles_any_sample_order() -> None:
    samples = np.array([5, 2**40, 0, 5, 3])
    got = uniforms_numpy(9, samples, PARAMS)
    for i, s in enumerate(samples):
        np.testing.assert_array_equal(got[i], uniforms(9, int(s), 1, PARAMS)[0])


def test_uniforms_are_uniform_and_streams_are_distinct() -> None:
    draws = uniforms(2024, 0, 12_500, np.arange(8, dtype=np.int64))
    assert stats.kstest(draws.ravel(), "uniform").pvalue > 1e-3
    # Different seeds, samples and parameters give different numbers.
    other = uniforms(2025, 0, 12_500, np.arange(8, dtype=np.int64))
    assert np.mean(draws == other) == 0.0
    assert abs(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]) < 4 / np.sqrt(12_500)


def test_uniforms_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        uniforms(0, -1, 3, PARAMS)
    with pytest.raises(ValueError, match="parameter indices must be non-negative"):
        uniforms(0, 0, 3, np.array([1, -2], dtype=np.int64))
    with pytest.raises(ValueError, match="below 3 \\* 2\\*\\*32"):
        uniforms(0, 0, 3, np.array([3 * 2**32], dtype=np.int64))
    uniforms(0, 0, 1, np.array([3 * 2**32 - 1], dtype=np.int64))  # the last one is valid
    with pytest.raises(ValueError, match="'params' must be below 3"):
        uniforms_numpy(0, np.array([1]), np.array([3 * 2**32]))
    with pytest.raises(ValueError, match="'samples' must be non-negative"):
        uniforms_numpy(0, np.array([-1]), PARAMS)
    with pytest.raises(ValueError, match="'params' must be a 1-d array of integers"):
        uniforms_numpy(0, np.array([1]), np.array([0.5]))
    with pytest.raises(ValueError, match="'seed' must be < 2"):
        uniforms_numpy(2**64, np.array([1]), PARAMS)


# --- gamma and Dirichlet --------------------------------------------------------------


@njit(parallel=True)
def _gamma_draws(seed: int, start: int, count: int, param: int, shape: float) -> np.ndarray:
    out = np.empty(count)
    for i in numba.prange(count):
        out[i] = gamma_variate(seed, start + i, param, shape)
    return out


@pytest.mark.parametrize("shape", [0.3, 1.0, 2.5, 50.0])
def test_gamma_mean_and_variance_within_four_standard_errors(shape: float) -> None:
    n = 200_000
    x = _gamma_draws(7, 0, n, 3, shape)
    assert np.all(x >= 0.0)
    # Gamma(a, 1): mean a, variance a, fourth central moment 3a**2 + 6a.
    assert abs(x.mean() - shape) < 4 * np.sqrt(shape / n)
    assert abs(x.var() - shape) < 4 * np.sqrt((2 * shape**2 + 6 * shape) / n)
    assert stats.kstest(x[:20_000], stats.gamma(shape).cdf).pvalue > 1e-3


def test_gamma_is_a_pure_function_of_its_counter() -> None:
    whole = _gamma_draws(11, 50, 1000, 2, 0.7)
    pieces = np.concatenate([_gamma_draws(11, 50, 10, 2, 0.7), _gamma_draws(11, 60, 990, 2, 0.7)])
    np.testing.assert_array_equal(whole, pieces)
    assert gamma_variate(11, 55, 2, 0.7) == whole[5]
    assert not np.array_equal(whole, _gamma_draws(11, 50, 1000, 3, 0.7))


def test_gamma_edge_shapes() -> None:
    assert gamma_variate(1, 2, 3, 0.0) == 0.0
    assert np.isnan(gamma_variate(1, 2, 3, -1.0))
    assert np.isnan(gamma_variate(1, 2, 3, np.nan))
    tiny = _gamma_draws(1, 0, 1000, 0, 1e-3)
    assert np.all(tiny >= 0.0) and np.all(np.isfinite(tiny))


@njit
def _dirichlet_draws(seed: int, count: int, first_param: int, alphas: np.ndarray) -> np.ndarray:
    out = np.empty((count, alphas.size))
    for i in range(count):
        dirichlet_variate(seed, i, first_param, alphas, out[i])
    return out


def test_dirichlet_rows_sum_to_one_and_means_within_four_standard_errors() -> None:
    alphas = np.array([0.4, 0.0, 2.0, 5.0, 1.0])
    n = 100_000
    x = _dirichlet_draws(3, n, 20, alphas)
    assert np.all(np.abs(x.sum(axis=1) - 1.0) < 1e-12)
    assert np.all(x[:, 1] == 0.0) and np.all(x >= 0.0)
    a0 = alphas.sum()
    mean = alphas / a0
    se = np.sqrt(alphas * (a0 - alphas) / (a0**2 * (a0 + 1)) / n)
    assert np.all(np.abs(x.mean(axis=0) - mean) <= 4 * se)
    # Component i is the normalised gamma draw of parameter first_param + i.
    g = np.array([gamma_variate(3, 17, 20 + i, a) for i, a in enumerate(alphas)])
    np.testing.assert_allclose(x[17], g / g.sum(), rtol=1e-14, atol=0.0)


def test_dirichlet_tiny_concentrations_and_invalid_input() -> None:
    x = _dirichlet_draws(5, 200, 0, np.array([1e-4, 1e-4, 1e-4]))
    assert np.all(np.abs(x.sum(axis=1) - 1.0) < 1e-12)
    assert np.all(np.isnan(_dirichlet_draws(5, 2, 0, np.zeros(3))))
    assert np.all(np.isnan(_dirichlet_draws(5, 2, 0, np.array([1.0, -1.0]))))
    with pytest.raises(ValueError, match="same length"):
        dirichlet_variate(1, 0, 0, np.ones(3), np.empty(2))
