"""Sobol indices by provenance: group first-order indices are variance shares, the
``provenance`` level's factors partition the uncertain inputs, and a dataset that states
no provenance is refused with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MINE, write_dataset
from provdata import write_provenance_dataset

from uncertainty import dists
from uncertainty.data import load_dataset
from uncertainty.model import build_model
from uncertainty.report import html
from uncertainty.report.results import Results
from uncertainty.report.tables import provenance_table
from uncertainty.sensitivity import factors, sobol_indices
from uncertainty.sensitivity import tmr as tmrsobol
from uncertainty.space import build_space


@pytest.fixture(scope="module")
def prov_ds(tmp_path_factory):
    return load_dataset(write_provenance_dataset(tmp_path_factory.mktemp("prov")))


@pytest.fixture(scope="module")
def prov_space(prov_ds):
    return build_space(None, prov_ds, build_model(prov_ds))


def test_group_first_order_indices_are_the_analytic_variance_shares():
    """Y = a + b + 2 c + d e: the groups {a, b}, {c} and {d, e} have variance shares
    2/10, 4/10 and 4/10 (d, e independent, mean 0, sd 1: V(d e) = 1; scaled by 2 below).
    A group's S1 is its share of the variance (additive model: S1 = ST)."""
    params = {k: dists.Normal(0.0, 1.0) for k in "abcde"}

    def f(x):
        a, b, c, d, e = x.T
        return a + b + 2.0 * c + 2.0 * d * e

    groups = {"ab": ["a", "b"], "c": ["c"], "de": ["d", "e"]}
    res = sobol_indices(f, params, 4096, seed=11, groups=groups)
    want = {"ab": 0.2, "c": 0.4, "de": 0.4}
    for j, g in enumerate(res.factors):
        s1, conf = res.S1[0, j], res.S1_conf[0, j]
        assert abs(s1 - want[g]) <= max(conf, 0.01), (g, s1, conf)
        assert abs(res.ST[0, j] - want[g]) <= max(res.ST_conf[0, j], 0.01)
    assert res.S1[0].sum() == pytest.approx(1.0, abs=0.05)


def test_provenance_level_partitions_the_uncertain_inputs(prov_space):
    space = prov_space
    fac = factors.factors_for(space, "provenance")
    cols = np.concatenate(fac.columns)
    assert len(cols) == len(set(cols.tolist()))
    np.testing.assert_array_equal(np.sort(cols), np.flatnonzero(factors._uncertain(space)))
    t = space.table
    groups = {n: c for n, c in zip(fac.names, fac.columns, strict=True)
              if n.startswith("per-site: ")}
    assert set(groups) == {"per-site: reported", "per-site: other_year", "per-site: imputed",
                           "per-site: synthetic"}
    for name, c in groups.items():
        assert set(t["provenance"].iloc[c]) == {name.removeprefix("per-site: ")}
        assert set(t["level"].iloc[c]) == {"mine"}
    imputed = set(t["name"].iloc[groups["per-site: imputed"]])
    assert imputed == {"grade[CU-CHL-000]", "stripping_ratio[CU-CHL-000]",
                       "recovery[CU-CHL-000]"}
    assert set(t["name"].iloc[groups["per-site: other_year"]]) == {"grade[CU-CHL-001]"}
    # systematic and global inputs stay individual factors, as at the other levels
    singles = [n for n in fac.names if not n.startswith("per-site: ")]
    assert "grid_hf_kg_per_kwh" in singles and "sys_grade[copper]" in singles
    assert "provenance" in tmrsobol.LEVELS


def test_sobol_by_provenance(prov_ds):
    res = tmrsobol.sobol(prov_ds, 256, seed=2, by=("provenance", "mine"),
                         metrics=["hidden_flows_mt"])
    f = res.frame[res.frame["level"] == "provenance"].set_index("factor")
    assert f.loc["per-site: imputed", "ST"] > f.loc["per-site: reported", "ST"]
    # the imputed group is exactly the dominant mine's parameters: the same factor as the
    # mine level's, evaluated once, with the same total-order index
    m = res.frame[res.frame["level"] == "mine"].set_index("factor")
    assert f.loc["per-site: imputed", "ST"] == pytest.approx(m.loc["CU-CHL-000", "ST"],
                                                             rel=1e-12)


def test_a_dataset_without_provenance_is_refused(tmp_path):
    ds = load_dataset(write_dataset(tmp_path / "tiny"))  # mines.csv has no *_source column
    assert not factors.has_provenance(ds)
    with pytest.raises(factors.ProvenanceError) as exc:
        tmrsobol.sobol(ds, 64, seed=1, by="provenance")
    msg = str(exc.value)
    assert msg == (f"level 'provenance' needs the provenance columns grade_source, "
                   f"stripping_source, recovery_source in mines.csv (dataset {ds.path} has "
                   "none)")
    assert "\n" not in msg
    # the other levels do not need provenance
    tmrsobol.sobol(ds, 64, seed=1, by="systematic", metrics=["hidden_flows_mt"])


def test_a_space_without_provenance_tags_is_refused(prov_space):
    t = prov_space.table.copy()
    t["provenance"] = ""
    bare = type(prov_space)(**{**prov_space.__dict__, "table": t})
    with pytest.raises(factors.ProvenanceError, match="needs the provenance of every per-site"):
        factors.factors_for(bare, "provenance")


def test_has_provenance(prov_ds, tmp_path):
    assert factors.has_provenance(prov_ds)
    one = write_dataset(tmp_path / "one", mines=[{**MINE, "grade_source": "reported"}])
    assert factors.has_provenance(load_dataset(one))


def test_the_report_states_the_provenance_shares(prov_ds):
    res = tmrsobol.sobol(prov_ds, 64, seed=2, by="provenance", metrics=["hidden_flows_mt"])
    empty = pd.DataFrame()
    results = Results(Path("out"), {}, empty, empty, empty, sobol=res.frame)
    t = provenance_table(results)
    assert {r[1] for r in t.rows} == {"reported", "other_year", "imputed", "synthetic"}
    text = "\n".join(html._provenance_html(results))
    assert "Uncertainty by provenance" in text and "imputed values S<sub>1</sub>" in text
