"""Sobol indices of the TMR model for every parameter: the incremental fast path.

Saltelli's radial design (A, B, AB_j) over the whole parameter space of a run
(per-mine, systematic and global parameters, ~5,400 factors for the default data). The
model is a sum over mines (DESIGN.md decision 4): for each base row the kernel keeps
the per-mine terms and the (metal, country) group sums of f(A); f(AB_j) for a factor
that touches a few mines updates only their terms of the supply-weighted state, and a
factor that touches global inputs re-runs the aggregation from the group sums. A
systematic factor re-computes the mines of its metal. The estimators are
:func:`uncertainty.saltelli.estimate` (SALib's Saltelli 2010 first order and Jansen total
order, row-bootstrap intervals); f(AB_j) equals a full re-evaluation of the row to
rounding (tested to rtol 1e-12).

Levels (``by``)
---------------
``parameter`` (every uncertain input; a Dirichlet share group is one factor),
``mine`` (a mine's grade, stripping ratio and recovery together), ``metal-kind`` (all
of one metal's grades, stripping ratios or recoveries, per-mine and systematic
together, e.g. "copper stripping_ratio"), ``country`` (all per-mine inputs of one
country's mines), ``systematic`` (each systematic factor; all per-mine inputs as one
group "per-mine (independent)") and ``custom`` (the ``groups`` the caller names, by
parameter name, share-group name or shell pattern such as ``"stripping_ratio[CU-*]"``,
and one factor :data:`OTHER` for every input the groups leave out, so the level has a
few factors and second-order indices are affordable). At the other levels inputs not
grouped stay individual factors. Each level's factors partition the uncertain inputs;
inputs with a Fixed distribution are not factors (they cannot contribute variance).
The levels share one design and one evaluation: a factor that is the same set of
inputs at several levels (a global input, a Dirichlet group) is evaluated once. Each
level is then estimated on its own columns, so its numbers are exactly SALib's on
that level's outputs (SALib standardises by the mean of all of Y, so a shared
factor's S1 differs between levels by about 1e-6; its ST does not).

Reading thousands of small indices
----------------------------------
Lead with total order (ST): Jansen's estimator of ST is a mean of squares and stays
accurate for tiny indices, while first-order estimates of small indices are mostly
noise. Every row of :attr:`TmrSobolResult.frame` carries ``st_resolved`` (the lower end
of the ST interval is above 0) and ``s1_straddles_zero`` (the S1 interval contains 0);
:attr:`TmrSobolResult.sums` gives the sums of S1 and ST per level with bootstrap
intervals (S1 sum near 1: additive model; ST sum above the S1 sum: interactions).
Intervals are SALib's normal approximation (``ci_method="normal"``) or bootstrap
percentiles (``"percentile"``); the method is named in the ``ci_method`` column.

*Why there is no dummy factor here.* A "dummy" input that the model never sees is the
usual way to measure the noise floor of an estimator. With these estimators it has no
noise at all: f(AB_dummy) = f(A) in every row, so S1 = mean(f(B) (f(AB) - f(A))) / V
and ST = mean((f(A) - f(AB))**2) / 2V are exactly 0, as are all their bootstrap
replicates (:func:`uncertainty.saltelli.sobol_indices` with ``dummy=True`` shows it). An
estimate's noise comes from the factor's own differences f(AB_j) - f(A), so the noise
floor is per factor and is what each factor's bootstrap interval measures; a factor is
"indistinguishable from a dummy" exactly when its ST interval reaches 0
(``st_resolved`` False). A re-drawn or permuted copy of another factor's column would
only reproduce that factor's interval. The moment-independent delta, by contrast, has
a positive bias for a factor the output does not depend on (kernel densities of finite
samples always differ); there a genuine dummy column is added and each delta is
flagged against it (``delta_resolved``).

Convergence, ranking, second order, delta
-----------------------------------------
The scrambled Sobol design extends: its first N rows are the same whatever the final
N, so ``tol`` doubles N, evaluating only the new rows, until the widest ST half-width
among the top ``top`` factors of every level and metric is below ``tol``.
:attr:`TmrSobolResult.convergence` holds indices at the N = 2^k prefixes,
:attr:`TmrSobolResult.ranking` the stability of the top ranks across the bootstrap
replicates, :attr:`TmrSobolResult.s2` second-order indices (``second_order=True``,
levels of at most :data:`MAX_SECOND_ORDER` factors, N (2D + 2) model rows) and
:attr:`TmrSobolResult.delta` Borgonovo's delta (:mod:`uncertainty.delta`) of the scalar
factors from the design's A rows (``delta=True``).

Scale-out
---------
:func:`evaluate_block` is a pure function of a :class:`SobolJob` (model, parameter
space, factors, seed) and a range of base rows; blocks run in this process by default
or on Dask (``workers`` / ``scheduler``, :class:`uncertainty.engine.ChunkRunner`) with
identical results.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from uncertainty import (
    _cache,  # noqa: F401  (before any kernel: package-stamped numba cache)
    rng,
)
from uncertainty.delta import single_threaded_blas
from uncertainty.model import (
    GLOBAL_BLOCKS,
    Model,
    Scenario,
    aggregate,
    finish,
    mine_terms,
    outputs,
    prep_size,
    prepare,
    work_size,
)
from uncertainty.saltelli import estimate
from uncertainty.space import ParameterSpace

__all__ = [
    "CUSTOM", "DUMMY", "HEADLINE", "LEVELS", "MAX_SECOND_ORDER", "OTHER", "Block", "Factors", "SobolJob",
    "TmrSobolResult", "ab_outputs", "cost_rows", "evaluate_block", "factors_for", "make_job",
    "sobol", "sobol_model", "sobol_run",
]  # fmt: skip

LEVELS = ("parameter", "mine", "metal-kind", "country", "systematic")
"""The built-in levels (module docstring)."""
CUSTOM = "custom"
"""The level of user-defined ``groups``."""
OTHER = "other (ungrouped)"
"""The factor of the custom level that holds every input its groups leave out."""
MAX_SECOND_ORDER = 200
"""Most factors of a level for which second-order indices are computed."""
DUMMY = "__dummy__"
"""Name of the delta analysis's dummy factor."""
CI_METHODS = ("normal", "percentile")

_BLOCK_LOCAL = 256
_BLOCK_DASK = 512
_CHUNK_ROWS = 16  # numba prange chunk of base rows


# ============================================================================ factors
@dataclass(frozen=True)
class Factors:
    """Factors of one level: names and the parameter columns each one swaps."""

    level: str
    names: tuple[str, ...]
    columns: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.names)


