"""Calibration: named knobs fitted to published targets on the nominal model.

A run file's ``[calibration]`` section names *knobs* and *targets*
(:class:`~uncertainty.config.CalibrationConfig`). A knob moves a set of inputs, named as
in ``[overrides]`` (parameter names or shell patterns): ``mode = "scale"`` multiplies
each by the knob's value, ``mode = "set"`` puts each at it. A share of a share group
(``supply[copper,CHN]``, ``battery_mix[LFP]``) that a knob moves is pinned and the
group's other shares are rescaled to keep the sum 1; a co-product site's rows keep one
stripping ratio (the lead row's). A target is a metric of the baseline at nominal inputs,
or with ``scenario`` the relative change (scenario - baseline) / baseline of a metric
(negative for a reduction), and holds when it lies in its band ``[low, high]``.

The fit works in band units: a target's misfit is

.. math:: d_i = (a_i - v_i) / h_i,

with :math:`h_i` the distance from the value to the band edge on the side of the
achieved value :math:`a_i`, so :math:`|d_i| \\le 1` is "holds". Two bounded least-squares
fits (:func:`scipy.optimize.least_squares`, trust-region reflective, knobs rescaled to
[0, 1] within their bounds):

1. the weighted misfits :math:`w_i d_i` (the targets' central values), then, from there,
2. the *minimum-violation fit*: the violations :math:`w_i \\max(0, |d_i| - 1)`, with
   :math:`10^{-3} w_i d_i` added so that among the fits that hold every target it picks
   the one nearest the central values.

The second is the reported fit. Where targets fail there, :func:`calibrate` also reports

* the **conflicts**: for each failing target, the fit that pushes it (its weight times
  10,000) and what that costs every other target (the rise of its violation, in band
  units), with the knob bounds active there: a bound at which a failing target stops
  is the bound that keeps it from holding;
* the **profile** of each knob: with the other knobs at the fit, the range of the knob
  within its bounds over which every target that holds at the fit still holds, and the
  target that stops each end (none where the range reaches the knob's bound). A target
  the fit leaves at its band edge pins every knob that moves it: the profile is then the
  single fitted value, stopped by that target.

The nominal model is the compiled kernel at the parameter space's nominal inputs
(:meth:`~uncertainty.scenarios.ScenarioPlan.nominal`), well under a millisecond per
evaluation on the default dataset, so a fit of ten knobs takes a few seconds.
:func:`calibrated_tables` turns a fit into the changed cells of the dataset's tables
(``uncertainty calibrate --apply DIR`` writes them as a calibrated copy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq, least_squares

from uncertainty.config import ConfigError, KnobConfig, RunConfig, TargetConfig
from uncertainty.data import Dataset, raw_cells
from uncertainty.errors import UserError
from uncertainty.model import Model, evaluate
from uncertainty.resolve import model_for
from uncertainty.scenarios import BASELINE, plan_scenarios
from uncertainty.space import ParameterSpace, build_space, override_rows, wildcard

__all__ = [
    "CONFLICT_COLUMNS",
    "KNOB_COLUMNS",
    "TARGET_COLUMNS",
    "Calibration",
    "CalibrationProblem",
    "calibrate",
    "calibrated_files",
    "calibrated_tables",
    "fitted_run",
    "nominal_targets",
    "target_values",
]

#: Columns of ``calibration.csv``.
KNOB_COLUMNS = ("knob", "value", "low", "high", "at_bound", "profile_low", "profile_high",
                "profile_low_by", "profile_high_by", "mode", "start", "inputs", "n_inputs",
                "source")
#: Columns of ``calibration_targets.csv``.
TARGET_COLUMNS = ("target", "value", "band", "band_low", "band_high", "achieved", "holds",
                  "misfit", "violation", "weight", "metric", "scenario", "source")
#: Columns of ``calibration_conflicts.csv``: pushing ``target`` to hold costs ``other``.
CONFLICT_COLUMNS = ("target", "other", "target_holds_when_pushed", "target_achieved_when_pushed",
                    "other_achieved_at_fit", "other_achieved_when_pushed",
                    "other_violation_at_fit", "other_violation_when_pushed", "cost",
                    "active_bounds")

_HOLD_TOL = 1e-4  # band units: a target this far past its band edge still holds
_PUSH = 1e4  # weight factor on the violation of the target pushed in the conflict fits
_AT_BOUND = 1e-4  # share of a knob's range within which it is at its bound
_CENTRE = 1e-3  # weight of the central misfit in the minimum-violation fit
_SYSTEMATIC = "systematic"


def target_values(metrics: Mapping[str, np.ndarray], metric_index: Mapping[str, int],
                  targets: Any) -> np.ndarray:
    """Each target's value from set name -> metrics (``BASELINE`` and the scenarios):
    the baseline metric, or a scenario's (scenario - baseline) / baseline."""
    base = metrics[BASELINE]
    out = np.empty(len(targets))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, t in enumerate(targets):
            j = metric_index[t.metric]
            out[i] = base[j] if t.scenario is None else \
                (metrics[t.scenario][j] - base[j]) / base[j]
    return out


