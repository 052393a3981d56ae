"""``uncertainty init DIR``: a small, valid study to copy and edit.

:func:`write_template` writes

==================  =====================================================================
``DIR/data/``       a dataset folder: two metals (copper, zinc), five mine rows in three
                    countries (one of them a copper-zinc co-product site, two rows with
                    one ``site_id``), a fleet of conventional cars only (no battery
                    tables: they are needed only when a vehicle is an NEV)
``DIR/run.toml``    a run file on ``dataset = "data"``: 20,000 Monte Carlo samples,
                    Sobol indices with N = 256, a recycled-copper and a clean-energy
                    scenario
``DIR/README.md``   what each file is and how to validate and run the study
==================  =====================================================================

The tables show once each way a blank ``mines.csv`` cell is filled: a blank
``stripping_ratio`` (``stripping_source = imputed``: the archetype's median), blank
allocation cells of a co-product site (computed from ``metals.csv``'s
``price_usd_per_t`` and the rows' production) and, on one row only, explicit per-mine
spreads (elsewhere they follow from the provenance columns). The format of every table
is described in ``docs/data.md``.

Nothing is half-written: the files go into a temporary sibling of ``DIR`` that is
renamed into place when complete (into an existing ``DIR``, which must be an empty
folder, a temporary folder inside it whose entries are then renamed up).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from uncertainty.errors import UserError

__all__ = ["TemplateError", "add_parser", "run_cli", "write_template"]

ILLUSTRATIVE = "illustrative template value"


class TemplateError(UserError):
    """The target folder cannot take the template (it exists and is not empty, or it
    is not a folder); the message is one line naming the path."""


# --------------------------------------------------------------------------- tables
_COUNTRIES = [
    ["iso3", "name"],
    ["AUS", "Australia"],
    ["CHL", "Chile"],
    ["CHN", "China"],
    ["PER", "Peru"],
]

_PINK = "World Bank Commodity Price Data (The Pink Sheet), 2019 annual average"
_METALS = [
    ["metal", "display_name", "fabrication_yield", "energy_kwh_per_t", "energy_gsd",
     "secondary_tmr_fraction", "sys_grade_gsd", "sys_stripping_gsd", "sys_recovery_sd",
     "price_usd_per_t", "refining_recovery", "source"],
    ["copper", "Copper", "0.85", "4500", "1.35", "0.02", "1.08", "1.3", "0.03", "6010",
     "0.97", f"price_usd_per_t: {_PINK}, LME copper grade A; other columns: {ILLUSTRATIVE}"],
    ["zinc", "Zinc", "0.90", "4000", "1.35", "0.02", "1.08", "1.3", "0.03", "2550",
     "0.95", f"price_usd_per_t: {_PINK}, LME zinc; other columns: {ILLUSTRATIVE}"],
]

_MINE_COLUMNS = [
    "mine_id", "site_id", "name", "country", "metal", "archetype", "mining_method",
    "production_t", "grade", "grade_unit", "grade_source", "stripping_ratio",
    "stripping_source", "mill_recovery", "recovery_source", "conc_grade",
    "refining_recovery", "alloc_economic", "alloc_mass", "main_product", "grade_gsd",
    "stripping_gsd", "recovery_sd", "synthetic", "source", "notes",
]


def _mine(**cells: str) -> list[str]:
    unknown = set(cells) - set(_MINE_COLUMNS)
    if unknown:  # a typo in the table below, not input
        raise RuntimeError(f"unknown mines.csv column(s) {sorted(unknown)}")
    return [cells.get(c, "") for c in _MINE_COLUMNS]


_MINES = [
    _MINE_COLUMNS,
    _mine(mine_id="CU-CHL-001", name="Example copper mine A", country="CHL", metal="copper",
          archetype="cu_porphyry", mining_method="open_pit", production_t="120000",
          grade="0.0065", grade_unit="metal", grade_source="reported", stripping_ratio="2.5",
          stripping_source="reported", mill_recovery="0.88", recovery_source="reported",
          conc_grade="0.27", refining_recovery="0.97", alloc_economic="1", alloc_mass="1",
          main_product="true", grade_gsd="1.1275", stripping_gsd="1.3634", recovery_sd="0.03",
          synthetic="false", source=ILLUSTRATIVE,
          notes="explicit per-mine spreads: grade_gsd = exp(0.12), stripping_gsd = "
          "exp(0.31), recovery_sd = 0.03 (the year-to-year spreads of a reported copper "
          "mine); they override the spreads the provenance columns imply"),
    _mine(mine_id="CU-CHL-002", name="Example copper mine B", country="CHL", metal="copper",
          archetype="cu_porphyry", mining_method="open_pit", production_t="45000",
          grade="0.0048", grade_unit="metal", grade_source="reported", stripping_ratio="",
          stripping_source="imputed", mill_recovery="0.85", recovery_source="other_year",
          conc_grade="0.25", refining_recovery="0.97", alloc_economic="1", alloc_mass="1",
          main_product="true", synthetic="false", source=ILLUSTRATIVE,
          notes="blank stripping_ratio, imputed: the cu_porphyry archetype's median with "
          "its across-deposit spread; blank spreads follow from the provenance columns"),
    _mine(mine_id="CU-PER-001", site_id="PER-CUZN-001", name="Example copper-zinc mine",
          country="PER", metal="copper", archetype="cu_porphyry", mining_method="open_pit",
          production_t="40000", grade="0.009", grade_unit="metal", grade_source="reported",
          stripping_ratio="3.0", stripping_source="reported", mill_recovery="0.90",
          recovery_source="reported", conc_grade="0.26", refining_recovery="0.97",
          synthetic="false", source=ILLUSTRATIVE,
          notes="co-product site PER-CUZN-001 (copper row): one ore stream shared with "
          "ZN-PER-001; blank alloc_economic, alloc_mass and main_product are computed "
          "from price_usd_per_t x production_t"),
    _mine(mine_id="ZN-PER-001", site_id="PER-CUZN-001", name="Example copper-zinc mine",
          country="PER", metal="zinc", archetype="zn", mining_method="open_pit",
          production_t="60000", grade="0.02", grade_unit="metal", grade_source="reported",
          stripping_ratio="3.0", stripping_source="reported", mill_recovery="0.82",
          recovery_source="reported", conc_grade="0.50", refining_recovery="0.95",
          synthetic="false", source=ILLUSTRATIVE,
          notes="co-product site PER-CUZN-001 (zinc row): same country, mining method and "
          "stripping ratio as its copper row"),
    _mine(mine_id="ZN-AUS-001", name="Example zinc mine", country="AUS", metal="zinc",
          archetype="zn", mining_method="open_pit", production_t="90000", grade="0.06",
          grade_unit="metal", grade_source="other_year", stripping_ratio="1.5",
          stripping_source="reported", mill_recovery="0.87", recovery_source="reported",
          conc_grade="0.52", refining_recovery="0.95", alloc_economic="1", alloc_mass="1",
          main_product="true", synthetic="false", source=ILLUSTRATIVE,
          notes="grade from another year than the study's (grade_source = other_year): "
          "its spread is the year-to-year spread x sqrt(2)"),
]

_SUPPLY = [
    ["metal", "country", "share", "concentration", "source"],
    ["copper", "CHL", "0.7", "100", ILLUSTRATIVE],
    ["copper", "PER", "0.3", "100", ILLUSTRATIVE],
    ["zinc", "AUS", "0.6", "100", ILLUSTRATIVE],
    ["zinc", "PER", "0.4", "100", ILLUSTRATIVE],
]

_VEHICLES = [
    ["vehicle", "metal", "content_kg", "cv", "source"],
    ["ICEV", "copper", "23", "0.2", ILLUSTRATIVE],
    ["ICEV", "zinc", "8", "0.2", ILLUSTRATIVE],
]

_FLEET = [
    ["vehicle", "display_name", "count", "count_cv", "nev", "battery_kwh_min",
     "battery_kwh_mode", "battery_kwh_max", "source"],
    ["ICEV", "Conventional car (ICEV)", "20000000", "0.03", "false", "0", "0", "0",
     ILLUSTRATIVE],
]

_GLOBALS = [
    ["parameter", "value", "unit", "gsd", "source"],
    ["grid_hf_kg_per_kwh", "0.9", "kg hidden flow per kWh", "1.6", ILLUSTRATIVE],
    ["coal_used_kg_per_kwh", "0", "kg coal used per kWh", "1", ILLUSTRATIVE],
    ["battery_pack_factor", "1.2", "pack/cell cathode metal", "1",
     f"{ILLUSTRATIVE} (no battery in this fleet)"],
]

#: File name -> rows of each table of ``DIR/data/``.
TABLES: dict[str, list[list[str]]] = {
    "countries.csv": _COUNTRIES,
    "metals.csv": _METALS,
    "mines.csv": _MINES,
    "supply.csv": _SUPPLY,
    "vehicles.csv": _VEHICLES,
    "fleet.csv": _FLEET,
    "globals.csv": _GLOBALS,
}

RUN_TOML = """\
# A template run: Monte Carlo uncertainty and Sobol sensitivity of the hidden flows
# behind a fleet of conventional cars (copper and zinc only). Copy this file and the
# data folder, then edit both; docs/data.md describes every table and column.
name = "template"
description = "Template study: hidden flows of a conventional-car fleet's copper and zinc"
dataset = "data"               # folder of CSV tables, relative to this file
domestic = "CHN"               # hidden flows outside this country count as "abroad"
allocation = "economic"        # economic | mass | main-product (co-product sites' shares)

