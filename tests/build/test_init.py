"""Tests of ``uncertainty init DIR`` (:mod:`uncertainty.build.template`): the files it writes,
its refusal of a folder that is not empty (exit 2, one line, nothing changed), and that
the template is a valid study: the dataset loads, the run file loads, and the run file's
nominal evaluation runs.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from uncertainty.build import template
from uncertainty.data import SPECS

DATA_FILES = {"countries.csv", "metals.csv", "mines.csv", "supply.csv", "vehicles.csv",
              "fleet.csv", "globals.csv"}
PROVENANCES = {"reported", "other_year", "imputed", "synthetic"}
ARCHETYPES = Path(__file__).resolve().parents[2] / "distributions" / "archetypes.csv"


def init(folder: Path, capsys) -> tuple[int, str, str]:
    """``uncertainty init FOLDER`` through :func:`template.add_parser` and
    :func:`template.run_cli`: (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="uncertainty")
    template.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["init", str(folder)])
    code = template.run_cli(args)
    out, err = capsys.readouterr()
    return code, out, err


def header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    template.write_template(folder)
    return folder


# ----------------------------------------------------------------------------- files
def test_init_writes_the_files(tmp_path, capsys):
    folder = tmp_path / "new" / "study"  # missing parents are created
    code, out, err = init(folder, capsys)
    assert code == 0, err
    assert err == ""
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert written == {"run.toml", "README.md"} | {f"data/{f}" for f in DATA_FILES}
    assert out.splitlines() == [f"wrote {folder / rel}" for rel in template._files()]
    # no battery tables without an NEV; no temporary sibling left behind
    assert not (folder / "data" / "chemistries.csv").exists()
    assert not (folder / "data" / "battery_mix.csv").exists()
    assert [p.name for p in folder.parent.iterdir()] == ["study"]
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "uncertainty validate DIR/data" in readme and "uncertainty run DIR/run.toml" in readme


def test_write_template_returns_the_paths(tmp_path):
    paths = template.write_template(tmp_path / "s")
    assert paths == [tmp_path / "s" / rel for rel in template._files()]
    assert all(p.is_file() for p in paths)


