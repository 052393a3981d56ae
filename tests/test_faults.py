"""Faults and hostile input: damaged checkpoints, resource budgets, operating-system
errors, seed bounds and non-finite results.

Each test runs the CLI in this process on the tiny dataset of ``conftest.py`` (a few
hundred samples, no sensitivity, no report: the report has its own tests) and checks the
exit code, the one-line message and what the out folder holds.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from outputs import assert_same_outputs, files

from uncertainty import budget, cli, pipeline, store
from uncertainty.config import ConfigError, parse_run

SAMPLES = ["--samples", "1200", "--chunk-size", "300", "--quiet"]


@pytest.fixture(autouse=True)
def no_report(monkeypatch):
    monkeypatch.setattr(pipeline, "_write_report", lambda out, quiet: None)


@pytest.fixture
def run_file(tmp_path, make_dataset) -> Path:
    ds = make_dataset(tmp_path / "data")
    f = tmp_path / "tiny.toml"
    f.write_text(f'''name = "tiny"
dataset = "{ds}"
[montecarlo]
seed = 11
[sensitivity]
enabled = false
[[scenarios]]
name = "grid"
overrides = {{ grid_hf_kg_per_kwh = {{dist = "lognormal", median = 0.5, gsd = 1.6}} }}
''')
    return f


@pytest.fixture
def reference(tmp_path, run_file) -> Path:
    out = tmp_path / "ref"
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(out)]) == 0
    return out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("error: ")
    return lines[0]


def _zero_middle(path: Path, n: int = 4096) -> None:
    data = bytearray(path.read_bytes())
    mid = max(0, len(data) // 2 - n // 2)
    data[mid:mid + n] = bytes(min(n, len(data) - mid))
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------ checkpoints
def test_progress_records_every_part_digest(reference):
    state = json.loads((reference / "progress.json").read_text())
    parts = sorted(str(p.relative_to(reference)) for p in reference.rglob("part-*.parquet"))
    assert sorted(state["parts"]) == parts and len(parts) == 8
    for key, digest in state["parts"].items():
        assert store.sha256_bytes((reference / key).read_bytes()) == digest


@pytest.mark.parametrize("finished", [False, True], ids=["interrupted", "finished"])
def test_damaged_parts_are_recomputed(tmp_path, run_file, reference, capsys, finished):
    out = tmp_path / "damaged"
    shutil.copytree(reference, out)
    if not finished:  # as a run killed after its chunks: progress says not complete
        state = json.loads((out / "progress.json").read_text())
        (out / "progress.json").write_text(json.dumps({**state, "complete": False}))
        (out / "manifest.json").unlink()
    zeroed = out / "samples.parquet" / "part-000001.parquet"
    size = zeroed.stat().st_size
    _zero_middle(zeroed)
    assert zeroed.stat().st_size == size
    cut = out / "scenario_samples" / "grid" / "part-000002.parquet"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    capsys.readouterr()
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"notice: {zeroed} fails its checksum" in err
    assert f"notice: {cut} fails its checksum" in err
    assert "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["chunks_computed"] == 2
    assert_same_outputs(out, reference)


def test_part_without_recorded_digest_is_not_used(tmp_path, run_file, reference, capsys):
    out = tmp_path / "unrecorded"
    shutil.copytree(reference, out)
    state = json.loads((out / "progress.json").read_text())
    del state["parts"]["samples.parquet/part-000003.parquet"]
    (out / "progress.json").write_text(json.dumps({**state, "complete": False}))
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(out), "--resume"]) == 0
    assert "part-000003.parquet has no checksum in progress.json" in capsys.readouterr().err
    assert_same_outputs(out, reference)


def test_report_refuses_a_damaged_part(tmp_path, reference):
    from uncertainty.report.results import _read_samples

    digests = json.loads((reference / "progress.json").read_text())["parts"]
    folder = reference / "samples.parquet"
    assert len(_read_samples(folder, ["tmr_mt"], digests=digests)) == 1200
    _zero_middle(folder / "part-000000.parquet")
    with pytest.raises(store.ResultsError, match=r"part-000000\.parquet: result file is corrupt"):
        _read_samples(folder, ["tmr_mt"], digests=digests)


# ------------------------------------------------------------------ resource budget
@pytest.mark.parametrize("flags, expect", [
    (["--samples", str(10**12)], "samples exceed the cap of 100,000,000"),
    (["--chunk-size", str(10**9), "--samples", str(10**8)],
     "the largest chunk size that fits is"),
    (["--max-memory", "1MB"], "no chunk size fits: the process and the model alone need"),
])
def test_plan_that_does_not_fit_is_refused_before_writing(tmp_path, run_file, capsys, flags,
                                                          expect):
    out = tmp_path / "big"
    assert cli.main(["run", str(run_file), "--quiet", "--out", str(out), *flags]) == 2
    assert expect in _one_line_error(capsys)
    assert not (out / "progress.json").exists()


def test_largest_chunk_reported_fits(tmp_path, run_file, capsys):
    out = tmp_path / "fit"
    assert cli.main(["run", str(run_file), "--quiet", "--out", str(out), "--samples", "20000",
                     "--chunk-size", "20000", "--max-memory", "355MB"]) == 2
    line = _one_line_error(capsys)
    fits = int(line.split("the largest chunk size that fits is ")[1].split()[0].replace(",", ""))
    assert 0 < fits < 20000
    assert cli.main(["run", str(run_file), "--quiet", "--out", str(out), "--samples", "20000",
                     "--chunk-size", str(fits), "--max-memory", "355MB"]) == 0


def test_memory_formula():
    plan = budget.Plan(samples=10**6, chunk_size=65_536, n_metrics=94, n_scenarios=3,
                       n_scenario_metrics=22, n_params=5_558, n_override_passes=0)
    assert plan.memory() == 65_536 * 8 * 94 * (1 + 3 + 4) + 256 * 5_558 + budget.PROCESS_BYTES
    assert plan.disk() == 10**6 * 8 * (94 + 3 * 22)
    small = budget.Plan(samples=100, chunk_size=65_536, n_metrics=94, n_scenarios=0,
                        n_scenario_metrics=22, n_params=10)
    assert small.chunk == 100


def test_too_many_scenarios_refused_by_run_and_validate(tmp_path, run_file, capsys):
    many = tmp_path / "many.toml"
    text = run_file.read_text().split("[[scenarios]]")[0]
    many.write_text(text + "".join(
        f'[[scenarios]]\nname = "s{i}"\nclean_energy_factor = 0.5\n' for i in range(150)))
    assert cli.main(["validate", str(many)]) == 2
    assert "150 scenarios exceed the cap of 100" in _one_line_error(capsys)
    assert cli.main(["run", str(many), "--quiet", "--out", str(tmp_path / "m")]) == 2
    assert "--max-scenarios" in _one_line_error(capsys)
    assert not (tmp_path / "m").exists()
    assert cli.main(["validate", str(many), "--max-scenarios", "200"]) == 0


def test_validate_checks_every_scenario_override(tmp_path, run_file, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(run_file.read_text() + '''[[scenarios]]
name = "typo"
overrides = { "no_such_input" = { dist = "fixed", value = 1.0 } }
''')
    assert cli.main(["validate", str(bad)]) == 2
    line = _one_line_error(capsys)
    assert "scenarios[1] (typo)" in line and "unknown input 'no_such_input'" in line


def test_disk_budget_on_a_small_filesystem(tmp_path, run_file, capsys):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    try:
        out = mnt / "out"
        assert cli.main(["run", str(run_file), "--quiet", "--out", str(out),
                         "--samples", "20000"]) == 2
        line = _one_line_error(capsys)
        assert "of disk for their Parquet parts" in line and "samples fit" in line
        assert not out.exists()
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# ------------------------------------------------------------------ operating-system errors
def test_out_is_a_file_or_under_a_file(tmp_path, run_file, capsys):
    f = tmp_path / "a-file"
    f.write_text("x")
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(f)]) == 2
    assert "is a file, not a folder" in _one_line_error(capsys)
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(f / "sub")]) == 2
    assert "which is a file, not a folder" in _one_line_error(capsys)
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(f), "--deterministic"]) == 2
    _one_line_error(capsys)
    assert f.read_text() == "x"


def test_read_only_out_folder(tmp_path, run_file, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,ro", "tmpfs", str(ro)],
                             capture_output=True).returncode == 0
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root ignores folder permissions and a read-only mount is not allowed")
        ro.chmod(0o555)
    try:
        assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(ro / "out")]) == 2
        line = _one_line_error(capsys)
        assert "cannot be written" in line and str(ro) in line
    finally:
        if mounted:
            subprocess.run(["umount", str(ro)], check=False)
        else:
            ro.chmod(0o755)


def test_full_disk_mid_run_then_resume_identical(tmp_path, run_file, reference, monkeypatch,
                                                 capsys):
    """The disk fills while the third chunk's parts are written: one line, exit 1, every
    file left whole; --resume after space is freed ends with the reference's bytes."""
    out = tmp_path / "full"
    real = store.write_bytes
    calls = {"n": 0}

    def filling(path, data):
        if Path(path).suffix == ".parquet":
            calls["n"] += 1
            if calls["n"] == 5:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(store, "write_bytes", filling)
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(out)]) == 1
    line = _one_line_error(capsys)
    assert "No space left on device [ENOSPC]" in line and "--resume" in line
    monkeypatch.setattr(store, "write_bytes", real)
    assert not list(out.rglob("*.tmp"))
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(out), "--resume"]) == 0
    assert_same_outputs(out, reference)


