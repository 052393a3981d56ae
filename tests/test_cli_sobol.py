"""Tests of ``uncertainty sobol`` through the CLI (in process): where it writes, that it
never replaces a Monte Carlo run's files, its manifest, and the tolerance warning."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_dataset

from uncertainty.cli import main


def cli(args: list[object], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_file(folder: Path, dataset: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.toml"
    path.write_text(f'name = "tiny"\ndataset = "{dataset.as_posix()}"\nreport = false\n\n'
                    "[montecarlo]\nsamples = 200\n\n[sensitivity]\nenabled = false\n",
                    encoding="utf-8")
    return path


def test_sobol_writes_its_own_subfolder_with_a_manifest(tmp_path, capsys):
    run = run_file(tmp_path / "runs", write_dataset(tmp_path / "data"))
    code, _out, err = cli(["sobol", run, "--base-samples", "64", "--by", "parameter",
                          "--metric", "hidden_flows_mt", "--quiet"], capsys)
    assert code == 0, err
    folder = tmp_path / "runs" / "out" / "tiny" / "sobol"
    assert {"sobol.csv", "sobol_convergence.csv", "manifest.json"} <= \
        {p.name for p in folder.iterdir()}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["kind"], manifest["n_base"], manifest["levels"], manifest["metrics"]) == \
        ("sobol", 64, ["parameter"], ["hidden_flows_mt"])
    assert manifest["run_name"] == "tiny" and "versions" in manifest


def test_sobol_refuses_a_monte_carlo_runs_folder(tmp_path, capsys):
    run = run_file(tmp_path, write_dataset(tmp_path / "data"))
    out_dir = tmp_path / "out"
    assert cli(["run", run, "--out", out_dir, "--quiet"], capsys)[0] == 0
    before = {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    code, out, err = cli(["sobol", run, "--base-samples", "64", "--out", out_dir], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {out_dir}: holds a Monte Carlo run; a separate "
                          "sensitivity analysis would replace some of its files. Use --out "
                          "for another folder")
    assert {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()} == before


def test_sobol_says_when_the_tolerance_is_not_reached(tmp_path, capsys):
    run = run_file(tmp_path, write_dataset(tmp_path / "data"))
    code, _out, err = cli(["sobol", run, "--base-samples", "64", "--max-n", "128",
                          "--tol", "1e-9", "--by", "parameter", "--out", tmp_path / "s",
                          "--quiet"], capsys)
    assert code == 0
    assert err.startswith("warning: tol = 1e-09 not reached: the widest ST half-width of "
                          "the top 20 factors is ")
    assert err.rstrip().endswith("at N = max_n = 128; raise max_n (or tol)")
