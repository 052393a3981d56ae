"""What to measure next: data-collection priorities and their proof.

Which site's data, if it were measured, would narrow a result most? For a site whose
grade, stripping ratio or recovery is not ``reported`` (it is ``other_year``,
``imputed`` from its deposit archetype, or ``synthetic``), measuring those values
exactly removes, on average over what the measurement could find, the share

.. math:: S_g = V[E(Y \\mid X_g)] / V(Y)

of the variance of a metric *Y*, where :math:`X_g` are the site's non-reported
uncertain parameters: the first-order Sobol index of that group. :func:`data_priorities`
estimates it for every such site at once, on the radial Saltelli design of
:mod:`uncertainty.sensitivity.tmr` (the same estimators, the same bootstrap intervals),
with a custom grouping of the factors (:func:`priority_units`):

* one factor per site that has a non-reported uncertain parameter: those parameters
  (a co-product site's rows together; its reported parameters are not in it);
* one factor per (metal, country) of synthetic production: every uncertain per-site
  parameter of its synthetic rows (a synthetic row stands for production no facility
  covers, so "measuring" it means finding and measuring the mines behind it);
* one factor :data:`~uncertainty.sensitivity.factors.OTHER` for everything else
  (reported parameters, systematic and global inputs), which is not a priority.

The table (:data:`COLUMNS`, ``priorities.csv``) gives per metric and unit the expected
variance reduction ``variance_reduction`` = S1 of the group, its bootstrap half-width
``variance_reduction_conf`` (the estimator's ``S1_conf``), and the expected narrowing of
the 95% interval,

.. math:: \\text{interval\\_width\\_reduction} = 1 - \\sqrt{1 - S_g},

S1 clipped to [0, 1] first. The width formula is exact when the output is a
location-scale family whose scale follows its standard deviation (a normal output, or
any output whose shape does not change when the group is known): the interval width is
then proportional to the standard deviation, and the expected remaining variance is
(1 - S_g) V(Y). For a skewed output (a lognormal hidden flow) it is an approximation:
measuring a site also changes the shape.

The proof (:func:`proof`): take the top sites, replace their non-reported distributions
by a "measured" one (a value drawn from the site's own distribution, fixed there, and
also with the ``reported``-level spread of :mod:`uncertainty.data.fill` around it),
rerun the Monte Carlo on the same random numbers (same seed, run overrides on those
parameters only), and compare the observed variance reduction, averaged over several
drawn values, with the prediction. Fixed at the draw, the expected observed reduction
is exactly S_g (law of total variance: E_x V(Y | X_g = x) = V(Y) - V(E(Y | X_g))).
With the reported-level residual spread the measured site still contributes some
variance, so the observed reduction is systematically smaller, by about the share of
variance that a reported-level spread of the site would carry: roughly
S_g x (sigma_reported / sigma_prior)^2 for a log-linear response (sigma the log-sd of
the values; a stripping ratio's year-to-year log-sd, 0.31, is close to many imputed
spreads, so most of its share stays).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from uncertainty import outputs, rng
from uncertainty.config import RunConfig
from uncertainty.data import (
    PROVENANCES,
    YEAR_TO_YEAR_GRADE,
    YEAR_TO_YEAR_GRADE_OTHER,
    YEAR_TO_YEAR_RECOVERY,
    YEAR_TO_YEAR_RECOVERY_OTHER,
    YEAR_TO_YEAR_STRIPPING,
    YEAR_TO_YEAR_STRIPPING_OTHER,
    Dataset,
)
from uncertainty.model import Model, Scenario
from uncertainty.montecarlo import evaluate_chunk
from uncertainty.resolve import resolve, resolve_seed
from uncertainty.sensitivity.factors import (
    CUSTOM,
    OTHER,
    _uncertain,
    require_provenance,
)
from uncertainty.sensitivity.tmr import TmrSobolResult, sobol_model
from uncertainty.space import ParameterSpace, build_space

__all__ = [
    "COLUMNS",
    "METAL_COUNTRY",
    "PROOF_COLUMNS",
    "SITE",
    "Priorities",
    "PriorityUnits",
    "data_priorities",
    "interval_width_reduction",
    "measured_override",
    "priorities_model",
    "priorities_run",
    "priority_units",
    "proof",
]

SITE = "site"
"""Unit of a real site's non-reported parameters."""
METAL_COUNTRY = "metal-country"
"""Unit of the synthetic production of one metal in one country."""
COLUMNS = outputs.PRIORITIES.columns
"""The columns of the priorities table (``priorities.csv``): metric, unit, id, metal,
country, provenance, variance_reduction, variance_reduction_conf,
interval_width_reduction, rank."""
PROOF_COLUMNS = (*outputs.PROOF.columns, "agrees", "observed_reported", "observed_reported_se",
                 "metric")
