"""Import of the Jasansky et al. (2023) open mine database into a dataset folder.

``uncertainty import jasansky SRC --year 2019 --out DIR`` reads the CSV folder of
Jasansky, Lieber, Giljum and Maus (2023), "An open database on global coal and metal mine
production", *Scientific Data* 10, 52, doi:10.1038/s41597-023-01965-y (data:
github.com/fineprint-global/compilation_mining_data) where it lies and writes a dataset
folder that :func:`uncertainty.data.load_dataset` reads: one site per facility and one
``mines.csv`` row per in-scope metal the facility produced in the window [year - 2, year]
(the metals of metals.csv, and gold, silver and molybdenum as by-products of co-product
sites), synthetic archetype mines for the rest of each supplying country's production
(``production.csv``), the supply-chain tables, and ``rejects.csv``: every row dropped or
corrected and every warning, ``rule`` = a stable rule id, a colon and the reason.

Rules (the ``rejects.csv`` rule ids):
* Facilities: ``duplicate_facility_id`` (the first row kept), ``regional_aggregate``
  (facility_type Region or Company: several mines, not one site), ``not_a_mine``
  (processing plants, a tailings re-treatment), ``mineral_sands_not_iron`` (primary
  commodity Iron, but ilmenite, rutile and zircon), ``no_country``;
  ``mixed_mining_method`` (open pit and underground: open_pit), ``mining_method_assumed``
  (the equipment does not say: the archetype's method).
* Units: grades are ppm of the reported species (Au, Ag, PGM: g/t = ppm; iron as Fe;
  bauxite as Al2O3; lithium as Li2O) and are written as a mass fraction of that species
  (``grade_unit`` metal, Al2O3, Li2O); tonnages become t of metal (Al2O3 x 0.529, Li2O x
  0.4646). ``li2o_concentrate_grade`` (an "ore" grade of 4% Li2O or more is a spodumene
  concentrate grade, and a tonnage of ore x that grade is replaced by concentrate x
  grade), ``cu_concentrate_grade_as_ore`` (an "ore" grade of 20% Cu or more): both move to
  ``conc_grade``.
* Impossible values, dropped value by value: ``grade_not_finite``,
  ``grade_not_positive``, ``grade_above_1e6``, ``grade_below_10ppb``,
  ``recovery_above_1``, ``recovery_not_positive``, ``recovery_below_1pct``,
  ``zero_tonnage``, ``tonnage_not_positive``, ``missing_tonnage``.
* Metal basis: per facility-year and metal the concentrate rows, the rows without a
  material (the mine's total) and the ore rows are never added; the first present of
  concentrate, total, ore is used (``mixed_basis``). Several rows of one facility, year
  and material are separate streams (leach and mill): summed, their grades weighted by
  ore processed (grades are head grades of ore processed, not of ore mined). Copper
  cathode (SX-EW, ``Oth.cuca``) is added to the copper of the concentrate.
  ``contained_to_recovered`` (an ore row whose tonnage is ore x grade, the metal
  contained in the ore: x the recovery, its own, its other years', the archetype's),
  ``grade_is_yield`` (a many-digit grade that is exactly metal / ore: computed from the
  production, not a head grade), ``metal_exceeds_ore_x_grade`` (the ore tonnage is not
  the stream behind the metal and is not used), ``concentrate_exceeds_ore`` (more
  concentrate than ore processed: that ore tonnage is not used).
* Iron, bauxite, manganese and lithium mines that report only ore or product tonnes
  (``minerals.csv``): ``metal_from_concentrate_tonnage`` (product t x its concentrate
  grade, else the archetype's), ``metal_from_ore_tonnage`` (ore processed, else mined,
  x its grade, else the archetype's median, x its recovery, else the archetype's mode;
  bauxite is its own product).
* Concentrate grades: ``conc_grade_implausible``, ``conc_grade_above_mineral`` (richer
  than the stoichiometric maximum of :data:`~uncertainty.data.CONC_GRADE_MAX`),
  ``conc_grade_below_ore``,
  ``conc_grade_below_archetype_grade`` (dropped), ``direct_shipping_ore`` (an ore richer
  than its archetype's concentrate: conc_grade = the ore's grade).
* Stripping ratio, waste rock per t ore mined, one per site, per facility-year in the
  order of :func:`uncertainty.build.jasansky._facility_sr`: ``stripping_out_of_range``
  (outside 0.05-30: waste in kt and the like).
* Years: the year itself where reported, else the latest year in the window
  (``production_other_year``); ``fiscal_year`` (July-June, April-March: the fiscal year
  ending in the year stands for it); ``partial_year`` (a year with fewer than half the
  rows of the years before, as 2020 in this database).
* By-products: ``byproduct_grade_median``, ``byproduct_recovery_median`` (no value of
  its own in any year: the median over co-product sites, written as imputed, with the
  spread across those sites), ``byproduct_no_grade``, ``byproduct_no_recovery``.
* Production: ``facilities_exceed_production`` (the facilities of a supplying country
  produce more than its national production: no synthetic mine).

``rejects.csv`` lists the rows of facilities with an in-scope metal: rows of the import
window, and rows of any year of the sites written (their other years give the
``other_year`` values); production-only corrections only for the years used. Rows of
facilities without an in-scope metal (gold, coal mines) are outside the import.

Provenance: ``grade_source``, ``stripping_source`` and ``recovery_source`` are
``reported`` (the facility's value for the year used), ``other_year`` (the median of the
facility's values of its other years in the database), blank (the loader fills the value
from the archetype and marks it ``imputed``), ``imputed`` (a by-product's median) or
``synthetic``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import shutil
import statistics
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uncertainty import store
from uncertainty.build.defaultdata import archetype_for
from uncertainty.build.jasansky import (
    _EXCLUDED_FACILITIES,
    _LATERITE_COUNTRIES,
    _LATERITE_FACILITIES,
    _PGM_PARTS,
    _SEDIMENT_CU_COUNTRIES,
    _Data,
    _iron_classes,
    _underground_only,
)
from uncertainty.data import (
    CONC_GRADE_MAX,
    DEFAULT_ARCHETYPES,
    GRADE_BASIS_FACTORS,
    DataValidationError,
)
from uncertainty.errors import USER_ERRORS

__all__ = [
    "MINES_COLUMNS",
    "REJECT_COLUMNS",
    "ImportResult",
    "add_parser",
    "import_jasansky",
    "run_cli",
]

DOI = "doi:10.1038/s41597-023-01965-y"
CITATION = ("Jasansky, Lieber, Giljum & Maus (2023), An open database on global coal and "
            f"metal mine production, Scientific Data 10, 52, {DOI}")
_WHAT_SRC = f"SRC must be the CSV folder of the Jasansky et al. (2023) database ({DOI})"

#: The default tables (the default dataset folder of the package).
DEFAULT_TABLES = DEFAULT_ARCHETYPES.parent
DEFAULT_PRODUCTION = DEFAULT_TABLES / "production.csv"

#: The files of the database the importer reads, and the columns it needs.
SOURCE_FILES: dict[str, tuple[str, ...]] = {
    "facilities.csv": ("facility_id", "facility_name", "sub_site_name", "facility_type",
                       "primary_commodity", "commodities_products", "facility_equipment",
                       "country", "GID_0"),
    "commodities.csv": ("id", "facility_id", "year", "material", "commodity", "value_tonnes",
                        "grade_ppm", "recovery_rate", "reporting_period", "id_minerals"),
    "minerals.csv": ("id", "facility_id", "year", "type", "material", "value_tonnes"),
    "waste.csv": ("facility_id", "year", "type_mining", "waste_type", "value_tonnes",
                  "total_material_tonnes", "stripping_ratio", "waste_to_ore_ratio"),
}
#: The supply-chain tables copied into the dataset folder.
TABLE_FILES = ("metals.csv", "countries.csv", "supply.csv", "vehicles.csv", "fleet.csv",
               "chemistries.csv", "battery_mix.csv", "globals.csv")
OPTIONAL_TABLE_FILES = ("chemistries.csv", "battery_mix.csv", "plausibility.csv")

MINES_COLUMNS = (
    "mine_id", "site_id", "name", "country", "country_name", "metal", "archetype",
    "mining_method", "production_t", "grade", "grade_unit", "stripping_ratio",
    "mill_recovery", "conc_grade", "refining_recovery", "alloc_economic", "alloc_mass",
    "main_product", "grade_gsd", "stripping_gsd", "recovery_sd", "synthetic",
    "grade_source", "stripping_source", "recovery_source",
)
REJECT_COLUMNS = ("facility", "year", "table", "column", "value", "rule")
PRODUCTION_COLUMNS = ("metal", "country", "year", "production_t", "source")
#: Countries of production.csv rows that are not countries: the world total.
WORLD = "WLD"

#: Commodity code -> metal.
METAL_OF: dict[str, str] = {
    "Me.Cu": "copper", "Oth.cuca": "copper", "Me.Zn": "zinc", "Me.Pb": "lead",
    "Me.Ni": "nickel", "Me.Co": "cobalt", "Me.Fe": "iron", "Me.Al2O3": "aluminium",
    "Me.Li2O": "lithium", "Me.Mn": "manganese", "Me.pgm": "pgm", "Me.REO": "rare_earths",
    "Me.Au": "gold", "Me.Ag": "silver", "Me.Mo": "molybdenum",
}
#: Commodities reported as a compound: the grade unit (a mass fraction of the compound).
SPECIES: dict[str, str] = {"Me.Al2O3": "Al2O3", "Me.Li2O": "Li2O", "Me.REO": "REO"}
#: By-products that carry revenue at co-product mines: their rows only take a share of a
#: site's allocation (no supply rows, no synthetic mines).
BYPRODUCTS = ("gold", "silver", "molybdenum")
#: metals.csv rows of the by-products: display name, 2019 price (USD per t) and source.
#: Year-to-year price spread (GSD) of the by-product metals: exp of the sd of the annual
#: log changes of the annual average price 2015-2019 (World Bank Pink Sheet: gold, silver,
#: molybdenum), approximate.
BYPRODUCT_PRICE_GSD = {"gold": 1.05, "silver": 1.07, "molybdenum": 1.23}
PRICE_GSD_SOURCE = ("price_gsd: exp of the sd of the year-to-year log changes of the annual "
                    "average price, World Bank Pink Sheet annual averages 2015-2019, "
                    "approximate (docs/data.md)")

BYPRODUCT_METALS: dict[str, tuple[str, float, float, str]] = {
    "gold": ("Gold (by-product)", 44.77e6, 0.98,
             "by-product of co-product mines; no vehicle demand. Price: World Bank Pink Sheet "
             "2019 average, 1,392.6 USD/troy oz x 32,150.7 troy oz per t; refining recovery "
             "illustrative"),
    "silver": ("Silver (by-product)", 521e3, 0.97,
               "by-product of co-product mines; no vehicle demand. Price: World Bank Pink "
               "Sheet 2019 average, 16.21 USD/troy oz x 32,150.7 troy oz per t; refining "
               "recovery illustrative"),
    "molybdenum": ("Molybdenum (by-product)", 26.5e3, 0.95,
                   "by-product of copper mines; no vehicle demand. Price: molybdic oxide "
                   "about 26.5 USD/kg Mo in 2019 (USGS Mineral Commodity Summaries 2020, "
                   "Molybdenum), approx.; refining recovery illustrative"),
}
#: Minerals-table materials of the metals whose mines often report only ore or product
#: tonnes: (ore materials, product materials).
ORE_MATERIALS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "iron": (frozenset({"O.Fe"}), frozenset({"O.Fe", "Con.Fe", "Oth.sif"})),
    "aluminium": (frozenset({"O.Al"}), frozenset({"Con.Al"})),
    "manganese": (frozenset({"O.Mn"}), frozenset({"Con.MnO", "Con.MnCO3", "Con.Mn"})),
    "lithium": (frozenset({"O.Li"}), frozenset({"Con.Li"})),
}
_MINERAL_SAND_MATERIALS = frozenset({"O.FeTiO3", "O.TiO2", "O.Zr", "O.leu", "Con.Ti", "Con.Zr",
                                     "O.CeLaPO4"})
_FIXED_ARCHETYPE = {"cobalt": "co_byproduct", "zinc": "zn", "lead": "pb", "pgm": "pgm",
                    "aluminium": "bauxite", "manganese": "mn", "rare_earths": "ree"}
_CODE = {"iron": "FE", "aluminium": "AL", "copper": "CU", "zinc": "ZN", "lead": "PB",
         "nickel": "NI", "cobalt": "CO", "lithium": "LI", "manganese": "MN", "pgm": "PGM",
         "rare_earths": "REE"}

# thresholds (see the module docstring)
GRADE_MAX_PPM = 1e6
RECOVERY_MIN = 0.01  # a recovery below 1% is an entry error (or a tailings re-treatment)
CONC_GRADE_MIN = 1e-6  # metal per t of concentrate: 1 g/t
GRADE_MIN_PPM = 0.01  # 10 ppb: below the leanest mined ores (gold, PGM about 0.3 ppm)
LI2O_CONCENTRATE_PPM = 40_000.0  # >= 4% Li2O: a spodumene concentrate, not an ore
CU_CONCENTRATE_PPM = 200_000.0  # >= 20% Cu "ore": a concentrate grade
METAL_OVER_ORE_TOLERANCE = 0.05  # metal > (1 + tol) x ore x grade: not the ore behind it
RECOVERED_TOLERANCE = 0.05  # |metal / (ore x grade x recovery) - 1|: recovered metal
CONTAINED_TOLERANCE = 0.02  # |metal / (ore x grade) - 1|: metal contained in the ore
STRIPPING_RANGE = (0.05, 30.0)
#: Rules that only change a production tonnage: listed for the facility-years used.
PRODUCTION_RULES = frozenset({"metal_from_ore_tonnage", "metal_from_concentrate_tonnage",
                              "contained_to_recovered", "mixed_basis"})
SYNTHETIC_MAX = 20
BYPRODUCT_GRADE_LOG_SD = 0.75
BYPRODUCT_RECOVERY_SD = 0.1
PARTIAL_YEAR_SHARE = 0.5  # fewer rows than this share of the three years before: partial
PARTIAL_YEAR_MIN_ROWS = 100  # ... of a database of at least this many rows a year


@dataclass
class ImportResult:
    """What :func:`import_jasansky` wrote.

    ``rows_per_metal`` counts real (facility) rows, ``synthetic_per_metal`` synthetic
    ones; ``coverage`` has per metal the real facilities' production (t of metal, all
    countries and the supplying countries only), the national production of the
    supplying countries and the world total of ``production.csv``; ``rule_counts`` the
    rows of ``rejects.csv`` per rule id.
    """

    out: Path
    year: int
    sites: int
    real_rows: int
    synthetic_rows: int
    rows_per_metal: dict[str, int]
    synthetic_per_metal: dict[str, int]
    sites_per_metal: dict[str, int]
    rejects: pd.DataFrame
    coverage: pd.DataFrame
    rule_counts: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- errors


def _fail(path: Path | str, rule: str) -> DataValidationError:
    return DataValidationError(path, rule)


# --------------------------------------------------------------------------- rejects


class _Rejects:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, facility: object, year: object, table: str, column: str, value: object,
            rule: str, words: str) -> None:
        y: object = ""
        if year is not None and not (isinstance(year, float) and math.isnan(year)) \
                and year != "":
            y = int(year)  # type: ignore[call-overload]
        self.rows.append({"facility": "" if facility is None else str(facility), "year": y,
                          "table": table, "column": column, "value": _text(value),
                          "rule": f"{rule}: {words}"})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(REJECT_COLUMNS))


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.6g}"
    if isinstance(v, (np.floating, np.integer)):
        return _text(float(v))
    return str(v)


def _g(x: float) -> str:
    return f"{x:.4g}"


# --------------------------------------------------------------------------- reading


def _source_path(src: Path, name: str) -> Path:
    """Where a file of the database lies: in SRC, or for facilities.csv also in the
    repository's sibling folder ``other_formats/`` (its layout: the CSV tables in
    ``final_format_csv/``, facilities.csv in ``other_formats/``)."""
    p = src / name
    if not p.is_file() and name == "facilities.csv":
        alt = src.parent / "other_formats" / name
        if alt.is_file():
            return alt
    return p


def _check_source_files(src: Path) -> None:
    if not src.exists():
        raise _fail(src, f"not found: {_WHAT_SRC}")
    if not src.is_dir():
        raise _fail(src, f"not a folder: {_WHAT_SRC}")
    for name in SOURCE_FILES:
        if not _source_path(src, name).is_file():
            raise _fail(src / name, f"not found: {_WHAT_SRC}")


def _read_source(src: Path) -> dict[str, pd.DataFrame]:
    """The four files of the database (checked: present, CSV, with the needed columns)."""
    _check_source_files(src)
    out: dict[str, pd.DataFrame] = {}
    for name, cols in SOURCE_FILES.items():
        path = _source_path(src, name)
        try:
            head = pd.read_csv(path, nrows=0)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise _fail(path, f"not a readable CSV file ({str(exc).splitlines()[0]}): "
                        f"{_WHAT_SRC}") from None
        missing = [c for c in cols if c not in head.columns]
        if missing:
            raise _fail(path, f"lacks column(s) {', '.join(map(repr, missing))}: {_WHAT_SRC}")
        try:
            df = pd.read_csv(path, usecols=list(cols), low_memory=False,
                             dtype={"facility_id": str})
        except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
            raise _fail(path, f"not a readable CSV file ({str(exc).splitlines()[0]}): "
                        f"{_WHAT_SRC}") from None
        out[name] = df
    for name in ("commodities.csv", "minerals.csv", "waste.csv"):
        df = out[name]
        df["year"] = pd.to_numeric(df["year"], errors="coerce")
        for c in ("value_tonnes", "grade_ppm", "recovery_rate", "total_material_tonnes",
                  "stripping_ratio", "waste_to_ore_ratio", "id_minerals", "id"):
            if c in df.columns:
                df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        df = df[df["year"].notna()].copy()
        df["year"] = df["year"].astype(int)
        df["facility_id"] = df["facility_id"].fillna("").astype(str)
        out[name] = df
    for c in ("material", "commodity", "reporting_period", "type", "type_mining",
              "waste_type"):
        for name in ("commodities.csv", "minerals.csv", "waste.csv"):
            df = out[name]
            if c in df.columns:
                df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    fac = out["facilities.csv"]
    for c in SOURCE_FILES["facilities.csv"]:
        fac[c] = fac[c].astype(object).where(fac[c].notna(), "").astype(str)
    return out


def _read_text_table(path: Path) -> tuple[list[str], list[dict[str, str]], str]:
    """Header, rows (as strings) and text of a CSV table."""
    if not path.is_file():
        raise _fail(path, "file not found")
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [dict(r) for r in reader]
    header = [h.strip() for h in (reader.fieldnames or [])]
    return header, rows, text


def _num(x: Any) -> float:
    """A cell as a float (NaN if it is not a number)."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _str(x: Any) -> str:
    return "" if x is None else str(x)


