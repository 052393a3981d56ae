"""Data-collection priorities: the units, the ranking, the table, the proof and the CLI.

The dataset (:mod:`provdata`): one dominant copper mine whose values are all imputed,
one with an other-year grade, three reported mines and two synthetic rows for Peru.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import MINE, write_dataset
from provdata import run_file, write_provenance_dataset

from uncertainty import outputs
from uncertainty.cli import main
from uncertainty.config import load_run
from uncertainty.data import load_dataset
from uncertainty.model import build_model
from uncertainty.sensitivity import priorities as pr
from uncertainty.sensitivity.factors import ProvenanceError
from uncertainty.space import build_space


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_provenance_dataset(tmp_path_factory.mktemp("prov") / "data")


@pytest.fixture(scope="module")
def ds(folder):
    return load_dataset(folder)


@pytest.fixture(scope="module")
def result(ds):
    return pr.data_priorities(ds, 1024, seed=3, metrics=["hidden_flows_mt", "hidden_abroad_share"])


def cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_units(ds):
    units = pr.priority_units(build_space(None, ds, build_model(ds)))
    t = units.table.set_index("id")
    assert list(t.index) == ["CU-CHL-000", "CU-CHL-001", "copper,PER"]  # no reported site
    assert list(t["unit"]) == ["site", "site", "metal-country"]
    assert list(t["provenance"]) == ["imputed", "other_year", "synthetic"]
    assert units.groups["site CU-CHL-000"] == ["grade[CU-CHL-000]", "stripping_ratio[CU-CHL-000]",
                                               "recovery[CU-CHL-000]"]
    assert units.groups["site CU-CHL-001"] == ["grade[CU-CHL-001]"]  # its reported values stay out
    assert len(units.groups["synthetic copper,PER"]) == 6
    assert t.loc["copper,PER", "metal"] == "copper" and t.loc["copper,PER", "country"] == "PER"


def test_the_dominant_imputed_mine_ranks_first(result):
    f = result.frame
    assert tuple(f.columns) == pr.COLUMNS == outputs.PRIORITIES.columns
    assert list(f["metric"]) == sorted(f["metric"])  # by metric, then rank
    for _m, g in f.groupby("metric"):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert (np.diff(g["variance_reduction"].to_numpy()) <= 0).all()
    hf = result.top("hidden_flows_mt")
    first = hf.iloc[0]
    assert (first["id"], first["unit"], first["provenance"]) == ("CU-CHL-000", "site", "imputed")
    assert first["variance_reduction"] - first["variance_reduction_conf"] > \
        hf.iloc[1]["variance_reduction"] + hf.iloc[1]["variance_reduction_conf"]
    s1 = np.clip(f["variance_reduction"].to_numpy(), 0, 1)
    np.testing.assert_allclose(f["interval_width_reduction"], 1 - np.sqrt(1 - s1), rtol=1e-12)
    # the variance reduction is the first-order index of the unit's group
    sob = result.sobol.frame
    row = sob[(sob.metric == "hidden_flows_mt") & (sob.factor == "site CU-CHL-000")].iloc[0]
    assert first["variance_reduction"] == row["S1"]
    assert first["variance_reduction_conf"] == row["S1_conf"]


def test_interval_width_reduction_clips():
    np.testing.assert_allclose(pr.interval_width_reduction([-0.1, 0.0, 0.75, 1.2]),
                               [0.0, 0.0, 0.5, 1.0])


def test_no_units_gives_an_empty_table(tmp_path):
    reported = {"grade_source": "reported", "stripping_source": "reported",
                "recovery_source": "reported", "synthetic": "false"}
    ds = load_dataset(write_dataset(tmp_path, mines=[{**MINE, **reported}]))
    res = pr.data_priorities(ds, 64, seed=1)
    assert res.sobol is None and len(res.frame) == 0
    assert tuple(res.frame.columns) == pr.COLUMNS


def test_priorities_refuse_a_dataset_without_provenance(tmp_path):
    ds = load_dataset(write_dataset(tmp_path))
    with pytest.raises(ProvenanceError, match=r"^the data-collection priority list needs the "
                       r"provenance columns grade_source, stripping_source, recovery_source "
                       r"in mines.csv \(dataset .* has none\)$"):
        pr.data_priorities(ds, 64, seed=1)


# ------------------------------------------------------------------------ the proof
def test_proof_observed_reduction_matches_the_prediction(ds, result):
    """Measured exactly, the site's variance reduction averages to its S1 (law of total
    variance); measured with the reported-level spread it is systematically smaller."""
    p = pr.proof(ds, 1, seed=5, samples=10_000, n_draws=8, table=result.frame)
    assert tuple(p.columns) == pr.PROOF_COLUMNS
    r = p.iloc[0]
    assert r["site"] == "CU-CHL-000" and r["n_draws"] == 8
    assert r["predicted"] == result.top("hidden_flows_mt").iloc[0]["variance_reduction"]
    tol = math.sqrt(r["predicted_conf"] ** 2 + (1.96 * r["observed_se"]) ** 2)
    assert abs(r["observed"] - r["predicted"]) <= tol
    assert bool(r["agrees"])
    assert r["observed_reported"] < r["observed"]  # the residual spread stays


def test_measured_override(ds):
    space = build_space(None, ds, build_model(ds))
    j = space.names.index("grade[CU-CHL-000]")
    assert pr.measured_override(space, j, 0.01, residual=False) == {"dist": "fixed",
                                                                    "value": 0.01}
    d = pr.measured_override(space, j, 0.01)
    assert d["dist"] == "lognormal" and d["gsd"] == pytest.approx(math.exp(0.12))
    j = space.names.index("recovery[CU-CHL-000]")
    assert pr.measured_override(space, j, 0.9)["dist"] == "truncnormal"


# -------------------------------------------------------------------------- the CLI
def test_cli_priorities_writes_the_table(tmp_path, folder, capsys):
    run = run_file(tmp_path, folder)
    code, _out, err = cli(["priorities", run, "--base-samples", "128", "--out",
                          tmp_path / "p", "--quiet"], capsys)
    assert code == 0, err
    f = pd.read_csv(tmp_path / "p" / "priorities.csv")
    assert tuple(f.columns) == outputs.PRIORITIES.columns
    assert set(f["metric"]) == {"hidden_flows_mt", "hidden_to_material_ratio"}
    assert not (tmp_path / "p" / "proof.csv").exists()


@pytest.mark.parametrize("case", ["disabled", "no-provenance", "sobol-by-provenance",
                                  "bad-n", "bad-draws"])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, folder, capsys, case):
    out = tmp_path / "out"
    if case == "disabled":
        args = ["priorities", run_file(tmp_path, folder, enabled=False), "--out", out]
        want = "key 'sensitivity.enabled': data-collection priorities are a sensitivity"
    elif case == "no-provenance":
        args = ["priorities", run_file(tmp_path, write_dataset(tmp_path / "bare")), "--out", out]
        want = "the data-collection priority list needs the provenance columns"
    elif case == "sobol-by-provenance":
        args = ["sobol", run_file(tmp_path, write_dataset(tmp_path / "bare")), "--by",
                "provenance", "--base-samples", "64", "--out", out]
        want = "level 'provenance' needs the provenance columns grade_source"
    elif case == "bad-n":
        args = ["priorities", run_file(tmp_path, folder), "--base-samples", "100", "--out", out]
        want = "option '--base-samples': must be a power of 2"
    else:
        args = ["priorities", run_file(tmp_path, folder), "--proof", "1", "--draws", "6",
                "--out", out]
        want = "option '--draws': must be a power of 2, at least 2"
    code, stdout, err = cli(args, capsys)
    assert code == 2
    assert err.startswith("error: ") and want in err and err.count("\n") == 1, err
    assert "Traceback" not in err and stdout == ""
    assert not out.exists()


def test_run_writes_priorities(tmp_path, folder, capsys):
    run = run_file(tmp_path, folder, samples=500, n_base=64)
    out = tmp_path / "out"
    code, _o, err = cli(["run", run, "--out", out, "--quiet"], capsys)
    assert code == 0, err
    f = pd.read_csv(out / outputs.PRIORITIES.name)
    assert tuple(f.columns) == outputs.PRIORITIES.columns
    assert set(f["metric"]) == {"hidden_flows_mt", "hidden_to_material_ratio"}


@pytest.mark.slow
def test_report_shows_priorities_and_the_proof(tmp_path, folder, capsys):
    run = run_file(tmp_path, folder, samples=2000, n_base=128, report=True)
    out = tmp_path / "out"
    code, _o, err = cli(["run", run, "--out", out, "--quiet"], capsys)
    assert code == 0, err
    f = pd.read_csv(out / outputs.PRIORITIES.name)
    assert f[f.metric == "hidden_flows_mt"].iloc[0]["id"] == "CU-CHL-000"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "What to measure next" in page and "figures/priorities_hidden_flows_mt.png" in page
    assert "no proof.csv" in page
    # the proof, written by `uncertainty priorities --proof`, rebuilds the report
    code, _o, err = cli(["priorities", run, "--out", out, "--proof", "1", "--samples", "2000",
                         "--draws", "4", "--quiet"], capsys)
    assert code == 0, err
    p = pd.read_csv(out / outputs.PROOF.name)
    assert tuple(p.columns[:6]) == outputs.PROOF.columns and p["site"].tolist() == ["CU-CHL-000"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="proof"' in page and (out / "tables" / "priorities.md").is_file()


def test_load_run_of_the_helper(tmp_path, folder):
    assert load_run(run_file(tmp_path, folder)).sensitivity.enabled
