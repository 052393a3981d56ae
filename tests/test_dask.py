"""Monte Carlo on Dask: identical bytes to the single-process run, one numba thread per
task, and a clear exit 2 for an unreachable or malformed scheduler address.

Exact seeded regression: per-sample Parquet parts, summary.csv, scenarios.csv and the
scenario samples of a run on a 2-worker LocalCluster equal those of the single-process
run byte for byte (random numbers are a pure function of seed, sample and parameter).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import distributed
import pytest
from outputs import assert_same_outputs, files

from uncertainty import cli, executor, pipeline

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_report(monkeypatch):
    """Figures and report.html are derived from the files compared here, and slow."""
    monkeypatch.setattr(pipeline, "_write_report", lambda out, quiet: None)


@pytest.fixture(scope="module")
def cluster():
    """A 2-process LocalCluster started by the test (workers keep numba's default threads:
    the task itself must set one)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as c:
        yield c


def _run_file(folder: Path, dataset: Path, samples: int) -> Path:
    f = folder / "dask.toml"
    f.write_text(f'''name = "dask"
dataset = "{dataset}"
[montecarlo]
samples = {samples}
chunk_size = 500
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


def test_scheduler_equals_single_process(tmp_path, cluster):
    """--scheduler ADDR: 2 workers, 6 chunks (more than the 4 in flight), same bytes."""
    f = _run_file(tmp_path, REPO / "distributions", 3000)
    single, dask = tmp_path / "single", tmp_path / "dask"
    assert cli.main(["run", str(f), "--out", str(single), "--quiet"]) == 0
    assert cli.main(["run", str(f), "--out", str(dask), "--quiet",
                     "--scheduler", cluster.scheduler_address]) == 0
    assert_same_outputs(single, dask)
    got = files(dask)
    assert len([n for n in got if n.startswith("samples.parquet/part-")]) == 6
    assert "scenario_samples/grid/part-000005.parquet" in got
    m = json.loads(got["manifest.json"])
    assert m["execution"] == {"chunks_computed": 6, "dask_workers": 2}


def test_workers_start_a_local_cluster(tmp_path, make_dataset):
    """--workers 2 starts (and stops) a local cluster; same bytes as one process."""
    f = _run_file(tmp_path, make_dataset(tmp_path / "data"), 2000)
    single, dask = tmp_path / "single", tmp_path / "dask"
    assert cli.main(["run", str(f), "--out", str(single), "--quiet"]) == 0
    assert cli.main(["run", str(f), "--out", str(dask), "--quiet", "--workers", "2"]) == 0
    assert_same_outputs(single, dask)
    assert json.loads((dask / "manifest.json").read_text())["execution"]["dask_workers"] == 2


def test_one_numba_thread_per_task(cluster):
    import numba

    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        threads = client.gather([client.submit(executor._in_worker, numba.get_num_threads,
                                               pure=False) for _ in range(4)])
    assert threads == [1, 1, 1, 1]


def test_runner_yields_in_task_order(cluster):
    with executor.ChunkRunner(scheduler=cluster.scheduler_address) as runner:
        assert runner.n_workers == 2
        got = list(runner.map(divmod, range(1, 12), 100, window=3))
    assert got == [divmod(100, t) for t in range(1, 12)]


@pytest.mark.parametrize("address, timeout", [("tcp://127.0.0.1:9", 3), ("nonsense", 3)])
def test_unreachable_scheduler_exit_2(tmp_path, monkeypatch, capsys, address, timeout):
    monkeypatch.setattr(executor, "CONNECT_TIMEOUT_S", timeout)
    f = _run_file(tmp_path, REPO / "distributions", 100)
    out = tmp_path / "out"
    t = time.perf_counter()
    assert cli.main(["run", str(f), "--out", str(out), "--quiet", "--scheduler", address]) == 2
    assert time.perf_counter() - t < 15 + timeout
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at '{address}' within {timeout} s" in err
    assert not out.exists()


def test_scheduler_without_workers_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(executor, "CONNECT_TIMEOUT_S", 2)
    f = _run_file(tmp_path, REPO / "distributions", 100)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=0, processes=True,
                                  dashboard_address=":0") as empty:
        assert cli.main(["run", str(f), "--out", str(out), "--quiet",
                         "--scheduler", empty.scheduler_address]) == 2
    err = capsys.readouterr().err
    assert "has no workers after 2 s" in err and "dask worker" in err
    assert not out.exists()
