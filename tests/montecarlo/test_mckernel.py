"""Tests of the Monte Carlo kernel's fast path (uncertainty.montecarlo._kernels, _mcglobals, _vmath,
montecarlo._mc_kernel).

The kernel evaluates most mines by a vectorised fast path (its own exp, log and
inverse-normal branches, specialised LogNormal / TruncatedNormal / Normal / Fixed rows)
and the rest by the general path (``dists.ppf_kernel``). The oracle here is independent
of both: a plain NumPy re-implementation of the documented sampling path,

* uniforms: :func:`uncertainty.rng.uniforms_numpy` (NumPy Philox arithmetic) at the
  documented parameter indices (tests/layout.py);
* the grade-stripping copula, if any, with ``scipy.special``;
* every non-Dirichlet row: its ``Distribution.ppf`` (SciPy);
* Dirichlet rows: :func:`uncertainty.rng.dirichlet_variate`, the draw the kernel is
  specified to make (Marsaglia-Tsang gammas on counter substreams; the transform path
  uses gamma quantiles instead, so it cannot serve here);
* the model: :func:`uncertainty.model.evaluate_reference` (vectorised NumPy).

Kernel and oracle agree to rtol 1e-12 on every metric (the kernel's exp, log and
rational functions are within a few ulp of libm and SciPy; sums are in another order).
The spaces compared cover every branch of the fast path (LogNormal and Fixed grade and
stripping ratio; TruncatedNormal around the mean, on one side, mirrored; Normal and
Fixed recovery; tail and central inverse-CDF arguments), the general path (other
families, an exponent range too wide for the fast exp, the copula) and mines in an
order that is not sorted by metal or group. Then: identical bytes whatever the chunk
size or thread count with both paths mixed, and the numerical primitives against NumPy
and SciPy (stated ulp bounds).
"""

from __future__ import annotations

import math
import shutil
from types import SimpleNamespace

import numba
import numpy as np
import pandas as pd
import pytest
import scipy.special as sc
from conftest import DEFAULT_DATASET
from layout import documented_parameter_indices, kernel_dirichlet_rows

from uncertainty import dists, rng
from uncertainty.config import parse_run
from uncertainty.data import load_dataset
from uncertainty.dists.special import ndtri_fast
from uncertainty.model import build_model, evaluate_reference
from uncertainty.montecarlo import _globals as mg
from uncertainty.montecarlo import _kernels as mk
from uncertainty.montecarlo import _vmath as vm
from uncertainty.montecarlo import evaluate_chunk
from uncertainty.space import build_space

RTOL = 1e-12
SEED = 20190101
ULP = 2.0**-52

# Rows overridden to reach every branch. Iron mines FE-AUS-001.. are the first rows.
OVERRIDES = {
    # fast path
    "recovery[FE-AUS-001]": {"dist": "normal", "mean": 0.9, "sd": 0.02},
    "recovery[FE-AUS-002]": {"dist": "fixed", "value": 0.95},
    "recovery[FE-AUS-003]": {"dist": "truncnormal", "mean": 0.9, "sd": 0.05, "low": 0.95,
                             "high": 1.0},  # above the mean: mirrored (s < 0, v = 1 - u)
    "recovery[FE-AUS-004]": {"dist": "truncnormal", "mean": 0.9, "sd": 0.05, "low": 0.5,
                             "high": 0.88},  # below the mean: one side, not mirrored
    "grade[FE-AUS-005]": {"dist": "fixed", "value": 0.4},
    "stripping_ratio[FE-AUS-006]": {"dist": "fixed", "value": 3.0},
    # general path
    "grade[CU-*]": {"dist": "uniform", "low": 0.002, "high": 0.02},
    "stripping_ratio[ZN-*-001]": {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0},
    "recovery[PB-*-002]": {"dist": "beta", "a": 20.0, "b": 3.0},
    "grade[FE-AUS-007]": {"dist": "lognormal", "median": 0.5, "gsd": 1e40},  # |x| > 700
}




