"""The incremental evaluation of the TMR Sobol design.

For each base row the kernel keeps the per-mine terms and the (metal, country) group
sums of f(A); f(AB_j) for a factor that touches a few mines updates only their terms,
a factor that touches global inputs re-runs the aggregation from the group sums, and a
systematic factor re-computes the mines of its metal (:mod:`uncertainty.sensitivity.tmr`).
:func:`evaluate_block` is a pure function of a :class:`SobolJob` and a range of base
rows, so blocks run in this process or on Dask with identical results; the output
store keeps f(A), f(B) and f(AB_j) of every row evaluated so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba as nb
import numpy as np

from uncertainty import (
    _cache,  # noqa: F401  (before any kernel: package-stamped numba cache)
    rng,
)
from uncertainty.metrics import HEADLINE_NAMES
from uncertainty.model import (
    Chain,
    Model,
    Scenario,
    aggregate,
    finish,
    mine_terms,
    outputs,
    prep_size,
    prepare,
    site_alloc,
    site_terms,
    work_size,
)
from uncertainty.sensitivity.factors import Factors
from uncertainty.space import ParameterSpace

__all__ = ["HEADLINE", "Block", "SobolJob", "ab_outputs", "evaluate_block", "make_job"]

_BLOCK_LOCAL = 256
_BLOCK_DASK = 512
_CHUNK_ROWS = 16  # numba prange chunk of base rows


# ============================================================================= kernel
class Design(NamedTuple):
    """Model inputs of the A and B matrices of a block of base rows (:func:`_inputs`)."""

    gA: np.ndarray  # (n, M) grade
    sA: np.ndarray  # (n, M) stripping ratio
    rA: np.ndarray  # (n, M) recovery
    globA: np.ndarray  # (n, n_globals)
    gB: np.ndarray
    sB: np.ndarray
    rB: np.ndarray
    globB: np.ndarray
    sGB: np.ndarray  # stripping with the grade's uniform from B, the stripping's from A
    sSB: np.ndarray  # the reverse (equal to sA / sB without the grade-stripping copula)


class Encoding(NamedTuple):
    """The factors in CSR form (:func:`_encode`): factor ``f`` swaps the global columns
    ``gcols[gptr[f]:gptr[f+1]]`` and the mines ``fmines[mptr[f]:mptr[f+1]]`` with their
    swap masks (bit 0 grade, 1 stripping, 2 recovery)."""

    gptr: np.ndarray
    gcols: np.ndarray
    mptr: np.ndarray
    fmines: np.ndarray
    fmasks: np.ndarray


def _encode(space: ParameterSpace, model: Model, units: Sequence[np.ndarray]) -> Encoding:
    """CSR arrays: global columns per factor; affected mines and their swap masks."""
    ng = space.n_globals
    sys_off = [model.offsets["sys_grade"], model.offsets["sys_stripping"],
               model.offsets["sys_recovery"]]
    K = len(model.metals)
    of_metal = [np.nonzero(model.mine_metal == k)[0] for k in range(K)]
    # a site's stripping ratio takes its lead row's metal's systematic factor
    of_lead_metal = [np.nonzero(model.mine_metal[model.mine_lead] == k)[0] for k in range(K)]
    mines_of = (of_metal, of_lead_metal, of_metal)
    po = model.offsets["price"]
    n_price = len(model.global_names) - po  # the last block (empty without price uncertainty)
    gptr, gcols, mptr, mines, masks = [0], [], [0], [], []
    for cols in units:
        g = cols[cols < ng]
        gcols.extend(g.tolist())
        gptr.append(len(gcols))
        aff: dict[int, int] = {}
        for j in g:
            for lane, so in enumerate(sys_off):
                if so <= j < so + K:
                    for m in mines_of[lane][j - so]:
                        aff.setdefault(int(m), 0)
            if po <= j < po + n_price:  # a price: the sites whose shares follow it
                for q in np.flatnonzero(model.site_mode):
                    a, b = int(model.site_start[q]), int(model.site_stop[q])
                    if (model.mine_metal[a:b] == j - po).any():
                        aff.setdefault(a, 0)
        for j in cols[cols >= ng]:
            m, q = divmod(int(j) - ng, 3)
            aff[m] = aff.get(m, 0) | (1 << q)
        for m in list(aff):  # a co-product site is recomputed whole (one ore stream)
            q = int(model.mine_site[m])
            if q >= 0:
                for r in range(int(model.site_start[q]), int(model.site_stop[q])):
                    aff.setdefault(r, 0)
        for m in sorted(aff):
            mines.append(m)
            masks.append(aff[m])
        mptr.append(len(mines))
    return Encoding(np.array(gptr, dtype=np.int64), np.array(gcols, dtype=np.int64),
                    np.array(mptr, dtype=np.int64), np.array(mines, dtype=np.int64),
                    np.array(masks, dtype=np.int64))


HEADLINE = HEADLINE_NAMES
"""The first metrics of :func:`uncertainty.model.outputs`; when only these are asked for,
the kernel computes them alone (``outputs(..., headline_only=True)``), skipping the
per-metal, per-vehicle and per-country metrics."""


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _add_delta(m, k, dh, du, only_mines, globA_i, o_sup, mine_group, group_country, prepA,
               pdem, pf, K, state2, hs2, us2):
    """Add a mine's change of weighted hidden flow ``dh`` and used extraction ``du``: to
    the state of A (a factor of mines only) or to the group sums (with global inputs)."""
    gi = mine_group[m]
    if only_mines:
        sh = globA_i[o_sup + gi]
        state2[k] += sh * dh
        state2[K + k] += sh * du
        state2[2 * K + group_country[gi]] += prepA[pdem + k] * sh * dh * prepA[pf + k]
    else:
        hs2[gi] += dh
        us2[gi] += du


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _mixed_stripping(i, m, mask, sA, sB, sGB, sSB):
    """Stripping ratio of mine ``m`` in AB: its own column from B (mask bit 2) or A, under
    the copula with the grade's uniform from B (bit 1) or A."""
    if mask & 2:
        return sB[i, m] if mask & 1 else sSB[i, m]
    return sGB[i, m] if mask & 1 else sA[i, m]