def test_init_into_an_existing_empty_folder(tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    code, _out, err = init(folder, capsys)
    assert code == 0, err
    assert (folder / "run.toml").is_file() and (folder / "data" / "mines.csv").is_file()


def test_init_into_the_current_folder(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "here"
    folder.mkdir()
    monkeypatch.chdir(folder)
    code, _out, err = init(Path("."), capsys)
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "data", "run.toml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]


def test_init_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    code, out, err = init(folder, capsys)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.endswith("\n")
    assert err.startswith(f"error: {folder}: exists and is not empty")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]  # no temporary sibling


def test_init_refuses_a_file(tmp_path, capsys):
    path = tmp_path / "study"
    path.write_text("x", encoding="utf-8")
    code, out, err = init(path, capsys)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {path}: exists and is not a folder")
    assert path.read_text(encoding="utf-8") == "x"


# ----------------------------------------------------------------------------- content
def test_tables_carry_the_spec_columns(study):
    """Every table of the template has every column ``uncertainty.data`` reads (the new
    optional columns of mines.csv and metals.csv included)."""
    data = study / "data"
    for spec in SPECS.values():
        path = data / spec.file
        if spec.file in ("chemistries.csv", "battery_mix.csv"):
            continue  # optional without an NEV
        names = header(path)
        missing = [c.name for c in spec.columns if c.name not in names]
        assert not missing, f"{spec.file} lacks {missing}"
    for c in ("site_id", "grade_source", "stripping_source", "recovery_source"):
        assert c in header(data / "mines.csv")
    assert "price_usd_per_t" in header(data / "metals.csv")


def test_template_content(study):
    data = study / "data"
    metals = rows(data / "metals.csv")
    assert [m["metal"] for m in metals] == ["copper", "zinc"]
    assert all(float(m["price_usd_per_t"]) > 0 for m in metals)
    fleet = rows(data / "fleet.csv")
    assert [(v["vehicle"], v["nev"]) for v in fleet] == [("ICEV", "false")]
    mines = rows(data / "mines.csv")
    assert 4 <= len(mines) <= 6
    assert len({m["country"] for m in mines}) in (2, 3)
    for m in mines:
        for c in ("grade_source", "stripping_source", "recovery_source"):
            assert m[c] in PROVENANCES, (m["mine_id"], c)
    # one co-product site: two rows (copper and zinc), one country and mining method,
    # blank allocation cells (computed), one stripping ratio
    sites = [m["site_id"] for m in mines if m["site_id"]]
    assert len(sites) == 2 and len(set(sites)) == 1
    site = [m for m in mines if m["site_id"]]
    assert {m["metal"] for m in site} == {"copper", "zinc"}
    assert len({(m["country"], m["mining_method"]) for m in site}) == 1
    assert all(m[c] == "" for m in site for c in ("alloc_economic", "alloc_mass",
                                                 "main_product"))
    assert len({m["stripping_ratio"] for m in site}) == 1
    # exactly one row with a blank stripping ratio, imputed
    blank_sr = [m for m in mines if m["stripping_ratio"] == ""]
    assert len(blank_sr) == 1 and blank_sr[0]["stripping_source"] == "imputed"
    assert blank_sr[0]["archetype"] in {a["archetype"] for a in rows(ARCHETYPES)}
    # exactly one row with explicit spreads
    spreads = [m for m in mines if m["grade_gsd"] or m["stripping_gsd"] or m["recovery_sd"]]
    assert len(spreads) == 1
    assert all(spreads[0][c] for c in ("grade_gsd", "stripping_gsd", "recovery_sd"))
    # supply shares sum to 1 per metal and every supplying country has a mine
    supply = rows(data / "supply.csv")
    for metal in ("copper", "zinc"):
        assert math.isclose(sum(float(s["share"]) for s in supply if s["metal"] == metal), 1)
    have = {(m["metal"], m["country"]) for m in mines}
    assert all((s["metal"], s["country"]) in have for s in supply)


def test_every_source_cell_is_filled(study):
    for path in sorted((study / "data").glob("*.csv")):
        for r in rows(path):
            if "source" in r:
                assert r["source"].strip(), f"{path.name}: blank source"
                assert ("illustrative template value" in r["source"]
                        or "World Bank" in r["source"]), (path.name, r["source"])


# ----------------------------------------------------------------------------- validity
def test_template_dataset_loads(study):
    from uncertainty.data import load_dataset

    ds = load_dataset(study / "data")
    assert ds.metals == ["copper", "zinc"]
    assert ds.vehicles == ["ICEV"]
    assert len(ds.mines) == len(rows(study / "data" / "mines.csv"))


def test_template_run_file_loads(study):
    from uncertainty import config

    run = config.load_run(study / "run.toml")
    assert run.dataset == (study / "data").resolve()
    assert run.montecarlo.samples == 20_000
    assert run.sensitivity.enabled and run.sensitivity.n_base == 256
    assert "nev_to_icev_hidden_ratio" not in run.sensitivity.metrics
    assert [s.name for s in run.scenarios] == ["recycled-copper", "clean-energy"]
    assert all(s.switches.lfp_share is None for s in run.scenarios)


def test_template_runs_deterministically(study, tmp_path, capsys):
    from uncertainty.cli import main

    out_dir = tmp_path / "nominal"
    code = main(["run", str(study / "run.toml"), "--deterministic", "--quiet",
                 "--out", str(out_dir)])
    _out, err = capsys.readouterr()
    assert code == 0, err
    summary = pd.read_csv(out_dir / "summary.csv").set_index("metric")["nominal"]
    assert summary["hidden_flows_mt"] > 0 and math.isfinite(summary["hidden_flows_mt"])
    assert 0 < summary["hidden_abroad_share"] <= 1
    assert math.isnan(summary["nev_to_icev_hidden_ratio"])  # no NEV in the fleet
    scen = pd.read_csv(out_dir / "scenarios.csv").set_index(["scenario", "metric"])["nominal"]
    assert scen[("recycled-copper", "hidden_flows_mt")] < summary["hidden_flows_mt"]
