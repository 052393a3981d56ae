"""The blanks of ``mines.csv`` filled by documented rules, with their provenance.

:func:`complete_mines` fills a blank grade, stripping ratio, recovery or concentrate
grade from the row's archetype (metal x mining method, by country where a metal has
country-specific archetypes: :func:`choose_archetype`, :func:`read_archetypes`), a
blank spread from the value's provenance (:data:`PROVENANCES`: year-to-year spreads for
``reported`` values, x sqrt 2 for ``other_year``, the archetype's across-deposit spread
for ``imputed`` and ``synthetic``), and groups the rows of one co-product site
(``site_id``: one stripping ratio, allocation shares). Every filled cell is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from uncertainty.data.schema import (
    SHARE_TOLERANCE,
    DataValidationError,
)
from uncertainty.data.tables import (
    _read_csv,
)
from uncertainty.resources import default_dataset

__all__ = [
    "ARCHETYPE_COUNTRIES",
    "ARCHETYPE_FILE",
    "ARCHETYPE_GRADE_UNITS",
    "DEFAULT_ARCHETYPES",
    "MINE_VALUES",
    "OTHER_YEAR_FACTOR",
    "TRUNCATION_COLUMNS",
    "YEAR_TO_YEAR_GRADE",
    "YEAR_TO_YEAR_GRADE_OTHER",
    "YEAR_TO_YEAR_RECOVERY",
    "YEAR_TO_YEAR_RECOVERY_OTHER",
    "YEAR_TO_YEAR_STRIPPING",
    "YEAR_TO_YEAR_STRIPPING_OTHER",
    "choose_archetype",
    "complete_mines",
    "read_archetypes",
]


# ----------------------------------------------------------- gaps, provenance and sites
#: Year-to-year log-sd of one facility's ore grade, measured on the open mine data of
#: Jasansky et al. (2023) (facilities with at least four years, detrended); metals
#: without a measurement take :data:`YEAR_TO_YEAR_GRADE_OTHER`.
YEAR_TO_YEAR_GRADE: dict[str, float] = {"copper": 0.12, "zinc": 0.16, "lead": 0.17,
                                        "nickel": 0.10, "iron": 0.013}
YEAR_TO_YEAR_GRADE_OTHER = 0.15
#: Year-to-year log-sd of one facility's waste/ore ratio (the same data).
YEAR_TO_YEAR_STRIPPING: dict[str, float] = {"iron": 0.38}
YEAR_TO_YEAR_STRIPPING_OTHER = 0.31
#: Year-to-year absolute sd of one facility's mill recovery (the same data).
YEAR_TO_YEAR_RECOVERY: dict[str, float] = {"lead": 0.06}
YEAR_TO_YEAR_RECOVERY_OTHER = 0.03
#: An ``other_year`` value's spread: the year-to-year spread x sqrt(1 + 1/n) for a value
#: from n other years, taken at n = 1 (the table does not say n).
OTHER_YEAR_FACTOR = math.sqrt(2.0)
#: The archetypes that stand for a metal in some countries only; a metal's other
#: archetypes are its general ones (:func:`choose_archetype`).
ARCHETYPE_COUNTRIES: dict[str, frozenset[str]] = {
    "cu_sediment": frozenset({"COD", "ZMB"}),
    "ni_laterite": frozenset({"IDN", "PHL", "NCL", "CUB", "DOM", "COL", "BRA", "VEN", "MDG",
                              "GTM", "GRC", "PNG", "MMR", "TUR", "ALB", "MKD", "CIV", "SLB"}),
    "fe_magnetite": frozenset({"CHN", "RUS", "SWE", "CAN", "UKR", "IRN", "KAZ"}),
    "li_brine": frozenset({"CHL", "ARG", "BOL"}),
}
#: Archetype grade units: divisor to a mass fraction and the grade basis (grade_unit).
ARCHETYPE_GRADE_UNITS: dict[str, tuple[float, str]] = {
    "%": (100.0, "metal"), "% Fe": (100.0, "metal"), "% Mn": (100.0, "metal"),
    "% Cu": (100.0, "metal"), "% Li": (100.0, "metal"), "% Li2O": (100.0, "Li2O"),
    "% Al2O3": (100.0, "Al2O3"), "% REO": (100.0, "REO"), "g/t": (1e6, "metal"),
    "fraction": (1.0, "metal"),
}
#: The optional archetype table of a dataset (else the default dataset's).
ARCHETYPE_FILE = "archetypes.csv"
DEFAULT_ARCHETYPES = default_dataset() / ARCHETYPE_FILE
_ARCHETYPE_COLUMNS = ("archetype", "metal", "mining_method", "grade_unit", "grade_min",
                      "grade_median", "grade_max", "grade_log_sd", "sr_min", "sr_median",
                      "sr_max", "sr_log_sd", "recovery_min", "recovery_mode", "recovery_max",
                      "conc_grade")
#: The three per-mine values, their spread column and their provenance column.
MINE_VALUES = (("grade", "grade_gsd", "grade_source"),
               ("stripping_ratio", "stripping_gsd", "stripping_source"),
               ("mill_recovery", "recovery_sd", "recovery_source"))
#: Bound columns the filling adds to ``mines`` (NaN: none): an imputed value's
#: distribution is truncated at its archetype's 2.5 and 97.5 percentiles.
TRUNCATION_COLUMNS = {"grade": ("grade_low", "grade_high"),
                      "stripping_ratio": ("stripping_low", "stripping_high"),
                      "mill_recovery": ("recovery_low", "recovery_high")}


def read_archetypes(path: Path) -> pd.DataFrame:
    """An archetype table (``archetypes.csv``: one row per deposit archetype, with its
    metal, mining method, grade unit and the min / median / max and log-sd of grade and
    stripping ratio, the recovery min / mode / max and the concentrate grade)."""
    raw, lines = _read_csv(path)
    missing = [c for c in _ARCHETYPE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(path, f"missing column(s) {', '.join(map(repr, missing))}")
    out = raw[list(_ARCHETYPE_COLUMNS)].copy()
    for c in _ARCHETYPE_COLUMNS[4:]:
        vals = []
        for i, v in enumerate(out[c]):
            try:
                x = float(v) if str(v).strip() != "" else math.nan
            except ValueError:
                raise DataValidationError(path, "must be a number or blank", row=lines[i],
                                          row_id=f"archetype={out['archetype'].iloc[i]}",
                                          column=c, value=v) from None
            vals.append(x)
        out[c] = vals
    for i, u in enumerate(out["grade_unit"]):
        if u not in ARCHETYPE_GRADE_UNITS:
            raise DataValidationError(path, f"must be one of {', '.join(ARCHETYPE_GRADE_UNITS)}",
                                      row=lines[i], row_id=f"archetype={out['archetype'].iloc[i]}",
                                      column="grade_unit", value=u)
    return out.set_index("archetype", drop=False)


def choose_archetype(arche: pd.DataFrame, metal: str, method: str, country: str) -> str:
    """The archetype a row without one gets: among the metal's archetypes of its mining
    method (all of the metal's, if none has that method), the one for its country
    (:data:`ARCHETYPE_COUNTRIES`), else the first general one, else the first; '' when
    the table has no archetype of the metal."""
    of_metal = arche[arche["metal"] == metal]
    same = of_metal[of_metal["mining_method"] == method]
    pool = same if len(same) else of_metal
    for a in pool.index:
        if country in ARCHETYPE_COUNTRIES.get(a, frozenset()):
            return str(a)
    general = [a for a in pool.index if a not in ARCHETYPE_COUNTRIES]
    return str(general[0]) if general else (str(pool.index[0]) if len(pool) else "")


def _blank(x: object) -> bool:
    return x is None or x == "" or (isinstance(x, float) and math.isnan(x))


class _Filler:
    """Fills the blanks of ``mines.csv`` by the rules of :func:`complete_mines`."""

    def __init__(self, path: Path, mines: pd.DataFrame, lines: list[int],
                 metals: pd.DataFrame, archetypes: Callable[[], pd.DataFrame]) -> None:
        self.path, self.lines, self.archetypes = path, lines, archetypes
        self.rows: list[dict[str, Any]] = [
            {str(k): v for k, v in r.items()} for r in mines.to_dict("records")]
        self.metals = metals.set_index("metal")
        self.fills: list[dict[str, object]] = []

    def fail(self, i: int, column: str, rule: str, value: object = "") -> DataValidationError:
        return DataValidationError(self.path, rule, row=self.lines[i],
                                   row_id=f"mine_id={self.rows[i]['mine_id']}", column=column,
                                   value=value)

    def metal_value(self, metal: str, column: str) -> float:
        """A metals.csv cell (NaN when the metal, the column or the value is absent)."""
        if metal not in self.metals.index or column not in self.metals.columns:
            return math.nan
        v = self.metals.at[metal, column]
        return math.nan if _blank(v) else float(cast(float, v))

    def put(self, i: int, column: str, value: object, rule: str) -> None:
        self.rows[i][column] = value
        self.fills.append({"mine_id": self.rows[i]["mine_id"], "column": column,
                           "value": value, "rule": rule})

    def arche(self, i: int, column: str) -> pd.Series:
        """The row's archetype (filled if blank), or the error that no archetype can fill
        ``column``."""
        r = self.rows[i]
        table = self.archetypes()
        a = str(r["archetype"])
        if a == "":
            a = choose_archetype(table, str(r["metal"]), str(r["mining_method"]),
                                 str(r["country"]))
            if a == "":
                raise self.fail(i, column, f"blank, and no archetype can fill it: the archetype "
                                f"table has no archetype of metal '{r['metal']}' (give the "
                                f"value, or an archetype)")
            self.put(i, "archetype", a, f"the archetype of {r['metal']} x {r['mining_method']}"
                     f" for {r['country']}")
        if a not in table.index:
            raise self.fail(i, "archetype", "unknown archetype (not in the archetype table "
                            f"{ARCHETYPE_FILE})", a)
        return cast(pd.Series, table.loc[a])

    def underground_pool(self) -> tuple[float, float, float, float]:
        """min, median, max and log-sd of the stripping ratio over the underground
        archetypes (geometric mean of their medians, mean log-sd, widest range)."""
        t = self.archetypes()
        u = t[t["mining_method"] == "underground"]
        if not len(u):
            return math.nan, math.nan, math.nan, math.nan
        med = float(np.exp(np.mean(np.log(u["sr_median"].to_numpy(float)))))
        return (float(u["sr_min"].min()), med, float(u["sr_max"].max()),
                float(u["sr_log_sd"].mean()))

    # ------------------------------------------------------------------ per row
    def provenance(self, i: int) -> None:
        r = self.rows[i]
        synthetic = r["synthetic"]
        for value, _, source in MINE_VALUES:
            src = str(r[source])
            blank = _blank(r[value])
            if src in ("reported", "other_year") and blank:
                raise self.fail(i, value, f"blank, but {source} says '{src}' (a {src} value "
                                "must be given; leave the source blank or say imputed)")
            if src == "":
                if blank:
                    src = "imputed"
                elif synthetic is True:
                    src = "synthetic"
                else:
                    src = "reported"
            r[source] = src
        if synthetic is None:
            self.put(i, "synthetic", all(r[c] == "synthetic" for _, _, c in MINE_VALUES),
                     "true when grade, stripping ratio and recovery are all synthetic")

    def values(self, i: int) -> None:
        r = self.rows[i]
        for c in TRUNCATION_COLUMNS.values():
            r[c[0]] = r[c[1]] = math.nan
        if r["archetype"] == "" and choose_archetype(self.archetypes(), str(r["metal"]),
                                                     str(r["mining_method"]), str(r["country"])):
            self.arche(i, "archetype")
        if _blank(r["grade"]):
            a = self.arche(i, "grade")
            div, basis = ARCHETYPE_GRADE_UNITS[str(a["grade_unit"])]
            if not _blank(r["grade_unit"]) and r["grade_unit"] != basis:
                raise self.fail(i, "grade_unit", f"grade is blank and its archetype "
                                f"'{a['archetype']}' reports grades as {a['grade_unit']}: "
                                f"grade_unit must be {basis} or blank", r["grade_unit"])
            self.put(i, "grade", float(a["grade_median"]) / div,
                     f"the median grade of archetype {a['archetype']}")
            if _blank(r["grade_unit"]):
                self.put(i, "grade_unit", basis, f"the grade unit of archetype {a['archetype']}")
        elif _blank(r["grade_unit"]):
            raise self.fail(i, "grade_unit", "must not be empty when a grade is given",
                            r["grade_unit"])
        if _blank(r["mill_recovery"]):
            a = self.arche(i, "mill_recovery")
            self.put(i, "mill_recovery", float(a["recovery_mode"]),
                     f"the modal recovery of archetype {a['archetype']}")
        if _blank(r["conc_grade"]) and str(r["archetype"]) != "":
            a = self.arche(i, "conc_grade")  # no concentrate grade there: whole-ore processing
            if not math.isnan(float(a["conc_grade"])):
                self.put(i, "conc_grade", float(a["conc_grade"]),
                         f"the concentrate grade of archetype {a['archetype']}")
        if _blank(r["refining_recovery"]):
            m = str(r["metal"])
            rr = self.metal_value(m, "refining_recovery")
            if math.isnan(rr):
                raise self.fail(i, "refining_recovery", "blank, and metals.csv gives no "
                                f"refining_recovery for {m} to fill it")
            self.put(i, "refining_recovery", rr, f"metals.csv refining_recovery of {m}")

    def stripping(self, i: int) -> None:
        """The stripping ratio of site lead ``i`` from the archetype (value blank)."""
        r = self.rows[i]
        if r["mining_method"] == "brine":
            self.put(i, "stripping_ratio", 0.0, "brine operations move no waste rock")
            return
        a = self.arche(i, "stripping_ratio")
        if r["mining_method"] == "underground" and a["mining_method"] != "underground":
            lo, med, hi, sd = self.underground_pool()
            if math.isnan(med):
                raise self.fail(i, "stripping_ratio", "blank, and no archetype can fill it: "
                                "the row is underground and the archetype table has no "
                                "underground archetype")
            r["_sr"] = (lo, med, hi, sd)
            self.put(i, "stripping_ratio", med, "the pooled stripping ratio of the "
                     "underground archetypes")
            return
        r["_sr"] = (float(a["sr_min"]), float(a["sr_median"]), float(a["sr_max"]),
                    float(a["sr_log_sd"]))
        self.put(i, "stripping_ratio", float(a["sr_median"]),
                 f"the median stripping ratio of archetype {a['archetype']}")

    def spreads(self, i: int) -> None:
        r = self.rows[i]
        metal = str(r["metal"])
        for value, spread, source in MINE_VALUES:
            if not _blank(r[spread]) or (value == "stripping_ratio" and r.get("_follower")):
                continue
            src = str(r[source])
            lo_c, hi_c = TRUNCATION_COLUMNS[value]
            if src in ("reported", "other_year"):
                f = OTHER_YEAR_FACTOR if src == "other_year" else 1.0
                if value == "grade":
                    x = math.exp(f * YEAR_TO_YEAR_GRADE.get(metal, YEAR_TO_YEAR_GRADE_OTHER))
                elif value == "stripping_ratio":
                    x = math.exp(f * YEAR_TO_YEAR_STRIPPING.get(metal,
                                                                YEAR_TO_YEAR_STRIPPING_OTHER))
                else:
                    x = f * YEAR_TO_YEAR_RECOVERY.get(metal, YEAR_TO_YEAR_RECOVERY_OTHER)
                self.put(i, spread, x, f"the year-to-year spread of {value} ({src}"
                         f"{', x sqrt 2' if f != 1.0 else ''})")
                continue
            if value == "stripping_ratio" and (r["mining_method"] == "brine"
                                               or float(r["stripping_ratio"]) == 0.0):
                self.put(i, spread, 1.0, "no waste rock: no spread")
                continue
            if value == "stripping_ratio" and "_sr" in r:  # the site's archetype range
                lo, _, hi, sd = r["_sr"]
                self.put(i, spread, math.exp(sd), f"the across-deposit spread of the site's "
                         f"stripping ratio ({src})")
                if src == "imputed":
                    r[lo_c], r[hi_c] = lo, hi
                continue
            a = self.arche(i, spread)
            name = a["archetype"]
            if value == "grade":
                div = ARCHETYPE_GRADE_UNITS[str(a["grade_unit"])][0]
                x, lo, hi = (math.exp(float(a["grade_log_sd"])), float(a["grade_min"]) / div,
                             float(a["grade_max"]) / div)
            elif value == "stripping_ratio":
                lo, hi = float(a["sr_min"]), float(a["sr_max"])
                x = math.exp(float(a["sr_log_sd"]))
            else:
                lo, hi = float(a["recovery_min"]), float(a["recovery_max"])
                x = min(max((hi - lo) / 3.92, 1e-3), 0.5)
            self.put(i, spread, x, f"the across-deposit spread of archetype {name} ({src})")
            if src == "imputed":
                r[lo_c], r[hi_c] = lo, hi


def complete_mines(path: Path, mines: pd.DataFrame, lines: list[int], metals: pd.DataFrame,
                   archetypes: Callable[[], pd.DataFrame]
                   ) -> tuple[pd.DataFrame, list[int], pd.DataFrame]:
    """Fill the blanks of ``mines.csv``, group its rows into sites and check the sites.

    Rules, in order:

    * ``site_id`` blank: the row is its own site (site id = mine id).
    * Provenance (``grade_source``, ``stripping_source``, ``recovery_source``): a blank
      value is ``imputed`` (or stays ``synthetic`` if the source says so); a blank source
      of a given value is ``synthetic`` on a synthetic row, else ``reported``.
      ``synthetic`` blank: true when all three values are synthetic.
    * ``archetype`` blank: :func:`choose_archetype`. ``grade``, ``mill_recovery``,
      ``conc_grade`` blank: the archetype's median grade (and its unit), modal recovery,
      concentrate grade (blank: whole-ore processing). ``refining_recovery`` blank:
      metals.csv ``refining_recovery``.
    * A site's rows share one stripping ratio and its spread: the first given on the
      site's rows (rows that give another are an error), else its archetype's median
      (brine: 0; an underground row whose archetype is not underground: the pooled
      underground archetypes).
    * Spreads blank, by provenance: reported, the year-to-year spreads
      (:data:`YEAR_TO_YEAR_GRADE` ...); other_year, those x :data:`OTHER_YEAR_FACTOR`;
      imputed, the archetype's across-deposit spread, truncated at its min and max
      (:data:`TRUNCATION_COLUMNS`); synthetic, the across-deposit spread.
    * Allocation: per site, ``alloc_economic`` = price x production over the site's
      total revenue (metals.csv ``price_usd_per_t``), ``alloc_mass`` = production over
      the site's, ``main_product`` = the highest-revenue row; a single-row site gets 1,
      1, true. A site's cells of one column are all given or all blank; given shares of
      a multi-row site sum to 1. Without a price for one of its metals, a multi-row
      site's economic shares and main product stay blank (an error only under the
      allocation that needs them, :func:`uncertainty.model.allocation_shares`).
    * The rows of a site share country and mining method and have distinct metals; they
      are moved together (at the place of the site's first row, its main product first).

    Returns
    -------
    mines : pandas.DataFrame
        Every cell filled (``conc_grade`` NaN for whole-ore processing; allocation cells
        NaN where a price is missing), plus :data:`TRUNCATION_COLUMNS`.
    lines : list of int
        The line number of each row, in the new order.
    fills : pandas.DataFrame
        mine_id, column, value, rule: one row per filled cell.
    """
    f = _Filler(path, mines, lines, metals, archetypes)
    rows = f.rows
    explicit = {str(r["site_id"]) for r in rows if r["site_id"] != ""}
    sites: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if r["site_id"] == "":
            if str(r["mine_id"]) in explicit:
                raise f.fail(i, "site_id", "blank, but the row's mine_id is the site_id of "
                             "other rows (give it that site_id, or rename the site)", "")
            r["site_id"] = str(r["mine_id"])
        sites.setdefault(str(r["site_id"]), []).append(i)
    for sid, members in sites.items():
        first = members[0]
        for i in members[1:]:
            for col in ("country", "mining_method"):
                if rows[i][col] != rows[first][col]:
                    raise f.fail(i, col, f"the rows of site '{sid}' must share {col} (line "
                                 f"{lines[first]} has '{rows[first][col]}')", rows[i][col])
        seen: dict[str, int] = {}
        for i in members:
            m = str(rows[i]["metal"])
            if m in seen:
                raise f.fail(i, "metal", f"site '{sid}' has two rows of {m} (line "
                             f"{lines[seen[m]]}); one row per metal and site", m)
            seen[m] = i
    for i in range(len(rows)):
        f.provenance(i)
        f.values(i)
    order: list[int] = []
    for sid, members in sites.items():
        _site_allocation(f, sid, members)
        main = [i for i in members if rows[i]["main_product"] is True]
        members[:] = main[:1] + [i for i in members if i not in main[:1]]  # the lead first
        order.extend(members)
        _site_stripping(f, sid, members)
    for i in range(len(rows)):
        f.spreads(i)
    for sid, members in sites.items():  # the lead's stripping spread is the site's
        lead = rows[members[0]]
        for i in members[1:]:
            if _blank(rows[i]["stripping_gsd"]) or rows[i]["stripping_gsd"] != lead["stripping_gsd"]:
                f.put(i, "stripping_gsd", lead["stripping_gsd"],
                      f"the stripping spread of site {sid}")
            rows[i]["stripping_low"] = lead["stripping_low"]
            rows[i]["stripping_high"] = lead["stripping_high"]
    out = pd.DataFrame([{k: v for k, v in rows[i].items() if not k.startswith("_")}
                        for i in order])
    for col in ("grade", "stripping_ratio", "mill_recovery", "conc_grade", "refining_recovery",
                "alloc_economic", "alloc_mass", "grade_gsd", "stripping_gsd", "recovery_sd",
                *(c for pair in TRUNCATION_COLUMNS.values() for c in pair)):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["synthetic"] = out["synthetic"].astype(bool)
    fills = pd.DataFrame(f.fills, columns=["mine_id", "column", "value", "rule"])
    return out.reset_index(drop=True), [lines[i] for i in order], fills


def _site_stripping(f: _Filler, sid: str, members: list[int]) -> None:
    rows = f.rows
    given = [i for i in members if not _blank(rows[i]["stripping_ratio"])]
    for col in ("stripping_ratio", "stripping_gsd"):
        vals = [i for i in members if not _blank(rows[i][col])]
        for i in vals[1:]:
            a, b = float(rows[vals[0]][col]), float(rows[i][col])
            if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                raise f.fail(i, col, f"the rows of site '{sid}' share one ore stream and one "
                             f"{col}; line {f.lines[vals[0]]} gives {a:g}", b)
    for i in members[1:]:
        rows[i]["_follower"] = True
    if given:
        src = given[0]
    else:  # the first row with an archetype (a co-product such as gold has none)
        src = next((i for i in members if rows[i]["archetype"] != ""), members[0])
        f.stripping(src)
    for i in members:
        if i == src:
            continue
        if _blank(rows[i]["stripping_ratio"]):
            f.put(i, "stripping_ratio", rows[src]["stripping_ratio"],
                  f"the stripping ratio of site {sid}")
        if "_sr" in rows[src]:
            rows[i]["_sr"] = rows[src]["_sr"]
        rows[i]["stripping_source"] = rows[src]["stripping_source"]
    gsd = [i for i in members if not _blank(rows[i]["stripping_gsd"])]
    if gsd:
        for i in members:
            if _blank(rows[i]["stripping_gsd"]):
                f.put(i, "stripping_gsd", rows[gsd[0]]["stripping_gsd"],
                      f"the stripping spread of site {sid}")


def _site_allocation(f: _Filler, sid: str, members: list[int]) -> None:
    rows = f.rows
    if len(members) == 1:
        i = members[0]
        for col, v in (("alloc_economic", 1.0), ("alloc_mass", 1.0), ("main_product", True)):
            if _blank(rows[i][col]):
                f.put(i, col, v, "single-row sites bear all of their hidden flow")
        return
    prod = np.array([float(rows[i]["production_t"]) for i in members])
    price = np.array([f.metal_value(str(rows[i]["metal"]), "price_usd_per_t")
                      for i in members])
    revenue = price * prod
    for col in ("alloc_economic", "alloc_mass", "main_product"):
        blank = [_blank(rows[i][col]) for i in members]
        if any(blank) and not all(blank):
            j = members[blank.index(True)]
            raise f.fail(j, col, f"site '{sid}' gives {col} on some rows only; give it on "
                         "every row of the site or on none", "")
        if not any(blank):
            if col == "main_product":
                n_main = sum(bool(rows[i][col]) for i in members)
                if n_main != 1:
                    raise f.fail(members[0], col, f"site '{sid}' must have exactly one main "
                                 "product", n_main)
                continue
            total = sum(float(rows[i][col]) for i in members)
            if abs(total - 1.0) > SHARE_TOLERANCE:
                raise f.fail(members[0], col, f"the {col} shares of site '{sid}' must sum to "
                             f"1 (within {SHARE_TOLERANCE:g})", round(total, 10))
            continue
        if col == "alloc_mass":
            for i, x in zip(members, prod / prod.sum(), strict=True):
                f.put(i, col, float(x), f"production over the production of site {sid}")
            continue
        if np.isnan(price).any():
            for i in members:  # an error only under the allocation that needs it
                rows[i][col] = math.nan if col == "alloc_economic" else None
            continue
        if col == "alloc_economic":
            for i, x in zip(members, revenue / revenue.sum(), strict=True):
                f.put(i, col, float(x), f"revenue (price x production) over the revenue of site {sid}")
        else:
            top = int(np.argmax(revenue))
            for k, i in enumerate(members):
                f.put(i, col, k == top, f"the highest-revenue row of site {sid}")
