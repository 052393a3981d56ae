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


def test_docs_list_every_default_bound(repo_root):
    from uncertainty.data import SPECS

    page = (repo_root / "docs" / "faults.md").read_text(encoding="utf-8")
    for r in plausibility_table().itertuples():
        lo = "" if r.low != r.low else f"{r.low:g}"
        hi = "" if r.high != r.high else f"{r.high:g}"
        row = f"| `{SPECS[r.table].file}` | `{r.column}` | {lo} | {hi} | {r.reason} |"
        assert row in page, row


def test_monte_carlo_api_checks_the_seed(default_dataset):
    from uncertainty import monte_carlo
    from uncertainty.config import ConfigError

    with pytest.raises(ConfigError, match="0 <= seed < 2\\*\\*64"):
        monte_carlo(default_dataset, 10, seed=2**64)


# ------------------------------------------------- line numbers, encodings, warnings

@pytest.fixture(scope="module")
def default_copy(tmp_path_factory):
    """A fresh copy of the default dataset per call (copying is cheap; loading is not)."""
    import shutil

    from conftest import DEFAULT_DATASET

    def copy(name="d"):
        dest = tmp_path_factory.mktemp(name) / "distributions"
        shutil.copytree(DEFAULT_DATASET, dest)
        return dest
    return copy


def test_default_mine_with_a_huge_stripping_ratio(default_copy):
    ds = default_copy()
    path = ds / "mines.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    head = lines[0].split(",")
    cells = lines[13].split(",")  # line 14 of the file
    assert cells[0] == "FE-AUS-013"
    cells[head.index("stripping_ratio")] = "1e300"
    lines[13] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ds)
    assert str(exc.value).startswith(
        f"{path}: row 14 (mine_id=FE-AUS-013), column 'stripping_ratio': outside the "
        "plausibility bound stripping_ratio <= 500 (t of waste per t of ore;")
    assert str(exc.value).endswith(f"set another bound in {PLAUSIBILITY_FILE} (got 1e+300)")


