"""Private numba helpers of the Monte Carlo kernel (:func:`uncertainty.montecarlo._mc_kernel`).

A sample of the default model evaluates 1,784 mines: per mine one Philox call (three
42-bit uniforms), three inverse normal CDFs (AS 241), two exponentials and the mine
equation; and 206 global rows, 120 of them Dirichlet members drawn by Marsaglia-Tsang
gammas. As one scalar loop through ``dists.ppf_kernel`` this cost about 120-150 ns per
mine (one thread, shared 2-core machine); with the helpers here, compiled under
:func:`vector_interleave` (as :func:`uncertainty.montecarlo.evaluate_chunk` does),
18.0-18.6 ns (minimum of 9 passes; the machine's speed drifts by 5-10%). Where the time
goes, per mine and thread: uniforms 3.9 ns, central inverse CDF 3.8, tail list 1.5,
tail inverse CDF 2.3-2.6, exponentials and mine equation 4.0-4.2, group sums 0.5; per
sample, spread over its mines, the global rows 4.0-4.3 us (2.3 ns a mine: uniforms 0.3
us, the normal family 0.65, Dirichlet draws 2.2-2.5 and shares 0.8) and the metrics
1.2-1.5 us (0.7-0.8 ns a mine). Every phase is a loop of independent
iterations bound by the number of its operations (Philox's multiplies, shifts and
xors; the polynomials' FMAs) or, where one iteration is a long chain of dependent
operations (a division, a square root, another division), by how many iterations the
out-of-order window can overlap: such loops are split into stages, one loop each
(see the profile notes in the README's benchmark section).

1. **Tiles of mines, phase by phase** (``TILE`` mines, scratch arrays in L1): each phase
   is a simple loop that LLVM turns into AVX2 code, four mines per instruction:

   a. :func:`philox_tile`: the uniforms (``rng``'s Philox4x32-10, whose 32 x 32 ->
      64-bit multiplies vectorise: one call per mine, four mines per instruction);
   b. :func:`central_tile`: recovery's truncated-normal argument and the central branch
      of the inverse normal CDF for every lane (85% of the arguments);
   c. :func:`tail_list`, :func:`tail_tile`: the other 15%, compacted (64-bit masks,
      then only their set bits), evaluated vectorised in three stages and scattered
      back;
   d. :func:`mine_tile`: exponentials (a loop of their own), then systematic factors
      and their bounds and the mine equation, by runs of one metal (loop-constant
      factors);
   e. :func:`group_sums`: each tile's weighted flows into their (metal, country) group.

2. **exp, log and cos in plain arithmetic** (:func:`vexp`, :func:`vlog`, :func:`vcos`):
   numba calls libm for ``math.exp`` and friends, which LLVM cannot vectorise (this
   llvmlite, LLVM 22, has no SVML: installing Intel's runtime would not change that).
   Cody-Waite reduction, the exponent by bit manipulation, polynomials by Estrin's
   scheme with explicit FMAs (:func:`fma`, IEEE 754's fused multiply-add: correctly
   rounded, so machine-independent; not fastmath, which stays off). Within 2-4 ulp of
   libm.

3. **Specialised rows.** Per-mine rows of the families the data uses (LogNormal or
   Fixed grade and stripping ratio; TruncatedNormal, Normal or Fixed recovery) are
   tabulated once per call (:func:`mine_tables`) and evaluated with the operations of
   ``dists.ppf_kernel``, its libm calls replaced as above. Any other family (an override
   to Uniform, Triangular, Beta, Gamma ...), an exponent range too wide for
   :func:`vexp` or a grade-stripping copula sends the mine to the general path
   (``dists.ppf_kernel``, as before); a tail probability below ``exp(-25)`` (AS 241's
   far tail) goes to ``_special.ndtri_fast``.

4. **Global rows**: uniforms of all calls at once, vectorised (:func:`uniform_triples`),
   the normal family (LogNormal, Normal, TruncatedNormal, Fixed) vectorised like the
   mines, tails by :func:`tail_tile` (:func:`global_ppfs`), and ``rng.dirichlet_variate``'s
   draws vectorised (:func:`dirichlet_draws`, :func:`dirichlet_shares`) with its
   accept/reject decisions guaranteed identical: a member whose acceptance is not
   certain by a wide margin is redrawn by rng's own code.

Every value is a pure function of ``(seed, sample, parameter)``: tiles, lists and sums
are per sample, in an order fixed by the data, so the bytes do not depend on the chunk
size or the thread count. Against the transform path (libm, Horner) results agree to
about 1e-14 relative (tests/test_mckernel.py, rtol 1e-12).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import llvmlite.binding as llvm
import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from uncertainty import (
    _cache,  # noqa: F401  (before any kernel: package-stamped numba cache)
    dists,
    rng,
)
from uncertainty._special import _B, _C, _C_SLOPE, _CM, _D, _N, _SQRT_2PI, ndtri_fast
from uncertainty.rng import _bits, _float

if TYPE_CHECKING:
    from uncertainty.model import Model
    from uncertainty.space import ParameterSpace

__all__: list[str] = []

TILE = 128
"""Mines per tile, a multiple of 64 (:func:`tail_list` works in runs of 64): the tile's
scratch arrays (about 20 KB) stay in the L1 cache. Not part of the counter layout: the
bytes of a run do not depend on it.