def numpy_path(model, space, seed: int, start: int, count: int) -> np.ndarray:
    """Metrics of samples ``start .. start + count - 1`` by the NumPy oracle (module doc)."""
    u = rng.uniforms_numpy(seed, np.arange(start, start + count), documented_parameter_indices(
        space.n_globals, space.n_mines))
    u = space.copula_uniforms(u)
    ng, nm = space.n_globals, space.n_mines
    x = np.empty_like(u)
    for j, d in enumerate(space.dists):
        if not isinstance(d, dists.Dirichlet):
            x[:, j] = d.ppf(u[:, j])
    shares = [j for j, d in enumerate(space.dists) if isinstance(d, dists.Dirichlet)]
    x[:, shares] = kernel_dirichlet_rows(space, seed, start, count)[:, shares]
    mine = x[:, ng:].reshape(count, nm, 3)
    return evaluate_reference(model, mine[:, :, 0], mine[:, :, 1], mine[:, :, 2], x[:, :ng])


def default_run(**data):
    return parse_run({"name": "mckernel", "dataset": str(DEFAULT_DATASET), **data})


@pytest.fixture(scope="module")
def default_model(default_dataset):
    return build_model(default_dataset)


@pytest.fixture(scope="module")
def mixed_space(default_dataset, default_model):
    """The default space with the rows of OVERRIDES: both paths, every branch."""
    return build_space(default_run(overrides=OVERRIDES), default_dataset, default_model)


# ----------------------------------------------------------------- the oracle
def test_fast_path_equals_numpy_path_default_space(default_dataset, default_model):
    space = build_space(None, default_dataset, default_model)
    assert len(mk.mine_tables(default_model, space)[-1]) == 0  # every mine on the fast path
    got = evaluate_chunk(default_model, space, SEED, 5000, 12)[0]
    want = numpy_path(default_model, space, SEED, 5000, 12)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)


def test_both_paths_equal_numpy_path(default_model, mixed_space):
    slow = mk.mine_tables(default_model, mixed_space)[-1]
    ids = np.array(default_model.mine_ids)
    assert "FE-AUS-007" in ids[slow] and "FE-AUS-006" not in ids[slow]
    assert sum(i.startswith("CU-") for i in ids[slow]) == 440
    got = evaluate_chunk(default_model, mixed_space, SEED, 0, 12)[0]
    want = numpy_path(default_model, mixed_space, SEED, 0, 12)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)


def test_every_fast_branch_is_reached(default_model, mixed_space):
    """The samples compared above reach tails and both sides of the recovery median."""
    tab, *_, slow = mk.mine_tables(default_model, mixed_space)
    flat = tab.transpose(1, 0, 2).reshape(mk.N_ROWS, -1)[:, :default_model.n_mines]
    flat = np.delete(flat, slow, axis=1)  # the fast path's mines
    assert (flat[mk.G_A] == 0).sum() == 1  # Fixed grade
    assert (flat[mk.S_A] == 0).sum() > 1  # Fixed stripping ratios (brine mines and one)
    assert (flat[mk.R_S] == 0).sum() == 1  # Fixed recovery
    assert (flat[mk.R_R] >= 0).sum() == 4  # Normal, Fixed, two one-sided
    assert (flat[mk.R_FLIP] == 1).sum() == 1 and (flat[mk.R_R] < 0).sum() > 1000
    u = rng.uniforms_numpy(SEED, np.arange(12), documented_parameter_indices(
        mixed_space.n_globals, mixed_space.n_mines))
    lanes = u[:, mixed_space.n_globals:]
    assert np.mean(np.abs(lanes - 0.5) > 0.425) > 0.1  # about 15% tail arguments


def test_copula_goes_through_the_general_path(default_dataset, default_model):
    space = build_space(default_run(montecarlo={"grade_stripping_correlation": 0.5}),
                        default_dataset, default_model)
    assert len(mk.mine_tables(default_model, space)[-1]) == space.n_mines
    got = evaluate_chunk(default_model, space, 7, 300, 6)[0]
    want = numpy_path(default_model, space, 7, 300, 6)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)


