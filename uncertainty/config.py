"""Run files (TOML) -> validated, frozen run objects; the only TOML parser of the package.

A run file names the dataset, the model options, the Monte Carlo and sensitivity
settings, the scenario switches of the baseline, the scenarios to compare on common
random numbers, and distribution overrides. See ``runs/china-2019.toml`` for every key.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uncertainty.errors import UserError
from uncertainty.metrics import SENSITIVITY_DEFAULT
from uncertainty.model import ALLOCATIONS, Scenario

__all__ = [
    "RUN_KEYS",
    "CalibrationConfig",
    "ConfigError",
    "KnobConfig",
    "MonteCarloConfig",
    "RunConfig",
    "RunKey",
    "ScenarioConfig",
    "SensitivityConfig",
    "TargetConfig",
    "load_run",
    "parse_run",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SAMPLERS = ("philox", "sobol")
LEVELS = ("parameter", "mine", "metal-kind", "country", "systematic", "provenance", "custom")
CI_METHODS = ("normal", "percentile")


class ConfigError(UserError):
    """A run file breaks a rule; the message names the file, key, value and rule."""

    def __init__(self, file: str | Path, key: str, rule: str, value: object = None) -> None:
        self.file, self.key, self.rule, self.value = str(file), key, rule, value
        # "<file>": the file as a whole; "--x": a command-line option given with the file
        where = "" if key == "<file>" else (
            f"option '{key}': " if key.startswith("--") else f"key '{key}': ")
        got = "" if value is None else f" (got {value!r})"
        super().__init__(f"{file}: {where}{rule}{got}")


@dataclass(frozen=True)
class MonteCarloConfig:
    """Monte Carlo settings (``[montecarlo]``)."""

    samples: int = 1_000_000
    seed: int = 20190101
    chunk_size: int = 65_536
    sampler: str = "philox"
    per_mine: bool = True
    systematic: bool = True
    global_inputs: bool = True
    grade_stripping_correlation: float = 0.0


@dataclass(frozen=True)
class SensitivityConfig:
    """Sobol settings (``[sensitivity]``)."""

    enabled: bool = False
    n_base: int = 1024
    seed: int = 20190101
    metrics: tuple[str, ...] = SENSITIVITY_DEFAULT
    by: tuple[str, ...] = ("parameter", "mine", "metal-kind", "country", "systematic")
    num_resamples: int = 100
    conf_level: float = 0.95
    log: bool = False
    ci_method: str = "normal"
    tol: float | None = None
    max_n: int | None = None
    top: int = 20
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    second_order: bool = False
    delta: bool = False


@dataclass(frozen=True)
class ScenarioConfig:
    """One scenario (``[[scenarios]]``): switches, input overrides and the allocation
    rule of co-product sites (None: the run's)."""

    name: str
    switches: Scenario
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    allocation: str | None = None


KNOB_MODES = ("scale", "set")


@dataclass(frozen=True)
class KnobConfig:
    """One calibration knob (``[[calibration.knobs]]``): the inputs it scales or sets,
    named as in ``[overrides]`` (names or shell patterns), and its bounds."""

    name: str
    inputs: tuple[str, ...]
    low: float
    high: float
    mode: str = "scale"
    start: float | None = None
    source: str = ""


@dataclass(frozen=True)
class TargetConfig:
    """One calibration target (``[[calibration.targets]]``): a metric at nominal inputs,
    or with ``scenario`` its relative change (scenario - baseline) / baseline, and the
    band ``[low, high]`` within which it holds."""

    name: str
    metric: str
    value: float
    low: float
    high: float
    scenario: str | None = None
    weight: float = 1.0
    source: str = ""


@dataclass(frozen=True)
class CalibrationConfig:
    """Knobs and targets of ``uncertainty calibrate`` (``[calibration]``), and the
    dataset they are fitted on (None: the run's)."""

    knobs: tuple[KnobConfig, ...] = ()
    targets: tuple[TargetConfig, ...] = ()
    dataset: Path | None = None


@dataclass(frozen=True)
class RunConfig:
    """A validated run file."""

    name: str
    path: Path | None
    dataset: Path
    domestic: str = "CHN"
    dataset_source: str = ""  # how to obtain the dataset (said when its folder is absent)
    allocation: str = "economic"
    baseline: Scenario = field(default_factory=Scenario)
    montecarlo: MonteCarloConfig = field(default_factory=MonteCarloConfig)
    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)
    scenarios: tuple[ScenarioConfig, ...] = ()
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resolved: Mapping[str, Any] = field(default_factory=dict)
    report: bool = True
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)