def _float(x: object) -> float:
    try:
        return float(str(x).replace(",", "").strip())
    except ValueError:
        return math.nan


def _read_production(path: Path, year: int, metals: Iterable[str]) -> pd.DataFrame:
    """production.csv: the rows of ``year`` (metal, country, production_t, source)."""
    header, rows, _ = _read_text_table(path)
    missing = [c for c in PRODUCTION_COLUMNS if c not in header]
    if missing:
        raise _fail(path, f"missing column(s) {', '.join(map(repr, missing))} (a production "
                    "table has metal, country, year, production_t, source)")
    known = set(metals)
    out = []
    seen: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows, start=2):
        y = _float(r["year"])
        if not math.isfinite(y) or y != int(y):
            raise DataValidationError(path, "must be a year", row=i, column="year",
                                      value=r["year"])
        if int(y) != year:
            continue
        m, c = r["metal"].strip(), r["country"].strip()
        if m not in known:
            raise DataValidationError(path, "unknown metal (not in metals.csv)", row=i,
                                      column="metal", value=m)
        t = _float(r["production_t"])
        if not (math.isfinite(t) and t > 0):
            raise DataValidationError(path, "must be a positive number of t of metal", row=i,
                                      column="production_t", value=r["production_t"])
        if (m, c) in seen:
            raise DataValidationError(path, f"duplicate metal/country for {year} (first on "
                                      f"row {seen[(m, c)]})", row=i, column="country", value=c)
        seen[(m, c)] = i
        out.append({"metal": m, "country": c, "production_t": t,
                    "source": r.get("source", "")})
    if not out:
        raise _fail(path, f"has no rows for {year} (give --production FILE with each "
                    f"supplying country's {year} mine production)")
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- helpers


