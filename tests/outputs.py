"""Helpers shared by the tests that compare whole out folders byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

#: manifest.json keys that differ between invocations (what this invocation did).
VOLATILE = ("timings", "execution")


def files(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``folder`` (the lock excluded)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def assert_same_outputs(a: Path, b: Path) -> None:
    """Every file byte-identical, except manifest.json's volatile entries."""
    fa, fb = files(a), files(b)
    assert sorted(fa) == sorted(fb)
    ma, mb = json.loads(fa.pop("manifest.json")), json.loads(fb.pop("manifest.json"))
    for k in VOLATILE:
        ma.pop(k), mb.pop(k)
    assert ma == mb
    for name in fa:
        assert fa[name] == fb[name], f"{name} differs"
