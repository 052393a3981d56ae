"""The Monte Carlo kernel: per-sample outputs of the TMR model under the parameter space.

Each sample ``i`` draws every parameter from the counter-based generator
(:mod:`uncertainty.rng`) as a pure function of ``(seed, i, parameter index)``, applies
the parameter's ppf and evaluates the model, all inside one compiled kernel that keeps
no state between samples. A chunk is therefore computable alone, in any order, on any
worker, and the results are bit-identical whatever the chunk size or thread count.
Scenarios that only change switches (recycling, LFP, clean energy) reuse the per-mine
sums of the same samples (common random numbers, same pass); scenarios with input
overrides run a second pass on the same seed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from uncertainty import (
    _cache,  # noqa: F401  (before any kernel: package-stamped numba cache)
    dists,
    rng,
)
from uncertainty.dists.special import ndtr_sym as ndtr
from uncertainty.dists.special import ndtri_fast
from uncertainty.model import (
    Chain,
    Model,
    Scenario,
    evaluate,
    finish,
    mine_terms,
    site_alloc,
    site_terms,
    work_size,
)
from uncertainty.montecarlo import _globals as mg
from uncertainty.montecarlo import _kernels as mk
from uncertainty.space import ParameterSpace

__all__ = ["evaluate_chunk"]


_SAMPLES_PER_TASK = 16
"""Samples per parallel task: scratch arrays are allocated once per task, not per sample."""

_BLOCK = 4
"""Samples that go through a tile of mines one after another, so that the tile's tables
(17 rows of 128 mines) are read from the L1 cache four times in a row, not from L2
every time. A divisor of ``_SAMPLES_PER_TASK``."""


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _draw_globals(seed, sample, glob, codes, pars, n_globals, nrm_rows, nrm_tab, other_rows,
                  dir_member, dir_groups, dir_exact, dir_alpha, U, logs, P, GTI, W):
    """The global vector of one sample: uniforms, each row's ppf, the Dirichlet groups
    (``_mcglobals.dirichlet_draws`` and ``dirichlet_shares``: ``rng.dirichlet_variate``'s
    draws, vectorised; ``U``, ``logs`` and ``W`` are their scratch)."""
    mg.uniform_triples(seed, sample, (n_globals + 2) // 3, glob)
    mg.global_ppfs(codes, pars, other_rows, nrm_rows, nrm_tab, glob, P, GTI)
    if dir_groups.shape[0]:
        mg.dirichlet_draws(seed, sample, dir_member, glob, U, logs, mg.MAX_ATTEMPTS)
        mg.dirichlet_shares(dir_groups, dir_exact, dir_alpha, dir_member, logs, glob, seed, sample,
                            W)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _general_mine(seed, sample, call0, m, j, codes, pars, rho, glob, o_g, o_s, o_r, k, conc,
                  alloc_rr, solid, weight):
    """``weight * hf`` of mine ``m`` by the general path: ``dists.ppf_kernel`` for any
    family, the grade-stripping copula, libm's exp and log. ``j`` is the mine's grade row."""
    u0, u1, u2 = mk.mine_uniforms(seed, sample, call0, m)
    if rho != 0.0:
        u1 = ndtr(rho * ndtri_fast(u0) + math.sqrt(1.0 - rho * rho) * ndtri_fast(u1))
    g = dists.ppf_kernel(codes[j], pars[j, 0], pars[j, 1], pars[j, 2], pars[j, 3], u0)
    s = dists.ppf_kernel(codes[j + 1], pars[j + 1, 0], pars[j + 1, 1], pars[j + 1, 2],
                         pars[j + 1, 3], u1)
    r = dists.ppf_kernel(codes[j + 2], pars[j + 2, 0], pars[j + 2, 1], pars[j + 2, 2],
                         pars[j + 2, 3], u2)
    g *= glob[o_g + k]
    if g > 1.0:
        g = 1.0
    r *= glob[o_r + k]
    if r > 1.0:
        r = 1.0
    s *= glob[o_s + k]
    hf, _ = mine_terms(g, s, r, conc, alloc_rr, solid)
    return weight * hf


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _site_flows(seed, sample, call0, codes, pars, rho, glob, o_g, o_s, o_r, n_globals,
                mine_metal, mine_group, mine_conc, mine_alloc_rr, mine_solid, mine_weight,
                site_start, site_stop, site_base, SHW, us, G, R, H, U, A, site_mode, po,
                mine_prod, mine_rr):
    """The co-product sites of one sample by the general path: each row's grade and
    recovery from its own uniforms, the site's stripping ratio from its lead row's
    (``model.site_terms``); ``weight * hf`` of each site row into ``SHW`` (at
    ``site_base[site] + row - first row``) and ``weight * used`` added to ``us``; the
    allocation at the sample's prices (``model.site_alloc``)."""
    for q in range(site_start.shape[0]):
        a = site_start[q]
        b = site_stop[q]
        sl = 0.0
        for j in range(a, b):
            u0, u1, u2 = mk.mine_uniforms(seed, sample, call0, j)
            c = n_globals + 3 * j
            k = mine_metal[j]
            g = dists.ppf_kernel(codes[c], pars[c, 0], pars[c, 1], pars[c, 2], pars[c, 3], u0)
            r = dists.ppf_kernel(codes[c + 2], pars[c + 2, 0], pars[c + 2, 1], pars[c + 2, 2],
                                 pars[c + 2, 3], u2)
            g *= glob[o_g + k]
            G[j - a] = 1.0 if g > 1.0 else g
            r *= glob[o_r + k]
            R[j - a] = 1.0 if r > 1.0 else r
            if j == a:
                if rho != 0.0:
                    u1 = ndtr(rho * ndtri_fast(u0) + math.sqrt(1.0 - rho * rho) * ndtri_fast(u1))
                sl = dists.ppf_kernel(codes[c + 1], pars[c + 1, 0], pars[c + 1, 1],
                                      pars[c + 1, 2], pars[c + 1, 3], u1) * glob[o_s + k]
        site_alloc(a, b, site_mode[q], glob, po, mine_metal, mine_prod, mine_rr, mine_alloc_rr, A)
        site_terms(a, b, G, R, sl, mine_conc, A, mine_solid, H, U)
        for j in range(a, b):
            SHW[site_base[q] + j - a] = mine_weight[j] * H[j - a]
            us[mine_group[j]] += mine_weight[j] * U[j - a]