def _is_round(x: float, digits: int = 4) -> bool:
    """True if ``x`` has at most ``digits`` significant digits (a reported, not a derived,
    number)."""
    if not math.isfinite(x) or x == 0:
        return False
    return math.isclose(float(f"{x:.{digits}g}"), x, rel_tol=1e-9)


def _median(vals: Iterable[float]) -> float:
    v = [x for x in vals if x is not None and math.isfinite(x)]
    return float(statistics.median(v)) if v else math.nan


def _mining_method(equipment: str) -> tuple[str, bool]:
    """open_pit / underground / brine / '' from facility_equipment, and whether it was
    mixed (open pit and underground)."""
    eq = equipment.lower()
    if "brine" in eq or "evaporation pond" in eq:
        return "brine", False
    surface = any(k in eq for k in ("open", "surface", "cast", "pit", "quarry", "dredg"))
    under = "underground" in eq
    if surface and under:
        return "open_pit", True
    if under:
        return "underground", False
    if surface:
        return "open_pit", False
    return "", False


@dataclass
class _MetalYear:
    """One metal of one facility-year, as the importer uses it."""

    facility: str
    metal: str
    year: int
    production_t: float
    how: str  # concentrate / total / ore / minerals
    grade: float = math.nan  # mass fraction of grade_unit
    grade_unit: str = "metal"
    recovery: float = math.nan
    conc_grade: float = math.nan  # mass fraction of metal
    fiscal: str = ""
    rows: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- the import