def test_mines_not_sorted_by_metal_or_group(tmp_path):
    """Shuffled mine rows: runs of one metal and group are short and interleaved."""
    folder = tmp_path / "shuffled"
    shutil.copytree(DEFAULT_DATASET, folder)
    mines = pd.read_csv(folder / "mines.csv", dtype=str, keep_default_na=False)
    mines.sample(frac=1.0, random_state=3).to_csv(folder / "mines.csv", index=False)
    ds = load_dataset(folder)
    model = build_model(ds)
    assert np.any(np.diff(model.mine_metal) < 0) and np.any(np.diff(model.mine_group) < 0)
    space = build_space(None, ds, model)
    got = evaluate_chunk(model, space, SEED, 40, 8)[0]
    want = numpy_path(model, space, SEED, 40, 8)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0)


# ---------------------------------------------------------- reproducibility
def test_identical_bytes_whatever_the_chunk_size_and_threads(default_model, mixed_space):
    whole = evaluate_chunk(default_model, mixed_space, SEED, 100, 300)
    parts = np.concatenate([evaluate_chunk(default_model, mixed_space, SEED, a, n)
                            for a, n in ((100, 1), (101, 126), (227, 173))], axis=1)
    assert parts.tobytes() == whole.tobytes()
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = evaluate_chunk(default_model, mixed_space, SEED, 100, 300)
    finally:
        numba.set_num_threads(before)
    assert one.tobytes() == whole.tobytes()


