"""A dataset folder -> one validated, frozen :class:`Dataset`.

:func:`load_dataset` reads every table (:mod:`~uncertainty.data.tables`), checks the
references between them (countries, metals, vehicles, chemistries) and the shares that
must sum to one, completes the mine table (:mod:`~uncertainty.data.fill`) and hashes
every file. Mines that cannot receive weight (no supply share for their metal and
country) are listed by :func:`weightless_mines` and :func:`dataset_warnings`;
:func:`coverage_table` says per metal what the mine table rests on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from uncertainty.data.fill import (
    ARCHETYPE_FILE,
    DEFAULT_ARCHETYPES,
    MINE_VALUES,
    complete_mines,
    read_archetypes,
)
from uncertainty.data.schema import (
    CONC_GRADE_MAX,
    CONC_GRADE_TOLERANCE,
    GLOBAL_PARAMETERS,
    GRADE_BASIS_FACTORS,
    PROVENANCES,
    SHARE_TOLERANCE,
    SPECS,
    Bound,
    DataValidationError,
    TableSpec,
)
from uncertainty.data.tables import (
    PLAUSIBILITY_FILE,
    _read_table,
    read_plausibility,
)
from uncertainty.store import sha256_file

__all__ = [
    "Dataset",
    "coverage_table",
    "dataset_warnings",
    "format_coverage",
    "load_dataset",
    "weightless_mines",
]


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
    fills : pandas.DataFrame
        The blanks of ``mines.csv`` that were filled: mine_id, column, value, rule
        (:func:`complete_mines`).
    lines : Mapping[str, list[int]]
        Table name -> the line number of each of its rows in its file (for error
        messages; ``mines`` in the order of ``tables["mines"]``). Empty for a dataset
        built by hand.
    """

    path: Path
    tables: Mapping[str, pd.DataFrame]
    hashes: Mapping[str, str] = field(default_factory=dict)
    fills: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["mine_id", "column", "value", "rule"]))
    lines: Mapping[str, list[int]] = field(default_factory=dict)

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
    path: Path, df: pd.DataFrame, spec: TableSpec, column: str, valid: set[str], what: str,
    lines: list[int],
) -> None:
    for i, v in enumerate(df[column]):
        if v not in valid:
            raise DataValidationError(
                path, f"unknown {what} (not in {what}s of the dataset)", row=lines[i],
                row_id=", ".join(f"{k}={df.iloc[i][k]}" for k in spec.key),
                column=column, value=v,
            )


def _check_shares(path: Path, df: pd.DataFrame, by: str, what: str,
                  lines: list[int]) -> None:
    for name, grp in df.groupby(by, sort=False):
        total = float(grp["share"].sum())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            first = int(grp.index[0])
            raise DataValidationError(
                path, f"{what} shares of {by} '{name}' must sum to 1 (within {SHARE_TOLERANCE:g})",
                row=lines[first], row_id=f"{by}={name}", column="share", value=round(total, 10),
            )


