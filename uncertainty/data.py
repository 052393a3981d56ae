"""Mine database and supply-chain tables: the only CSV reader of the package.

A dataset is a folder of CSV files (the default one is ``distributions/``):

==================  =====================================================================
file                one row per
==================  =====================================================================
``mines.csv``       mine x metal: production, ore grade, stripping ratio, recoveries,
                    allocation shares and the per-mine uncertainty spreads
``metals.csv``      metal: fabrication yield, process energy, systematic spreads
``countries.csv``   country (ISO 3166-1 alpha-3 code and name): the valid codes
``supply.csv``      metal x country: share of China's 2019 supply, Dirichlet concentration
``vehicles.csv``    vehicle type x metal: content in kg per vehicle and its CV
``fleet.csv``       vehicle type: vehicles produced, battery kWh (min/mode/max), NEV flag
``chemistries.csv`` chemistry x metal: cathode metal in kg per kWh
``battery_mix.csv`` chemistry: share of the battery mix, Dirichlet concentration
``globals.csv``     scalar model inputs (grid hidden flow per kWh, pack factor, ...)
==================  =====================================================================

Every value is validated; a bad one raises :class:`DataValidationError` naming the
file, the row (line number and mine id), the column, the value and the rule.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

__all__ = [
    "GRADE_BASIS_FACTORS",
    "DataValidationError",
    "Dataset",
    "load_dataset",
    "sha256_file",
]

#: Mass of metal per unit mass of the species a grade is reported in (DOMAIN.md section 3).
#: REO: rare-earth oxide to rare-earth metal, 0.85 (typical for NdPr oxides).
GRADE_BASIS_FACTORS: dict[str, float] = {
    "metal": 1.0,
    "Li2O": 0.4646,
    "Al2O3": 0.529,
    "REO": 0.85,
}

MINING_METHODS = ("open_pit", "underground", "brine")


class DataValidationError(ValueError):
    """A data or run file breaks a rule; the message names file, row, column, value, rule."""

    def __init__(
        self,
        file: str | Path,
        rule: str,
        *,
        row: int | None = None,
        row_id: str | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.row_id = row_id
        self.column = column
        self.value = value
        self.rule = rule
        parts = [self.file]
        if row is not None:
            where = f"row {row}"
            if row_id is not None:
                where += f" ({row_id})"
            parts.append(where)
        if column is not None:
            parts.append(f"column '{column}'")
        head = ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
        msg = f"{head}: {rule}"
        if column is not None or value is not None:
            msg += f" (got {value!r})"
        super().__init__(msg)


# --------------------------------------------------------------------------- rules
Rule = tuple[str, Callable[[float], bool]]

POSITIVE: Rule = ("must be > 0", lambda x: x > 0)
NON_NEGATIVE: Rule = ("must be >= 0", lambda x: x >= 0)
UNIT_INTERVAL: Rule = ("must be in (0, 1]", lambda x: 0 < x <= 1)
SHARE: Rule = ("must be in [0, 1]", lambda x: 0 <= x <= 1)
GSD: Rule = ("must be >= 1 (a geometric standard deviation)", lambda x: x >= 1)
CV: Rule = ("must be in [0, 1)", lambda x: 0 <= x < 1)


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind ('str', 'float', 'bool') and rule."""

    name: str
    kind: str = "float"
    rule: Rule | None = None
    optional_value: bool = False  # an empty cell is allowed (becomes NaN)
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TableSpec:
    """Columns and key of one CSV file of a dataset."""

    file: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]


