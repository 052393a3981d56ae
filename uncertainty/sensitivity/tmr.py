"""Sobol indices of the TMR model for every parameter: the incremental fast path.

Saltelli's radial design (A, B, AB_j) over the whole parameter space of a run
(per-mine, systematic and global parameters, ~5,400 factors for the default data). The
model is a sum over mines: for each base row the kernel keeps
the per-mine terms and the (metal, country) group sums of f(A); f(AB_j) for a factor
that touches a few mines updates only their terms of the supply-weighted state, and a
factor that touches global inputs re-runs the aggregation from the group sums. A
systematic factor re-computes the mines of its metal. The estimators are
:func:`uncertainty.sensitivity.saltelli.estimate` (SALib's Saltelli 2010 first order and Jansen total
order, row-bootstrap intervals); f(AB_j) equals a full re-evaluation of the row to
rounding (tested to rtol 1e-12).

Levels (``by``)
---------------
``parameter`` (every uncertain input; a Dirichlet share group is one factor),
``mine`` (a mine's grade, stripping ratio and recovery together), ``metal-kind`` (all
of one metal's grades, stripping ratios or recoveries, per-mine and systematic
together, e.g. "copper stripping_ratio"), ``country`` (all per-mine inputs of one
country's mines), ``systematic`` (each systematic factor; all per-mine inputs as one
group "per-mine (independent)"), ``provenance`` (all per-site inputs of one provenance
together, "per-site: reported", "per-site: other_year", "per-site: imputed",
"per-site: synthetic"; it needs a dataset whose ``mines.csv`` states provenance) and
``custom`` (the ``groups`` the caller names, by
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
replicates (:func:`uncertainty.sensitivity.indices.sobol_indices` with ``dummy=True`` shows it). An
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
:attr:`TmrSobolResult.delta` Borgonovo's delta (:mod:`uncertainty.sensitivity.delta`) of the scalar
factors from the design's A rows (``delta=True``).

Scale-out
---------
:func:`evaluate_block` is a pure function of a :class:`SobolJob` (model, parameter
space, factors, seed) and a range of base rows; blocks run in this process by default
or on Dask (``workers`` / ``scheduler``, :class:`uncertainty.executor.ChunkRunner`) with
identical results.

Modules
-------
:mod:`uncertainty.sensitivity.factors` (levels and their factors),
:mod:`uncertainty.sensitivity.kernel` (the incremental evaluation, jobs, blocks and the output
store), :mod:`uncertainty.sensitivity.estimates` (indices, sums, rankings, convergence, second
order, delta); this module: the options, the result and the drivers, and the public
names of the other three.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from uncertainty.config import RunConfig, SensitivityConfig
from uncertainty.data import Dataset
from uncertainty.executor import ChunkRunner
from uncertainty.model import Model, Scenario
from uncertainty.resolve import resolve, resolve_seed
from uncertainty.sensitivity.delta import single_threaded_blas
from uncertainty.sensitivity.estimates import (
    DUMMY,
    MAX_SECOND_ORDER,
    _delta,
    _estimates,
    _tables,
    _widest,
)
from uncertainty.sensitivity.factors import (
    CUSTOM,
    LEVELS,
    OTHER,
    PROVENANCE,
    Factors,
    ProvenanceError,
    _levels,
    _units,
    factors_for,
    require_provenance,
)
from uncertainty.sensitivity.kernel import (
    _BLOCK_DASK,
    _BLOCK_LOCAL,
    HEADLINE,
    Block,
    SobolJob,
    _evaluate_rows,
    _SobolStream,
    _Store,
    ab_outputs,
    evaluate_block,
    make_job,
)
from uncertainty.space import ParameterSpace, build_space

__all__ = [
    "CUSTOM", "DUMMY", "HEADLINE", "LEVELS", "MAX_SECOND_ORDER", "OTHER", "PROVENANCE", "Block",
    "Factors", "ProvenanceError", "SobolJob", "TmrSobolResult", "ab_outputs", "cost_rows",
    "evaluate_block", "factors_for", "make_job", "sobol", "sobol_model", "sobol_run",
]  # fmt: skip

CI_METHODS = ("normal", "percentile")


# =========================================================================== results
@dataclass(repr=False)
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
    tol_reached : bool or None
        With ``tol``: whether the widest ST half-width fell below it before ``max_n``
        (if not, a :class:`RuntimeWarning` says so); None without ``tol``.
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
    tol_reached: bool | None = None

    def __repr__(self) -> str:
        return (f"<TmrSobolResult: {', '.join(self.metrics)} by {', '.join(self.levels)}; "
                f"N = {self.n_base:,}, {self.n_params:,} parameters, seed {self.seed}; "
                ".to_frame() or .top() for the indices>")

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
    tol_reached = None if tol is None else bool(widest < tol)
    if tol_reached is False:
        warnings.warn(f"tol = {tol} not reached: the widest ST half-width of the top {top} "
                      f"factors is {widest:.4f} at N = max_n = {n}; raise max_n (or tol)",
                      RuntimeWarning, stacklevel=2)

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
        timings=timings, tol_reached=tol_reached)


def sobol(run_or_dataset: RunConfig | Dataset, n_base: int, *, seed: int | None = None, by: str | Sequence[str] = "parameter",
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
    seed : int, optional
        Seed of the scrambled Sobol design and of the bootstrap resamples; default: the
        run file's ``[sensitivity] seed`` (required with a Dataset).
    by : str or sequence of str, default "parameter"
        Levels (module docstring): parameter, mine, metal-kind, country, systematic,
        provenance, custom. Levels share one design and one evaluation.
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
        Also Borgonovo's delta (:mod:`uncertainty.sensitivity.delta`, SALib) of the scalar factors
        (global and systematic inputs; a metal-kind group through its systematic
        factor, ``proxy`` True) from the first ``delta_n`` rows of A, for the
        ``delta_factors`` factors with the largest ST per metric, against a dummy
        column; ``delta_resamples`` bootstrap resamples. About 0.2-0.5 s per factor
        and metric.
    block_rows : int, optional
        Base rows per block (a power of 2; default 256 here, 512 on Dask).
    workers, scheduler : optional
        Evaluate blocks on a local Dask cluster of ``workers`` processes or on the
        scheduler at ``scheduler`` (:class:`uncertainty.executor.ChunkRunner`); the
        results are identical to the local loop.
    quiet : bool
        False prints the cost (:func:`cost_rows`) before running and the timings.

    Returns
    -------
    TmrSobolResult

    Raises
    ------
    ProvenanceError
        Level ``provenance`` on a dataset whose ``mines.csv`` has no provenance columns
        (a :class:`~uncertainty.errors.UserError`: one line, exit 2 in the CLI).
    ValueError
        N not a power of 2, an unknown metric (the message lists the valid ones) or
        level, a bad group, second order for a level of more than
        :data:`MAX_SECOND_ORDER` factors (the message states the cost), a non-finite
        output or a non-positive one with ``log`` (the message names the metric, the
        base rows and the factors).
    """
    if not _is_pow2(n_base):
        raise ValueError(f"n_base must be a power of 2 (got {n_base!r})")
    r = resolve(run_or_dataset)
    if PROVENANCE in _levels(by, groups):
        require_provenance(r.dataset)
    seed = resolve_seed("sobol()", seed, r.run.sensitivity.seed if r.run else None)
    model, space, scenario = r.model, r.space, r.baseline
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

    se = run.sensitivity
    if PROVENANCE in se.by:
        require_provenance(ds)
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