A compile-time constant of every tile function (the vectoriser needs the lanes' offsets
in the scratch arrays); the caller checks that its tables have the size its compiled
code expects."""

_INTERLEAVE_LOCK = threading.Lock()


@contextlib.contextmanager
def vector_interleave(count: int) -> Iterator[None]:
    """Code compiled inside has LLVM's loop vectoriser interleave ``count`` vectors per
    loop iteration (``--force-vector-interleave``); on exit the option is back at its
    default, 0, the cost model's choice.

    An LLVM option is process-wide: this holds a lock, and the Monte Carlo kernel is
    compiled (or loaded from numba's cache) inside it, nothing else. Two vectors per
    iteration give the out-of-order core two independent chains in the Philox and
    exponential loops: 19.8 -> 19.0 ns a mine on one thread. It changes which
    instructions run, never an operation or its order (no fastmath: LLVM may not
    reassociate), so results are the same bytes: a 3,000-sample chunk of the default
    model compiled both ways was compared when this was introduced. The tests that
    call the tile functions directly compile them without it.
    """
    with _INTERLEAVE_LOCK:
        llvm.set_option("", f"--force-vector-interleave={count}")
        try:
            yield
        finally:
            llvm.set_option("", "--force-vector-interleave=0")


_inline = nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
# Functions taking arrays use the plain decorator: numba's own inlining of array
# arguments leaves reference-count calls in the loop; LLVM inlines them cleanly.
_jit = nb.njit(cache=True, nogil=True, error_model="numpy")


# ------------------------------------------------------------------------ fma
@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (IEEE 754 fusedMultiplyAdd, ``llvm.fma``).

    Not fastmath: the result is defined exactly by IEEE 754, so it is the same on every
    machine (a vector FMA instruction here, a correctly rounded ``fma()`` from libm on a
    CPU without one). Written out where it is wanted, never left to the compiler.
    """
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, sig, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@_inline
def poly7(c, r, r2, r4):
    """``c[0] + c[1] r + ... + c[7] r**7`` by Estrin's scheme with FMAs (``r2 = r**2``,
    ``r4 = r**4``).

    Horner's rule is a chain of 7 dependent multiply-adds (or 14 operations without
    FMA); Estrin's is 3 levels deep. These polynomials dominate the vectorised loops,
    whose speed was bound by that latency (the out-of-order window cannot hold enough
    loop iterations to hide a chain this long): 7 -> 4 cycles per inverse normal CDF.
    """
    return fma(fma(fma(c[7], r, c[6]), r2, fma(c[5], r, c[4])), r4,
               fma(fma(c[3], r, c[2]), r2, fma(c[1], r, c[0])))


# ------------------------------------------------------------------ exp, log
# Round to an integer by adding 1.5 * 2**52: the sum's last bit has weight 1, so it
# holds round(x) in its low mantissa bits (|x| < 2**51), and subtracting again gives
# round(x) as a float. AVX2 has no float64 <-> int64 conversion; this needs none.
_ROUND = 6755399441055744.0
_ROUND_BITS = 0x4338000000000000
_TWO_52 = 4503599627370496.0  # 2**52, whose bits are _TWO_52_BITS
_TWO_52_BITS = 0x4330000000000000
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 32 significant bits: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_MAX = 700.0  # |x| <= 700 keeps 2**n a normal number
_TWO_PI = rng._TWO_PI  # rng's 2 pi of the Box-Muller cosine
_E = tuple(1.0 / math.factorial(k) for k in range(14))  # Taylor coefficients of exp


@_inline
def vexp(x):
    """``exp(x)`` for ``|x| <= 700``, within 4 ulp of libm (vectorisable).

    ``x = n ln 2 + r``, ``|r| <= ln(2)/2``; ``exp(r)`` by its Taylor polynomial of degree
    13 (truncation error below 5e-18), Estrin's scheme with FMAs; times ``2**n`` built
    in the exponent bits. Outside [-700, 700] the result is wrong: callers make sure.
    """
    t = fma(x, _LOG2E, _ROUND)
    n = t - _ROUND
    r = fma(n, -_LN2_LO, fma(n, -_LN2_HI, x))
    r2 = r * r
    r4 = r2 * r2
    c = _E
    p = fma(fma(fma(c[13], r, c[12]), r4, fma(fma(c[11], r, c[10]), r2, fma(c[9], r, c[8]))),
            r4 * r4, poly7(c, r, r2, r4))
    return p * _float((_bits(t) - _ROUND_BITS + 1023) << 52)


# fdlibm / musl log: x = 2**k (1 + f), sqrt(1/2) <= 1 + f < sqrt(2), s = f / (2 + f),
# log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), R a minimax polynomial.
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
_MANTISSA = 0x000FFFFFFFFFFFFF
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


@_inline
def vlog(x):
    """``log(x)`` for a positive normal float64 (fdlibm's algorithm, about 1 ulp).

    Zero, subnormals, negatives, infinities and NaN give wrong results: callers check.
    """
    f, s = vlog_parts(x)
    return vlog_finish(x, f, s)


@_inline
def vlog_parts(x):
    """Stage 1 of :func:`vlog`, up to its division: ``(f, s)``. A loop can run the two
    stages as two loops (:func:`vlog_finish` is stage 2): each chain of dependent
    operations is then half as long, and the out-of-order window overlaps more
    iterations."""
    ix = _bits(x) - _SQRT_HALF_BITS
    f = _float((ix & _MANTISSA) + _SQRT_HALF_BITS) - 1.0
    return f, f / (2.0 + f)


@_inline
def vlog_finish(x, f, s):
    """Stage 2 of :func:`vlog`: ``log(x)`` from ``x`` and ``vlog_parts(x)``."""
    ix = _bits(x) - _SQRT_HALF_BITS
    k = ix >> 52  # arithmetic shift: the exponent of x relative to sqrt(1/2)
    dk = _float(k + _ROUND_BITS) - _ROUND  # float(k) without an int64 conversion
    hfsq = 0.5 * f * f
    z = s * s
    w = z * z
    t1 = w * fma(w, fma(w, _LG6, _LG4), _LG2)
    t2 = z * fma(w, fma(w, fma(w, _LG7, _LG5), _LG3), _LG1)
    return s * (hfsq + t2 + t1) + dk * _LN2_LO - hfsq + f + dk * _LN2_HI


# cos by Cody-Waite reduction x = k pi/2 + r, |r| <= pi/4 (pi/2 in three parts, the first
# two with trailing zeros so that k * part is exact for k < 2**20), then the Taylor
# polynomials of cos r and sin r in r**2 (degree 16 and 17: truncation below 1e-17).
_2_OVER_PI = 0.6366197723675814
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624879595063154e-21
_COS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(9))
_SIN = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(9))


@_inline
def vcos(x):
    """``cos(x)`` for ``|x| <= 2**20`` (about 1 ulp, vectorisable): callers make sure."""
    t = fma(x, _2_OVER_PI, _ROUND)
    n = t - _ROUND
    r = fma(n, -_PIO2_3, fma(n, -_PIO2_2, fma(n, -_PIO2_1, x)))
    y = r * r
    y2 = y * y
    y4 = y2 * y2
    y8 = y4 * y4
    c = fma(_COS[8], y8, poly7(_COS, y, y2, y4))
    s = r * fma(_SIN[8], y8, poly7(_SIN, y, y2, y4))
    q = _bits(t)  # the low bits of t are those of k = round(x 2 / pi)
    v = s if q & 1 else c  # cos x = cos r, -sin r, -cos r, sin r for k = 0, 1, 2, 3 mod 4
    return _float(_bits(v) ^ (((q + 1) & 2) << 62))  # flip the sign for k = 1, 2 mod 4