def _uncertain(space: ParameterSpace) -> np.ndarray:
    """Columns that are factors: not Fixed, plus a Fixed grade whose u drives an
    uncertain stripping ratio through the grade-stripping copula."""
    t = space.table
    unc = (t["family"] != "fixed").to_numpy().copy()
    if space.correlation != 0 and space.n_mines:
        g = space.n_globals + 3 * np.arange(space.n_mines)
        unc[g] |= unc[g + 1]
    return unc


def _share_groups(space: ParameterSpace) -> dict[str, np.ndarray]:
    grp = space.table["group"].to_numpy()
    return {g: np.flatnonzero(grp == g) for g in dict.fromkeys(grp) if g}


def _pattern(pat: str) -> re.Pattern[str]:
    """A shell-style pattern: ``*`` any text, ``?`` one character, brackets literal (so
    ``"grade[CU-*]"`` matches ``"grade[CU-CHL-001]"``, unlike :mod:`fnmatch`)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pat)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _custom_owner(space: ParameterSpace, groups: Mapping[str, Sequence[str]]) -> dict[int, str]:
    """Column -> custom group, validated (unknown names, overlaps, split share groups)."""
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(f"groups must be a non-empty mapping of group name -> parameter names "
                         f"or patterns (got {groups!r})")
    names = list(space.table["name"])
    index = {nm: j for j, nm in enumerate(names)}
    shares = _share_groups(space)
    unc = _uncertain(space)
    owner: dict[int, str] = {}
    for gname, members in groups.items():
        if not isinstance(gname, str) or not gname:
            raise ValueError(f"group names must be non-empty strings (got {gname!r})")
        if gname in index or gname in shares or gname == OTHER:
            raise ValueError(f"group name {gname!r} is the name of an input; choose another")
        if isinstance(members, str) or not isinstance(members, Sequence) or not members:
            raise ValueError(f"group {gname!r} must be a non-empty list of parameter names or "
                             f"patterns (got {members!r})")
        cols: set[int] = set()
        for pat in members:
            if not isinstance(pat, str):
                raise ValueError(f"group {gname!r}: members must be strings (got {pat!r})")
            if pat in shares:
                hits = [int(j) for j in shares[pat]]
            elif pat in index:
                hits = [index[pat]]
            else:
                rx = _pattern(pat)
                hits = [j for j, nm in enumerate(names) if rx.match(nm)]
            if not hits:
                raise ValueError(
                    f"group {gname!r} names unknown parameter {pat!r} (no parameter, share "
                    f"group or pattern matches; names look like 'grid_hf_kg_per_kwh', "
                    f"'sys_stripping[copper]', 'stripping_ratio[CU-CHL-001]', 'supply[copper]')")
            cols.update(hits)
        for sg, idx in shares.items():
            inside = np.isin(idx, list(cols))
            if inside.any() and not inside.all():
                raise ValueError(
                    f"group {gname!r} takes part of the share group {sg!r}; a Dirichlet group "
                    f"is one factor: name {sg!r} (or all of its members)")
        kept = sorted(j for j in cols if unc[j])
        if not kept:
            raise ValueError(f"group {gname!r} matches only Fixed inputs, which cannot "
                             f"contribute variance")
        for j in kept:
            if j in owner:
                raise ValueError(f"parameter {names[j]!r} is in two groups: {owner[j]!r} and "
                                 f"{gname!r}")
            owner[j] = gname
    return owner


def factors_for(space: ParameterSpace, level: str,
                groups: Mapping[str, Sequence[str]] | None = None) -> Factors:
    """The factors of a level (module docstring); Fixed inputs are left out.

    Parameters
    ----------
    space : ParameterSpace
    level : str
        One of :data:`LEVELS` or ``"custom"``.
    groups : mapping of str to list of str, optional
        For ``"custom"``: group name -> parameter names, share-group names
        (``"supply[copper]"``) or shell patterns (``*`` and ``?`` wildcards, brackets
        literal). Every input no group names goes into one factor :data:`OTHER`.

    Raises
    ------
    ValueError
        Unknown level; ``custom`` without groups; a group naming an unknown input,
        splitting a share group, matching only Fixed inputs, or overlapping another.
    """
    valid = (*LEVELS, CUSTOM)
    if level not in valid:
        raise ValueError(f"level must be one of {', '.join(valid)} (got {level!r})")
    if level == CUSTOM and not groups:
        raise ValueError("level 'custom' needs groups: a mapping of group name -> parameter "
                         "names or patterns")
    owner = _custom_owner(space, groups) if level == CUSTOM and groups else {}
    t = space.table
    uncertain = _uncertain(space)
    groups_: dict[str, list[int]] = {}

    def put(key: str, j: int) -> None:
        groups_.setdefault(key, []).append(j)

    for j, r in enumerate(t.itertuples(index=False)):
        if not uncertain[j]:
            continue
        if j in owner:
            put(owner[j], j)
        elif level == CUSTOM:
            put(OTHER, j)
        elif r.group:
            put(str(r.group), j)
        elif level == "mine" and r.level == "mine":
            put(str(r.mine), j)
        elif level == "metal-kind" and r.level in ("mine", "systematic"):
            put(f"{r.metal} {r.kind}", j)
        elif level == "country" and r.level == "mine":
            put(f"country {r.country}", j)
        elif level == "systematic" and r.level == "mine":
            put("per-mine (independent)", j)
        else:
            put(str(r.name), j)
    if level == CUSTOM and groups:  # the caller's order, the rest last
        groups_ = {k: groups_[k] for k in (*groups, OTHER) if k in groups_}
    return Factors(level, tuple(groups_),
                   tuple(np.array(v, dtype=np.int64) for v in groups_.values()))


# ============================================================================= kernel
def _encode(space: ParameterSpace, model: Model,
            units: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """CSR arrays: global columns per factor; affected mines and their swap masks."""
    ng = space.n_globals
    sys_off = [model.offsets["sys_grade"], model.offsets["sys_stripping"],
               model.offsets["sys_recovery"]]
    K = len(model.metals)
    mines_of = [np.nonzero(model.mine_metal == k)[0] for k in range(K)]
    gptr, gcols, mptr, mines, masks = [0], [], [0], [], []
    for cols in units:
        g = cols[cols < ng]
        gcols.extend(g.tolist())
        gptr.append(len(gcols))
        aff: dict[int, int] = {}
        for j in g:
            for so in sys_off:
                if so <= j < so + K:
                    for m in mines_of[j - so]:
                        aff.setdefault(int(m), 0)
        for j in cols[cols >= ng]:
            m, q = divmod(int(j) - ng, 3)
            aff[m] = aff.get(m, 0) | (1 << q)
        for m in sorted(aff):
            mines.append(m)
            masks.append(aff[m])
        mptr.append(len(mines))
    return (np.array(gptr, dtype=np.int64), np.array(gcols, dtype=np.int64),
            np.array(mptr, dtype=np.int64), np.array(mines, dtype=np.int64),
            np.array(masks, dtype=np.int64))


HEADLINE = ("tmr_mt", "hidden_flows_mt", "used_extraction_mt", "material_in_cars_mt",
            "hidden_to_material_ratio", "share_entering_cars", "hidden_abroad_share",
            "nev_to_icev_hidden_ratio", "energy_hidden_share")
"""The first metrics of :func:`uncertainty.model.outputs`; when only these are asked for,
the kernel computes them alone (``outputs(..., headline_only=True)``), skipping the per-metal, per-vehicle
and per-country metrics."""


@nb.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _ab_kernel(gA, sA, rA, globA, gB, sB, rB, globB, sGB, sSB, gptr, gcols, mptr, fmines,
               fmasks, out_idx, head, yA, yB, yAB, mine_metal, mine_group, mine_weight, mine_conc,
               mine_alloc_rr, mine_solid, n_groups, nwork, n_metrics, off, n_metals,
               n_vehicles, n_chems, n_countries, group_metal, group_country, fab_yield,
               secondary, nev, intensity, battery_metal, domestic, rec, clean, lfp, lfp_index):
    """f(A), f(B) (k, n) and f(AB_j) (k, n, D), one base row per iteration.

    ``head``: every ``out_idx`` is one of :data:`HEADLINE`, so f(AB_j) needs those only.

    ``sGB`` / ``sSB``: stripping ratios with the grade's uniform from B and the
    stripping's from A / the reverse (they differ from ``sA`` / ``sB`` only under the
    grade-stripping copula).
    """
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
    for i in nb.prange(n):
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
            finish(hs, us, gl, res, off, n_metals, n_vehicles, n_chems, n_countries,
                   group_metal, group_country, fab_yield, secondary, nev, intensity,
                   battery_metal, domestic, rec, clean, lfp, lfp_index, wk)
            for q in range(n_out):
                if which == 0:
                    yB[q, i] = res[out_idx[q]]
                else:
                    yA[q, i] = res[out_idx[q]]
        # A's preparation and state, reused by every factor that leaves globals alone
        prepare(globA[i], prepA, off, n_metals, n_vehicles, n_chems, fab_yield, secondary,
                intensity, battery_metal, rec, clean, lfp, lfp_index, mix)
        aggregate(hs, us, globA[i], prepA, stateA, off, n_metals, n_vehicles, n_countries,
                  group_metal, group_country)
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
            for t in range(mptr[f], mptr[f + 1]):
                m = fmines[t]
                mask = fmasks[t]
                k = mine_metal[m]
                g = gB[i, m] if mask & 1 else gA[i, m]
                if mask & 2:
                    s = sB[i, m] if mask & 1 else sSB[i, m]
                else:
                    s = sGB[i, m] if mask & 1 else sA[i, m]
                r = rB[i, m] if mask & 4 else rA[i, m]
                g = min(g * gl[o_g + k], 1.0)
                r = min(r * gl[o_r + k], 1.0)
                s = s * gl[o_s + k]
                hf, used = mine_terms(g, s, r, mine_conc[m], mine_alloc_rr[m], mine_solid[m])
                gi = mine_group[m]
                dh = mine_weight[m] * (hf - hfA[m])
                du = mine_weight[m] * (used - usedA[m])
                if only_mines:
                    sh = globA[i, o_sup + gi]
                    state2[k] += sh * dh
                    state2[K + k] += sh * du
                    state2[2 * K + group_country[gi]] += prepA[pdem + k] * sh * dh * prepA[pf + k]
                else:
                    hs2[gi] += dh
                    us2[gi] += du
            if only_mines and head:
                outputs(state2, prepA, res, n_metals, n_vehicles, n_countries, nev,
                        battery_metal, domestic, hk, True)
            elif only_mines:
                outputs(state2, prepA, res, n_metals, n_vehicles, n_countries, nev,
                        battery_metal, domestic, hk)
            elif head:
                prepare(globF, wk, off, n_metals, n_vehicles, n_chems, fab_yield, secondary,
                        intensity, battery_metal, rec, clean, lfp, lfp_index, mix)
                aggregate(hs2, us2, globF, wk, state3, off, n_metals, n_vehicles, n_countries,
                          group_metal, group_country)
                outputs(state3, wk, res, n_metals, n_vehicles, n_countries, nev,
                        battery_metal, domestic, hk, True)
            else:
                finish(hs2, us2, globF, res, off, n_metals, n_vehicles, n_chems, n_countries,
                       group_metal, group_country, fab_yield, secondary, nev, intensity,
                       battery_metal, domestic, rec, clean, lfp, lfp_index, wk)
            for q in range(n_out):
                yAB[q, i, f] = res[out_idx[q]]


def _finish_args(model: Model, scenario: Scenario) -> tuple:
    rec, clean, lfp = model.scenario_arrays(scenario)
    off = np.array([model.offsets[b] for b in GLOBAL_BLOCKS], dtype=np.int64)
    return (off, len(model.metals), len(model.vehicles), len(model.chemistries),
            len(model.countries), model.group_metal, model.group_country, model.fab_yield,
            model.secondary_fraction, model.nev, model.intensity, model.battery_metal,
            model.countries.index(model.domestic), rec, clean, lfp, model.lfp_index)


def _inputs(space: ParameterSpace, uA: np.ndarray, uB: np.ndarray) -> tuple[np.ndarray, ...]:
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
    return (*xa, *xb, s_gb, s_sb)


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
    encoding : tuple of numpy.ndarray
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
    encoding: tuple[np.ndarray, ...]
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


def _run_kernel(job: SobolJob, x: tuple[np.ndarray, ...]
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
    _ab_kernel(*x, *job.encoding, out_idx, head, yA, yB, yAB, model.mine_metal,  # type: ignore[call-arg]
               model.mine_group,
               model.mine_weight, model.mine_conc, model.mine_alloc_rr, model.mine_solid,
               model.n_groups, work_size(model), len(model.metric_names),
               *_finish_args(model, job.scenario))
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


# =========================================================================== results
@dataclass
class TmrSobolResult:
    """Sobol indices of the TMR model at one or more levels.

    Attributes
    ----------
    frame : pandas.DataFrame
        A row per (metric, level, factor), sorted by ST (largest first) within each
        metric and level: ``metric, factor, level, S1, S1_conf, ST, ST_conf, S1_low,
        S1_high, ST_low, ST_high, s1_straddles_zero, st_resolved, ci_method, rank,
        n_params`` (``n_params``: inputs in the factor; ``rank``: 1 = largest ST).
    convergence : pandas.DataFrame
        ``metric, level, factor, n, S1, S1_conf, ST, ST_conf`` for the top factors at
        the N = 2^k prefixes of the design (k >= 6) and at N.
    ranking : pandas.DataFrame
        Stability of the top factors' ranks across the bootstrap replicates:
        ``metric, level, factor, rank, ST, rank_share`` (share of replicates in which
        the factor has this rank), ``rank_low, rank_high`` (the replicates' ranks at
        ``conf_level``), ``top_share`` (share of replicates in which it stays among
        the reported top), ``kendall_tau`` (mean Kendall tau between the point ranking
        of the top factors and each replicate's; one value per metric and level).
    sums : pandas.DataFrame
        Per metric and level: ``S1_sum, S1_sum_conf, ST_sum, ST_sum_conf`` (intervals
        from the same replicates), ``n_factors, n_st_resolved, n_s1_straddles_zero,
        n_s1_negative``.
    delta : pandas.DataFrame or None
        With ``delta=True``: ``metric, level, factor, parameter, proxy, delta,
        delta_conf, delta_low, delta_high, S1_delta, S1_delta_conf, n,
        delta_resolved, notes`` and a dummy row (level ``"dummy"``) per metric.
    s2 : pandas.DataFrame or None
        With ``second_order=True``: ``metric, level, factor_i, factor_j, S2, S2_conf``.
    history : pandas.DataFrame
        ``n, widest_ST_conf``: the widest ST half-width of the reported factors after
        each N (several rows when ``tol`` doubled N).
    cost : pandas.DataFrame
        :func:`cost_rows` of the run.
    """

    frame: pd.DataFrame
    convergence: pd.DataFrame
    ranking: pd.DataFrame
    sums: pd.DataFrame
    n_base: int
    seed: int
    num_resamples: int
    conf_level: float
    ci_method: str
    n_params: int
    levels: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    log: bool = False
    history: pd.DataFrame | None = None
    cost: pd.DataFrame | None = None
    delta: pd.DataFrame | None = None
    s2: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The indices (``sobol.csv``)."""
        return self.frame

    def convergence_frame(self) -> pd.DataFrame:
        """The convergence table (``sobol_convergence.csv``)."""
        return self.convergence

    def top(self, metric: str, k: int = 10, level: str = "parameter") -> pd.DataFrame:
        """The ``k`` factors with the largest ST for one metric and level."""
        f = self.frame
        if metric not in set(f.metric):
            raise ValueError(f"unknown metric {metric!r} (results for: "
                             f"{', '.join(dict.fromkeys(f.metric))})")
        if level not in set(f.level):
            raise ValueError(f"no results at level {level!r} (levels: "
                             f"{', '.join(dict.fromkeys(f.level))})")
        f = f[(f.metric == metric) & (f.level == level)]
        return f.sort_values("ST", ascending=False, kind="stable").head(k).reset_index(drop=True)

    def markdown_top(self, metric: str, k: int = 10, level: str = "parameter") -> str:
        """:meth:`top` as a Markdown table (ST first, 95% intervals as ``low-high``)."""
        rows = [f"| rank | factor | ST [{self.conf_level:.0%} CI] | S1 [{self.conf_level:.0%} CI] |",
                "|---:|---|---|---|"]
        for r in self.top(metric, k, level).itertuples(index=False):
            rows.append(f"| {r.rank} | {r.factor} | {r.ST:.3f} [{r.ST_low:.3f}, {r.ST_high:.3f}]"
                        f" | {r.S1:.3f} [{r.S1_low:.3f}, {r.S1_high:.3f}] |")
        return "\n".join(rows)


# ============================================================================ helpers
def _is_pow2(n: Any) -> bool:
    return bool(isinstance(n, int | np.integer) and not isinstance(n, bool) and n > 0
                and (n & (n - 1)) == 0)


def _check_options(n_base: Any, num_resamples: Any, conf_level: Any, ci_method: Any,
                   tol: Any, max_n: Any, block_rows: Any, top: Any) -> None:
    if not _is_pow2(n_base):
        raise ValueError(f"n_base must be a power of 2 (got {n_base!r})")
    if isinstance(num_resamples, bool) or not isinstance(num_resamples, int | np.integer) \
            or num_resamples < 2:
        raise ValueError(f"num_resamples must be an integer >= 2 (got {num_resamples!r})")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1) (got {conf_level!r})")
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {', '.join(CI_METHODS)} (got {ci_method!r})")
    if tol is not None and not tol > 0:
        raise ValueError(f"tol must be positive (got {tol!r})")
    if max_n is not None and (not _is_pow2(max_n) or max_n < n_base):
        raise ValueError(f"max_n must be a power of 2 >= n_base = {n_base} (got {max_n!r})")
    if block_rows is not None and not _is_pow2(block_rows):
        raise ValueError(f"block_rows must be a power of 2 (got {block_rows!r})")
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValueError(f"top must be a positive integer (got {top!r})")


