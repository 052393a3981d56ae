"""Sobol indices of the TMR model for every parameter: the incremental fast path.

Saltelli's radial design (A, B, AB_j) over the whole parameter space of a run
(per-mine, systematic and global parameters, ~5,400 factors for the default data). The
model is a sum over mines (DESIGN.md decision 4): for each base row the kernel keeps
the per-mine terms and the (metal, country) group sums of f(A); f(AB_j) for a factor
that touches a few mines updates only their terms of the group sums, and a factor
that touches global inputs only re-runs the final aggregation. A systematic factor
re-computes the mines of its metal. The estimators are
:func:`uncertainty.sobol.estimate` (SALib's Saltelli 2010 first order and Jansen total
order, row-bootstrap intervals).

Levels (``by``): ``parameter`` (every uncertain input; a Dirichlet share group is one
factor), ``mine`` (a mine's grade, stripping ratio and recovery together),
``metal-kind`` (all of one metal's grades, stripping ratios or recoveries, per-mine and
systematic together, e.g. "copper stripping_ratio"), ``country`` (all per-mine inputs
of one country's mines) and ``systematic`` (each systematic factor, all per-mine
inputs as one group "per-mine (independent)"). Inputs that are not grouped at a level
stay individual factors, so each level's factors partition the uncertain inputs.
Inputs with a Fixed distribution are not factors (they cannot contribute variance).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np
import pandas as pd

from uncertainty import rng
from uncertainty.model import (
    GLOBAL_BLOCKS, Model, Scenario, aggregate, finish, mine_terms, outputs, prep_size, prepare,
    work_size,
)
from uncertainty.sobol import estimate
from uncertainty.space import ParameterSpace

__all__ = ["Factors", "TmrSobolResult", "ab_outputs", "factors_for", "sobol", "sobol_run"]

LEVELS = ("parameter", "mine", "metal-kind", "country", "systematic")


@dataclass(frozen=True)
class Factors:
    """Factors of one level: names and the parameter columns each one swaps."""

    level: str
    names: tuple[str, ...]
    columns: tuple[np.ndarray, ...]


def factors_for(space: ParameterSpace, level: str) -> Factors:
    """The factors of a level (see module docstring); Fixed inputs are left out."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)} (got {level!r})")
    t = space.table
    uncertain = (t["family"] != "fixed").to_numpy()
    names: list[str] = []
    cols: list[np.ndarray] = []
    groups: dict[str, list[int]] = {}
    order: list[str] = []

    def put(key: str, j: int) -> None:
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(j)

    for j, r in enumerate(t.itertuples(index=False)):
        if not uncertain[j]:
            continue
        if r.group:
            put(r.group, j)
        elif level == "mine" and r.level == "mine":
            put(r.mine, j)
        elif level == "metal-kind" and r.level in ("mine", "systematic"):
            put(f"{r.metal} {r.kind}", j)
        elif level == "country" and r.level == "mine":
            put(f"country {r.country}", j)
        elif level == "systematic" and r.level == "mine":
            put("per-mine (independent)", j)
        else:
            put(r.name, j)
    for key in order:
        names.append(key)
        cols.append(np.array(groups[key], dtype=np.int64))
    return Factors(level, tuple(names), tuple(cols))


def _encode(space: ParameterSpace, model: Model, fac: Factors) -> tuple[np.ndarray, ...]:
    """CSR arrays: global columns per factor; affected mines and their swap masks."""
    ng = space.n_globals
    sys_off = [model.offsets["sys_grade"], model.offsets["sys_stripping"],
               model.offsets["sys_recovery"]]
    K = len(model.metals)
    mines_of = [np.nonzero(model.mine_metal == k)[0] for k in range(K)]
    gptr, gcols, mptr, mines, masks = [0], [], [0], [], []
    for cols in fac.columns:
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