def _pos_int(file: Path | str, key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ConfigError(file, key, "must be a positive integer", v)
    return v


def _nonneg_int(file: Path | str, key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ConfigError(file, key, "must be a non-negative integer", v)
    return v


#: Seeds are keys of the counter-based generator: ``0 <= seed < 2**64``.
SEED_RANGE = "0 <= seed < 2**64"
MAX_SEED = 2**64 - 1


def check_seed(file: Path | str, key: str, v: Any) -> int:
    """A seed as an int in ``SEED_RANGE``, or :class:`ConfigError` naming file and key."""
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SEED:
        raise ConfigError(file, key, f"must be an integer seed with {SEED_RANGE}", v)
    return v


@dataclass(frozen=True)
class RunKey:
    """One key a run file may hold: the run-file reference is generated from these.

    ``key`` is the dotted path (``montecarlo.samples``; ``scenarios[].name`` for a key of
    each ``[[scenarios]]`` table; a segment in angle brackets, ``overrides.<parameter>``,
    stands for any name). ``default`` is the value (in TOML form) a run gets when the key
    is absent, ``None`` where absence means "none"; ``default_text``, when given, is
    shown instead of it. :func:`parse_run` accepts exactly the keys listed here.
    """

    key: str
    type: str
    default: Any
    rule: str
    meaning: str
    default_text: str = ""
    required: bool = False

    @property
    def section(self) -> str:
        """The TOML table the key sits in: ``""`` (top level), ``montecarlo``,
        ``scenarios`` (each ``[[scenarios]]``), ``sensitivity.groups``, ..."""
        parent = self.key.rpartition(".")[0]
        return parent.removesuffix("[]")

    @property
    def name(self) -> str:
        """The key's own name within its table (``samples``, ``<parameter>``)."""
        return self.key.rpartition(".")[2]


_SWITCH_DOC: tuple[tuple[str, str, Any, str, str, str], ...] = (
    ("recycled_copper_share", "float", 0.0, "a number in [0, 1]",
     "share of copper demand met by secondary copper (whose TMR is `metals.csv` "
     "`secondary_tmr_fraction` of primary copper's); sets `recycled_share.copper`", ""),
    ("recycled_share", "table of metal = float", {}, "each share a number in [0, 1]",
     "share of each named metal's demand met by secondary metal, e.g. "
     "`{ copper = 0.3, nickel = 0.1 }`; `recycled_copper_share` wins for copper", ""),
    ("lfp_share", "float", None, "a number in [0, 1]",
     "target LFP share of the battery mix; the other chemistries are scaled down "
     "proportionally (needs a chemistry named `LFP`)", "the dataset's mix"),
    ("clean_energy_factor", "float", 1.0, "a number >= 0",
     "multiplier on the hidden flow (and coal) per kWh of smelting and refining energy "
     "(0: no coal overburden behind process energy)", ""),
)

_OVERRIDE_MEANING = (
    "a parameter name or shell pattern (`\"stripping_ratio[CU-CHL-*]\"`) and its value: a "
    "number (Fixed at that value) or a distribution table, `{ dist = \"lognormal\", "
    "median = 0.9, gsd = 1.8 }` (`uncertainty.dists`), or a Brightway `stats_arrays` "
    "dictionary (`{ \"uncertainty type\" = 2, loc = 8.4, scale = 0.3 }`)")

#: Every key of a run file, by table, in the order the reference lists them.
RUN_KEYS: tuple[RunKey, ...] = (
    # ------------------------------------------------------------------ top level
    RunKey("name", "string", None, "letters, digits, `.`, `_`, `-`; no `..`",
           "the run's name; it names the out folder `runs/out/<name>/`", required=True),
    RunKey("description", "string", "", "any text",
           "one line for the report and the manifest"),
    RunKey("dataset", "string", "../distributions", "a folder of CSV tables",
           "the dataset, relative to the run file's folder (default: the shipped "
           "illustrative database)"),
    RunKey("dataset_source", "string", "", "any text",
           "how to obtain the dataset, said when its folder is absent (whitespace runs "
           "are collapsed)"),
    RunKey("domestic", "string", "CHN", "an ISO 3166-1 alpha-3 code of `countries.csv`",
           "the country whose supply chain is studied; hidden flows outside it count as "
           "abroad, its supply mix weights the mines and process energy counts in it"),
    RunKey("allocation", "string", "economic", f"one of {', '.join(ALLOCATIONS)}",
           "how a co-product site's hidden flow is shared among its metals "
           "(Bring your own data: Sites and co-products)"),
    RunKey("report", "boolean", True, "true or false",
           "write `report.html`, its figures and tables after the run"),
    # ----------------------------------------------------------------- [scenario]
    *(RunKey(f"scenario.{k}", t, d, r, m, dt)
      for k, t, d, r, m, dt in _SWITCH_DOC),
    # --------------------------------------------------------------- [montecarlo]
    RunKey("montecarlo.samples", "integer", 1_000_000, "a positive integer",
           "Monte Carlo samples (`--samples` overrides it)"),
    RunKey("montecarlo.seed", "integer", 20190101, SEED_RANGE,
           "key of the counter-based generator: results are a pure function of seed, "
           "sample and parameter"),
    RunKey("montecarlo.chunk_size", "integer", 65_536, "a positive integer",
           "samples per chunk: the unit of work, checkpointing and Parquet parts (results "
           "do not depend on it)"),
    RunKey("montecarlo.sampler", "string", "philox", f"one of {', '.join(SAMPLERS)}",
           "`philox`: counter-based Philox4x32-10 random numbers; `sobol`: scrambled Sobol "
           "points"),
    RunKey("montecarlo.per_mine", "boolean", True, "true or false",
           "independent per-mine uncertainty of grade, stripping ratio and recovery "
           "(false: at their nominal values)"),
    RunKey("montecarlo.systematic", "boolean", True, "true or false",
           "the systematic factors, one bias per metal and parameter kind shared by all its "
           "mines (false: fixed at 1)"),
    RunKey("montecarlo.global_inputs", "boolean", True, "true or false",
           "uncertain vehicle, battery, supply, energy and fleet inputs (false: every global "
           "input at its nominal value; overrides still apply)"),
    RunKey("montecarlo.grade_stripping_correlation", "float", 0.0,
           "a number in [-0.99, 0.99]",
           "Gaussian-copula correlation of each mine's grade and stripping ratio"),
    # -------------------------------------------------------------- [sensitivity]
    RunKey("sensitivity.enabled", "boolean", False, "true or false",
           "compute Sobol indices in `uncertainty run` (`uncertainty sobol` always does)"),
    RunKey("sensitivity.n_base", "integer", 1024, "a power of 2",
           "base sample size N of Saltelli's design (N (D + 2) evaluations for D factors)"),
    RunKey("sensitivity.seed", "integer", 20190101, SEED_RANGE,
           "seed of the scrambled Sobol design and the bootstrap",
           default_text="`montecarlo.seed`"),
    RunKey("sensitivity.metrics", "array of strings", list(SENSITIVITY_DEFAULT),
           "a non-empty list of metric names", "the metrics whose indices are computed"),
    RunKey("sensitivity.by", "array of strings",
           ["parameter", "mine", "metal-kind", "country", "systematic"],
           f"a non-empty list of {', '.join(LEVELS)}",
           "the levels of grouping (`custom` needs `[sensitivity.groups]`)"),
    RunKey("sensitivity.num_resamples", "integer", 100, "a positive integer",
           "bootstrap replicates of the confidence intervals"),
    RunKey("sensitivity.conf_level", "float", 0.95, "a number in [0.5, 0.999]",
           "confidence level of the intervals"),
    RunKey("sensitivity.log", "boolean", False, "true or false",
           "the indices of ln Y instead of Y (heavy-tailed outputs)"),
    RunKey("sensitivity.ci_method", "string", "normal", f"one of {', '.join(CI_METHODS)}",
           "`normal`: SALib's normal approximation; `percentile`: bootstrap percentiles"),
    RunKey("sensitivity.tol", "float", None, "a number in (0, 1]",
           "double N until the widest ST half-width among the top factors is below it",
           default_text="none (one N)"),
    RunKey("sensitivity.max_n", "integer", None, "a power of 2, >= `n_base`",
           "the largest N with `tol`", default_text="16 x `n_base` with `tol`, else `n_base`"),
    RunKey("sensitivity.top", "integer", 20, "a positive integer",
           "factors per level and metric whose convergence and rank stability are reported"),
    RunKey("sensitivity.groups", "table", {}, "see `[sensitivity.groups]`",
           "the factors of the `custom` level"),
    RunKey("sensitivity.second_order", "boolean", False, "true or false",
           "second-order indices, for levels of at most 200 factors (N (2D + 2) "
           "evaluations)"),
    RunKey("sensitivity.delta", "boolean", False, "true or false",
           "Borgonovo's moment-independent delta indices as well"),
    RunKey("sensitivity.groups.<name>", "array of strings", None,
           "a non-empty list of parameter names, share-group names or shell patterns",
           "one factor of the `custom` level, e.g. `copper = [\"*[CU-*]\", "
           "\"sys_*[copper]\"]`; inputs no group names are one factor each",
           default_text="-", required=True),
    # -------------------------------------------------------------- [[scenarios]]
    RunKey("scenarios[].name", "string", None, "a simple name, unique among the scenarios",
           "the scenario's name in `scenarios.csv` and the report", required=True),
    RunKey("scenarios[].description", "string", "", "any text", "one line for the report"),
    *(RunKey(f"scenarios[].{k}", t, d, r, m, "the `[scenario]` value")
      for k, t, d, r, m, _ in _SWITCH_DOC),
    RunKey("scenarios[].allocation", "string", None, f"one of {', '.join(ALLOCATIONS)}",
           "the allocation rule of co-product sites in this scenario, evaluated on the "
           "baseline's random numbers: `scenarios.csv` gives the paired change of every "
           "metric from switching the rule", default_text="the run's `allocation`"),
    RunKey("scenarios[].overrides", "table", {}, "as `[overrides]`",
           "input values or distributions of this scenario, applied on top of the run's "
           "`[overrides]`"),
    # ------------------------------------------------------------ [calibration]
    RunKey("calibration.dataset", "string", None, "a folder of CSV tables",
           "the dataset the knobs are fitted on and `--apply` copies, relative to the run "
           "file's folder: an uncalibrated one, so that scale knobs and their bounds refer "
           "to the values before calibration", default_text="the run's `dataset`"),
    # ------------------------------------------------------ [[calibration.knobs]]
    RunKey("calibration.knobs[].name", "string", None, "a simple name, unique among the knobs",
           "the knob's name in `calibration.csv`", required=True),
    RunKey("calibration.knobs[].inputs", "array of strings", None,
           "a non-empty list of parameter names or shell patterns, each matching at least "
           "one input; no systematic factor",
           "the inputs the knob moves, named as in `[overrides]` (`\"stripping_ratio[CU-*]\"`)",
           required=True),
    RunKey("calibration.knobs[].mode", "string", "scale", f"one of {', '.join(KNOB_MODES)}",
           "`scale`: every input times the knob's value; `set`: every input at the value "
           "(a share of a group: the group's other shares rescale to keep the sum 1)"),
    RunKey("calibration.knobs[].bounds", "array of 2 floats", None,
           "`[low, high]` with low < high; `low >= 0` on shares",
           "the range the fit may use", required=True),
    RunKey("calibration.knobs[].start", "float", None, "a number within the bounds",
           "where the fit starts", default_text="1 (scale), else the inputs' mean value, "
           "clipped to the bounds"),
    RunKey("calibration.knobs[].source", "string", "", "any text",
           "where the bounds come from (shown in `calibration.csv`)"),
    # ---------------------------------------------------- [[calibration.targets]]
    RunKey("calibration.targets[].name", "string", None, "unique among the targets",
           "the target's name in `calibration_targets.csv`",
           default_text="the metric, or `<scenario>:<metric>`"),
    RunKey("calibration.targets[].metric", "string", "hidden_flows_mt", "a metric name",
           "the metric at nominal inputs (with `scenario`: its relative change)"),
    RunKey("calibration.targets[].scenario", "string", None, "a `[[scenarios]]` name",
           "the target is the scenario's change of the metric, (scenario - baseline) / "
           "baseline (negative for a reduction)", default_text="none (the baseline value)"),
    RunKey("calibration.targets[].value", "float", None, "a finite number",
           "the published value", required=True),
    RunKey("calibration.targets[].band", "float or array of 2 floats", None,
           "a half-width > 0, or `[low, high]` with low < high around `value`",
           "the target holds when the achieved value lies in the band", required=True),
    RunKey("calibration.targets[].weight", "float", 1.0, "a number > 0",
           "weight of the target's misfit (in half-bands, value to band edge) in the fit"),
    RunKey("calibration.targets[].source", "string", "", "any text",
           "the publication of the value"),
    # --------------------------------------------------------------- [overrides]
    RunKey("overrides.<parameter>", "float or table", None,
           "a distribution needs a `dist` name (or a `stats_arrays` `uncertainty type`)",
           _OVERRIDE_MEANING, default_text="the dataset's distribution"),
)

_RUN_KEY_NAMES = frozenset(k.key for k in RUN_KEYS)


def _allowed(section: str) -> set[str]:
    """The keys :data:`RUN_KEYS` allows directly in ``section`` (``""``: top level)."""
    prefix = f"{section}." if section else ""
    out = set()
    for k in _RUN_KEY_NAMES:
        if k.startswith(prefix):
            head = k[len(prefix):].split(".")[0].removesuffix("[]")
            if not head.startswith("<"):
                out.add(head)
    return out


def _number(file: Path | str, key: str, v: Any, lo: float, hi: float, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
            or not lo <= v <= hi:
        raise ConfigError(file, key, f"must be a number in {what}", v)
    return float(v)


def _choice(file: Path | str, key: str, v: Any, choices: tuple[str, ...]) -> str:
    if v not in choices:
        raise ConfigError(file, key, f"must be one of {', '.join(choices)}", v)
    return str(v)


def _pow2(file: Path | str, key: str, v: Any) -> int:
    v = _pos_int(file, key, v)
    if v & (v - 1):
        raise ConfigError(file, key, "must be a power of 2", v)
    return v


def _groups(file: Path | str, v: Any) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name, members in _table(file, "sensitivity.groups", v).items():
        if not isinstance(members, list) or not members \
                or not all(isinstance(m, str) for m in members):
            raise ConfigError(file, f"sensitivity.groups.{name}",
                              "must be a non-empty list of parameter names or patterns", members)
        out[name] = tuple(members)
    return out


def _bool(file: Path | str, key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(file, key, "must be true or false", v)
    return v


def _table(file: Path | str, key: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(file, key, "must be a table", v)
    return v


def _check_keys(file: Path | str, prefix: str, d: Mapping[str, Any], allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            raise ConfigError(file, f"{prefix}{k}",
                              f"unknown key; allowed: {', '.join(sorted(allowed))}", k)


_SWITCH_KEYS = _allowed("scenario")


def _switches(file: Path | str, prefix: str, d: Mapping[str, Any]) -> Scenario:
    rec: dict[str, float] = {}
    if "recycled_share" in d:
        for metal, v in _table(file, f"{prefix}recycled_share", d["recycled_share"]).items():
            rec[metal] = _number(file, f"{prefix}recycled_share.{metal}", v, 0, 1, "[0, 1]")
    if "recycled_copper_share" in d:
        rec["copper"] = _number(file, f"{prefix}recycled_copper_share",
                                d["recycled_copper_share"], 0, 1, "[0, 1]")
    lfp = d.get("lfp_share")
    if lfp is not None:
        lfp = _number(file, f"{prefix}lfp_share", lfp, 0, 1, "[0, 1]")
    clean = _number(file, f"{prefix}clean_energy_factor", d.get("clean_energy_factor", 1.0),
                    0, math.inf, "[0, inf)")
    return Scenario(recycled_share=rec, lfp_share=lfp, clean_energy_factor=clean)


def _overrides(file: Path | str, key: str, d: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in _table(file, key, d).items():
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            out[name] = {"dist": "fixed", "value": float(spec)}
        else:
            spec = _table(file, f"{key}.{name}", spec)
            if "dist" not in spec and "uncertainty type" not in spec \
                    and "uncertainty_type" not in spec:
                raise ConfigError(file, f"{key}.{name}", "a distribution needs a 'dist' name "
                                  "(or a stats_arrays 'uncertainty type')", spec)
            out[name] = dict(spec)
    return out


def _str_list(file: Path | str, key: str, v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(file, key, "must be a non-empty list of names or patterns", v)
    return tuple(v)


def _pair(file: Path | str, key: str, v: Any, what: str) -> tuple[float, float]:
    if not isinstance(v, list) or len(v) != 2 or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for x in v):
        raise ConfigError(file, key, f"must be {what}", v)
    lo, hi = float(v[0]), float(v[1])
    if not lo < hi:
        raise ConfigError(file, key, "low must be below high (a band or range of width "
                          "0 or less)", v)
    return lo, hi


def _calibration(file: Path | str, d: Any, scenario_names: set[str], base: Path
                 ) -> CalibrationConfig:
    d = _table(file, "calibration", d)
    _check_keys(file, "calibration.", d, _allowed("calibration"))
    folder = d.get("dataset")
    if folder is not None and (not isinstance(folder, str) or not folder):
        raise ConfigError(file, "calibration.dataset", "must be a path to a dataset folder",
                          folder)
    dataset = None if folder is None else (base / folder).resolve()
    knobs: list[KnobConfig] = []
    for i, k in enumerate(_array(file, "calibration.knobs", d.get("knobs", []))):
        key = f"calibration.knobs[{i}]"
        _check_keys(file, f"{key}.", k, _allowed("calibration.knobs[]"))
        name = k.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name) \
                or name in {x.name for x in knobs}:
            raise ConfigError(file, f"{key}.name", "must be a unique simple name", name)
        if "inputs" not in k or "bounds" not in k:
            raise ConfigError(file, key, "a knob needs 'inputs' and 'bounds'", name)
        inputs = _str_list(file, f"{key}.inputs", k["inputs"])
        lo, hi = _pair(file, f"{key}.bounds", k["bounds"], "[low, high], two numbers")
        mode = _choice(file, f"{key}.mode", k.get("mode", "scale"), KNOB_MODES)
        start = k.get("start")
        if start is not None:
            start = _number(file, f"{key}.start", start, lo, hi, f"[{lo:g}, {hi:g}] (the bounds)")
        src = k.get("source", "")
        if not isinstance(src, str):
            raise ConfigError(file, f"{key}.source", "must be a string", src)
        knobs.append(KnobConfig(name, inputs, lo, hi, mode, start, src))
    targets: list[TargetConfig] = []
    for i, t in enumerate(_array(file, "calibration.targets", d.get("targets", []))):
        key = f"calibration.targets[{i}]"
        _check_keys(file, f"{key}.", t, _allowed("calibration.targets[]"))
        metric = t.get("metric", "hidden_flows_mt")
        if not isinstance(metric, str) or not metric:
            raise ConfigError(file, f"{key}.metric", "must be a metric name", metric)
        scen = t.get("scenario")
        if scen is not None and (not isinstance(scen, str) or scen not in scenario_names):
            raise ConfigError(file, f"{key}.scenario", "names no [[scenarios]] of this run "
                              f"({', '.join(sorted(scenario_names)) or 'none'})", scen)
        if "value" not in t or "band" not in t:
            raise ConfigError(file, key, "a target needs 'value' and 'band'", None)
        value = _number(file, f"{key}.value", t["value"], -math.inf, math.inf,
                        "(-inf, inf)")
        band = t["band"]
        if isinstance(band, list):
            lo, hi = _pair(file, f"{key}.band", band, "a half-width or [low, high]")
            if not lo < value < hi:
                raise ConfigError(file, f"{key}.band", f"must contain the value {value:g} "
                                  "strictly inside (misfits are measured from the value to "
                                  "each edge)", band)
        else:
            half = _number(file, f"{key}.band", band, 0.0, math.inf, "(0, inf) (a half-width)")
            if half <= 0:
                raise ConfigError(file, f"{key}.band", "must be wider than 0: a target "
                                  "holds within its band", band)
            lo, hi = value - half, value + half
        name = t.get("name", metric if scen is None else f"{scen}:{metric}")
        if not isinstance(name, str) or not name or name in {x.name for x in targets}:
            raise ConfigError(file, f"{key}.name", "must be a unique name (two targets on "
                              "one metric need names)", name)
        weight = _number(file, f"{key}.weight", t.get("weight", 1.0), 0.0, math.inf,
                         "(0, inf)")
        if weight <= 0:
            raise ConfigError(file, f"{key}.weight", "must be above 0", weight)
        src = t.get("source", "")
        if not isinstance(src, str):
            raise ConfigError(file, f"{key}.source", "must be a string", src)
        targets.append(TargetConfig(name, metric, value, lo, hi, scen, weight, src))
    if targets and not knobs:
        raise ConfigError(file, "calibration.knobs", "targets need at least one knob", None)
    return CalibrationConfig(tuple(knobs), tuple(targets), dataset)


def _array(file: Path | str, key: str, v: Any) -> list[dict[str, Any]]:
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise ConfigError(file, key, f"must be an array of tables ([[{key}]])", v)
    return v


def parse_run(data: Mapping[str, Any], *, file: str | Path = "<run>",
              base: Path | None = None) -> RunConfig:
    """Validate a run mapping (as parsed from TOML) into a :class:`RunConfig`.

    ``base`` is the folder relative paths are resolved against (the run file's folder).
    """
    _check_keys(file, "", data, _allowed(""))
    name = data.get("name")
    if name is None:
        raise ConfigError(file, "name", "is required: a simple name of letters, digits, '.', "
                          "'_' or '-' (it names the out folder)")
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ConfigError(file, "name", "must be a simple name of letters, digits, '.', '_' or "
                          "'-' (it names the out folder; no path separators or '..')", name)
    base = base or Path.cwd()
    ds = data.get("dataset", "../distributions")
    if not isinstance(ds, str) or not ds:
        raise ConfigError(file, "dataset", "must be a path to a dataset folder", ds)
    dataset = (base / ds).resolve()
    source = data.get("dataset_source", "")
    if not isinstance(source, str):
        raise ConfigError(file, "dataset_source", "must be a string (how to obtain the "
                          "dataset)", source)
    domestic = data.get("domestic", "CHN")
    if not isinstance(domestic, str) or not re.fullmatch(r"[A-Z]{3}", domestic):
        raise ConfigError(file, "domestic", "must be an ISO 3166-1 alpha-3 code", domestic)
    allocation = data.get("allocation", "economic")
    if allocation not in ALLOCATIONS:
        raise ConfigError(file, "allocation", f"must be one of {', '.join(ALLOCATIONS)}",
                          allocation)
    sw = _table(file, "scenario", data.get("scenario", {}))
    _check_keys(file, "scenario.", sw, _SWITCH_KEYS)
    baseline = _switches(file, "scenario.", sw)

    mc = _table(file, "montecarlo", data.get("montecarlo", {}))
    _check_keys(file, "montecarlo.", mc, _allowed("montecarlo"))
    d = MonteCarloConfig()
    sampler = mc.get("sampler", d.sampler)
    if sampler not in SAMPLERS:
        raise ConfigError(file, "montecarlo.sampler", f"must be one of {', '.join(SAMPLERS)}",
                          sampler)
    montecarlo = MonteCarloConfig(
        samples=_pos_int(file, "montecarlo.samples", mc.get("samples", d.samples)),
        seed=check_seed(file, "montecarlo.seed", mc.get("seed", d.seed)),
        chunk_size=_pos_int(file, "montecarlo.chunk_size", mc.get("chunk_size", d.chunk_size)),
        sampler=sampler,
        per_mine=_bool(file, "montecarlo.per_mine", mc.get("per_mine", d.per_mine)),
        systematic=_bool(file, "montecarlo.systematic", mc.get("systematic", d.systematic)),
        global_inputs=_bool(file, "montecarlo.global_inputs",
                            mc.get("global_inputs", d.global_inputs)),
        grade_stripping_correlation=_number(
            file, "montecarlo.grade_stripping_correlation",
            mc.get("grade_stripping_correlation", 0.0), -0.99, 0.99, "[-0.99, 0.99]"),
    )
    se = _table(file, "sensitivity", data.get("sensitivity", {}))
    _check_keys(file, "sensitivity.", se, _allowed("sensitivity"))
    sd = SensitivityConfig()
    n_base = _pos_int(file, "sensitivity.n_base", se.get("n_base", sd.n_base))
    if n_base & (n_base - 1):
        raise ConfigError(file, "sensitivity.n_base", "must be a power of 2", n_base)
    by = se.get("by", list(sd.by))
    if not isinstance(by, list) or not all(isinstance(x, str) for x in by) or not by:
        raise ConfigError(file, "sensitivity.by", "must be a non-empty list of level names", by)
    by = tuple(by)
    for lev in by:
        if lev not in LEVELS:
            raise ConfigError(file, "sensitivity.by", f"levels must be among {', '.join(LEVELS)}",
                              lev)
    metrics = se.get("metrics", list(sd.metrics))
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics) \
            or not metrics:
        raise ConfigError(file, "sensitivity.metrics", "must be a non-empty list of metric names",
                          metrics)
    sensitivity = SensitivityConfig(
        enabled=_bool(file, "sensitivity.enabled", se.get("enabled", sd.enabled)),
        n_base=n_base,
        seed=check_seed(file, "sensitivity.seed", se.get("seed", montecarlo.seed)),
        metrics=tuple(metrics), by=by,
        num_resamples=_pos_int(file, "sensitivity.num_resamples",
                               se.get("num_resamples", sd.num_resamples)),
        conf_level=_number(file, "sensitivity.conf_level", se.get("conf_level", sd.conf_level),
                           0.5, 0.999, "[0.5, 0.999]"),
        log=_bool(file, "sensitivity.log", se.get("log", sd.log)),
        ci_method=_choice(file, "sensitivity.ci_method", se.get("ci_method", sd.ci_method),
                          CI_METHODS),
        tol=(None if se.get("tol") is None else
             _number(file, "sensitivity.tol", se["tol"], 1e-9, 1.0, "(0, 1]")),
        max_n=(None if se.get("max_n") is None else
               _pow2(file, "sensitivity.max_n", se["max_n"])),
        top=_pos_int(file, "sensitivity.top", se.get("top", sd.top)),
        groups=_groups(file, se.get("groups", {})),
        second_order=_bool(file, "sensitivity.second_order",
                           se.get("second_order", sd.second_order)),
        delta=_bool(file, "sensitivity.delta", se.get("delta", sd.delta)),
    )
    if "custom" in sensitivity.by and not sensitivity.groups:
        raise ConfigError(file, "sensitivity.by", "level 'custom' needs [sensitivity.groups]",
                          "custom")
    scen_list = data.get("scenarios", [])
    if not isinstance(scen_list, list):
        raise ConfigError(file, "scenarios", "must be an array of tables ([[scenarios]])",
                          scen_list)
    scenarios = []
    seen: set[str] = set()
    for i, s in enumerate(scen_list):
        key = f"scenarios[{i}]"
        s = _table(file, key, s)
        _check_keys(file, f"{key}.", s, _allowed("scenarios[]"))
        sname = s.get("name")
        if not isinstance(sname, str) or not _NAME.fullmatch(sname) or sname in seen:
            raise ConfigError(file, f"{key}.name", "must be a unique simple name", sname)
        seen.add(sname)
        merged = {**sw, **{k: v for k, v in s.items() if k in _SWITCH_KEYS}}
        s_alloc = s.get("allocation")
        if s_alloc is not None and s_alloc not in ALLOCATIONS:
            raise ConfigError(file, f"{key}.allocation",
                              f"must be one of {', '.join(ALLOCATIONS)}", s_alloc)
        scenarios.append(ScenarioConfig(
            sname, _switches(file, f"{key}.", merged),
            _overrides(file, f"{key}.overrides", s.get("overrides", {})), s_alloc))
    overrides = _overrides(file, "overrides", data.get("overrides", {}))
    calibration = _calibration(file, data.get("calibration", {}), seen, base)
    return RunConfig(
        name=name, path=Path(file) if file != "<run>" else None, dataset=dataset,
        dataset_source=" ".join(source.split()), domestic=domestic, allocation=allocation, baseline=baseline, montecarlo=montecarlo,
        sensitivity=sensitivity, scenarios=tuple(scenarios), overrides=overrides,
        resolved=dict(data), report=_bool(file, "report", data.get("report", True)),
        calibration=calibration,
    )


def load_run(path: str | Path) -> RunConfig:
    """Read and validate a run file.

    Parameters
    ----------
    path : str or Path
        A TOML run file (the run-file reference lists every key); a relative
        ``dataset`` is resolved against the file's folder.

    Returns
    -------
    RunConfig
        Frozen; :func:`with_overrides` makes a changed copy.

    Raises
    ------
    ConfigError
        Unreadable TOML or a broken rule, naming the file, key, value and rule.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(p, "<file>", "run file not found", str(p))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(p, "<file>", f"not valid TOML ({exc})", None) from exc
    if not data:
        raise ConfigError(p, "<file>", "run file is empty", None)
    return parse_run(data, file=p, base=p.parent)


def with_overrides(run: RunConfig, **changes: Any) -> RunConfig:
    """Return a copy of ``run`` with Monte Carlo settings changed (CLI flags)."""
    from dataclasses import replace

    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        return run
    mc = replace(run.montecarlo, **given)
    resolved = dict(run.resolved)
    resolved["montecarlo"] = {**dict(resolved.get("montecarlo", {})), **given}
    return replace(run, montecarlo=mc, resolved=resolved)