def _levels(by: str | Sequence[str], groups: Mapping[str, Sequence[str]] | None
            ) -> tuple[str, ...]:
    levels = (by,) if isinstance(by, str) else tuple(by)
    if not levels:
        raise ValueError("by must name at least one level")
    valid = (*LEVELS, CUSTOM)
    for lv in levels:
        if lv not in valid:
            raise ValueError(f"unknown level {lv!r}; levels are: {', '.join(valid)}")
    if groups and CUSTOM not in levels:
        levels = (*levels, CUSTOM)
    if CUSTOM in levels and not groups:
        raise ValueError("level 'custom' needs groups: a mapping of group name -> parameter "
                         "names or patterns")
    return tuple(dict.fromkeys(levels))


def _units(facs: Sequence[Factors]) -> tuple[list[np.ndarray], list[str], list[np.ndarray]]:
    """Distinct factors of all levels: their columns, a name each, and each level's
    index into them."""
    key_of: dict[bytes, int] = {}
    units: list[np.ndarray] = []
    names: list[str] = []
    idx: list[np.ndarray] = []
    for fac in facs:
        ix = []
        for name, cols in zip(fac.names, fac.columns, strict=True):
            key = np.sort(cols).tobytes()
            if key not in key_of:
                key_of[key] = len(units)
                units.append(cols)
                names.append(name)
            ix.append(key_of[key])
        idx.append(np.array(ix, dtype=np.int64))
    return units, names, idx