def test_permission_error_is_one_line_exit_2(tmp_path, run_file, monkeypatch, capsys):
    def denied(path, data):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(store, "write_bytes", denied)
    out = tmp_path / "denied"
    assert cli.main(["run", str(run_file), *SAMPLES, "--out", str(out)]) == 2
    line = _one_line_error(capsys)
    assert "Permission denied [EACCES]" in line and str(out) in line


# ------------------------------------------------------------------ seeds
@pytest.mark.parametrize("seed", [2**64, -1])
def test_seed_out_of_range_on_the_command_line(tmp_path, run_file, capsys, seed):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", str(run_file), *SAMPLES, "--seed", str(seed),
                  "--out", str(tmp_path / "s")])
    assert exc.value.code == 2
    assert "0 <= seed < 2**64" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("key", ["montecarlo", "sensitivity"])
def test_seed_out_of_range_in_the_run_file(key):
    with pytest.raises(ConfigError, match=rf"{key}.seed.*0 <= seed < 2\*\*64"):
        parse_run({"name": "x", key: {"seed": 2**64}})
    assert parse_run({"name": "x", key: {"seed": 2**64 - 1}})


def test_largest_seed_runs(tmp_path, run_file):
    out = tmp_path / "max-seed"
    assert cli.main(["run", str(run_file), "--samples", "300", "--quiet",
                     "--seed", str(2**64 - 1), "--out", str(out)]) == 0
    assert json.loads((out / "progress.json").read_text())["seed"] == 2**64 - 1


