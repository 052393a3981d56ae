"""``uncertainty calibrate``: knobs fitted to targets on the nominal model.

A synthetic dataset whose true knob values are known is recovered; two targets that
pull one knob apart are reported as a conflicting pair with the bound that stops one;
the profile of a knob on an affine model is the hand-computed interval; a share knob
keeps its group summing to 1; ``--apply`` writes a copy whose nominal model gives the
fit; bad ``[calibration]`` input exits 2 in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import MINE, base_tables, write_dataset

from uncertainty.calibration import CalibrationProblem, calibrate, calibrated_tables
from uncertainty.cli import main
from uncertainty.config import ConfigError, parse_run
from uncertainty.data import DataValidationError, load_dataset
from uncertainty.errors import UserError
from uncertainty.model import build_model, evaluate_reference
from uncertainty.resolve import model_for

KNOBS = [
    {"name": "strip", "inputs": ["stripping_ratio[CU-*]"], "bounds": [0.2, 5.0]},
    {"name": "grid", "inputs": ["grid_hf_kg_per_kwh"], "mode": "set", "bounds": [0.1, 5.0]},
    {"name": "bev_cu", "inputs": ["content_kg[bev,copper]"], "mode": "set",
     "bounds": [20.0, 120.0]},
]
METRICS = ["hidden_flows_mt", "energy_hidden_share", "nev_to_icev_hidden_ratio"]


def _two_mines(folder: Path) -> Path:
    t = base_tables()
    second = dict(MINE, mine_id="CU-CHN-001", country="CHN", grade="0.006",
                  stripping_ratio="3.0")
    t["supply"] = [{"metal": "copper", "country": "CHL", "share": "0.7",
                    "concentration": "100"},
                   {"metal": "copper", "country": "CHN", "share": "0.3",
                    "concentration": "100"}]
    return write_dataset(folder, mines=[MINE, second], supply=t["supply"])


def _run(folder: Path, knobs: list[dict[str, Any]], targets: list[dict[str, Any]],
         **extra: Any) -> Any:
    return parse_run({"name": "cal", "dataset": str(folder),
                      "calibration": {"knobs": knobs, "targets": targets}, **extra},
                     file="cal.toml")


def _truth(folder: Path, knobs: list[dict[str, Any]], x: list[float]) -> np.ndarray:
    placeholder = [{"metric": m, "value": 1.0, "band": 1.0} for m in METRICS]
    run = _run(folder, knobs, placeholder)
    ds, model = model_for(run)
    return CalibrationProblem(run, ds, model).achieved(np.array(x))


def test_known_knob_values_are_recovered(tmp_path: Path) -> None:
    folder = _two_mines(tmp_path / "ds")
    true = [1.7, 2.3, 95.0]
    values = _truth(folder, KNOBS, true)
    targets = [{"metric": m, "value": float(v), "band": abs(float(v)) * 0.05}
               for m, v in zip(METRICS, values, strict=True)]
    cal = calibrate(_run(folder, KNOBS, targets))
    got = [cal.values[k["name"]] for k in KNOBS]
    np.testing.assert_allclose(got, true, rtol=1e-6)
    assert cal.all_hold and cal.conflicts.empty
    np.testing.assert_allclose(cal.targets["achieved"], values, rtol=1e-9)
    assert list(cal.knobs["at_bound"]) == ["", "", ""]


def test_conflicting_targets_are_a_pair_with_the_active_bound(tmp_path: Path) -> None:
    folder = _two_mines(tmp_path / "ds")
    grid = [{"name": "grid", "inputs": ["grid_hf_kg_per_kwh"], "mode": "set",
             "bounds": [0.5, 2.0]}]

    def energy_share(g: float) -> float:
        run = _run(folder, grid, [{"metric": "energy_hidden_share", "value": 0.1,
                                   "band": 0.1}])
        ds, model = model_for(run)
        return float(CalibrationProblem(run, ds, model).achieved(np.array([g]))[0])

    # one knob, two targets: the energy share of grid = 3 (beyond the bound) and of 1
    high, low = energy_share(3.0), energy_share(1.0)
    targets = [{"name": "high", "metric": "energy_hidden_share", "value": high,
                "band": 0.002},
               {"name": "low", "metric": "energy_hidden_share", "value": low,
                "band": 0.002}]
    cal = calibrate(_run(folder, grid, targets))
    assert not cal.targets["holds"].any()
    c = cal.conflicts.set_index(["target", "other"])
    assert set(c.index) == {("high", "low"), ("low", "high")}
    # pushing 'high' runs the knob into its upper bound, and it still cannot hold
    assert c.loc[("high", "low"), "active_bounds"] == "grid=high"
    assert not c.loc[("high", "low"), "target_holds_when_pushed"]
    assert c.loc[("high", "low"), "cost"] > 0
    # 'low' can hold, at a cost to 'high': pushed into its band, it stops at the edge
    # facing 'high' (the push weighs its violation, not its distance to the value)
    assert c.loc[("low", "high"), "target_holds_when_pushed"]
    assert c.loc[("low", "high"), "active_bounds"] == ""
    assert c.loc[("low", "high"), "target_achieved_when_pushed"] == pytest.approx(
        low + 0.002, abs=1e-6)


def test_profile_on_an_affine_model_is_the_hand_computed_interval(tmp_path: Path) -> None:
    """Hidden flows and TMR are affine in a multiplier on every stripping ratio: a + b x
    (waste rock scales with it, tailings, energy and used extraction do not)."""
    folder = _two_mines(tmp_path / "ds")
    ds = load_dataset(folder)
    model = build_model(ds)
    g, s, r, glob = (np.tile(a, (1, 1)) for a in (model.nominal_grade,
                                                   model.nominal_stripping,
                                                   model.nominal_recovery,
                                                   model.nominal_globals))
    names = list(model.metric_names)

    def at(x: float) -> np.ndarray:
        return evaluate_reference(model, g, s * x, r, glob)[0]

    y0, y1 = at(0.0), at(1.0)
    hf0, hf1 = y0[names.index("hidden_flows_mt")], y1[names.index("hidden_flows_mt")]
    t0, t1 = y0[names.index("tmr_mt")], y1[names.index("tmr_mt")]
    hf, tmr = (hf0, hf1 - hf0), (t0, t1 - t0)  # (a, b)
    knobs = [{"name": "strip", "inputs": ["stripping_ratio[*]"], "bounds": [0.1, 4.0]}]
    # the HF band allows x in [1.2, 1.6] and the TMR band x in [1.0, 1.5]: [1.2, 1.5]
    targets = [{"metric": "hidden_flows_mt", "value": hf[0] + 1.4 * hf[1],
                "band": [hf[0] + 1.2 * hf[1], hf[0] + 1.6 * hf[1]]},
               {"metric": "tmr_mt", "value": tmr[0] + 1.25 * tmr[1],
                "band": [tmr[0] + 1.0 * tmr[1], tmr[0] + 1.5 * tmr[1]]}]
    cal = calibrate(_run(folder, knobs, targets))
    assert cal.all_hold
    row = cal.knobs.iloc[0]
    assert row["profile_low"] == pytest.approx(1.2, rel=1e-9)
    assert row["profile_high"] == pytest.approx(1.5, rel=1e-9)
    assert 1.2 <= row["value"] <= 1.5
    assert (row["profile_low_by"], row["profile_high_by"]) == ("hidden_flows_mt", "tmr_mt")


def test_a_share_knob_keeps_its_group_summing_to_one(tmp_path: Path) -> None:
    folder = _two_mines(tmp_path / "ds")
    knobs = [{"name": "chn", "inputs": ["supply[copper,CHN]"], "mode": "set",
              "bounds": [0.1, 0.6]}]
    run = _run(folder, knobs, [{"metric": "hidden_abroad_share", "value": 0.5, "band": 0.01}])
    ds, model = model_for(run)
    p = CalibrationProblem(run, ds, model)
    v = p.inputs(np.array([0.45]))
    names = p.space.table["name"].tolist()
    assert v[names.index("supply[copper,CHN]")] == pytest.approx(0.45)
    assert v[names.index("supply[copper,CHL]")] == pytest.approx(0.55)


def test_apply_writes_a_copy_whose_nominal_model_gives_the_fit(tmp_path: Path,
                                                                capsys: Any) -> None:
    folder = _two_mines(tmp_path / "ds")
    values = _truth(folder, KNOBS, [1.7, 2.3, 95.0])
    targets = "\n".join(
        f'[[calibration.targets]]\nmetric = "{m}"\nvalue = {v!r}\nband = {abs(v) * 0.05!r}'
        for m, v in zip(METRICS, values.tolist(), strict=True))
    knobs = "\n".join(
        f'[[calibration.knobs]]\nname = "{k["name"]}"\ninputs = {k["inputs"]!r}\n'
        f'mode = "{k.get("mode", "scale")}"\nbounds = {k["bounds"]!r}'.replace("'", '"')
        for k in KNOBS)
    run_file = tmp_path / "cal.toml"
    run_file.write_text(f'name = "cal"\ndataset = "{folder}"\n{knobs}\n{targets}\n',
                        encoding="utf-8")
    dest = tmp_path / "calibrated"
    assert main(["calibrate", str(run_file), "--out", str(tmp_path / "out"), "--apply",
                 str(dest), "--quiet"]) == 0
    knob_table = pd.read_csv(tmp_path / "out" / "calibration.csv")
    assert list(knob_table.columns[:5]) == ["knob", "value", "low", "high", "at_bound"]
    got = pd.read_csv(tmp_path / "out" / "calibration_targets.csv")
    assert got["holds"].all()
    mines = pd.read_csv(dest / "mines.csv")
    orig = pd.read_csv(folder / "mines.csv")
    np.testing.assert_allclose(mines["stripping_ratio"], orig["stripping_ratio"] * 1.7,
                               rtol=1e-6)
    assert (dest / "countries.csv").read_bytes() == (folder / "countries.csv").read_bytes()
    # the copy's nominal model gives the achieved values (checked by the command too)
    ds = load_dataset(dest)
    model = build_model(ds)
    g, s, r, glob = (a[None] for a in (model.nominal_grade, model.nominal_stripping,
                                        model.nominal_recovery, model.nominal_globals))
    y = evaluate_reference(model, g, s, r, glob)[0]
    names = list(model.metric_names)
    np.testing.assert_allclose([y[names.index(m)] for m in METRICS], got["achieved"],
                               rtol=1e-8)
    # a folder that holds files is refused, in one line
    capsys.readouterr()
    assert main(["calibrate", str(run_file), "--out", str(tmp_path / "out"), "--apply",
                 str(dest), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "new or empty folder" in err


def test_apply_refuses_a_value_filled_on_import(tmp_path: Path) -> None:
    folder = _two_mines(tmp_path / "ds")
    rows = pd.read_csv(folder / "mines.csv", dtype=str, keep_default_na=False)
    rows.loc[1, "stripping_ratio"] = ""  # filled from the archetype
    rows.to_csv(folder / "mines.csv", index=False)
    knobs = [{"name": "strip", "inputs": ["stripping_ratio[CU-CHN-*]"], "bounds": [0.5, 3.0],
              "start": 2.0}]
    cal = calibrate(_run(folder, knobs, [{"metric": "hidden_flows_mt", "value": 1.0,
                                          "band": 0.5}]), profiles=False)
    with pytest.raises(UserError, match=r"row 3 .*column 'stripping_ratio': blank"):
        calibrated_tables(cal)


RUN_HEAD = 'name = "cal"\ndataset = "{ds}"\n[[scenarios]]\nname = "clean"\nclean_energy_factor = 0.0\n'
KNOB = ('[[calibration.knobs]]\nname = "k"\ninputs = ["{inputs}"]\nbounds = {bounds}\n')
TARGET = '[[calibration.targets]]\nmetric = "{metric}"\nvalue = 1.0\nband = {band}\n{extra}'


@pytest.mark.parametrize(("knob", "target", "message"), [
    ({"inputs": "stripping_ratio[XX-*]"}, {}, "matches no input"),
    ({"inputs": "sys_grade[copper]"}, {}, "systematic factor"),
    ({"bounds": "[2.0, 1.0]"}, {}, "low must be below high"),
    ({}, {"metric": "hidden_flowz"}, "names no metric"),
    ({}, {"extra": 'scenario = "nope"\n'}, "names no [[scenarios]]"),
    ({}, {"band": "0"}, "band"),
    ({}, {"band": "[1.0, 1.0]"}, "low must be below high"),
    ({}, {"band": "[1.0, 2.0]"}, "strictly inside"),
    ({}, {"extra": 'scenario = ["clean"]\n'}, "names no [[scenarios]]"),
    ({"inputs": "recovery[*]", "bounds": "[0.5, 1.5]"}, {}, "outside [0, 1]"),
    ({"inputs": "battery_kwh[bev]", "bounds": "[0.5, 2.0]"}, {}, "outside [10, 30]"),
    ({"inputs": "supply[copper,*]", "bounds": "[0.5, 1.0]"}, {}, "every share"),
])
def test_bad_calibration_input_exits_2_in_one_line(tmp_path: Path, capsys: Any,
                                                     knob: dict[str, str],
                                                     target: dict[str, str],
                                                     message: str) -> None:
    folder = _two_mines(tmp_path / "ds")
    k = {"inputs": "grid_hf_kg_per_kwh", "bounds": "[0.5, 2.0]", **knob}
    t = {"metric": "hidden_flows_mt", "band": "0.1", "extra": "", **target}
    path = tmp_path / "bad.toml"
    path.write_text(RUN_HEAD.format(ds=folder) + KNOB.format(**k) + TARGET.format(**t),
                    encoding="utf-8")
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and str(path) in err and message in err, err
    assert not (tmp_path / "out" / "calibration.csv").exists()


def test_a_run_without_calibration_is_refused(tmp_path: Path) -> None:
    folder = _two_mines(tmp_path / "ds")
    run = parse_run({"name": "x", "dataset": str(folder)}, file="x.toml")
    with pytest.raises(ConfigError, match=r"key 'calibration': needs at least one knob"):
        calibrate(run)


def test_concentrate_richer_than_its_mineral_is_refused(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", mines={(0, "conc_grade"): "0.85"})
    with pytest.raises(DataValidationError) as exc:
        load_dataset(folder)
    msg = str(exc.value)
    assert "mines.csv: row 2 (mine_id=CU-CHL-001), column 'conc_grade'" in msg
    assert "0.7986" in msg and "chalcocite" in msg and "0.85" in msg


def test_the_default_dataset_holds_its_calibration(default_dataset: Any) -> None:
    """The shipped calibration tables are what the shipped data gives at nominal inputs,
    no knob moved."""
    from dataclasses import replace

    from uncertainty.calibration import nominal_targets
    from uncertainty.config import load_run
    from uncertainty.resources import default_run

    folder = Path(default_dataset.path)
    targets = pd.read_csv(folder / "calibration_targets.csv")
    run = load_run(default_run())
    shipped = replace(run, dataset=folder)
    ds, model = model_for(shipped)
    np.testing.assert_allclose(nominal_targets(shipped, ds, model), targets["achieved"],
                               rtol=1e-8)
    assert list(targets["target"]) == [t.name for t in run.calibration.targets]


def test_the_default_run_file_reproduces_the_shipped_calibration(tmp_path: Path) -> None:
    """``uncertainty calibrate runs/china-2019.toml --apply DIR`` fits the uncalibrated
    ``distributions/curated/`` and writes exactly the shipped tables."""
    from uncertainty.resources import default_dataset, default_run

    out, dest = tmp_path / "out", tmp_path / "calibrated"
    assert main(["calibrate", str(default_run()), "--out", str(out), "--apply", str(dest),
                 "--quiet"]) == 0
    shipped = default_dataset()
    for name in ("calibration.csv", "calibration_targets.csv", "calibration_conflicts.csv"):
        assert (out / name).read_bytes() == (shipped / name).read_bytes(), name
    for f in sorted(dest.glob("*.csv")):
        assert f.read_bytes() == (shipped / f.name).read_bytes(), f.name


def test_a_scenario_keeps_the_inputs_it_overrides(tmp_path: Path) -> None:
    """A knob moves the baseline's grid hidden flow; a scenario that fixes it (at the
    dataset's own value) keeps its value, so the scenario is the baseline at 1.5."""
    folder = _two_mines(tmp_path / "ds")
    grid = [{"name": "grid", "inputs": ["grid_hf_kg_per_kwh"], "mode": "set",
             "bounds": [0.5, 5.0]}]
    run = _run(folder, grid, [{"scenario": "fixed", "value": -0.1, "band": 0.05}],
               scenarios=[{"name": "fixed", "overrides": {"grid_hf_kg_per_kwh": 1.5}}])
    ds, model = model_for(run)
    p = CalibrationProblem(run, ds, model)
    hf = list(model.metric_names).index("hidden_flows_mt")
    moved = p.metrics(np.array([3.0]))
    assert moved["fixed"][hf] == pytest.approx(p.metrics(np.array([1.5]))["<baseline>"][hf],
                                               rel=1e-12)
    assert moved["<baseline>"][hf] > moved["fixed"][hf]


