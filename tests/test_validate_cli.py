"""Tests of ``uncertainty validate``: exit codes, one-line errors, nothing written."""

from __future__ import annotations

import os

import pytest
from conftest import REPO, base_tables

from uncertainty.cli import main
from uncertainty.data import load_dataset


def snapshot(folder) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` with its size and mtime."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            st = os.stat(os.path.join(root, name))
            out[os.path.relpath(os.path.join(root, name), folder)] = (st.st_size, st.st_mtime_ns)
    return out


def test_validate_default_dataset(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    before = snapshot(REPO / "distributions")
    assert main(["validate", "distributions"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "distributions: valid dataset"
    assert lines[1].startswith("coverage (share of each metal's production")
    # one line per metal: the default dataset's mines are all synthetic
    rows = {ln.split()[0]: ln.split() for ln in lines[3:]}
    assert set(rows) == set(load_dataset(REPO / "distributions").metals)
    assert all(r[-3:] == ["0/0/0/100"] * 3 for r in rows.values())
    assert "filled blanks" not in out
    assert err == ""
    assert snapshot(REPO / "distributions") == before


def test_validate_tiny_dataset_and_csv(tmp_path, make_dataset, capsys):
    folder = make_dataset(tmp_path / "ds")
    assert main(["validate", str(folder), str(folder / "mines.csv")]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"{folder}: valid dataset"
    assert lines[3].split()[:3] == ["copper", "1", "1"]  # the coverage table
    assert lines[-1] == f"{folder / 'mines.csv'}: valid (as part of dataset {folder})"


def test_validate_a_folder_of_run_files_checks_each(tmp_path, make_dataset, capsys):
    """Like ``uncertainty run FOLDER``: a folder without mines.csv stands for its run files."""
    folder = make_dataset(tmp_path / "ds")
    runs = tmp_path / "runs"
    runs.mkdir()
    for name in ("a", "b"):
        (runs / f"{name}.toml").write_text(f'name = "{name}"\ndataset = "{folder.as_posix()}"\n',
                                           encoding="utf-8")
    assert main(["validate", str(runs)]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [f"{runs / 'a.toml'}: valid run file",
                                f"{runs / 'b.toml'}: valid run file"]


def test_validate_a_folder_that_is_neither(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 2
    _, err = capsys.readouterr()
    assert err == (f"error: {tmp_path}: not a dataset folder (no mines.csv) nor a folder of run "
                   "files (*.toml)\n")


def test_validate_default_run_file(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    assert main(["validate", "runs/china-2019.toml"]) == 0
    out, err = capsys.readouterr()
    assert out == "runs/china-2019.toml: valid run file\n"
    assert err == ""


@pytest.mark.parametrize(
    ("overrides", "file", "needles"),
    [
        ({"mines": {(0, "grade"): "1.7"}}, "mines.csv",
         ["row 2", "CU-CHL-001", "column 'grade'", "1.7", "must be in (0, 1]"]),
        ({"mines": {(0, "grade"): "abc"}}, "mines.csv",
         ["row 2", "CU-CHL-001", "column 'grade'", "'abc'", "finite number"]),
        ({"fleet": {(1, "nev"): "maybe"}}, "fleet.csv",
         ["row 3", "vehicle=bev", "column 'nev'", "'maybe'"]),
        ({"supply": {(0, "share"): "0.5"}}, "supply.csv",
         ["row 2", "metal=copper", "column 'share'", "0.5", "sum to 1"]),
    ],
)
def test_validate_broken_dataset(tmp_path, make_dataset, capsys, overrides, file, needles):
    folder = make_dataset(tmp_path / "ds", **overrides)
    before = snapshot(tmp_path)
    assert main(["validate", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("error: ")
    assert str(folder / file) in line
    for needle in needles:
        assert needle in line, (needle, line)
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before  # nothing written


def test_validate_stops_at_first_bad_path(tmp_path, make_dataset, capsys):
    good = make_dataset(tmp_path / "good")
    bad = make_dataset(tmp_path / "bad", mines={(0, "stripping_ratio"): "-2"})
    assert main(["validate", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"{good}: valid dataset"
    assert str(bad) not in out
    assert err.startswith("error: ") and "stripping_ratio" in err and "-2.0" in err


def test_validate_bad_run_file(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text('name = "../x"\n', encoding="utf-8")
    before = snapshot(tmp_path)
    assert main(["validate", str(p)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert err.startswith(f"error: {p}: key 'name':") and "'../x'" in err
    assert snapshot(tmp_path) == before


def test_validate_run_file_with_broken_dataset(tmp_path, make_dataset, capsys):
    make_dataset(tmp_path / "ds", mines={(0, "grade"): "0"})
    p = tmp_path / "r.toml"
    p.write_text('name = "r"\ndataset = "ds"\n', encoding="utf-8")
    assert main(["validate", str(p)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert err.startswith("error: ") and "mines.csv: row 2" in err and "(got 0.0)" in err


def test_validate_unknown_kind_of_path(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("x", encoding="utf-8")
    assert main(["validate", str(p)]) == 2
    _, err = capsys.readouterr()
    assert err == f"error: {p}: not a dataset folder, a .csv table or a .toml run file\n"


def test_validate_needs_a_path(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_base_tables_are_copies():
    t = base_tables()
    t["mines"][0]["grade"] = "0.5"
    assert base_tables()["mines"][0]["grade"] == "0.01"


@pytest.mark.parametrize(("switch", "needle"), [
    ("[scenario.recycled_share]\nunobtainium = 1.0", "unobtainium"),
    ("[scenario]\nlfp_share = 0.5", "lfp_share"),
])
def test_validate_rejects_inapplicable_scenario(tmp_path, make_dataset, capsys, switch, needle):
    make_dataset(tmp_path / "ds")
    p = tmp_path / "r.toml"
    p.write_text(f'name = "r"\ndataset = "ds"\n{switch}\n', encoding="utf-8")
    assert main(["validate", str(p)]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("error: ") and needle in err


def test_version_and_help_describe_the_tool(capsys):
    import uncertainty

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"uncertainty {uncertainty.__version__}\n"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the description
    assert "Total Material Requirement" in out and "argument parsing" not in out