[scenario]                     # switches of the baseline
recycled_copper_share = 0.0    # share of copper demand met by secondary copper
clean_energy_factor = 1.0      # multiplier on hidden flow per kWh of smelting/refining energy
# lfp_share needs NEVs and an LFP chemistry (chemistries.csv, battery_mix.csv)

[montecarlo]
samples = 20_000
seed = 20190101
chunk_size = 10_000
sampler = "philox"             # philox (counter-based) | sobol (scrambled Sobol points)
per_mine = true                # independent per-mine uncertainty
systematic = true              # one shared bias per metal and parameter kind
global_inputs = true           # vehicle, supply, energy and fleet inputs (false: nominal)
grade_stripping_correlation = 0.0

[sensitivity]
enabled = true
n_base = 256                   # a power of 2
metrics = ["hidden_to_material_ratio", "hidden_flows_mt", "hidden_abroad_share"]
by = ["parameter", "mine", "metal-kind", "country", "systematic"]
num_resamples = 100
conf_level = 0.95

[[scenarios]]
name = "recycled-copper"
description = "All copper demand met by secondary copper"
recycled_copper_share = 1.0

[[scenarios]]
name = "clean-energy"
description = "Smelting and refining on clean energy (no hidden flow per kWh)"
clean_energy_factor = 0.0
"""

README_MD = """\
# Template study

