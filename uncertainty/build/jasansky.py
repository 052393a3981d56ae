"""Reading the Jasansky et al. (2023) open mine data in place, per archetype and facility.

Source: Jasansky, Lieber, Giljum and Maus (2023), "An open database on global coal and
metal mine production", *Scientific Data* 10, 52, doi:10.1038/s41597-023-01965-y (full
reference with the data commit: :data:`uncertainty.build.archetypes.CITATION`). Its
``facilities.csv``, ``commodities.csv``, ``minerals.csv`` and ``waste.csv`` are read
where they lie (:func:`_load`) and never copied; obvious unit errors are set to missing
and a few facilities are excluded, with the reasons kept as notes.

Each archetype of :data:`uncertainty.build.archetypes.ARCHETYPES` selects its rows by
commodity, ore material, primary commodity and country (:func:`_specs`,
:func:`_spec_rows`; iron ore is split into hematite and magnetite by
:func:`_iron_classes`), and every facility then contributes one value per statistic:
ore grade, recovery, mine size and stripping ratio (``_facility_*``). The fit of
:mod:`uncertainty.build.archetypefit` summarises those values into the archetype table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

__all__: list[str] = []


# ---------------------------------------------------------------------------------------
# loading the Jasansky et al. (2023) files
# ---------------------------------------------------------------------------------------

_GENERIC_ORE = frozenset({"O.bulk", "O.sul", "O.oxi"})
_SEDIMENT_CU_COUNTRIES = frozenset({"COD", "ZMB"})
#: Countries whose nickel mines are laterites (unless underground).
_LATERITE_COUNTRIES = frozenset(
    {"IDN", "PHL", "NCL", "CUB", "DOM", "COL", "BRA", "VEN", "MDG", "GTM", "GRC", "PNG",
     "MMR", "TUR", "ALB", "MKD", "XKO", "CIV", "SLB"}
)
#: Laterite mines in otherwise sulphide countries (by facility id): Murrin Murrin and
#: Ravensthorpe (Australia), Buruktal and Sakhara (Urals, Russia).
_LATERITE_FACILITIES = frozenset({"COM00872.00", "COM01066.00", "COM00185.00", "COM01109.00"})
_PGM_PARTS = ("Me.Pt", "Me.Pd", "Me.Rh", "Me.Ru", "Me.Ir", "Me.Os")
#: Facilities left out of every fit, with the reason.
_EXCLUDED_FACILITIES: dict[str, str] = {
    "COM00994.00": "Platinum Mile (ZAF) re-treats PGM tailings (0.65 g/t, recovery 0.11); "
    "it is not a mine",
}


@dataclass
class _Data:
    fac: pd.DataFrame  # indexed by facility_id
    com: pd.DataFrame
    mine: pd.DataFrame
    waste: pd.DataFrame
    notes: list[str]


def _read(path: Path, cols: Sequence[str]) -> pd.DataFrame:
    return pd.read_csv(path, usecols=list(cols), keep_default_na=True, low_memory=False)


def _underground_only(equipment: pd.Series) -> pd.Series:
    eq = equipment.fillna("").str.lower()
    surface = eq.str.contains("open") | eq.str.contains("surface") | eq.str.contains("cast")
    return eq.str.contains("underground") & ~surface


def _load(jdir: Path) -> _Data:
    jdir = Path(jdir)
    fac = _read(
        jdir / "facilities.csv",
        ["facility_id", "facility_name", "primary_commodity", "facility_equipment", "GID_0"],
    ).drop_duplicates("facility_id")
    fac["GID_0"] = fac["GID_0"].fillna("")
    fac["primary_commodity"] = fac["primary_commodity"].fillna("")
    fac["underground_only"] = _underground_only(fac["facility_equipment"])
    fac = fac[~fac["facility_id"].isin(sorted(_EXCLUDED_FACILITIES))]
    fac = fac.set_index("facility_id").sort_index()

    com = _read(
        jdir / "commodities.csv",
        ["facility_id", "year", "material", "commodity", "value_tonnes", "grade_ppm",
         "recovery_rate", "id_minerals"],
    )
    mine = _read(jdir / "minerals.csv", ["id", "facility_id", "year", "type", "material",
                                         "value_tonnes"])
    waste = _read(
        jdir / "waste.csv",
        ["facility_id", "year", "type_mining", "waste_type", "value_tonnes",
         "total_material_tonnes", "stripping_ratio", "waste_to_ore_ratio"],
    )
    notes: list[str] = [f"Excluded: {why}." for why in _EXCLUDED_FACILITIES.values()]

    # ore tonnage behind each grade (for tonnage-weighted facility-year grades)
    ore_t = mine.set_index("id")["value_tonnes"]
    com["ore_t"] = com["id_minerals"].map(ore_t)

    # obvious unit errors
    n0 = len(com)
    bad_grade = com["grade_ppm"].notna() & ~((com["grade_ppm"] > 0) & (com["grade_ppm"] <= 1e6))
    bad_rec = com["recovery_rate"].notna() & ~(
        (com["recovery_rate"] > 0) & (com["recovery_rate"] <= 1)
    )
    com.loc[bad_grade, "grade_ppm"] = np.nan
    com.loc[bad_rec, "recovery_rate"] = np.nan
    bad_val = com["value_tonnes"].notna() & ~(com["value_tonnes"] > 0)
    com.loc[bad_val, "value_tonnes"] = np.nan
    notes.append(
        f"Of {n0} commodity rows, {int(bad_grade.sum())} grades outside (0, 1e6] ppm, "
        f"{int(bad_rec.sum())} recoveries outside (0, 1] and {int(bad_val.sum())} "
        "non-positive tonnages were set to missing (unit or entry errors)."
    )

    # PGM: where only the individual metals are reported, add a summed Me.pgm row
    parts = com[com["commodity"].isin(_PGM_PARTS)]
    have = set(
        map(tuple, com.loc[com["commodity"] == "Me.pgm", ["facility_id", "year"]].to_numpy())
    )
    if len(parts):
        keys = ["facility_id", "year", "material"]
        g = parts.groupby(keys, dropna=False)
        summed = g.agg(
            grade_ppm=("grade_ppm", lambda s: s.sum(min_count=1)),
            value_tonnes=("value_tonnes", lambda s: s.sum(min_count=1)),
            n_parts=("commodity", lambda s: int(s.isin(["Me.Pt", "Me.Pd"]).sum())),
        ).reset_index()
        summed = summed[summed["n_parts"] >= 2]
        mask = [(f, y) not in have for f, y in zip(summed["facility_id"], summed["year"],
                                                    strict=True)]
        summed = summed[mask].drop(columns="n_parts")
        summed["commodity"] = "Me.pgm"
        com = pd.concat([com, summed], ignore_index=True)
    com = com.merge(fac[["primary_commodity", "GID_0", "underground_only"]],
                    left_on="facility_id", right_index=True, how="inner")
    com = com.sort_values(["facility_id", "year", "commodity", "material"],
                          na_position="last", kind="mergesort").reset_index(drop=True)
    return _Data(fac=fac, com=com, mine=mine, waste=waste, notes=notes)


# ---------------------------------------------------------------------------------------
# archetype membership
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    commodity: str
    primaries: frozenset[str] | None  # None: any mine (by-products)
    own: frozenset[str]  # ore materials that qualify at any facility
    conc: frozenset[str]  # concentrate materials counted for mine size
    facility: Callable[[pd.DataFrame], pd.Series] | None = None  # on the facility table
    extra_ore: frozenset[str] = frozenset()


def _is_laterite(fac: pd.DataFrame, com: pd.DataFrame) -> pd.Series:
    lat_mat = set(com.loc[com["material"] == "M.lat", "facility_id"])
    eq = fac["facility_equipment"].fillna("").str.lower()
    lat = (
        fac["GID_0"].isin(_LATERITE_COUNTRIES)
        | fac.index.isin(sorted(_LATERITE_FACILITIES))
        | fac.index.isin(sorted(lat_mat))
        | eq.str.contains("acid leach")
    )
    return lat & ~fac["underground_only"]


def _specs(data: _Data) -> dict[str, _Spec]:
    lat = _is_laterite(data.fac, data.com)
    ni_conc = frozenset({"Con.Ni", "Con.bulk"})
    return {
        "cu_porphyry": _Spec("Me.Cu", frozenset({"Copper"}), frozenset({"O.Cu"}),
                             frozenset({"Con.Cu", "Con.bulk"}),
                             lambda f: ~f["GID_0"].isin(_SEDIMENT_CU_COUNTRIES)),
        "cu_sediment": _Spec("Me.Cu", frozenset({"Copper"}), frozenset({"O.Cu"}),
                             frozenset({"Con.Cu", "Con.bulk"}),
                             lambda f: f["GID_0"].isin(_SEDIMENT_CU_COUNTRIES)),
        "ni_sulphide": _Spec("Me.Ni", frozenset({"Nickel"}), frozenset({"O.Ni"}), ni_conc,
                             lambda f: ~lat.reindex(f.index, fill_value=False)),
        "ni_laterite": _Spec("Me.Ni", frozenset({"Nickel"}), frozenset({"O.Ni"}), ni_conc,
                             lambda f: lat.reindex(f.index, fill_value=False),
                             extra_ore=frozenset({"M.lat"})),
        "co_byproduct": _Spec("Me.Co", None, frozenset({"O.Co"}),
                              frozenset({"Con.Co", "Con.bulk"}),
                              lambda f: ~f["primary_commodity"].isin(["Processing", "Coal"]),
                              extra_ore=frozenset({"O.Cu", "O.Ni", "M.lat"})),
        "zn": _Spec("Me.Zn", frozenset({"Zinc", "Other (poly)-metallic"}), frozenset({"O.Zn"}),
                    frozenset({"Con.Zn", "Con.bulk"})),
        "pb": _Spec("Me.Pb", frozenset({"Zinc", "Silver", "Other (poly)-metallic"}),
                    frozenset({"O.Pb", "O.Zn"}), frozenset({"Con.Pb", "Con.bulk"})),
        "pgm": _Spec("Me.pgm", frozenset(), frozenset({"O.pgm"}), frozenset()),
        "bauxite": _Spec("Me.Al2O3", frozenset({"Aluminium"}), frozenset({"O.Al"}),
                         frozenset()),
        "li_spodumene": _Spec("Me.Li2O", None, frozenset({"O.Li"}), frozenset({"Con.Li"})),
        "mn": _Spec("Me.Mn", None, frozenset({"O.Mn"}),
                    frozenset({"Con.MnO", "Con.MnCO3", "Con.Mn"})),
    }


def _spec_rows(data: _Data, spec: _Spec) -> pd.DataFrame:
    """Commodity rows of one archetype, with a ``stage`` column: ore, conc or total."""
    com = data.com
    c = com[com["commodity"] == spec.commodity]
    if spec.facility is not None:
        ok = spec.facility(data.fac)
        c = c[c["facility_id"].map(ok).fillna(False).astype(bool)]
    ore_set = _GENERIC_ORE | spec.own | spec.extra_ore
    mat = c["material"]
    stage = pd.Series("", index=c.index)
    stage[mat.isin(ore_set)] = "ore"
    stage[mat.isin(spec.conc)] = "conc"
    stage[mat.isna()] = "total"
    if spec.primaries is None:
        primary_ok = pd.Series(True, index=c.index)
    else:
        primary_ok = c["primary_commodity"].isin(spec.primaries)
    own_ok = mat.isin(spec.own)
    keep = (stage != "") & (primary_ok | own_ok)
    out = c[keep].copy()
    out["stage"] = stage[keep]
    return out


# ---------------------------------------------------------------------------------------
# per-facility values
# ---------------------------------------------------------------------------------------


def _ppm_to_unit(ppm: np.ndarray | pd.Series | float, unit: str) -> Any:
    """Grade in ppm (of the reported species) to ``unit``: 1 % = 10,000 ppm; 1 ppm = 1 g/t."""
    if unit == "g/t":
        return ppm
    return ppm / 1e4


def _facility_grades(rows: pd.DataFrame, unit: str) -> pd.Series:
    """Facility medians over years of the ore-tonnage-weighted facility-year grade."""
    r = rows[(rows["stage"] == "ore") & rows["grade_ppm"].notna()].copy()
    if r.empty:
        return pd.Series(dtype=float)
    r["g"] = _ppm_to_unit(r["grade_ppm"].astype(float), unit)
    r["w"] = r["ore_t"].where(r["ore_t"] > 0)
    out: dict[tuple[str, int], float] = {}
    for (fid, yr), grp in r.groupby(["facility_id", "year"], sort=True):
        if len(grp) > 1 and grp["w"].notna().all():
            out[(str(fid), cast(int, yr))] = float((grp["g"] * grp["w"]).sum() / grp["w"].sum())
        else:
            out[(str(fid), cast(int, yr))] = float(grp["g"].median())
    fy = pd.Series(out)
    return fy.groupby(level=0).median().sort_index()


def _facility_recoveries(rows: pd.DataFrame) -> pd.Series:
    r = rows[(rows["stage"] == "ore") & rows["recovery_rate"].notna()]
    if r.empty:
        return pd.Series(dtype=float)
    fy = r.groupby(["facility_id", "year"], sort=True)["recovery_rate"].median()
    return fy.groupby(level=0).median().sort_index()


def _latest_year(fy: pd.Series) -> pd.Series:
    """From a (facility, year) series: 2019 if present, else the facility's latest year."""
    out = {}
    for fid, s in fy.groupby(level=0, sort=True):
        years = s.index.get_level_values(1)
        pick = 2019 if 2019 in set(years) else int(max(years))
        out[str(fid)] = float(s.xs(pick, level=1).iloc[0])
    return pd.Series(out, dtype=float).sort_index()


