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
    "ConfigError",
    "MonteCarloConfig",
    "RunConfig",
    "ScenarioConfig",
    "SensitivityConfig",
    "load_run",
    "parse_run",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SAMPLERS = ("philox", "sobol")
LEVELS = ("parameter", "mine", "metal-kind", "country", "systematic", "custom")
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
    """One scenario (``[[scenarios]]``): switches plus input overrides."""

    name: str
    switches: Scenario
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


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


_SWITCH_KEYS = {"recycled_copper_share", "recycled_share", "lfp_share", "clean_energy_factor"}


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


def parse_run(data: Mapping[str, Any], *, file: str | Path = "<run>",
              base: Path | None = None) -> RunConfig:
    """Validate a run mapping (as parsed from TOML) into a :class:`RunConfig`.

    ``base`` is the folder relative paths are resolved against (the run file's folder).
    """
    _check_keys(file, "", data, {"name", "description", "dataset", "dataset_source",
                                 "domestic", "allocation",
                                 "scenario", "montecarlo", "sensitivity", "scenarios",
                                 "overrides", "report"})
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
    _check_keys(file, "montecarlo.", mc, set(MonteCarloConfig.__dataclass_fields__))
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
    _check_keys(file, "sensitivity.", se, set(SensitivityConfig.__dataclass_fields__))
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
        _check_keys(file, f"{key}.", s, _SWITCH_KEYS | {"name", "overrides", "description"})
        sname = s.get("name")
        if not isinstance(sname, str) or not _NAME.fullmatch(sname) or sname in seen:
            raise ConfigError(file, f"{key}.name", "must be a unique simple name", sname)
        seen.add(sname)
        merged = {**sw, **{k: v for k, v in s.items() if k in _SWITCH_KEYS}}
        scenarios.append(ScenarioConfig(
            sname, _switches(file, f"{key}.", merged),
            _overrides(file, f"{key}.overrides", s.get("overrides", {}))))
    overrides = _overrides(file, "overrides", data.get("overrides", {}))
    return RunConfig(
        name=name, path=Path(file) if file != "<run>" else None, dataset=dataset,
        dataset_source=" ".join(source.split()), domestic=domestic, allocation=allocation, baseline=baseline, montecarlo=montecarlo,
        sensitivity=sensitivity, scenarios=tuple(scenarios), overrides=overrides,
        resolved=dict(data), report=_bool(file, "report", data.get("report", True)),
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
