"""Shared fixtures: a tiny valid dataset factory and the default dataset.

``make_dataset(folder, **overrides)`` writes the nine CSV tables of a small valid
dataset (one metal, copper; countries CHL and CHN; an ICEV and a small-battery BEV; one
chemistry) and returns the folder. Each keyword names a table (``mines``, ``metals``,
``countries``, ``supply``, ``vehicles``, ``fleet``, ``chemistries``, ``battery_mix``,
``globals``) and is one of

* a list of row dicts: the whole table (columns from the first row's keys),
* a dict ``{(row_index, column): value}``: single cells of the base table changed
  (``row_index`` counts data rows from 0; line number = row_index + 2),
* a str: the exact bytes of the file (empty, header-only, broken CSV, ...).

``base_tables()`` returns a fresh deep copy of the base rows, to edit and pass back.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest

from uncertainty.data import SPECS, Dataset, load_dataset

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO / "distributions"

MINE = {
    "mine_id": "CU-CHL-001", "name": "Test copper mine", "country": "CHL", "metal": "copper",
    "archetype": "cu_porphyry", "mining_method": "open_pit", "production_t": "1000",
    "grade": "0.01", "grade_unit": "metal", "stripping_ratio": "2.0", "mill_recovery": "0.9",
    "conc_grade": "0.25", "refining_recovery": "0.95", "alloc_economic": "0.8",
    "alloc_mass": "0.9", "main_product": "true", "grade_gsd": "1.1", "stripping_gsd": "1.2",
    "recovery_sd": "0.02", "synthetic": "true",
}

BASE_TABLES: dict[str, list[dict[str, str]]] = {
    "countries": [{"iso3": "CHL", "name": "Chile"}, {"iso3": "CHN", "name": "China"}],
    "metals": [{
        "metal": "copper", "display_name": "Copper", "fabrication_yield": "0.8",
        "energy_kwh_per_t": "5000", "energy_gsd": "1.3", "secondary_tmr_fraction": "0.02",
        "sys_grade_gsd": "1.1", "sys_stripping_gsd": "1.2", "sys_recovery_sd": "0.03",
    }],
    "mines": [MINE],
    "supply": [{"metal": "copper", "country": "CHL", "share": "1.0", "concentration": "100"}],
    "vehicles": [
        {"vehicle": "icev", "metal": "copper", "content_kg": "20", "cv": "0.1"},
        {"vehicle": "bev", "metal": "copper", "content_kg": "60", "cv": "0.1"},
    ],
    "fleet": [
        {"vehicle": "icev", "display_name": "ICEV", "count": "1000", "count_cv": "0.03",
         "nev": "false", "battery_kwh_min": "0", "battery_kwh_mode": "0",
         "battery_kwh_max": "0"},
        {"vehicle": "bev", "display_name": "BEV", "count": "100", "count_cv": "0.03",
         "nev": "true", "battery_kwh_min": "10", "battery_kwh_mode": "20",
         "battery_kwh_max": "30"},
    ],
    "chemistries": [{"chemistry": "NMC", "metal": "copper", "kg_per_kwh": "0.05"}],
    "battery_mix": [{"chemistry": "NMC", "share": "1.0", "concentration": "100"}],
    "globals": [
        {"parameter": "grid_hf_kg_per_kwh", "value": "1.5", "unit": "kg/kWh", "gsd": "1.5"},
        {"parameter": "coal_used_kg_per_kwh", "value": "0.5", "unit": "kg/kWh", "gsd": "1.2"},
        {"parameter": "battery_pack_factor", "value": "1.2", "unit": "-", "gsd": "1.05"},
    ],
}


def base_tables() -> dict[str, list[dict[str, str]]]:
    """A fresh deep copy of the base rows of the tiny dataset."""
    return copy.deepcopy(BASE_TABLES)


def _write_rows(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def write_dataset(folder: Path, **overrides: object) -> Path:
    """Write the tiny dataset into ``folder`` (created), applying ``overrides``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    unknown = set(overrides) - set(SPECS)
    if unknown:
        raise TypeError(f"unknown table(s) {sorted(unknown)}; tables: {sorted(SPECS)}")
    tables = base_tables()
    for name, spec in SPECS.items():
        path = folder / spec.file
        ov = overrides.get(name)
        if isinstance(ov, str):
            path.write_text(ov, encoding="utf-8")
            continue
        rows: list[dict[str, object]]
        if isinstance(ov, list):
            rows = [dict(r) for r in ov]
        else:
            rows = [dict(r) for r in tables[name]]
            for (i, col), value in (ov or {}).items():
                if col not in rows[i]:
                    raise KeyError(f"{name} has no column {col!r}")
                rows[i][col] = value
        _write_rows(path, rows)
    return folder


@pytest.fixture
def make_dataset():
    """The factory ``make_dataset(folder, **table_overrides) -> folder`` (see module doc)."""
    return write_dataset


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def default_dataset() -> Dataset:
    """The committed default dataset (``distributions/``), loaded once per session."""
    return load_dataset(DEFAULT_DATASET)