# ------------------------------------------------------------------ non-finite results
def test_non_finite_result_names_its_inputs(tmp_path, run_file, capsys):
    huge = tmp_path / "huge.toml"
    huge.write_text(run_file.read_text().split("[[scenarios]]")[0] + '''[overrides]
"stripping_ratio[CU-CHL-001]" = { dist = "fixed", value = 1e305 }
''')
    out = tmp_path / "inf"
    assert cli.main(["run", str(huge), *SAMPLES, "--out", str(out)]) == 2
    line = _one_line_error(capsys)
    assert "of sample 0 (baseline, seed 11) is inf" in line
    assert "stripping_ratio[CU-CHL-001] = 1e+305" in line
    assert not list(out.rglob("part-*.parquet"))
    assert "summary.csv" not in files(out)


def test_non_finite_nominal_refused_by_deterministic_run(tmp_path, run_file, capsys):
    huge = tmp_path / "huge.toml"
    huge.write_text(run_file.read_text().split("[[scenarios]]")[0] + '''[overrides]
"stripping_ratio[CU-CHL-001]" = { dist = "fixed", value = 1e305 }
''')
    out = tmp_path / "nominal"
    assert cli.main(["run", str(huge), "--deterministic", "--quiet", "--out", str(out)]) == 2
    line = _one_line_error(capsys)
    assert "at nominal inputs (baseline) is inf" in line
    assert "stripping_ratio[CU-CHL-001] = 1e+305" in line
    assert not (out / "summary.csv").exists()


def test_overflowing_summary_refused(tmp_path, monkeypatch):
    """Finite samples whose spread overflows (sd of values near 1e300) are not summarised."""
    import pandas as pd

    summary = pd.DataFrame({"metric": ["tmr_mt"], "nominal": [1e300], "mean": [1e300],
                            "sd": [float("inf")], "p2_5": [1e299], "p50": [1e300],
                            "p97_5": [1e301], "n": [10]})
    run = parse_run({"name": "x"})
    with pytest.raises(store.NonFiniteError, match="'sd' of metric 'tmr_mt' is inf"):
        pipeline._check_summary_finite(run, summary)
