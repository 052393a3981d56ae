"""Scenarios: baseline vs scenario on common random numbers.

A scenario changes switches (the recycled share of a metal, the LFP share of the
battery mix, the clean-energy factor of smelting and refining), may override any
input's value or distribution (``overrides = {name = {dist = ...}}`` in the run file)
and may set the allocation rule of co-product sites (``allocation = "mass"``).

Every scenario is evaluated on the same random numbers as the baseline: sample ``i``
draws each parameter from the counter ``(seed, i, parameter index)`` whatever the
scenario, so an input the scenario leaves alone has the same value in sample ``i`` of
both, and an overridden input maps the same uniform through its new ppf. The reduction
of a metric is computed sample by sample,

.. math::

    r_i = (x_i - b_i) / b_i,

and summarised by its mean and 2.5 / 97.5 percentiles: a *paired* interval. The input
uncertainty that the baseline and the scenario share cancels in :math:`r_i`, so the
paired interval is far narrower than one built from two independent runs (``compare``
with a different seed for the scenario shows it; ``tests/test_scenarios.py`` checks it).

Switch-only scenarios reuse the baseline's per-mine sums in the same kernel pass;
scenarios with overrides or another allocation rule run a pass of their own (same seed
and counters) on their own parameter space and model. This module holds no I/O: the pipeline hands it a column reader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from uncertainty import outputs
from uncertainty.metrics import scenario_metric_names
from uncertainty.model import Model, Scenario, build_model, evaluate
from uncertainty.montecarlo import evaluate_chunk
from uncertainty.resolve import model_for
from uncertainty.space import ParameterSpace, build_space

__all__ = [
    "BASELINE",
    "SCENARIO_COLUMNS",
    "ScenarioPlan",
    "compare",
    "nominal_table",
    "paired_samples",
    "plan_scenarios",
    "reduction",
    "scenario_metrics",
    "scenario_table",
]

#: Key of the baseline in a plan and in :func:`paired_samples` (not a valid scenario
#: name, so it never collides; on disk the baseline is ``samples.parquet``).
BASELINE = "<baseline>"

#: Columns of ``scenarios.csv``: the public contract, then the reduction at nominal inputs.
SCENARIO_COLUMNS = (*outputs.SCENARIOS.columns, "reduction_nominal")


def scenario_metrics(model: Model) -> list[str]:
    """Headline, per-metal hidden-flow and per-vehicle metrics (what scenarios.csv reports)."""
    return scenario_metric_names(model.metals, model.vehicles)


@dataclass(frozen=True)
class ScenarioPlan:
    """How a run's baseline and scenarios are evaluated: one or more kernel passes.

    Attributes
    ----------
    passes : tuple of (Model, ParameterSpace, tuple of Scenario)
        Pass 0 is the run's model and parameter space with the baseline switches followed
        by every switch-only scenario; each scenario with overrides or another allocation
        rule adds a pass on its own model (:func:`~uncertainty.model.build_model` with its
        rule) and space with its own switches. All passes use the same seed and sample
        indices, and their spaces the same counters.
    names : tuple of tuple of str
        The name of each switch set of each pass (``BASELINE`` first).
    """

    passes: tuple[tuple[Model, ParameterSpace, tuple[Scenario, ...]], ...]
    names: tuple[tuple[str, ...], ...]

    @property
    def scenario_names(self) -> list[str]:
        """Scenario names in run-file order of evaluation (baseline excluded)."""
        return [n for names in self.names for n in names if n != BASELINE]

    def nominal(self, model: Model | None = None) -> dict[str, np.ndarray]:
        """Name -> all metrics at nominal inputs (the pass's model and space, the set's
        switches; ``model`` is not needed and kept for callers that pass it)."""
        out: dict[str, np.ndarray] = {}
        for (pm, space, switches), names in zip(self.passes, self.names, strict=True):
            g, s, r, glob = space.nominal_inputs()
            for sw, name in zip(switches, names, strict=True):
                out[name] = evaluate(pm, g, s, r, glob, scenario=sw)[0]
        return out

    def split(self, arrays: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Name -> (count, n_metrics) from the per-pass arrays of one chunk."""
        out: dict[str, np.ndarray] = {}
        for arr, names in zip(arrays, self.names, strict=True):
            for k, name in enumerate(names):
                out[name] = arr[k]
        return out


def plan_scenarios(run: Any, ds: Any, model: Model, space: ParameterSpace) -> ScenarioPlan:
    """The evaluation plan of a run's baseline and scenarios.

    Builds the parameter space of every scenario with overrides or its own allocation
    rule, so an override naming an unknown input or an invalid distribution raises
    :class:`~uncertainty.space.SpaceError` here, before anything is computed or written.
    """
    run_alloc = getattr(run, "allocation", "economic")

    def own(s: Any) -> bool:
        return bool(s.overrides) or (getattr(s, "allocation", None) or run_alloc) != run_alloc

    plain = [s for s in run.scenarios if not own(s)]
    passes = [(model, space, (run.baseline, *(s.switches for s in plain)))]
    names = [(BASELINE, *(s.name for s in plain))]
    for s in run.scenarios:
        if own(s):
            alloc = getattr(s, "allocation", None) or run_alloc
            sm = model if alloc == run_alloc else build_model(ds, allocation=alloc,
                                                               domestic=model.domestic)
            sp = build_space(run, ds, sm, extra_overrides=s.overrides)
            if sp.table["name"].tolist() != space.table["name"].tolist():
                raise RuntimeError("scenario space differs from the baseline's")  # a bug
            passes.append((sm, sp, (s.switches,)))
            names.append((s.name,))
    return ScenarioPlan(tuple(passes), tuple(names))


