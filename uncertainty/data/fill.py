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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from uncertainty.data.schema import (
    SHARE_TOLERANCE,
    SPECS,
    Bound,
    DataValidationError,
)
from uncertainty.data.tables import (
    PLAUSIBILITY_FILE,
    _read_csv,
)
from uncertainty.resources import default_dataset

__all__ = [
    "ARCHETYPE_COUNTRIES",
    "ARCHETYPE_FILE",
    "ARCHETYPE_GRADE_UNITS",
    "DEFAULT_ARCHETYPES",
    "MAIN_PRODUCT_RULE",
    "MINE_VALUES",
    "OTHER_YEAR_FACTOR",
    "REVENUE_RULE",
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
_MINE_COLUMNS = {c.name: c for c in SPECS["mines"].columns}
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
    stripping ratio, the recovery min / mode / max and the concentrate grade).

    Numeric cells may be blank (NaN); a fill that needs one is an error
    (:func:`complete_mines`). ``attrs["path"]`` is the file and ``attrs["lines"]`` the
    line number of each archetype, for error messages.

    Raises
    ------
    DataValidationError
        A missing column, an empty or repeated archetype name, a cell that is not a
        number or blank, an unknown grade unit.
    """
    raw, lines = _read_csv(path)
    missing = [c for c in _ARCHETYPE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(path, f"missing column(s) {', '.join(map(repr, missing))}")
    out = raw[list(_ARCHETYPE_COLUMNS)].copy()
    first: dict[str, int] = {}
    for i, name in enumerate(out["archetype"]):
        if str(name).strip() == "":
            raise DataValidationError(path, "must not be empty", row=lines[i],
                                      column="archetype", value=name)
        if name in first:
            raise DataValidationError(
                path, f"duplicate archetype (each must be unique; first on row "
                f"{lines[first[name]]})", row=lines[i], row_id=f"archetype={name}",
                column="archetype", value=name)
        first[name] = i
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
    out = out.set_index("archetype", drop=False)
    out.attrs["path"] = path
    out.attrs["lines"] = {str(a): lines[i] for i, a in enumerate(out["archetype"])}
    return out


def choose_archetype(arche: pd.DataFrame, metal: str, method: str, country: str) -> str:
    """The archetype a row without one gets ('' when the table has no archetype of the
    metal).

    An archetype of :data:`ARCHETYPE_COUNTRIES` is reserved for its countries; the
    others are general. A brine archetype suits brine rows only, an open-pit or
    underground one the other rows (a *compatible* method). In order:

    1. among the metal's archetypes of the row's mining method (if none, of a compatible
       method; if none, all of the metal's), the one reserved for the row's country;
    2. else the metal's first general archetype of the row's mining method, else of a
       compatible method (if the metal has no archetype of a compatible method: of any
       method);
    3. else (no such general archetype) the first archetype of step 1's candidates.
    """
    of_metal = arche[arche["metal"] == metal]
    if not len(of_metal):
        return ""
    methods = of_metal["mining_method"].astype(str)
    names = [str(a) for a in of_metal.index]
    same = [a for a, m in zip(names, methods, strict=True) if m == method]
    compatible = [a for a, m in zip(names, methods, strict=True)
                  if (m == "brine") == (method == "brine")]
    pool = same or compatible or names
    for a in pool:
        if country in ARCHETYPE_COUNTRIES.get(a, frozenset()):
            return a
    for cand in ((same, compatible) if compatible else (names,)):
        general = [a for a in cand if a not in ARCHETYPE_COUNTRIES]
        if general:
            return general[0]
    return pool[0]


def _blank(x: object) -> bool:
    return x is None or x == "" or (isinstance(x, float) and math.isnan(x))


class _Filler:
    """Fills the blanks of ``mines.csv`` by the rules of :func:`complete_mines`."""

    def __init__(self, path: Path, mines: pd.DataFrame, lines: list[int],
                 metals: pd.DataFrame, archetypes: Callable[[], pd.DataFrame],
                 bounds: Mapping[str, Bound] | None = None) -> None:
        self.path, self.lines, self.archetypes = path, lines, archetypes
        self.bounds = dict(bounds or {})
        self.rows: list[dict[str, Any]] = [
            {str(k): v for k, v in r.items()} for r in mines.to_dict("records")]
        self.metals = metals.set_index("metal")
        self.fills: list[dict[str, object]] = []

    def fail(self, i: int, column: str, rule: str, value: object = "") -> DataValidationError:
        return DataValidationError(self.path, rule, row=self.lines[i],
                                   row_id=f"mine_id={self.rows[i]['mine_id']}", column=column,
                                   value=value)

    def where(self, i: int) -> str:
        """Row ``i`` as ``mines.csv row 4 (mine_id=...)``."""
        return f"{self.path.name} row {self.lines[i]} (mine_id={self.rows[i]['mine_id']})"

    def arche_fail(self, a: pd.Series, cell: str, rule: str,
                   value: object) -> DataValidationError:
        """An error in cell ``cell`` of archetype ``a``'s row of the archetype table."""
        table = self.archetypes()
        name = str(a["archetype"])
        return DataValidationError(table.attrs.get("path", ARCHETYPE_FILE), rule,
                                   row=table.attrs.get("lines", {}).get(name),
                                   row_id=f"archetype={name}", column=cell, value=value)

    def cell(self, i: int, a: pd.Series, cell: str, need: str) -> float:
        """The number in cell ``cell`` of archetype ``a``, which row ``i`` needs to fill
        ``need``; a blank cell is an error."""
        x = float(a[cell])
        if math.isnan(x):
            raise self.arche_fail(a, cell, f"blank, but {self.where(i)} needs it to fill "
                                  f"{need} (give the value in the archetype table, or in "
                                  f"{self.path.name})", "")
        return x

    def broken(self, column: str, x: float) -> str:
        """The rule of mines.csv ``column`` (its hard rule, then its plausibility bound,
        moved by plausibility.csv) that ``x`` breaks; '' when none."""
        spec = _MINE_COLUMNS[column]
        if spec.rule is not None and not spec.rule[1](x):
            return spec.rule[0]
        bound = self.bounds.get(column, spec.bound)
        if bound is not None and not bound.holds(x):
            return (f"is outside the plausibility bound {bound.text(column)} ({bound.reason};"
                    f" to allow it, set another bound in {PLAUSIBILITY_FILE})")
        return ""

    def checked(self, i: int, column: str, x: float, arches: list[pd.Series],
                cell: str) -> float:
        """``x``, the value row ``i`` takes for ``column`` from cell ``cell`` of
        ``arches`` (one archetype, or the pooled underground ones), checked against the
        column's rule like a value given in mines.csv."""
        rule = self.broken(column, x)
        if rule:
            bad = [a for a in arches if self.broken(column, float(a[cell]))]
            a = (bad or arches)[0]
            raise self.arche_fail(a, cell, f"fills {self.where(i)}, column '{column}' with "
                                  f"{x:g}, which {rule}", float(a[cell]))
        return x

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

    def stripping_archetypes(self, i: int, column: str) -> list[pd.Series]:
        """The archetypes whose stripping statistics row ``i`` takes: its archetype's; for
        an underground row whose archetype is not underground, every underground archetype
        of the table (pooled: geometric mean of the medians, mean log-sd, widest range)."""
        r = self.rows[i]
        if "_sr" in r:  # the site's (set by :meth:`stripping`)
            return cast(list[pd.Series], r["_sr"])
        a = self.arche(i, column)
        if r["mining_method"] == "underground" and a["mining_method"] != "underground":
            t = self.archetypes()
            u = t[t["mining_method"] == "underground"]
            if not len(u):
                raise self.fail(i, column, "blank, and no archetype can fill it: the row is "
                                "underground and the archetype table has no underground "
                                "archetype")
            return [cast(pd.Series, u.iloc[k]) for k in range(len(u))]
        return [a]

    def stripping_stat(self, i: int, arches: list[pd.Series], cell: str, need: str) -> float:
        """``cell`` (sr_min, sr_median, sr_max, sr_log_sd) of ``arches``, pooled."""
        xs = [self.cell(i, a, cell, need) for a in arches]
        if len(xs) == 1:
            return xs[0]
        if cell == "sr_median":
            return float(np.exp(np.mean(np.log(xs))))
        return {"sr_min": min, "sr_max": max}.get(cell, lambda v: float(np.mean(v)))(xs)

    # ------------------------------------------------------------------ per row
    def sources(self, i: int) -> None:
        """The provenance columns; a stripping ratio said to be reported (or other_year)
        but blank is checked per site (another row of the site may give it)."""
        r = self.rows[i]
        synthetic = r["synthetic"]
        for value, _, source in MINE_VALUES:
            src = str(r[source])
            blank = _blank(r[value])
            if src in ("reported", "other_year") and blank:
                if value == "stripping_ratio":
                    r["_sr_claim"] = src
                else:
                    raise self.fail(i, value, f"blank, but {source} says '{src}' (a {src} value"
                                    " must be given; leave the source blank or say imputed)")
            if value == "stripping_ratio":
                r["_sr_source_given"] = src != ""
            if src == "":
                if blank:
                    src = "imputed"
                elif synthetic is True:
                    src = "synthetic"
                else:
                    src = "reported"
            r[source] = src

    def synthetic_flag(self, i: int) -> None:
        """A blank ``synthetic``, from the sources (after a site's rows took its
        stripping source)."""
        r = self.rows[i]
        if r["synthetic"] is None:
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
            x = self.cell(i, a, "grade_median", "grade") / div
            self.put(i, "grade", self.checked(i, "grade", x, [a], "grade_median"),
                     f"the median grade of archetype {a['archetype']}")
            if _blank(r["grade_unit"]):
                self.put(i, "grade_unit", basis, f"the grade unit of archetype {a['archetype']}")
        elif _blank(r["grade_unit"]):
            raise self.fail(i, "grade_unit", "must not be empty when a grade is given",
                            r["grade_unit"])
        if _blank(r["mill_recovery"]):
            a = self.arche(i, "mill_recovery")
            x = self.cell(i, a, "recovery_mode", "mill_recovery")
            self.put(i, "mill_recovery", self.checked(i, "mill_recovery", x, [a], "recovery_mode"),
                     f"the modal recovery of archetype {a['archetype']}")
        if _blank(r["conc_grade"]) and str(r["archetype"]) != "":
            a = self.arche(i, "conc_grade")  # no concentrate grade there: whole-ore processing
            if not math.isnan(float(a["conc_grade"])):
                x = self.checked(i, "conc_grade", float(a["conc_grade"]), [a], "conc_grade")
                self.put(i, "conc_grade", x,
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
        rule = (f"the median stripping ratio of archetype {a['archetype']}"
                if r["mining_method"] != "underground" or a["mining_method"] == "underground"
                else "the pooled stripping ratio of the underground archetypes")
        arches = self.stripping_archetypes(i, "stripping_ratio")
        x = self.stripping_stat(i, arches, "sr_median", "stripping_ratio")
        self.put(i, "stripping_ratio", self.checked(i, "stripping_ratio", x, arches, "sr_median"),
                 rule)
        r["_sr"] = arches

    def spreads(self, i: int) -> None:
        """Blank spreads by provenance; an imputed value's range (even with an explicit
        spread) from its archetype."""
        r = self.rows[i]
        metal = str(r["metal"])
        for value, spread, source in MINE_VALUES:
            if value == "stripping_ratio" and r.get("_follower"):
                continue  # the site's: its lead row's
            src = str(r[source])
            given = not _blank(r[spread])
            lo_c, hi_c = TRUNCATION_COLUMNS[value]
            if value == "stripping_ratio" and (r["mining_method"] == "brine"
                                               or float(r["stripping_ratio"]) == 0.0):
                if not given:  # a ratio of 0 stays 0, whatever its provenance
                    self.put(i, spread, 1.0, "no waste rock: no spread")
                continue
            if not given and src in ("reported", "other_year"):
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
            ranged = r["archetype"] != "" or (value == "stripping_ratio" and "_sr" in r)
            if given and (src != "imputed" or not ranged):
                continue  # an explicit spread (an imputed value without archetype: no range)
            rng = f"{lo_c} and {hi_c} (the range of its imputed {value})"
            if value == "stripping_ratio":
                arches = self.stripping_archetypes(i, spread)
                if not given:
                    x = math.exp(self.stripping_stat(i, arches, "sr_log_sd", spread))
                    name = ("the site's stripping ratio" if "_sr" in r
                            else f"archetype {arches[0]['archetype']}")
                    self.put(i, spread, self.checked(i, spread, x, arches, "sr_log_sd"),
                             f"the across-deposit spread of {name} ({src})")
                if src == "imputed":
                    r[lo_c] = self.stripping_stat(i, arches, "sr_min", rng)
                    r[hi_c] = self.stripping_stat(i, arches, "sr_max", rng)
                continue
            a = self.arche(i, spread)
            if value == "grade":
                div = ARCHETYPE_GRADE_UNITS[str(a["grade_unit"])][0]
                if not given:
                    x = math.exp(self.cell(i, a, "grade_log_sd", spread))
                    self.put(i, spread, self.checked(i, spread, x, [a], "grade_log_sd"),
                             f"the across-deposit spread of archetype {a['archetype']} ({src})")
                if src == "imputed":
                    r[lo_c] = self.cell(i, a, "grade_min", rng) / div
                    r[hi_c] = self.cell(i, a, "grade_max", rng) / div
                continue
            need = spread if not given else rng
            lo = self.cell(i, a, "recovery_min", need)
            hi = self.cell(i, a, "recovery_max", need)
            if not given:
                x = min(max((hi - lo) / 3.92, 1e-3), 0.5)
                self.put(i, spread, self.checked(i, spread, x, [a], "recovery_max"),
                         f"the across-deposit spread of archetype {a['archetype']} ({src})")
            if src == "imputed":
                r[lo_c], r[hi_c] = lo, hi


def complete_mines(path: Path, mines: pd.DataFrame, lines: list[int], metals: pd.DataFrame,
                   archetypes: Callable[[], pd.DataFrame],
                   bounds: Mapping[str, Bound] | None = None,
                   ) -> tuple[pd.DataFrame, list[int], pd.DataFrame]:
    """Fill the blanks of ``mines.csv``, group its rows into sites and check the sites.

    Rules, in order:

    * ``site_id`` blank: the row is its own site (site id = mine id).
    * Provenance (``grade_source``, ``stripping_source``, ``recovery_source``): a blank
      value is ``imputed`` (or stays ``synthetic`` if the source says so); a blank source
      of a given value is ``synthetic`` on a synthetic row, else ``reported``. A
      ``reported`` or ``other_year`` source of a blank value is an error, except for a
      stripping ratio that another row of the site gives.
    * ``archetype`` blank: :func:`choose_archetype`. ``grade``, ``mill_recovery``,
      ``conc_grade`` blank: the archetype's median grade (and its unit), modal recovery,
      concentrate grade (blank: whole-ore processing). ``refining_recovery`` blank:
      metals.csv ``refining_recovery``. A value taken from the archetype table is checked
      against the column's rule and plausibility bound (``bounds``: the dataset's, for
      mines.csv), and an archetype cell a fill needs must not be blank (else an error
      naming the archetype table's row and column and the mines.csv row).
    * A site's rows share one stripping ratio, its provenance and its spread: the first
      given on the site's rows (rows that give another are an error), else its
      archetype's median (brine: 0; an underground row whose archetype is not
      underground: the pooled underground archetypes). The site's ``stripping_source``
      is that of the row giving the value (if blank there: a ``reported`` or
      ``other_year`` said on a blank row; rows saying another are an error).
    * The site's lead row (its stripping draw) is its main product; without one (a
      missing price), the row with the largest explicit ``alloc_economic``, else
      ``alloc_mass`` (ties: the first), else the site's first row.
    * ``synthetic`` blank: true when all three sources are synthetic (a follower's
      stripping source is its site's).
    * Spreads blank, by provenance: reported, the year-to-year spreads
      (:data:`YEAR_TO_YEAR_GRADE` ...); other_year, those x :data:`OTHER_YEAR_FACTOR`;
      imputed, the archetype's across-deposit spread; synthetic, the across-deposit
      spread. A stripping ratio of 0 has no spread (``stripping_gsd`` 1). An imputed
      value, with a blank or an explicit spread, is truncated at its archetype's min
      and max (:data:`TRUNCATION_COLUMNS`).
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
    f = _Filler(path, mines, lines, metals, archetypes, bounds)
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
        f.sources(i)
        f.values(i)
    order: list[int] = []
    for sid, members in sites.items():
        explicit = [c for c in ("alloc_economic", "alloc_mass")
                    if not any(_blank(rows[i][c]) for i in members)]
        _site_allocation(f, sid, members)
        lead = next((i for i in members if rows[i]["main_product"] is True), None)
        if lead is None:  # no main product (a missing price): the largest explicit share
            lead = max(members, key=lambda i: float(rows[i][explicit[0]])) if explicit \
                else members[0]
        members[:] = [lead] + [i for i in members if i != lead]  # the lead first
        order.extend(members)
        _site_stripping(f, sid, members)
    for i in range(len(rows)):
        f.synthetic_flag(i)
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
    claims = [i for i in members if "_sr_claim" in rows[i]]  # blank, but said reported
    if claims and not given:
        i = claims[0]
        said = rows[i]["_sr_claim"]
        where = "" if len(members) == 1 else f", on this row or another row of site '{sid}'"
        raise f.fail(i, "stripping_ratio", f"blank, but stripping_source says '{said}' (a "
                     f"{said} value must be given{where}; leave the source blank or say "
                     "imputed)")
    if given:
        src = given[0]
        if claims and not rows[src]["_sr_source_given"]:
            rows[src]["stripping_source"] = rows[claims[0]]["_sr_claim"]
        for i in claims:
            if rows[i]["_sr_claim"] != rows[src]["stripping_source"]:
                raise f.fail(i, "stripping_source", f"the rows of site '{sid}' share one "
                             f"stripping ratio; line {f.lines[src]} gives it, as "
                             f"'{rows[src]['stripping_source']}'", rows[i]["_sr_claim"])
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


#: Rules of the allocation cells computed from prices (``Dataset.fills``): the shares the
#: kernels recompute per sample when prices are uncertain (``metals.csv`` ``price_gsd``).
REVENUE_RULE = "revenue (price x production) over the revenue of site"
MAIN_PRODUCT_RULE = "the highest-revenue row of site"


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
                f.put(i, col, float(x), f"{REVENUE_RULE} {sid}")
        else:
            top = int(np.argmax(revenue))
            for k, i in enumerate(members):
                f.put(i, col, k == top, f"{MAIN_PRODUCT_RULE} {sid}")
