"""The built wheel holds every subpackage, the default dataset and the run files, so a
non-editable install runs from any folder."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import uncertainty

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_package_the_default_data_and_the_run_files(tmp_path):
    # builds in an isolated environment (setuptools from the package index, as pip does)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, text=True)
    (wheel,) = tmp_path.glob("tmr_uncertainty-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = [m.name for m in pkgutil.walk_packages(uncertainty.__path__, "uncertainty.")]
    for m in modules:
        path = m.replace(".", "/")
        assert f"{path}.py" in names or f"{path}/__init__.py" in names, m
    for csv in (ROOT / "distributions").rglob("*.csv"):  # the uncalibrated curated/ too
        rel = csv.relative_to(ROOT / "distributions").as_posix()
        assert f"uncertainty/distributions/{rel}" in names
    assert "uncertainty/runs/china-2019.toml" in names
    assert not any(n.startswith(("uncertainty/runs/out", "uncertainty/runs/data")) for n in names)


def test_a_packaged_run_file_writes_under_the_working_folder(tmp_path, monkeypatch):
    from uncertainty import pipeline, resources
    from uncertainty.config import load_run

    monkeypatch.chdir(tmp_path)
    run = load_run(resources.default_run())
    monkeypatch.setattr(resources, "_PACKAGE", run.path.resolve().parent)
    monkeypatch.setattr(pipeline, "is_packaged", resources.is_packaged)
    assert pipeline.default_out_dir(run) == tmp_path / "runs" / "out" / run.name
