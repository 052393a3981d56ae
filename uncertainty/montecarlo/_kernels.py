"""Private numba helpers of the Monte Carlo kernel (``uncertainty.montecarlo.kernel._mc_kernel``):
the tiles of mines, their tables and the kernel's design.

A sample of the default model evaluates 1,784 mines: per mine one Philox call (three
42-bit uniforms), three inverse normal CDFs (AS 241), two exponentials and the mine
equation; and 206 global rows, 120 of them Dirichlet members drawn by Marsaglia-Tsang
gammas. The helpers are compiled under :func:`vector_interleave` (as
:func:`uncertainty.montecarlo.evaluate_chunk` does). Every phase is a loop of
independent iterations bound by the number of its operations (Philox's multiplies,
shifts and xors; the polynomials' FMAs) or, where one iteration is a long chain of
dependent operations (a division, a square root, another division), by how many
iterations the out-of-order window can overlap: such loops are split into stages, one
loop each. Where the time goes, phase by phase, is on the documentation's performance
page.

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

2. **Specialised rows.** Per-mine rows of the families the data uses (LogNormal or
   Fixed grade and stripping ratio; TruncatedNormal, Normal or Fixed recovery) are
   tabulated once per call (:func:`mine_tables`) and evaluated with the operations of
   ``dists.ppf_kernel``, its libm calls replaced by :mod:`uncertainty.montecarlo._vmath`'s
   vectorisable exp, log and inverse normal branches. Any other family (an override
   to Uniform, Triangular, Beta, Gamma ...), an exponent range too wide for
   :func:`~uncertainty.montecarlo._vmath.vexp` or a grade-stripping copula sends the mine to the
   general path (``dists.ppf_kernel``, as before); a tail probability below
   ``exp(-25)`` (AS 241's far tail) goes to ``_special.ndtri_fast``.

The helpers live in three private modules, each importing only those before it:
:mod:`uncertainty.montecarlo._vmath` (exp, log and cos in plain arithmetic with explicit FMAs, the
inverse normal CDF's branches, the decorators), this module (the tiles of mines, their
tables, and the normal family's argument shared with the global rows) and
:mod:`uncertainty.montecarlo._globals` (each sample's global rows: uniforms, the normal family
and ``rng.dirichlet_variate``'s draws vectorised with its decisions guaranteed
identical).

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
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from uncertainty import (
    _cache,  # noqa: F401  (before any kernel: package-stamped numba cache)
    dists,
    rng,
)
from uncertainty.dists.special import ndtri_fast
from uncertainty.montecarlo._vmath import (
    _EXP_MAX,
    _inline,
    _jit,
    is_tail,
    ndtri_central,
    tail_bad,
    tail_log,
    tail_min,
    tail_rational,
    vexp,
    vlog_finish,
    vlog_parts,
)

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
    exponential loops. It changes which instructions run, never an operation or its
    order (no fastmath: LLVM may not reassociate), so results are the same bytes. The
    tests that call the tile functions directly compile them without it.
    """
    with _INTERLEAVE_LOCK:
        llvm.set_option("", f"--force-vector-interleave={count}")
        try:
            yield
        finally:
            llvm.set_option("", "--force-vector-interleave=0")


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
        :func:`~uncertainty.montecarlo._vmath.vexp` is valid) for some ``|z| <= 8.5``, a row of a
        co-product site (``montecarlo._site_flows``), or every mine when the space has a
        grade-stripping correlation.
    """
    n_mines, ng = space.n_mines, space.n_globals
    codes = space.codes[ng:].reshape(n_mines, 3)
    pars = space.pars[ng:].reshape(n_mines, 3, 4)
    t = np.zeros((N_ROWS, n_mines))
    fast = np.full(n_mines, space.correlation == 0.0) & (model.mine_site < 0)
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


# ----------------------------------------------------------- normal family
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
    keep the floating-point units busy (with Estrin's scheme for the polynomials).
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

    :func:`~uncertainty.montecarlo._vmath.ndtri_tail` in four loops, one per stage (the log's division, the rest of
    the log, square root, rational function): as one loop its chain of dependent
    operations (a division, the square root, another division) is longer than the
    out-of-order window can overlap. ``TF`` is scratch like ``TZ``. The list is padded to a multiple of
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
    their bounds, ``model.mine_terms``), with :func:`~uncertainty.montecarlo._vmath.vexp` for ``exp`` and Fixed rows
    folded in without selects (see :func:`mine_tables`; a tile without Fixed grades or
    stripping ratios, ``tab[PLAIN, 0] == 1``, skips the fold: ``e 1 + 0 = e`` exactly,
    and four loads a mine fewer). The tile's mines come in runs
    of one metal (mines ``bounds[r] .. bounds[r + 1] - 1`` of metal ``run_metal[r]``),
    so that its systematic factors are loop constants: an indexed load
    ``sys_g[metal[j]]`` would stop LLVM from vectorising the loop (it cannot rule out
    that the load reads what the loop writes). The exponentials come first, in a loop
    of their own (``E``, scratch of ``2 TILE``): one loop for everything would be a
    chain of dependent operations too long for the out-of-order window.
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