@nb.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _ab_kernel(gA, sA, rA, globA, gB, sB, rB, globB, gptr, gcols, mptr, fmines, fmasks,
               out_idx, yA, yB, yAB, mine_metal, mine_group, mine_weight, mine_conc,
               mine_alloc_rr, mine_solid, n_groups, nwork, n_metrics, off, n_metals,
               n_vehicles, n_chems, n_countries, group_metal, group_country, fab_yield,
               secondary, nev, intensity, battery_metal, domestic, rec, clean, lfp, lfp_index):
    n, M = gA.shape
    D = gptr.shape[0] - 1
    n_out = out_idx.shape[0]
    o_g = off[0]
    o_s = off[1]
    o_r = off[2]
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
        for which in range(2):
            hs[:] = 0.0
            us[:] = 0.0
            for m in range(M):
                k = mine_metal[m]
                if which == 0:
                    g, s, r, gl = gA[i, m], sA[i, m], rA[i, m], globA[i]
                else:
                    g, s, r, gl = gB[i, m], sB[i, m], rB[i, m], globB[i]
                g = min(g * gl[o_g + k], 1.0)
                r = min(r * gl[o_r + k], 1.0)
                s = s * gl[o_s + k]
                hf, used = mine_terms(g, s, r, mine_conc[m], mine_alloc_rr[m], mine_solid[m])
                if which == 0:
                    hfA[m] = hf
                    usedA[m] = used
                gi = mine_group[m]
                hs[gi] += mine_weight[m] * hf
                us[gi] += mine_weight[m] * used
            finish(hs, us, globB[i] if which else globA[i], res, off, n_metals, n_vehicles,
                   n_chems, n_countries, group_metal, group_country, fab_yield, secondary, nev,
                   intensity, battery_metal, domestic, rec, clean, lfp, lfp_index, wk)
            for q in range(n_out):
                if which == 0:
                    yA[i, q] = res[out_idx[q]]
                else:
                    yB[i, q] = res[out_idx[q]]
        # hs, us now hold B's sums: recompute A's
        hs[:] = 0.0
        us[:] = 0.0
        for m in range(M):
            gi = mine_group[m]
            hs[gi] += mine_weight[m] * hfA[m]
            us[gi] += mine_weight[m] * usedA[m]
        # A's preparation and state, reused by every factor that leaves globals alone
        K = n_metals
        prepA = np.empty(prep_size(n_metals, n_vehicles))
        stateA = np.empty(2 * K + n_countries)
        state2 = np.empty(2 * K + n_countries)
        mix = np.empty(n_chems)
        hk = np.empty(K)
        prepare(globA[i], prepA, off, n_metals, n_vehicles, n_chems, fab_yield, secondary,
                intensity, battery_metal, rec, clean, lfp, lfp_index, mix)
        aggregate(hs, us, globA[i], prepA, stateA, off, n_metals, n_vehicles, n_countries,
                  group_metal, group_country)
        pdem = n_vehicles * K
        pf = pdem + K
        o_sup = off[3]
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
            for t in range(mptr[f], mptr[f + 1]):
                m = fmines[t]
                mask = fmasks[t]
                k = mine_metal[m]
                gl = globA[i] if only_mines else globF
                g = gB[i, m] if mask & 1 else gA[i, m]
                s = sB[i, m] if mask & 2 else sA[i, m]
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
            if only_mines:
                outputs(state2, prepA, res, n_metals, n_vehicles, n_countries, nev,
                        battery_metal, domestic, hk)
            else:
                finish(hs2, us2, globF, res, off, n_metals, n_vehicles, n_chems, n_countries,
                       group_metal, group_country, fab_yield, secondary, nev, intensity,
                       battery_metal, domestic, rec, clean, lfp, lfp_index, wk)
            for q in range(n_out):
                yAB[i, f, q] = res[out_idx[q]]


def _finish_args(model: Model, scenario: Scenario) -> tuple:
    rec, clean, lfp = model.scenario_arrays(scenario)
    off = np.array([model.offsets[b] for b in GLOBAL_BLOCKS], dtype=np.int64)
    return (off, len(model.metals), len(model.vehicles), len(model.chemistries),
            len(model.countries), model.group_metal, model.group_country, model.fab_yield,
            model.secondary_fraction, model.nev, model.intensity, model.battery_metal,
            model.countries.index(model.domestic), rec, clean, lfp, model.lfp_index)