def _facility_sizes(rows: pd.DataFrame, factor: float = 1.0) -> pd.Series:
    """Metal in the mine's product per year, 2019 or the latest year.

    Per facility-year each stage (concentrate rows, ore rows, rows without material) is
    summed over its materials and the largest stage total is taken, so a facility that
    reports both its ore and its concentrate is not counted twice.
    """
    r = rows[rows["value_tonnes"].notna()]
    if r.empty:
        return pd.Series(dtype=float)
    st = r.groupby(["facility_id", "year", "stage"], sort=True)["value_tonnes"].sum()
    fy = st.groupby(level=[0, 1]).max() * factor
    return _latest_year(fy[fy > 0])


def _ore_mined_sizes(data: _Data, materials: Iterable[str], facilities: Iterable[str],
                     types: Sequence[str] = ("Ore mined", "Ore processed")) -> pd.Series:
    """Ore tonnage per facility (2019 or latest year), first of ``types`` available."""
    m = data.mine[data.mine["material"].isin(list(materials))
                  & data.mine["facility_id"].isin(list(facilities))
                  & (data.mine["value_tonnes"] > 0)]
    for t in types:
        mt = m[m["type"] == t]
        if len(mt):
            fy = mt.groupby(["facility_id", "year"], sort=True)["value_tonnes"].sum()
            return _latest_year(fy)
    return pd.Series(dtype=float)


