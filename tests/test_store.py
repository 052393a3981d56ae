"""Tests of uncertainty.store: the out-folder lock under concurrent take-over."""

from __future__ import annotations

import subprocess
import threading
import time

import numpy as np

from uncertainty import store


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_only_one_taker_of_a_stale_lock(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text(str(_dead_pid()))  # left by a killed run
    start = threading.Barrier(8)
    won, refused = [], []

    def take() -> None:
        start.wait()
        try:
            with store.lock_folder(out):
                won.append(1)
                time.sleep(0.2)
        except store.OutputLockedError:
            refused.append(1)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 7
    assert not (out / ".lock").exists()


def test_lock_released_after_an_error(tmp_path):
    out = tmp_path / "out"
    try:
        with store.lock_folder(out):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with store.lock_folder(out):
        assert (out / ".lock").read_text() != ""


def test_write_parquet_round_trips_with_split_floats_and_same_bytes(tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    rs = np.random.default_rng(3)
    df = pd.DataFrame({"x": rs.lognormal(size=5000), "y": rs.normal(size=5000),
                       "name": np.repeat(["a", "b"], 2500), "k": np.arange(5000)})
    a = store.write_parquet(tmp_path / "a.parquet", df)
    b = store.write_parquet(tmp_path / "b.parquet", df)
    assert a.read_bytes() == b.read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(a), df)
    meta = pq.ParquetFile(a).metadata.row_group(0)
    enc = {meta.column(i).path_in_schema: set(meta.column(i).encodings)
           for i in range(meta.num_columns)}
    for col in ("x", "y"):
        assert "BYTE_STREAM_SPLIT" in enc[col] and "RLE_DICTIONARY" not in enc[col]
    assert "RLE_DICTIONARY" in enc["name"]
