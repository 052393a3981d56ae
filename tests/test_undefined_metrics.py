"""Metrics and scenarios a dataset cannot define (a fleet without NEVs): the run goes
on with those metrics NaN, and sensitivity or a scenario that needs them is refused in
one line before anything is computed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import base_tables

from uncertainty import cli, pipeline
from uncertainty.data import load_dataset
from uncertainty.model import undefined_metrics


@pytest.fixture(autouse=True)
def no_report(monkeypatch):
    monkeypatch.setattr(pipeline, "_write_report", lambda out, quiet: None)


@pytest.fixture
def icev_only(tmp_path, make_dataset) -> Path:
    t = base_tables()
    lfp = [{"chemistry": "NMC", "metal": "copper", "kg_per_kwh": "0.05"},
           {"chemistry": "LFP", "metal": "copper", "kg_per_kwh": "0.05"}]
    mix = [{"chemistry": "NMC", "share": "0.5", "concentration": "100"},
           {"chemistry": "LFP", "share": "0.5", "concentration": "100"}]
    return make_dataset(tmp_path / "icev", fleet=[r for r in t["fleet"] if r["vehicle"] == "icev"],
                        vehicles=[r for r in t["vehicles"] if r["vehicle"] == "icev"],
                        chemistries=lfp, battery_mix=mix)


def _run_file(tmp_path: Path, ds: Path, extra: str = "", metrics: str = '["hidden_flows_mt"]'
              ) -> Path:
    f = tmp_path / "r.toml"
    f.write_text(f'name = "r"\ndataset = "{ds}"\n[montecarlo]\nseed = 3\n{extra}'
                 f"[sensitivity]\nenabled = false\nn_base = 64\nmetrics = {metrics}\n")
    return f


def test_undefined_metrics_of_a_fleet(icev_only, make_dataset, tmp_path):
    assert set(undefined_metrics(load_dataset(icev_only))) == {"nev_to_icev_hidden_ratio"}
    zero = make_dataset(tmp_path / "zero", fleet={(1, "count"): "0"})
    got = undefined_metrics(load_dataset(zero))
    assert set(got) == {"nev_to_icev_hidden_ratio", "hidden_per_vehicle_t_bev",
                        "battery_metals_material_share_bev", "battery_metals_hidden_share_bev"}
    assert "count of 0" in got["hidden_per_vehicle_t_bev"]


def test_run_without_nev_gives_nan_for_the_ratio_only(tmp_path, icev_only):
    out = tmp_path / "out"
    f = _run_file(tmp_path, icev_only)
    assert cli.main(["run", str(f), "--samples", "300", "--quiet", "--out", str(out)]) == 0
    s = pd.read_csv(out / "summary.csv").set_index("metric")
    assert s.loc["nev_to_icev_hidden_ratio"].drop("n").isna().all()
    assert s.drop(index="nev_to_icev_hidden_ratio")[["nominal", "mean", "sd"]].notna().all().all()
    assert json.loads((out / "progress.json").read_text())["complete"] is True


def test_sensitivity_of_an_undefined_metric_refused(tmp_path, icev_only, capsys):
    f = _run_file(tmp_path, icev_only, metrics='["nev_to_icev_hidden_ratio"]')
    assert cli.main(["sobol", str(f), "--quiet", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot define the metric: the fleet has no NEV" in err
    assert not (tmp_path / "s").exists()
    f.write_text(f.read_text().replace("enabled = false", "enabled = true"))
    assert cli.main(["validate", str(f)]) == 2
    assert "sensitivity.metrics" in capsys.readouterr().err


def test_lfp_switch_without_nev_refused(tmp_path, icev_only, capsys):
    f = _run_file(tmp_path, icev_only, extra='[[scenarios]]\nname = "lfp"\nlfp_share = 1.0\n')
    assert cli.main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "scenarios[0].lfp_share" in err and "the fleet has no NEV" in err
    out = tmp_path / "o"
    assert cli.main(["run", str(f), "--samples", "300", "--quiet", "--out", str(out)]) == 2
    assert not (out / "progress.json").exists()