class _Importer:
    def __init__(self, raw: dict[str, pd.DataFrame], year: int, rej: _Rejects,
                 arche: pd.DataFrame, countries: Mapping[str, str],
                 prices: Mapping[str, float]) -> None:
        self.year = year
        self.prices = dict(prices)
        #: the metals written: those of metals.csv and the by-products
        self.metals = set(prices) | set(BYPRODUCTS)
        self.core = set(prices) - set(BYPRODUCTS)
        self.window = (year - 2, year)
        self.rej = rej
        self.arche = arche
        self.countries = dict(countries)
        self.fac_raw = raw["facilities.csv"]
        self.com_raw = raw["commodities.csv"]
        self.mine_raw = raw["minerals.csv"]
        self.waste_raw = raw["waste.csv"]

    # ------------------------------------------------------------ facilities
    def facilities(self) -> None:
        fac = self.fac_raw.copy()
        fac["facility_id"] = fac["facility_id"].str.strip()
        dup = fac.duplicated("facility_id", keep="first") & (fac["facility_id"] != "")
        for fid in fac.loc[dup, "facility_id"]:
            self.rej.add(fid, None, "facilities", "facility_id", fid, "duplicate_facility_id",
                         "the facility id is listed twice in facilities.csv; the first row "
                         "is kept")
        fac = fac[~dup & (fac["facility_id"] != "")]
        fac = fac.set_index("facility_id", drop=False)
        fac["underground_only"] = _underground_only(fac["facility_equipment"].replace("", np.nan))
        fac["GID_0"] = fac["GID_0"].str.strip()
        self.fac = fac

        com, mine = self.com_raw, self.mine_raw
        in_win_c = com["year"].between(*self.window)
        in_win_m = mine["year"].between(*self.window)
        scope_com = com["commodity"].isin(list(METAL_OF) + list(_PGM_PARTS))
        core_mats = set().union(*(a | b for a, b in ORE_MATERIALS.values()))
        window_data = set(com.loc[in_win_c & scope_com, "facility_id"]) | set(
            mine.loc[in_win_m & mine["material"].isin(core_mats | _MINERAL_SAND_MATERIALS),
                     "facility_id"])
        mats = pd.concat([mine[["facility_id", "material"]], com[["facility_id", "material"]]])
        mat_sets: dict[str, set[str]] = {}
        for fid_, mat_ in zip(mats["facility_id"], mats["material"], strict=True):
            if mat_:
                mat_sets.setdefault(str(fid_), set()).add(str(mat_))
        iron_mats = {"O.Fe", "Con.Fe", "Oth.sif"}
        com_fe = set(com.loc[com["commodity"] == "Me.Fe", "facility_id"])

        drop: dict[str, tuple[str, str]] = {}
        for r in fac.to_dict("records"):
            fid = str(r["facility_id"])
            ftype = str(r["facility_type"]).lower()
            ms = mat_sets.get(fid, set())
            if fid in _EXCLUDED_FACILITIES:
                drop[fid] = ("not_a_mine", _EXCLUDED_FACILITIES[fid])
            elif ("region" in ftype or "company" in ftype) and "mine" not in ftype:
                drop[fid] = ("regional_aggregate", f"facility_type '{r['facility_type']}': "
                             "an aggregate of several mines, not one site (one ore stream); "
                             "its production is left to the residual synthetic mines")
            elif r["primary_commodity"] == "Processing" or (
                    ftype and not any(k in ftype for k in ("mine", "concentrator"))):
                drop[fid] = ("not_a_mine", f"facility_type '{r['facility_type']}', primary "
                             f"commodity '{r['primary_commodity']}': a processing plant")
            elif r["primary_commodity"] == "Iron" and (ms & _MINERAL_SAND_MATERIALS) and not (
                    ms & iron_mats) and fid not in com_fe:
                drop[fid] = ("mineral_sands_not_iron", "primary commodity 'Iron' but the "
                             "facility mines mineral sands (ilmenite, rutile, zircon), not "
                             "iron ore; its ore and waste are not counted as iron")
            elif r["GID_0"] == "":
                drop[fid] = ("no_country", "no country code (GID_0)")
        for fid, (rule, words) in sorted(drop.items()):
            if fid in window_data:
                self.rej.add(fid, None, "facilities", "facility_type", fac.at[fid, "facility_type"],
                             rule, words)
        self.dropped = set(drop)
        self.known = set(fac.index) - self.dropped

    # ------------------------------------------------------------ commodity rows
    def commodities(self) -> None:
        com = self.com_raw
        com = com[com["commodity"].isin(list(METAL_OF) + list(_PGM_PARTS))
                  & com["facility_id"].isin(self.known)].copy()
        is_metal = com["commodity"].map(METAL_OF).fillna("pgm").isin(sorted(self.metals))
        com = com[is_metal]
        com["grade"] = com["grade_ppm"]
        com["rec"] = com["recovery_rate"]
        com["value"] = com["value_tonnes"]
        rj = self.rej
        for i, r in zip(com.index, _records(com), strict=True):
            fid, yr = r["facility_id"], r["year"]
            g = r["grade_ppm"]
            if not math.isnan(g):
                if not math.isfinite(g):
                    com.at[i, "grade"] = math.nan
                    rj.add(fid, yr, "commodities", "grade_ppm", g, "grade_not_finite",
                           f"grade_ppm of {r['commodity']} is infinite; dropped")
                elif g <= 0:
                    com.at[i, "grade"] = math.nan
                    rj.add(fid, yr, "commodities", "grade_ppm", g, "grade_not_positive",
                           f"grade_ppm of {r['commodity']} is {_g(g)} (<= 0); dropped")
                elif g > GRADE_MAX_PPM:
                    com.at[i, "grade"] = math.nan
                    rj.add(fid, yr, "commodities", "grade_ppm", g, "grade_above_1e6",
                           f"grade_ppm of {r['commodity']} is above 1e6 ppm (100%); dropped")
                elif g < GRADE_MIN_PPM:
                    com.at[i, "grade"] = math.nan
                    rj.add(fid, yr, "commodities", "grade_ppm", g, "grade_below_10ppb",
                           f"grade_ppm of {r['commodity']} is {_g(g)}, below {GRADE_MIN_PPM:g} "
                           "ppm (no mined ore is that lean: a unit error); dropped")
            rec = r["recovery_rate"]
            if not math.isnan(rec) and not (RECOVERY_MIN <= rec <= 1):
                com.at[i, "rec"] = math.nan
                rule = "recovery_above_1" if rec > 1 else (
                    "recovery_not_positive" if rec <= 0 else "recovery_below_1pct")
                rj.add(fid, yr, "commodities", "recovery_rate", rec, rule,
                       f"recovery_rate of {r['commodity']} is {_g(rec)}, outside "
                       f"[{RECOVERY_MIN:g}, 1]; dropped")
            v = r["value_tonnes"]
            if math.isnan(v):
                rj.add(fid, yr, "commodities", "value_tonnes", "", "missing_tonnage",
                       f"no value_tonnes for {r['commodity']}; the row gives no production")
            elif not math.isfinite(v) or v <= 0:
                com.at[i, "value"] = math.nan
                rule = "zero_tonnage" if v == 0 else "tonnage_not_positive"
                rj.add(fid, yr, "commodities", "value_tonnes", v, rule,
                       f"value_tonnes of {r['commodity']} is {_g(v)}; the row gives no "
                       "production (its grade is dropped with it)")
                com.at[i, "grade"] = math.nan
                com.at[i, "rec"] = math.nan
        # PGM: where only the single metals are reported, one summed Me.pgm row
        parts = com[com["commodity"].isin(_PGM_PARTS)]
        have = set(map(tuple, com.loc[com["commodity"] == "Me.pgm",
                                      ["facility_id", "year"]].to_numpy()))
        extra = []
        for (fid, yr, mat), g in parts.groupby(["facility_id", "year", "material"], sort=True):
            if (fid, yr) in have or not g["commodity"].isin(["Me.Pt", "Me.Pd"]).any():
                continue
            extra.append({
                "id": float(g["id"].min()), "facility_id": fid, "year": yr, "material": mat,
                "commodity": "Me.pgm", "value": g["value"].sum(min_count=1),
                "grade": g["grade"].sum(min_count=1) if g["grade"].notna().any() else math.nan,
                "rec": g["rec"].median(), "reporting_period": g["reporting_period"].iloc[0],
                "id_minerals": g["id_minerals"].iloc[0],
                "value_tonnes": g["value_tonnes"].sum(min_count=1),
                "grade_ppm": g["grade_ppm"].sum(min_count=1), "recovery_rate": math.nan})
        com = com[~com["commodity"].isin(_PGM_PARTS)]
        if extra:
            com = pd.concat([com, pd.DataFrame(extra)], ignore_index=True)
        com["metal"] = com["commodity"].map(METAL_OF)
        com["unit"] = com["commodity"].map(SPECIES).fillna("metal")
        material: pd.Series = com["material"].astype(str)
        com["stage"] = np.where(
            com["commodity"] == "Oth.cuca", "cathode",
            np.where(material.str.startswith("Con.") | material.str.startswith("Oth."), "conc",
                     np.where(material == "", "total",
                              np.where(material.str.startswith("O.") | (material == "M.lat"),
                                       "ore", "other"))))
        com = com[com["stage"] != "other"]
        self.com = com.reset_index(drop=True)
        # facilities whose rows the rejects list: those with an in-scope metal
        core_mats = set().union(*(a | b for m, (a, b) in ORE_MATERIALS.items()
                                  if m in self.core))
        mine = self.mine_raw
        self.candidates = set(com.loc[com["metal"].isin(sorted(self.core)), "facility_id"]) | \
            (set(mine.loc[mine["material"].isin(sorted(core_mats)), "facility_id"]) & self.known)

    # ------------------------------------------------------------ minerals rows
    def minerals(self) -> None:
        mine = self.mine_raw[self.mine_raw["facility_id"].isin(self.known)].copy()
        in_scope = set(self.com["facility_id"]) | set(mine.loc[mine["material"].isin(
            set().union(*(a | b for a, b in ORE_MATERIALS.values()))), "facility_id"])
        mine = mine[mine["facility_id"].isin(in_scope)]
        bad = ~(mine["value_tonnes"] > 0)
        for _, r in mine[bad].iterrows():
            v = r["value_tonnes"]
            rule = "zero_tonnage" if v == 0 else (
                "missing_tonnage" if math.isnan(v) else "tonnage_not_positive")
            self.rej.add(r["facility_id"], r["year"], "minerals", "value_tonnes", v, rule,
                         f"{r['type']} of {r['material'] or 'unnamed material'} is "
                         f"{_text(v) or 'missing'} t; not used")
        mine = mine[~bad]
        # more concentrate than ore processed: the ore processed tonnage is not used
        p = mine.pivot_table(index=["facility_id", "year"], columns="type",
                             values="value_tonnes", aggfunc="sum")
        self.conc_over_ore: set[tuple[str, int]] = set()
        if {"Concentrate", "Ore processed"} <= set(p.columns):
            over = p[p["Concentrate"] > p["Ore processed"]]
            for key, r in over.iterrows():
                k: Any = key
                fid, yr = str(k[0]), int(k[1])
                self.conc_over_ore.add((fid, yr))
                self.rej.add(fid, yr, "minerals", "value_tonnes", r["Ore processed"],
                             "concentrate_exceeds_ore",
                             f"concentrate {_g(r['Concentrate'])} t > ore processed "
                             f"{_g(r['Ore processed'])} t: the ore processed tonnage is not "
                             "the feed of this product and is not used")
        self.mine = mine
        mine_ok = mine[~pd.Series([(f, y) in self.conc_over_ore for f, y in
                                   zip(mine["facility_id"], mine["year"], strict=True)],
                                  index=mine.index, dtype=bool) | (mine["type"] != "Ore processed")]
        # ore processed behind each commodity row: the linked minerals row, or for a
        # linked 'Ore mined' row the ore processed of that facility, year and material
        # (grades are head grades of ore processed)
        by_id: dict[float, tuple[str, str, float]] = {}
        proc: dict[tuple[str, int, str], float] = {}
        for idm, typ, mat, t in zip(mine_ok["id"], mine_ok["type"], mine_ok["material"],
                                    mine_ok["value_tonnes"], strict=True):
            by_id.setdefault(float(idm), (str(typ), str(mat), float(t)))
        for fid, yr, typ, mat, t in zip(mine_ok["facility_id"], mine_ok["year"],
                                        mine_ok["type"], mine_ok["material"],
                                        mine_ok["value_tonnes"], strict=True):
            if typ == "Ore processed":
                k = (str(fid), int(yr), str(mat))
                proc[k] = proc.get(k, 0.0) + float(t)
        ore_t = []
        for idm, fid, yr in zip(self.com["id_minerals"], self.com["facility_id"],
                                self.com["year"], strict=True):
            t = math.nan
            row = by_id.get(float(idm)) if not math.isnan(idm) else None
            if row is not None:
                if row[0] == "Ore processed":
                    t = row[2]
                elif row[0] == "Ore mined":
                    t = proc.get((str(fid), int(yr), row[1]), math.nan)
            ore_t.append(t)
        self.com["ore_t"] = ore_t

    # ------------------------------------------------------------ grades and basis
    def corrections(self) -> None:
        com, rj = self.com, self.rej
        com["conc_g"] = math.nan  # concentrate grade, mass fraction of the species
        com["contained"] = False  # ore x grade: metal contained in the ore, no recovery
        conc_rows = com["stage"] == "conc"
        com.loc[conc_rows, "conc_g"] = com.loc[conc_rows, "grade"] / 1e6
        com.loc[conc_rows, "grade"] = math.nan
        com["prod"] = com["value"]
        for i, r in zip(com.index, _records(com), strict=True):
            fid, yr, c = r["facility_id"], r["year"], r["commodity"]
            g = r["grade"]
            if r["stage"] not in ("ore", "cathode") or math.isnan(g):
                continue
            if c == "Me.Li2O" and g >= LI2O_CONCENTRATE_PPM:
                com.at[i, "grade"] = math.nan
                com.at[i, "conc_g"] = g / 1e6
                words = (f"an 'ore' grade of {_g(g / 1e4)}% Li2O is a spodumene concentrate "
                         "grade; moved to conc_grade")
                cg = self._conc_t(fid, yr, ORE_MATERIALS["lithium"][1])
                if r["ore_t"] > 0 and not math.isnan(r["value"]) and math.isclose(
                        r["value"], r["ore_t"] * g / 1e6, rel_tol=CONTAINED_TOLERANCE):
                    if cg > 0:
                        com.at[i, "prod"] = cg * g / 1e6
                        words += (f"; value_tonnes (ore x that grade) replaced by concentrate "
                                  f"{_g(cg)} t x {_g(g / 1e4)}% = {_g(cg * g / 1e6)} t Li2O")
                    else:
                        com.at[i, "prod"] = math.nan
                        words += "; value_tonnes (ore x that grade) dropped"
                rj.add(fid, yr, "commodities", "grade_ppm", g, "li2o_concentrate_grade", words)
                continue
            if c in ("Me.Cu", "Oth.cuca") and g >= CU_CONCENTRATE_PPM:
                com.at[i, "grade"] = math.nan
                com.at[i, "conc_g"] = g / 1e6
                rj.add(fid, yr, "commodities", "grade_ppm", g, "cu_concentrate_grade_as_ore",
                       f"an 'ore' grade of {_g(g / 1e4)}% Cu is a concentrate grade; moved to "
                       "conc_grade")
                continue
            o, v, rec = r["ore_t"], r["value"], r["rec"]
            if not (o > 0) or math.isnan(v):
                continue
            if c == "Me.Al2O3":  # bauxite is shipped as mined: the ore is the product
                continue
            contained = o * g / 1e6
            ratio = v / contained
            if ratio > 1 + METAL_OVER_ORE_TOLERANCE:
                com.at[i, "ore_t"] = math.nan
                rj.add(fid, yr, "commodities", "value_tonnes", v, "metal_exceeds_ore_x_grade",
                       f"{c} {_g(v)} t > ore processed {_g(o)} t x grade {_g(g)} ppm = "
                       f"{_g(contained)} t: the ore tonnage is not the stream behind this "
                       "metal and is not used (the tonnage is taken as recovered metal)")
                continue
            if not math.isnan(rec):
                if abs(v / (contained * rec) - 1) <= RECOVERED_TOLERANCE:
                    continue  # recovered metal
                if abs(ratio - 1) <= CONTAINED_TOLERANCE:
                    com.at[i, "prod"] = v * rec
                    rj.add(fid, yr, "commodities", "value_tonnes", v, "contained_to_recovered",
                           f"{c} {_g(v)} t is ore x grade (metal contained in the ore); x "
                           f"recovery {_g(rec)} = {_g(v * rec)} t recovered")
                continue
            if abs(ratio - 1) <= 1e-6 and not _is_round(g, 6) and _is_round(v, 6):
                # a grade of many digits that is exactly metal / ore: computed from the
                # reported (recovered) metal, so a yield, not a head grade
                com.at[i, "grade"] = math.nan
                rj.add(fid, yr, "commodities", "grade_ppm", g, "grade_is_yield",
                       f"grade {g!r} ppm is exactly value_tonnes / ore processed (a "
                       "recovered grade computed from the production, not a head grade); "
                       "dropped, the tonnage is taken as recovered metal")
            elif abs(ratio - 1) <= CONTAINED_TOLERANCE:
                com.at[i, "contained"] = True
        self.com = com

    def _conc_t(self, fid: str, yr: int, materials: Iterable[str]) -> float:
        m = self.mine
        s = m[(m["facility_id"] == fid) & (m["year"] == yr) & (m["type"] == "Concentrate")
              & m["material"].isin(list(materials))]["value_tonnes"]
        return float(s.sum()) if len(s) else math.nan

    # ------------------------------------------------------------ facility-years
    def metal_years(self) -> None:
        """One :class:`_MetalYear` per facility, metal and year of the commodities rows."""
        groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for r in _records(self.com):
            groups.setdefault((r["facility_id"], r["metal"], int(r["year"])), []).append(r)
        out: dict[tuple[str, str, int], _MetalYear] = {}
        for (fid, metal, yr), g in sorted(groups.items()):
            have: dict[str, list[dict[str, Any]]] = {}
            for s in ("conc", "total", "ore"):
                rows = [r for r in g if r["stage"] == s and not math.isnan(r["prod"])]
                if rows:
                    have[s] = rows
            prod, how, used = 0.0, "", []
            if have:
                how = next(s for s in ("conc", "total", "ore") if s in have)
                used = have[how]
                prod = sum(r["prod"] for r in used)
                if len(have) > 1:
                    other = ", ".join(f"{s} rows ({_g(sum(r['prod'] for r in have[s]))} t)"
                                      for s in have if s != how)
                    self.rej.add(fid, yr, "commodities", "material", how, "mixed_basis",
                                 f"{metal}: {how} rows ({_g(prod)} t) and {other} of one "
                                 f"facility-year are not added; the {how} rows are used")
            cath = [r["prod"] for r in g if r["stage"] == "cathode" and not math.isnan(r["prod"])]
            total = prod + sum(cath)
            unit = str(g[0]["unit"])
            factor = GRADE_BASIS_FACTORS.get(unit, 1.0)
            # grade and recovery from the ore streams (ore rows and cathode rows)
            grade, rec = _weighted([r for r in g if r["stage"] in ("ore", "cathode")])
            conc_g = _median(r["conc_g"] for r in g) * factor
            my = _MetalYear(fid, metal, yr, total * factor, how or "cathode", grade, unit,
                            rec, conc_g)
            my.fiscal = next((r["reporting_period"] for r in g if r["reporting_period"]), "")
            my.rows = [int(r["id"]) for r in g if not math.isnan(r["id"])]
            if how == "ore" and any(r["contained"] for r in used):
                my.how = "ore_contained"
            out[(fid, metal, yr)] = my
        self.my = out
        self._grades: dict[tuple[str, str], dict[int, float]] = {}
        for (fid, metal, yr), my in out.items():
            self._grades.setdefault((fid, metal), {})[yr] = my.grade

    def minerals_metal_years(self) -> None:
        """Iron, bauxite, manganese and lithium from ore or product tonnes where the
        commodities table gives no metal tonnage."""
        groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for r in _records(self.mine):
            groups.setdefault((r["facility_id"], int(r["year"])), []).append(r)
        for metal, (ore_mats, prod_mats) in ORE_MATERIALS.items():
            if metal not in self.core:
                continue
            for (fid, yr), g in sorted(groups.items()):
                if not any(r["material"] in ore_mats | prod_mats for r in g):
                    continue
                key = (fid, metal, yr)
                have = self.my.get(key)
                if have is not None and have.production_t > 0:
                    continue
                product = sum(r["value_tonnes"] for r in g if r["type"] == "Concentrate"
                              and r["material"] in prod_mats)
                proc = sum(r["value_tonnes"] for r in g if r["type"] == "Ore processed"
                           and r["material"] in ore_mats)
                if (fid, yr) in self.conc_over_ore:
                    proc = 0.0
                mined = sum(r["value_tonnes"] for r in g if r["type"] == "Ore mined"
                            and r["material"] in ore_mats)
                my = have or _MetalYear(fid, metal, yr, 0.0, "minerals",
                                        grade_unit="Al2O3" if metal == "aluminium"
                                        else ("Li2O" if metal == "lithium" else "metal"))
                a = self.arche.loc[self._arch_key(fid, metal)]
                div = _div(str(a["grade_unit"]))
                factor = GRADE_BASIS_FACTORS.get(my.grade_unit, 1.0)
                if metal != "aluminium" and product > 0:
                    t = product
                    if my.conc_grade > 0:
                        cg, src = my.conc_grade, "its reported concentrate grade"
                    else:
                        cg = _num(a["conc_grade"])
                        src = f"the concentrate grade of archetype {a['archetype']}"
                    if not cg > 0:
                        continue
                    my.production_t = t * cg
                    self.rej.add(fid, yr, "minerals", "value_tonnes", t,
                                 "metal_from_concentrate_tonnage",
                                 f"no {metal} tonnage in commodities.csv: product {_g(t)} t x "
                                 f"{src} {_g(cg)} = {_g(t * cg)} t of {metal}")
                else:
                    t = proc if proc > 0 else mined
                    if not t > 0:
                        continue
                    what = "ore processed" if proc > 0 else "ore mined"
                    other_g = self._other_grade(fid, metal, yr)
                    if my.grade > 0:
                        gr, gsrc = my.grade, "its reported grade"
                    elif other_g > 0:
                        gr, gsrc = other_g, "its median grade of other years"
                    else:
                        gr, gsrc = _num(a["grade_median"]) / div, \
                            f"the median grade of archetype {a['archetype']}"
                    if metal == "aluminium":
                        r_, rsrc = 1.0, "1 (the bauxite itself is the product)"
                    elif my.recovery > 0:
                        r_, rsrc = my.recovery, "its reported recovery"
                    else:
                        r_ = _num(a["recovery_mode"])
                        rsrc = f"the modal recovery of archetype {a['archetype']}"
                    my.production_t = t * gr * factor * r_
                    self.rej.add(fid, yr, "minerals", "value_tonnes", t,
                                 "metal_from_ore_tonnage",
                                 f"no {metal} tonnage in commodities.csv: {what} {_g(t)} t x "
                                 f"{gsrc} {_g(gr)} {my.grade_unit}"
                                 f"{f' x {_g(factor)} t metal per t' if factor != 1 else ''} x "
                                 f"{rsrc} {_g(r_)} = {_g(my.production_t)} t of {metal}")
                my.how = "minerals"
                if my.production_t > 0:
                    self.my[key] = my

    def _other_grade(self, fid: str, metal: str, yr: int) -> float:
        """Median over the facility's other years of its facility-year ore grade."""
        return _median(g for y, g in self._grades.get((fid, metal), {}).items() if y != yr)

    def contained_to_recovered(self, rec_of: Mapping[tuple[str, str], tuple[float, str]]) -> None:
        for key, my in self.my.items():
            if my.how != "ore_contained":
                continue
            r, src = rec_of.get((my.facility, my.metal), (math.nan, ""))
            if not r > 0:
                continue
            before = my.production_t
            my.production_t *= r
            my.how = "ore"
            self.rej.add(my.facility, my.year, "commodities", "value_tonnes", before,
                         "contained_to_recovered",
                         f"{my.metal} {_g(before)} t is ore x grade (metal contained in the "
                         f"ore) and the row gives no recovery; x {src} {_g(r)} = "
                         f"{_g(my.production_t)} t recovered")
            self.my[key] = my

    # ------------------------------------------------------------ archetypes
    def classify(self) -> None:
        fac = self.fac
        com = self.com
        lat_mat = set(com.loc[com["material"] == "M.lat", "facility_id"]) | set(
            self.mine.loc[self.mine["material"] == "M.lat", "facility_id"])
        eq = fac["facility_equipment"].str.lower()
        lat = (fac["GID_0"].isin(_LATERITE_COUNTRIES) | fac.index.isin(sorted(_LATERITE_FACILITIES))
               | fac.index.isin(sorted(lat_mat)) | eq.str.contains("acid leach"))
        self.laterite = set(fac.index[lat & ~fac["underground_only"]])
        data = _Data(
            fac=fac[fac.index.isin(sorted(self.known))].assign(
                facility_equipment=fac["facility_equipment"].replace("", np.nan)),
            com=com.assign(grade_ppm=com["grade"]),
            mine=self.mine, waste=self.waste_raw, notes=[])
        self.iron_class = {str(k): str(v) for k, v in _iron_classes(data).items()}

    def _arch_key(self, fid: str, metal: str) -> str:
        country = self.fac.at[fid, "GID_0"] if fid in self.fac.index else ""
        if metal == "copper":
            return "cu_sediment" if country in _SEDIMENT_CU_COUNTRIES else "cu_porphyry"
        if metal == "nickel":
            return "ni_laterite" if fid in getattr(self, "laterite", set()) else "ni_sulphide"
        if metal == "iron":
            return getattr(self, "iron_class", {}).get(fid) or archetype_for("iron", _str(country),
                                                                             0)
        if metal == "lithium":
            method, _ = _mining_method(_str(self.fac.at[fid, "facility_equipment"]))
            return "li_brine" if method == "brine" else "li_spodumene"
        if metal in _FIXED_ARCHETYPE:
            return _FIXED_ARCHETYPE[metal]
        return ""

    # ------------------------------------------------------------ stripping ratios
    def stripping(self) -> dict[tuple[str, int], float]:
        """Per facility-year waste rock per t ore mined (the order of
        :func:`uncertainty.build.jasansky._facility_sr`), values outside STRIPPING_RANGE dropped."""
        w = self.waste_raw[self.waste_raw["facility_id"].isin(self.known)]
        w = w[~w["waste_type"].str.contains("ailing")]
        ore = self.mine[(self.mine["type"] == "Ore mined")
                        & self.mine["material"].str.match(r"^(O\.|M\.lat)")]
        ore_fy = ore.groupby(["facility_id", "year"])["value_tonnes"].sum()
        out: dict[tuple[str, int], float] = {}
        lo, hi = STRIPPING_RANGE
        groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for r in _records(w):
            groups.setdefault((str(r["facility_id"]), int(r["year"])), []).append(r)
        for (fid, yr), g in sorted(groups.items()):
            s = [r["stripping_ratio"] for r in g if not math.isnan(r["stripping_ratio"])]
            wo = [r["waste_to_ore_ratio"] for r in g if not math.isnan(r["waste_to_ore_ratio"])]
            rock = [r["value_tonnes"] for r in g if r["waste_type"] == "Waste rock"
                    and not math.isnan(r["value_tonnes"])]
            total = [r["total_material_tonnes"] for r in g
                     if not math.isnan(r["total_material_tonnes"])]
            ore_t = float(ore_fy.get((fid, yr), math.nan))
            wr = float(sum(rock)) if rock else math.nan
            tot = float(max(total)) if total else math.nan
            sr, how = math.nan, ""
            if s:
                sr, how = _median(s), "stripping_ratio"
            elif wo:
                sr, how = _median(wo), "waste_to_ore_ratio"
            elif wr > 0 and tot > wr:
                sr, how = wr / (tot - wr), "waste rock / (total material - waste rock)"
            elif wr > 0 and ore_t > 0:
                sr, how = wr / ore_t, "waste rock / ore mined"
            elif tot > 0 and ore_t > 0 and tot > ore_t:
                sr, how = (tot - ore_t) / ore_t, "(total material - ore mined) / ore mined"
            if math.isnan(sr):
                continue
            if not (lo <= sr <= hi):
                self.rej.add(fid, yr, "waste", "stripping_ratio", sr, "stripping_out_of_range",
                             f"waste/ore ratio {_g(sr)} ({how}) outside {lo:g}-{hi:g} (a unit "
                             "or entry error, e.g. waste in kt); dropped")
                continue
            out[(fid, yr)] = sr
        return out

    # ------------------------------------------------------------ the rows
    def build(self) -> tuple[pd.DataFrame, set[str]]:
        self.facilities()
        self.commodities()
        self.minerals()
        self.corrections()
        self.classify()
        self.metal_years()
        self.minerals_metal_years()
        y0, y1 = self.window
        core = self.core

        by_fm: dict[tuple[str, str], dict[int, _MetalYear]] = {}
        for (fid, metal, yr), my in self.my.items():
            by_fm.setdefault((fid, metal), {})[yr] = my

        def pick(years: Mapping[int, _MetalYear]) -> int | None:
            prod_years = [y for y, m in years.items() if y0 <= y <= y1 and m.production_t > 0]
            if not prod_years:
                return None
            return self.year if self.year in prod_years else max(prod_years)

        def other(years: Mapping[int, _MetalYear], used: int, attr: str) -> float:
            return _median(getattr(m, attr) for y, m in years.items() if y != used)

        # recoveries for the contained-metal rows: own year, other years, archetype
        rec_of: dict[tuple[str, str], tuple[float, str]] = {}
        for (fid, metal), years in by_fm.items():
            used = pick(years)
            if used is None or years[used].how != "ore_contained":
                continue
            r = years[used].recovery
            if r > 0:
                rec_of[(fid, metal)] = (r, "its recovery")
                continue
            r = other(years, used, "recovery")
            if r > 0:
                rec_of[(fid, metal)] = (r, "its median recovery of other years")
                continue
            key = self._arch_key(fid, metal)
            if key:
                rec_of[(fid, metal)] = (_num(self.arche.at[key, "recovery_mode"]),
                                        f"the modal recovery of archetype {key}")
        self.byproduct_medians = self._byproduct_medians(by_fm, core)
        for fid, metal in by_fm:
            br = self.byproduct_medians.get(metal, (math.nan, math.nan))[1]
            if metal in BYPRODUCTS and (fid, metal) not in rec_of and br > 0:
                rec_of[(fid, metal)] = (br, f"the median {metal} recovery of co-product sites")
        self.contained_to_recovered(rec_of)

        sr = self.stripping()
        sr_by_fac: dict[str, dict[int, float]] = {}
        for (fid, yr), v in sr.items():
            sr_by_fac.setdefault(fid, {})[yr] = v

        sites: dict[str, list[dict[str, Any]]] = {}
        for (fid, metal), years in sorted(by_fm.items()):
            used = pick(years)
            if used is None:
                continue
            sites.setdefault(fid, []).append({"metal": metal, "used": used, "years": years})
        # a site needs at least one in-scope (non-by-product) metal
        rows: list[dict[str, object]] = []
        site_ids: set[str] = set()
        self.used_years: set[tuple[str, int]] = set()
        for fid, mets in sorted(sites.items()):
            if not any(m["metal"] in core for m in mets):
                continue
            site_ids.add(fid)
            rows.extend(self._site_rows(fid, mets, sr_by_fac.get(fid, {})))
        return pd.DataFrame(rows), site_ids

    def _byproduct_medians(self, by_fm: Mapping[tuple[str, str], Mapping[int, _MetalYear]],
                           core: set[str]) -> dict[str, tuple[float, float]]:
        """Median grade and recovery of each by-product over co-product sites (facilities
        with an in-scope metal in the window), in the import year, else the window, else
        any year."""
        sites = {f for (f, m), ys in by_fm.items() if m in core
                 and any(self.window[0] <= y <= self.window[1] for y in ys)}
        out: dict[str, tuple[float, float]] = {}
        self.byproduct_spreads: dict[str, tuple[float, float]] = {}
        for bp in BYPRODUCTS:
            vals = [(y, my) for (f, m), ys in by_fm.items() if m == bp and f in sites
                    for y, my in ys.items()]
            res = []
            for attr in ("grade", "recovery"):
                v = math.nan
                for sel in (lambda y: y == self.year,
                            lambda y: self.window[0] <= y <= self.window[1],
                            lambda y: True):
                    v = _median(getattr(my, attr) for y, my in vals if sel(y))
                    if not math.isnan(v):
                        break
                res.append(v)
            out[bp] = (res[0], res[1])
            # spreads across the sites: log-sd of the site medians of grade (a geometric
            # sd), sd of their recoveries
            gs: dict[str, list[float]] = {}
            rs: dict[str, list[float]] = {}
            for _, my in vals:
                if my.grade > 0:
                    gs.setdefault(my.facility, []).append(my.grade)
                if my.recovery > 0:
                    rs.setdefault(my.facility, []).append(my.recovery)
            lg = [math.log(_median(v)) for v in gs.values()]
            rr = [_median(v) for v in rs.values()]
            gsd = math.exp(float(np.std(lg, ddof=1))) if len(lg) >= 3 else math.nan
            rsd = float(np.std(rr, ddof=1)) if len(rr) >= 3 else math.nan
            # with fewer than 3 sites: the across-facility spreads of primary metals in the
            # database (grade log-sd about 0.75, recovery sd about 0.1)
            self.byproduct_spreads[bp] = (
                min(max(gsd, 1.0), 10.0) if gsd > 0 else math.exp(BYPRODUCT_GRADE_LOG_SD),
                min(max(rsd, 0.01), 0.5) if rsd > 0 else BYPRODUCT_RECOVERY_SD)
        return out


    def _byproduct_median(self, fid: str, used: int, metal: str, what: str,
                          median: float) -> bool:
        """Record that a by-product row without its own grade (recovery) takes the median
        of co-product sites, or that there is none and the row is dropped (False)."""
        column = "grade_ppm" if what == "grade" else "recovery_rate"
        if not median > 0:
            self.rej.add(fid, used, "commodities", column, "", f"byproduct_no_{what}",
                         f"{metal}: no {what} in the database to stand for it; the row is "
                         "dropped")
            return False
        shown = f"{_g(median * 1e6)} g/t" if what == "grade" else _g(median)
        self.rej.add(fid, used, "commodities", column,
                     median * 1e6 if what == "grade" else median, f"byproduct_{what}_median",
                     f"{metal}: no {what} of its own; the median {metal} {what} of co-product "
                     f"sites ({shown}) is used")
        return True
    def _site_rows(self, fid: str, mets: list[dict[str, Any]],
                   sr_years: Mapping[int, float]) -> list[dict[str, object]]:
        f = self.fac.loc[fid]
        country = _str(f["GID_0"])
        name = f["facility_name"] or fid
        if f["sub_site_name"]:
            name = f"{name} ({f['sub_site_name']})"
        method, mixed = _mining_method(_str(f["facility_equipment"]))
        def revenue(m: Mapping[str, Any]) -> tuple[float, float]:
            t = m["years"][m["used"]].production_t
            return self.prices.get(m["metal"], math.nan) * t if math.isfinite(
                self.prices.get(m["metal"], math.nan)) else 0.0, t

        lead_metal = max((m for m in mets if m["metal"] not in BYPRODUCTS),
                         key=revenue)["metal"]
        if mixed:
            self.rej.add(fid, None, "facilities", "facility_equipment", f["facility_equipment"],
                         "mixed_mining_method", "open pit and underground: the site is "
                         "written as open_pit (one method per site)")
        if method == "":
            key = self._arch_key(fid, lead_metal)
            method = str(self.arche.at[key, "mining_method"]) if key else "open_pit"
            self.rej.add(fid, None, "facilities", "facility_equipment", f["facility_equipment"],
                         "mining_method_assumed", f"facility_equipment does not say the mining "
                         f"method; {method}, the method of "
                         f"{'archetype ' + key if key else 'most mines'}, is used")
        site_year = max(m["used"] for m in mets)
        if site_year in sr_years:
            sr, sr_src = sr_years[site_year], "reported"
        elif sr_years:
            sr, sr_src = _median(sr_years.values()), "other_year"
        else:
            sr, sr_src = math.nan, ""
        if method == "brine":
            sr, sr_src = math.nan, ""
        rows = []
        for m in mets:
            metal, used, years = m["metal"], m["used"], m["years"]
            my: _MetalYear = years[used]
            self.used_years.add((fid, used))
            if used != self.year:
                self.rej.add(fid, self.year, "minerals" if my.how == "minerals" else
                             "commodities", "year", used, "production_other_year",
                             f"{metal}: no {self.year} production reported; {used} is used "
                             f"(the latest year in the window {self.window[0]}-"
                             f"{self.window[1]})")
            if my.fiscal:
                self.rej.add(fid, used, "commodities", "reporting_period", my.fiscal,
                             "fiscal_year", f"{metal}: {my.fiscal} reporting period; the "
                             f"fiscal year ending in {used} stands for {used}")
            grade, g_src = my.grade, "reported"
            if not grade > 0:
                grade = _median(y.grade for yy, y in years.items() if yy != used)
                g_src = "other_year"
            rec, r_src = my.recovery, "reported"
            if not rec > 0:
                rec = _median(y.recovery for yy, y in years.items() if yy != used)
                r_src = "other_year"
            conc = my.conc_grade
            if not conc > 0:
                conc = _median(y.conc_grade for yy, y in years.items() if yy != used)
            if not grade > 0:
                grade, g_src = math.nan, ""
            if not rec > 0:
                rec, r_src = math.nan, ""
            key = self._arch_key(fid, metal)
            if metal in BYPRODUCTS:
                bg, br = self.byproduct_medians.get(metal, (math.nan, math.nan))
                if math.isnan(grade):
                    if not self._byproduct_median(fid, used, metal, "grade", bg):
                        continue
                    grade, g_src = bg, "imputed"
                if math.isnan(rec):
                    if not self._byproduct_median(fid, used, metal, "recovery", br):
                        continue
                    rec, r_src = br, "imputed"
            factor = GRADE_BASIS_FACTORS.get(my.grade_unit, 1.0)
            if 0 < conc < CONC_GRADE_MIN:
                self.rej.add(fid, used, "commodities", "grade_ppm", conc, "conc_grade_implausible",
                             f"{metal}: concentrate grade {_g(conc)} below {CONC_GRADE_MIN:g} "
                             "(1 g/t); dropped")
                conc = math.nan
            top = CONC_GRADE_MAX.get((metal, my.grade_unit or "metal"))
            if top is not None and conc > top[0]:
                self.rej.add(fid, used, "commodities", "grade_ppm", conc, "conc_grade_above_mineral",
                             f"{metal}: concentrate grade {_g(conc)} above {top[0]:g}, the "
                             f"metal fraction of {top[1]}; the concentrate grade is dropped")
                conc = math.nan
            if conc > 0 and grade > 0 and conc < grade * factor:
                self.rej.add(fid, used, "commodities", "grade_ppm", conc, "conc_grade_below_ore",
                             f"{metal}: concentrate grade {_g(conc)} below the ore's metal "
                             f"grade {_g(grade * factor)}; the concentrate grade is dropped")
                conc = math.nan
            if conc > 0 and not grade > 0 and key:
                a = self.arche.loc[key]
                ag = _num(a["grade_median"]) / _div(str(a["grade_unit"])) * factor
                if conc < ag:
                    self.rej.add(fid, used, "commodities", "grade_ppm", conc,
                                 "conc_grade_below_archetype_grade",
                                 f"{metal}: concentrate grade {_g(conc)} below the median "
                                 f"grade of archetype {key} ({_g(ag)}) that fills the blank ore "
                                 "grade; the concentrate grade is dropped")
                    conc = math.nan
            if not conc > 0 and grade > 0 and key:
                ac = _num(self.arche.at[key, "conc_grade"])
                if ac > 0 and ac < grade * factor:
                    conc = grade * factor
                    self.rej.add(fid, used, "commodities", "grade_ppm", grade,
                                 "direct_shipping_ore", f"{metal}: ore grade {_g(grade * factor)}"
                                 f" above the concentrate grade of archetype {key} ({_g(ac)}): "
                                 "the ore is shipped as mined (conc_grade = the ore's grade)")
            rows.append({
                "mine_id": f"{fid}:{metal}", "site_id": fid, "name": name, "country": country,
                "country_name": self.countries.get(country) or f["country"] or country,
                "metal": metal, "archetype": key, "mining_method": method,
                "production_t": my.production_t,
                "grade": grade, "grade_unit": my.grade_unit if grade > 0 else "",
                "stripping_ratio": sr, "mill_recovery": rec, "conc_grade": conc,
                "refining_recovery": math.nan, "alloc_economic": math.nan,
                "alloc_mass": math.nan, "main_product": "", "grade_gsd": math.nan,
                "stripping_gsd": math.nan, "recovery_sd": math.nan, "synthetic": "false",
                "grade_source": g_src, "stripping_source": sr_src, "recovery_source": r_src,
                "_lead": metal == lead_metal,
            })
            if metal in BYPRODUCTS:
                # no archetype to give an imputed value its spread: the spread across the
                # co-product sites the median was taken over
                gsd, rsd = self.byproduct_spreads.get(metal, (math.nan, math.nan))
                if g_src == "imputed":
                    rows[-1]["grade_gsd"] = gsd
                if r_src == "imputed":
                    rows[-1]["recovery_sd"] = rsd
        return rows


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]