SPECS: dict[str, TableSpec] = {
    "countries": TableSpec(
        "countries.csv", (Column("iso3", "str"), Column("name", "str")), ("iso3",)
    ),
    "metals": TableSpec(
        "metals.csv",
        (
            Column("metal", "str"),
            Column("display_name", "str"),
            Column("fabrication_yield", rule=UNIT_INTERVAL),
            Column("energy_kwh_per_t", rule=NON_NEGATIVE),
            Column("energy_gsd", rule=GSD),
            Column("secondary_tmr_fraction", rule=SHARE),
            Column("sys_grade_gsd", rule=GSD),
            Column("sys_stripping_gsd", rule=GSD),
            Column("sys_recovery_sd", rule=CV),
        ),
        ("metal",),
    ),
    "mines": TableSpec(
        "mines.csv",
        (
            Column("mine_id", "str"),
            Column("name", "str"),
            Column("country", "str"),
            Column("metal", "str"),
            Column("archetype", "str"),
            Column("mining_method", "str", choices=MINING_METHODS),
            Column("production_t", rule=POSITIVE),
            Column("grade", rule=UNIT_INTERVAL),
            Column("grade_unit", "str", choices=tuple(GRADE_BASIS_FACTORS)),
            Column("stripping_ratio", rule=NON_NEGATIVE),
            Column("mill_recovery", rule=UNIT_INTERVAL),
            Column("conc_grade", rule=UNIT_INTERVAL, optional_value=True),
            Column("refining_recovery", rule=UNIT_INTERVAL),
            Column("alloc_economic", rule=SHARE),
            Column("alloc_mass", rule=SHARE),
            Column("main_product", "bool"),
            Column("grade_gsd", rule=GSD),
            Column("stripping_gsd", rule=GSD),
            Column("recovery_sd", rule=CV),
            Column("synthetic", "bool"),
        ),
        ("mine_id",),
    ),
    "supply": TableSpec(
        "supply.csv",
        (
            Column("metal", "str"),
            Column("country", "str"),
            Column("share", rule=SHARE),
            Column("concentration", rule=POSITIVE),
        ),
        ("metal", "country"),
    ),
    "vehicles": TableSpec(
        "vehicles.csv",
        (
            Column("vehicle", "str"),
            Column("metal", "str"),
            Column("content_kg", rule=NON_NEGATIVE),
            Column("cv", rule=CV),
        ),
        ("vehicle", "metal"),
    ),
    "fleet": TableSpec(
        "fleet.csv",
        (
            Column("vehicle", "str"),
            Column("display_name", "str"),
            Column("count", rule=NON_NEGATIVE),
            Column("count_cv", rule=CV),
            Column("nev", "bool"),
            Column("battery_kwh_min", rule=NON_NEGATIVE),
            Column("battery_kwh_mode", rule=NON_NEGATIVE),
            Column("battery_kwh_max", rule=NON_NEGATIVE),
        ),
        ("vehicle",),
    ),
    "chemistries": TableSpec(
        "chemistries.csv",
        (Column("chemistry", "str"), Column("metal", "str"), Column("kg_per_kwh", rule=NON_NEGATIVE)),
        ("chemistry", "metal"),
    ),
    "battery_mix": TableSpec(
        "battery_mix.csv",
        (
            Column("chemistry", "str"),
            Column("share", rule=SHARE),
            Column("concentration", rule=POSITIVE),
        ),
        ("chemistry",),
    ),
    "globals": TableSpec(
        "globals.csv",
        (
            Column("parameter", "str"),
            Column("value", rule=NON_NEGATIVE),
            Column("unit", "str"),
            Column("gsd", rule=GSD),
        ),
        ("parameter",),
    ),
}

#: The scalar inputs ``globals.csv`` must define.
GLOBAL_PARAMETERS = ("grid_hf_kg_per_kwh", "coal_used_kg_per_kwh", "battery_pack_factor")

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
SHARE_TOLERANCE = 1e-6
CONC_GRADE_TOLERANCE = 1e-4  # relative: conc_grade may be this much below the metal grade


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _row_label(spec: TableSpec, raw: pd.DataFrame, i: int) -> str:
    return ", ".join(f"{k}={raw.iloc[i][k]}" for k in spec.key if k in raw.columns)