# ------------------------------------------------------------ ndtri branches
# The two branches of ``_special.ndtri_fast`` (Wichura's AS 241) for the vectorised
# phases, the rational functions by :func:`poly7`: within 1 ulp of ``ndtri_fast``.
@_inline
def is_tail(p):
    """True where ``ndtri_fast(p)`` leaves its central branch (NaN included)."""
    return not abs(p - 0.5) <= 0.425


@_inline
def ndtri_central(p):
    """``ndtri_fast``'s central branch (valid for ``|p - 1/2| <= 0.425``)."""
    q = p - 0.5
    r = fma(-q, q, 0.180625)
    r2 = r * r
    r4 = r2 * r2
    return q * (_SQRT_2PI + poly7(_N, r, r2, r4) / poly7(_B, r, r2, r4))


@_inline
def tail_min(p):
    """``min(p, 1 - p)``, the argument of :func:`tail_log`'s logarithm."""
    return p if p - 0.5 < 0.0 else 1.0 - p


@_inline
def tail_log(p):
    """Stage 1 of :func:`ndtri_tail`: ``-log(min(p, 1 - p))`` (:func:`vlog`; wrong where
    :func:`tail_bad`)."""
    return -vlog(tail_min(p))


@_inline
def tail_bad(p, r):
    """1 where :func:`ndtri_tail` does not apply to ``p`` (``r = sqrt(tail_log(p))``):
    ``min(p, 1-p)`` below ``exp(-25)`` (AS 241's far tail), zero, subnormal or NaN."""
    rr = p if p - 0.5 < 0.0 else 1.0 - p
    return 0 if (r <= 5.0 and rr >= 2.2250738585072014e-308) else 1


@_inline
def tail_rational(p, r):
    """Stage 3 of :func:`ndtri_tail`: AS 241's rational function of ``r = sqrt(tail_log(p))``,
    with the sign of ``p - 1/2``."""
    s = r - 1.6
    s2 = s * s
    s4 = s2 * s2
    x = _C[0] + s * (_C_SLOPE + poly7(_CM, s, s2, s4) / poly7(_D, s, s2, s4))
    return -x if p - 0.5 < 0.0 else x


@_inline
def ndtri_tail(p):
    """``ndtri_fast``'s intermediate-tail branch, :func:`vlog` for libm's log, in one
    piece (:func:`tail_tile` runs its three stages as separate loops).

    Returns ``(x, bad)``; ``bad`` (1) where this branch does not apply (:func:`tail_bad`).
    """
    r = math.sqrt(tail_log(p))
    return tail_rational(p, r), tail_bad(p, r)


# ------------------------------------------------------------- mine tables
# Rows of a tile's float table (``tab[tile]``, shape (N_ROWS, TILE), one row per constant).
(G_MU, G_SIG, G_A, G_B, S_MU, S_SIG, S_A, S_B, R_MEAN, R_S, R_P, R_R, R_M, R_FLIP, CONC,
 SOLID_ALLOC, WEIGHT, PLAIN, N_ROWS) = range(19)

# |ndtri(u)| <= 8.13 for every u of rng (2**-54 <= u <= 1 - 2**-54)
_Z_MAX = 8.5