def test_tiny_fabrication_yield_refused(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d", metals={(0, "fabrication_yield"): "1e-300"})
    with pytest.raises(DataValidationError,
                       match=r"metals\.csv: row 2 \(metal=copper\), column 'fabrication_yield': "
                             r"outside the plausibility bound 0\.01 <= fabrication_yield"):
        load_dataset(ds)


def test_default_dataset_within_every_bound(default_dataset):
    table = plausibility_table()
    assert list(table.columns) == ["table", "column", "low", "high", "reason"]
    for r in table.itertuples():
        col = default_dataset.tables[r.table][r.column].dropna()
        assert r.low != r.low or col.min() >= r.low, (r.table, r.column)
        assert r.high != r.high or col.max() <= r.high, (r.table, r.column)


def test_plausibility_file_content_enters_the_hash(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d")
    plain = load_dataset(ds).hashes
    assert PLAUSIBILITY_FILE not in plain
    (ds / PLAUSIBILITY_FILE).write_text("table,column,low,high,reason\nmines,grade,,,x\n")
    first = load_dataset(ds).hashes
    (ds / PLAUSIBILITY_FILE).write_text("table,column,low,high,reason\nmines,grade,,,y\n")
    second = load_dataset(ds).hashes
    assert first[PLAUSIBILITY_FILE] != second[PLAUSIBILITY_FILE]
    assert {k: v for k, v in first.items() if k != PLAUSIBILITY_FILE} == plain


@pytest.mark.parametrize("make, rule", [
    (lambda p: p.write_text(""), "plausibility.csv: file is empty"),
    (lambda p: p.mkdir(), "plausibility.csv: not a regular file"),
    (lambda p: p.write_text("table,column,low,high,reason\n\nmines,nope,,1,x\n"),
     "plausibility.csv: row 3 (table=mines, column=nope), column 'column'"),
], ids=["empty", "directory", "blank-line"])
def test_malformed_plausibility_file_refused(tmp_path, make_dataset, make, rule):
    ds = make_dataset(tmp_path / "d")
    make(ds / PLAUSIBILITY_FILE)
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ds)
    assert rule in str(exc.value)


def test_invalid_byte_after_a_byte_order_mark(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d")
    path = ds / "countries.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"Chile", b"Ch\xffile"))
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ds)
    assert ("countries.csv: row 2: not valid UTF-8 text (byte 0xff at character 7 of the "
            "line); save the file as UTF-8 (got b'CHL,Ch\\xffile')") in str(exc.value)


def test_invalid_byte_line_with_carriage_returns(tmp_path, make_dataset):
    rows = [{"iso3": "CHL", "name": "Chile"}, {"iso3": "CHN", "name": "China"}]
    rows += [{"iso3": f"X{i:02d}", "name": f"Country {i}"} for i in range(60)]
    ds = make_dataset(tmp_path / "d", countries=rows)
    lines = (ds / "countries.csv").read_bytes().split(b"\n")
    lines[56] = lines[56].replace(b"Country", b"Coun\xfetry")
    (ds / "countries.csv").write_bytes(b"\r".join(lines))  # old Mac line ends
    with pytest.raises(DataValidationError,
                       match=r"countries\.csv: row 57: not valid UTF-8 text \(byte 0xfe at "
                             r"character 9 of the line\)"):
        load_dataset(ds)


@pytest.mark.parametrize("data", [
    b"iso3,name\nCHL,Ch\x00ile\nCHN,China\n",
    "iso3,name\nCHL,Chile\nCHN,China\n".encode("utf-16-le"),
], ids=["nul", "utf-16-le"])
def test_nul_character_refused(tmp_path, make_dataset, data):
    ds = make_dataset(tmp_path / "d")
    (ds / "countries.csv").write_bytes(data)
    with pytest.raises(DataValidationError, match=r"countries\.csv: row \d: contains a NUL "
                                                  r"character.*not UTF-16"):
        load_dataset(ds)


def test_blank_and_multi_line_rows_keep_file_line_numbers(tmp_path, make_dataset):
    from conftest import MINE

    mines = [MINE, {**MINE, "mine_id": "CU-CHL-002", "name": "Two\nlines"},
             {**MINE, "mine_id": "CU-CHL-003", "mining_method": "bogus"}]
    ds = make_dataset(tmp_path / "d", mines=mines)
    path = ds / "mines.csv"
    text = path.read_text().split("\n")
    path.write_text("\n".join([text[0], "", *text[1:]]))  # a blank line 2
    # header 1, blank 2, CU-CHL-001 on 3, CU-CHL-002 on 4-5, CU-CHL-003 on 6
    with pytest.raises(DataValidationError,
                       match=r"mines\.csv: row 6 \(mine_id=CU-CHL-003\), column "
                             r"'mining_method'"):
        load_dataset(ds)


def test_blank_line_before_a_cross_table_error(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d")
    (ds / "supply.csv").write_text(
        "metal,country,share,concentration\n\n\ncopper,ZZZ,1.0,100\n")
    with pytest.raises(DataValidationError,
                       match=r"supply\.csv: row 4 \(metal=copper, country=ZZZ\), column "
                             r"'country': unknown country code"):
        load_dataset(ds)


def test_header_names_are_stripped(tmp_path, make_dataset):
    ds = make_dataset(tmp_path / "d")
    path = ds / "mines.csv"
    path.write_text(path.read_text().replace("grade,", "grade ,", 1))
    assert load_dataset(ds).mines["grade"].iloc[0] == 0.01


def test_warnings_list_five_ids_and_the_total_production(tmp_path, make_dataset):
    from conftest import MINE

    lost = [{**MINE, "mine_id": f"CU-CHN-{k:03d}", "country": "CHN", "production_t": "1500"}
            for k in range(1, 8)]
    ds = load_dataset(make_dataset(tmp_path / "d", mines=[MINE, *lost]))
    assert list(weightless_mines(ds)["mine_id"]) == [m["mine_id"] for m in lost]
    (line,) = dataset_warnings(ds)
    assert line == (f"warning: {ds.path / 'mines.csv'}: 7 mine(s) of copper in CHN (10,500 t "
                    "of production: CU-CHN-001, CU-CHN-002, CU-CHN-003, CU-CHN-004, CU-CHN-005 "
                    "and 2 more) receive no weight: supply.csv has no share for copper from CHN")


def test_zero_share_makes_a_mine_weightless(tmp_path, make_dataset):
    from conftest import MINE

    supply = [{"metal": "copper", "country": "CHL", "share": "1.0", "concentration": "100"},
              {"metal": "copper", "country": "CHN", "share": "0", "concentration": "100"}]
    second = {**MINE, "mine_id": "CU-CHN-001", "country": "CHN"}
    ds = load_dataset(make_dataset(tmp_path / "d", mines=[MINE, second], supply=supply))
    got = weightless_mines(ds)
    assert list(got["mine_id"]) == ["CU-CHN-001"]
    assert got["reason"].iloc[0] == "supply.csv gives a share of 0 for copper from CHN"
    assert list(got.columns) == ["mine_id", "metal", "country", "production_t", "reason"]