class Draws(NamedTuple):
    """The parameter space as the kernel draws it (:func:`draws`)."""

    codes: np.ndarray  # (P,) distribution code of each parameter row
    pars: np.ndarray  # (P, 4) its parameters
    nrm_rows: np.ndarray  # global rows drawn through the vectorised inverse normal CDF
    nrm_tab: np.ndarray  # their (scale, shift) table
    other_rows: np.ndarray  # the other global rows
    dir_member: np.ndarray  # Dirichlet groups: members (``_globals.dirichlet_tables``)
    dir_groups: np.ndarray
    dir_exact: np.ndarray
    dir_alpha: np.ndarray
    n_globals: int
    mine_call0: int  # first Philox call of the mines
    rho: float  # grade-stripping correlation


class FastPath(NamedTuple):
    """The per-tile tables of the fast path (``_kernels.mine_tables``)."""

    tab: np.ndarray  # (n_tiles, N_ROWS, TILE) per-mine constants
    n_runs: np.ndarray  # runs of one metal per tile
    bounds: np.ndarray
    run_metal: np.ndarray
    n_gruns: np.ndarray  # runs of one (metal, country) group per tile
    gbounds: np.ndarray
    run_group: np.ndarray
    slow: np.ndarray  # mines on the general path, ascending


def draws(space: ParameterSpace) -> Draws:
    """The kernel's view of a parameter space."""
    return Draws(space.codes, space.pars, *mg.normal_rows(space), *mg.dirichlet_tables(space),
                 space.dir_alpha, space.n_globals, space.mine_call0, space.correlation)