def _facility_sr(data: _Data, facilities: Iterable[str], surface_only: bool) -> pd.Series:
    """Per-facility median stripping ratio (t waste rock per t ore).

    Per facility-year, the first available of: the reported ``stripping_ratio``; the
    reported ``waste_to_ore_ratio``; waste rock / (total material - waste rock); waste
    rock / ore mined (minerals.csv); (total material - ore mined) / ore mined. Tailings
    rows are ignored. With ``surface_only``, rows marked Underground and facilities
    equipped only for underground mining are dropped.
    """
    fset = set(facilities)
    w = data.waste[data.waste["facility_id"].isin(fset)].copy()
    if surface_only:
        ug = data.fac["underground_only"]
        w = w[(w["type_mining"].fillna("") != "Underground")
              & ~w["facility_id"].map(ug).fillna(False).astype(bool)]
    w = w[~w["waste_type"].fillna("").str.contains("ailing")]
    if w.empty:
        return pd.Series(dtype=float)
    ore = data.mine[(data.mine["type"] == "Ore mined") & data.mine["facility_id"].isin(fset)
                    & data.mine["material"].fillna("").str.match(r"^(O\.|M\.lat)")]
    ore_fy = ore.groupby(["facility_id", "year"])["value_tonnes"].sum()
    out: dict[tuple[str, int], float] = {}
    for (fid, yr), g in w.groupby(["facility_id", "year"], sort=True):
        sr = math.nan
        s = g["stripping_ratio"].dropna()
        wo = g["waste_to_ore_ratio"].dropna()
        rock = g.loc[g["waste_type"] == "Waste rock", "value_tonnes"].dropna()
        total = g["total_material_tonnes"].dropna()
        ore_t = float(ore_fy.get((fid, yr), math.nan))
        wr = float(rock.sum()) if len(rock) else math.nan
        tot = float(total.max()) if len(total) else math.nan
        if len(s):
            sr = float(s.median())
        elif len(wo):
            sr = float(wo.median())
        elif wr > 0 and tot > wr:
            sr = wr / (tot - wr)
        elif wr > 0 and ore_t > 0:
            sr = wr / ore_t
        elif tot > 0 and ore_t > 0 and tot > ore_t:
            sr = (tot - ore_t) / ore_t
        if sr > 0 and math.isfinite(sr):
            out[(str(fid), cast(int, yr))] = sr
    if not out:
        return pd.Series(dtype=float)
    fy = pd.Series(out)
    return fy.groupby(level=0).median().sort_index()