"""The columns of the proof table (``proof.csv``)."""
WHAT = "the data-collection priority list"


def interval_width_reduction(s1: Any) -> np.ndarray:
    """Expected narrowing of a 95% interval when a share ``s1`` of the variance goes:
    ``1 - sqrt(1 - s1)``, ``s1`` clipped to [0, 1] (exact for a location-scale output,
    module docstring)."""
    s = np.clip(np.asarray(s1, dtype=float), 0.0, 1.0)
    return 1.0 - np.sqrt(1.0 - s)


# ---------------------------------------------------------------------------- units
@dataclass(frozen=True)
class PriorityUnits:
    """The custom grouping of the priorities.

    Attributes
    ----------
    groups : dict of str to list of str
        Factor name (``"site <id>"``, ``"synthetic <metal>,<country>"``) -> the names of
        its uncertain parameters; everything else is the factor
        :data:`~uncertainty.sensitivity.factors.OTHER`.
    table : pandas.DataFrame
        A row per factor of ``groups``, in its order: ``group, unit`` (:data:`SITE` or
        :data:`METAL_COUNTRY`), ``id`` (the site id, or ``"metal,country"``), ``metal``
        (the metals of the unit's rows joined by ``+``, a site's main product first),
        ``country``, ``provenance`` (the least known among the group's parameters:
        reported < other_year < imputed < synthetic), ``n_params``.
    """

    groups: dict[str, list[str]]
    table: pd.DataFrame


def priority_units(space: ParameterSpace) -> PriorityUnits:
    """The units of :func:`data_priorities` (module docstring) from a parameter space.

    A row is synthetic when its grade, stripping ratio and recovery are all
    ``synthetic``; a real site's unit holds its uncertain parameters whose provenance is
    not ``reported``. A site (or a metal and country) without such a parameter has no
    unit: measuring it could not narrow anything.
    """
    t = space.table
    unc = _uncertain(space)
    names = t["name"].tolist()
    prov = t["provenance"].astype(str).tolist()
    rank = {p: i for i, p in enumerate(PROVENANCES)}
    units: dict[tuple[str, str], dict[str, Any]] = {}
    for m in range(space.n_mines):
        j0 = space.n_globals + 3 * m
        row = t.iloc[j0]
        cols = range(j0, j0 + 3)
        synthetic = all(prov[j] == "synthetic" for j in cols)
        if synthetic:
            key = (METAL_COUNTRY, f"{row['metal']},{row['country']}")
            take = [j for j in cols if unc[j]]
        else:
            key = (SITE, str(row["site"] or row["mine"]))
            take = [j for j in cols if unc[j] and prov[j] != "reported"]
        if not take:
            continue
        u = units.setdefault(key, {"cols": [], "metals": [], "country": str(row["country"])})
        u["cols"].extend(take)
        u["metals"].append(str(row["metal"]))
    order = sorted(units, key=lambda k: k[0] != SITE)  # sites first, stable
    groups: dict[str, list[str]] = {}
    rows = []
    for unit, uid in order:
        u = units[(unit, uid)]
        name = f"site {uid}" if unit == SITE else f"synthetic {uid}"
        groups[name] = [names[j] for j in u["cols"]]
        worst = max((prov[j] for j in u["cols"]), key=lambda p: rank.get(p, len(rank)))
        metal = "+".join(dict.fromkeys(u["metals"]))
        rows.append((name, unit, uid, metal, u["country"],
                     "synthetic" if unit == METAL_COUNTRY else worst, len(u["cols"])))
    table = pd.DataFrame(rows, columns=["group", "unit", "id", "metal", "country",
                                        "provenance", "n_params"])
    return PriorityUnits(groups, table)