def reduction(base: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Relative change ``(x - base) / base`` element-wise (NaN where base is 0)."""
    base = np.asarray(base, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (x - base) / base
    return np.where(base != 0, r, np.nan)


def _row(name: str, metric: str, nominal: float, base_nominal: float, x: np.ndarray,
         base: np.ndarray) -> tuple:
    red = reduction(base, x)
    q = np.quantile(x, [0.025, 0.975])
    rq = np.nanquantile(red, [0.025, 0.975]) if np.isfinite(red).any() else [np.nan] * 2
    red_mean = float(np.nanmean(red)) if np.isfinite(red).any() else np.nan
    return (name, metric, float(nominal), float(np.mean(x)), float(q[0]), float(q[1]),
            red_mean, float(rq[0]), float(rq[1]),
            float(reduction(np.array([base_nominal]), np.array([nominal]))[0]))


def scenario_table(read: Callable[[str, str], np.ndarray], plan: ScenarioPlan, model: Model,
                   metrics: Sequence[str], nominal: dict[str, np.ndarray] | None = None
                   ) -> pd.DataFrame:
    """scenarios.csv from per-sample columns, one metric at a time (memory ~ two columns).

    Parameters
    ----------
    read : callable ``(name, metric) -> ndarray (n,)``
        Per-sample values of a metric for the baseline (``name == BASELINE``) or a
        scenario, in sample order.
    plan : ScenarioPlan
    model : Model
    metrics : sequence of str
        Metrics to report.
    nominal : dict, optional
        ``plan.nominal(model)`` if already computed.

    Returns
    -------
    pandas.DataFrame
        ``SCENARIO_COLUMNS``, rows by scenario (run-file order), then metric.
    """
    nominal = nominal if nominal is not None else plan.nominal(model)
    idx = {m: model.metric_names.index(m) for m in metrics}
    rows: dict[str, list[tuple]] = {n: [] for n in plan.scenario_names}
    for m in metrics:
        base = read(BASELINE, m)
        for name in plan.scenario_names:
            rows[name].append(_row(name, m, nominal[name][idx[m]], nominal[BASELINE][idx[m]],
                                   read(name, m), base))
    return pd.DataFrame([r for n in plan.scenario_names for r in rows[n]],
                        columns=list(SCENARIO_COLUMNS))


def nominal_table(plan: ScenarioPlan, model: Model, metrics: Sequence[str] | None = None
                  ) -> pd.DataFrame:
    """scenarios.csv of a deterministic run: nominal values and reductions only."""
    nominal = plan.nominal(model)
    names = model.metric_names if metrics is None else metrics
    rows = []
    for name in plan.scenario_names:
        for m in names:
            j = model.metric_names.index(m)
            b, v = nominal[BASELINE][j], nominal[name][j]
            rows.append((name, m, float(v), *([np.nan] * 6),
                         float(reduction(np.array([b]), np.array([v]))[0])))
    return pd.DataFrame(rows, columns=list(SCENARIO_COLUMNS))


def _prepared(run: Any) -> tuple[Model, ScenarioPlan]:
    ds, model = model_for(run)
    return model, plan_scenarios(run, ds, model, build_space(run, ds, model))


def _samples(model: Model, plan: ScenarioPlan, run: Any, n: int, seed: int,
             metrics: list[str], chunk_size: int) -> dict[str, pd.DataFrame]:
    cols = [model.metric_names.index(m) for m in metrics]
    parts: dict[str, list[np.ndarray]] = {}
    for a in range(0, n, chunk_size):
        count = min(chunk_size, n - a)
        arrays = [evaluate_chunk(pm, sp, seed, a, count, list(sw), run.montecarlo.sampler)
                  for pm, sp, sw in plan.passes]
        for name, arr in plan.split(arrays).items():
            parts.setdefault(name, []).append(arr[:, cols])
    return {name: pd.DataFrame(np.concatenate(p), columns=metrics) for name, p in parts.items()}


def _check_n(n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise ValueError(f"n must be a positive integer (got {n!r})")


def paired_samples(run: Any, n: int, *, seed: int | None = None,
                   metrics: Sequence[str] | None = None, chunk_size: int = 65_536
                   ) -> dict[str, pd.DataFrame]:
    """Per-sample metrics of the baseline and every scenario of a run, in memory.

    Parameters
    ----------
    run : RunConfig
    n : int
        Samples (positive).
    seed : int, optional
        Default: the run's Monte Carlo seed.
    metrics : sequence of str, optional
        Columns to keep (default: :func:`scenario_metrics`).
    chunk_size : int
        Samples per kernel call (results do not depend on it).

    Returns
    -------
    dict
        ``BASELINE`` and each scenario name -> DataFrame (n rows, one column per metric).
    """
    _check_n(n)
    model, plan = _prepared(run)
    metrics = list(metrics) if metrics is not None else scenario_metrics(model)
    return _samples(model, plan, run, n, run.montecarlo.seed if seed is None else seed,
                    metrics, chunk_size)


def compare(run: Any, n: int, *, seed: int | None = None,
            metrics: Sequence[str] | None = None, chunk_size: int = 65_536) -> pd.DataFrame:
    """The scenarios table of a run from ``n`` in-memory samples (no files).

    The same numbers as the ``scenarios.csv`` of ``uncertainty run`` with the same seed
    and sample count (``SCENARIO_COLUMNS``).
    """
    _check_n(n)
    model, plan = _prepared(run)
    metrics = list(metrics) if metrics is not None else scenario_metrics(model)
    samples = _samples(model, plan, run, n, run.montecarlo.seed if seed is None else seed,
                       metrics, chunk_size)
    return scenario_table(lambda name, m: samples[name][m].to_numpy(), plan, model, metrics)