def _iron_classes(data: _Data) -> pd.Series:
    """Facility -> 'fe_hematite' / 'fe_magnetite' for iron-ore mines.

    Rule, first that applies: median ore grade >= 45% Fe is hematite, below is
    magnetite; else the mass yield (concentrate t / ore processed t) >= 0.6 is
    hematite (direct-shipping practice), below is magnetite (beneficiated); else a mine
    that reports only ore (no concentrate stream) is hematite and one that reports only a
    concentrate is magnetite. Mineral-sand operations (no iron ore material) are left out.
    """
    fac = data.fac
    iron = fac.index[fac["primary_commodity"] == "Iron"]
    mine = data.mine[data.mine["facility_id"].isin(iron)]
    com = data.com[data.com["facility_id"].isin(iron)]
    mats = pd.concat([mine[["facility_id", "material"]], com[["facility_id", "material"]]])
    has_ore = set(mats.loc[mats["material"] == "O.Fe", "facility_id"])
    has_con = set(mats.loc[mats["material"].isin(["Con.Fe", "Oth.sif"]), "facility_id"])
    grade = com[(com["commodity"] == "Me.Fe") & (com["material"] == "O.Fe")
                & com["grade_ppm"].notna()].groupby("facility_id")["grade_ppm"].median()
    p = mine[mine["type"].isin(["Concentrate", "Ore processed"])].pivot_table(
        index=["facility_id", "year"], columns="type", values="value_tonnes", aggfunc="sum")
    if {"Concentrate", "Ore processed"} <= set(p.columns):
        y = (p["Concentrate"] / p["Ore processed"]).replace([np.inf, -np.inf], np.nan)
        yld = y[(y > 0) & (y <= 1.2)].groupby(level=0).median()
    else:
        yld = pd.Series(dtype=float)
    out: dict[str, str] = {}
    for fid in sorted(has_ore | has_con):
        if fid in grade.index:
            hem = grade[fid] >= 450_000
        elif fid in yld.index:
            hem = yld[fid] >= 0.6
        elif fid in has_ore and fid not in has_con:
            hem = True
        elif fid in has_con and fid not in has_ore:
            hem = False
        else:
            continue
        out[fid] = "fe_hematite" if hem else "fe_magnetite"
    return pd.Series(out, dtype=object)