# ----------------------------------------------------------------------- priorities
@dataclass(repr=False)
class Priorities:
    """Data-collection priorities (:func:`data_priorities`).

    Attributes
    ----------
    frame : pandas.DataFrame
        :data:`COLUMNS`, sorted by metric then rank (1 = largest variance reduction).
    units : PriorityUnits
    sobol : TmrSobolResult or None
        The Sobol analysis of the custom grouping (level ``custom``; None when no unit
        exists, e.g. every value reported).
    """

    frame: pd.DataFrame
    units: PriorityUnits
    sobol: TmrSobolResult | None

    def __repr__(self) -> str:
        n = len(self.units.groups)
        return (f"<Priorities: {n} unit(s), {self.frame['metric'].nunique()} metric(s); "
                ".to_frame() or .top(metric) for the table>")

    def to_frame(self) -> pd.DataFrame:
        """The table (``priorities.csv``)."""
        return self.frame

    def top(self, metric: str = "hidden_flows_mt", k: int = 20) -> pd.DataFrame:
        """The ``k`` units with the largest variance reduction of ``metric``."""
        f = self.frame
        if metric not in set(f["metric"]):
            raise ValueError(f"unknown metric {metric!r} (priorities for: "
                             f"{', '.join(dict.fromkeys(f['metric'])) or 'none'})")
        return f[f["metric"] == metric].head(k).reset_index(drop=True)


def _table(res: TmrSobolResult | None, units: PriorityUnits,
           metrics: Sequence[str]) -> pd.DataFrame:
    if res is None:
        return pd.DataFrame({c: pd.Series(dtype=object if c in COLUMNS[:6] else float)
                             for c in COLUMNS})
    f = res.frame[res.frame["level"] == CUSTOM]
    info = units.table.set_index("group")
    frames = []
    for m in metrics:
        d = f[(f["metric"] == m) & (f["factor"] != OTHER)].set_index("factor")
        d = d.reindex(units.table["group"])
        out = info[["unit", "id", "metal", "country", "provenance"]].copy()
        out.insert(0, "metric", m)
        out["variance_reduction"] = d["S1"].to_numpy(float)
        out["variance_reduction_conf"] = d["S1_conf"].to_numpy(float)
        out["interval_width_reduction"] = interval_width_reduction(out["variance_reduction"])
        out = out.sort_values("variance_reduction", ascending=False, kind="stable")
        out["rank"] = np.arange(1, len(out) + 1)
        frames.append(out)
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["metric", "rank"], kind="stable").reset_index(drop=True)[
        list(COLUMNS)]


def priorities_model(model: Model, space: ParameterSpace, n_base: int, *, seed: int,
                     scenario: Scenario | None = None, metrics: Sequence[str] | None = None,
                     num_resamples: int = 100, conf_level: float = 0.95,
                     ci_method: str = "normal", quiet: bool = True) -> Priorities:
    """:func:`data_priorities` on a built model and parameter space (the caller checks that
    the dataset states provenance: :func:`~uncertainty.sensitivity.factors.require_provenance`)."""
    from uncertainty.config import SensitivityConfig

    metrics = list(metrics) if metrics is not None else list(SensitivityConfig().metrics)
    units = priority_units(space)
    res = None
    if units.groups:
        res = sobol_model(model, space, n_base, seed=seed, scenario=scenario, by=(CUSTOM,),
                          metrics=metrics, groups=units.groups, num_resamples=num_resamples,
                          conf_level=conf_level, ci_method=ci_method, top=5, quiet=quiet)
    return Priorities(_table(res, units, metrics), units, res)


