"""Hostile data: plausibility bounds and their override, duplicated headers, encoding
errors, byte-order marks and mines that cannot receive weight."""

from __future__ import annotations

import pytest

from uncertainty import cli
from uncertainty.data import (
    PLAUSIBILITY_FILE,
    DataValidationError,
    dataset_warnings,
    load_dataset,
    plausibility_table,
    weightless_mines,
)


@pytest.mark.parametrize("column, value, bound", [
    ("stripping_ratio", "1e300", "stripping_ratio <= 500"),
    ("grade", "1e-300", "1e-09 <= grade"),
    ("mill_recovery", "0.001", "0.01 <= mill_recovery"),
    ("grade_gsd", "50", "grade_gsd <= 10"),
])
def test_implausible_values_refused_naming_the_bound(tmp_path, make_dataset, column, value,
                                                     bound):
    ds = make_dataset(tmp_path / "d", mines={(0, column): value})
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ds)
    msg = str(exc.value)
    assert "mines.csv: row 2 (mine_id=CU-CHL-001)" in msg and f"column '{column}'" in msg
    assert f"outside the plausibility bound {bound}" in msg and PLAUSIBILITY_FILE in msg
    assert exc.value.value == float(value)


def test_plausibility_file_moves_a_bound_and_enters_the_hashes(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d", mines={(0, "stripping_ratio"): "800"})
    with pytest.raises(DataValidationError, match="stripping_ratio <= 500"):
        load_dataset(ds)
    (ds / PLAUSIBILITY_FILE).write_text(
        "table,column,low,high,reason\nmines.csv,stripping_ratio,,1000,deep pit of our own\n")
    got = load_dataset(ds)
    assert got.mines["stripping_ratio"].iloc[0] == 800
    assert PLAUSIBILITY_FILE in got.hashes
    (ds / PLAUSIBILITY_FILE).write_text(
        "table,column,low,high,reason\nmines,stripping_ratio,,600,x\n")
    with pytest.raises(DataValidationError, match="stripping_ratio <= 600 \\(x\\)"):
        load_dataset(ds)


@pytest.mark.parametrize("row, rule, column", [
    ("mines,no_such,,1,x", "not a numeric column of mines.csv", "column"),
    ("mines,name,,1,x", "not a numeric column of mines.csv", "column"),
    ("tyres,grade,,1,x", "unknown table", "table"),
    ("mines,grade,0.5,0.1,x", "low must not be above high", "low"),
    ("mines,grade,abc,,x", "must be a finite number, blank or none", "low"),
])
def test_bad_plausibility_rows_refused(tmp_path, make_dataset, row, rule, column):
    ds = make_dataset(tmp_path / "d")
    (ds / PLAUSIBILITY_FILE).write_text(f"table,column,low,high,reason\n{row}\n")
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ds)
    msg = str(exc.value)
    assert f"{PLAUSIBILITY_FILE}: row 2" in msg and rule in msg and f"column '{column}'" in msg


def test_default_bounds_table_and_default_dataset_within_them(default_dataset):
    table = plausibility_table()
    assert {"stripping_ratio", "grade", "production_t"} <= set(table["column"])
    assert table["reason"].str.len().min() > 10
    mines = default_dataset.mines
    assert mines["stripping_ratio"].max() <= 500 and mines["grade"].min() >= 1e-9


def test_duplicated_header_refused(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d")
    text = (ds / "mines.csv").read_text().splitlines()
    (ds / "mines.csv").write_text(text[0] + ",grade\n" + text[1] + ",0.5\n")
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ds)
    msg = str(exc.value)
    assert "mines.csv: row 1, column 'grade': duplicated column header" in msg
    assert "again at field 21" in msg


def test_empty_header_refused(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d")
    text = (ds / "metals.csv").read_text().splitlines()
    (ds / "metals.csv").write_text(text[0] + ",\n" + text[1] + ",\n")
    with pytest.raises(DataValidationError, match="empty column header \\(field 10\\)"):
        load_dataset(ds)


def test_encoding_error_names_the_line(tmp_path, make_dataset):
    rows = []
    for i in range(60):
        rows.append({"iso3": f"X{i:02d}" if i else "CHL", "name": f"Country {i}"})
    rows.append({"iso3": "CHN", "name": "China"})
    ds = make_dataset(tmp_path / "d", countries=rows)
    lines = (ds / "countries.csv").read_bytes().split(b"\n")
    lines[56] = lines[56].replace(b"Country", b"Co\xffuntry")  # line 57 of the file
    (ds / "countries.csv").write_bytes(b"\n".join(lines))
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ds)
    msg = str(exc.value)
    assert "countries.csv: row 57: not valid UTF-8 text (byte 0xff at character" in msg


def test_byte_order_mark_accepted(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d")
    path = ds / "mines.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert list(load_dataset(ds).mines["mine_id"]) == ["CU-CHL-001"]


def test_weightless_mines_listed_by_validate(tmp_path, make_dataset, capsys):
    from conftest import MINE

    second = {**MINE, "mine_id": "CU-CHN-001", "country": "CHN", "production_t": "250"}
    ds = make_dataset(tmp_path / "d", mines=[MINE, second])
    got = weightless_mines(load_dataset(ds))
    assert list(got["mine_id"]) == ["CU-CHN-001"]
    assert "no share for copper from CHN" in got["reason"].iloc[0]
    lines = dataset_warnings(load_dataset(ds))
    assert len(lines) == 1 and "1 mine(s) of copper in CHN (250 t of production" in lines[0]
    assert cli.main(["validate", str(ds)]) == 0
    captured = capsys.readouterr()
    assert "receive no weight" in captured.err and "valid dataset" in captured.out


def test_default_dataset_has_no_weightless_mines(default_dataset):
    assert weightless_mines(default_dataset).empty


def test_readme_lists_every_default_bound(repo_root):
    from uncertainty.data import SPECS

    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    for r in plausibility_table().itertuples():
        lo = "" if r.low != r.low else f"{r.low:g}"
        hi = "" if r.high != r.high else f"{r.high:g}"
        row = f"| `{SPECS[r.table].file}` | `{r.column}` | {lo} | {hi} | {r.reason} |"
        assert row in readme, row


def test_monte_carlo_api_checks_the_seed(default_dataset):
    from uncertainty import monte_carlo
    from uncertainty.config import ConfigError

    with pytest.raises(ConfigError, match="0 <= seed < 2\\*\\*64"):
        monte_carlo(default_dataset, 10, seed=2**64)