def cost_rows(space: ParameterSpace, n_base: int, *, by: str | Sequence[str] = "parameter",
              groups: Mapping[str, Sequence[str]] | None = None, second_order: bool = False,
              n_metrics: int = 4) -> pd.DataFrame:
    """What a Sobol analysis costs: Saltelli model rows and output memory per level.

    Parameters
    ----------
    space : ParameterSpace
    n_base : int
        N.
    by, groups, second_order
        As in :func:`sobol`.
    n_metrics : int
        Metrics analysed (memory is per metric).

    Returns
    -------
    pandas.DataFrame
        ``level, n_factors, model_rows, output_mb``: ``model_rows`` = N (D + 2), or
        N (2 D + 2) with second order (what SALib would evaluate; the incremental path
        evaluates the same rows but updates only the terms a factor touches);
        ``output_mb`` the float64 outputs kept. The last row, ``"all (distinct)"``,
        counts the factors shared by several levels once: that is what runs.
    """
    levels = _levels(by, groups)
    facs = [factors_for(space, lv, groups) for lv in levels]
    units = _units(facs)[0]
    per = 2 if second_order else 1
    rows = [(f.level, len(f), n_base * (per * len(f) + 2)) for f in facs]
    rows.append(("all (distinct)", len(units), n_base * (per * len(units) + 2)))
    df = pd.DataFrame(rows, columns=["level", "n_factors", "model_rows"])
    df["output_mb"] = df.model_rows * n_metrics * 8 / 2**20
    return df


