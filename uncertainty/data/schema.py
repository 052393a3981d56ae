"""What a dataset holds: its files, their columns and the rules every value must meet.

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

:data:`SPECS` describes each file's columns (:class:`TableSpec`, :class:`Column`): kind,
hard rule, plausibility bound (:class:`Bound`), whether the column and its cells may be
missing. The documentation's column reference is generated from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from uncertainty.errors import UserError

__all__ = [
    "CONC_GRADE_TOLERANCE",
    "CV",
    "GLOBAL_PARAMETERS",
    "GRADE_BASIS_FACTORS",
    "GSD",
    "MINING_METHODS",
    "NON_NEGATIVE",
    "POSITIVE",
    "PROVENANCES",
    "SHARE",
    "SHARE_TOLERANCE",
    "SPECS",
    "UNIT_INTERVAL",
    "Bound",
    "Column",
    "DataValidationError",
    "TableSpec",
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

#: Where a mine's value came from (``grade_source``, ``stripping_source``,
#: ``recovery_source``), from the best to the least known.
PROVENANCES = ("reported", "other_year", "imputed", "synthetic")


class DataValidationError(UserError):
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
class Bound:
    """A plausibility bound of a column: values outside ``[low, high]`` are refused as
    implausible (unlike a rule, a dataset's ``plausibility.csv`` may move it)."""

    low: float | None = None
    high: float | None = None
    reason: str = ""

    def text(self, column: str) -> str:
        """The bound as ``low <= column <= high``."""
        lo = f"{self.low:g} <= " if self.low is not None else ""
        hi = f" <= {self.high:g}" if self.high is not None else ""
        return f"{lo}{column}{hi}"

    def holds(self, x: float) -> bool:
        return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind ('str', 'float', 'bool'), rule and
    plausibility bound."""

    name: str
    kind: str = "float"
    rule: Rule | None = None
    optional_value: bool = False  # an empty cell is allowed (NaN, '' or None by kind)
    choices: tuple[str, ...] | None = None
    bound: Bound | None = None
    required: bool = True  # False: the column may be absent (all its cells blank)


@dataclass(frozen=True)
class TableSpec:
    """Columns and key of one CSV file of a dataset."""

    file: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False  # the file may be absent (see load_dataset)


_GSD10 = Bound(None, 10, "a geometric standard deviation above 10 spans four orders of "
               "magnitude in its 95% interval")
_RECOVERY = Bound(0.01, None, "a recovery below 1% would make the ore requirement 100 times "
                  "the metal's")
_GWH = Bound(None, 1e9, "kWh per t of metal; the most energy-intensive metals (PGM) need "
             "about 4e7")
_CONCENTRATION = Bound(1e-3, 1e6, "a Dirichlet concentration outside this range makes the "
                       "shares degenerate or all but fixed")

SPECS: dict[str, TableSpec] = {
    "countries": TableSpec(
        "countries.csv", (Column("iso3", "str"), Column("name", "str")), ("iso3",)
    ),
    "metals": TableSpec(
        "metals.csv",
        (
            Column("metal", "str"),
            Column("display_name", "str"),
            Column("fabrication_yield", rule=UNIT_INTERVAL, bound=Bound(
                0.01, None, "a yield below 1% would make the metal demand 100 times the "
                "vehicles' content")),
            Column("energy_kwh_per_t", rule=NON_NEGATIVE, bound=_GWH),
            Column("energy_gsd", rule=GSD, bound=_GSD10),
            Column("secondary_tmr_fraction", rule=SHARE),
            Column("sys_grade_gsd", rule=GSD, bound=_GSD10),
            Column("sys_stripping_gsd", rule=GSD, bound=_GSD10),
            Column("sys_recovery_sd", rule=CV),
            Column("price_usd_per_t", rule=POSITIVE, optional_value=True, required=False,
                   bound=Bound(None, 1e9, "USD per t of metal; gold, the dearest mined metal, "
                               "cost about 4.5e7 in 2019")),
            Column("refining_recovery", rule=UNIT_INTERVAL, optional_value=True,
                   required=False, bound=_RECOVERY),
        ),
        ("metal",),
    ),
    "mines": TableSpec(
        "mines.csv",
        (
            Column("mine_id", "str"),
            Column("site_id", "str", optional_value=True, required=False),
            Column("name", "str"),
            Column("country", "str"),
            Column("metal", "str"),
            Column("archetype", "str", optional_value=True),
            Column("mining_method", "str", choices=MINING_METHODS),
            Column("production_t", rule=POSITIVE, bound=Bound(
                None, 1e10, "t per mine and year; ten times the largest producers (iron ore, "
                "about 1e9 t)")),
            Column("grade", rule=UNIT_INTERVAL, optional_value=True, bound=Bound(
                1e-9, None, "a part per billion; the leanest mined ores (gold, PGM) grade "
                "about 1e-6")),
            Column("grade_unit", "str", choices=tuple(GRADE_BASIS_FACTORS), optional_value=True),
            Column("stripping_ratio", rule=NON_NEGATIVE, optional_value=True, bound=Bound(
                None, 500, "t of waste per t of ore; reported open-pit ratios reach a "
                "few tens, exceptionally about 100")),
            Column("mill_recovery", rule=UNIT_INTERVAL, optional_value=True, bound=_RECOVERY),
            Column("conc_grade", rule=UNIT_INTERVAL, optional_value=True, bound=Bound(
                1e-6, None, "metal per t of concentrate; no concentrate is leaner than "
                "its ore")),
            Column("refining_recovery", rule=UNIT_INTERVAL, optional_value=True,
                   bound=_RECOVERY),
            Column("alloc_economic", rule=SHARE, optional_value=True),
            Column("alloc_mass", rule=SHARE, optional_value=True),
            Column("main_product", "bool", optional_value=True),
            Column("grade_gsd", rule=GSD, optional_value=True, bound=_GSD10),
            Column("stripping_gsd", rule=GSD, optional_value=True, bound=_GSD10),
            Column("recovery_sd", rule=CV, optional_value=True),
            Column("synthetic", "bool", optional_value=True),
            Column("grade_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False),
            Column("stripping_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False),
            Column("recovery_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False),
        ),
        ("mine_id",),
    ),
    "supply": TableSpec(
        "supply.csv",
        (
            Column("metal", "str"),
            Column("country", "str"),
            Column("share", rule=SHARE),
            Column("concentration", rule=POSITIVE, bound=_CONCENTRATION),
        ),
        ("metal", "country"),
    ),
    "vehicles": TableSpec(
        "vehicles.csv",
        (
            Column("vehicle", "str"),
            Column("metal", "str"),
            Column("content_kg", rule=NON_NEGATIVE, bound=Bound(
                None, 1e4, "kg of one metal per vehicle; a passenger car weighs 1-3 t")),
            Column("cv", rule=CV),
        ),
        ("vehicle", "metal"),
    ),
    "fleet": TableSpec(
        "fleet.csv",
        (
            Column("vehicle", "str"),
            Column("display_name", "str"),
            Column("count", rule=NON_NEGATIVE, bound=Bound(
                None, 1e9, "vehicles a year; world car production is about 1e8")),
            Column("count_cv", rule=CV),
            Column("nev", "bool"),
            Column("battery_kwh_min", rule=NON_NEGATIVE),
            Column("battery_kwh_mode", rule=NON_NEGATIVE),
            Column("battery_kwh_max", rule=NON_NEGATIVE, bound=Bound(
                None, 1000, "kWh per passenger car; the largest packs hold about 200")),
        ),
        ("vehicle",),
    ),
    "chemistries": TableSpec(
        "chemistries.csv",
        (Column("chemistry", "str"), Column("metal", "str"), Column("kg_per_kwh", rule=NON_NEGATIVE, bound=Bound(
            None, 100, "kg of cathode metal per kWh; real chemistries need below 2"))),
        ("chemistry", "metal"),
        optional=True,
    ),
    "battery_mix": TableSpec(
        "battery_mix.csv",
        (
            Column("chemistry", "str"),
            Column("share", rule=SHARE),
            Column("concentration", rule=POSITIVE, bound=_CONCENTRATION),
        ),
        ("chemistry",),
        optional=True,
    ),
    "globals": TableSpec(
        "globals.csv",
        (
            Column("parameter", "str"),
            Column("value", rule=NON_NEGATIVE, bound=Bound(
                None, 1e6, "the scalar inputs are per kWh or factors of order 1")),
            Column("unit", "str"),
            Column("gsd", rule=GSD, bound=_GSD10),
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
