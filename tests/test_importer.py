"""``uncertainty import jasansky``: the importer of the Jasansky et al. (2023) open mine
database (Scientific Data 10, 52, doi:10.1038/s41597-023-01965-y).

Each trap of the database has a test on a small, hand-written fixture folder with
invented facilities (no row of the real data is copied); one test imports the real
database when a copy is at hand (``UNCERTAINTY_JASANSKY_DIR``, else the project's shared
data folder beside the repository) and checks its coverage.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from realdata import MISSING, jasansky_dir

from uncertainty.build import importer
from uncertainty.build.importer import MINES_COLUMNS, REJECT_COLUMNS, SOURCE_FILES, import_jasansky
from uncertainty.data import DataValidationError, load_dataset

ROOT = Path(__file__).resolve().parents[1]
SUPPLY = ROOT / "distributions" / "supply.csv"

# ----------------------------------------------------------------------- fixtures


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})


class DB:
    """A fixture database folder: add facilities and rows, then :meth:`write`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fac: list[dict[str, Any]] = []
        self.com: list[dict[str, Any]] = []
        self.min: list[dict[str, Any]] = []
        self.waste: list[dict[str, Any]] = []

    def facility(self, fid: str, country: str = "CHL", primary: str = "Copper",
                 equipment: str = "Open pit", ftype: str = "Mine", name: str | None = None,
                 products: str = "") -> str:
        self.fac.append({"facility_id": fid, "facility_name": name or f"Invented {fid}",
                         "facility_type": ftype, "primary_commodity": primary,
                         "commodities_products": products, "facility_equipment": equipment,
                         "country": f"Country {country}", "GID_0": country})
        return fid

    def ore(self, fid: str, year: int, tonnes: float, material: str = "O.Cu",
            typ: str = "Ore processed") -> int:
        i = len(self.min) + 1
        self.min.append({"id": i, "facility_id": fid, "year": year, "type": typ,
                         "material": material, "value_tonnes": tonnes})
        return i

    def metal(self, fid: str, year: int, commodity: str, tonnes: float | str,
              grade: float | str = "", recovery: float | str = "", material: str = "O.Cu",
              id_minerals: int | str = "", period: str = "") -> None:
        self.com.append({"id": len(self.com) + 1, "facility_id": fid, "year": year,
                         "material": material, "commodity": commodity,
                         "value_tonnes": tonnes, "grade_ppm": grade,
                         "recovery_rate": recovery, "reporting_period": period,
                         "id_minerals": id_minerals})

    def waste_rock(self, fid: str, year: int, rock: float | str = "",
                   total: float | str = "", ratio: float | str = "") -> None:
        self.waste.append({"facility_id": fid, "year": year, "type_mining": "Surface",
                           "waste_type": "Waste rock", "value_tonnes": rock,
                           "total_material_tonnes": total, "stripping_ratio": ratio})

    def write(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        _write(self.root / "facilities.csv", SOURCE_FILES["facilities.csv"], self.fac)
        _write(self.root / "commodities.csv", SOURCE_FILES["commodities.csv"], self.com)
        _write(self.root / "minerals.csv", SOURCE_FILES["minerals.csv"], self.min)
        _write(self.root / "waste.csv", SOURCE_FILES["waste.csv"], self.waste)
        return self.root


@pytest.fixture
def db(tmp_path: Path) -> DB:
    return DB(tmp_path / "db")


def production_file(path: Path, overrides: dict[tuple[str, str], float] | None = None,
                    default: float = 1e12, year: int = 2019) -> Path:
    """A production table with a row for every supplying pair of the default tables
    (``default`` t, so the residual is positive unless overridden)."""
    rows = []
    with SUPPLY.open(newline="") as fh:
        for r in csv.DictReader(fh):
            if float(r["share"]) > 0:
                t = (overrides or {}).get((r["metal"], r["country"]), default)
                rows.append({"metal": r["metal"], "country": r["country"], "year": year,
                             "production_t": t, "source": "test"})
    _write(path, ("metal", "country", "year", "production_t", "source"), rows)
    return path


class Out:
    """The CSV tables an import wrote."""

    def __init__(self, res: importer.ImportResult) -> None:
        self.res = res
        self.mines = pd.read_csv(res.out / "mines.csv", dtype=str, keep_default_na=False)
        self.rejects = pd.read_csv(res.out / "rejects.csv", dtype=str, keep_default_na=False)

    def row(self, mine_id: str) -> dict[str, str]:
        r = self.mines[self.mines["mine_id"] == mine_id]
        assert len(r) == 1, f"{mine_id} not in mines.csv: {list(self.mines['mine_id'])}"
        return {str(k): str(v) for k, v in r.iloc[0].to_dict().items()}

    def has(self, mine_id: str) -> bool:
        return bool((self.mines["mine_id"] == mine_id).any())

    def rules(self, facility: str | None = None) -> list[str]:
        r = self.rejects
        if facility is not None:
            r = r[r["facility"] == facility]
        return [x.split(":")[0] for x in r["rule"]]

    def reject(self, rule: str, facility: str | None = None) -> dict[str, str]:
        r = self.rejects[self.rejects["rule"].str.startswith(rule + ":")]
        if facility is not None:
            r = r[r["facility"] == facility]
        assert len(r), f"no {rule} in rejects.csv: {self.rules()}"
        return {str(k): str(v) for k, v in r.iloc[0].to_dict().items()}


def run(db: DB, tmp_path: Path, year: int = 2019, **kw: Any) -> Out:
    return Out(import_jasansky(db.write(), year, tmp_path / "out", **kw))


def close(a: str | float, b: float, rel: float = 1e-4) -> bool:
    return math.isclose(float(a), b, rel_tol=rel)


def _copper(db: DB, fid: str = "TST00001.00", country: str = "CHL", year: int = 2019,
            tonnes: float = 50_000.0) -> str:
    db.facility(fid, country)
    db.metal(fid, year, "Me.Cu", tonnes, material="Con.Cu")
    return fid


# ----------------------------------------------------------------------- format


def test_columns_and_tables(db: DB, tmp_path: Path) -> None:
    _copper(db)
    out = run(db, tmp_path)
    assert tuple(out.mines.columns) == MINES_COLUMNS
    assert tuple(out.rejects.columns) == REJECT_COLUMNS
    for name in ("metals.csv", "countries.csv", "supply.csv", "vehicles.csv", "fleet.csv",
                 "chemistries.csv", "battery_mix.csv", "globals.csv", "production.csv",
                 "archetypes.csv", "mines.csv", "rejects.csv"):
        assert (out.res.out / name).is_file(), name
    r = out.row("TST00001.00:copper")
    assert r["site_id"] == "TST00001.00" and r["synthetic"] == "false"
    assert r["archetype"] == "cu_porphyry" and r["mining_method"] == "open_pit"
    assert close(r["production_t"], 50_000)
    # nothing reported: blank values and sources (the loader imputes them)
    for c in ("grade", "stripping_ratio", "mill_recovery", "grade_source",
              "stripping_source", "recovery_source", "alloc_economic", "grade_gsd"):
        assert r[c] == "", c


# ----------------------------------------------------------------------- units


def test_units_gt_fe_al2o3(db: DB, tmp_path: Path) -> None:
    # copper with gold (g/t = ppm) at one site; iron as Fe; bauxite as Al2O3
    cu = db.facility("TST00001.00", "CHL")
    o = db.ore(cu, 2019, 10e6)
    db.metal(cu, 2019, "Me.Cu", 50_000, 6000, 0.85, id_minerals=o)
    db.metal(cu, 2019, "Me.Au", 2.5, 0.3, 0.8, material="O.Cu", id_minerals=o)
    fe = db.facility("TST00002.00", "AUS", primary="Iron")
    db.metal(fe, 2019, "Me.Fe", 3e6, 620_000, material="Con.Fe")
    db.metal(fe, 2019, "Me.Fe", 3.1e6, 600_000, material="O.Fe")
    al = db.facility("TST00003.00", "GIN", primary="Aluminium")
    oa = db.ore(al, 2019, 2e6, material="O.Al")
    db.metal(al, 2019, "Me.Al2O3", 2e6 * 0.45, 450_000, material="O.Al", id_minerals=oa)
    out = run(db, tmp_path)
    cu_r, au = out.row("TST00001.00:copper"), out.row("TST00001.00:gold")
    assert close(cu_r["grade"], 0.006) and cu_r["grade_unit"] == "metal"
    assert close(au["grade"], 0.3e-6) and au["grade_source"] == "reported"
    assert au["archetype"] == "" and au["site_id"] == "TST00001.00"
    assert close(au["mill_recovery"], 0.8)
    iron = out.row("TST00002.00:iron")
    assert close(iron["grade"], 0.60) and close(iron["conc_grade"], 0.62)
    assert close(iron["production_t"], 3e6)  # the concentrate, not ore + concentrate
    assert iron["archetype"] == "fe_hematite"
    bx = out.row("TST00003.00:aluminium")
    assert bx["grade_unit"] == "Al2O3" and close(bx["grade"], 0.45)
    assert close(bx["production_t"], 2e6 * 0.45 * 0.529)  # t of Al
    assert bx["archetype"] == "bauxite"
    # gold is a by-product: appended to metals.csv with a price, no supply row
    metals = pd.read_csv(out.res.out / "metals.csv")
    gold = metals[metals["metal"] == "gold"].iloc[0]
    assert gold["fabrication_yield"] == 1 and gold["energy_kwh_per_t"] == 0
    assert gold["price_usd_per_t"] > 1e7
    copper = metals[metals["metal"] == "copper"].iloc[0]
    assert gold["sys_grade_gsd"] == copper["sys_grade_gsd"]
    supply = pd.read_csv(out.res.out / "supply.csv")
    assert "gold" not in set(supply["metal"])


def test_li2o_concentrate_grade(db: DB, tmp_path: Path) -> None:
    li = db.facility("TST00004.00", "AUS", primary="Other (poly)-metallic")
    o = db.ore(li, 2019, 1.7e6, material="O.Li")
    db.ore(li, 2019, 190_000, material="Con.Li", typ="Concentrate")
    # the "ore" grade of 5.9% Li2O is a concentrate grade; its tonnage is ore x that grade
    db.metal(li, 2019, "Me.Li2O", 1.7e6 * 0.059, 59_000, material="O.Li", id_minerals=o)
    out = run(db, tmp_path)
    r = out.row("TST00004.00:lithium")
    assert r["grade"] == "" and r["grade_unit"] == ""
    assert close(r["conc_grade"], 0.059 * 0.4646)
    assert close(r["production_t"], 190_000 * 0.059 * 0.4646)
    assert r["archetype"] == "li_spodumene"
    assert "li2o_concentrate_grade" in out.rules("TST00004.00")


def test_minerals_only_iron_from_ore_tonnage(db: DB, tmp_path: Path) -> None:
    fe = db.facility("TST00005.00", "BRA", primary="Iron")
    db.ore(fe, 2019, 10e6, material="O.Fe", typ="Ore mined")
    db.ore(fe, 2019, 9e6, material="O.Fe")
    out = run(db, tmp_path)
    r = out.row("TST00005.00:iron")
    # ore processed x the hematite archetype's median grade and modal recovery
    assert close(r["production_t"], 9e6 * 0.599667 * 0.95)
    assert out.reject("metal_from_ore_tonnage", "TST00005.00")["table"] == "minerals"


# ----------------------------------------------------------------------- impossible values


@pytest.mark.parametrize(("grade", "rule"), [
    ("inf", "grade_not_finite"), (0, "grade_not_positive"), (-5, "grade_not_positive"),
    (1.2e6, "grade_above_1e6"),
])
def test_impossible_grade(db: DB, tmp_path: Path, grade: Any, rule: str) -> None:
    f = db.facility("TST00010.00")
    db.metal(f, 2019, "Me.Cu", 20_000, grade, 0.9, material="O.Cu")
    db.metal(f, 2017, "Me.Cu", 18_000, 8000, 0.9, material="O.Cu")
    out = run(db, tmp_path)
    r = out.row("TST00010.00:copper")
    assert close(r["production_t"], 20_000)
    # the bad grade is dropped; the facility's other year stands in
    assert close(r["grade"], 0.008) and r["grade_source"] == "other_year"
    rej = out.reject(rule, "TST00010.00")
    assert rej["year"] == "2019" and rej["column"] == "grade_ppm"


def test_recovery_above_1(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00011.00")
    db.metal(f, 2019, "Me.Cu", 20_000, 8000, 1.4, material="O.Cu")
    out = run(db, tmp_path)
    r = out.row("TST00011.00:copper")
    assert r["mill_recovery"] == "" and r["recovery_source"] == ""
    assert close(r["grade"], 0.008)
    rej = out.reject("recovery_above_1", "TST00011.00")
    assert rej["column"] == "recovery_rate" and close(rej["value"], 1.4)


def test_copper_concentrate_grade_as_ore_grade(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00012.00", "PER")
    db.metal(f, 2019, "Me.Cu", 30_000, 260_000, material="O.Cu")
    out = run(db, tmp_path)
    r = out.row("TST00012.00:copper")
    assert r["grade"] == "" and close(r["conc_grade"], 0.26)
    assert "cu_concentrate_grade_as_ore" in out.rules("TST00012.00")


def test_zero_and_missing_tonnage(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00013.00")
    db.metal(f, 2019, "Me.Cu", 0, 7000, material="O.Cu")
    g = db.facility("TST00014.00")
    db.metal(g, 2019, "Me.Cu", "", 7000, material="O.Cu")
    db.ore(g, 2019, 0)
    out = run(db, tmp_path)
    assert not out.has("TST00013.00:copper") and not out.has("TST00014.00:copper")
    assert out.reject("zero_tonnage", "TST00013.00")["table"] == "commodities"
    assert out.reject("missing_tonnage", "TST00014.00")["column"] == "value_tonnes"
    zero_ore = out.rejects[(out.rejects["facility"] == "TST00014.00")
                           & (out.rejects["table"] == "minerals")]
    assert [x.split(":")[0] for x in zero_ore["rule"]] == ["zero_tonnage"]


# ----------------------------------------------------------------------- metal basis


def test_cathode_and_concentrate_are_summed(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00020.00")
    mill = db.ore(f, 2019, 30e6)
    leach = db.ore(f, 2019, 10e6, material="O.oxi")
    db.metal(f, 2019, "Me.Cu", 150_000, 6000, 0.85, material="O.Cu", id_minerals=mill)
    db.metal(f, 2019, "Oth.cuca", 60_000, 9000, 0.65, material="O.oxi", id_minerals=leach)
    out = run(db, tmp_path)
    r = out.row("TST00020.00:copper")
    assert close(r["production_t"], 210_000)  # total copper = concentrate + cathode
    # head grade weighted by ore processed; recovery by metal contained
    assert close(r["grade"], (30e6 * 6000 + 10e6 * 9000) / 40e6 / 1e6)
    rec = (30e6 * 6000 * 0.85 + 10e6 * 9000 * 0.65) / (30e6 * 6000 + 10e6 * 9000)
    assert close(r["mill_recovery"], rec)


def test_streams_are_summed(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00021.00", equipment="Open pit, Underground")
    a = db.ore(f, 2019, 4e6)
    b = db.ore(f, 2019, 1e6)
    db.metal(f, 2019, "Me.Cu", 4e6 * 0.005 * 0.9, 5000, 0.9, id_minerals=a)
    db.metal(f, 2019, "Me.Cu", 1e6 * 0.02 * 0.9, 20_000, 0.9, id_minerals=b)
    out = run(db, tmp_path)
    r = out.row("TST00021.00:copper")
    assert close(r["production_t"], 4e6 * 0.005 * 0.9 + 1e6 * 0.02 * 0.9)
    assert close(r["grade"], (4e6 * 0.005 + 1e6 * 0.02) / 5e6)
    assert r["mining_method"] == "open_pit"
    assert "mixed_mining_method" in out.rules("TST00021.00")


def test_ore_and_concentrate_rows_are_not_added(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00022.00")
    o = db.ore(f, 2019, 5e6)
    db.metal(f, 2019, "Me.Cu", 5e6 * 0.01 * 0.9, 10_000, 0.9, id_minerals=o)
    db.metal(f, 2019, "Me.Cu", 44_000, 270_000, material="Con.Cu")
    out = run(db, tmp_path)
    r = out.row("TST00022.00:copper")
    assert close(r["production_t"], 44_000)  # the concentrate rows, not 45,000 + 44,000
    assert close(r["grade"], 0.01) and close(r["conc_grade"], 0.27)
    assert out.reject("mixed_basis", "TST00022.00")["year"] == "2019"


def test_contained_metal_is_made_recovered(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00023.00")
    o = db.ore(f, 2019, 2e6)
    db.metal(f, 2019, "Me.Cu", 2e6 * 0.012, 12_000, 0.9, id_minerals=o)  # ore x grade
    out = run(db, tmp_path)
    r = out.row("TST00023.00:copper")
    assert close(r["production_t"], 2e6 * 0.012 * 0.9)
    assert "contained_to_recovered" in out.rules("TST00023.00")


def test_ore_processed_not_ore_mined(db: DB, tmp_path: Path) -> None:
    # grades are head grades of ore processed; the stripping ratio is per t ore mined
    f = db.facility("TST00027.00")
    mined = db.ore(f, 2019, 10e6, typ="Ore mined")
    db.ore(f, 2019, 5e6)
    db.metal(f, 2019, "Me.Cu", 5e6 * 0.01, 10_000, id_minerals=mined)  # contained metal
    db.waste_rock(f, 2019, rock=30e6)
    out = run(db, tmp_path)
    r = out.row("TST00027.00:copper")
    assert close(r["production_t"], 5e6 * 0.01 * 0.877)  # x cu_porphyry's modal recovery
    assert "contained_to_recovered" in out.rules("TST00027.00")
    assert close(r["stripping_ratio"], 3.0)


def test_metal_above_ore_x_grade(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00024.00")
    o = db.ore(f, 2019, 1000)  # ore in kt, metal in t
    db.metal(f, 2019, "Me.Cu", 9000, 15_000, id_minerals=o)
    out = run(db, tmp_path)
    r = out.row("TST00024.00:copper")
    assert close(r["production_t"], 9000) and close(r["grade"], 0.015)
    assert out.reject("metal_exceeds_ore_x_grade", "TST00024.00")["column"] == "value_tonnes"


def test_more_concentrate_than_ore_processed(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00025.00", "ZAF", primary="Other (poly)-metallic")
    db.ore(f, 2019, 100_000, material="O.Mn")
    db.ore(f, 2019, 300_000, material="Con.MnO", typ="Concentrate")
    out = run(db, tmp_path)
    r = out.row("TST00025.00:manganese")
    assert close(r["production_t"], 300_000 * 0.44)  # product x the mn concentrate grade
    assert "concentrate_exceeds_ore" in out.rules("TST00025.00")


def test_grade_computed_from_production_is_not_a_head_grade(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00026.00")
    o = db.ore(f, 2019, 24_024_000)
    db.metal(f, 2019, "Me.Cu", 64_000, 64_000 / 24_024_000 * 1e6, id_minerals=o)
    out = run(db, tmp_path)
    r = out.row("TST00026.00:copper")
    assert r["grade"] == "" and close(r["production_t"], 64_000)
    assert "grade_is_yield" in out.rules("TST00026.00")


# ----------------------------------------------------------------------- stripping


def test_stripping_reported_other_year_and_out_of_range(db: DB, tmp_path: Path) -> None:
    a = db.facility("TST00030.00")
    db.metal(a, 2019, "Me.Cu", 20_000, material="Con.Cu")
    db.metal(a, 2019, "Me.Zn", 9_000, material="Con.Zn")
    db.ore(a, 2019, 2e6, typ="Ore mined")
    db.waste_rock(a, 2019, rock=5e6)  # waste rock / ore mined = 2.5
    b = db.facility("TST00031.00")
    db.metal(b, 2019, "Me.Cu", 20_000, material="Con.Cu")
    db.waste_rock(b, 2019, ratio=45)  # kt reported as t: out of range
    db.waste_rock(b, 2015, ratio=2.0)
    db.waste_rock(b, 2016, ratio=3.0)
    out = run(db, tmp_path)
    ra, rz = out.row("TST00030.00:copper"), out.row("TST00030.00:zinc")
    assert close(ra["stripping_ratio"], 2.5) and ra["stripping_source"] == "reported"
    assert rz["stripping_ratio"] == ra["stripping_ratio"]  # one value per site
    rb = out.row("TST00031.00:copper")
    assert close(rb["stripping_ratio"], 2.5) and rb["stripping_source"] == "other_year"
    rej = out.reject("stripping_out_of_range", "TST00031.00")
    assert rej["table"] == "waste" and rej["year"] == "2019" and close(rej["value"], 45)


# ----------------------------------------------------------------------- mislabelled


def test_mineral_sands_are_not_iron(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00040.00", "AUS", primary="Iron", products="Zircon, Rutile, Ilmenite")
    db.ore(f, 2019, 5e6, material="O.FeTiO3", typ="Ore mined")
    db.ore(f, 2019, 5e6, material="O.Zr")
    db.waste_rock(f, 2019, ratio=800)
    out = run(db, tmp_path)
    assert not out.has("TST00040.00:iron")
    assert out.rules("TST00040.00") == ["mineral_sands_not_iron"]


def test_regional_aggregate_and_not_a_mine(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00041.00", "KAZ", primary="Zinc", ftype="Region")
    db.metal(f, 2019, "Me.Zn", 100_000, material="Con.Zn")
    g = db.facility("TST00042.00", "CHN", primary="Processing", ftype="Smelter")
    db.metal(g, 2019, "Me.Cu", 100_000, material="")
    out = run(db, tmp_path)
    assert not out.has("TST00041.00:zinc") and not out.has("TST00042.00:copper")
    assert out.rules("TST00041.00") == ["regional_aggregate"]
    assert out.rules("TST00042.00") == ["not_a_mine"]


def test_duplicate_facility_id(db: DB, tmp_path: Path) -> None:
    _copper(db, "TST00043.00", "PER")
    db.facility("TST00043.00", "CHN", name="Second entry")
    out = run(db, tmp_path)
    r = out.row("TST00043.00:copper")
    assert r["country"] == "PER" and r["name"] == "Invented TST00043.00"  # the first kept
    assert out.reject("duplicate_facility_id", "TST00043.00")["table"] == "facilities"


# ----------------------------------------------------------------------- years


def test_year_window_and_other_year(db: DB, tmp_path: Path) -> None:
    a = db.facility("TST00050.00")  # 2018 only in the window: used, noted
    db.metal(a, 2018, "Me.Cu", 30_000, material="Con.Cu")
    db.metal(a, 2014, "Me.Cu", 25_000, 9000, 0.88, material="O.Cu")
    db.metal(a, 2015, "Me.Cu", 25_000, 7000, 0.86, material="O.Cu")
    b = db.facility("TST00051.00")  # last production 2016: outside [2017, 2019]
    db.metal(b, 2016, "Me.Cu", 30_000, material="Con.Cu")
    c = db.facility("TST00052.00")  # 2019 and 2018: 2019 is used
    db.metal(c, 2018, "Me.Cu", 10_000, 5000, material="O.Cu")
    db.metal(c, 2019, "Me.Cu", 12_000, 6000, material="O.Cu")
    db.metal(c, 2020, "Me.Cu", 99_000, 9000, material="O.Cu")
    out = run(db, tmp_path)
    ra = out.row("TST00050.00:copper")
    assert close(ra["production_t"], 30_000)
    assert close(ra["grade"], 0.008) and ra["grade_source"] == "other_year"  # median 0.9/0.7%
    assert close(ra["mill_recovery"], 0.87) and ra["recovery_source"] == "other_year"
    rej = out.reject("production_other_year", "TST00050.00")
    assert rej["value"] == "2018" and rej["year"] == "2019"
    assert not out.has("TST00051.00:copper")
    rc = out.row("TST00052.00:copper")
    assert close(rc["production_t"], 12_000) and close(rc["grade"], 0.006)
    assert rc["grade_source"] == "reported"


def test_fiscal_year_is_noted(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00053.00", "AUS")
    db.metal(f, 2019, "Me.Cu", 150_000, material="Con.Cu", period="July-June")
    out = run(db, tmp_path)
    assert close(out.row("TST00053.00:copper")["production_t"], 150_000)
    rej = out.reject("fiscal_year", "TST00053.00")
    assert rej["value"] == "July-June" and rej["column"] == "reporting_period"


def test_partial_year(db: DB, tmp_path: Path) -> None:
    _copper(db, year=2020)
    for year, n in ((2017, 150), (2018, 160), (2019, 140), (2020, 20)):
        for _ in range(n):
            db.ore("TST00001.00", year, 1000.0, material="M.lim")
    prod = production_file(tmp_path / "production.csv", year=2020)
    out = run(db, tmp_path, year=2020, production=prod)
    rej = out.reject("partial_year")
    assert rej["year"] == "2020" and "partial" in rej["rule"]
    assert close(out.row("TST00001.00:copper")["production_t"], 50_000)
    assert "partial_year" not in Out(import_jasansky(db.root, 2019, tmp_path / "o19")).rules()


def test_byproduct_grade_median(db: DB, tmp_path: Path) -> None:
    for i, g in enumerate((0.2, 0.4, 0.6)):
        f = db.facility(f"TST0006{i}.00")
        o = db.ore(f, 2019, 1e7)
        db.metal(f, 2019, "Me.Cu", 1e7 * 0.006 * 0.9, 6000, 0.9, id_minerals=o)
        db.metal(f, 2019, "Me.Au", 1e7 * g * 1e-6 * 0.7, g, 0.7, id_minerals=o)
    f = db.facility("TST00069.00")
    db.metal(f, 2019, "Me.Cu", 20_000, material="Con.Cu")
    db.metal(f, 2019, "Me.Au", 1.5, material="Con.Cu")
    db.waste_rock(f, 2019, ratio=2.0)
    out = run(db, tmp_path)
    au = out.row("TST00069.00:gold")
    assert close(au["grade"], 0.4e-6) and au["grade_source"] == "imputed"
    assert close(au["mill_recovery"], 0.7) and au["recovery_source"] == "imputed"
    assert float(au["grade_gsd"]) > 1  # the spread across the co-product sites
    assert "byproduct_grade_median" in out.rules("TST00069.00")
    # a site's main metal comes first; by-products never make a site on their own
    site = out.mines[out.mines["site_id"] == "TST00069.00"]
    assert list(site["metal"]) == ["copper", "gold"]


def test_byproducts_alone_make_no_site(db: DB, tmp_path: Path) -> None:
    f = db.facility("TST00070.00", primary="Gold")
    db.metal(f, 2019, "Me.Au", 10.0, 2.0, 0.9, material="O.Au")
    _copper(db)
    out = run(db, tmp_path)
    assert not (out.mines["site_id"] == "TST00070.00").any()


# ----------------------------------------------------------------------- residual


def test_residual_synthetic_mines_and_exceed_warning(db: DB, tmp_path: Path) -> None:
    _copper(db, "TST00080.00", "CHL", tonnes=1e6)
    _copper(db, "TST00081.00", "PER", tonnes=3e6)
    arche = pd.read_csv(ROOT / "distributions" / "archetypes.csv")
    size = float(arche.loc[arche["archetype"] == "cu_porphyry", "size_median_t"].iloc[0])
    prod = production_file(tmp_path / "production.csv",
                           {("copper", "CHL"): 1e6 + 5.2 * size, ("copper", "PER"): 2e6,
                            ("copper", "USA"): 1e9})
    out = run(db, tmp_path, production=prod)
    syn = out.mines[(out.mines["synthetic"] == "true") & (out.mines["metal"] == "copper")]
    chl = syn[syn["country"] == "CHL"]
    assert len(chl) == 5  # round(5.2 size / size) mines of equal production
    assert all(close(t, 5.2 * size / 5) for t in chl["production_t"])
    assert set(chl["archetype"]) == {"cu_porphyry"} and set(chl["site_id"]) == {""}
    for c in ("grade_source", "stripping_source", "recovery_source"):
        assert set(chl[c]) == {"synthetic"}
    assert set(chl["grade"]) == {""} and set(chl["mining_method"]) == {"open_pit"}
    assert len(syn[syn["country"] == "USA"]) == 20  # at most 20 per country
    assert len(syn[syn["country"] == "PER"]) == 0
    rej = out.reject("facilities_exceed_production")
    assert "copper, PER" in rej["rule"] and rej["table"] == "production"
    cod = syn[syn["country"] == "COD"]
    assert set(cod["archetype"]) == {"cu_sediment"}
    shutil_out = out.res.out / "production.csv"
    assert pd.read_csv(shutil_out).equals(pd.read_csv(prod))  # the table used


def test_shipped_production_covers_every_supplying_pair() -> None:
    prod = pd.read_csv(ROOT / "distributions" / "production.csv")
    supply = pd.read_csv(SUPPLY)
    need = set(map(tuple, supply.loc[supply["share"] > 0, ["metal", "country"]].to_numpy()))
    have = set(map(tuple, prod.loc[prod["year"] == 2019, ["metal", "country"]].to_numpy()))
    assert need <= have
    assert (prod["production_t"] > 0).all()
    assert prod["source"].str.contains("USGS Mineral Commodity Summaries 2020").all()
    # a stated estimate where the USGS table has no country figure
    est = prod[prod["source"].str.contains("other countries")]
    assert len(est) and est["source"].str.contains("estimate").all()
    # national figures below the world total
    world = prod[prod["country"] == "WLD"].set_index("metal")["production_t"]
    nat = prod[prod["country"] != "WLD"].groupby("metal")["production_t"].sum()
    assert (nat <= world.reindex(nat.index) * 1.0001).all()


# ----------------------------------------------------------------------- errors


def test_not_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "something"
    src.mkdir()
    (src / "commodities.csv").write_text("a,b\n1,2\n")
    args = _args(src, tmp_path / "out")
    assert importer.run_cli(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert str(src / "facilities.csv") in err and "not found" in err
    assert "10.1038/s41597-023-01965-y" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_repository_layout(db: DB, tmp_path: Path) -> None:
    # the data repository keeps facilities.csv in other_formats/ beside the CSV folder
    _copper(db)
    src = db.write()
    csv_dir = tmp_path / "final_format_csv"
    other = tmp_path / "other_formats"
    src.rename(csv_dir)
    other.mkdir()
    (csv_dir / "facilities.csv").rename(other / "facilities.csv")
    out = Out(import_jasansky(csv_dir, 2019, tmp_path / "out"))
    assert out.has("TST00001.00:copper")


def test_missing_column(db: DB, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _copper(db)
    src = db.write()
    (src / "waste.csv").write_text("facility_id,year\nTST00001.00,2019\n")
    assert importer.run_cli(_args(src, tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "waste.csv" in err and "stripping_ratio" in err


def test_year_without_data(db: DB, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _copper(db)
    assert importer.run_cli(_args(db.write(), tmp_path / "out", year=2031)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no data for 2031" in err
    with pytest.raises(DataValidationError, match="no data for 2031"):
        import_jasansky(db.root, 2031, tmp_path / "out")


def test_out_not_empty(db: DB, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _copper(db)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert importer.run_cli(_args(db.write(), out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    # an empty out folder is fine
    (out / "keep.txt").unlink()
    assert importer.run_cli(_args(db.root, out)) == 0
    assert (out / "mines.csv").is_file()


def test_nothing_half_written(db: DB, tmp_path: Path) -> None:
    _copper(db)
    prod = tmp_path / "production.csv"
    production_file(prod)
    text = prod.read_text().splitlines()
    prod.write_text("\n".join(line for line in text if not line.startswith("copper,CHN,")))
    with pytest.raises(DataValidationError, match="copper, CHN"):
        import_jasansky(db.write(), 2019, tmp_path / "out", production=prod)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "production.csv"]


def test_cli_wiring(db: DB, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from uncertainty.cli import main

    _copper(db)
    rc = main(["import", "jasansky", str(db.write()), "--year", "2019", "--out",
               str(tmp_path / "out")])
    assert rc == 0
    assert "1 sites" in capsys.readouterr().out


def _args(src: Path, out: Path, year: int = 2019) -> Any:
    import argparse

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    importer.add_parser(sub)
    return p.parse_args(["import", "jasansky", str(src), "--year", str(year), "--out",
                         str(out)])


# ----------------------------------------------------------------------- the loader


def test_output_loads(db: DB, tmp_path: Path) -> None:
    a = db.facility("TST00090.00", "CHL")
    o = db.ore(a, 2019, 1e7)
    db.metal(a, 2019, "Me.Cu", 1e7 * 0.007 * 0.88, 7000, 0.88, id_minerals=o)
    db.metal(a, 2019, "Me.Au", 1e7 * 0.2e-6 * 0.7, 0.2, 0.7, id_minerals=o)
    db.ore(a, 2019, 1.1e7, typ="Ore mined")
    db.waste_rock(a, 2019, rock=2.2e7)
    b = db.facility("TST00091.00", "IDN", primary="Nickel")
    db.metal(b, 2019, "Me.Ni", 30_000, 16_000, material="M.lat")
    c = db.facility("TST00092.00", "AUS", primary="Iron")
    db.ore(c, 2019, 2e7, material="Con.Fe", typ="Concentrate")
    out = run(db, tmp_path)
    ds = load_dataset(out.res.out)
    m = ds.mines.set_index("mine_id")
    assert m.at["TST00090.00:copper", "grade_source"] == "reported"
    assert m.at["TST00091.00:nickel", "archetype"] == "ni_laterite"
    assert m.at["TST00092.00:iron", "grade_source"] == "imputed"
    assert m.at["TST00090.00:copper", "main_product"]
    alloc = dict(zip(m.index, m["alloc_economic"].astype(float), strict=True))
    assert 0 < alloc["TST00090.00:gold"] < 1


# ----------------------------------------------------------------------- the real data


REAL = jasansky_dir()


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Out:
    if REAL is None:
        pytest.skip(MISSING)
    return Out(import_jasansky(REAL, 2019, tmp_path_factory.mktemp("real") / "out"))


def test_real_data_coverage(real: Out) -> None:
    m, res = real.mines, real.res
    facility = m[m["synthetic"] == "false"]
    other_year = {(r["facility"], r["rule"].split(":")[1].strip())
                  for _, r in real.rejects.iterrows()
                  if r["rule"].startswith("production_other_year:")}
    in_2019 = facility[[(s, x) not in other_year
                        for s, x in zip(facility["site_id"], facility["metal"], strict=True)]]
    n = in_2019["metal"].value_counts()
    # facilities producing in 2019 (the database's own count: copper 79 of concentrate,
    # 84 with cathode-only sites)
    assert 70 <= n["copper"] <= 90
    assert 55 <= n["iron"] <= 80 and 20 <= n["nickel"] <= 30 and 20 <= n["zinc"] <= 35
    assert n.get("rare_earths", 0) == 0 and n["lithium"] == 3
    # share of world 2019 mine production the facilities cover (window 2017-2019)
    cov = res.coverage.set_index("metal")["world_share"]
    assert 0.55 <= cov["copper"] <= 0.85
    assert 0.25 <= cov["zinc"] <= 0.45 and 0.3 <= cov["iron"] <= 0.75
    assert cov["rare_earths"] == 0
    # China is almost entirely synthetic
    chn = m[(m["country"] == "CHN") & (m["metal"] == "copper")]
    real_t = chn.loc[chn["synthetic"] == "false", "production_t"].astype(float).sum()
    assert real_t < 0.2 * chn["production_t"].astype(float).sum()
    # every trap of the database leaves its rule
    rules = set(real.rules())
    for rule in ("grade_not_positive", "li2o_concentrate_grade", "zero_tonnage",
                 "metal_exceeds_ore_x_grade", "concentrate_exceeds_ore",
                 "mineral_sands_not_iron", "regional_aggregate", "duplicate_facility_id",
                 "fiscal_year", "production_other_year", "facilities_exceed_production"):
        assert rule in rules, rule
    # one site per facility, sites share country and method, one row per metal
    for _sid, g in facility.groupby("site_id"):
        assert g["country"].nunique() == 1 and g["mining_method"].nunique() == 1
        assert g["metal"].is_unique
        assert g["stripping_ratio"].nunique() == 1
    assert m["mine_id"].is_unique


def test_real_data_loads(real: Out) -> None:
    """The import is a valid dataset: every site's rows share one stripping ratio and
    spread after the blanks are filled, and a by-product row (gold) takes its site's."""
    ds = load_dataset(real.res.out)
    m = ds.mines
    multi = m[m.duplicated("site_id", keep=False)]
    assert len(multi) > 100
    for _sid, g in multi.groupby("site_id"):
        assert g["stripping_ratio"].nunique() == 1 and g["stripping_gsd"].nunique() == 1
    assert not m[["grade", "stripping_ratio", "mill_recovery", "grade_gsd"]].isna().any().any()