# ======================================================================== estimation
class _Columns:
    """Columns ``idx`` of a 2-D array, read block by block (no copy of the whole).

    :func:`uncertainty.saltelli.estimate` reads ``yAB`` only as ``yAB[:, j0:j1]``; this
    hands it one level's columns of the shared outputs.
    """

    ndim = 2

    def __init__(self, arr: np.ndarray, idx: np.ndarray) -> None:
        self.arr = arr
        self.idx = idx
        self.shape = (arr.shape[0], len(idx))

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = key
        return self.arr[rows][:, self.idx[cols]]


def _level_columns(arr: np.ndarray, idx: np.ndarray) -> Any:
    """``arr[:, idx]`` as a view when ``idx`` is a run of columns, else lazily."""
    if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return arr[:, idx[0]:idx[0] + len(idx)]
    return _Columns(arr, idx)


def _estimates(store: _Store, n: int, lidx: Sequence[np.ndarray], num_resamples: int,
               conf_level: float, seed: int, ci_method: str) -> list[list[dict[str, Any]]]:
    """:func:`estimate` per metric and level (``[q][level]``), in parallel threads.

    Each level is estimated on its own columns, so its numbers are SALib's on that
    level's outputs in SALib's row order (SALib's standardisation uses the mean of
    all of Y, which shifts S1 by a few 1e-6 when other columns are added). BLAS runs
    single-threaded (:func:`uncertainty.delta.single_threaded_blas`); NumPy releases
    the GIL, so the threads run in parallel.
    """
    tasks = [(q, lv) for q in range(len(store.yA)) for lv in range(len(lidx))]

    def one(task: tuple[int, int]) -> dict[str, Any]:
        q, lv = task
        return estimate(store.yA[q][:n], store.yB[q][:n],
                        _level_columns(store.yAB[q][:n], lidx[lv]),
                        num_resamples=num_resamples, conf_level=conf_level, rng_seed=seed,
                        ci_method=ci_method, keep_resamples=True)

    threads = min(len(tasks), max(1, nb.get_num_threads()))
    if threads == 1:
        flat = [one(t) for t in tasks]
    else:
        with ThreadPoolExecutor(threads) as ex:
            flat = list(ex.map(one, tasks))
    L = len(lidx)
    return [flat[q * L:(q + 1) * L] for q in range(len(store.yA))]


def _top_idx(ST: np.ndarray, top: int) -> np.ndarray:
    """Positions of the ``top`` largest ST, largest first (stable)."""
    return np.argsort(-ST, kind="stable")[:top]


def _widest(ests: list[list[dict[str, Any]]], top: int) -> float:
    """Widest ST half-width among the top factors of every metric and level."""
    return max(float(np.max(e["ST_conf"][_top_idx(e["ST"], top)], initial=0.0))
               for per_level in ests for e in per_level)


def _level_frame(est: dict[str, Any], fac: Factors, label: str, ci_method: str
                 ) -> pd.DataFrame:
    f = pd.DataFrame({"metric": label, "factor": list(fac.names), "level": fac.level})
    for c in ("S1", "S1_conf", "ST", "ST_conf", "S1_low", "S1_high", "ST_low", "ST_high"):
        f[c] = est[c]
    f["s1_straddles_zero"] = (f.S1_low <= 0) & (f.S1_high >= 0)
    f["st_resolved"] = f.ST_low > 0
    f["ci_method"] = ci_method
    f["rank"] = 0
    f["n_params"] = [len(c) for c in fac.columns]
    f = f.iloc[_top_idx(est["ST"], len(f))].reset_index(drop=True)
    f["rank"] = np.arange(1, len(f) + 1)
    return f


def _sums_row(est: dict[str, Any], frame: pd.DataFrame, label: str, level: str,
              ci_method: str) -> dict[str, Any]:
    return {"metric": label, "level": level,
            "S1_sum": est["S1_sum"], "S1_sum_conf": est["S1_sum_conf"],
            "ST_sum": est["ST_sum"], "ST_sum_conf": est["ST_sum_conf"],
            "n_factors": len(frame), "n_st_resolved": int(frame.st_resolved.sum()),
            "n_s1_straddles_zero": int(frame.s1_straddles_zero.sum()),
            "n_s1_negative": int((frame.S1 < 0).sum()), "ci_method": ci_method}