def _check_field_counts(path: Path) -> None:
    """Every line must have as many fields as the header (pandas would shift columns)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataValidationError(path, f"not a readable CSV file ({exc})") from exc
    n_header = len(rows[0]) if rows else 0
    for line_no, fields in enumerate(rows, start=1):
        if fields and len(fields) != n_header:
                raise DataValidationError(
                    path, f"line has {len(fields)} fields but the header has {n_header}",
                    row=line_no, value=",".join(fields))


def read_table(path: Path, spec: TableSpec) -> pd.DataFrame:
    """Read and validate one CSV file against its spec.

    Rows are numbered as lines of the file (the header is line 1).
    """
    if not path.is_file():
        raise DataValidationError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataValidationError(path, "file is empty")
    _check_field_counts(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                          index_col=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError(path, f"not a readable CSV file ({exc})") from exc
    if raw.empty:
        raise DataValidationError(path, "file has a header but no data rows")
    missing = [c.name for c in spec.columns if c.name not in raw.columns]
    if missing:
        raise DataValidationError(
            path, f"missing column(s) {', '.join(repr(m) for m in missing)}"
        )
    out: dict[str, object] = {}
    for col in spec.columns:
        cells = raw[col.name].astype(str).str.strip()
        if col.kind == "str":
            for i, v in enumerate(cells):
                if v == "":
                    raise DataValidationError(
                        path, "must not be empty", row=i + 2,
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
                if col.choices is not None and v not in col.choices:
                    raise DataValidationError(
                        path, f"must be one of {', '.join(col.choices)}", row=i + 2,
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
            out[col.name] = cells.to_numpy(dtype=object)
        elif col.kind == "bool":
            vals = []
            for i, v in enumerate(cells):
                lv = v.lower()
                if lv not in _TRUE | _FALSE:
                    raise DataValidationError(
                        path, "must be true or false", row=i + 2,
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
                vals.append(lv in _TRUE)
            out[col.name] = vals
        else:
            vals_f = []
            for i, v in enumerate(cells):
                if v == "" and col.optional_value:
                    vals_f.append(math.nan)
                    continue
                try:
                    x = float(v)
                except ValueError:
                    x = math.nan
                if not math.isfinite(x):
                    raise DataValidationError(
                        path, "must be a finite number", row=i + 2,
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
                if col.rule is not None and not col.rule[1](x):
                    raise DataValidationError(
                        path, col.rule[0], row=i + 2,
                        row_id=_row_label(spec, raw, i), column=col.name, value=x,
                    )
                vals_f.append(x)
            out[col.name] = vals_f
    df = pd.DataFrame(out)
    extra = [c for c in raw.columns if c not in df.columns]
    for c in extra:  # free-text columns (source, notes) are kept as strings
        df[c] = raw[c].to_numpy(dtype=object)
    dup = df.duplicated(list(spec.key), keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        key_val = ", ".join(str(df.iloc[i][k]) for k in spec.key)
        same = (df[list(spec.key)] == df.iloc[i][list(spec.key)]).all(axis=1).to_numpy()
        first = int(same.nonzero()[0][0])
        raise DataValidationError(
            path, f"duplicate {'/'.join(spec.key)} (each must be unique; first on row "
            f"{first + 2})", row=i + 2,
            row_id=_row_label(spec, raw, i), column=spec.key[0], value=key_val,
        )
    return df


@dataclass(frozen=True)
class Dataset:
    """A validated dataset: the tables of one folder and the SHA-256 of each file.

    Attributes
    ----------
    path : Path
        The folder the tables came from.
    tables : Mapping[str, pandas.DataFrame]
        ``mines``, ``metals``, ``countries``, ``supply``, ``vehicles``, ``fleet``,
        ``chemistries``, ``battery_mix``, ``globals``.
    hashes : Mapping[str, str]
        File name -> SHA-256 of its bytes.
    """

    path: Path
    tables: Mapping[str, pd.DataFrame]
    hashes: Mapping[str, str] = field(default_factory=dict)

    @property
    def mines(self) -> pd.DataFrame:
        return self.tables["mines"]

    @property
    def metals(self) -> list[str]:
        """Metal names in the order of ``metals.csv``."""
        return list(self.tables["metals"]["metal"])

    @property
    def vehicles(self) -> list[str]:
        """Vehicle types in the order of ``fleet.csv``."""
        return list(self.tables["fleet"]["vehicle"])

    @property
    def countries(self) -> list[str]:
        """ISO3 codes of the countries that have mines, sorted."""
        return sorted(set(self.tables["mines"]["country"]))

    def global_value(self, name: str) -> float:
        g = self.tables["globals"].set_index("parameter")
        return float(cast(float, g.loc[name, "value"]))

    def global_gsd(self, name: str) -> float:
        g = self.tables["globals"].set_index("parameter")
        return float(cast(float, g.loc[name, "gsd"]))


def _check_refs(
    path: Path, df: pd.DataFrame, spec: TableSpec, column: str, valid: set[str], what: str
) -> None:
    for i, v in enumerate(df[column]):
        if v not in valid:
            raise DataValidationError(
                path, f"unknown {what} (not in {what}s of the dataset)", row=i + 2,
                row_id=", ".join(f"{k}={df.iloc[i][k]}" for k in spec.key),
                column=column, value=v,
            )


def _check_shares(path: Path, df: pd.DataFrame, by: str, what: str) -> None:
    for name, grp in df.groupby(by, sort=False):
        total = float(grp["share"].sum())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            first = int(grp.index[0])
            raise DataValidationError(
                path, f"{what} shares of {by} '{name}' must sum to 1 (within {SHARE_TOLERANCE:g})",
                row=first + 2, row_id=f"{by}={name}", column="share", value=round(total, 10),
            )


def load_dataset(path: str | Path) -> Dataset:
    """Load and validate a dataset folder.

    Parameters
    ----------
    path : str or Path
        Folder holding the CSV files listed in the module docstring.

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        The first broken rule, naming file, row, column, value and rule.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataValidationError(root, "dataset folder not found")
    tables = {name: read_table(root / spec.file, spec) for name, spec in SPECS.items()}
    hashes = {spec.file: sha256_file(root / spec.file) for spec in SPECS.values()}
    p = {name: root / spec.file for name, spec in SPECS.items()}

    countries = set(tables["countries"]["iso3"])
    metals = set(tables["metals"]["metal"])
    vehicles = set(tables["fleet"]["vehicle"])
    chems = set(tables["chemistries"]["chemistry"])

    mines = tables["mines"]
    _check_refs(p["mines"], mines, SPECS["mines"], "country", countries, "country code")
    _check_refs(p["mines"], mines, SPECS["mines"], "metal", metals, "metal")
    for name in ("supply",):
        _check_refs(p[name], tables[name], SPECS[name], "country", countries, "country code")
        _check_refs(p[name], tables[name], SPECS[name], "metal", metals, "metal")
    _check_refs(p["vehicles"], tables["vehicles"], SPECS["vehicles"], "metal", metals, "metal")
    _check_refs(p["vehicles"], tables["vehicles"], SPECS["vehicles"], "vehicle", vehicles, "vehicle")
    _check_refs(p["chemistries"], tables["chemistries"], SPECS["chemistries"], "metal", metals, "metal")
    _check_refs(
        p["battery_mix"], tables["battery_mix"], SPECS["battery_mix"], "chemistry", chems, "chemistry"
    )
    _check_shares(p["supply"], tables["supply"], "metal", "supply")
    total_mix = float(tables["battery_mix"]["share"].sum())
    if abs(total_mix - 1.0) > SHARE_TOLERANCE:
        raise DataValidationError(
            p["battery_mix"], f"battery mix shares must sum to 1 (within {SHARE_TOLERANCE:g})",
            column="share", value=round(total_mix, 10),
        )

    # every metal has supply rows; every supplying (metal, country) has at least one mine
    have = set(zip(mines["metal"], mines["country"], strict=True))
    supply = tables["supply"]
    for m in sorted(metals - set(supply["metal"])):
        raise DataValidationError(p["supply"], f"metal '{m}' has no supply shares", value=m)
    for i, (m, c, s) in enumerate(zip(supply["metal"], supply["country"], supply["share"], strict=True)):
        if s > 0 and (m, c) not in have:
            raise DataValidationError(
                p["supply"], "a supplying country needs at least one mine of that metal in mines.csv",
                row=i + 2, row_id=f"metal={m}, country={c}", column="country", value=c,
            )
    metal_grade = mines["grade"] * mines["grade_unit"].map(GRADE_BASIS_FACTORS)
    # equal is fine (direct-shipping ore); the tolerance absorbs the rounding of a
    # product of CSV values written to 6 significant digits
    low = mines["conc_grade"] < metal_grade * (1.0 - CONC_GRADE_TOLERANCE)
    for j in np.flatnonzero(low.to_numpy()):
        i = int(j)
        raise DataValidationError(
            p["mines"], "conc_grade must be at least the ore's metal grade (grade x the "
            f"metal fraction of grade_unit '{mines['grade_unit'].iloc[i]}' = "
            f"{metal_grade.iloc[i]:.6g}): concentration upgrades the ore",
            row=i + 2, row_id=f"mine_id={mines['mine_id'].iloc[i]}", column="conc_grade",
            value=float(mines["conc_grade"].iloc[i]),
        )
    fleet = tables["fleet"]
    if not float(fleet["count"].sum()) > 0.0:
        raise DataValidationError(
            p["fleet"], "at least one vehicle count must be positive (every metric is per "
            "fleet)", column="count", value=float(fleet["count"].sum()),
        )
    for label, r in fleet.iterrows():
        if not r.battery_kwh_min <= r.battery_kwh_mode <= r.battery_kwh_max:
            raise DataValidationError(
                p["fleet"], "must have battery_kwh_min <= battery_kwh_mode <= battery_kwh_max",
                row=int(cast(int, label)) + 2, row_id=f"vehicle={r.vehicle}",
                column="battery_kwh_mode",
                value=r.battery_kwh_mode,
            )
    glob = set(tables["globals"]["parameter"])
    for g in GLOBAL_PARAMETERS:
        if g not in glob:
            raise DataValidationError(p["globals"], f"parameter '{g}' must be defined", value=g)
    return Dataset(root, tables, hashes)
