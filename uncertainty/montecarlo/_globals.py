"""Each sample's global rows for the Monte Carlo kernel
(:func:`uncertainty.montecarlo._mc_kernel`; its design and time breakdown are in
:mod:`uncertainty.montecarlo._kernels`, whose normal-family argument and tail stage this module
uses, with :mod:`uncertainty.montecarlo._vmath`'s arithmetic).

**Global rows**: uniforms of all calls at once, vectorised (:func:`uniform_triples`),
the normal family (LogNormal, Normal, TruncatedNormal, Fixed) vectorised like the mines,
tails by ``_mckernels.tail_tile`` (:func:`global_ppfs`), and ``rng.dirichlet_variate``'s
draws vectorised (:func:`dirichlet_draws`, :func:`dirichlet_shares`) with its
accept/reject decisions guaranteed identical: a member whose acceptance is not certain
by a wide margin is redrawn by rng's own code.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from uncertainty import (
    _cache,  # noqa: F401  (before any kernel: package-stamped numba cache)
    dists,
    rng,
)
from uncertainty.montecarlo._kernels import normal_arg, normal_layout, tail_tile
from uncertainty.montecarlo._vmath import (
    _EXP_MAX,
    _TWO_52,
    _TWO_52_BITS,
    _TWO_PI,
    _inline,
    _jit,
    is_tail,
    ndtri_central,
    vcos,
    vexp,
    vlog,
    vlog_finish,
    vlog_parts,
)
from uncertainty.rng import _bits

if TYPE_CHECKING:
    from uncertainty.space import ParameterSpace

__all__: list[str] = []


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
# with ``z`` the ndtri of an argument in ppf_kernel's TRUNCNORMAL layout (:func:`~uncertainty.montecarlo._kernels.normal_arg`),
# then ``exp`` of it where LOG is 1.
N_MEAN, N_S, N_P, N_R, N_M, N_FLIP, N_LOG, N_NROWS = range(8)


def normal_rows(space: ParameterSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The global rows of ``space`` that :func:`global_ppfs` vectorises: ``(rows, tab,
    other)``. ``rows`` are those of a LogNormal, Normal, TruncatedNormal or Fixed; ``tab``
    (N_NROWS, n) their constants (:func:`~uncertainty.montecarlo._kernels.normal_layout`, and N_LOG: 1 for a LogNormal,
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
    tail branch for the listed 15% by :func:`~uncertainty.montecarlo._kernels.tail_tile`, :func:`~uncertainty.montecarlo._vmath.vexp` for exp); the
    rest, and any LogNormal whose exponent leaves [-700, 700], by ``dists.ppf_kernel``
    (the rows ``other``). Scratch: ``P`` (6, n + 8): arguments, ``z`` then values,
    signs, tail arguments, their ``z`` and :func:`~uncertainty.montecarlo._kernels.tail_tile`'s scratch; ``TI`` (n + 8)
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
    its division (:func:`~uncertainty.montecarlo._vmath.vlog_parts`): chains short enough for the out-of-order window.
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
    exponentials and divisions of all members in one loop each, :func:`~uncertainty.montecarlo._vmath.vexp` where the
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