def test_a_knob_on_an_overridden_input_or_a_site_follower_is_refused(tmp_path: Path) -> None:
    folder = _two_mines(tmp_path / "ds")
    grid = [{"name": "grid", "inputs": ["grid_hf_kg_per_kwh"], "mode": "set",
             "bounds": [0.5, 5.0]}]
    target = [{"metric": "hidden_flows_mt", "value": 1.0, "band": 0.5}]
    run = _run(folder, grid, target, overrides={"grid_hf_kg_per_kwh": 2.0})
    with pytest.raises(ConfigError, match=r"which the run's \[overrides\] sets"):
        calibrate(run)
    from data.test_sites import site_tables

    sites = write_dataset(tmp_path / "sites", **site_tables())
    follower = [{"name": "zn", "inputs": ["stripping_ratio[S1-ZN]"], "bounds": [0.5, 2.0]}]
    with pytest.raises(ConfigError, match=r"co-product row .* lead row 'stripping_ratio"
                                          r"\[S1-CU\]'"):
        calibrate(_run(sites, follower, target))


def test_apply_rewrites_the_free_shares_of_a_moved_group(tmp_path: Path) -> None:
    t = base_tables()
    third = dict(MINE, mine_id="CU-PER-001", country="PER", grade="0.008")
    t["countries"].append({"iso3": "PER", "name": "Peru"})
    t["supply"] = [{"metal": "copper", "country": c, "share": s, "concentration": "100"}
                   for c, s in (("CHL", "0.6"), ("CHN", "0.3"), ("PER", "0.1"))]
    second = dict(MINE, mine_id="CU-CHN-001", country="CHN", grade="0.006")
    folder = write_dataset(tmp_path / "ds", mines=[MINE, second, third],
                           countries=t["countries"], supply=t["supply"])
    knobs = [{"name": "chn", "inputs": ["supply[copper,CHN]"], "mode": "set",
              "bounds": [0.1, 0.6]}]
    probe = _run(folder, knobs, [{"metric": "hidden_abroad_share", "value": 0.5,
                                  "band": 0.4}])
    ds, model = model_for(probe)
    truth = float(CalibrationProblem(probe, ds, model).achieved(np.array([0.5]))[0])
    run = _run(folder, knobs, [{"metric": "hidden_abroad_share", "value": truth,
                                "band": 0.01}])
    cal = calibrate(run, profiles=False)
    assert cal.values["chn"] == pytest.approx(0.5, rel=1e-6)
    supply = calibrated_tables(cal)["supply.csv"].set_index("country")["share"].astype(float)
    # CHN pinned at the fit, CHL and PER keep their 6:1 proportion and the sum is 1
    assert supply["CHN"] == pytest.approx(0.5, rel=1e-6)
    assert supply["CHL"] / supply["PER"] == pytest.approx(6.0, rel=1e-9)
    assert supply.sum() == pytest.approx(1.0, abs=1e-9)
