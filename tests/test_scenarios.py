"""Scenarios on common random numbers: study reductions, paired intervals, overrides.

Tolerances: reductions at nominal inputs are deterministic (the study's ranges);
Monte Carlo checks use seeded samples and compare exact quantities (bit-identical
samples where an input is untouched) or widths that differ by a large factor.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uncertainty import cli, scenarios
from uncertainty.config import load_run, parse_run
from uncertainty.data import load_dataset
from uncertainty.pipeline import run_deterministic, run_full
from uncertainty.scenarios import BASELINE, compare, paired_samples, reduction
from uncertainty.space import SpaceError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUN = REPO / "runs" / "china-2019.toml"
N = 2000  # Monte Carlo samples for the seeded checks (a few seconds)


@pytest.fixture(scope="module")
def study_run():
    """The default run file (three study scenarios), sensitivity off."""
    run = load_run(DEFAULT_RUN)
    return replace(run, sensitivity=replace(run.sensitivity, enabled=False))


@pytest.fixture(scope="module")
def study_table(study_run) -> pd.DataFrame:
    """scenarios table of the default run from N paired samples."""
    t = compare(study_run, N)
    return t[t.metric == "hidden_flows_mt"].set_index("scenario")


def _hf(table: pd.DataFrame, name: str) -> pd.Series:
    return table.loc[name]


def test_study_scenarios_are_the_default_runs(study_table):
    assert list(study_table.index) == ["recycled-copper", "lfp", "clean-energy"]


def test_recycled_copper_reduction(study_table):
    """The study: -35% (+-3 points); nominal -36.3%, MC mean about -35.5%."""
    r = _hf(study_table, "recycled-copper")
    assert -0.38 <= r.reduction_nominal <= -0.32, r.reduction_nominal
    assert -0.38 <= r.reduction_mean <= -0.32, r.reduction_mean
    assert r.reduction_p2_5 < r.reduction_mean < r.reduction_p97_5 < 0


def test_clean_energy_reduction(study_table):
    """The study: -13 to -14% at nominal (measured -13.75%); the MC mean is larger
    (about -14.7%: the energy share of hidden flows is right-skewed), reported, not forced."""
    r = _hf(study_table, "clean-energy")
    assert -0.145 <= r.reduction_nominal <= -0.13, r.reduction_nominal
    assert -0.17 <= r.reduction_mean <= -0.13, r.reduction_mean
    assert r.reduction_p2_5 < r.reduction_mean < r.reduction_p97_5 < 0


def test_lfp_reduction_is_small_and_negative(study_table):
    """Known gap: -2.6..-2.9% of total hidden flows, just outside the study's -3..-12%
    (tests/test_model.py holds the strict xfail); here only its sign and interval."""
    r = _hf(study_table, "lfp")
    assert -0.03 < r.reduction_nominal < -0.02, r.reduction_nominal
    assert r.reduction_p2_5 < r.reduction_mean < r.reduction_p97_5 < 0


def test_paired_interval_narrower_than_unpaired(study_run):
    """Common random numbers: the paired 95% interval of the reduction is much narrower
    than the one from two independent runs (baseline seed s, scenario seed s + 1)."""
    seed = study_run.montecarlo.seed
    m = ["hidden_flows_mt"]
    same = paired_samples(study_run, N, seed=seed, metrics=m)
    other = paired_samples(study_run, N, seed=seed + 1, metrics=m)
    base = same[BASELINE]["hidden_flows_mt"].to_numpy()
    for name in ("recycled-copper", "lfp", "clean-energy"):
        paired = np.quantile(reduction(base, same[name]["hidden_flows_mt"]), [0.025, 0.975])
        unpaired = np.quantile(reduction(base, other[name]["hidden_flows_mt"]),
                               [0.025, 0.975])
        # the same comparison as "difference of two independent 95% intervals"
        qb = np.quantile(base, [0.025, 0.975])
        qx = np.quantile(other[name]["hidden_flows_mt"], [0.025, 0.975])
        naive = (qx[1] - qb[0]) / qb.mean() - (qx[0] - qb[1]) / qb.mean()
        w_p, w_u = paired[1] - paired[0], unpaired[1] - unpaired[0]
        assert w_p < 0.6 * w_u, (name, w_p, w_u)
        assert w_p < 0.6 * naive, (name, w_p, naive)


def _run_with(scen: list[dict], samples: int = 1000) -> object:
    return parse_run({"name": "t", "dataset": str(REPO / "distributions"),
                      "montecarlo": {"samples": samples, "chunk_size": 400},
                      "sensitivity": {"enabled": False}, "scenarios": scen},
                     file="t.toml", base=REPO)


def test_override_scenario_uses_the_same_random_numbers():
    """An override changes only its input: metrics that do not depend on the grid's hidden
    flow per kWh are bit-identical sample by sample, and overriding an input with its own
    distribution reproduces the baseline exactly."""
    ds = load_dataset(REPO / "distributions")
    grid, gsd = ds.global_value("grid_hf_kg_per_kwh"), ds.global_gsd("grid_hf_kg_per_kwh")
    run = _run_with([
        {"name": "grid", "overrides": {
            "grid_hf_kg_per_kwh": {"dist": "lognormal", "median": 0.5, "gsd": 1.6}}},
        {"name": "same", "overrides": {
            "grid_hf_kg_per_kwh": {"dist": "lognormal", "median": grid, "gsd": gsd}}},
    ])
    s = paired_samples(run, 300, metrics=["used_extraction_mt", "material_in_cars_mt",
                                          "hidden_flows_mt"])
    b = s[BASELINE]
    for m in ("used_extraction_mt", "material_in_cars_mt"):
        np.testing.assert_array_equal(s["grid"][m].to_numpy(), b[m].to_numpy())
    assert (s["grid"]["hidden_flows_mt"] < b["hidden_flows_mt"]).all()  # median 0.5 < grid
    pd.testing.assert_frame_equal(s["same"], b, check_exact=True)


def test_unknown_override_raises_before_compute():
    run = _run_with([{"name": "bad", "overrides": {"no_such_input": 1.0}}])
    with pytest.raises(SpaceError, match=r"t\.toml: override names an unknown input "
                                         r"'no_such_input'"):
        paired_samples(run, 10)


def test_unknown_override_cli_exit_2_writes_nothing(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text(f'name = "bad"\ndataset = "{REPO / "distributions"}"\n'
                 '[montecarlo]\nsamples = 100\n[sensitivity]\nenabled = false\n'
                 '[[scenarios]]\nname = "x"\n'
                 'overrides = { grid_hf_per_kwh = {dist = "fixed", value = 0.1} }\n')
    out = tmp_path / "out"
    assert cli.main(["run", str(f), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "unknown input 'grid_hf_per_kwh'" in err
    assert not out.exists()


def test_pipeline_scenarios_csv_matches_in_memory(tmp_path):
    """scenarios.csv of a chunked, stored run = the in-memory table (same seed, n)."""
    run = _run_with([{"name": "copper", "recycled_copper_share": 1.0},
                     {"name": "grid", "overrides": {
                         "grid_hf_kg_per_kwh": {"dist": "lognormal", "median": 0.5,
                                                "gsd": 1.6}}}])
    run_full(run, tmp_path, quiet=True)
    stored = pd.read_csv(tmp_path / "scenarios.csv")
    assert list(stored.columns) == list(scenarios.SCENARIO_COLUMNS)
    mem = compare(run, run.montecarlo.samples, chunk_size=256)
    pd.testing.assert_frame_equal(stored, mem, check_exact=False, rtol=1e-15)
    det = tmp_path / "det"
    run_deterministic(run, det)
    nom = pd.read_csv(det / "scenarios.csv").set_index(["scenario", "metric"])
    mem = mem.set_index(["scenario", "metric"])
    np.testing.assert_allclose(nom.loc[mem.index, "reduction_nominal"],
                               mem.reduction_nominal, rtol=1e-12)
    assert nom.reduction_mean.isna().all()