def ab_outputs(model: Model, space: ParameterSpace, fac: Factors, uA: np.ndarray,
               uB: np.ndarray, metrics: list[str], scenario: Scenario | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f(A), f(B) (n, k) and f(AB_j) (n, D, k) for unit-cube rows ``uA``, ``uB``."""
    scenario = scenario or Scenario()
    xa = space.transform(uA)
    xb = space.transform(uB)
    n = uA.shape[0]
    out_idx = np.array([model.metric_names.index(m) for m in metrics], dtype=np.int64)
    yA = np.empty((n, len(metrics)))
    yB = np.empty((n, len(metrics)))
    yAB = np.empty((n, len(fac.names), len(metrics)))
    _ab_kernel(*xa, *xb, *_encode(space, model, fac), out_idx, yA, yB, yAB, model.mine_metal,
               model.mine_group, model.mine_weight, model.mine_conc, model.mine_alloc_rr,
               model.mine_solid, model.n_groups, work_size(model), len(model.metric_names),
               *_finish_args(model, scenario))
    return yA, yB, yAB


@dataclass
class TmrSobolResult:
    """Sobol indices of the TMR model at one or more levels.

    ``frame`` has columns metric, factor, level, S1, S1_conf, ST, ST_conf (plus
    interval bounds and flags); ``convergence`` has metric, level, factor, n, S1,
    S1_conf, ST, ST_conf at N = 2^k prefixes of the design.
    """

    frame: pd.DataFrame
    convergence: pd.DataFrame
    n_base: int
    seed: int
    num_resamples: int
    conf_level: float
    ci_method: str
    n_params: int
    timings: dict[str, float] = field(default_factory=dict)
    sums: pd.DataFrame | None = None
    delta: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def convergence_frame(self) -> pd.DataFrame:
        return self.convergence

    def top(self, metric: str, k: int = 10, level: str = "parameter") -> pd.DataFrame:
        f = self.frame
        f = f[(f.metric == metric) & (f.level == level)]
        return f.sort_values("ST", ascending=False).head(k)


def _is_pow2(n: Any) -> bool:
    return isinstance(n, int | np.integer) and not isinstance(n, bool) and n > 0 \
        and (n & (n - 1)) == 0


def sobol(run_or_dataset: Any, n_base: int, *, seed: int, by: str | tuple[str, ...] = "parameter",
          metrics: tuple[str, ...] | list[str] | None = None, num_resamples: int = 100,
          conf_level: float = 0.95, ci_method: str = "normal", log: bool = False,
          block_rows: int = 256, quiet: bool = True) -> TmrSobolResult:
    """Sobol indices of TMR metrics for every parameter (or group) of a run.

    Parameters
    ----------
    run_or_dataset : RunConfig or Dataset
    n_base : int
        N, a power of 2; the design has N (D + 2) rows, evaluated incrementally.
    seed : int
        Seed of the scrambled Sobol design and of the bootstrap.
    by : str or tuple of str
        Levels (module docstring).
    metrics : sequence of str
        Metric names (default: the four of DESIGN.md's sensitivity default).
    log : bool
        Indices of the natural log of each metric (heavy tails).
    """
    from uncertainty.config import RunConfig, SensitivityConfig
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
    metrics = list(metrics or SensitivityConfig().metrics)
    for m in metrics:
        if m not in model.metric_names:
            raise ValueError(f"unknown metric '{m}'; metrics are: {', '.join(model.metric_names)}")
    levels = (by,) if isinstance(by, str) else tuple(by)
    space = build_space(run, ds, model)
    return _sobol_core(model, space, n_base, seed, levels, metrics, num_resamples, conf_level,
                       ci_method, log, block_rows, scenario, quiet)


def _sobol_core(model, space, n_base, seed, levels, metrics, num_resamples, conf_level,
                ci_method, log, block_rows, scenario, quiet) -> TmrSobolResult:
    t0 = time.perf_counter()
    P = space.n_params
    frames, conv, sums = [], [], []
    timings: dict[str, float] = {}
    for level in levels:
        t1 = time.perf_counter()
        fac = factors_for(space, level)
        D = len(fac.names)
        yA = np.empty((n_base, len(metrics)))
        yB = np.empty((n_base, len(metrics)))
        yAB = [np.empty((n_base, D)) for _ in metrics]
        for a in range(0, n_base, block_rows):
            b = min(n_base, a + block_rows)
            u = rng.sobol_points(b - a, 2 * P, seed=seed, start=a) if a else \
                rng.sobol_points(b - a, 2 * P, seed=seed) if _is_pow2(b - a) else \
                rng.sobol_points(n_base, 2 * P, seed=seed)[: b - a]
            ya, yb, yab = ab_outputs(model, space, fac, u[:, :P], u[:, P:], metrics, scenario)
            yA[a:b], yB[a:b] = ya, yb
            for q in range(len(metrics)):
                yAB[q][a:b] = yab[:, :, q]
            del u, yab
        t_eval = time.perf_counter() - t1
        for q, metric in enumerate(metrics):
            a_, b_, ab_ = yA[:, q], yB[:, q], yAB[q]
            if log:
                if min(a_.min(), b_.min(), ab_.min()) <= 0:
                    raise ValueError(f"log indices need a positive metric; '{metric}' is not")
                a_, b_, ab_ = np.log(a_), np.log(b_), np.log(ab_)
            est = estimate(a_, b_, ab_, num_resamples=num_resamples, conf_level=conf_level,
                           rng_seed=seed, ci_method=ci_method)
            name = f"log({metric})" if log else metric
            f = pd.DataFrame({"metric": name, "factor": fac.names, "level": level,
                              "S1": est["S1"], "S1_conf": est["S1_conf"], "ST": est["ST"],
                              "ST_conf": est["ST_conf"]})
            f["S1_low"], f["S1_high"] = est["S1_low"], est["S1_high"]
            f["ST_low"], f["ST_high"] = est["ST_low"], est["ST_high"]
            f["s1_straddles_zero"] = (f.S1_low <= 0) & (f.S1_high >= 0)
            f["st_resolved"] = f.ST_low > 0
            f["ci_method"] = ci_method
            frames.append(f)
            sums.append({"metric": name, "level": level, "S1_sum": float(np.sum(est["S1"])),
                         "ST_sum": float(np.sum(est["ST"])), "n_factors": D})
            conv.append(_convergence(a_, b_, ab_, fac, level, name, num_resamples, conf_level,
                                     seed, ci_method))
        timings[level] = time.perf_counter() - t1
        timings[f"{level}_evaluate"] = t_eval
        if not quiet:
            print(f"sobol {level}: {D} factors, N = {n_base}, {timings[level]:.1f} s")
    timings["total"] = time.perf_counter() - t0
    return TmrSobolResult(
        frame=pd.concat(frames, ignore_index=True), convergence=pd.concat(conv, ignore_index=True),
        n_base=n_base, seed=seed, num_resamples=num_resamples, conf_level=conf_level,
        ci_method=ci_method, n_params=P, timings=timings, sums=pd.DataFrame(sums))


def _convergence(yA, yB, yAB, fac, level, metric, num_resamples, conf_level, seed, ci_method,
                 top: int = 20) -> pd.DataFrame:
    """Indices and CI half-widths at N = 2^k prefixes (k >= 6) for the top factors."""
    n = len(yA)
    est = estimate(yA, yB, yAB, num_resamples=num_resamples, conf_level=conf_level,
                   rng_seed=seed, ci_method=ci_method)
    idx = np.argsort(-est["ST"])[:top]
    rows = []
    k = 64
    while k <= n:
        e = est if k == n else estimate(yA[:k], yB[:k], yAB[:k][:, idx], num_resamples=num_resamples,
                                        conf_level=conf_level, rng_seed=seed, ci_method=ci_method)
        for c, j in enumerate(idx):
            jj = j if k == n else c
            rows.append((metric, level, fac.names[j], k, e["S1"][jj], e["S1_conf"][jj],
                         e["ST"][jj], e["ST_conf"][jj]))
        k *= 2
    return pd.DataFrame(rows, columns=["metric", "level", "factor", "n", "S1", "S1_conf", "ST",
                                       "ST_conf"])


def sobol_run(run: Any, ds: Any, model: Model, *, quiet: bool = True) -> TmrSobolResult:
    """The run file's ``[sensitivity]`` section."""
    from uncertainty.space import build_space

    se = run.sensitivity
    for m in se.metrics:
        if m not in model.metric_names:
            raise ValueError(f"unknown metric '{m}' in [sensitivity] metrics")
    space = build_space(run, ds, model)
    return _sobol_core(model, space, se.n_base, se.seed, se.by, list(se.metrics),
                       se.num_resamples, se.conf_level, "normal", se.log, 256, run.baseline,
                       quiet)