@nb.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _ab_kernel(x, enc, out_idx, head, yA, yB, yAB, mines, ch, sw, nwork, n_metrics):
    """f(A), f(B) (k, n) and f(AB_j) (k, n, D), one base row per iteration.

    ``x`` the :class:`Design`, ``enc`` the :class:`Encoding` of the factors, ``mines``,
    ``ch`` and ``sw`` the model's :class:`~uncertainty.model.MineArrays`,
    :class:`~uncertainty.model.Chain` and the scenario's
    :class:`~uncertainty.model.Switches`; ``yA, yB, yAB`` receive the metrics
    ``out_idx``.

    ``head``: every ``out_idx`` is one of :data:`HEADLINE`, so f(AB_j) needs those only.

    ``sGB`` / ``sSB``: stripping ratios with the grade's uniform from B and the
    stripping's from A / the reverse (they differ from ``sA`` / ``sB`` only under the
    grade-stripping copula).
    """
    gA, sA, rA, globA, gB, sB, rB, globB, sGB, sSB = (x.gA, x.sA, x.rA, x.globA, x.gB, x.sB,
                                                      x.rB, x.globB, x.sGB, x.sSB)
    gptr, gcols, mptr, fmines, fmasks = enc.gptr, enc.gcols, enc.mptr, enc.fmines, enc.fmasks
    mine_metal, mine_group, mine_weight, mine_conc = (mines.metal, mines.group, mines.weight,
                                                      mines.conc)
    mine_alloc_rr, mine_solid, mine_site = mines.alloc_rr, mines.solid, mines.site
    site_mode, mine_prod, mine_rr, po = mines.site_mode, mines.prod, mines.rr, mines.price_off
    site_start, site_stop, n_groups = mines.site_start, mines.site_stop, mines.n_groups
    (c_off, c_metals, c_vehicles, c_chems, c_countries, c_group_metal, c_group_country,
     c_fab, c_secondary, c_nev, c_intensity, c_battery, c_domestic, c_lfp) = ch
    off, n_metals, n_vehicles = c_off, c_metals, c_vehicles
    n_chems, n_countries, group_country = c_chems, c_countries, c_group_country
    n, M = gA.shape
    D = gptr.shape[0] - 1
    n_out = out_idx.shape[0]
    o_g = off[0]
    o_s = off[1]
    o_r = off[2]
    o_sup = off[3]
    K = n_metals
    pdem = n_vehicles * K
    pf = pdem + K
    n_sites = site_start.shape[0]
    L = 1
    for q in range(n_sites):
        L = max(L, site_stop[q] - site_start[q])
    for i in nb.prange(n):
        # a tuple of mixed types cannot enter a parallel loop: rebuilt from its arrays
        ch = Chain(c_off, c_metals, c_vehicles, c_chems, c_countries, c_group_metal,
                   c_group_country, c_fab, c_secondary, c_nev, c_intensity, c_battery,
                   c_domestic, c_lfp)
        G = np.empty(L)
        R = np.empty(L)
        H = np.empty(L)
        U = np.empty(L)
        A = np.empty(L)
        wk = np.empty(nwork)
        res = np.empty(n_metrics)
        hfA = np.empty(M)
        usedA = np.empty(M)
        hs = np.zeros(n_groups)
        us = np.zeros(n_groups)
        hs2 = np.empty(n_groups)
        us2 = np.empty(n_groups)
        globF = np.empty(globA.shape[1])
        prepA = np.empty(prep_size(n_metals, n_vehicles))
        stateA = np.empty(2 * K + n_countries)
        state2 = np.empty(2 * K + n_countries)
        mix = np.empty(n_chems)
        hk = np.empty(K)
        state3 = np.empty(2 * K + n_countries)
        # f(B), then f(A) (whose per-mine terms and group sums are kept)
        for which in range(2):
            hs[:] = 0.0
            us[:] = 0.0
            gl = globB[i] if which == 0 else globA[i]
            for m in range(M):
                if mine_site[m] >= 0:
                    continue
                k = mine_metal[m]
                if which == 0:
                    g, s, r = gB[i, m], sB[i, m], rB[i, m]
                else:
                    g, s, r = gA[i, m], sA[i, m], rA[i, m]
                g = min(g * gl[o_g + k], 1.0)
                r = min(r * gl[o_r + k], 1.0)
                s = s * gl[o_s + k]
                hf, used = mine_terms(g, s, r, mine_conc[m], mine_alloc_rr[m], mine_solid[m])
                if which == 1:
                    hfA[m] = hf
                    usedA[m] = used
                gi = mine_group[m]
                hs[gi] += mine_weight[m] * hf
                us[gi] += mine_weight[m] * used
            for q in range(n_sites):
                a = site_start[q]
                b = site_stop[q]
                for j in range(a, b):
                    k = mine_metal[j]
                    gj = gB[i, j] if which == 0 else gA[i, j]
                    rj = rB[i, j] if which == 0 else rA[i, j]
                    G[j - a] = min(gj * gl[o_g + k], 1.0)
                    R[j - a] = min(rj * gl[o_r + k], 1.0)
                sl = (sB[i, a] if which == 0 else sA[i, a]) * gl[o_s + mine_metal[a]]
                site_alloc(a, b, site_mode[q], gl, po, mine_metal, mine_prod, mine_rr,
                           mine_alloc_rr, A)
                site_terms(a, b, G, R, sl, mine_conc, A, mine_solid, H, U)
                for j in range(a, b):
                    if which == 1:
                        hfA[j] = H[j - a]
                        usedA[j] = U[j - a]
                    hs[mine_group[j]] += mine_weight[j] * H[j - a]
                    us[mine_group[j]] += mine_weight[j] * U[j - a]
            finish(hs, us, gl, res, ch, sw, 0, wk)
            for q in range(n_out):
                if which == 0:
                    yB[q, i] = res[out_idx[q]]
                else:
                    yA[q, i] = res[out_idx[q]]
        # A's preparation and state, reused by every factor that leaves globals alone
        prepare(globA[i], prepA, ch, sw, 0, mix)
        aggregate(hs, us, globA[i], prepA, stateA, ch)
        for f in range(D):
            only_mines = gptr[f + 1] == gptr[f]
            if only_mines:
                state2[:] = stateA
            else:
                globF[:] = globA[i]
                for t in range(gptr[f], gptr[f + 1]):
                    globF[gcols[t]] = globB[i, gcols[t]]
                hs2[:] = hs
                us2[:] = us
            gl = globA[i] if only_mines else globF
            t = mptr[f]
            while t < mptr[f + 1]:
                m = fmines[t]
                q = mine_site[m]
                if q >= 0:  # a whole co-product site, rows a .. b - 1 (see _encode)
                    a = site_start[q]
                    b = site_stop[q]
                    for j in range(a, b):
                        mask = fmasks[t + j - a]
                        k = mine_metal[j]
                        gj = gB[i, j] if mask & 1 else gA[i, j]
                        rj = rB[i, j] if mask & 4 else rA[i, j]
                        G[j - a] = min(gj * gl[o_g + k], 1.0)
                        R[j - a] = min(rj * gl[o_r + k], 1.0)
                    sl = _mixed_stripping(i, a, fmasks[t], sA, sB, sGB, sSB) * \
                        gl[o_s + mine_metal[a]]
                    site_alloc(a, b, site_mode[q], gl, po, mine_metal, mine_prod, mine_rr,
                               mine_alloc_rr, A)
                    site_terms(a, b, G, R, sl, mine_conc, A, mine_solid, H, U)
                    for j in range(a, b):
                        _add_delta(j, mine_metal[j], mine_weight[j] * (H[j - a] - hfA[j]),
                                   mine_weight[j] * (U[j - a] - usedA[j]), only_mines,
                                   globA[i], o_sup, mine_group, group_country, prepA, pdem, pf,
                                   K, state2, hs2, us2)
                    t += b - a
                    continue
                mask = fmasks[t]
                k = mine_metal[m]
                g = gB[i, m] if mask & 1 else gA[i, m]
                s = _mixed_stripping(i, m, mask, sA, sB, sGB, sSB)
                r = rB[i, m] if mask & 4 else rA[i, m]
                g = min(g * gl[o_g + k], 1.0)
                r = min(r * gl[o_r + k], 1.0)
                s = s * gl[o_s + k]
                hf, used = mine_terms(g, s, r, mine_conc[m], mine_alloc_rr[m], mine_solid[m])
                _add_delta(m, k, mine_weight[m] * (hf - hfA[m]),
                           mine_weight[m] * (used - usedA[m]), only_mines, globA[i], o_sup,
                           mine_group, group_country, prepA, pdem, pf, K, state2, hs2, us2)
                t += 1
            if only_mines and head:
                outputs(state2, prepA, res, ch, hk, True)
            elif only_mines:
                outputs(state2, prepA, res, ch, hk)
            elif head:
                prepare(globF, wk, ch, sw, 0, mix)
                aggregate(hs2, us2, globF, wk, state3, ch)
                outputs(state3, wk, res, ch, hk, True)
            else:
                finish(hs2, us2, globF, res, ch, sw, 0, wk)
            for q in range(n_out):
                yAB[q, i, f] = res[out_idx[q]]