def _iron_sizes(data: _Data, members: list[str], conc_grade: float) -> tuple[pd.Series, int]:
    """Fe in product per year: reported Me.Fe tonnes, else product t x conc_grade."""
    com = data.com
    fe = com[(com["commodity"] == "Me.Fe") & com["facility_id"].isin(members)
             & com["value_tonnes"].notna()]
    reported: pd.Series = pd.Series(dtype=float)
    if len(fe):
        fe = fe.assign(stage=np.where(fe["material"].fillna("").str.startswith("O."),
                                      "ore", "conc"))
        reported = _facility_sizes(fe)
    rest = [f for f in members if f not in reported.index]
    mine = data.mine[data.mine["facility_id"].isin(rest) & (data.mine["value_tonnes"] > 0)]
    est: dict[str, float] = {}
    for fid, g in mine.groupby("facility_id", sort=True):
        conc = g[g["type"] == "Concentrate"]
        src = conc if len(conc) else g[(g["type"] == "Ore mined") & (g["material"] == "O.Fe")]
        if src.empty:
            continue
        fy = src.groupby(["facility_id", "year"])["value_tonnes"].sum() * conc_grade
        est[str(fid)] = float(_latest_year(fy).iloc[0])
    sizes = pd.concat([reported, pd.Series(est, dtype=float)]).sort_index()
    return sizes, len(est)

