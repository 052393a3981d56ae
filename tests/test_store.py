"""Tests of uncertainty.store: the out-folder lock under concurrent take-over."""

from __future__ import annotations

import subprocess
import threading
import time

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