Written by `uncertainty init`. A small, valid study to copy and edit: every value in
it is an illustrative template value (except the metal prices: 2019 averages of the
World Bank's commodity price data), not data about real mines.

| file | what it is |
|---|---|
| `run.toml` | the run file: dataset, allocation, Monte Carlo and sensitivity settings, scenarios |
| `data/mines.csv` | one row per mine and metal: production, ore grade, stripping ratio, recoveries, provenance, allocation, spreads |
| `data/metals.csv` | one row per metal: fabrication yield, process energy, systematic spreads, 2019 price |
| `data/countries.csv` | the valid ISO 3166-1 alpha-3 country codes |
| `data/supply.csv` | one row per metal and country: share of the studied supply, Dirichlet concentration |
| `data/vehicles.csv` | one row per vehicle type and metal: content in kg per vehicle and its CV |
| `data/fleet.csv` | one row per vehicle type: vehicles produced, battery kWh, NEV flag |
| `data/globals.csv` | scalar inputs: grid hidden flow per kWh, coal per kWh, battery pack factor |

`mines.csv` shows each way a blank cell is filled once:

* `CU-CHL-001` gives explicit per-mine spreads (`grade_gsd`, `stripping_gsd`,
  `recovery_sd`); on the other rows they follow from the provenance columns
  (`grade_source`, `stripping_source`, `recovery_source`).
* `CU-CHL-002` leaves `stripping_ratio` blank (`stripping_source = imputed`): it takes
  the median of its archetype (`cu_porphyry`) and that archetype's across-deposit spread.
* `CU-PER-001` and `ZN-PER-001` are one copper-zinc mine (`site_id = PER-CUZN-001`):
  they share one ore stream, and their blank `alloc_economic`, `alloc_mass` and
  `main_product` cells are computed from `metals.csv`'s `price_usd_per_t` and their
  `production_t`.

The fleet has conventional cars only, so the battery tables (`chemistries.csv`,
`battery_mix.csv`) are left out and the run file has no LFP scenario. With an electric
vehicle (`nev = true` in `fleet.csv`) both tables are needed.

Check, then run (results in `out/template/`):

```bash
uncertainty validate DIR/data      # the dataset: a coverage table and every filled blank
uncertainty validate DIR/run.toml  # the run file on its dataset
uncertainty run DIR/run.toml       # Monte Carlo, Sobol indices, scenarios, report
uncertainty run DIR/run.toml --deterministic   # nominal values only, in seconds
```

(`DIR` is the folder this file is in.)
"""


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue()


def _files() -> dict[str, str]:
    """Relative path -> text of every file of the template."""
    out = {f"data/{name}": _csv_text(rows) for name, rows in TABLES.items()}
    out["run.toml"] = RUN_TOML
    out["README.md"] = README_MD
    return out


def write_template(folder: str | Path) -> list[Path]:
    """Write the template study into ``folder``.

    Parameters
    ----------
    folder : str or Path
        The study folder: it must not exist or be an empty folder. Missing parent
        folders are created.

    Returns
    -------
    list of Path
        The files written (under ``folder``), in a fixed order.

    Raises
    ------
    TemplateError
        ``folder`` exists and is not a folder, or is a folder that is not empty.
    OSError
        The folder or its files could not be written; nothing is left behind.
    """
    target = Path(folder)
    exists = target.exists() or target.is_symlink()
    if exists:
        if not target.is_dir():
            raise TemplateError(f"{target}: exists and is not a folder; choose a new folder")
        if any(target.iterdir()):
            raise TemplateError(f"{target}: exists and is not empty; choose a new folder or "
                                "empty this one")
    where = Path(os.path.abspath(target))  # "." and ".." resolved to names
    # staged beside the new folder, or inside the existing empty one (the same
    # filesystem either way, so that the renames below are atomic)
    stage_in = where if exists else where.parent
    stage_in.mkdir(parents=True, exist_ok=True)
    files = _files()
    tmp = stage_in / f".{where.name or 'study'}.init-{secrets.token_hex(6)}"
    tmp.mkdir()  # ordinary permissions (the umask's), unlike tempfile.mkdtemp's 0o700
    moved: list[Path] = []
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        if not exists:
            tmp.rename(where)
        else:  # an existing folder is kept (its permissions, a mount point): fill it
            for entry in sorted(tmp.iterdir(), key=lambda e: e.name == "README.md"):
                entry.rename(where / entry.name)
                moved.append(where / entry.name)
            tmp.rmdir()
    except BaseException:
        for m in moved:
            if m.is_dir():
                shutil.rmtree(m, ignore_errors=True)
            else:
                m.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [target / rel for rel in files]


# --------------------------------------------------------------------------- command line
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``init`` command to ``subparsers`` (of :func:`argparse.ArgumentParser.
    add_subparsers`) and return its parser."""
    p = subparsers.add_parser(
        "init", help="write a small template study (dataset and run file) to copy and edit",
        description="Write DIR/data/ (a small valid dataset), DIR/run.toml and "
        "DIR/README.md. DIR must not exist or be empty.")
    p.add_argument("dir", type=Path, help="folder of the new study (must not exist or be empty)")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Run ``uncertainty init``: 0 when written (one ``wrote`` line per file), 2 with one
    ``error:`` line when ``args.dir`` cannot take the template. Operating-system errors
    are raised (the command line maps them to an exit code)."""
    try:
        paths = write_template(args.dir)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(f"wrote {p}")
    return 0
