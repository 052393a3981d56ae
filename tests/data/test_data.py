"""Tests of uncertainty.data: every validation rule, message contents, the default dataset.

Each broken value must raise DataValidationError naming the file, the row (line number
of the file, header = line 1, and the key, e.g. the mine id), the column and the value.
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import DEFAULT_DATASET, MINE, base_tables

from uncertainty.build.defaultdata import generate
from uncertainty.data import SPECS, DataValidationError, load_dataset

MINE_ROW = re.escape("mines.csv: row 2 (mine_id=CU-CHL-001)")


def test_tiny_dataset_is_valid(tmp_path, make_dataset):
    ds = load_dataset(make_dataset(tmp_path))
    assert ds.metals == ["copper"]
    assert ds.vehicles == ["icev", "bev"]
    assert ds.countries == ["CHL"]
    assert len(ds.mines) == 1
    assert set(ds.hashes) == {spec.file for spec in SPECS.values()}
    assert ds.global_value("battery_pack_factor") == 1.2


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("grade", "0", "must be in (0, 1]"),
        ("grade", "1.7", "must be in (0, 1]"),
        ("grade", "-0.01", "must be in (0, 1]"),
        ("mill_recovery", "0", "must be in (0, 1]"),
        ("mill_recovery", "1.05", "must be in (0, 1]"),
        ("refining_recovery", "1.2", "must be in (0, 1]"),
        ("conc_grade", "2", "must be in (0, 1]"),
        ("stripping_ratio", "-1", "must be >= 0"),
        ("production_t", "0", "must be > 0"),
        ("alloc_economic", "1.5", "must be in [0, 1]"),
        ("grade_gsd", "0.9", "must be >= 1"),
        ("recovery_sd", "1", "must be in [0, 1)"),
    ],
)
def test_mine_value_out_of_range(tmp_path, make_dataset, column, value, rule):
    folder = make_dataset(tmp_path, mines={(0, column): value})
    want = f"{MINE_ROW}, column '{column}': {re.escape(rule)}.*\\(got {float(value)!r}\\)"
    with pytest.raises(DataValidationError, match=want) as info:
        load_dataset(folder)
    err = info.value
    assert err.file == str(folder / "mines.csv")
    assert (err.row, err.row_id, err.column, err.value) == (2, "mine_id=CU-CHL-001", column,
                                                            float(value))


def test_error_names_the_right_line(tmp_path, make_dataset):
    """The third data row is line 4 of the file."""
    rows = [dict(MINE, mine_id=f"CU-CHL-00{i}") for i in (1, 2, 3)]
    rows[2]["grade"] = "1.7"
    with pytest.raises(DataValidationError,
                       match=r"mines\.csv: row 4 \(mine_id=CU-CHL-003\), column 'grade'.*1\.7"):
        load_dataset(make_dataset(tmp_path, mines=rows))


@pytest.mark.parametrize(("column", "value"), [("grade", "abc"), ("grade", "1,5"),
                                             ("grade", "nan"), ("grade", "inf"),
                                             ("production_t", "")])
def test_non_numeric_value(tmp_path, make_dataset, column, value):
    """A blank grade is filled (tests/test_gaps.py); a blank production is not."""
    folder = make_dataset(tmp_path, mines={(0, column): value})
    with pytest.raises(DataValidationError,
                       match=f"{MINE_ROW}, column '{column}': must be a finite number "
                             f"\\(got {re.escape(repr(value))}\\)"):
        load_dataset(folder)


def test_non_numeric_in_other_table(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, fleet={(1, "count"): "many"})
    with pytest.raises(DataValidationError,
                       match=r"fleet\.csv: row 3 \(vehicle=bev\), column 'count': "
                             r"must be a finite number \(got 'many'\)"):
        load_dataset(folder)


def test_missing_column(tmp_path, make_dataset):
    rows = [{k: v for k, v in MINE.items() if k != "stripping_ratio"}]
    with pytest.raises(DataValidationError,
                       match=r"mines\.csv: missing column\(s\) 'stripping_ratio'"):
        load_dataset(make_dataset(tmp_path, mines=rows))


def test_duplicate_mine_id(tmp_path, make_dataset):
    rows = [MINE, dict(MINE, production_t="50")]
    with pytest.raises(DataValidationError,
                       match=r"mines\.csv: row 3 \(mine_id=CU-CHL-001\), column 'mine_id': "
                             r"duplicate mine_id \(each must be unique; first on row 2\) "
                             r"\(got 'CU-CHL-001'\)"):
        load_dataset(make_dataset(tmp_path, mines=rows))


def test_duplicate_composite_key(tmp_path, make_dataset):
    t = base_tables()
    rows = [*t["vehicles"], dict(t["vehicles"][0], content_kg="30")]
    with pytest.raises(DataValidationError,
                       match=r"vehicles\.csv: row 4 \(vehicle=icev, metal=copper\), column "
                             r"'vehicle': duplicate vehicle/metal.*\(got 'icev, copper'\)"):
        load_dataset(make_dataset(tmp_path, vehicles=rows))


def test_unknown_country_code(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, mines={(0, "country"): "XYZ"})
    with pytest.raises(DataValidationError,
                       match=r"mines\.csv: row 2 \(mine_id=CU-CHL-001\), column 'country': "
                             r"unknown country code.*\(got 'XYZ'\)"):
        load_dataset(folder)


def test_unknown_country_in_supply(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, supply={(0, "country"): "PER"})
    with pytest.raises(DataValidationError,
                       match=r"supply\.csv: row 2 \(metal=copper, country=PER\), column "
                             r"'country': unknown country code.*\(got 'PER'\)"):
        load_dataset(folder)


def test_unknown_metal(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, mines={(0, "metal"): "gold"})
    with pytest.raises(DataValidationError,
                       match=r"mines\.csv: row 2 \(mine_id=CU-CHL-001\), column 'metal': "
                             r"unknown metal.*\(got 'gold'\)"):
        load_dataset(folder)


def test_unknown_metal_in_vehicles(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, vehicles={(1, "metal"): "tin"})
    with pytest.raises(DataValidationError,
                       match=r"vehicles\.csv: row 3 \(vehicle=bev, metal=tin\), column 'metal': "
                             r"unknown metal.*\(got 'tin'\)"):
        load_dataset(folder)


def test_supply_shares_must_sum_to_one(tmp_path, make_dataset):
    t = base_tables()
    supply = [dict(t["supply"][0], share="0.7"),
              dict(t["supply"][0], country="CHN", share="0.2")]
    mines = [MINE, dict(MINE, mine_id="CU-CHN-001", country="CHN")]
    with pytest.raises(DataValidationError,
                       match=r"supply\.csv: row 2 \(metal=copper\), column 'share': supply "
                             r"shares of metal 'copper' must sum to 1.*\(got 0\.9\)"):
        load_dataset(make_dataset(tmp_path, supply=supply, mines=mines))


def test_battery_mix_must_sum_to_one(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, battery_mix={(0, "share"): "0.5"})
    with pytest.raises(DataValidationError,
                       match=r"battery_mix\.csv: column 'share': battery mix shares must sum "
                             r"to 1.*\(got 0\.5\)"):
        load_dataset(folder)


def test_supplying_country_needs_a_mine(tmp_path, make_dataset):
    t = base_tables()
    supply = [dict(t["supply"][0], share="0.5"),
              dict(t["supply"][0], country="CHN", share="0.5")]
    with pytest.raises(DataValidationError,
                       match=r"supply\.csv: row 3 \(metal=copper, country=CHN\), column "
                             r"'country': a supplying country needs at least one mine"):
        load_dataset(make_dataset(tmp_path, supply=supply))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_empty_file(tmp_path, make_dataset, name):
    folder = make_dataset(tmp_path, **{name: ""})
    path = re.escape(str(folder / SPECS[name].file))
    with pytest.raises(DataValidationError, match=f"^{path}: file is empty$"):
        load_dataset(folder)


@pytest.mark.parametrize("name", ["mines", "supply", "globals"])
def test_header_only_file(tmp_path, make_dataset, name):
    header = ",".join(base_tables()[name][0]) + "\n"
    folder = make_dataset(tmp_path, **{name: header})
    with pytest.raises(DataValidationError,
                       match=f"{SPECS[name].file}: file has a header but no data rows"):
        load_dataset(folder)


def test_missing_file(tmp_path, make_dataset):
    folder = make_dataset(tmp_path)
    (folder / "fleet.csv").unlink()
    with pytest.raises(DataValidationError, match=r"fleet\.csv: file not found"):
        load_dataset(folder)


def test_missing_folder(tmp_path):
    with pytest.raises(DataValidationError, match="dataset folder not found"):
        load_dataset(tmp_path / "nope")


def test_invalid_mining_method(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, mines={(0, "mining_method"): "strip"})
    with pytest.raises(DataValidationError,
                       match=f"{MINE_ROW}, column 'mining_method': must be one of open_pit, "
                             r"underground, brine \(got 'strip'\)"):
        load_dataset(folder)


def test_invalid_grade_unit(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, mines={(0, "grade_unit"): "ppm"})
    with pytest.raises(DataValidationError,
                       match=f"{MINE_ROW}, column 'grade_unit': must be one of .*\\(got 'ppm'\\)"):
        load_dataset(folder)


@pytest.mark.parametrize(("table", "cell", "where"), [
    ("mines", (0, "synthetic"), MINE_ROW + ", column 'synthetic'"),
    ("mines", (0, "main_product"), MINE_ROW + ", column 'main_product'"),
    ("fleet", (0, "nev"), r"fleet\.csv: row 2 \(vehicle=icev\), column 'nev'"),
])
def test_bool_column_not_true_false(tmp_path, make_dataset, table, cell, where):
    folder = make_dataset(tmp_path, **{table: {cell: "maybe"}})
    with pytest.raises(DataValidationError,
                       match=f"{where}: must be true or false \\(got 'maybe'\\)"):
        load_dataset(folder)


def test_empty_string_cell(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, mines={(0, "name"): ""})
    with pytest.raises(DataValidationError,
                       match=f"{MINE_ROW}, column 'name': must not be empty"):
        load_dataset(folder)


def test_battery_kwh_order(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, fleet={(1, "battery_kwh_mode"): "40"})
    with pytest.raises(DataValidationError,
                       match=r"fleet\.csv: row 3 \(vehicle=bev\), column 'battery_kwh_mode': "
                             r"must have battery_kwh_min <= battery_kwh_mode.*\(got 40\.0\)"):
        load_dataset(folder)


def test_concentrate_grade_below_the_ore_grade(tmp_path, make_dataset):
    """Concentration upgrades the ore: conc_grade >= grade x its metal fraction."""
    folder = make_dataset(tmp_path, mines={(0, "conc_grade"): "0.005"})
    with pytest.raises(DataValidationError,
                       match=f"{MINE_ROW}, column 'conc_grade': conc_grade must be at least "
                             r"the ore's metal grade .*= 0\.01\).*\(got 0\.005\)"):
        load_dataset(folder)
    # an oxide grade counts by its metal fraction: 2% Li2O is 0.93% Li
    mine = {(0, "grade_unit"): "Li2O", (0, "grade"): "0.02"}
    load_dataset(make_dataset(tmp_path / "li", mines={**mine, (0, "conc_grade"): "0.0095"}))
    with pytest.raises(DataValidationError, match=r"'Li2O' = 0\.009292\)"):
        load_dataset(make_dataset(tmp_path / "li2", mines={**mine, (0, "conc_grade"): "0.009"}))
    # equal is fine (direct-shipping ore), also where grade x factor is not exact in
    # binary: 0.07 x 0.85 = 0.059500000000000004
    reo = {(0, "grade_unit"): "REO", (0, "grade"): "0.07", (0, "conc_grade"): "0.0595"}
    load_dataset(make_dataset(tmp_path / "reo", mines=reo))


def test_fleet_without_vehicles(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, fleet={(0, "count"): "0", (1, "count"): "0"})
    with pytest.raises(DataValidationError,
                       match=r"fleet\.csv: column 'count': at least one vehicle count must be "
                             r"positive.*\(got 0\.0\)"):
        load_dataset(folder)
    load_dataset(make_dataset(tmp_path / "one", fleet={(0, "count"): "0"}))  # one type: fine


def test_missing_global_parameter(tmp_path, make_dataset):
    rows = base_tables()["globals"][:2]
    with pytest.raises(DataValidationError,
                       match=r"globals\.csv: parameter 'battery_pack_factor' must be defined"):
        load_dataset(make_dataset(tmp_path, globals=rows))


def test_metal_without_supply(tmp_path, make_dataset):
    """A metal the vehicles need must have supply shares; one nothing needs (a
    co-product such as gold) may have none."""
    t = base_tables()
    metals = [*t["metals"], dict(t["metals"][0], metal="tin", display_name="Tin")]
    vehicles = [*t["vehicles"], dict(t["vehicles"][0], metal="tin", content_kg="1")]
    with pytest.raises(DataValidationError, match=r"supply\.csv: metal 'tin' has no supply"):
        load_dataset(make_dataset(tmp_path / "a", metals=metals, vehicles=vehicles))
    assert "tin" in load_dataset(make_dataset(tmp_path / "b", metals=metals)).metals


def test_error_is_a_value_error(tmp_path, make_dataset):
    with pytest.raises(ValueError, match="grade"):
        load_dataset(make_dataset(tmp_path, mines={(0, "grade"): "2"}))


def test_extra_columns_kept_and_optional_empty(tmp_path, make_dataset):
    """Free-text columns are kept; a blank concentrate grade whose archetype has none
    stays blank (whole-ore processing)."""
    rows = [dict(MINE, notes=""), dict(MINE, mine_id="NI-CHL-001", conc_grade="",
                                         archetype="ni_laterite", metal="nickel",
                                         notes="free text")]
    t = base_tables()
    metals = [*t["metals"], dict(t["metals"][0], metal="nickel", display_name="Nickel")]
    ds = load_dataset(make_dataset(tmp_path, mines=rows, metals=metals))
    assert ds.mines["notes"].tolist() == ["", "free text"]
    assert ds.mines["conc_grade"].isna().tolist() == [False, True]
    assert ds.fills.empty


# -------------------------------------------------------------------- default dataset
def test_default_dataset(default_dataset):
    ds = default_dataset
    assert len(ds.mines) == 1784
    assert ds.mines["mine_id"].is_unique
    assert len(ds.metals) == 11
    assert len(ds.countries) >= 40
    assert len(ds.tables["countries"]) >= 40
    assert ds.mines["synthetic"].map(type).eq(bool).all()
    assert ds.mines["synthetic"].all()


def test_default_dataset_regenerates_byte_identical(tmp_path):
    """``defaultdata.generate`` is deterministic (fixed seed, 6 significant digits, the
    calibration of the uncalibrated ``curated/`` dataset)."""
    folder = tmp_path / "distributions"
    shutil.copytree(DEFAULT_DATASET, folder)
    written = ("mines.csv", "globals.csv", "calibration.csv", "calibration_targets.csv",
               "calibration_conflicts.csv", "supply.csv", "vehicles.csv", "fleet.csv",
               "curated/mines.csv", "curated/globals.csv")
    for name in written:
        (folder / name).unlink()
    generate(folder)
    for name in written:
        assert (folder / name).read_bytes() == (DEFAULT_DATASET / name).read_bytes(), name


def test_extra_field_names_its_line(tmp_path, make_dataset):
    folder = make_dataset(tmp_path, countries="iso3,name\nCHL,Chile,extra\nCHN,China\n")
    with pytest.raises(DataValidationError, match=r"countries\.csv: row 2\b"):
        load_dataset(folder)