# ------------------------------------------------------- numerical primitives
@numba.njit
def _apply(fn_id, x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        if fn_id == 0:
            out[i] = vm.vexp(x[i])
        elif fn_id == 1:
            out[i] = vm.vlog(x[i])
        elif fn_id == 2:
            out[i] = vm.ndtri_central(x[i])
        elif fn_id == 3:
            out[i] = vm.ndtri_tail(x[i])[0]
        elif fn_id == 4:
            out[i] = ndtri_fast(x[i])
        else:
            out[i] = vm.vcos(x[i])
    return out


def _ulps(got, want):
    return np.max(np.abs(got - want) / (np.abs(want) * ULP))


def test_vexp_within_4_ulp_of_libm():
    x = np.concatenate([np.random.default_rng(1).uniform(-700, 700, 200_000),
                        np.linspace(-1, 1, 20_001), [-700.0, 0.0, 700.0]])
    assert _ulps(_apply(0, x), np.exp(x)) <= 4


def test_vlog_within_2_ulp_of_libm():
    g = np.random.default_rng(2)
    x = np.concatenate([10.0 ** g.uniform(-300, 300, 100_000), g.uniform(0.5, 2, 100_000),
                        [2.2250738585072014e-308, 0.5, 1.0, 2.0]])
    y = np.log(x)
    got = _apply(1, x)
    assert np.max(np.abs(got - y) / np.maximum(np.abs(y), 1e-300) / ULP) <= 2
    assert got[-2] == 0.0


def test_ndtri_branches_within_3_ulp_of_ndtri_fast():
    """Against ``ndtri_fast`` (about 2 ulp at most) and SciPy (whose own ndtri is off by
    up to 4 ulp, see ``_special``)."""
    g = np.random.default_rng(3)
    central = np.concatenate([g.uniform(0.075, 0.925, 200_000), [0.5]])
    tail = np.concatenate([g.uniform(0.0, 0.075, 100_000), 1.0 - g.uniform(0.0, 0.075, 100_000),
                           10.0 ** g.uniform(-10.8, -1.2, 100_000)])
    c, t = _apply(2, central), _apply(3, tail)
    assert c[-1] == 0.0
    for got, p in ((c[:-1], central[:-1]), (t, tail)):
        assert _ulps(got, _apply(4, p)) <= 3
        assert _ulps(got, sc.ndtri(p)) <= 6


def test_tail_branch_flags_what_it_cannot_take():
    p = np.array([1e-12, 1.0 - 1e-16 * 0, 0.0, 1e-310, np.nan, 1e-5])
    flags = [vm.ndtri_tail(v)[1] for v in p]
    assert flags == [1, 1, 1, 1, 1, 0]
    # the tile phase falls back to ndtri_fast for them
    n = len(p)
    TI = np.arange(n)
    TZ = np.empty(n)
    Z = np.full(n, -99.0)
    mk.tail_tile(n, TI, p.copy(), TZ, np.empty(n), Z)
    want = np.array([ndtri_fast(v) for v in p])
    np.testing.assert_array_equal(Z[:5], want[:5])
    assert Z[5] == pytest.approx(sc.ndtri(1e-5), rel=4 * ULP)


def test_global_rows_every_family_and_branch():
    """``global_ppfs`` against ``dists.ppf_kernel`` row by row: LogNormal (one with an
    exponent beyond [-700, 700]), Normal, TruncatedNormal on one side, mirrored and
    around the mean, Fixed, and two families it leaves to ``ppf_kernel``; probabilities
    central, in the tails, in AS 241's far tail and exactly 1/2."""
    rows = [dists.LogNormal(2.0, 1.6), dists.LogNormal(0.5, 1e40), dists.Normal(3.0, 0.5),
            dists.TruncatedNormal(0.9, 0.05, 0.5, 1.0), dists.TruncatedNormal(0.9, 0.05, 0.95, 1.0),
            dists.TruncatedNormal(0.9, 0.05, 0.5, 0.88), dists.Fixed(7.5),
            dists.Triangular(1.0, 2.0, 6.0), dists.Uniform(0.0, 4.0)]
    specs = [d.kernel_spec() for d in rows]
    codes = np.array([c for c, _ in specs], dtype=np.int64)
    pars = np.array([p for _, p in specs], dtype=float)
    space = SimpleNamespace(n_globals=len(rows), codes=codes, pars=pars)
    idx, tab, other = mg.normal_rows(space)
    assert list(idx) == [0, 1, 2, 3, 4, 5, 6] and list(other) == [7, 8]
    P = np.empty((6, len(idx) + 8))
    TI = np.empty(len(idx) + 8, dtype=np.int64)
    g = np.random.default_rng(11)
    probs = np.concatenate([[0.5, 1e-13, 1.0 - 2.0**-43, 2.0**-43, 0.02, 0.98, 1e-15, 1e-300],
                            g.uniform(size=200)])
    for p in probs:
        glob = np.full(len(rows), p)
        mg.global_ppfs(codes, pars, other, idx, tab, glob, P, TI)
        for j, d in enumerate(rows):
            want = dists.ppf_kernel(codes[j], *pars[j], p)
            # a LogNormal's relative error is the absolute error of its exponent
            cond = 1.0 + (abs(math.log(want)) if codes[j] == dists.LOGNORMAL and 0.0 < want < math.inf
                          else 0.0)
            assert glob[j] == pytest.approx(want, rel=8 * ULP * cond, abs=0.0), (d, p)


def test_vcos_within_2_ulp_of_libm():
    x = np.concatenate([np.random.default_rng(4).uniform(0, 2 * math.pi, 200_000),
                        rng._TWO_PI * np.linspace(0, 1, 10_001)])
    got, want = _apply(5, x), np.cos(x)
    assert np.max(np.abs(got - want)) <= 2 * 2.0**-53
    big = np.abs(want) > 1e-3
    assert _ulps(got[big], want[big]) <= 2


# ------------------------------------------------------------------ Dirichlet
@numba.njit
def _kernel_shares(seed, count, member, groups, exact, alpha, n_rows, max_attempts):
    out = np.zeros((count, n_rows))
    U = np.empty((mg.DIR_ROWS, member.shape[1]))
    W = np.empty((2, member.shape[1]))
    logs = np.empty(member.shape[1])
    glob = np.empty(n_rows)
    for i in range(count):
        for j in range(n_rows):  # each row's own uniform: the boost uniform
            glob[j] = rng.uniform(seed, i, j)
        mg.dirichlet_draws(seed, i, member, glob, U, logs, max_attempts)
        mg.dirichlet_shares(groups, exact, alpha, member, logs, out[i], seed, i, W)
    return out


@numba.njit
def _rng_shares(seed, count, first, length, alpha, n_rows):
    out = np.zeros((count, n_rows))
    for i in range(count):
        for g in range(first.shape[0]):
            f, n = first[g], length[g]
            rng.dirichlet_variate(seed, i, f, alpha[f:f + n], out[i, f:f + n])
    return out


def test_dirichlet_draws_are_rng_dirichlet_variate():
    """Every kind of member: large and small concentrations (boosted below 1), a zero
    alpha, alphas so small that shares underflow (libm's exp below exp(-700)), and a
    group with a negative alpha (rng's NaN, drawn by rng itself)."""
    groups = [[59.2, 20.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.08], [0.0, 2.0, 0.5], [1e-3, 5e-3, 30.0],
              [135.0, 1.5], [2.0, -1.0, 3.0], [0.7]]
    alpha = np.concatenate([np.asarray(g, dtype=float) for g in groups])
    length = np.array([len(g) for g in groups], dtype=np.int64)
    first = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64) + 5
    alpha = np.r_[np.zeros(5), alpha]  # rows 0-4: not Dirichlet
    space = SimpleNamespace(dir_first=first, dir_len=length, dir_alpha=alpha)
    member, grp, exact = mg.dirichlet_tables(space)
    assert list(exact) == [False, False, False, False, True, False]
    n_rows, count = len(alpha), 5000
    want = _rng_shares(np.uint64(SEED), count, first, length, alpha, n_rows)
    # rows 5-12, 13-15, 16-18, 19-20, 21-23, 24 (groups above)
    assert np.isnan(want[:, 21:24]).all() and (want[:, 13] == 0.0).all()
    assert (want[:, 16:18] < 1e-300).any()  # exp below -700: libm's exp, as rng
    ok = ~np.isnan(want) & (want != 0.0)
    # the kernel's attempts (a few percent of members rejected at attempt 0: tried
    # again, vectorised), and one attempt only: each rejected member drawn by rng
    for max_attempts in (mg.MAX_ATTEMPTS, 1):
        got = _kernel_shares(np.uint64(SEED), count, member, grp, exact, alpha, n_rows,
                             max_attempts)
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert np.array_equal(got == 0.0, want == 0.0)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-12, atol=0.0)


