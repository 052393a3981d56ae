"""The generated reference parts of the documentation say what the code does.

The column reference (``docs/data.md``) is rendered from ``SPECS`` and the run-file
reference (``docs/runfile.md``) from ``RUN_KEYS``; these tests check that what they say
is complete and true. ``make docs`` builds the site itself (warnings are errors).
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from uncertainty.config import (
    RUN_KEYS,
    ConfigError,
    MonteCarloConfig,
    RunConfig,
    SensitivityConfig,
    parse_run,
)
from uncertainty.data.schema import SPECS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BY_KEY = {k.key: k for k in RUN_KEYS}


# ----------------------------------------------------------------------- data columns
@pytest.mark.parametrize("table", sorted(SPECS))
def test_every_column_is_documented(table: str) -> None:
    spec = SPECS[table]
    for col in spec.columns:
        assert col.meaning.strip(), f"{spec.file}: column {col.name!r} has no meaning"
        if col.kind == "float":
            assert col.unit.strip(), (f"{spec.file}: numeric column {col.name!r} needs a "
                                      "unit (or '-' for a dimensionless number)")


def test_blank_cells_say_what_they_mean() -> None:
    # a column whose cells may be blank, or that may be absent, says what that means
    # (identifiers that are their own default are the only exception)
    missing = [f"{spec.file}:{c.name}" for spec in SPECS.values() for c in spec.columns
               if (c.optional_value or not c.required) and not c.default.strip()]
    assert missing == []


# --------------------------------------------------------------------------- run keys
def _plain(v: Any) -> Any:
    """Parsed values in TOML form: tuples as lists, mappings as dicts."""
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    return v


def _switch(scenario: Any, name: str) -> Any:
    if name == "recycled_copper_share":
        return scenario.recycled_share.get("copper", 0.0)
    return getattr(scenario, name)


#: keys parse_run accepts but keeps only in ``RunConfig.resolved``, and keys whose
#: default is derived from another key (a target's name is its metric)
NOT_STORED = {"description", "scenarios[].description", "calibration.targets[].name"}


def _parsed(run: RunConfig, key: str, base: Path) -> Any:
    section, _, name = key.rpartition(".")
    if key == "dataset":
        return run.dataset
    if section == "":
        return getattr(run, key)
    if section == "scenario":
        return _switch(run.baseline, name)
    if section in ("montecarlo", "sensitivity"):
        return getattr(getattr(run, section), name)
    if section == "scenarios[]":
        s = run.scenarios[0]
        if name in ("overrides", "allocation"):
            return getattr(s, name)
        return _switch(s.switches, name)
    if section == "calibration":
        return getattr(run.calibration, name)
    if section in ("calibration.knobs[]", "calibration.targets[]"):
        return getattr(getattr(run.calibration, section.split(".")[1][:-2])[0], name)
    raise AssertionError(f"no rule to find {key} in a RunConfig")


def test_documented_defaults_are_the_parsers() -> None:
    base = Path.cwd()
    run = parse_run({"name": "x"}, file="t.toml")
    with_scenario = parse_run({"name": "x", "scenarios": [{"name": "s"}], "calibration": {
        "knobs": [{"name": "k", "inputs": ["grid_hf_kg_per_kwh"], "bounds": [0.5, 2.0]}],
        "targets": [{"value": 1100, "band": 20}]}}, file="t.toml")
    checked = 0
    for k in RUN_KEYS:
        if k.required or "<" in k.key or k.key in NOT_STORED:
            continue
        r = with_scenario if k.section in ("scenarios", "calibration.knobs",
                                           "calibration.targets") else run
        got = _parsed(r, k.key, base)
        if k.key == "dataset":
            assert got == (base / k.default).resolve()
        else:
            assert _plain(got) == k.default, f"{k.key}: documented {k.default!r}, parsed {got!r}"
            assert type(_plain(got)) is type(k.default) or got is None, k.key
        checked += 1
    assert checked >= 35
    assert run.overrides == {} and run.scenarios == ()


def test_unstored_and_pattern_keys_are_accepted() -> None:
    data = {"name": "x", "description": "d",
            "sensitivity": {"groups": {"copper": ["*[CU-*]"]}, "by": ["custom"]},
            "overrides": {"grid_hf_kg_per_kwh": 0.9},
            "scenarios": [{"name": "s", "description": "d",
                           "overrides": {"grid_hf_kg_per_kwh": {"dist": "fixed", "value": 1}}}]}
    run = parse_run(data, file="t.toml")
    assert dict(run.sensitivity.groups) == {"copper": ("*[CU-*]",)}
    assert run.overrides == {"grid_hf_kg_per_kwh": {"dist": "fixed", "value": 0.9}}


def test_config_dataclasses_and_run_keys_agree() -> None:
    def names(section: str) -> set[str]:
        return {k.name for k in RUN_KEYS if k.section == section}

    assert names("montecarlo") == set(MonteCarloConfig.__dataclass_fields__)
    assert names("sensitivity") == set(SensitivityConfig.__dataclass_fields__)
    assert len(BY_KEY) == len(RUN_KEYS), "a key is listed twice"


@pytest.mark.parametrize("prefix, data", [
    ("", {"colour": 1}),
    ("scenario.", {"scenario": {"lfp": 1.0}}),
    ("montecarlo.", {"montecarlo": {"sample": 10}}),
    ("sensitivity.", {"sensitivity": {"nbase": 8}}),
    ("scenarios[0].", {"scenarios": [{"name": "s", "lfp": 1.0}]}),
])
def test_an_undocumented_key_is_refused(prefix: str, data: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=rf"key '{re.escape(prefix)}\w+': unknown key"):
        parse_run({"name": "x", **data}, file="t.toml")


def _flat(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The keys of a parsed run file in RUN_KEYS notation."""
    out = []
    for k, v in d.items():
        path = f"{prefix}{k}"
        pattern = [key for key in BY_KEY if key.startswith(f"{path}.<")]
        if pattern:
            out.append(pattern[0])
        elif isinstance(v, dict) and path not in BY_KEY:
            out += _flat(v, f"{path}.")
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                out += _flat(x, f"{path}[].")
        else:
            out.append(path)
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "runs").glob("*.toml")), ids=lambda p: p.name)
def test_every_key_of_the_shipped_run_files_is_documented(path: Path) -> None:
    keys = _flat(tomllib.loads(path.read_text(encoding="utf-8")))
    assert keys and set(keys) <= set(BY_KEY), sorted(set(keys) - set(BY_KEY))


# ------------------------------------------------------------------ the extension
@pytest.fixture(scope="module")
def ext() -> Any:
    pytest.importorskip("sphinx", reason="the docs extra is not installed")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import uncertainty_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return uncertainty_docs


def test_documented_defaults_are_valid_toml(ext: Any) -> None:
    for k in RUN_KEYS:
        if k.default is not None and not k.default_text:
            assert tomllib.loads(f"x = {ext.toml_literal(k.default)}")["x"] == k.default, k.key


def test_package_layout_lists_every_module_with_a_summary(ext: Any) -> None:
    listed = {name: summary for name, _, summary in ext.package_modules()}
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
             for p in (ROOT / "uncertainty").rglob("*.py") if "__pycache__" not in p.parts}
    assert files <= set(listed)
    assert [m for m in files if not listed[m].strip()] == []


def test_toctree_pages_exist() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    tree = index.split("```{toctree}")[1].split("```")[0]
    pages = [line.strip() for line in tree.splitlines()
             if line.strip() and not line.strip().startswith(":")]
    assert pages and [p for p in pages if not (DOCS / f"{p}.md").is_file()] == []