def data_priorities(run_or_dataset: RunConfig | Dataset, n_base: int | None = None, *,
               seed: int | None = None, metrics: Sequence[str] | None = None,
               num_resamples: int | None = None, conf_level: float | None = None,
               ci_method: str | None = None, quiet: bool = True) -> Priorities:
    """Data-collection priorities: per metric and site (or synthetic metal and country),
    the expected share of the variance removed by measuring its non-reported values.

    Parameters
    ----------
    run_or_dataset : RunConfig or Dataset
        Its dataset's ``mines.csv`` must state provenance (``grade_source``,
        ``stripping_source``, ``recovery_source``).
    n_base : int, optional
        N, a power of 2 (default: the run file's ``[sensitivity] n_base``, else 1024).
        The design has N (D + 2) model rows for D = units + 1.
    seed : int, optional
        Seed of the design and the bootstrap (default: the run file's
        ``[sensitivity] seed``; required with a Dataset).
    metrics : sequence of str, optional
        Default: the run file's ``[sensitivity] metrics`` (the four headline metrics of
        the sensitivity analysis by default).
    num_resamples, conf_level, ci_method : optional
        Bootstrap settings (default: the run file's, else 100, 0.95, ``"normal"``).

    Returns
    -------
    Priorities
        ``.frame`` has :data:`COLUMNS`: ``variance_reduction`` is the first-order Sobol
        index of the unit's parameters, ``variance_reduction_conf`` its bootstrap
        half-width, ``interval_width_reduction`` = 1 - sqrt(1 - S1) (module docstring
        for the assumption), ``rank`` 1 for the largest within a metric.

    Raises
    ------
    ProvenanceError
        The dataset has no provenance columns.
    ValueError
        A bad N, metric or bootstrap setting.
    """
    from uncertainty.config import SensitivityConfig

    r = resolve(run_or_dataset)
    require_provenance(r.dataset, WHAT)
    se = r.run.sensitivity if r.run is not None else SensitivityConfig()
    seed = resolve_seed("data_priorities()", seed, r.run.sensitivity.seed if r.run else None)
    return priorities_model(
        r.model, r.space, n_base or se.n_base, seed=seed, scenario=r.baseline,
        metrics=metrics if metrics is not None else se.metrics,
        num_resamples=num_resamples or se.num_resamples,
        conf_level=conf_level or se.conf_level, ci_method=ci_method or se.ci_method,
        quiet=quiet)


def priorities_run(run: RunConfig, ds: Dataset, model: Model, *, n_base: int | None = None,
                   seed: int | None = None, quiet: bool = True) -> Priorities:
    """The priorities of a run file (its ``[sensitivity]`` settings; ``n_base`` and
    ``seed`` replace the section's)."""
    require_provenance(ds, WHAT)
    se = run.sensitivity
    space = build_space(run, ds, model)
    return priorities_model(model, space, n_base or se.n_base,
                            seed=se.seed if seed is None else seed, scenario=run.baseline,
                            metrics=se.metrics, num_resamples=se.num_resamples,
                            conf_level=se.conf_level, ci_method=se.ci_method, quiet=quiet)


# ---------------------------------------------------------------------------- proof
def measured_override(space: ParameterSpace, j: int, value: float, *,
                      residual: bool = True) -> dict[str, Any]:
    """The distribution of parameter ``j`` once measured at ``value``, as a run-file
    override.

    ``residual=False``: fixed at ``value``. Else the ``reported``-level spread of
    :mod:`uncertainty.data.fill` around it (the year-to-year spread of one facility,
    by metal): a grade or stripping ratio LogNormal(median = ``value``,
    gsd = exp(log-sd)), a recovery Normal(``value``, sd) truncated to [0, 1]; a
    stripping ratio of 0 stays fixed.
    """
    row = space.table.iloc[j]
    kind, metal = str(row["kind"]), str(row["metal"])
    if not residual or value <= 0:
        return {"dist": "fixed", "value": float(value)}
    if kind == "grade":
        gsd = math.exp(YEAR_TO_YEAR_GRADE.get(metal, YEAR_TO_YEAR_GRADE_OTHER))
        return {"dist": "lognormal", "median": float(value), "gsd": gsd}
    if kind == "stripping_ratio":
        gsd = math.exp(YEAR_TO_YEAR_STRIPPING.get(metal, YEAR_TO_YEAR_STRIPPING_OTHER))
        return {"dist": "lognormal", "median": float(value), "gsd": gsd}
    if kind == "recovery":
        sd = YEAR_TO_YEAR_RECOVERY.get(metal, YEAR_TO_YEAR_RECOVERY_OTHER)
        return {"dist": "truncnormal", "mean": float(value), "sd": sd, "low": 0.0,
                "high": 1.0}
    raise ValueError(f"parameter {row['name']!r} is not a per-site value (kind {kind!r})")