def nominal_targets(run: RunConfig, ds: Dataset, model: Model) -> np.ndarray:
    """The run's calibration targets on the dataset as it is (no knob moved)."""
    space = build_space(run, ds, model)
    nominal = plan_scenarios(run, ds, model, space).nominal()
    index = {m: i for i, m in enumerate(model.metric_names)}
    return target_values(nominal, index, run.calibration.targets)


@dataclass(frozen=True)
class _Knob:
    config: KnobConfig
    rows: np.ndarray  # space rows the knob moves
    start: float


class CalibrationProblem:
    """A run's knobs and targets on its nominal model (baseline and scenario passes).

    Parameters
    ----------
    run : RunConfig
        With a ``[calibration]`` section.
    ds, model : the run's dataset and model
    space : ParameterSpace, optional
        The run's parameter space (built when not given).

    Raises
    ------
    ConfigError
        A knob matches no input or a systematic factor, its bounds let a share group
        sum above 1, or a target names an unknown metric or is not finite at the start.
    """

    def __init__(self, run: RunConfig, ds: Dataset, model: Model,
                 space: ParameterSpace | None = None) -> None:
        file = run.path or run.name
        cal = run.calibration
        if not cal.knobs or not cal.targets:
            raise ConfigError(file, "calibration", "needs at least one knob "
                              "([[calibration.knobs]]) and one target ([[calibration.targets]])")
        self.run, self.ds, self.model = run, ds, model
        self.space = space or build_space(run, ds, model)
        plan = plan_scenarios(run, ds, model, self.space)
        self.plan = plan
        names = self.space.table["name"].tolist()
        base = self.space.nominal
        self.metric_index = {m: i for i, m in enumerate(model.metric_names)}
        for i, t in enumerate(cal.targets):
            if t.metric not in self.metric_index:
                raise ConfigError(file, f"calibration.targets[{i}].metric",
                                  "names no metric of the model (e.g. hidden_flows_mt, "
                                  "hidden_abroad_share, nev_to_icev_hidden_ratio)", t.metric)
        kinds = self.space.table["level"].tolist()
        run_overridden = override_rows(self.space, run.overrides)
        n_g = self.space.n_globals
        lead = np.asarray(model.mine_lead)
        follow = np.flatnonzero(lead != np.arange(len(lead)))
        follow_rows = (n_g + 3 * follow + 1, n_g + 3 * lead[follow] + 1)
        self._follow = follow_rows
        self.knobs: list[_Knob] = []
        for i, k in enumerate(cal.knobs):
            rows: set[int] = set()
            for pattern in k.inputs:
                rx = wildcard(pattern)
                hits = [j for j, nm in enumerate(names) if rx.fullmatch(nm)]
                if not hits:
                    raise ConfigError(file, f"calibration.knobs[{i}].inputs",
                                      "matches no input of the run (names look like "
                                      "'grid_hf_kg_per_kwh', 'supply[iron,CHN]', "
                                      "'stripping_ratio[CU-*]')", pattern)
                sys_hits = [names[j] for j in hits if kinds[j] == _SYSTEMATIC]
                if sys_hits:
                    raise ConfigError(file, f"calibration.knobs[{i}].inputs",
                                      f"matches the systematic factor '{sys_hits[0]}', which "
                                      "has no value in the dataset; move the mines' values "
                                      "(e.g. 'stripping_ratio[CU-*]')", pattern)
                rows.update(hits)
            fixed = sorted(rows & run_overridden)
            if fixed:
                raise ConfigError(file, f"calibration.knobs[{i}].inputs",
                                  f"moves '{names[fixed[0]]}', which the run's [overrides] "
                                  "sets; calibrate the dataset's value without the override",
                                  k.name)
            for f_row, l_row in zip(*follow_rows, strict=True):
                if f_row in rows and l_row not in rows:
                    raise ConfigError(file, f"calibration.knobs[{i}].inputs",
                                      f"moves '{names[f_row]}', a co-product row that takes "
                                      f"its site's stripping ratio; move the lead row "
                                      f"'{names[l_row]}'", k.name)
            r = np.array(sorted(rows), dtype=np.int64)
            if k.start is not None:
                start = k.start
            elif k.mode == "scale":
                start = 1.0
            else:
                start = float(np.mean(base[r]))
            self.knobs.append(_Knob(k, r, min(max(start, k.low), k.high)))
        self.targets: tuple[TargetConfig, ...] = cal.targets
        self.low = np.array([k.config.low for k in self.knobs])
        self.high = np.array([k.config.high for k in self.knobs])
        self._groups = self._share_groups(file)
        self._check_limits(file)
        # each pass: (model, base vector, switches, set names, rows its scenario overrides)
        scenarios = {s.name: s for s in run.scenarios}
        self._passes = []
        for (pm, sp, switches), set_names in zip(plan.passes, plan.names, strict=True):
            own = np.zeros(0, dtype=np.int64)
            if sp is not self.space:
                own = np.array(sorted(override_rows(sp, scenarios[set_names[0]].overrides)),
                               dtype=np.int64)
            self._passes.append((pm, sp.nominal.copy(), switches, set_names, own))
        self.n_evaluations = 0
        a0 = self.achieved(np.array([k.start for k in self.knobs]))
        for i in np.flatnonzero(~np.isfinite(a0)):
            raise ConfigError(file, f"calibration.targets[{i}]", "is not a finite number at "
                              "the knobs' start (the metric is undefined for this dataset, or "
                              "its baseline is 0)", self.targets[i].name)

    # ---------------------------------------------------------------- the model
    def _share_groups(self, file: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """(moved rows, other rows) of every share group a knob moves; refuses bounds
        that let the moved shares sum above 1."""
        table = self.space.table
        groups = table["group"].to_numpy()
        moved = set(np.concatenate([k.rows for k in self.knobs]).tolist())
        out = []
        for g in sorted({str(groups[j]) for j in moved} - {""}):
            members = np.flatnonzero(groups == g)
            m = np.array([j for j in members if j in moved], dtype=np.int64)
            o = np.array([j for j in members if j not in moved], dtype=np.int64)
            for i, k in enumerate(self.knobs):
                if np.isin(k.rows, members).any() and k.config.low < 0:
                    raise ConfigError(file, f"calibration.knobs[{i}].bounds", f"moves shares of "
                                      f"'{g}': low must be >= 0", [k.config.low, k.config.high])
            if not len(o) or not self.space.nominal[o].sum() > 0:
                raise ConfigError(file, "calibration.knobs", f"the knobs move every share of "
                                  f"'{g}' with a nonzero share, so renormalising the group to 1 "
                                  "would undo them; leave at least one share free", g)
            top = self._vector(self.high, self.space.nominal, renorm=False)[m].sum()
            if top >= 1.0:
                names = [self.knobs[i].config.name for i in range(len(self.knobs))
                         if np.isin(self.knobs[i].rows, members).any()]
                raise ConfigError(file, "calibration.knobs", f"at their upper bounds the knobs "
                                  f"{', '.join(names)} put the moved shares of '{g}' at "
                                  f"{top:.4g}, above 1", None)
            out.append((m, o))
        return out

    def _check_limits(self, file: Any) -> None:
        """Refuse knob bounds that move an input outside what its table allows (a grade,
        recovery or share above 1, a negative value, a battery mode outside its
        vehicle's minimum and maximum), each knob at either bound, the others at start."""
        table = self.space.table
        kinds, names = table["kind"].tolist(), table["name"].tolist()
        fleet = self.ds.tables["fleet"].set_index("vehicle")
        start = np.array([k.start for k in self.knobs])
        for i, k in enumerate(self.knobs):
            for side, xk in (("low", k.config.low), ("high", k.config.high)):
                x = start.copy()
                x[i] = xk
                v = self._vector(x, self.space.nominal, renorm=False)
                for j in k.rows.tolist():
                    lo, hi = 0.0, math.inf
                    if kinds[j] in ("grade", "recovery", "supply_share", "battery_mix"):
                        hi = 1.0
                    if kinds[j] == "battery_kwh":
                        veh = names[j][len("battery_kwh["):-1]
                        lo = float(fleet.at[veh, "battery_kwh_min"])
                        hi = float(fleet.at[veh, "battery_kwh_max"])
                    if not lo <= v[j] <= hi:
                        raise ConfigError(
                            file, f"calibration.knobs[{i}].bounds", f"at its {side} bound the "
                            f"knob puts '{names[j]}' at {v[j]:.6g}, outside [{lo:g}, {hi:g}] "
                            "(its table's rule)", [k.config.low, k.config.high])

    def _vector(self, x: np.ndarray, base: np.ndarray, *, renorm: bool = True,
                keep: np.ndarray | None = None) -> np.ndarray:
        v = base.copy()
        for k, xk in zip(self.knobs, x, strict=True):
            if k.config.mode == "scale":
                v[k.rows] *= xk
            else:
                v[k.rows] = xk
        if keep is not None and len(keep):
            v[keep] = base[keep]
        if renorm:
            for m, o in self._groups:  # the free shares keep their proportions
                v[o] = base[o] * (1.0 - v[m].sum()) / base[o].sum()
            v[self._follow[0]] = v[self._follow[1]]
        return v

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """The baseline's nominal input vector (the space's layout) at knob values ``x``."""
        return self._vector(np.asarray(x, float), self.space.nominal)

    def metrics(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Set name (``BASELINE`` and each scenario) -> every metric at knob values ``x``."""
        self.n_evaluations += 1
        out: dict[str, np.ndarray] = {}
        n_g = self.space.n_globals
        for pm, base, switches, set_names, own in self._passes:
            v = self._vector(np.asarray(x, float), base, keep=own)
            mine = v[n_g:].reshape(-1, 3)
            g, s, r = mine[:, 0][None], mine[:, 1][None], mine[:, 2][None]
            for sw, name in zip(switches, set_names, strict=True):
                out[name] = evaluate(pm, g, s, r, v[None, :n_g], scenario=sw)[0]
        return out

    def achieved(self, x: np.ndarray) -> np.ndarray:
        """Each target's achieved value at knob values ``x``."""
        return target_values(self.metrics(x), self.metric_index, self.targets)

    def misfit(self, a: np.ndarray) -> np.ndarray:
        """Band-unit misfits :math:`d_i` of achieved values ``a`` (NaN: inf)."""
        v = np.array([t.value for t in self.targets])
        lo = np.array([t.low for t in self.targets])
        hi = np.array([t.high for t in self.targets])
        d = np.where(a >= v, (a - v) / (hi - v), (a - v) / (v - lo))
        return np.nan_to_num(d, nan=np.inf)

    # ----------------------------------------------------------------- the fits
    def _x(self, z: np.ndarray) -> np.ndarray:
        return self.low + np.clip(z, 0.0, 1.0) * (self.high - self.low)

    def _z(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, float) - self.low) / (self.high - self.low)

    def fit(self, x0: np.ndarray | None = None, push: int | None = None) -> np.ndarray:
        """Minimum-violation knob values, from a central least-squares fit at ``x0``
        (default: the knobs' starts). ``push``: the index of a target whose violation
        weighs 10,000 times more, fitted from ``x0`` directly (a conflict fit)."""
        w = np.array([t.weight for t in self.targets])
        wv = w.copy()
        if push is not None:
            wv[push] *= _PUSH
        z0 = np.clip(self._z(np.array([k.start for k in self.knobs]) if x0 is None else x0),
                     0.0, 1.0)

        def central(z: np.ndarray) -> np.ndarray:
            return w * self.misfit(self.achieved(self._x(z)))

        def violation(z: np.ndarray) -> np.ndarray:
            d = self.misfit(self.achieved(self._x(z)))
            return np.concatenate([wv * np.maximum(np.abs(d) - 1.0, 0.0), _CENTRE * w * d])

        opts: dict[str, Any] = {"bounds": (0.0, 1.0), "method": "trf", "xtol": 1e-12,
                                "ftol": 1e-12, "gtol": 1e-12, "diff_step": 1e-7,
                                "max_nfev": 200 * (len(z0) + 1)}
        z1 = least_squares(central, z0, **opts).x if push is None else z0
        z2 = least_squares(violation, z1, **opts).x
        return self._x(z2)

    def holds(self, d: np.ndarray) -> np.ndarray:
        return np.abs(d) <= 1.0 + _HOLD_TOL

    def at_bound(self, x: np.ndarray) -> list[str]:
        """'low', 'high' or '' per knob."""
        span = self.high - self.low  # the fit stops within xtol of a bound, not on it
        return ["low" if xi - lo <= _AT_BOUND * s else "high" if hi - xi <= _AT_BOUND * s
                else ""
                for xi, lo, hi, s in zip(x, self.low, self.high, span, strict=True)]

    def profile(self, x: np.ndarray, k: int, n_steps: int = 64
                ) -> tuple[float, float, str, str]:
        """Range of knob ``k`` (others at ``x``) over which every target holding at ``x``
        still holds, and the target that stops each end ('' at a knob bound): walks
        ``n_steps`` steps to each bound, then refines the first step that breaks one
        with Brent's method."""
        d0 = self.misfit(self.achieved(x))
        holding = self.holds(d0)
        if not holding.any():
            return float(self.low[k]), float(self.high[k]), "", ""
        # the band edge; a target the fit leaves a hair past it (within the tolerance)
        # may stay as far past
        level = np.maximum(np.abs(d0[holding]), 1.0)

        names = [t.name for t, h in zip(self.targets, holding, strict=True) if h]

        def excess(xk: float) -> np.ndarray:
            y = x.copy()
            y[k] = xk
            return np.abs(self.misfit(self.achieved(y))[holding]) - level  # NaN: inf

        def slack(xk: float) -> float:
            return float(np.max(excess(xk)))

        ends: list[float] = []
        by: list[str] = []
        for bound in (self.low[k], self.high[k]):
            prev, end, stop = float(x[k]), float(bound), ""
            for xk in np.linspace(x[k], bound, n_steps + 1)[1:]:
                if slack(float(xk)) > 0:
                    end = brentq(slack, prev, float(xk), xtol=1e-12 * max(1.0, abs(xk)),
                                 rtol=1e-12) if slack(prev) <= 0 else prev
                    stop = names[int(np.argmax(excess(end)))]  # the target at its edge
                    break
                prev = float(xk)
            ends.append(end)
            by.append(stop)
        return ends[0], ends[1], by[0], by[1]


@dataclass(frozen=True)
class Calibration:
    """The result of :func:`calibrate`.

    Attributes
    ----------
    knobs : pandas.DataFrame
        :data:`KNOB_COLUMNS`, one row per knob (``calibration.csv``).
    targets : pandas.DataFrame
        :data:`TARGET_COLUMNS`, one row per target (``calibration_targets.csv``).
    conflicts : pandas.DataFrame
        :data:`CONFLICT_COLUMNS` (``calibration_conflicts.csv``); empty when every target
        holds.
    values : dict
        Knob name -> fitted value.
    inputs : numpy.ndarray
        The baseline's nominal input vector at the fit (the space's layout).
    problem : CalibrationProblem
    """

    knobs: pd.DataFrame
    targets: pd.DataFrame
    conflicts: pd.DataFrame
    values: Mapping[str, float]
    inputs: np.ndarray
    problem: CalibrationProblem

    @property
    def all_hold(self) -> bool:
        return bool(self.targets["holds"].all())


def fitted_run(run: RunConfig) -> RunConfig:
    """The run whose dataset the calibration fits: ``calibration.dataset`` when the run
    file names one (an uncalibrated dataset), else the run itself."""
    folder = run.calibration.dataset
    return run if folder is None else replace(run, dataset=folder)


def calibrate(run: RunConfig, ds: Dataset | None = None, model: Model | None = None, *,
              profiles: bool = True) -> Calibration:
    """Fit the run's ``[calibration]`` knobs to its targets (see the module docs).

    Parameters
    ----------
    run : RunConfig
    ds, model : Dataset and Model, optional
        The dataset fitted and its model (loaded with
        :func:`~uncertainty.resolve.model_for` from :func:`fitted_run` when not given).
    profiles : bool
        Compute each knob's profile (``profile_low``, ``profile_high``; NaN without).

    Returns
    -------
    Calibration
    """
    if ds is None or model is None:
        run = fitted_run(run)
        ds, model = model_for(run)
    p = CalibrationProblem(run, ds, model)
    x = p.fit()
    a = p.achieved(x)
    d = p.misfit(a)
    hold = p.holds(d)
    viol = np.maximum(np.abs(d) - 1.0, 0.0)
    bound = p.at_bound(x)
    prof = [p.profile(x, k) if profiles else (math.nan, math.nan, "", "")
            for k in range(len(p.knobs))]
    knobs = pd.DataFrame([
        (k.config.name, float(xi), k.config.low, k.config.high, b, lo, hi, by_lo, by_hi,
         k.config.mode, k.start, "; ".join(k.config.inputs), len(k.rows), k.config.source)
        for k, xi, b, (lo, hi, by_lo, by_hi) in zip(p.knobs, x, bound, prof, strict=True)],
        columns=list(KNOB_COLUMNS))
    targets = pd.DataFrame([
        (t.name, t.value, (t.high - t.low) / 2, t.low, t.high, float(ai), bool(h), float(di),
         float(vi), t.weight, t.metric, t.scenario or "", t.source)
        for t, ai, h, di, vi in zip(p.targets, a, hold, d, viol, strict=True)],
        columns=list(TARGET_COLUMNS))
    conflicts = _conflicts(p, x, a, viol, hold)
    return Calibration(knobs, targets, conflicts,
                       {k.config.name: float(xi) for k, xi in zip(p.knobs, x, strict=True)},
                       p.inputs(x), p)


def _conflicts(p: CalibrationProblem, x: np.ndarray, a: np.ndarray, viol: np.ndarray,
               hold: np.ndarray) -> pd.DataFrame:
    rows = []
    for i in np.flatnonzero(~hold):
        xp = p.fit(x0=x, push=int(i))
        ap = p.achieved(xp)
        dp = p.misfit(ap)
        vp = np.maximum(np.abs(dp) - 1.0, 0.0)
        active = "; ".join(f"{k.config.name}={b}" for k, b in zip(p.knobs, p.at_bound(xp),
                                                                   strict=True) if b)
        for j in range(len(p.targets)):
            cost = vp[j] - viol[j]
            if j == i or cost <= _HOLD_TOL:
                continue
            rows.append((p.targets[i].name, p.targets[j].name, bool(p.holds(dp[i:i + 1])[0]),
                         float(ap[i]), float(a[j]), float(ap[j]), float(viol[j]), float(vp[j]),
                         float(cost), active))
    return pd.DataFrame(rows, columns=list(CONFLICT_COLUMNS))


# ------------------------------------------------------------ the calibrated copy
#: kind of a space row -> (table, value columns); :func:`_key` finds the row
_CELLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "grade": ("mines", ("grade",)),
    "stripping_ratio": ("mines", ("stripping_ratio",)),
    "recovery": ("mines", ("mill_recovery",)),
    "supply_share": ("supply", ("share",)),
    "energy": ("metals", ("energy_kwh_per_t",)),
    "grid_hf_kg_per_kwh": ("globals", ("value",)),
    "coal_used_kg_per_kwh": ("globals", ("value",)),
    "battery_pack_factor": ("globals", ("value",)),
    "vehicle_content": ("vehicles", ("content_kg",)),
    "battery_kwh": ("fleet", ("battery_kwh_mode",)),  # min and max stay
    "battery_mix": ("battery_mix", ("share",)),
    "fleet_count": ("fleet", ("count",)),
    "price": ("metals", ("price_usd_per_t",)),
}