def _inputs(space: ParameterSpace, uA: np.ndarray, uB: np.ndarray) -> Design:
    """Model inputs of A and B and the two mixed stripping arrays of the copula."""
    xa = space.transform(uA)
    xb = space.transform(uB)
    if space.correlation != 0 and space.n_mines:
        g = space.n_globals + 3 * np.arange(space.n_mines)
        u = uA.copy()
        u[:, g] = uB[:, g]
        s_gb = space.transform(u)[1]
        u = uA.copy()
        u[:, g + 1] = uB[:, g + 1]
        s_sb = space.transform(u)[1]
    else:
        s_gb, s_sb = xa[1], xb[1]
    return Design(*xa, *xb, s_gb, s_sb)


# ================================================================== jobs and blocks
@dataclass(frozen=True)
class SobolJob:
    """Everything a worker needs to evaluate blocks of base rows (no files).

    Attributes
    ----------
    model, space, scenario
        The model, its parameter space and the scenario switches.
    metrics : tuple of str
        Outputs kept (k).
    seed : int
        Seed of the scrambled Sobol design (2 n_params columns: A, then B).
    units : tuple of numpy.ndarray
        Parameter columns of each distinct factor (U).
    encoding : Encoding
        The kernel's CSR form of ``units``.
    second_order : bool
        Also evaluate f(BA_j).
    keep_rows : int
        Base rows below this index also return A's global inputs and the dummy's
        values (for the delta analysis).
    """

    model: Model
    space: ParameterSpace
    scenario: Scenario
    metrics: tuple[str, ...]
    seed: int
    units: tuple[np.ndarray, ...]
    encoding: Encoding
    second_order: bool = False
    keep_rows: int = 0

    @property
    def n_units(self) -> int:
        return len(self.units)