def _metric_samples(model: Model, space: ParameterSpace, seed: int, n: int,
                    scenario: Scenario, sampler: str, col: int, chunk: int = 65_536
                    ) -> np.ndarray:
    return np.concatenate([
        evaluate_chunk(model, space, seed, a, min(chunk, n - a), [scenario], sampler)[0][:, col]
        for a in range(0, n, chunk)])


def _observed(ys: np.ndarray, y0: np.ndarray, num_resamples: int, seed: int
              ) -> tuple[float, float]:
    """Mean of ``1 - V(y_d) / V(y0)`` over the rows ``y_d`` of ``ys``, and its standard
    error: the spread between draws over sqrt(draws) and the Monte Carlo error (a
    bootstrap of the samples, the same resamples for every draw) in quadrature."""
    n_draws, n = ys.shape
    obs = 1.0 - np.var(ys, axis=1, ddof=1) / np.var(y0, ddof=1)
    boot = np.random.default_rng([seed, 1])
    obs_b = np.empty(num_resamples)
    for b in range(num_resamples):
        idx = boot.integers(0, n, size=n)
        obs_b[b] = np.mean(1.0 - np.var(ys[:, idx], axis=1, ddof=1) / np.var(y0[idx], ddof=1))
    se_draws = float(np.std(obs, ddof=1)) / math.sqrt(n_draws)
    return float(obs.mean()), math.sqrt(se_draws ** 2 + float(np.std(obs_b, ddof=1)) ** 2)


