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
    "CONC_GRADE_MAX",
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


#: Mass of metal per unit mass of the species a grade is reported in (stoichiometry: Li in Li2O, Al in Al2O3).
#: REO: rare-earth oxide to rare-earth metal, 0.85 (typical for NdPr oxides).
GRADE_BASIS_FACTORS: dict[str, float] = {
    "metal": 1.0,
    "Li2O": 0.4646,
    "Al2O3": 0.529,
    "REO": 0.85,
}

#: The richest a concentrate can be, per (metal, grade basis of the ore): the metal's mass
#: fraction in the pure mineral (or product) it is concentrated as, from the formula and
#: the IUPAC standard atomic weights; ``conc_grade`` above it is refused. Keyed by basis
#: because the basis says what is mined: lithium reported as Li2O is spodumene, as metal a
#: brine whose product is lithium carbonate. Metals absent here are not checked.
CONC_GRADE_MAX: dict[tuple[str, str], tuple[float, str]] = {
    ("aluminium", "Al2O3"): (0.5293, "alumina, Al2O3"),
    ("aluminium", "metal"): (0.5293, "alumina, Al2O3"),
    ("iron", "metal"): (0.7236, "magnetite, Fe3O4 (hematite Fe2O3: 0.6994)"),
    ("copper", "metal"): (0.7986, "chalcocite, Cu2S"),
    ("zinc", "metal"): (0.6710, "sphalerite, ZnS"),
    ("lead", "metal"): (0.8660, "galena, PbS"),
    ("nickel", "metal"): (0.7331, "heazlewoodite, Ni3S2"),
    ("cobalt", "metal"): (0.6410, "heterogenite, CoO(OH)"),
    ("manganese", "metal"): (0.7203, "hausmannite, Mn3O4 (pyrolusite MnO2: 0.6319)"),
    ("lithium", "Li2O"): (0.03729, "spodumene, LiAlSi2O6"),
    ("lithium", "metal"): (0.1879, "lithium carbonate, Li2CO3"),
    ("molybdenum", "metal"): (0.5994, "molybdenite, MoS2"),
    ("tin", "metal"): (0.7877, "cassiterite, SnO2"),
    ("rare_earths", "REO"): (0.85, "rare-earth oxide (the REO-to-metal factor)"),
    ("rare_earths", "metal"): (0.85, "rare-earth oxide (the REO-to-metal factor)"),
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
    plausibility bound, and what it means (the documentation's column reference).

    ``unit`` is the unit of a number (``-`` for a dimensionless one), ``meaning`` what
    the column says, ``default`` what a blank cell (or an absent optional column) means
    or is filled with.
    """

    name: str
    kind: str = "float"
    rule: Rule | None = None
    optional_value: bool = False  # an empty cell is allowed (NaN, '' or None by kind)
    choices: tuple[str, ...] | None = None
    bound: Bound | None = None
    required: bool = True  # False: the column may be absent (all its cells blank)
    unit: str = ""
    meaning: str = ""
    default: str = ""


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

_GEO_SD = "- (geometric sd)"
_SOURCE = ("`imputed` if the value is blank; else `synthetic` on a row with "
           "`synthetic = true`, else `reported`")

SPECS: dict[str, TableSpec] = {
    "countries": TableSpec(
        "countries.csv",
        (
            Column("iso3", "str", meaning="ISO 3166-1 alpha-3 country code; every code "
                   "`mines.csv`, `supply.csv` and the run file's `domestic` use must be "
                   "listed"),
            Column("name", "str", meaning="country name"),
        ),
        ("iso3",),
    ),
    "metals": TableSpec(
        "metals.csv",
        (
            Column("metal", "str", meaning="name every other table uses (`copper`, "
                   "`rare_earths`)"),
            Column("display_name", "str", meaning="name in tables and figures"),
            Column("fabrication_yield", rule=UNIT_INTERVAL, bound=Bound(
                0.01, None, "a yield below 1% would make the metal demand 100 times the "
                "vehicles' content"), unit="fraction",
                meaning="metal in the car per metal entering car manufacturing (scrap "
                "losses)"),
            Column("energy_kwh_per_t", rule=NON_NEGATIVE, bound=_GWH,
                   unit="kWh per t of metal", meaning="smelting and refining energy"),
            Column("energy_gsd", rule=GSD, bound=_GSD10, unit=_GEO_SD,
                   meaning="spread of the energy: LogNormal, median = `energy_kwh_per_t` "
                   "(0 kWh stays 0)"),
            Column("secondary_tmr_fraction", rule=SHARE, unit="fraction",
                   meaning="TMR of secondary (recycled) metal relative to primary metal's"),
            Column("sys_grade_gsd", rule=GSD, bound=_GSD10, unit=_GEO_SD,
                   meaning="systematic grade factor of the metal: LogNormal around 1, shared "
                   "by all its rows"),
            Column("sys_stripping_gsd", rule=GSD, bound=_GSD10, unit=_GEO_SD,
                   meaning="systematic stripping-ratio factor: LogNormal around 1, shared "
                   "by all the metal's sites"),
            Column("sys_recovery_sd", rule=CV, unit="- (absolute sd)",
                   meaning="systematic recovery factor: Normal around 1 with this sd, "
                   "truncated at max(1 - 5 sd, 0.001) and 1 + 5 sd"),
            Column("price_usd_per_t", rule=POSITIVE, optional_value=True, required=False,
                   bound=Bound(None, 1e9, "USD per t of metal; gold, the dearest mined metal, "
                               "cost about 4.5e7 in 2019"),
                   unit="USD per t of metal (study year)",
                   meaning="price for the economic allocation and the main product of "
                   "co-product sites",
                   default="no price: the metal's multi-row sites get no economic shares "
                   "(an error only under the allocation that needs them)"),
            Column("price_gsd", rule=GSD, optional_value=True, required=False, bound=_GSD10,
                   unit=_GEO_SD,
                   meaning="year-to-year spread of the price: LogNormal, median = "
                   "`price_usd_per_t`, shared by every site; co-product sites whose "
                   "economic shares or main product were computed from prices follow it "
                   "sample by sample",
                   default="fixed price: allocation shares fixed"),
            Column("refining_recovery", rule=UNIT_INTERVAL, optional_value=True,
                   required=False, bound=_RECOVERY, unit="fraction",
                   meaning="smelting and refining recovery of the metal; fills blank "
                   "`refining_recovery` cells of `mines.csv`",
                   default="none: every `mines.csv` row of the metal must give its own"),
        ),
        ("metal",),
    ),
    "mines": TableSpec(
        "mines.csv",
        (
            Column("mine_id", "str", meaning="row identifier, used in parameter names such "
                   "as `grade[CU-CHL-001]`"),
            Column("site_id", "str", optional_value=True, required=False,
                   meaning="rows with one `site_id` are one physical mine (one ore stream)",
                   default="the row is its own site"),
            Column("name", "str", meaning="mine name"),
            Column("country", "str", meaning="country of the mine: a code of "
                   "`countries.csv`"),
            Column("metal", "str", meaning="the metal this row produces: a `metal` of "
                   "`metals.csv` (one row per metal and site)"),
            Column("archetype", "str", optional_value=True,
                   meaning="deposit archetype that fills blank values and gives "
                   "across-deposit spreads",
                   default="the archetype of the row's metal and mining method (by country "
                   "where the metal has country-specific archetypes)"),
            Column("mining_method", "str", choices=MINING_METHODS,
                   meaning="`brine`: no waste rock and no hidden flow from the mine"),
            Column("production_t", rule=POSITIVE, bound=Bound(
                None, 1e10, "t per mine and year; ten times the largest producers (iron ore, "
                "about 1e9 t)"), unit="t of metal per year",
                meaning="metal in the mine's product in the study year; weights the row "
                "within its metal and country, and enters the allocation"),
            Column("grade", rule=UNIT_INTERVAL, optional_value=True, bound=Bound(
                1e-9, None, "a part per billion; the leanest mined ores (gold, PGM) grade "
                "about 1e-6"), unit="mass fraction in the `grade_unit` basis",
                meaning="ore grade (0.0065 = 0.65 %)",
                default="the archetype's median grade"),
            Column("grade_unit", "str", choices=tuple(GRADE_BASIS_FACTORS), optional_value=True,
                   meaning="species the grade is given in; its factor converts the grade "
                   "to metal (blank only with a blank `grade`)",
                   default="the archetype's grade basis"),
            Column("stripping_ratio", rule=NON_NEGATIVE, optional_value=True, bound=Bound(
                None, 500, "t of waste per t of ore; reported open-pit ratios reach a "
                "few tens, exceptionally about 100"), unit="t waste rock per t ore",
                meaning="waste to ore ratio; one value per site",
                default="the site's value, else the archetype's median (brine 0)"),
            Column("mill_recovery", rule=UNIT_INTERVAL, optional_value=True, bound=_RECOVERY,
                   unit="fraction", meaning="share of the ore's metal recovered into the "
                   "product", default="the archetype's modal recovery"),
            Column("conc_grade", rule=UNIT_INTERVAL, optional_value=True, bound=Bound(
                1e-6, None, "metal per t of concentrate; no concentrate is leaner than "
                "its ore"), unit="mass fraction of metal in the concentrate",
                meaning="concentrate grade, not below the ore's metal grade nor above the "
                "metal's fraction in its mineral (``CONC_GRADE_MAX``)",
                default="the archetype's concentrate grade; if it has none, whole-ore "
                "processing (the ore itself is shipped)"),
            Column("refining_recovery", rule=UNIT_INTERVAL, optional_value=True,
                   bound=_RECOVERY, unit="fraction",
                   meaning="smelting and refining recovery",
                   default="`metals.csv` `refining_recovery` of the metal, else an error"),
            Column("alloc_economic", rule=SHARE, optional_value=True, unit="fraction",
                   meaning="economic allocation share of the site's hidden flow",
                   default="computed per site from price x production; 1 for a single-row "
                   "site"),
            Column("alloc_mass", rule=SHARE, optional_value=True, unit="fraction",
                   meaning="mass allocation share of the site's hidden flow",
                   default="computed per site from production; 1 for a single-row site"),
            Column("main_product", "bool", optional_value=True,
                   meaning="main product of its site (`main-product` allocation)",
                   default="the site's highest-revenue row; `true` for a single-row site"),
            Column("grade_gsd", rule=GSD, optional_value=True, bound=_GSD10, unit=_GEO_SD,
                   meaning="per-mine spread of the grade: LogNormal, median = `grade`",
                   default="by `grade_source` (data.md, Gaps and provenance)"),
            Column("stripping_gsd", rule=GSD, optional_value=True, bound=_GSD10, unit=_GEO_SD,
                   meaning="per-mine spread of the stripping ratio: LogNormal, median = "
                   "`stripping_ratio` (a ratio of 0 stays 0)",
                   default="by `stripping_source`; 1 without waste rock"),
            Column("recovery_sd", rule=CV, optional_value=True, unit="fraction (absolute sd)",
                   meaning="per-mine spread of the mill recovery: Normal truncated to (0, 1]",
                   default="by `recovery_source`"),
            Column("synthetic", "bool", optional_value=True,
                   meaning="the row is a synthetic stand-in for uncovered production, not "
                   "a real mine",
                   default="`true` when all three `*_source` are `synthetic`"),
            Column("grade_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False, meaning="provenance of `grade`; sets its spread when "
                   "`grade_gsd` is blank", default=_SOURCE),
            Column("stripping_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False, meaning="provenance of `stripping_ratio`; sets its spread "
                   "when `stripping_gsd` is blank", default=_SOURCE),
            Column("recovery_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False, meaning="provenance of `mill_recovery`; sets its spread "
                   "when `recovery_sd` is blank", default=_SOURCE),
        ),
        ("mine_id",),
    ),
    "supply": TableSpec(
        "supply.csv",
        (
            Column("metal", "str", meaning="metal: a `metal` of `metals.csv`"),
            Column("country", "str", meaning="country where the metal is mined: a code of "
                   "`countries.csv`"),
            Column("share", rule=SHARE, unit="fraction",
                   meaning="share of the domestic country's supply of the metal from that "
                   "country; a metal's shares sum to 1"),
            Column("concentration", rule=POSITIVE, bound=_CONCENTRATION, unit="-",
                   meaning="Dirichlet concentration of the metal's shares (alpha = "
                   "concentration x share; larger = less spread); the metal's first row's "
                   "value is used"),
        ),
        ("metal", "country"),
    ),
    "vehicles": TableSpec(
        "vehicles.csv",
        (
            Column("vehicle", "str", meaning="vehicle type: a `vehicle` of `fleet.csv`"),
            Column("metal", "str", meaning="metal: a `metal` of `metals.csv` (a missing "
                   "pair is 0 kg)"),
            Column("content_kg", rule=NON_NEGATIVE, bound=Bound(
                None, 1e4, "kg of one metal per vehicle; a passenger car weighs 1-3 t"),
                unit="kg per vehicle",
                meaning="metal in the finished vehicle, battery cathode metals excluded "
                "(they come from `chemistries.csv`)"),
            Column("cv", rule=CV, unit="- (coefficient of variation)",
                   meaning="spread of the content: mean-preserving LogNormal"),
        ),
        ("vehicle", "metal"),
    ),
    "fleet": TableSpec(
        "fleet.csv",
        (
            Column("vehicle", "str", meaning="vehicle type (`icev`, `bev`, ...)"),
            Column("display_name", "str", meaning="name in tables and figures"),
            Column("count", rule=NON_NEGATIVE, bound=Bound(
                None, 1e9, "vehicles a year; world car production is about 1e8"),
                unit="vehicles per year",
                meaning="vehicles produced (the sum over types must be > 0)"),
            Column("count_cv", rule=CV, unit="- (coefficient of variation)",
                   meaning="spread of the count: Normal, sd = count x `count_cv`"),
            Column("nev", "bool", meaning="new-energy (battery or plug-in) vehicle; an NEV "
                   "needs the battery tables"),
            Column("battery_kwh_min", rule=NON_NEGATIVE, unit="kWh",
                   meaning="battery capacity, lower end"),
            Column("battery_kwh_mode", rule=NON_NEGATIVE, unit="kWh",
                   meaning="battery capacity, most likely (the nominal value; min <= mode "
                   "<= max)"),
            Column("battery_kwh_max", rule=NON_NEGATIVE, bound=Bound(
                None, 1000, "kWh per passenger car; the largest packs hold about 200"),
                unit="kWh", meaning="battery capacity, upper end (Triangular min/mode/max; "
                "fixed when min = max)"),
        ),
        ("vehicle",),
    ),
    "chemistries": TableSpec(
        "chemistries.csv",
        (
            Column("chemistry", "str", meaning="battery chemistry name (`NMC532`, `LFP`, "
                   "...)"),
            Column("metal", "str", meaning="cathode metal: a `metal` of `metals.csv`"),
            Column("kg_per_kwh", rule=NON_NEGATIVE, bound=Bound(
                None, 100, "kg of cathode metal per kWh; real chemistries need below 2"),
                unit="kg per kWh (cell level)",
                meaning="cathode metal per kWh; `globals.csv` `battery_pack_factor` scales "
                "it to the pack"),
        ),
        ("chemistry", "metal"),
        optional=True,
    ),
    "battery_mix": TableSpec(
        "battery_mix.csv",
        (
            Column("chemistry", "str", meaning="chemistry: a `chemistry` of "
                   "`chemistries.csv`"),
            Column("share", rule=SHARE, unit="fraction",
                   meaning="share of the battery mix (kWh); the shares sum to 1"),
            Column("concentration", rule=POSITIVE, bound=_CONCENTRATION, unit="-",
                   meaning="Dirichlet concentration of the mix (the first row's value is "
                   "used)"),
        ),
        ("chemistry",),
        optional=True,
    ),
    "globals": TableSpec(
        "globals.csv",
        (
            Column("parameter", "str", meaning="name of a scalar input "
                   "(`grid_hf_kg_per_kwh`, `coal_used_kg_per_kwh`, `battery_pack_factor` "
                   "are required)"),
            Column("value", rule=NON_NEGATIVE, bound=Bound(
                None, 1e6, "the scalar inputs are per kWh or factors of order 1"),
                unit="as the row's `unit`",
                meaning="nominal value (the median); LogNormal when value > 0 and gsd > 1, "
                "else fixed"),
            Column("unit", "str", meaning="unit of `value`, for the reader"),
            Column("gsd", rule=GSD, bound=_GSD10, unit=_GEO_SD, meaning="spread of the value"),
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