def make_job(model: Model, space: ParameterSpace, units: Sequence[np.ndarray],
             metrics: Sequence[str], *, seed: int, scenario: Scenario | None = None,
             second_order: bool = False, keep_rows: int = 0) -> SobolJob:
    """A :class:`SobolJob` (validates the metric names)."""
    for m in metrics:
        if m not in model.metric_names:
            raise ValueError(f"unknown metric {m!r}; metrics are: {', '.join(model.metric_names)}")
    units = tuple(np.asarray(c, dtype=np.int64) for c in units)
    return SobolJob(model, space, scenario or Scenario(), tuple(metrics), int(seed), units,
                    _encode(space, model, units), bool(second_order), int(keep_rows))


@dataclass(frozen=True)
class Block:
    """Outputs of base rows ``start .. start + n - 1``.

    Attributes
    ----------
    start : int
    yA, yB : numpy.ndarray, shape (k, n)
    yAB : numpy.ndarray, shape (k, n, U)
    yBA : numpy.ndarray, shape (k, n, U), or None
    globA : numpy.ndarray, shape (m, n_globals), or None
        A's global inputs of the first m rows (m = rows below ``job.keep_rows``).
    dummy : numpy.ndarray, shape (m,), or None
        A design column the model never sees at those rows (B's first column).
    """

    start: int
    yA: np.ndarray
    yB: np.ndarray
    yAB: np.ndarray
    yBA: np.ndarray | None = None
    globA: np.ndarray | None = None
    dummy: np.ndarray | None = None