def _key(row: Any) -> dict[str, str]:
    """The key cells of a space row's table row."""
    kind, name = str(row["kind"]), str(row["name"])
    inside = name[name.find("[") + 1:-1].split(",") if "[" in name else []
    if kind in ("grade", "stripping_ratio", "recovery"):
        return {"mine_id": str(row["mine"])}
    if kind == "supply_share":
        return {"metal": inside[0], "country": inside[1]}
    if kind in ("energy", "price"):
        return {"metal": inside[0]}
    if kind == "vehicle_content":
        return {"vehicle": inside[0], "metal": inside[1]}
    if kind in ("battery_kwh", "fleet_count"):
        return {"vehicle": inside[0]}
    if kind == "battery_mix":
        return {"chemistry": inside[0]}
    return {"parameter": name}


def calibrated_files(cal: Calibration) -> dict[str, bytes]:
    """:func:`calibrated_tables` as the bytes of their CSV files."""
    return {name: df.to_csv(index=False, lineterminator="\n").encode("utf-8")
            for name, df in calibrated_tables(cal).items()}


def _fmt(v: float) -> str:
    return f"{v:.10g}"


def calibrated_tables(cal: Calibration) -> dict[str, pd.DataFrame]:
    """The dataset's tables that the fit changes, as cells (strings) ready to write:
    file name -> table. Every other cell is as in the file. A moved value whose cell is
    blank in the file (filled on import) is refused: only given values are rewritten.

    Raises
    ------
    UserError
        A moved value is blank in its file, or has no row there.
    """
    p = cal.problem
    base, new = p.space.nominal, cal.inputs
    changed = np.flatnonzero(~np.isclose(new, base, rtol=1e-13, atol=0.0))
    table = p.space.table
    raws: dict[str, pd.DataFrame] = {}
    folder = Path(p.ds.path)
    followers = set(p._follow[0].tolist())
    for j in changed.tolist():
        row = table.iloc[j]
        tname, cols = _CELLS[str(row["kind"])]
        file = folder / f"{tname}.csv"
        if tname not in raws:
            raws[tname] = raw_cells(file)
        raw = raws[tname]
        key = _key(row)
        sel = np.ones(len(raw), dtype=bool)
        for c, v in key.items():
            sel &= raw[c].str.strip().to_numpy() == v
        hit = np.flatnonzero(sel)
        what = ", ".join(f"{c}={v}" for c, v in key.items())
        if len(hit) != 1:
            raise UserError(f"{file}: no single row with {what} for the calibrated input "
                            f"'{row['name']}'; --apply rewrites given rows only")
        i = int(hit[0])
        ratio = new[j] / base[j] if base[j] != 0 else math.nan
        for c in cols:
            cell = str(raw.at[i, c]).strip()
            if cell == "" and j in followers:
                continue  # the site's other rows take the lead row's stripping ratio
            if cell == "":
                raise UserError(f"{file}: row {i + 2} ({what}), column '{c}': blank (filled "
                                f"on import), but the knob moves '{row['name']}'; --apply "
                                "rewrites given values only: give the value or narrow the "
                                "knob's inputs")
            raw.at[i, c] = _fmt(float(cell) * ratio if base[j] != 0 else new[j])
    return {f"{k}.csv": v for k, v in raws.items()}