def _ranking(est: dict[str, Any], fac: Factors, label: str, top: int, conf_level: float
             ) -> pd.DataFrame:
    ST = est["ST"]
    R = est["ST_resamples"]  # (B, D)
    sel = _top_idx(ST, top)
    # a replicate's rank of factor j: 1 + factors with a larger ST in that replicate
    ranks = 1 + (R[:, None, :] > R[:, sel][:, :, None]).sum(axis=2)  # (B, top)
    point = np.arange(1, len(sel) + 1)
    a = 1.0 - conf_level
    taus = [kendalltau(ST[sel], R[b, sel]).statistic for b in range(R.shape[0])
            if len(sel) > 1 and np.ptp(R[b, sel]) > 0]
    return pd.DataFrame({
        "metric": label, "level": fac.level, "factor": [fac.names[j] for j in sel],
        "rank": point, "ST": ST[sel],
        "rank_share": (ranks == point[None, :]).mean(axis=0),
        "rank_low": np.quantile(ranks, a / 2, axis=0, method="lower"),
        "rank_high": np.quantile(ranks, 1 - a / 2, axis=0, method="higher"),
        "top_share": (ranks <= len(sel)).mean(axis=0),
        "kendall_tau": float(np.mean(taus)) if taus else np.nan,
    })