def _run_kernel(job: SobolJob, x: Design
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = x[0].shape[0]
    k = len(job.metrics)
    model = job.model
    out_idx = np.array([model.metric_names.index(m) for m in job.metrics], dtype=np.int64)
    yA = np.empty((k, n))
    yB = np.empty((k, n))
    yAB = np.empty((k, n, job.n_units))
    head = model.metric_names[: len(HEADLINE)] == HEADLINE and bool(
        np.all(out_idx < len(HEADLINE)))
    _ab_kernel(x, job.encoding, out_idx, head, yA, yB, yAB, model.mine_arrays(), model.chain(),
               model.switches([job.scenario]), work_size(model), len(model.metric_names))
    return yA, yB, yAB


def evaluate_block(job: SobolJob, start: int, stop: int, u: np.ndarray | None = None) -> Block:
    """f(A), f(B), f(AB_j) (and f(BA_j)) of base rows ``start .. stop - 1``.

    A pure function of its arguments: the rows are rows ``start .. stop - 1`` of
    ``rng.sobol_points(., 2 * n_params, seed=job.seed)`` (A the first n_params
    columns, B the rest), so blocks can run anywhere, in any order.

    Parameters
    ----------
    job : SobolJob
    start, stop : int
        Base rows.
    u : numpy.ndarray, shape (stop - start, 2 n_params), optional
        Those design rows when the caller has them (they are drawn otherwise).

    Returns
    -------
    Block
    """
    P = job.space.n_params
    if u is None:
        u = rng.sobol_points(stop - start, 2 * P, seed=job.seed, start=start)
    uA, uB = u[:, :P], u[:, P:]
    # small dynamic chunks: rows are independent, and a busy core no longer holds the
    # other thread at the end of a static half (about 20% faster on a loaded machine)
    with nb.parallel_chunksize(_CHUNK_ROWS):
        x = _inputs(job.space, uA, uB)
        yA, yB, yAB = _run_kernel(job, x)
        yBA = None
        if job.second_order:
            xs = _inputs(job.space, uB, uA)
            yBA = _run_kernel(job, xs)[2]
    keep = max(0, min(stop, job.keep_rows) - start)
    globA = x[3][:keep].copy() if keep else None
    dummy = uB[:keep, 0].copy() if keep else None
    return Block(start, yA, yB, yAB, yBA, globA, dummy)


def _block_task(job: SobolJob, task: tuple[int, int]) -> Block:
    return evaluate_block(job, task[0], task[1])


def ab_outputs(model: Model, space: ParameterSpace, fac: Factors, uA: np.ndarray,
               uB: np.ndarray, metrics: Sequence[str], scenario: Scenario | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f(A), f(B) and f(AB_j) for unit-cube rows ``uA``, ``uB`` (n, n_params).

    Returns
    -------
    yA, yB : numpy.ndarray, shape (n, k)
    yAB : numpy.ndarray, shape (n, D, k)
        D = ``len(fac.names)``, k = ``len(metrics)``.
    """
    job = make_job(model, space, fac.columns, metrics, seed=0, scenario=scenario)
    uA = np.ascontiguousarray(uA, dtype=float)
    uB = np.ascontiguousarray(uB, dtype=float)
    yA, yB, yAB = _run_kernel(job, _inputs(space, uA, uB))
    return yA.T, yB.T, yAB.transpose(1, 2, 0)


class _SobolStream:
    """Consecutive rows of ``rng.sobol_points(n, d, seed=seed)`` from one engine.

    ``rng.sobol_points(n, d, seed=s, start=a)`` builds a new engine per call (about
    0.8 s of scrambling at d = 11,000); this keeps one and draws block after block.
    The rows are identical (tested).
    """

    def __init__(self, d: int, seed: int) -> None:
        self.d = d
        self.seed = seed
        self.engine: Any = None
        self.next = 0

    def take(self, start: int, n: int) -> np.ndarray:
        from scipy.stats import qmc

        if self.engine is None or start != self.next:
            self.engine = qmc.Sobol(self.d, scramble=True, bits=rng._SOBOL_BITS,
                                    rng=np.random.default_rng(self.seed))
            if start:
                self.engine.fast_forward(start)
        pts = self.engine.random(n)
        self.next = start + n
        return np.clip(pts, rng._U_MIN, rng._U_MAX)


# ====================================================================== output store
class _Store:
    """Outputs of the base rows evaluated so far, per metric (log taken if asked)."""

    def __init__(self, job: SobolJob, labels: Sequence[str], unit_names: Sequence[str],
                 cap: int, log: bool) -> None:
        k, U = len(job.metrics), job.n_units
        self.labels = list(labels)
        self.unit_names = list(unit_names)
        self.log = log
        self.cap = cap
        self.yA: list[np.ndarray] = [np.empty(cap) for _ in range(k)]
        self.yB: list[np.ndarray] = [np.empty(cap) for _ in range(k)]
        self.yAB: list[np.ndarray] = [np.empty((cap, U)) for _ in range(k)]
        self.yBA: list[np.ndarray] | None = (
            [np.empty((cap, U)) for _ in range(k)] if job.second_order else None)
        self.globA = np.empty((job.keep_rows, job.space.n_globals))
        self.dummy = np.empty(job.keep_rows)

    def grow(self, cap: int) -> None:
        """Room for ``cap`` base rows (one metric's arrays copied at a time)."""
        if cap <= self.cap:
            return
        groups: list[list[np.ndarray]] = [self.yA, self.yB, self.yAB, self.yBA or []]
        for arrays in groups:
            for q, old in enumerate(arrays):
                new = np.empty((cap, *old.shape[1:]))
                new[: self.cap] = old[: self.cap]
                arrays[q] = new
                del old
        self.cap = cap

    def _check(self, q: int, what: str, y: np.ndarray, start: int) -> None:
        ok = np.isfinite(y)
        if self.log:
            ok &= y > 0
        if ok.all():
            return
        bad = np.argwhere(~ok)
        rows = sorted({int(r) + start for r in bad[:, 0]})
        shown = ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")
        where = what
        if y.ndim == 2:
            cols = list(dict.fromkeys(int(c) for c in bad[:, 1]))
            names = ", ".join(repr(self.unit_names[c]) for c in cols[:5])
            where = f"{what} of factors {names}" + (" ..." if len(cols) > 5 else "")
        vals = y[tuple(bad[0])]
        rule = ("is not finite (NaN or inf)" if not np.isfinite(vals)
                else "is <= 0, so its log is undefined (log=True)")
        raise ValueError(f"metric {self.labels[q]!r} {rule} in {where} for base rows {shown} "
                         f"(first value {vals!r}); check the inputs' distributions")

    def put(self, blk: Block) -> None:
        a = blk.start
        b = a + blk.yA.shape[1]
        for q in range(len(self.yA)):
            parts: list[tuple[str, np.ndarray, list[np.ndarray]]] = [
                ("f(A)", blk.yA[q], self.yA), ("f(B)", blk.yB[q], self.yB),
                     ("f(AB_j)", blk.yAB[q], self.yAB)]
            if blk.yBA is not None and self.yBA is not None:
                parts.append(("f(BA_j)", blk.yBA[q], self.yBA))
            for what, y, dest in parts:
                self._check(q, what, y, a)
                if self.log:
                    np.log(y, out=dest[q][a:b])
                else:
                    dest[q][a:b] = y
        if blk.globA is not None and blk.dummy is not None:
            m = blk.globA.shape[0]
            self.globA[a:a + m] = blk.globA
            self.dummy[a:a + m] = blk.dummy


def _evaluate_rows(job: SobolJob, store: _Store, start: int, stop: int, block_rows: int,
                   runner: Any, stream: _SobolStream) -> None:
    tasks = [(a, min(stop, a + block_rows)) for a in range(start, stop, block_rows)]
    if runner is None or not runner.distributed:
        for a, b in tasks:
            store.put(evaluate_block(job, a, b, stream.take(a, b - a)))
    else:
        for blk in runner.map(_block_task, tasks, job):
            store.put(blk)