@nb.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _mc_kernel(seed, start, count, out, sp, fp, mines, ch, sw, nwork):
    """Metrics of samples ``start .. start + count - 1`` into ``out[scenario, i]``.

    ``sp`` the :class:`Draws` of the parameter space, ``fp`` the :class:`FastPath`
    tables, ``mines`` the model's :class:`~uncertainty.model.MineArrays`, ``ch`` its
    :class:`~uncertainty.model.Chain`, ``sw`` the :class:`~uncertainty.model.Switches`
    (a row per scenario); ``nwork`` the length of ``finish``'s work array.

    Per sample: the global vector (:func:`_draw_globals`); then the mines, in tiles of
    ``_mckernels.TILE``, through the fast path's phases (uniforms, inverse normal CDF
    central and tail branches, mine equation; tables from ``_mckernels.mine_tables``,
    see that module) and the general path for the mines listed in ``slow``
    (:func:`_general_mine`), each tile's weighted hidden flows added to their groups
    (``_mckernels.group_sums``), the ``_BLOCK`` samples of a block one after another
    through each tile; then :func:`model.finish` per sample and scenario. The used
    extraction does not depend on the sample and is summed once. Parallel over tasks
    of ``_SAMPLES_PER_TASK`` samples (scratch arrays allocated per task); every sample
    is computed alone and in a fixed order, so the bytes do not depend on the chunk
    size or the thread count.
    """
    codes, pars, nrm_rows, nrm_tab, other_rows = (sp.codes, sp.pars, sp.nrm_rows, sp.nrm_tab,
                                                  sp.other_rows)
    dir_member, dir_groups, dir_exact, dir_alpha = (sp.dir_member, sp.dir_groups, sp.dir_exact,
                                                    sp.dir_alpha)
    n_globals, mine_call0, rho = sp.n_globals, sp.mine_call0, sp.rho
    tab, n_runs, bounds, run_metal = fp.tab, fp.n_runs, fp.bounds, fp.run_metal
    n_gruns, gbounds, run_group, slow = fp.n_gruns, fp.gbounds, fp.run_group, fp.slow
    mine_metal, mine_group, mine_weight, mine_conc = (mines.metal, mines.group, mines.weight,
                                                      mines.conc)
    mine_alloc_rr, mine_solid, mine_site = mines.alloc_rr, mines.solid, mines.site
    site_mode, mine_prod, mine_rr, po = mines.site_mode, mines.prod, mines.rr, mines.price_off
    site_start, site_stop, n_groups = mines.site_start, mines.site_stop, mines.n_groups
    (c_off, c_metals, c_vehicles, c_chems, c_countries, c_group_metal, c_group_country,
     c_fab, c_secondary, c_nev, c_intensity, c_battery, c_domestic, c_lfp) = ch
    off, n_metals = c_off, c_metals
    M = mine_group.shape[0]
    S = sw.clean.shape[0]
    T = mk.TILE
    if tab.shape[1] != mk.N_ROWS or tab.shape[2] != T:
        # the compiled kernel embeds _kernels as it was (uncertainty/_cache.py stamps
        # the cache with the whole package; this guards a cache it cannot see): refuse,
        # never index past arrays
        raise RuntimeError("stale numba cache: the compiled Monte Carlo kernel does not match "
                           "uncertainty/montecarlo/_kernels.py; run make clean-cache")
    o_g = off[0]
    o_s = off[1]
    o_r = off[2]
    any_fast = slow.shape[0] < M
    # used extraction per group of the single-row sites does not depend on the sample:
    # summed once, in mine order (a co-product site's depends on its concentrate balance)
    us = np.zeros(n_groups)
    for m in range(M):
        if mine_site[m] >= 0:
            continue
        _, used = mine_terms(1.0, 0.0, 1.0, mine_conc[m], mine_alloc_rr[m], mine_solid[m])
        us[mine_group[m]] += mine_weight[m] * used
    n_sites = site_start.shape[0]
    site_base = np.zeros(n_sites + 1, dtype=np.int64)
    L = 1
    for q in range(n_sites):
        site_base[q + 1] = site_base[q] + site_stop[q] - site_start[q]
        L = max(L, site_stop[q] - site_start[q])
    n_tasks = (count + _SAMPLES_PER_TASK - 1) // _SAMPLES_PER_TASK
    for task in nb.prange(n_tasks):
        # a tuple of mixed types cannot enter a parallel loop: rebuilt from its arrays
        ch = Chain(c_off, c_metals, c_vehicles, c_chems, c_countries, c_group_metal,
                   c_group_country, c_fab, c_secondary, c_nev, c_intensity, c_battery,
                   c_domestic, c_lfp)
        glob = np.empty((_BLOCK, 3 * ((n_globals + 2) // 3)))  # whole calls of three uniforms
        U = np.empty((mg.DIR_ROWS, dir_member.shape[1]))
        W = np.empty((2, dir_member.shape[1]))
        logs = np.empty(dir_member.shape[1])
        P = np.empty((6, nrm_rows.shape[0] + 8))
        GTI = np.empty(nrm_rows.shape[0] + 8, dtype=np.int64)
        hs = np.empty((_BLOCK, n_groups))
        wk = np.empty(nwork)
        A = np.empty(3 * T)
        Z = np.empty(3 * T)
        SG = np.empty(T)
        TI = np.empty(3 * T, dtype=np.int64)
        TP = np.empty(3 * T)
        TZ = np.empty(3 * T)
        TF = np.empty(3 * T)
        HW = np.empty(T)
        E = np.empty(2 * T)
        SHW = np.empty((_BLOCK, site_base[n_sites]))
        usb = np.empty((_BLOCK, n_groups))
        site_g = np.empty(L)
        site_r = np.empty(L)
        site_h = np.empty(L)
        site_u = np.empty(L)
        site_a = np.empty(L)
        first = task * _SAMPLES_PER_TASK
        last = min(count, first + _SAMPLES_PER_TASK)
        for i0 in range(first, last, _BLOCK):
            nb_ = min(_BLOCK, last - i0)
            for b in range(nb_):
                _draw_globals(seed, start + i0 + b, glob[b], codes, pars, n_globals, nrm_rows,
                              nrm_tab, other_rows, dir_member, dir_groups, dir_exact, dir_alpha,
                              U, logs, P, GTI, W)
                hs[b, :] = 0.0
                usb[b, :] = us
                if n_sites:
                    _site_flows(seed, start + i0 + b, mine_call0, codes, pars, rho, glob[b],
                                o_g, o_s, o_r, n_globals, mine_metal, mine_group, mine_conc,
                                mine_alloc_rr, mine_solid, mine_weight, site_start, site_stop,
                                site_base, SHW[b], usb[b], site_g, site_r, site_h, site_u,
                                site_a, site_mode, po, mine_prod, mine_rr)
            ps = 0  # the tile's first entry in the slow list
            for tile in range(tab.shape[0]):
                a = tile * T
                n = min(T, M - a)
                tt = tab[tile]
                pe = ps
                for b in range(nb_):  # the block's samples one after another, the tile's
                    # tables staying in the L1 cache
                    sample = start + i0 + b
                    gb = glob[b]
                    if any_fast:
                        mk.philox_tile(seed, sample, mine_call0 + T * tile, A)
                        mk.central_tile(n, tt, A, SG, Z)
                        nt = mk.tail_list(n, A, TI, TP)
                        mk.tail_tile(nt, TI, TP, TZ, TF, Z)
                        mk.mine_tile(n_runs[tile], bounds[tile], run_metal[tile],
                                     gb[o_g:o_g + n_metals], gb[o_s:o_s + n_metals],
                                     gb[o_r:o_r + n_metals], tt, Z, SG, HW, E)
                    pe = ps
                    while pe < slow.shape[0] and slow[pe] < a + n:  # the general path
                        m = slow[pe]
                        q = mine_site[m]
                        if q >= 0:
                            HW[m - a] = SHW[b, site_base[q] + m - site_start[q]]
                            pe += 1
                            continue
                        HW[m - a] = _general_mine(seed, sample, mine_call0, m, n_globals + 3 * m,
                                                  codes, pars, rho, gb, o_g, o_s, o_r,
                                                  mine_metal[m], mine_conc[m], mine_alloc_rr[m],
                                                  mine_solid[m], mine_weight[m])
                        pe += 1
                    mk.group_sums(n_gruns[tile], gbounds[tile], run_group[tile], HW, hs[b])
                ps = pe
            for b in range(nb_):
                for sc in range(S):
                    finish(hs[b], usb[b], glob[b], out[sc, i0 + b], ch, sw, sc, wk)


def evaluate_chunk(model: Model, space: ParameterSpace, seed: int, start: int, count: int,
                   scenarios: list[Scenario] | None = None, sampler: str = "philox") -> np.ndarray:
    """Metrics of samples ``start .. start + count - 1``.

    Parameters
    ----------
    model, space : the run's model and parameter space
    seed : int
    start, count : int
        First sample index and number of samples.
    scenarios : list of Scenario, optional
        Switch sets evaluated on the same samples (default: one, the data's baseline).
    sampler : {'philox', 'sobol'}
        Counter-based pseudo-random numbers, or scrambled Sobol points of dimension
        ``space.n_params`` (rows ``start .. start + count - 1`` of the sequence).

    Returns
    -------
    ndarray, shape (n_scenarios, count, n_metrics)
    """
    scenarios = scenarios or [Scenario()]
    sw = model.switches(scenarios)
    out = np.empty((len(scenarios), count, len(model.metric_names)))
    if sampler == "sobol":
        step = max(1, min(count, 2048))
        for a in range(0, count, step):
            b = min(count, a + step)
            u = rng.sobol_points(b - a, space.n_params, seed=seed, start=start + a) \
                if (start + a) or (b - a) & (b - a - 1) == 0 else \
                rng.sobol_points(_next_pow2(b - a), space.n_params, seed=seed)[: b - a]
            x = space.transform(u)
            for si, sc in enumerate(scenarios):
                out[si, a:b] = evaluate(model, *x, scenario=sc)
        return out
    # per-call tables of the fast path (O(mines) NumPy, negligible against a chunk)
    args = (np.uint64(seed), start, count, out, draws(space),
            FastPath(*mk.mine_tables(model, space)), model.mine_arrays(), model.chain(), sw,
            work_size(model))
    if not _mc_kernel.overloads:  # first call in this process: compile or load from cache
        with mk.vector_interleave(2):
            _mc_kernel(*args)
    else:
        _mc_kernel(*args)
    return out


def _next_pow2(n: int) -> int:
    return 1 << (n - 1).bit_length()
