"""Batches, checkpoints and resume, atomic writes and the out-folder lock.

Exact seeded regression: a run killed with SIGKILL and resumed ends with the same bytes
as an uninterrupted run in every output file; manifest.json differs only in its volatile
``timings`` and ``execution`` entries. The report (figures, HTML) is switched off in
this process; it is derived from the files compared here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from outputs import assert_same_outputs, files

from uncertainty import cli, pipeline, rng, store

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_report(monkeypatch):
    """Figures and report.html take tens of seconds and are not under test here."""
    monkeypatch.setattr(pipeline, "_write_report", lambda out, quiet: None)


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    """The default dataset with a switch scenario and an override scenario."""
    f = tmp_path / "kill.toml"
    f.write_text(f'''name = "kill"
dataset = "{REPO / 'distributions'}"
[montecarlo]
samples = 6000
chunk_size = 500
seed = 7
[sensitivity]
enabled = false
[[scenarios]]
name = "recycled-copper"
recycled_copper_share = 1.0
[[scenarios]]
name = "grid"
overrides = {{ grid_hf_kg_per_kwh = {{dist = "lognormal", median = 0.5, gsd = 1.6}} }}
''')
    return f


def test_sigkill_resume_byte_identical(tmp_path, run_file, capsys):
    out = tmp_path / "killed"
    parts = out / "samples.parquet"
    args = ["run", str(run_file), "--samples", "6000", "--chunk-size", "500", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "uncertainty", *args, "--out", str(out)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    try:
        while len(list(parts.glob("part-*.parquet"))) < 3:
            if proc.poll() is not None:
                pytest.fail(f"the run ended (exit {proc.returncode}) before it could be "
                            f"killed: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("no 3 chunks within 180 s")
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGSTOP)  # frozen mid-run, holding the lock
        # a second process on the same out folder is refused, and writes nothing
        before = files(out)
        assert cli.main([*args, "--out", str(out), "--resume"]) == 2
        err = capsys.readouterr().err
        assert f"another process (pid {proc.pid}) is writing this out folder" in err
        assert files(out) == before
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    done = len(list(parts.glob("part-*.parquet")))
    assert 3 <= done < 12 and not (out / "manifest.json").exists()
    for p in out.rglob("part-*.parquet"):  # atomic writes: every part left is whole
        pq.read_table(p)
    # a process killed inside a write leaves a temporary file: resume removes it
    (parts / ".part-000011.parquet.x1y2.tmp").write_bytes(b"half a file")
    assert cli.main([*args, "--out", str(out), "--resume"]) == 0
    assert not list(out.rglob("*.tmp"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["chunks_computed"] == 12 - done
    ref = tmp_path / "ref"
    assert cli.main([*args, "--out", str(ref)]) == 0
    assert_same_outputs(out, ref)
    got = files(ref)
    assert len([n for n in got if n.startswith("samples.parquet/part-")]) == 12
    for name in ("summary.csv", "scenarios.csv", "parameters.csv", "progress.json",
                 "scenario_samples/grid/part-000011.parquet",
                 "scenario_samples/recycled-copper/part-000011.parquet"):
        assert name in got


def test_locked_folder_exit_2(tmp_path, run_file, capsys):
    holder = subprocess.Popen(["sleep", "60"])
    try:
        out = tmp_path / "out"
        out.mkdir()
        (out / ".lock").write_text(str(holder.pid))
        assert cli.main(["run", str(run_file), "--samples", "100", "--out", str(out),
                         "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"another process (pid {holder.pid}) is writing this out folder" in err
        assert sorted(p.name for p in out.iterdir()) == [".lock"]
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its stale lock is taken over
    assert cli.main(["run", str(run_file), "--samples", "100", "--out", str(out),
                     "--quiet"]) == 0
    assert not (out / ".lock").exists()


def test_atomic_write_keeps_old_file(tmp_path, monkeypatch):
    """A write that fails half-way leaves the previous file whole and no temporary."""
    path = store.write_text(tmp_path / "summary.csv", "old\n")

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        store.write_text(path, "new, longer content\n" * 100)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def _tiny_runs(folder: Path, make_dataset, names: tuple[str, ...]) -> Path:
    data = make_dataset(folder / "data")
    runs = folder / "runs"
    runs.mkdir()
    for i, name in enumerate(names):
        (runs / f"{name}.toml").write_text(
            f'name = "{name}"\ndataset = "../data"\n[montecarlo]\nsamples = 1000\n'
            f'chunk_size = 400\nseed = {i}\n[sensitivity]\nenabled = false\n'
            '[[scenarios]]\nname = "recycled"\nrecycled_copper_share = 0.5\n')
    assert data.is_dir()
    return runs


def test_batch_skips_finished_runs_unless_forced(tmp_path, make_dataset, capsys):
    runs = _tiny_runs(tmp_path, make_dataset, ("a", "b"))
    assert cli.main(["run", str(runs), "--quiet"]) == 0
    outs = [runs / "out" / n for n in ("a", "b")]
    first = [files(o) for o in outs]
    assert all("scenarios.csv" in f and "summary.csv" in f for f in first)
    capsys.readouterr()
    # the second invocation (two run files this time) skips both, touching nothing
    assert cli.main(["run", str(runs / "a.toml"), str(runs / "b.toml")]) == 0
    text = capsys.readouterr().out
    assert text.count("finished before") == 2 and "skipped (use --force to re-run)" in text
    assert [files(o) for o in outs] == first
    # --force re-runs both: same results, new timings
    assert cli.main(["run", str(runs), "--force", "--quiet"]) == 0
    again = [files(o) for o in outs]
    for f0, f1 in zip(first, again, strict=True):
        assert f0["manifest.json"] != f1["manifest.json"]
        assert {k: v for k, v in f0.items() if k != "manifest.json"} == \
            {k: v for k, v in f1.items() if k != "manifest.json"}
    # other settings on a finished run: refused, nothing replaced
    assert cli.main(["run", str(runs), "--samples", "500", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"holds a finished run with other settings \([^)]*samples[^)]*changed\)",
                     err), err
    assert "use --force to replace it" in err
    assert [files(o) for o in outs] == again


def test_a_run_of_another_generator_is_never_skipped_or_resumed(tmp_path, make_dataset,
                                                                capsys):
    """A folder whose progress.json records another random-number generator (a run made
    before the generator or its counter layout changed) is refused as finished with
    other settings, and cannot be resumed: its chunks must not mix with this one's."""
    runs = _tiny_runs(tmp_path, make_dataset, ("a",))
    assert cli.main(["run", str(runs), "--quiet"]) == 0
    out = runs / "out" / "a"
    state = json.loads((out / "progress.json").read_text())
    assert state["generator"] == rng.GENERATOR
    assert json.loads((out / "manifest.json").read_text())["generator"] == rng.GENERATOR
    (out / "progress.json").write_text(json.dumps({**state, "generator": "Philox4x64-10"}))
    capsys.readouterr()
    assert cli.main(["run", str(runs), "--quiet"]) == 2
    assert "(random-number generator changed)" in capsys.readouterr().err
    (out / "progress.json").write_text(json.dumps(
        {**state, "generator": "Philox4x64-10", "complete": False}))
    assert cli.main(["run", str(runs), "--resume", "--quiet"]) == 2
    assert "random-number generator changed" in capsys.readouterr().err


def test_batch_validates_every_run_before_writing(tmp_path, make_dataset, capsys):
    runs = _tiny_runs(tmp_path, make_dataset, ("a", "b"))
    (runs / "b.toml").write_text((runs / "b.toml").read_text().replace(
        'recycled_copper_share = 0.5', 'overrides = { nope = 1.0 }'))
    assert cli.main(["run", str(runs), "--quiet"]) == 2
    assert "unknown input 'nope'" in capsys.readouterr().err
    assert not (runs / "out").exists()
    # two run files with one name would share an out folder
    (runs / "b.toml").write_text((runs / "a.toml").read_text())
    assert cli.main(["run", str(runs), "--quiet"]) == 2
    assert "writes the same out folder" in capsys.readouterr().err
    assert not (runs / "out").exists()


def test_name_outside_out_folder_exit_2(tmp_path, capsys):
    f = tmp_path / "evil.toml"
    f.write_text(f'name = "../x"\ndataset = "{REPO / "distributions"}"\n')
    assert cli.main(["run", str(f), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "evil.toml: key 'name'" in err and "no path separators or '..'" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "x").exists()


def test_empty_folder_exit_2(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path), "--quiet"]) == 2
    assert "no run files (*.toml) in folder" in capsys.readouterr().err