def test_dirichlet_shares_without_groups_writes_nothing():
    glob = np.arange(5.0)
    mg.dirichlet_shares(np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=bool), glob,
                        np.zeros((8, 0)), np.zeros(0), glob, np.uint64(1), 0, np.zeros((2, 0)))
    assert np.array_equal(glob, np.arange(5.0))


def test_general_path_and_tiles_read_the_documented_counters():
    """``mine_uniforms`` (one mine) and ``philox_tile`` (a tile at once) read the
    uniforms of tests/layout.py, in every position of a tile."""
    seed, sample, n_globals, n_mines = 77, 2**33 + 5, 206, 1784
    call0 = math.ceil(n_globals / 3)
    params = documented_parameter_indices(n_globals, n_mines)[n_globals:].reshape(-1, 3)
    want = rng.uniforms_numpy(seed, np.array([sample]), params.ravel())[0].reshape(-1, 3)
    for m in (0, 1, 63, 64, 65, 127, 128, 191, 192, 255, 1783):
        got = mk.mine_uniforms(np.uint64(seed), np.uint64(sample), call0, m)
        assert list(got) == want[m].tolist(), m
    A = np.empty(3 * mk.TILE)
    for tile in range(-(-n_mines // mk.TILE)):
        mk.philox_tile(np.uint64(seed), np.uint64(sample), call0 + mk.TILE * tile, A)
        n = min(mk.TILE, n_mines - tile * mk.TILE)
        got = A.reshape(3, mk.TILE)[:, :n].T
        np.testing.assert_array_equal(got, want[tile * mk.TILE:tile * mk.TILE + n])


def test_vector_interleave_restores_llvms_default(monkeypatch):
    """The option is set only inside the context, and back at 0 (the cost model's
    choice) after it, even when the code inside raises."""
    seen = []
    real = mk.llvm.set_option
    monkeypatch.setattr(mk.llvm, "set_option", lambda name, opt: (seen.append(opt),
                                                                   real(name, opt)))
    with pytest.raises(RuntimeError), mk.vector_interleave(2):
        raise RuntimeError("compile failed")
    assert seen == ["--force-vector-interleave=2", "--force-vector-interleave=0"]