def _div(unit: str) -> float:
    return 1e6 if unit == "g/t" else (1.0 if unit == "fraction" else 100.0)


def _weighted(ore: list[dict[str, Any]]) -> tuple[float, float]:
    """Grade (mass fraction) and recovery of a facility-year's ore streams: weighted by
    ore processed (recovery by metal contained) where every stream has its ore tonnage,
    else the medians."""
    g = [r for r in ore if not math.isnan(r["grade"])]
    if not g:
        grade = math.nan
    elif len(g) > 1 and all(r["ore_t"] > 0 for r in g):
        grade = sum(r["grade"] * r["ore_t"] for r in g) / sum(r["ore_t"] for r in g) / 1e6
    else:
        grade = _median(r["grade"] for r in g) / 1e6
    rr = [r for r in ore if not math.isnan(r["rec"])]
    if not rr:
        rec = math.nan
    elif len(rr) > 1 and all(r["ore_t"] > 0 and not math.isnan(r["grade"]) for r in rr):
        w = [r["ore_t"] * r["grade"] for r in rr]
        rec = sum(r["rec"] * x for r, x in zip(rr, w, strict=True)) / sum(w)
    else:
        rec = _median(r["rec"] for r in rr)
    return grade, rec


# --------------------------------------------------------------------------- synthetic