def _convergence(store: _Store, q: int, est: dict[str, Any], idx: np.ndarray, fac: Factors,
                 label: str, n: int, top: int, num_resamples: int, conf_level: float,
                 seed: int, ci_method: str) -> pd.DataFrame:
    """Indices at N = 2^k prefixes (k >= 6) and at N for the top factors.

    A prefix is estimated on the top factors' columns alone, so its S1 can differ
    from the level's estimate at that N by SALib's standardisation (a few 1e-6).
    """
    sel = _top_idx(est["ST"], top)
    cols = idx[sel]
    ns = [k for k in (2**e for e in range(6, 31)) if k < n] + [n]
    rows = []
    for k in ns:
        if k == n:
            e = {c: est[c][sel] for c in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            e = estimate(store.yA[q][:k], store.yB[q][:k], store.yAB[q][:k][:, cols],
                         num_resamples=num_resamples, conf_level=conf_level, rng_seed=seed,
                         ci_method=ci_method)
        rows.append(pd.DataFrame({
            "metric": label, "level": fac.level, "factor": [fac.names[j] for j in sel], "n": k,
            **{c: e[c] for c in ("S1", "S1_conf", "ST", "ST_conf")}}))
    return pd.concat(rows, ignore_index=True)


def _second_order(store: _Store, q: int, idx: np.ndarray, fac: Factors, label: str, n: int,
                  num_resamples: int, conf_level: float, seed: int, ci_method: str
                  ) -> pd.DataFrame:
    if store.yBA is None:
        raise RuntimeError("second-order indices need the f(BA_j) rows")  # a bug, not input
    e = estimate(store.yA[q][:n], store.yB[q][:n], store.yAB[q][:n][:, idx],
                 store.yBA[q][:n][:, idx], num_resamples=num_resamples, conf_level=conf_level,
                 rng_seed=seed, ci_method=ci_method)
    i, j = np.triu_indices(len(idx), k=1)
    return pd.DataFrame({"metric": label, "level": fac.level,
                         "factor_i": [fac.names[a] for a in i],
                         "factor_j": [fac.names[b] for b in j],
                         "S2": e["S2"][i, j], "S2_conf": e["S2_conf"][i, j]})


def _delta_candidates(space: ParameterSpace, facs: Sequence[Factors]
                      ) -> list[tuple[str, str, int, bool, int]]:
    """(level, factor, parameter column, proxy?, position in level) of the factors
    that have a scalar value: a global input of its own, or (metal-kind) the
    systematic factor of the group as its proxy."""
    t = space.table
    ng = space.n_globals
    out = []
    for fac in facs:
        for pos, (name, cols) in enumerate(zip(fac.names, fac.columns, strict=True)):
            if len(cols) == 1 and cols[0] < ng and not t.group.iat[int(cols[0])]:
                out.append((fac.level, name, int(cols[0]), False, pos))
            elif fac.level == "metal-kind":
                sys_cols = [int(c) for c in cols if t.level.iat[int(c)] == "systematic"]
                if len(sys_cols) == 1:
                    out.append((fac.level, name, sys_cols[0], True, pos))
    return out


def _delta(store: _Store, ests: list[list[dict[str, Any]]], space: ParameterSpace,
           facs: Sequence[Factors], labels: Sequence[str],
           n_rows: int, max_factors: int, num_resamples: int, conf_level: float,
           seed: int) -> pd.DataFrame:
    from uncertainty.delta import delta_indices

    cands = _delta_candidates(space, facs)
    level_pos = {fac.level: i for i, fac in enumerate(facs)}
    names = space.table["name"]
    frames = []
    for q, label in enumerate(labels):
        prio: dict[int, float] = {}
        for level, _, col, _, pos in cands:
            st = float(ests[q][level_pos[level]]["ST"][pos])
            prio[col] = max(prio.get(col, -np.inf), st)
        chosen = sorted(prio, key=lambda c: -prio[c])[:max_factors]
        if not chosen:
            continue
        X = np.column_stack([store.globA[:n_rows, chosen], store.dummy[:n_rows]])
        d = delta_indices(X, store.yA[q][:n_rows], [str(names.iat[c]) for c in chosen] + [DUMMY],
                          num_resamples=num_resamples, conf_level=conf_level, seed=seed)
        d["delta_low"] = d.delta - d.delta_conf
        d["delta_high"] = d.delta + d.delta_conf
        by_col = {c: d.iloc[i] for i, c in enumerate(chosen)}
        floor = float(d.delta_high.iloc[-1])
        rows = []
        for level, fname, col, proxy, _ in cands:
            if col not in by_col:
                continue
            r = by_col[col]
            rows.append({"metric": label, "level": level, "factor": fname,
                         "parameter": names.iat[col], "proxy": proxy, "delta": r.delta,
                         "delta_conf": r.delta_conf, "delta_low": r.delta_low,
                         "delta_high": r.delta_high, "S1_delta": r.S1_delta,
                         "S1_delta_conf": r.S1_delta_conf, "n": int(r.n),
                         "delta_resolved": bool(r.delta_low > floor), "notes": r.notes})
        r = d.iloc[-1]
        rows.append({"metric": label, "level": "dummy", "factor": DUMMY, "parameter": DUMMY,
                     "proxy": False, "delta": r.delta, "delta_conf": r.delta_conf,
                     "delta_low": r.delta_low, "delta_high": r.delta_high,
                     "S1_delta": r.S1_delta, "S1_delta_conf": r.S1_delta_conf, "n": int(r.n),
                     "delta_resolved": False, "notes": r.notes})
        df = pd.DataFrame(rows)
        order = {fac.level: i for i, fac in enumerate(facs)} | {"dummy": len(facs)}
        df["_order"] = df.level.map(order)
        frames.append(df.sort_values(["_order", "delta"], ascending=[True, False],
                                     kind="stable").drop(columns="_order"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _tables(store: _Store, ests: list[list[dict[str, Any]]], facs: Sequence[Factors],
            lidx: Sequence[np.ndarray], labels: Sequence[str], n: int, top: int,
            num_resamples: int, conf_level: float, seed: int, ci_method: str,
            second_order: bool) -> tuple[list[Any], ...]:
    """Per metric and level: the frame, convergence, ranking, sums and S2 pieces."""
    frames, conv, rank, s2 = [], [], [], []
    sums: list[Any] = []
    for q, label in enumerate(labels):
        for est, fac, idx in zip(ests[q], facs, lidx, strict=True):
            f = _level_frame(est, fac, label, ci_method)
            frames.append(f)
            sums.append(_sums_row(est, f, label, fac.level, ci_method))
            rank.append(_ranking(est, fac, label, top, conf_level))
            conv.append(_convergence(store, q, est, idx, fac, label, n, top, num_resamples,
                                     conf_level, seed, ci_method))
            if second_order:
                s2.append(_second_order(store, q, idx, fac, label, n, num_resamples,
                                        conf_level, seed, ci_method))
    return frames, conv, rank, sums, s2


# ============================================================================ drivers
def sobol_model(model: Model, space: ParameterSpace, n_base: int, *, seed: int,
                scenario: Scenario | None = None, by: str | Sequence[str] = "parameter",
                metrics: Sequence[str] | None = None,
                groups: Mapping[str, Sequence[str]] | None = None, num_resamples: int = 100,
                conf_level: float = 0.95, ci_method: str = "normal", log: bool = False,
                tol: float | None = None, max_n: int | None = None, top: int = 20,
                second_order: bool = False, delta: bool = False, delta_n: int = 2048,
                delta_factors: int = 20, delta_resamples: int = 10,
                block_rows: int | None = None, workers: int | None = None,
                scheduler: str | None = None, quiet: bool = True) -> TmrSobolResult:
    """:func:`sobol` on a built model and parameter space (same keywords)."""
    from uncertainty.config import SensitivityConfig

    t0 = time.perf_counter()
    _check_options(n_base, num_resamples, conf_level, ci_method, tol, max_n, block_rows, top)
    if delta and (not _is_pow2(delta_n) or delta_n < 64):
        raise ValueError(f"delta_n must be a power of 2 >= 64 (got {delta_n!r})")
    if delta and (not isinstance(delta_factors, int) or delta_factors < 1):
        raise ValueError(f"delta_factors must be a positive integer (got {delta_factors!r})")
    metrics = list(metrics) if metrics is not None else list(SensitivityConfig().metrics)
    if not metrics:
        raise ValueError("metrics must name at least one metric")
    for m in metrics:
        if m not in model.metric_names:
            raise ValueError(f"unknown metric {m!r}; metrics are: {', '.join(model.metric_names)}")
    levels = _levels(by, groups)
    facs = [factors_for(space, lv, groups) for lv in levels]
    cost = cost_rows(space, n_base, by=levels, groups=groups, second_order=second_order,
                     n_metrics=len(metrics))
    if second_order:
        for fac in facs:
            if len(fac) > MAX_SECOND_ORDER:
                rows = n_base * (2 * len(fac) + 2)
                raise ValueError(
                    f"second order at level {fac.level!r} has D = {len(fac)} factors: "
                    f"N (2D + 2) = {rows:,} model rows and {len(fac) * (len(fac) - 1) // 2:,} "
                    f"pairs; second order is for at most {MAX_SECOND_ORDER} factors (levels "
                    f"metal-kind, systematic, custom)")
    if not quiet:
        print(f"sobol: N = {n_base}, {len(metrics)} metric(s); cost:\n"
              f"{cost.to_string(index=False)}")
    units, unit_names, lidx = _units(facs)
    max_n = max_n or (16 * n_base if tol is not None else n_base)
    keep = min(delta_n, n_base) if delta else 0
    job = make_job(model, space, units, metrics, seed=seed, scenario=scenario,
                   second_order=second_order, keep_rows=keep)
    labels = [f"log({m})" if log else m for m in metrics]
    store = _Store(job, labels, unit_names, n_base, log)
    stream = _SobolStream(2 * space.n_params, seed)
    timings: dict[str, float] = {"evaluate": 0.0, "estimate": 0.0}
    history = []

    runner = None
    if workers or scheduler:
        from uncertainty.engine import ChunkRunner

        runner = ChunkRunner(workers=workers, scheduler=scheduler)
    try:
        rows = block_rows or (_BLOCK_DASK if runner is not None else _BLOCK_LOCAL)
        n, done = n_base, 0
        while True:
            t1 = time.perf_counter()
            store.grow(n)
            _evaluate_rows(job, store, done, n, min(rows, n - done), runner, stream)
            done = n
            t2 = time.perf_counter()
            with single_threaded_blas():
                ests = _estimates(store, n, lidx, num_resamples, conf_level, seed,
                                  ci_method)
            widest = _widest(ests, top)
            history.append((n, widest))
            timings["evaluate"] += t2 - t1
            timings["estimate"] += time.perf_counter() - t2
            if not quiet:
                print(f"sobol: N = {n}: {t2 - t1:.1f} s evaluating, "
                      f"{time.perf_counter() - t2:.1f} s estimating; widest ST half-width of "
                      f"the top {top}: {widest:.4f}")
            if tol is None or widest < tol or n >= max_n:
                break
            n *= 2
    finally:
        if runner is not None:
            runner.close()

    t3 = time.perf_counter()
    with single_threaded_blas():
        tables = _tables(store, ests, facs, lidx, labels, n, top, num_resamples, conf_level,
                         seed, ci_method, second_order)
    frames, conv, rank, sums, s2 = tables
    timings["tables"] = time.perf_counter() - t3
    delta_frame = None
    if delta:
        t4 = time.perf_counter()
        delta_frame = _delta(store, ests, space, facs, labels, keep, delta_factors,
                             delta_resamples, conf_level, seed)
        timings["delta"] = time.perf_counter() - t4
    timings["total"] = time.perf_counter() - t0
    return TmrSobolResult(
        frame=pd.concat(frames, ignore_index=True),
        convergence=pd.concat(conv, ignore_index=True),
        ranking=pd.concat(rank, ignore_index=True), sums=pd.DataFrame(sums), n_base=n,
        seed=seed, num_resamples=num_resamples, conf_level=conf_level, ci_method=ci_method,
        n_params=space.n_params, levels=levels, metrics=tuple(labels), log=log,
        history=pd.DataFrame(history, columns=["n", "widest_ST_conf"]), cost=cost,
        delta=delta_frame, s2=pd.concat(s2, ignore_index=True) if s2 else None,
        timings=timings)


def sobol(run_or_dataset: Any, n_base: int, *, seed: int, by: str | Sequence[str] = "parameter",
          metrics: Sequence[str] | None = None,
          groups: Mapping[str, Sequence[str]] | None = None, num_resamples: int = 100,
          conf_level: float = 0.95, ci_method: str = "normal", log: bool = False,
          tol: float | None = None, max_n: int | None = None, top: int = 20,
          second_order: bool = False, delta: bool = False, delta_n: int = 2048,
          delta_factors: int = 20, delta_resamples: int = 10, block_rows: int | None = None,
          workers: int | None = None, scheduler: str | None = None,
          quiet: bool = True) -> TmrSobolResult:
    """Sobol indices of TMR metrics for every parameter (or group) of a run.

    Parameters
    ----------
    run_or_dataset : RunConfig or Dataset
        A run (its dataset, allocation, baseline switches, Monte Carlo options and
        overrides) or a dataset (default options).
    n_base : int
        N, a power of 2; the design has N (D + 2) model rows, evaluated incrementally.
    seed : int
        Seed of the scrambled Sobol design and of the bootstrap resamples.
    by : str or sequence of str, default "parameter"
        Levels (module docstring): parameter, mine, metal-kind, country, systematic,
        custom. Levels share one design and one evaluation.
    metrics : sequence of str, optional
        Metric names (default: the four of the ``[sensitivity]`` default); any of
        ``model.metric_names``.
    groups : mapping of str to list of str, optional
        User groups for the level ``"custom"`` (added to ``by`` when given): group name
        -> parameter names, share-group names or shell patterns.
    num_resamples, conf_level : int, float
        Bootstrap resamples of the N base rows and the interval's level.
    ci_method : {"normal", "percentile"}
        SALib's normal-approximation half-width or bootstrap percentiles; named in the
        frame's ``ci_method`` column.
    log : bool
        Indices of the natural log of each metric (heavy tails); every value must be
        positive. Metrics are named ``log(<metric>)``.
    tol : float, optional
        Double N (evaluating only the new rows of the same Sobol sequence) until the
        widest ST half-width among the ``top`` largest-ST factors of every level and
        metric is below ``tol``, or N reaches ``max_n``.
    max_n : int, optional
        Largest N with ``tol`` (a power of 2; default 16 n_base). Memory grows with N:
        ``cost_rows`` states it.
    top : int, default 20
        Factors per metric and level in the convergence and ranking tables and in the
        ``tol`` criterion.
    second_order : bool
        Also S2 (adds the f(BA_j) rows: N (2D + 2) model rows); every level must have
        at most :data:`MAX_SECOND_ORDER` factors.
    delta : bool
        Also Borgonovo's delta (:mod:`uncertainty.delta`, SALib) of the scalar factors
        (global and systematic inputs; a metal-kind group through its systematic
        factor, ``proxy`` True) from the first ``delta_n`` rows of A, for the
        ``delta_factors`` factors with the largest ST per metric, against a dummy
        column; ``delta_resamples`` bootstrap resamples. About 0.2-0.5 s per factor
        and metric.
    block_rows : int, optional
        Base rows per block (a power of 2; default 256 here, 512 on Dask).
    workers, scheduler : optional
        Evaluate blocks on a local Dask cluster of ``workers`` processes or on the
        scheduler at ``scheduler`` (:class:`uncertainty.engine.ChunkRunner`); the
        results are identical to the local loop.
    quiet : bool
        False prints the cost (:func:`cost_rows`) before running and the timings.

    Returns
    -------
    TmrSobolResult

    Raises
    ------
    ValueError
        N not a power of 2, an unknown metric (the message lists the valid ones) or
        level, a bad group, second order for a level of more than
        :data:`MAX_SECOND_ORDER` factors (the message states the cost), a non-finite
        output or a non-positive one with ``log`` (the message names the metric, the
        base rows and the factors).
    """
    from uncertainty.config import RunConfig
    from uncertainty.data import Dataset
    from uncertainty.model import build_model
    from uncertainty.space import build_space

    if not _is_pow2(n_base):
        raise ValueError(f"n_base must be a power of 2 (got {n_base!r})")
    if isinstance(run_or_dataset, RunConfig):
        from uncertainty.pipeline import model_for

        run = run_or_dataset
        ds, model = model_for(run)
        scenario = run.baseline
    elif isinstance(run_or_dataset, Dataset):
        run, ds = None, run_or_dataset
        model = build_model(ds)
        scenario = Scenario()
    else:
        raise TypeError("run_or_dataset must be a RunConfig or a Dataset")
    space = build_space(run, ds, model)
    return sobol_model(model, space, n_base, seed=seed, scenario=scenario, by=by,
                       metrics=metrics, groups=groups, num_resamples=num_resamples,
                       conf_level=conf_level, ci_method=ci_method, log=log, tol=tol,
                       max_n=max_n, top=top, second_order=second_order, delta=delta,
                       delta_n=delta_n, delta_factors=delta_factors,
                       delta_resamples=delta_resamples, block_rows=block_rows,
                       workers=workers, scheduler=scheduler, quiet=quiet)


def sobol_run(run: Any, ds: Any, model: Model, *, quiet: bool = True,
              workers: int | None = None, scheduler: str | None = None) -> TmrSobolResult:
    """The run file's ``[sensitivity]`` section.

    Reads ``n_base, seed, by, metrics, num_resamples, conf_level, log`` and, where the
    section has them, ``ci_method, tol, max_n, top, groups, second_order, delta``.
    """
    from uncertainty.space import build_space

    se = run.sensitivity
    for m in se.metrics:
        if m not in model.metric_names:
            raise ValueError(f"unknown metric '{m}' in [sensitivity] metrics; metrics are: "
                             f"{', '.join(model.metric_names)}")
    space = build_space(run, ds, model)
    extra = {k: getattr(se, k) for k in ("ci_method", "tol", "max_n", "top", "groups",
                                         "second_order", "delta") if hasattr(se, k)}
    if extra.get("groups") is not None:
        extra["groups"] = {k: list(v) for k, v in dict(extra["groups"]).items()} or None
    return sobol_model(model, space, se.n_base, seed=se.seed, scenario=run.baseline,
                       by=se.by, metrics=list(se.metrics), num_resamples=se.num_resamples,
                       conf_level=se.conf_level, log=se.log, workers=workers,
                       scheduler=scheduler, quiet=quiet, **extra)
