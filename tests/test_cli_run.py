"""Tests of ``uncertainty run``: deterministic and Monte Carlo runs through the CLI
(in process), chunk-size independence of the stored results, and bad input (exit 2,
one ``error:`` line, no traceback, nothing written).

The HTML report and its figures (``uncertainty.report.write_report``, tested in its own
module) are replaced by a recorder here: rendering them takes about 10 s per run on two
cores and is not what these tests check; the recorder checks that a run asks for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import DEFAULT_DATASET, base_tables, write_dataset

from uncertainty.cli import main

SUMMARY_COLUMNS = ["metric", "nominal", "mean", "sd", "p2_5", "p50", "p97_5", "n"]


@pytest.fixture(scope="module", autouse=True)
def report_calls():
    """Stub ``uncertainty.report.write_report``; the list of out folders it was called for."""
    from uncertainty import report

    calls: list[Path] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "write_report", lambda out_dir: calls.append(Path(out_dir)))
        yield calls


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run ``uncertainty ARGS`` in process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse errors exit through SystemExit
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def write_run(folder: Path, dataset: Path, body: str = "", *, name: str = "cli-test") -> Path:
    """A run file in ``folder`` on ``dataset``, sensitivity off; ``body`` appended."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndataset = "{dataset.as_posix()}"\n\n'
                    f"[sensitivity]\nenabled = false\n\n{body}", encoding="utf-8")
    return path


SCENARIOS = """
[[scenarios]]
name = "recycled-copper"
recycled_copper_share = 1.0

[[scenarios]]
name = "lfp"
lfp_share = 1.0
"""


def parts_frame(folder: Path) -> pd.DataFrame:
    """All Parquet parts of a samples folder, concatenated in part order."""
    parts = sorted(folder.glob("part-*.parquet"))
    assert parts, f"no parts in {folder}"
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