def load_dataset(path: str | Path) -> Dataset:
    """Load and validate a dataset folder.

    Parameters
    ----------
    path : str or Path
        Folder holding the CSV files of :mod:`uncertainty.data.schema`, and optionally
        ``plausibility.csv`` (:func:`read_plausibility`).

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
    bounds: dict[str, dict[str, Bound]] = {}
    if (root / PLAUSIBILITY_FILE).exists():
        bounds = read_plausibility(root / PLAUSIBILITY_FILE)
    tables: dict[str, pd.DataFrame] = {}
    lines: dict[str, list[int]] = {}  # the line number of each row, per table
    absent = [name for name, spec in SPECS.items()
              if spec.optional and not (root / spec.file).exists()]
    for name, spec in SPECS.items():
        if name in absent:
            tables[name] = pd.DataFrame({c.name: pd.Series(dtype=object if c.kind == "str"
                                                            else float) for c in spec.columns})
            lines[name] = []
            continue
        tables[name], lines[name] = _read_table(root / spec.file, spec, bounds.get(name))
    hashes = {spec.file: sha256_file(root / spec.file) for name, spec in SPECS.items()
              if name not in absent}
    if (root / PLAUSIBILITY_FILE).is_file():
        hashes[PLAUSIBILITY_FILE] = sha256_file(root / PLAUSIBILITY_FILE)
    p = {name: root / spec.file for name, spec in SPECS.items()}
    fleet = tables["fleet"]
    if absent:
        nev = fleet[fleet["nev"].astype(bool)]
        if len(nev):
            raise DataValidationError(
                p[absent[0]], f"file not found; the battery tables ({', '.join(SPECS[a].file for a in absent)}) "
                f"are needed because fleet.csv has an electric vehicle "
                f"('{nev['vehicle'].iloc[0]}', nev = true)")

    arche_path = root / ARCHETYPE_FILE if (root / ARCHETYPE_FILE).is_file() else DEFAULT_ARCHETYPES
    arche_cache: list[pd.DataFrame] = []

    def archetypes() -> pd.DataFrame:
        if not arche_cache:
            arche_cache.append(read_archetypes(arche_path))
        return arche_cache[0]


    countries = set(tables["countries"]["iso3"])
    metals = set(tables["metals"]["metal"])
    vehicles = set(tables["fleet"]["vehicle"])
    chems = set(tables["chemistries"]["chemistry"])

    for name, column, valid, what in (
        ("mines", "country", countries, "country code"), ("mines", "metal", metals, "metal"),
        ("supply", "country", countries, "country code"), ("supply", "metal", metals, "metal"),
        ("vehicles", "metal", metals, "metal"), ("vehicles", "vehicle", vehicles, "vehicle"),
        ("chemistries", "metal", metals, "metal"),
        ("battery_mix", "chemistry", chems, "chemistry"),
    ):
        _check_refs(p[name], tables[name], SPECS[name], column, valid, what, lines[name])
    tables["mines"], lines["mines"], fills = complete_mines(
        p["mines"], tables["mines"], lines["mines"], tables["metals"], archetypes,
        bounds.get("mines"))
    if fills["rule"].str.contains("archetype").any():
        hashes[ARCHETYPE_FILE] = sha256_file(arche_path)
    _check_shares(p["supply"], tables["supply"], "metal", "supply", lines["supply"])
    total_mix = float(tables["battery_mix"]["share"].sum())
    if "battery_mix" not in absent and abs(total_mix - 1.0) > SHARE_TOLERANCE:
        raise DataValidationError(
            p["battery_mix"], f"battery mix shares must sum to 1 (within {SHARE_TOLERANCE:g})",
            column="share", value=round(total_mix, 10),
        )

    # every metal the vehicles need has supply rows (a metal without demand, such as a
    # co-product's gold, may have none); every supplying (metal, country) has a mine
    mines = tables["mines"]
    have = set(zip(mines["metal"], mines["country"], strict=True))
    supply = tables["supply"]
    demanded = set(tables["vehicles"].loc[tables["vehicles"]["content_kg"] > 0, "metal"]) | \
        set(tables["chemistries"].loc[tables["chemistries"]["kg_per_kwh"] > 0, "metal"])
    for m in sorted((metals & demanded) - set(supply["metal"])):
        raise DataValidationError(p["supply"], f"metal '{m}' has no supply shares (the "
                                  "vehicles or battery chemistries need it)", value=m)
    for i, (m, c, s) in enumerate(zip(supply["metal"], supply["country"], supply["share"], strict=True)):
        if s > 0 and (m, c) not in have:
            raise DataValidationError(
                p["supply"], "a supplying country needs at least one mine of that metal in mines.csv",
                row=lines["supply"][i], row_id=f"metal={m}, country={c}", column="country",
                value=c,
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
            row=lines["mines"][i], row_id=f"mine_id={mines['mine_id'].iloc[i]}",
            column="conc_grade",
            value=float(mines["conc_grade"].iloc[i]),
        )
    for j, (metal, basis, conc) in enumerate(zip(mines["metal"], mines["grade_unit"],
                                                  mines["conc_grade"], strict=True)):
        top = CONC_GRADE_MAX.get((str(metal), str(basis)))
        if top is not None and conc > top[0] * (1.0 + CONC_GRADE_TOLERANCE):
            raise DataValidationError(
                p["mines"], f"conc_grade must not exceed {top[0]:g}, the {metal} fraction of "
                f"{top[1]} (the stoichiometric maximum for {metal} ore reported as "
                f"'{basis}'): a richer concentrate would understate the tailings",
                row=lines["mines"][j], row_id=f"mine_id={mines['mine_id'].iloc[j]}",
                column="conc_grade", value=float(conc))
    if not float(fleet["count"].sum()) > 0.0:
        raise DataValidationError(
            p["fleet"], "at least one vehicle count must be positive (every metric is per "
            "fleet)", column="count", value=float(fleet["count"].sum()),
        )
    kwh = fleet[["battery_kwh_min", "battery_kwh_mode", "battery_kwh_max"]].to_numpy(float)
    for j in np.flatnonzero(~((kwh[:, 0] <= kwh[:, 1]) & (kwh[:, 1] <= kwh[:, 2]))):
        i = int(j)
        raise DataValidationError(
            p["fleet"], "must have battery_kwh_min <= battery_kwh_mode <= battery_kwh_max",
            row=lines["fleet"][i], row_id=f"vehicle={fleet['vehicle'].iloc[i]}",
            column="battery_kwh_mode", value=float(kwh[i, 1]),
        )
    glob = set(tables["globals"]["parameter"])
    for g in GLOBAL_PARAMETERS:
        if g not in glob:
            raise DataValidationError(p["globals"], f"parameter '{g}' must be defined", value=g)
    return Dataset(root, tables, hashes, fills, lines)



def coverage_table(ds: Dataset) -> pd.DataFrame:
    """What the mine table rests on, per metal.

    Returns
    -------
    pandas.DataFrame
        One row per metal of ``mines.csv`` (metals.csv order): ``metal``, ``sites``
        (sites with a row of the metal), ``rows``, ``production_t``, and for each value
        ``v`` of grade, stripping_ratio, mill_recovery and each provenance ``p``, the
        column ``v:p``: the share of the metal's production whose ``v`` is ``p``.
    """
    m = ds.mines
    out = []
    for metal in ds.metals:
        sub = m[m["metal"] == metal]
        if not len(sub):
            continue
        prod = sub["production_t"].to_numpy(float)
        row: dict[str, object] = {"metal": metal, "sites": int(sub["site_id"].nunique()),
                                  "rows": len(sub), "production_t": float(prod.sum())}
        for value, _, source in MINE_VALUES:
            for prov in PROVENANCES:
                row[f"{value}:{prov}"] = float(prod[(sub[source] == prov).to_numpy()].sum()
                                               / prod.sum())
        out.append(row)
    return pd.DataFrame(out)


_SHORT = {"grade": "grade", "stripping_ratio": "stripping", "mill_recovery": "recovery"}


def format_coverage(cov: pd.DataFrame) -> list[str]:
    """:func:`coverage_table` as text lines: per metal, sites, rows, production and the
    percentages reported / other_year / imputed / synthetic of each value."""
    head = (f"{'metal':<12} {'sites':>6} {'rows':>6} {'production_t':>16}   "
            + "   ".join(f"{_SHORT[v] + ' r/o/i/s %':<17}" for v, _, _ in MINE_VALUES))
    lines = [head.rstrip()]
    for d in cov.to_dict("records"):
        parts = []
        for value, _, _ in MINE_VALUES:
            cells = "/".join(f"{100 * cov.loc[cov['metal'] == d['metal'], f'{value}:{p}'].item():.0f}"
                             for p in PROVENANCES)
            parts.append(f"{cells:<17}")
        lines.append(f"{d['metal']:<12} {d['sites']:>6} {d['rows']:>6} "
                     f"{d['production_t']:>16,.0f}   " + "   ".join(parts).rstrip())
    return lines


def weightless_mines(ds: Dataset) -> pd.DataFrame:
    """Mines that receive no weight: ``supply.csv`` has no positive share for their
    metal from their country, so they contribute nothing to any metric.

    Returns
    -------
    pandas.DataFrame
        mine_id, metal, country, production_t, reason; one row per mine, in file order.
    """
    mines, supply = ds.tables["mines"], ds.tables["supply"]
    shares = {(m, c): float(v) for m, c, v in
              zip(supply["metal"], supply["country"], supply["share"], strict=True)}
    rows = []
    for mid, metal, country, prod in zip(mines["mine_id"], mines["metal"], mines["country"],
                                         mines["production_t"], strict=True):
        share = shares.get((metal, country))
        if share is None or share <= 0:
            reason = ("supply.csv has no share for " if share is None else
                      "supply.csv gives a share of 0 for ") + f"{metal} from {country}"
            rows.append({"mine_id": mid, "metal": metal, "country": country,
                         "production_t": float(prod), "reason": reason})
    return pd.DataFrame(rows, columns=["mine_id", "metal", "country", "production_t", "reason"])


def dataset_warnings(ds: Dataset, max_ids: int = 5) -> list[str]:
    """One ``warning:`` line per (metal, country) of :func:`weightless_mines`, with the
    number of mines, their production and their ids (at most ``max_ids``)."""
    lost = weightless_mines(ds)
    out = []
    path = ds.path / SPECS["mines"].file
    supplied = set(ds.tables["supply"]["metal"])
    byproduct = lost[~lost["metal"].isin(supplied)]
    if len(byproduct):  # co-products (gold at copper mines): they only take allocation shares
        metals = ", ".join(dict.fromkeys(byproduct["metal"]))
        out.append(f"note: {path}: {len(byproduct)} row(s) of {metals}, metal(s) without "
                   "supply shares, take their sites' allocation shares and no weight")
    lost = lost[lost["metal"].isin(supplied)]
    for (metal, country), grp in lost.groupby(["metal", "country"], sort=False):
        ids = list(grp["mine_id"])
        shown = ", ".join(ids[:max_ids]) + (f" and {len(ids) - max_ids} more"
                                             if len(ids) > max_ids else "")
        total = float(grp["production_t"].sum())
        tonnes = f"{total:,.0f}" if total >= 10 else f"{total:.3g}"
        out.append(f"warning: {path}: {len(ids)} mine(s) of {metal} in {country} "
                   f"({tonnes} t of production: {shown}) receive no "
                   f"weight: {grp['reason'].iloc[0]}")
    return out