def mine_tables(model: Model, space: ParameterSpace) -> tuple[np.ndarray, ...]:
    """Per-mine constants of the fast path, by tile, and the mines it cannot take.

    Returns
    -------
    tab : ndarray, shape (n_tiles, N_ROWS, TILE), float64
        Row ``R`` of tile ``t``, entry ``j``: constant ``R`` of mine ``t * TILE + j`` (0
        past the last mine). Indexing a tile's own 2-d table by the loop counter lets
        LLVM drop numba's negative-index fix-up, which blocks vectorisation.

        Grade and stripping ratio (LogNormal or Fixed) are ``A exp(mu + sigma z) + B``:
        ``A = 1, B = 0`` for a LogNormal of parameters ``(mu, sigma)`` (``ppf_kernel``'s
        LOGNORMAL code), ``A = 0, B = value, mu = sigma = 0`` for a Fixed row; both
        exact (``x 1 + 0 = x``, ``e 0 + v = v`` for a finite ``e``), without a select.
        Recovery (TruncatedNormal, Normal, Fixed) is ``mean + s (sign z)`` with ``z``
        the ndtri of an argument in the layout of ``ppf_kernel``'s TRUNCNORMAL code:
        ``P``, ``R``, the multiplier ``M`` of ``u`` (``R - P`` if ``R >= 0``, else
        ``1 - P + R``) and ``FLIP`` (``v = 1 - u``). Normal is the one-sided layout with
        ``P = 0, R = 1, M = 1``; Fixed is ``mean = value, s = 0`` with ``P = 1/2, M = 0``
        (``z = 0``, exact). Then the mine's ``conc``, ``solid * alloc_rr``, ``weight``;
        row PLAIN has one entry, ``[tile, PLAIN, 0]``: 1.0 if every mine of the tile has
        ``A = 1, B = 0`` in both lanes (:func:`mine_tile` then skips them, exact).
    n_runs : ndarray, shape (n_tiles,), int64
    bounds : ndarray, shape (n_tiles, TILE + 1), uint64
    run_metal : ndarray, shape (n_tiles, TILE), uint64
        Tile ``t``'s mines in runs of one metal: run ``r`` is mines ``bounds[t, r] ..
        bounds[t, r + 1] - 1`` of metal ``run_metal[t, r]``, ``r < n_runs[t]`` (a few
        runs per tile: the mine table is sorted by metal). Unsigned, so that indexing
        by them needs no negative-index fix-up either.
    n_gruns, gbounds, run_group :
        The same for runs of one (metal, country) group (:func:`group_sums`).
    slow : ndarray, int64
        Mines the fast path does not take, computed by the general path, in order: a
        row of another family, an exponent that could leave [-700, 700] (where
        :func:`vexp` is valid) for some ``|z| <= 8.5``, or every mine when the space
        has a grade-stripping correlation.
    """
    n_mines, ng = space.n_mines, space.n_globals
    codes = space.codes[ng:].reshape(n_mines, 3)
    pars = space.pars[ng:].reshape(n_mines, 3, 4)
    t = np.zeros((N_ROWS, n_mines))
    fast = np.full(n_mines, space.correlation == 0.0)
    for lane, (mu, sig, a, b) in enumerate(((G_MU, G_SIG, G_A, G_B), (S_MU, S_SIG, S_A, S_B))):
        c, p = codes[:, lane], pars[:, lane]
        logn, fix = c == dists.LOGNORMAL, c == dists.FIXED
        t[mu] = np.where(logn, p[:, 0], 0.0)
        t[sig] = np.where(logn, p[:, 1], 0.0)
        t[a] = logn
        t[b] = np.where(fix, p[:, 0], 0.0)
        with np.errstate(invalid="ignore"):
            fast &= (logn | fix) & (np.abs(t[mu]) + _Z_MAX * np.abs(t[sig]) <= _EXP_MAX)
    c, p = codes[:, 2], pars[:, 2]
    trunc, normal, fix = c == dists.TRUNCNORMAL, c == dists.NORMAL, c == dists.FIXED
    fast &= trunc | normal | fix
    t[R_MEAN:R_FLIP + 1] = normal_layout(p, trunc, normal, fix)
    t[CONC] = model.mine_conc
    t[SOLID_ALLOC] = model.mine_solid * model.mine_alloc_rr
    t[WEIGHT] = model.mine_weight
    # the general path's mines: grade, stripping ratio and recovery 1 in the fast phases
    t[:, ~fast] = 0.0
    t[G_B, ~fast] = t[S_B, ~fast] = t[R_MEAN, ~fast] = 1.0
    t[R_P, ~fast] = 0.5
    n_tiles = -(-n_mines // TILE)
    tab = np.zeros((N_ROWS, n_tiles * TILE))
    tab[:, :n_mines] = t
    tab = np.ascontiguousarray(tab.reshape(N_ROWS, n_tiles, TILE).transpose(1, 0, 2))
    plain = (t[G_A] == 1.0) & (t[G_B] == 0.0) & (t[S_A] == 1.0) & (t[S_B] == 0.0)
    for tile in range(n_tiles):
        tab[tile, PLAIN, 0] = plain[tile * TILE:(tile + 1) * TILE].all()
    slow = np.nonzero(~fast)[0].astype(np.int64)
    return (tab, *_runs(model.mine_metal, n_tiles), *_runs(model.mine_group, n_tiles), slow)


def _runs(keys: np.ndarray, n_tiles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each tile's mines as runs of one key: ``(n_runs, bounds, run_key)``, run ``r`` of
    tile ``t`` being mines ``bounds[t, r] .. bounds[t, r + 1] - 1`` (within the tile)."""
    n_runs = np.zeros(n_tiles, dtype=np.int64)
    bounds = np.zeros((n_tiles, TILE + 1), dtype=np.uint64)
    run_key = np.zeros((n_tiles, TILE), dtype=np.uint64)
    for tile in range(n_tiles):
        k = keys[tile * TILE:(tile + 1) * TILE]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        n_runs[tile] = len(starts)
        bounds[tile, :len(starts)] = starts
        bounds[tile, len(starts)] = len(k)
        run_key[tile, :len(starts)] = k[starts]
    return n_runs, bounds, run_key


# -------------------------------------------------------------- global rows
@_jit
def uniform_triples(seed, sample, n_calls, out):
    """``out[3 c + q] = rng.uniform(seed, sample, 3 c + q)`` for calls ``c < n_calls``
    (vectorised: the Philox calls of all of them at once)."""
    k0, k1 = rng._split(np.uint64(seed))
    s0, s1 = rng._split(np.uint64(sample))
    for c in range(np.uint64(n_calls)):  # unsigned: no negative-index fix-up
        out[c + c + c], out[c + c + c + np.uint64(1)], out[c + c + c + np.uint64(2)] = \
            rng._triple(k0, k1, s0, s1, c, np.uint64(0))


# Rows of the global normal-family table (``normal_rows``): ``value = MEAN + S (sign z)``
# with ``z`` the ndtri of an argument in ppf_kernel's TRUNCNORMAL layout (:func:`normal_arg`),
# then ``exp`` of it where LOG is 1.
N_MEAN, N_S, N_P, N_R, N_M, N_FLIP, N_LOG, N_NROWS = range(8)


def normal_layout(p: np.ndarray, trunc: np.ndarray, normal: np.ndarray,
                  fix: np.ndarray) -> np.ndarray:
    """Rows ``MEAN, S, P, R, M, FLIP`` (shape (6, n)) of :func:`normal_arg`'s layout for
    parameters ``p`` (n, 4) in ``ppf_kernel``'s layout: TruncatedNormal rows (``trunc``)
    as its TRUNCNORMAL code, ``mean + s z`` rows (``normal``: Normal, or LogNormal's
    exponent) as the one-sided layout with ``P = 0, R = 1, M = 1`` (argument ``u``,
    exact), Fixed rows (``fix``) as ``mean = value, s = 0, P = 1/2, M = 0`` (``z = 0``,
    exact); other rows 0."""
    t = np.zeros((6, len(p)))
    t[0] = np.where(trunc | normal | fix, p[:, 0], 0.0)
    t[1] = np.where(trunc | normal, p[:, 1], 0.0)
    t[2] = np.where(trunc, p[:, 2], np.where(fix, 0.5, 0.0))
    t[3] = np.where(trunc, p[:, 3], np.where(normal, 1.0, 0.0))
    one_sided = t[3] >= 0.0
    t[4] = np.where(fix, 0.0, np.where(one_sided, t[3] - t[2], 1.0 - t[2] + t[3]))
    t[5] = trunc & one_sided & ~(p[:, 1] > 0.0)
    return t


@_inline
def normal_arg(u, p, r, m, flip):
    """``(argument, sign)``: ``ppf_kernel``'s TRUNCNORMAL code is ``mean + s sign
    ndtri(argument)`` (same operations; vectorisable, the conditionals become blends).
    One side of the mean (``r >= 0``): ``p + v m``, ``v = u`` or ``1 - u`` (``flip``);
    around the mean (``r < 0``): ``t = p + u m`` if ``t <= 1/2``, else ``-r + (1 - u) m``
    with a minus sign. ``p, r, m, flip`` from :func:`normal_layout`."""
    t = p + u * m
    one = p + (1.0 - u if flip != 0.0 else u) * m
    low = t <= 0.5
    arg = one if r >= 0.0 else (t if low else -r + (1.0 - u) * m)
    return arg, (1.0 if (r >= 0.0 or low) else -1.0)


def normal_rows(space: ParameterSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The global rows of ``space`` that :func:`global_ppfs` vectorises: ``(rows, tab,
    other)``. ``rows`` are those of a LogNormal, Normal, TruncatedNormal or Fixed; ``tab``
    (N_NROWS, n) their constants (:func:`normal_layout`, and N_LOG: 1 for a LogNormal,
    whose ``ln median, sigma`` are its MEAN and S); ``other`` the rows of every other
    family (Dirichlet members excluded), evaluated by ``ppf_kernel``."""
    g = space.n_globals
    codes = space.codes[:g]
    logn = codes == dists.LOGNORMAL
    normal, trunc, fix = codes == dists.NORMAL, codes == dists.TRUNCNORMAL, codes == dists.FIXED
    take = logn | normal | trunc | fix
    rows = np.flatnonzero(take).astype(np.int64)
    other = np.flatnonzero((codes >= 0) & ~take).astype(np.int64)
    tab = np.zeros((N_NROWS, len(rows)))
    tab[:N_LOG] = normal_layout(space.pars[rows], trunc[rows], (logn | normal)[rows], fix[rows])
    tab[N_LOG] = logn[rows]
    return rows, tab, other


@_jit
def global_ppfs(codes, pars, other, rows, tab, glob, P, TI):
    """Each global row's ppf of the uniform in ``glob``, in place: the normal family
    (``rows``, ``tab`` from :func:`normal_rows`; 86 of the default's 206 rows)
    vectorised like the mines (the arguments, the central ndtri branch for all, the
    tail branch for the listed 15% by :func:`tail_tile`, :func:`vexp` for exp); the
    rest, and any LogNormal whose exponent leaves [-700, 700], by ``dists.ppf_kernel``
    (the rows ``other``). Scratch: ``P`` (6, n + 8): arguments, ``z`` then values,
    signs, tail arguments, their ``z`` and :func:`tail_tile`'s scratch; ``TI`` (n + 8)
    the tail list."""
    n = rows.shape[0]
    for k in range(n):
        P[0, k] = glob[rows[k]]
    for k in range(n):  # vectorised
        P[0, k], P[2, k] = normal_arg(P[0, k], tab[N_P, k], tab[N_R, k], tab[N_M, k],
                                      tab[N_FLIP, k])
    for k in range(n):  # vectorised
        P[1, k] = ndtri_central(P[0, k])
    nt = 0
    for k in range(n):  # branch-free: always write, count only a tail
        TI[nt] = k
        P[3, nt] = P[0, k]
        nt += 1 if is_tail(P[0, k]) else 0
    tail_tile(np.uint64(nt), TI, P[3], P[4], P[5], P[1])
    nbad = 0
    for k in range(n):  # vectorised
        x = tab[N_MEAN, k] + tab[N_S, k] * (P[2, k] * P[1, k])
        log = tab[N_LOG, k] != 0.0
        nbad += log and abs(x) > _EXP_MAX
        P[4, k] = x
        P[1, k] = vexp(x) if log else x
    if nbad:
        for k in range(n):
            if tab[N_LOG, k] != 0.0 and abs(P[4, k]) > _EXP_MAX:
                j = rows[k]
                P[1, k] = dists.ppf_kernel(codes[j], pars[j, 0], pars[j, 1], pars[j, 2],
                                           pars[j, 3], glob[j])
    for i in range(other.shape[0]):
        j = other[i]
        glob[j] = dists.ppf_kernel(codes[j], pars[j, 0], pars[j, 1], pars[j, 2], pars[j, 3],
                                   glob[j])
    for k in range(n):
        glob[rows[k]] = P[1, k]


# --------------------------------------------------------------- tile phases
@_jit
def philox_tile(seed, sample, call, A):
    """Phase a: the uniforms of a tile's mines (vectorised).

    ``call`` is the Philox call of the tile's first mine (``mine_call0 + TILE t`` for
    tile ``t``: the layout of :mod:`uncertainty.space`, one call per mine);
    ``A[lane * TILE + j]`` is lane ``lane`` (grade, stripping ratio, recovery) of mine
    ``j``. Four calls per instruction (``vpmuludq``); what depends on the sample only
    (one and a half of the ten rounds) is hoisted out of the loop. A whole tile is
    always drawn (a short last tile's extra lanes are never read).
    """
    k0, k1 = rng._split(np.uint64(seed))
    s0, s1 = rng._split(np.uint64(sample))
    T = np.uint64(TILE)
    c = np.uint64(call)
    for j in range(T):  # unsigned: no negative-index fix-up
        A[j], A[T + j], A[T + T + j] = rng._triple(k0, k1, s0, s1, c + j, np.uint64(0))


@_inline
def mine_uniforms(seed, sample, call0, m):
    """The three uniforms of mine ``m`` (grade, stripping ratio, recovery) by the layout
    of :mod:`uncertainty.space`, one mine at a time (the general path)."""
    k0, k1 = rng._split(np.uint64(seed))
    s0, s1 = rng._split(np.uint64(sample))
    return rng._triple(k0, k1, s0, s1, np.uint64(call0 + m), np.uint64(0))


@_jit
def central_tile(n, tab, A, SG, Z):
    """Phase b: recovery arguments, then ``Z = ndtri_central(A)`` for the three lanes.

    Lane 2 of ``A`` becomes the ndtri argument of ``dists.ppf_kernel``'s TRUNCNORMAL
    code (same operations), the sign of its ndtri term in ``SG``: one side of the mean
    (``R >= 0``): ``P + v M``, ``v = u`` or ``1 - u``; around the mean (``R < 0``):
    ``t = P + u M`` if ``t <= 1/2``, else ``Q + (1 - u) M`` with a minus sign.
    Vectorised (the conditionals become blends). The recovery arguments come first, in
    a loop of their own; then the three lanes of a mine share one loop iteration: each
    ndtri is a chain of about 30 dependent operations, and three independent chains
    keep the floating-point units busy (2.4 -> 1.2 ns per ndtri, with Estrin's scheme).
    """
    T = TILE
    for j in range(n):
        A[2 * T + j], SG[j] = normal_arg(A[2 * T + j], tab[R_P, j], tab[R_R, j], tab[R_M, j],
                                         tab[R_FLIP, j])
    for j in range(T):
        Z[j] = ndtri_central(A[j])
        Z[T + j] = ndtri_central(A[T + j])
        Z[2 * T + j] = ndtri_central(A[2 * T + j])


@_jit
def tail_list(n, A, TI, TP):
    """Phase c: the arguments in the tails of AS 241 (about 15% of them), lane by lane:
    positions in ``TI``, values in ``TP``; returns their number.

    Each run of 64 arguments becomes a 64-bit mask of its tails first (vectorised: a
    compare, a shift and an OR per four), then only the set bits are visited
    (count-trailing-zeros, clear the lowest bit): half the time of one branch-free
    step per argument. Mines past ``n`` (a short last tile) are masked out.
    """
    T = np.uint64(TILE)  # unsigned throughout: no negative-index fix-up
    one = np.uint64(1)
    zero = np.uint64(0)
    n = np.uint64(n)
    nt = zero
    for w in range(T // np.uint64(64)):
        w0 = w * np.uint64(64)
        k = n - w0 if n > w0 else zero  # valid mines in this run of 64
        valid = ~zero if k >= np.uint64(64) else (one << k) - one
        for lane in range(np.uint64(3)):
            base = lane * T + w0
            m = zero
            for b in range(np.uint64(64)):
                m |= (one if is_tail(A[base + b]) else zero) << b
            m &= valid
            while m:
                o = base + np.uint64(trailing_zeros(m))
                TI[nt] = o
                TP[nt] = A[o]
                nt += one
                m &= m - one
    return nt


@_jit
def tail_tile(nt, TI, TP, TZ, TF, Z):
    """Phase d: the listed tail arguments (vectorised), scattered into ``Z``.

    :func:`ndtri_tail` in four loops, one per stage (the log's division, the rest of
    the log, square root, rational function): as one loop its chain of dependent
    operations (a division, the square root, another division) is longer than the
    out-of-order window can overlap (5.8 -> 4.0 ns per argument; the log in two loops,
    2.2 -> 1.9 ns). ``TF`` is scratch like ``TZ``. The list is padded to a multiple of
    eight (two vectors of four: :func:`vector_interleave`) with an inert argument, so
    that no scalar remainder loop runs."""
    n8 = min((nt + np.uint64(7)) & ~np.uint64(7), TP.shape[0], TZ.shape[0],
             TF.shape[0])  # room to pad
    for k in range(nt, n8):
        TP[k] = 0.25
    for k in range(n8):
        TF[k], TZ[k] = vlog_parts(tail_min(TP[k]))
    for k in range(n8):
        TZ[k] = -vlog_finish(tail_min(TP[k]), TF[k], TZ[k])
    for k in range(n8):
        TZ[k] = math.sqrt(TZ[k])
    nbad = 0
    for k in range(n8):
        p = TP[k]
        r = TZ[k]
        nbad += tail_bad(p, r)
        TZ[k] = tail_rational(p, r)
    if nbad:  # AS 241's far tail (p < 1.4e-11, about once in 10**10 draws) or bad input
        for k in range(nt):
            if tail_bad(TP[k], math.sqrt(tail_log(TP[k]))):
                TZ[k] = ndtri_fast(TP[k])
    for k in range(nt):
        Z[TI[k]] = TZ[k]


@_inline
def _mine_flow(g, s, j, tab, Z, SG, fg, fs, fr):
    """``weight * hf`` of mine ``j`` of a tile from its grade ``g`` and stripping ratio
    ``s`` (before their systematic factors ``fg``, ``fs``) and its recovery lane."""
    T = np.uint64(TILE)
    r = tab[R_MEAN, j] + tab[R_S, j] * (SG[j] * Z[T + T + j])
    g *= fg
    g = 1.0 if g > 1.0 else g
    r *= fr
    r = 1.0 if r > 1.0 else r
    s *= fs
    ore = 1.0 / (g * r)
    tail = ore - tab[CONC, j]
    tail = 0.0 if tail < 0.0 else tail
    return tab[WEIGHT, j] * (tab[SOLID_ALLOC, j] * (s * ore + tail))


@_jit
def mine_tile(n_runs, bounds, run_metal, sys_g, sys_s, sys_r, tab, Z, SG, HW, E):
    """Phase e: each mine's weighted hidden flow ``weight * hf`` into ``HW`` (vectorised).

    The operations of the general path (``ppf_kernel``, the systematic factors and
    their bounds, ``model.mine_terms``), with :func:`vexp` for ``exp`` and Fixed rows
    folded in without selects (see :func:`mine_tables`; a tile without Fixed grades or
    stripping ratios, ``tab[PLAIN, 0] == 1``, skips the fold: ``e 1 + 0 = e`` exactly,
    and four loads a mine fewer). The tile's mines come in runs
    of one metal (mines ``bounds[r] .. bounds[r + 1] - 1`` of metal ``run_metal[r]``),
    so that its systematic factors are loop constants: an indexed load
    ``sys_g[metal[j]]`` would stop LLVM from vectorising the loop (it cannot rule out
    that the load reads what the loop writes). The exponentials come first, in a loop
    of their own (``E``, scratch of ``2 TILE``): one loop for everything was a chain of
    dependent operations too long for the out-of-order window (4.8 -> 4.1 ns a mine).
    """
    T = np.uint64(TILE)  # unsigned like j: T + j needs no negative-index fix-up
    for j in range(T):  # the whole tile (a short last tile's extra lanes are never read)
        E[j] = vexp(tab[G_MU, j] + tab[G_SIG, j] * Z[j])
        E[T + j] = vexp(tab[S_MU, j] + tab[S_SIG, j] * Z[T + j])
    plain = tab[PLAIN, 0] != 0.0
    for run in range(n_runs):
        k = run_metal[run]
        fg = sys_g[k]
        fs = sys_s[k]
        fr = sys_r[k]
        if plain:
            for j in range(bounds[run], bounds[run + 1]):  # unsigned: no fix-up
                HW[j] = _mine_flow(E[j], E[T + j], j, tab, Z, SG, fg, fs, fr)
        else:
            for j in range(bounds[run], bounds[run + 1]):
                HW[j] = _mine_flow(E[j] * tab[G_A, j] + tab[G_B, j],
                                   E[T + j] * tab[S_A, j] + tab[S_B, j], j, tab, Z, SG, fg,
                                   fs, fr)


# ------------------------------------------------------------------ Dirichlet
# rng.dirichlet_variate draws each member's Gamma(alpha) by Marsaglia-Tsang from block
# ``row`` of substream ``1 + attempt`` and normalises in log form. A sample of the
# default model has 120 such members; their libm calls (log, cos, log, exp and the
# boost's log) and one Philox chain after another cost 8.5 us a sample, about as much
# as 400 mines. Here: every member's first attempt at once (the Philox calls and the
# transcendental functions vectorised), each member whose acceptance is not
# certain by a wide margin redone exactly by rng's own code, then the normalisation.
# The decisions are rng's, always; the values are within a few ulp of rng's.


def dirichlet_tables(space: ParameterSpace) -> tuple[np.ndarray, ...]:
    """Constants of the Dirichlet members of ``space`` for :func:`dirichlet_draws`.

    Returns
    -------
    member : ndarray, shape (6, K4), float64
        Member ``k`` (the rows of every group, in order; K4 = K rounded up to a multiple
        of 4, padding inert): its global row ``j`` (as float), ``alpha``, and
        Marsaglia-Tsang's ``d = a - 1/3`` and ``c = 1 / sqrt(9 d)`` with ``a = alpha
        (+ 1 if alpha < 1)``, computed with the same operations as ``rng._gamma_parts``,
        ``boost`` (1.0 if alpha < 1) and ``log(d)``. A member of alpha 0 has alpha 1 here (its
        share is 0 exactly: see :func:`dirichlet_shares`).
    groups : ndarray, shape (n_groups, 3), int64
        First row, number of rows and first member of each group, and
    exact : ndarray, shape (n_groups,), bool
        Groups with an alpha that is negative, infinite or NaN, or none positive: drawn
        by ``rng.dirichlet_variate`` itself (its NaN result).
    """
    rows = np.concatenate([np.arange(f, f + n, dtype=np.int64) for f, n in
                           zip(space.dir_first, space.dir_len, strict=True)]
                          or [np.zeros(0, dtype=np.int64)])
    alpha = space.dir_alpha[rows]
    k4 = -(-len(rows) // 4) * 4
    member = np.zeros((6, k4))
    member[0, :len(rows)] = rows
    a = np.where(alpha > 0, alpha, 1.0)
    boost = a < 1.0
    a_ = np.where(boost, a + 1.0, a)
    d = a_ - 1.0 / 3.0
    member[1] = 1.0
    member[1, :len(rows)] = a
    member[2] = member[3] = 1.0
    member[2, :len(rows)] = d
    member[3, :len(rows)] = 1.0 / np.sqrt(9.0 * d)
    member[4, :len(rows)] = boost
    member[5] = np.log(member[2])
    firsts = (np.cumsum(space.dir_len) - space.dir_len).astype(np.int64)
    groups = np.stack([space.dir_first, space.dir_len, firsts], axis=1).astype(np.int64)
    exact = np.array([not (np.all((al >= 0) & np.isfinite(al)) and np.any(al > 0))
                      for al in (space.dir_alpha[f:f + n] for f, n in
                                 zip(space.dir_first, space.dir_len, strict=True))], dtype=bool)
    return member, groups.reshape(-1, 3), exact


@_inline
def _gamma_v(z, c):
    """Marsaglia-Tsang's ``(t, v) = (1 + c z, t**3)``."""
    t = 1.0 + c * z
    return t, t * t * t


@_inline
def _gamma_decision(z, u2, log_u, d, c, f, s):
    """``(log(v), verdict)`` of an attempt of ``rng._gamma_parts``, from its normal ``z``,
    acceptance uniform ``u2``, ``log_u = log(u2)`` and ``(f, s) = vlog_parts(v)``
    (:func:`_gamma_v`; vectorisable); the caller adds
    ``log(d)`` and the boost's ``log(u3) / alpha``. ``verdict`` is 1.0 where the attempt
    is accepted, -1.0 where it is rejected, by a margin that rounding cannot cross (rng's
    own values, from libm, differ from these by less than 1e-14 relative): the squeeze
    ``u < 1 - 0.0331 z**4`` with 1e-13 to spare, ``log(u) < z**2 / 2 + d (1 - v +
    log(v))`` with 1e-11 of the magnitude of its terms, ``t = 1 + c z`` 1e-9 away from
    0. Otherwise (0.0; a few draws in ten thousand) the caller asks rng. ``log(g) =
    log(d) + log(v)`` (rng: ``log(d v)``; the same to an absolute 1e-16, all the
    normalisation sees)."""
    t, v = _gamma_v(z, c)
    z2 = z * z
    log_v = vlog_finish(v, f, s)
    rhs = 0.5 * z2 + d * (1.0 - v + log_v)
    margin = 1e-11 * (1.0 - log_u + 0.5 * z2 + d * (1.0 + v + abs(log_v)))
    squeeze = 1.0 - 0.0331 * z2 * z2
    accept = (t > 1e-9) & ((u2 < squeeze - 1e-13) | (log_u < rhs - margin))
    reject = (t < -1e-9) | ((t > 1e-9) & (u2 > squeeze + 1e-13) & (log_u > rhs + margin))
    return log_v, (1.0 if accept else (-1.0 if reject else 0.0))


@_inline
def _row(x):
    """A member's row index as uint64 from its float by the 2**52 trick (exact below
    2**52; AVX2 has no float -> int64 conversion, and a scalar one stops the
    vectoriser)."""
    return np.uint64(_bits(x + _TWO_52) - _TWO_52_BITS)


DIR_ROWS = 22
"""Rows of :func:`dirichlet_draws`'s scratch ``U``: 0-6 the attempts of every member,
7-12 the member table of the retried ones, 13-19 their attempts, 20 their values, 21
their positions."""

MAX_ATTEMPTS = 6
"""Vectorised attempts of :func:`dirichlet_draws`: a member rejected that often (about
once in 10**10 draws) asks rng."""


@_jit
def _attempt(k0, k1, s0, s1, substream, member, n, U, out):
    """Attempt ``substream - 1`` of members ``0 .. n - 1`` of ``member``, vectorised
    (:func:`_gamma_decision`): ``out[k]`` the value if accepted, ``U[0, k]`` the
    verdict; ``U[6, k]`` holds the boost's ``log(u3) / alpha`` (0 if not boosted), rows
    1, 3 and 5 are scratch. In stages, one loop each, every logarithm split in two at
    its division (:func:`vlog_parts`): chains short enough for the out-of-order window.
    Returns the number of rejected members and the number of uncertain verdicts."""
    for k in range(n):  # call member[0, k] of the substream
        U[0, k], U[1, k], U[2, k] = rng._triple(k0, k1, s0, s1, _row(member[0, k]), substream)
    for k in range(n):
        U[4, k], U[5, k] = vlog_parts(U[0, k])
    for k in range(n):  # the Box-Muller normal
        U[4, k] = (math.sqrt(-2.0 * vlog_finish(U[0, k], U[4, k], U[5, k]))
                   * vcos(_TWO_PI * U[1, k]))
    for k in range(n):  # the log of the acceptance uniform
        U[3, k], U[5, k] = vlog_parts(U[2, k])
    for k in range(n):
        U[5, k] = vlog_finish(U[2, k], U[3, k], U[5, k])
    for k in range(n):  # log(v)'s first stage
        U[1, k], U[3, k] = vlog_parts(_gamma_v(U[4, k], member[3, k])[1])
    n_rejected = 0
    n_unsure = 0
    for k in range(n):
        x, verdict = _gamma_decision(U[4, k], U[2, k], U[5, k], member[2, k], member[3, k],
                                     U[1, k], U[3, k])
        out[k] = x + member[5, k] + U[6, k]
        U[0, k] = verdict
        n_rejected += verdict == -1.0
        n_unsure += verdict == 0.0
    return n_rejected, n_unsure


@_jit
def dirichlet_draws(seed, sample, member, glob, U, out, max_attempts):
    """``out[k] = log(g_k) + log_boost_k``, member ``k``'s Gamma(alpha) draw in the log
    form of ``rng.dirichlet_variate``, for every member (``U``: scratch, (DIR_ROWS,
    K4)). ``glob`` holds each member row's own uniform (``rng.uniform(seed, sample,
    row)``, the boost uniform), as :func:`uniform_triples` left it.

    Every member's first attempt at once; the members it surely rejects (a few in a
    hundred) try again together, vectorised, until accepted or ``max_attempts`` (the
    kernel: :data:`MAX_ATTEMPTS`) are spent; a member whose verdict is not certain by a
    wide margin at some attempt, or still rejected then, is drawn by rng's own code."""
    k0, k1 = rng._split(np.uint64(seed))
    s0, s1 = rng._split(np.uint64(sample))
    K = member.shape[1]
    for k in range(K):  # the boost uniforms (a gather: in a loop with the Philox calls,
        # it stopped the vectoriser)
        U[3, k] = glob[_row(member[0, k])]
    for k in range(K):
        U[6, k] = member[4, k] * vlog(U[3, k]) / member[1, k]
    n_rejected, n_unsure = _attempt(k0, k1, s0, s1, np.uint64(1), member, K, U, out)
    MR = U[7:13]
    UR = U[13:20]
    OR = U[20]
    nr = 0
    for k in range(K if n_rejected else 0):  # the rejected members' table
        if U[0, k] == -1.0:
            for r in range(6):
                MR[r, nr] = member[r, k]
            UR[6, nr] = U[6, k]
            U[21, nr] = k
            nr += 1
    substream = np.uint64(2)
    while nr > 0:
        if substream > np.uint64(max_attempts):
            for i in range(nr):
                U[0, int(U[21, i])] = 0.0
            n_unsure += nr
            break
        n4 = min((nr + 3) & ~3, K)
        for i in range(nr, n4):  # pad to whole vectors with a copy of the first
            for r in range(6):
                MR[r, i] = MR[r, 0]
            UR[6, i] = UR[6, 0]
        n_unsure += _attempt(k0, k1, s0, s1, substream, MR, n4, UR, OR)[1]  # padding
        # included: it only makes the final scan run
        left = 0
        for i in range(nr):
            k = int(U[21, i])
            verdict = UR[0, i]
            if verdict == -1.0:  # rejected again: keep, compacted
                for r in range(6):
                    MR[r, left] = MR[r, i]
                UR[6, left] = UR[6, i]
                U[21, left] = k
                left += 1
            else:
                out[k] = OR[i]
                U[0, k] = verdict
        nr = left
        substream += np.uint64(1)
    for k in range(K if n_unsure else 0):  # a few in ten thousand: rng's own draw
        if U[0, k] == 0.0:
            g, log_boost = rng._gamma_parts(seed, sample, np.int64(member[0, k]), member[1, k])
            out[k] = math.log(g) + log_boost


@_jit
def dirichlet_shares(groups, exact, dir_alpha, member, out, glob, seed, sample, W):
    """The shares of every group into ``glob``, from the log draws ``out``: as
    ``rng.dirichlet_variate`` (max, exp of the differences, sum in order, divide), the
    exponentials and divisions of all members in one loop each, :func:`vexp` where the
    difference is at least -700, libm's exp below (subnormal or zero shares). ``W``:
    scratch, (2, K4)."""
    if groups.shape[0] == 0:
        return
    K = member.shape[1]
    for k in range(K):  # padding: never written to glob
        W[0, k] = 1.0
    for gi in range(groups.shape[0]):
        f, n, k0 = groups[gi, 0], groups[gi, 1], groups[gi, 2]
        if exact[gi]:  # rng's own draw (NaN), passed through the loops below unchanged
            rng.dirichlet_variate(seed, sample, f, dir_alpha[f:f + n], glob[f:f + n])
            continue
        top = -math.inf
        for i in range(n):
            x = -math.inf if dir_alpha[f + i] == 0.0 else out[k0 + i]
            out[k0 + i] = x
            top = x if x > top else top  # rng's max(top, x): no NaN here
        for i in range(n):
            W[0, k0 + i] = top
    for k in range(K):  # vectorised
        W[1, k] = vexp(max(out[k] - W[0, k], -_EXP_MAX))
    for gi in range(groups.shape[0]):
        f, n, k0 = groups[gi, 0], groups[gi, 1], groups[gi, 2]
        if exact[gi]:  # divided by 1 below: rng's values unchanged
            for i in range(n):
                W[1, k0 + i] = glob[f + i]
            continue
        total = 0.0
        for i in range(n):
            x = out[k0 + i] - W[0, k0 + i]
            if x < -_EXP_MAX:
                W[1, k0 + i] = math.exp(x)
            total += W[1, k0 + i]
        for i in range(n):
            W[0, k0 + i] = total
    for k in range(K):  # vectorised
        W[1, k] /= W[0, k]
    for k in range(groups[-1, 1] + groups[-1, 2]):  # the members, padding excluded
        glob[_row(member[0, k])] = W[1, k]


@_jit
def group_sums(n_runs, bounds, run_group, HW, hs):
    """``hs[group] += HW[j]`` for the tile's mines, by runs of one group: four partial
    sums per run (a single running sum is a chain of dependent additions, 3 cycles
    each). The order is fixed by the data alone, so the bytes do not depend on chunks
    or threads."""
    one = np.uint64(1)
    for run in range(n_runs):
        j = bounds[run]  # unsigned, and so is all index arithmetic below
        end = bounds[run + 1]
        s0 = s1 = s2 = s3 = 0.0
        while j + np.uint64(4) <= end:
            s0 += HW[j]
            s1 += HW[j + one]
            s2 += HW[j + np.uint64(2)]
            s3 += HW[j + np.uint64(3)]
            j += np.uint64(4)
        while j < end:
            s0 += HW[j]
            j += one
        hs[run_group[run]] += (s0 + s1) + (s2 + s3)