def _synthetic(real: pd.DataFrame, production: pd.DataFrame, supply: pd.DataFrame,
               arche: pd.DataFrame, countries: Mapping[str, str], rej: _Rejects,
               prod_path: Path, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic mines for the residual of each supplying country's production, and the
    coverage table."""
    prod = {(m, c): (t, s) for m, c, t, s in production[
        ["metal", "country", "production_t", "source"]].itertuples(index=False)}
    have = real.groupby(["metal", "country"])["production_t"].sum().to_dict() \
        if len(real) else {}
    rows = []
    shares = supply[supply["share"] > 0]
    sizes = {str(k): _num(v) for k, v in zip(arche["archetype"], arche["size_median_t"],
                                              strict=True)}
    methods = {str(k): str(v) for k, v in zip(arche["archetype"], arche["mining_method"],
                                               strict=True)}
    for metal, country in shares[["metal", "country"]].itertuples(index=False):
        if (metal, country) not in prod:
            raise _fail(prod_path, f"has no row for {metal}, {country} (every metal and "
                        "country with a supply share in supply.csv needs its national "
                        "production)")
        national = prod[(metal, country)][0]
        facilities = float(have.get((metal, country), 0.0))
        residual = national - facilities
        if residual <= 0:
            rej.add("", year, "production", "production_t", national,
                    "facilities_exceed_production",
                    f"{metal}, {country}: the facilities produce {_g(facilities)} t, national "
                    f"production is {_g(national)} t; no synthetic mine is added")
            continue
        a0 = archetype_for(metal, country, 0)
        size = sizes[a0]
        n = int(min(max(round(residual / size), 1), SYNTHETIC_MAX))
        for i in range(n):
            a = archetype_for(metal, country, i)
            rows.append({
                "mine_id": f"SYN-{_CODE.get(metal, metal.upper())}-{country}-{i + 1:03d}",
                "site_id": "",
                "name": f"Synthetic {metal.replace('_', ' ')} mine {country} {i + 1} "
                        "(national production not covered by facilities)",
                "country": country, "country_name": countries.get(country, country),
                "metal": metal, "archetype": a,
                "mining_method": methods[a],
                "production_t": residual / n, "grade": math.nan, "grade_unit": "",
                "stripping_ratio": math.nan, "mill_recovery": math.nan, "conc_grade": math.nan,
                "refining_recovery": math.nan, "alloc_economic": math.nan,
                "alloc_mass": math.nan, "main_product": "", "grade_gsd": math.nan,
                "stripping_gsd": math.nan, "recovery_sd": math.nan, "synthetic": "true",
                "grade_source": "synthetic", "stripping_source": "synthetic",
                "recovery_source": "synthetic",
            })
    cov = []
    supplying = set(map(tuple, shares[["metal", "country"]].to_numpy()))
    for metal in sorted(set(shares["metal"])):
        r = real[real["metal"] == metal] if len(real) else real
        in_sup = sum(float(t) for c, t in zip(r.get("country", []), r.get("production_t", []),
                                              strict=True) if (metal, c) in supplying)
        cov.append({
            "metal": metal,
            "facilities_t": float(r["production_t"].sum()) if len(r) else 0.0,
            "facilities_supplying_t": in_sup,
            "national_supplying_t": sum(t for (m, c), (t, _) in prod.items()
                                        if m == metal and (m, c) in supplying),
            "world_t": prod.get((metal, WORLD), (math.nan, ""))[0],
        })
    coverage = pd.DataFrame(cov)
    if len(coverage):
        coverage["world_share"] = coverage["facilities_t"] / coverage["world_t"]
    return pd.DataFrame(rows), coverage


# --------------------------------------------------------------------------- writing


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        x = float(v)
        return "" if math.isnan(x) else f"{x:.6g}"
    return str(v)


def _write_rows(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, object]]) -> None:
    cols = list(columns)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([_fmt(r.get(c, "")) for c in cols])


def _append_rows(src_text: str, header: list[str], rows: Iterable[Mapping[str, object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow([_fmt(r.get(c, "")) for c in header])
    text = src_text if src_text.endswith("\n") or not src_text else src_text + "\n"
    return text + buf.getvalue()


def _check_out(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise _fail(out, "--out exists and is not a folder: give a new or empty folder")
        if any(out.iterdir()):
            raise _fail(out, "--out exists and is not empty: give a new or empty folder "
                        "(nothing is overwritten)")


def _check_year(raw: Mapping[str, pd.DataFrame], year: int, src: Path, rej: _Rejects) -> None:
    com = raw["commodities.csv"]
    mine = raw["minerals.csv"]
    years = pd.concat([com["year"], mine["year"]])
    counts = years.value_counts()
    if counts.get(year, 0) == 0:
        lo, hi = (int(years.min()), int(years.max())) if len(years) else (0, 0)
        span = f"the database covers {lo}-{hi}" if len(years) else "the database has no rows"
        raise _fail(src / "commodities.csv", f"no data for {year}: {span}")
    before = [counts.get(y, 0) for y in (year - 3, year - 2, year - 1)]
    ref = float(np.median(before))
    if ref >= PARTIAL_YEAR_MIN_ROWS and counts.get(year, 0) < PARTIAL_YEAR_SHARE * ref:
        rej.add("", year, "commodities", "year", int(counts.get(year, 0)), "partial_year",
                f"{year} has {int(counts.get(year, 0))} rows against a median of {ref:.0f} "
                "in the three years before: the year is partial; the window's earlier years "
                "stand in where it lacks a facility")


def import_jasansky(src: str | Path, year: int, out: str | Path, *,
                    production: str | Path | None = None,
                    tables: str | Path | None = None) -> ImportResult:
    """Import the Jasansky et al. (2023) database for ``year`` into the folder ``out``.

    Parameters
    ----------
    src : path
        The CSV folder of the database (facilities.csv, commodities.csv, minerals.csv,
        waste.csv).
    year : int
        The year to import; production comes from [year - 2, year].
    out : path
        A new or empty folder; the dataset is written to a temporary sibling folder and
        renamed at the end (nothing half-written).
    production : path, optional
        National mine production per metal and country (``production.csv``: metal,
        country, year, production_t, source); default ``distributions/production.csv``.
    tables : path, optional
        Folder with the supply-chain tables (metals.csv, countries.csv, supply.csv, ...);
        default ``distributions/``.

    Raises
    ------
    DataValidationError
        SRC is not the database, the year has no data, ``out`` exists and is not empty,
        or a table is malformed (one line naming the file and the rule).
    """
    src, out = Path(src), Path(out)
    _check_out(out)
    _check_source_files(src)
    tdir = Path(tables) if tables is not None else DEFAULT_TABLES
    if not tdir.is_dir():
        raise _fail(tdir, "--tables: folder not found")
    texts: dict[str, tuple[list[str], list[dict[str, str]], str]] = {}
    for name in (*TABLE_FILES, "plausibility.csv"):
        p = tdir / name
        if name in OPTIONAL_TABLE_FILES and not p.is_file():
            continue
        texts[name] = _read_text_table(p)
    arche_path = tdir / "archetypes.csv" if (tdir / "archetypes.csv").is_file() \
        else DEFAULT_ARCHETYPES
    arche = pd.read_csv(arche_path).set_index("archetype", drop=False)
    m_header, m_rows, _ = texts["metals.csv"]
    metals = [r["metal"] for r in m_rows]
    prices = {r["metal"]: _float(r.get("price_usd_per_t", "")) for r in m_rows}
    countries = {r["iso3"]: r["name"] for r in texts["countries.csv"][1]}
    supply = pd.DataFrame(texts["supply.csv"][1])
    supply["share"] = supply["share"].map(_float)
    raw = _read_source(src)
    rej = _Rejects()
    _check_year(raw, year, src, rej)
    prod_path = Path(production) if production is not None else DEFAULT_PRODUCTION
    prod = _read_production(prod_path, year, list(metals) + list(BYPRODUCTS))
    imp = _Importer(raw, year, rej, arche, countries, prices)
    real, site_ids = imp.build()
    if real.empty:
        real = pd.DataFrame(columns=[*MINES_COLUMNS, "_lead"])
    synth, coverage = _synthetic(real, prod, supply, arche, countries, rej, prod_path, year)

    # rejects: facility-level rows and warnings; the rows of facilities with an in-scope
    # metal in the window, and of any year for the sites written (their other years)
    rj = rej.frame()
    yrs = pd.to_numeric(rj["year"], errors="coerce")
    facility_level = (rj["facility"] == "") | rj["table"].isin(["facilities", "production"])
    keep = facility_level | rj["facility"].isin(site_ids) | (
        rj["facility"].isin(imp.candidates) & yrs.between(year - 2, year))
    production_only = rj["rule"].str.split(":").str[0].isin(sorted(PRODUCTION_RULES))
    used = pd.Series([(f, int(y)) in imp.used_years if not math.isnan(y) else False
                      for f, y in zip(rj["facility"], yrs, strict=True)], index=rj.index,
                     dtype=bool)
    keep &= ~production_only | used
    rj = rj[keep].reset_index(drop=True)

    # rows of a site together, its lead (largest) metal first, by-products last
    if len(real):
        real["_order"] = [0 if lead else (2 if m in BYPRODUCTS else 1)
                          for lead, m in zip(real["_lead"], real["metal"], strict=True)]
        real = real.sort_values(["site_id", "_order", "metal"], kind="mergesort")
    mines = pd.concat([real, synth], ignore_index=True) if len(synth) else real
    mines = mines[list(MINES_COLUMNS)]

    # by-product metals and missing countries
    extra_metals = [m for m in BYPRODUCTS if m in set(mines["metal"]) and m not in metals]
    copper = next((r for r in m_rows if r["metal"] == "copper"), m_rows[0] if m_rows else {})
    new_metal_rows = []
    for m in extra_metals:
        disp, price, rr, source = BYPRODUCT_METALS[m]
        row: dict[str, object] = {c: copper.get(c, "") for c in m_header}
        row.update({"metal": m, "display_name": disp, "fabrication_yield": 1,
                    "energy_kwh_per_t": 0, "energy_gsd": 1, "secondary_tmr_fraction": 0,
                    "source": source})
        if "price_usd_per_t" in m_header:
            row["price_usd_per_t"] = price
        if "price_gsd" in m_header:
            row["price_gsd"] = BYPRODUCT_PRICE_GSD[m]
            row["source"] = f"{source}; {PRICE_GSD_SOURCE}"
        if "refining_recovery" in m_header:
            row["refining_recovery"] = rr
        new_metal_rows.append(row)
    fac_names = dict(zip(imp.fac["GID_0"], imp.fac["country"], strict=False))
    new_countries = [{"iso3": c, "name": fac_names.get(c) or c}
                     for c in sorted(set(mines["country"]) - set(countries))]

    # write into a sibling folder, then rename
    with store.staged_folder(out) as tmp:
        for name, (header, _, text) in texts.items():
            if name == "metals.csv":
                text = _append_rows(text, header, new_metal_rows)
            elif name == "countries.csv":
                text = _append_rows(text, header, new_countries)
            (tmp / name).write_text(text, encoding="utf-8")
        shutil.copyfile(arche_path, tmp / "archetypes.csv")
        shutil.copyfile(prod_path, tmp / "production.csv")
        _write_rows(tmp / "mines.csv", MINES_COLUMNS, _records(mines))
        _write_rows(tmp / "rejects.csv", REJECT_COLUMNS, _records(rj))

    real_m = mines[mines["synthetic"] == "false"]
    syn_m = mines[mines["synthetic"] == "true"]
    rules = rj["rule"].str.split(":").str[0].value_counts().sort_index()
    return ImportResult(
        out=out, year=year, sites=len(site_ids), real_rows=len(real_m),
        synthetic_rows=len(syn_m),
        rows_per_metal={str(k): int(v) for k, v in real_m["metal"].value_counts().sort_index().items()},
        synthetic_per_metal={str(k): int(v)
                             for k, v in syn_m["metal"].value_counts().sort_index().items()},
        sites_per_metal={str(k): int(v) for k, v in
                         real_m.groupby("metal")["site_id"].nunique().sort_index().items()},
        rejects=rj, coverage=coverage,
        rule_counts={str(k): int(v) for k, v in rules.items()},
    )


# --------------------------------------------------------------------------- command line


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``import jasansky SRC --year Y --out DIR [--production FILE] [--tables DIR]`` to
    an argparse subparsers object; returns the ``import`` parser (its namespace has
    ``import_source = 'jasansky'``)."""
    p = subparsers.add_parser(
        "import", help="build a dataset folder from an open mine database",
        description="Build a dataset folder from an open mine database.")
    sub = p.add_subparsers(dest="import_source", required=True,
                           parser_class=type(p))
    j = sub.add_parser(
        "jasansky", help="the Jasansky et al. (2023) open mine database",
        description=f"Import the open mine database of {CITATION} (data: "
        "github.com/fineprint-global/compilation_mining_data): one site per facility, "
        "synthetic archetype mines for national production the facilities do not cover, "
        "rejects.csv listing every dropped or corrected row.")
    j.add_argument("src", type=Path, help="the database's CSV folder (facilities.csv, "
                   "commodities.csv, minerals.csv, waste.csv)")
    j.add_argument("--year", type=int, default=2019,
                   help="year to import; production from [year-2, year] (default 2019)")
    j.add_argument("--out", type=Path, required=True, help="new or empty dataset folder")
    j.add_argument("--production", type=Path,
                   help="national mine production per metal and country (default "
                   "distributions/production.csv: USGS Mineral Commodity Summaries 2020)")
    j.add_argument("--tables", type=Path, help="folder of the supply-chain tables (default "
                   "distributions/)")
    j.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Run the parsed ``import`` command: 0 on success, 2 with one ``error:`` line on
    stderr for bad input."""

    if getattr(args, "import_source", "jasansky") != "jasansky":
        print(f"error: unknown import source {args.import_source!r}", file=sys.stderr)
        return 2
    try:
        res = import_jasansky(args.src, args.year, args.out, production=args.production,
                              tables=args.tables)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {res.out}: {res.sites} sites, {res.real_rows} facility rows, "
          f"{res.synthetic_rows} synthetic rows, {len(res.rejects)} rejects.csv rows")
    for m, n in res.rows_per_metal.items():
        print(f"  {m}: {res.sites_per_metal.get(m, 0)} sites, {n} rows, "
              f"{res.synthetic_per_metal.get(m, 0)} synthetic")
    return 0