# ------------------------------------------------------------------- deterministic
def test_run_deterministic_prints_a_table_and_writes_files(tmp_path, capsys):
    run = write_run(tmp_path, DEFAULT_DATASET, SCENARIOS)
    out_dir = tmp_path / "out"
    code, out, err = cli(["run", run, "--deterministic", "--out", out_dir], capsys)
    assert code == 0, err
    assert err == ""
    assert "hidden_flows_mt" in out and "hidden_to_material_ratio" in out
    assert "recycled-copper" in out and "lfp" in out
    assert out.rstrip().endswith(f"wrote {out_dir}")
    assert {p.name for p in out_dir.iterdir()} == {"summary.csv", "manifest.json",
                                                    "scenarios.csv", "coverage.csv",
                                                    "provenance.csv"}
    summary = pd.read_csv(out_dir / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert (summary.n == 0).all() and summary["mean"].isna().all()
    hf = summary.set_index("metric").loc["hidden_flows_mt", "nominal"]
    assert 100 < hf < 10_000  # Mt, the default data's calibration range
    scen = pd.read_csv(out_dir / "scenarios.csv")
    assert set(scen.scenario) == {"recycled-copper", "lfp"}
    assert {"scenario", "metric", "nominal"} <= set(scen.columns)
    recycled = scen.set_index(["scenario", "metric"]).loc[("recycled-copper", "hidden_flows_mt"),
                                                          "nominal"]
    assert recycled < hf
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["kind"] == "deterministic" and manifest["samples"] == 0


def test_deterministic_default_out_is_the_runs_nominal_subfolder(tmp_path, capsys):
    run = write_run(tmp_path / "runs", DEFAULT_DATASET)
    code, _out, err = cli(["run", run, "--deterministic", "--quiet"], capsys)
    assert code == 0, err
    assert (tmp_path / "runs" / "out" / "cli-test" / "nominal" / "summary.csv").is_file()


def test_deterministic_never_mixes_with_a_monte_carlo_run(tmp_path, capsys):
    """A folder holding a Monte Carlo run is refused (exit 2, nothing changed) unless
    --force, which replaces that run's results entirely."""
    run = write_run(tmp_path, DEFAULT_DATASET, SCENARIOS)
    out_dir = tmp_path / "out"
    assert cli(["run", run, "--samples", "300", "--out", out_dir, "--quiet"], capsys)[0] == 0
    before = {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    code, out, err = cli(["run", run, "--deterministic", "--out", out_dir], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {out_dir}: holds a Monte Carlo run; the nominal values "
                          "would replace some of its files. Use --out for another folder, "
                          "or --force to replace the run")
    assert {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()} == before
    code, out, err = cli(["run", run, "--deterministic", "--force", "--out", out_dir,
                          "--quiet"], capsys)
    assert code == 0, err
    files = {p.name for p in out_dir.rglob("*") if p.is_file()}
    assert files == {"summary.csv", "manifest.json", "scenarios.csv", "coverage.csv",
                     "provenance.csv"}
    # and a Monte Carlo run then starts afresh instead of skipping a "finished" run
    code, out, err = cli(["run", run, "--samples", "300", "--out", out_dir], capsys)
    assert code == 0 and "skipped" not in out
    assert (out_dir / "samples.parquet").is_dir()


# --------------------------------------------------------------------- Monte Carlo
@pytest.fixture(scope="module")
def chunked_runs(tmp_path_factory, report_calls):
    """The same 3,000-sample run stored with chunk sizes 1,000 and 65,536."""
    base = tmp_path_factory.mktemp("mc")
    run = write_run(base, DEFAULT_DATASET, SCENARIOS + "\n[montecarlo]\nsamples = 2000\n")
    outs = {}
    for size in (1000, 65536):
        out_dir = base / f"out-{size}"
        code = main(["run", str(run), "--samples", "3000", "--chunk-size", str(size),
                     "--seed", "42", "--out", str(out_dir), "--quiet"])
        assert code == 0
        outs[size] = out_dir
    return outs


def test_run_writes_summary_samples_and_manifest(chunked_runs, report_calls):
    out_dir = chunked_runs[1000]
    assert out_dir in report_calls and chunked_runs[65536] in report_calls
    names = {p.name for p in out_dir.iterdir()}
    assert {"summary.csv", "manifest.json", "samples.parquet", "scenarios.csv"} <= names
    assert not (out_dir / ".lock").exists()
    summary = pd.read_csv(out_dir / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert (summary.n == 3000).all()
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["kind"] == "montecarlo" and manifest["complete"] is True
    assert (manifest["samples"], manifest["chunk_size"], manifest["seed"]) == (3000, 1000, 42)
    assert len(list((out_dir / "samples.parquet").glob("part-*.parquet"))) == 3
    assert len(list((chunked_runs[65536] / "samples.parquet").glob("part-*.parquet"))) == 1
    assert parts_frame(out_dir / "samples.parquet").shape[0] == 3000


def test_chunk_size_does_not_change_the_results(chunked_runs):
    a, b = chunked_runs[1000], chunked_runs[65536]
    for name in ("summary.csv", "scenarios.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for sub in ["samples.parquet", "scenario_samples/recycled-copper", "scenario_samples/lfp"]:
        fa, fb = parts_frame(a / sub), parts_frame(b / sub)
        assert list(fa.columns) == list(fb.columns)
        for col in fa.columns:
            assert fa[col].to_numpy().tobytes() == fb[col].to_numpy().tobytes(), (sub, col)


def test_run_prints_the_summary_unless_quiet(tmp_path, capsys):
    ds = write_dataset(tmp_path / "data")
    run = write_run(tmp_path, ds)
    out_dir = tmp_path / "out"
    code, out, err = cli(["run", run, "--samples", "500", "--out", out_dir], capsys)
    assert code == 0, err
    assert "hidden_flows_mt" in out and "p97_5" in out and f"wrote {out_dir}" in out
    assert "Traceback" not in err


# ---------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def two_chem_dataset(tmp_path_factory) -> Path:
    """The tiny dataset with a two-chemistry battery mix (NMC 0.7, LFP 0.3)."""
    t = base_tables()
    t["chemistries"].append({"chemistry": "LFP", "metal": "copper", "kg_per_kwh": "0.03"})
    t["battery_mix"] = [{"chemistry": "NMC", "share": "0.7", "concentration": "100"},
                        {"chemistry": "LFP", "share": "0.3", "concentration": "100"}]
    return write_dataset(tmp_path_factory.mktemp("two-chem"), **t)


BAD_OVERRIDES = {
    "unknown-distribution": (
        'grid_hf_kg_per_kwh = { dist = "weibull", shape = 2.0 }',
        ["grid_hf_kg_per_kwh", "weibull", "valid names", "lognormal", "triangular", "beta",
         "dirichlet", "pert"]),
    "gsd-below-1": (
        'grid_hf_kg_per_kwh = { dist = "lognormal", median = 1.5, gsd = 0.8 }',
        ["grid_hf_kg_per_kwh", "'gsd' must be >= 1", "0.8"]),
    "triangular-low-above-high": (
        'battery_pack_factor = { dist = "triangular", low = 2.0, mode = 1.5, high = 1.0 }',
        ["battery_pack_factor", "low", "high"]),
    "beta-not-positive": (
        'battery_pack_factor = { dist = "beta", a = 0.0, b = 2.0, low = 1.0, high = 1.5 }',
        ["battery_pack_factor", "'a' must be > 0"]),
    "dirichlet-not-summing-to-1": (
        'battery_mix = { dist = "dirichlet", shares = [0.6, 0.6], concentration = 50 }',
        ["battery_mix", "sum to 1", "1.2"]),
    "unsupported-stats-arrays-type": (
        'grid_hf_kg_per_kwh = { "uncertainty type" = 8, loc = 1.0, scale = 0.5 }',
        ["grid_hf_kg_per_kwh", "type 8", "weibull", "not supported"]),
}


def assert_rejected(code: int, out: str, err: str, out_dir: Path, needles: list[str]) -> None:
    text = out + err
    assert code == 2, text
    assert "Traceback" not in text
    error_lines = [line for line in text.splitlines() if "error:" in line]
    assert len(error_lines) == 1, text
    for needle in needles:
        assert needle in error_lines[0], (needle, error_lines[0])
    assert not out_dir.exists() or not any(out_dir.iterdir()), sorted(out_dir.iterdir())


@pytest.mark.parametrize("deterministic", [False, True], ids=["montecarlo", "deterministic"])
@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_bad_override_exits_2_and_writes_nothing(tmp_path, capsys, two_chem_dataset, case,
                                                 deterministic):
    body, needles = BAD_OVERRIDES[case]
    run = write_run(tmp_path, two_chem_dataset, f"[overrides]\n{body}\n")
    out_dir = tmp_path / "out"
    args = ["run", run, "--samples", "100", "--out", out_dir]
    code, out, err = cli(args + (["--deterministic"] if deterministic else []), capsys)
    assert_rejected(code, out, err, out_dir, [*needles, str(run)])


@pytest.mark.parametrize("value", ["0", "abc", "1.5", "-3"])
def test_bad_samples_flag_exits_2(tmp_path, capsys, two_chem_dataset, value):
    run = write_run(tmp_path, two_chem_dataset)
    out_dir = tmp_path / "out"
    code, out, err = cli(["run", run, f"--samples={value}", "--out", out_dir], capsys)
    assert_rejected(code, out, err, out_dir, ["--samples", "positive integer", value])


@pytest.mark.parametrize("value", ["0", "-5", "2.5", '"1000"', "true"])
def test_bad_samples_in_run_file_exits_2(tmp_path, capsys, two_chem_dataset, value):
    run = write_run(tmp_path, two_chem_dataset, f"[montecarlo]\nsamples = {value}\n")
    out_dir = tmp_path / "out"
    code, out, err = cli(["run", run, "--out", out_dir], capsys)
    assert_rejected(code, out, err, out_dir, [str(run), "montecarlo.samples",
                                              "positive integer"])


def test_unknown_override_name_exits_2(tmp_path, capsys, two_chem_dataset):
    run = write_run(tmp_path, two_chem_dataset, "[overrides]\nno_such_input = 1.0\n")
    out_dir = tmp_path / "out"
    code, out, err = cli(["run", run, "--out", out_dir], capsys)
    assert_rejected(code, out, err, out_dir, ["no_such_input", "unknown input"])


def test_bad_override_in_a_scenario_exits_2_before_any_sample(tmp_path, capsys,
                                                              two_chem_dataset):
    body = ('[[scenarios]]\nname = "s"\n[scenarios.overrides]\n'
            'grid_hf_kg_per_kwh = { dist = "lognormal", median = 1.5, gsd = 0.5 }\n')
    run = write_run(tmp_path, two_chem_dataset, body)
    out_dir = tmp_path / "out"
    code, out, err = cli(["run", run, "--samples", "100", "--out", out_dir], capsys)
    assert_rejected(code, out, err, out_dir, ["grid_hf_kg_per_kwh", "gsd"])


def test_two_chem_dataset_runs(tmp_path, capsys, two_chem_dataset):
    """Control for the bad-input cases: the same run file without the error succeeds."""
    run = write_run(tmp_path, two_chem_dataset,
                    '[overrides]\nbattery_mix = { dist = "dirichlet", shares = [0.5, 0.5], '
                    "concentration = 50 }\n")
    out_dir = tmp_path / "out"
    code, _, err = cli(["run", run, "--samples", "200", "--out", out_dir, "--quiet"], capsys)
    assert code == 0, err
    summary = pd.read_csv(out_dir / "summary.csv")
    assert np.isfinite(summary.set_index("metric").loc["hidden_flows_mt", "mean"])