def proof(run_or_dataset: RunConfig | Dataset, k: int = 3, *,
          metric: str = "hidden_flows_mt", n_draws: int = 16, samples: int | None = None,
          seed: int | None = None, n_base: int | None = None, reported: bool = True,
          table: pd.DataFrame | None = None, draw_seed: int = 0,
          num_resamples: int = 100) -> pd.DataFrame:
    """Check the predicted variance reductions of the top ``k`` sites by measuring them.

    For each site (the ``k`` sites with the largest ``variance_reduction`` of
    ``metric``), ``n_draws`` times: draw a value of each of its non-reported parameters
    from its own distribution, replace the distribution by the measured one
    (:func:`measured_override`: fixed at the draw, and, with ``reported``, also with the
    reported-level spread around it), rerun the Monte Carlo on the same random numbers
    and record ``1 - V(Y | measured) / V(Y)``.

    By the law of total variance the mean over draws of the exact measurement's
    reduction is S1 of the site's parameters, the prediction, whatever the model; the
    reported-level measurement leaves the site some spread, so its reduction is
    expected below the prediction (module docstring).

    Parameters
    ----------
    run_or_dataset : RunConfig or Dataset
    k : int
        Sites to check (sites only, not synthetic metal-country units).
    metric : str
    n_draws : int
        Measured values per site, a power of 2 (at least 2): the rows of a scrambled
        Sobol design over the site's parameters, so that the rare extreme values (a
        grade far below the archetype's median makes the site dominate, and the
        variance *grows* once it is fixed there) are represented in proportion; the
        mean over draws is a heavy-tailed average, and independent draws would
        understate its error.
    samples : int, optional
        Monte Carlo samples per evaluation (default: the run file's, else 20,000).
    seed : int, optional
        Monte Carlo seed (default: the run file's ``[montecarlo] seed``; required with a
        Dataset, where it also seeds the priorities). Every evaluation uses it: common
        random numbers.
    n_base : int, optional
        N of the priorities, when ``table`` is not given.
    reported : bool
        Also measure with the reported-level spread (``observed_reported``); twice the
        Monte Carlo evaluations.
    table : pandas.DataFrame, optional
        A priorities table (:data:`COLUMNS`) to take the top sites and predictions from
        (default: computed with :func:`priorities_model` for ``metric``).
    draw_seed : int
        Seed of the measured values (site ``i`` of the top: ``draw_seed + i``) and of
        the bootstrap.
    num_resamples : int
        Bootstrap resamples of the Monte Carlo samples for the standard errors.

    Returns
    -------
    pandas.DataFrame
        :data:`PROOF_COLUMNS`: ``predicted`` and ``predicted_conf`` (the table's
        variance reduction and half-width); ``observed`` (the mean reduction over the
        draws, measured exactly) and ``observed_se`` (its standard error: the spread
        between draws over sqrt(n_draws) and the Monte Carlo error of the variances,
        from a bootstrap of the samples, in quadrature; conservative); ``n_draws``;
        ``agrees``: ``|observed - predicted| <= sqrt(predicted_conf^2 + (1.96
        observed_se)^2)``, the prediction's interval widened for the finite draws;
        ``observed_reported``, ``observed_reported_se`` (the same with the
        reported-level residual spread, NaN without ``reported``); ``metric``.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer (got {k!r})")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 2 \
            or n_draws & (n_draws - 1):
        raise ValueError(f"n_draws must be a power of 2, at least 2 (got {n_draws!r})")
    r = resolve(run_or_dataset)
    require_provenance(r.dataset, "the proof of the data-collection priorities")
    model, space, run = r.model, r.space, r.run
    if metric not in model.metric_names:
        raise ValueError(f"unknown metric {metric!r}; metrics are: "
                         f"{', '.join(model.metric_names)}")
    mc_seed = resolve_seed("proof()", seed, run.montecarlo.seed if run else None)
    n = samples or (run.montecarlo.samples if run else 20_000)
    sampler = run.montecarlo.sampler if run else "philox"
    if table is None:
        se = run.sensitivity if run else None
        table = priorities_model(
            model, space, n_base or (se.n_base if se else 1024),
            seed=se.seed if se else mc_seed, scenario=r.baseline, metrics=[metric],
            num_resamples=se.num_resamples if se else 100,
            conf_level=se.conf_level if se else 0.95,
            ci_method=se.ci_method if se else "normal").frame
    top = table[(table["metric"] == metric) & (table["unit"] == SITE)]
    top = top.sort_values("rank", kind="stable").head(k)
    units = priority_units(space)
    names = space.table["name"].tolist()
    index = {nm: j for j, nm in enumerate(names)}
    col = model.metric_names.index(metric)

    def samples_of(sp: ParameterSpace) -> np.ndarray:
        return _metric_samples(model, sp, mc_seed, n, r.baseline, sampler, col)

    y0 = samples_of(space)
    modes = (False, True) if reported else (False,)
    rows = []
    for i, rec in enumerate(top.to_dict("records")):
        group = f"site {rec['id']}"
        if group not in units.groups:
            raise ValueError(f"the priorities table names site {rec['id']!r}, which has no "
                             "non-reported uncertain parameter in this run")
        cols = [index[nm] for nm in units.groups[group]]
        ys = np.empty((len(modes), n_draws, n))
        draws = rng.sobol_points(n_draws, len(cols), seed=draw_seed + i)
        for d, u in enumerate(draws):
            x = [float(space.dists[j].ppf(np.array([uj]))[0]) for j, uj in zip(cols, u,
                                                                               strict=True)]
            for i, residual in enumerate(modes):
                over = {names[j]: measured_override(space, j, xj, residual=residual)
                        for j, xj in zip(cols, x, strict=True)}
                ys[i, d] = samples_of(build_space(run, r.dataset, model, extra_overrides=over))
        obs, obs_se = _observed(ys[0], y0, num_resamples, draw_seed)
        rep, rep_se = _observed(ys[1], y0, num_resamples, draw_seed) if reported \
            else (math.nan, math.nan)
        pred, conf = float(rec["variance_reduction"]), float(rec["variance_reduction_conf"])
        agrees = abs(obs - pred) <= math.sqrt(conf ** 2 + (1.96 * obs_se) ** 2)
        rows.append((str(rec["id"]), pred, conf, obs, obs_se, n_draws, bool(agrees), rep,
                     rep_se, metric))
    return pd.DataFrame(rows, columns=list(PROOF_COLUMNS))
