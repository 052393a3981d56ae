"""Tests of uncertainty.space: the default parameter space, overrides, nominal values
and the Gaussian copula between a mine's grade and stripping ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sc
from conftest import DEFAULT_DATASET, write_dataset
from layout import documented_parameter_indices
from scipy import stats

from uncertainty import dists
from uncertainty.config import parse_run
from uncertainty.data import load_dataset
from uncertainty.model import build_model, nominal_inputs
from uncertainty.space import KINDS, SpaceError, build_space


def run_with(**data):
    """A RunConfig on the default dataset with the given top-level sections."""
    return parse_run({"name": "space", "dataset": str(DEFAULT_DATASET), **data})


@pytest.fixture(scope="module")
def model(default_dataset):
    return build_model(default_dataset)


@pytest.fixture(scope="module")
def space(default_dataset, model):
    return build_space(None, default_dataset, model)


# --------------------------------------------------------------------- the default
def test_default_space_levels_and_counts(default_dataset, model, space):
    t = default_dataset.tables
    n_metals, n_vehicles = len(t["metals"]), len(t["fleet"])
    assert (n_metals, space.n_mines) == (11, 1784)
    n_global = (len(t["supply"]) + n_metals + 3 + n_vehicles * n_metals + n_vehicles
                + len(t["battery_mix"]) + n_vehicles)
    counts = space.table.level.value_counts().to_dict()
    assert counts == {"mine": 3 * 1784, "systematic": 3 * 11, "global": n_global}
    assert space.n_params == 3 * 1784 + 3 * 11 + n_global
    assert space.n_globals == 3 * 11 + n_global == len(model.global_names)
    assert list(space.names[:space.n_globals]) == list(model.global_names)
    assert space.mine_call0 == math.ceil(space.n_globals / 3)
    np.testing.assert_array_equal(space.parameter_indices(),
                                  documented_parameter_indices(space.n_globals, space.n_mines))


def test_default_space_names_unique_and_laid_out(model, space):
    names = space.names
    assert len(set(names)) == len(names)
    mine_rows = space.table.iloc[space.n_globals:]
    assert list(mine_rows.kind) == list(KINDS) * space.n_mines
    expected = [f"{k}[{m}]" for m in model.mine_ids for k in KINDS]
    assert list(mine_rows.name) == expected
    assert (mine_rows.mine.to_numpy().reshape(-1, 3) == np.array(model.mine_ids)[:, None]).all()
    sys_rows = space.table[space.table.level == "systematic"]
    assert sorted(set(sys_rows.metal)) == sorted(model.metals)
    assert sorted(sys_rows.kind.value_counts().tolist()) == [11, 11, 11]
    groups = space.table.group[space.table.group != ""]
    assert set(groups) == {f"supply[{m}]" for m in model.metals} | {"battery_mix"}
    assert len(space.dists) == space.n_params


def test_nominal_inputs_reproduce_the_model(model, space):
    got = space.nominal_inputs(3)
    want = nominal_inputs(model, 3)
    for g, w, what in zip(got, want, ("grade", "stripping", "recovery", "globals"), strict=True):
        assert g.shape == w.shape, what
        np.testing.assert_array_equal(g, w, err_msg=what)


def test_per_mine_and_systematic_switches(default_dataset, model):
    sp = build_space(run_with(montecarlo={"per_mine": False, "systematic": False,
                                          "grade_stripping_correlation": 0.5}),
                     default_dataset, model)
    t = sp.table
    assert (t.family[t.level.isin(["mine", "systematic"])] == "fixed").all()
    assert (t.family[t.level == "global"] != "fixed").any()
    assert sp.correlation == 0.0  # nothing per-mine to correlate
    np.testing.assert_array_equal(sp.nominal, build_space(None, default_dataset, model).nominal)


def test_global_inputs_switch_fixes_every_global_at_nominal(default_dataset, model):
    """``global_inputs = false``: global rows Fixed at their nominal values (share groups
    at their shares, no Dirichlet left), per-mine and systematic rows untouched; an
    override still applies on top."""
    full = build_space(None, default_dataset, model)
    sp = build_space(run_with(montecarlo={"global_inputs": False}, overrides={
        "grid_hf_kg_per_kwh": {"dist": "lognormal", "median": 0.9, "gsd": 1.5}}),
        default_dataset, model)
    t = sp.table
    glob = (t.level == "global") & (t.name != "grid_hf_kg_per_kwh")
    assert (t.family[glob] == "fixed").all()
    assert [d.value for d, g in zip(sp.dists, glob, strict=True) if g] == \
        list(full.nominal[glob.to_numpy()])
    assert sp.dir_first.size == 0 and full.dir_first.size > 0
    assert sp.dists[sp.names.index("grid_hf_kg_per_kwh")] == dists.LogNormal(0.9, 1.5)
    rest = ~(t.level == "global").to_numpy()
    assert [sp.dists[j] for j in np.flatnonzero(rest)] == \
        [full.dists[j] for j in np.flatnonzero(rest)]


# ---------------------------------------------------------------------- overrides
def test_override_by_exact_name(default_dataset, model, space):
    sp = build_space(run_with(overrides={
        "grid_hf_kg_per_kwh": {"dist": "uniform", "low": 0.5, "high": 1.5},
        "battery_pack_factor": 1.3,
    }), default_dataset, model)
    j = sp.names.index("grid_hf_kg_per_kwh")
    assert sp.dists[j] == dists.Uniform(0.5, 1.5)
    assert sp.nominal[j] == pytest.approx(1.0)
    k = sp.names.index("battery_pack_factor")
    assert sp.dists[k] == dists.Fixed(1.3) and sp.nominal[k] == 1.3
    changed = [i for i in range(sp.n_params) if sp.dists[i] != space.dists[i]]
    assert changed == sorted([j, k])


@pytest.mark.parametrize(("pattern", "prefix"), [
    ("stripping_ratio[CU-*]", "stripping_ratio[CU-"),
    ("stripping_ratio[CU-CHL-*]", "stripping_ratio[CU-CHL-"),
    ("energy_kwh_per_t*", "energy_kwh_per_t["),
])
def test_override_by_pattern(default_dataset, model, space, pattern, prefix):
    d = {"dist": "lognormal", "median": 3.0, "gsd": 1.5}
    sp = build_space(run_with(overrides={pattern: d}), default_dataset, model)
    hits = [i for i, nm in enumerate(sp.names) if nm.startswith(prefix)]
    assert len(hits) >= 5
    assert all(sp.dists[i] == dists.LogNormal(3.0, 1.5) for i in hits)
    np.testing.assert_allclose(sp.nominal[hits], 3.0, rtol=1e-12)
    changed = [i for i in range(sp.n_params) if sp.dists[i] != space.dists[i]]
    assert set(changed) == set(hits)


def test_override_a_share_group_and_stats_arrays(default_dataset, model):
    mix = ["NMC111", "NMC532", "NMC622", "NMC811", "NCA", "LFP"]
    shares = [0.1, 0.1, 0.1, 0.1, 0.1, 0.5]
    sp = build_space(run_with(overrides={
        "battery_mix": {"dist": "dirichlet", "shares": shares, "concentration": 50},
        "coal_used_kg_per_kwh": {"uncertainty type": 2, "loc": math.log(0.4), "scale": 0.2},
    }), default_dataset, model)
    idx = [sp.names.index(f"battery_mix[{h}]") for h in mix]
    assert sp.nominal[idx].tolist() == shares
    np.testing.assert_allclose(sp.dir_alpha[idx], 50 * np.array(shares))
    j = sp.names.index("coal_used_kg_per_kwh")
    assert sp.dists[j] == dists.LogNormal(0.4, math.exp(0.2))


@pytest.mark.parametrize("name", ["no_such_input", "grade[XX-*]", "stripping_ratio[CU-CHL-999]"])
def test_unknown_override_names_it(default_dataset, model, name):
    with pytest.raises(SpaceError, match=name.replace("[", r"\[").replace("*", r"\*")):
        build_space(run_with(overrides={name: {"dist": "fixed", "value": 1.0}}),
                    default_dataset, model)


@pytest.mark.parametrize(("name", "spec", "match"), [
    ("grid_hf_kg_per_kwh", {"dist": "lognormal", "median": 1.0, "gsd": 0.5}, "gsd"),
    ("supply[copper,CHL]", {"dist": "fixed", "value": 0.3}, "share group"),
    ("battery_mix", {"dist": "dirichlet", "shares": [0.5, 0.5], "concentration": 5},
     "6 rows"),
    ("grid_hf_kg_per_kwh", {"dist": "dirichlet", "shares": [1.0], "concentration": 5},
     "share group"),
])
def test_invalid_overrides_raise_space_error(default_dataset, model, name, spec, match):
    with pytest.raises(SpaceError, match=match):
        build_space(run_with(overrides={name: spec}), default_dataset, model)


def test_transform_rejects_wrong_shape(space):
    with pytest.raises(ValueError, match="shape"):
        space.transform(np.full((2, space.n_params - 1), 0.5))


# ------------------------------------------------------- grade-stripping copula
@pytest.mark.parametrize("rho", [0.6, -0.5])
def test_grade_stripping_correlation(tmp_path, rho):
    """Gaussian copula: the normal scores of grade and stripping ratio correlate with
    rho, their Spearman correlation is (6 / pi) asin(rho / 2); n = 40,000, 4 SE."""
    ds = load_dataset(write_dataset(tmp_path))
    model = build_model(ds)
    run = parse_run({"name": "rho", "dataset": str(tmp_path),
                     "montecarlo": {"grade_stripping_correlation": rho}})
    sp = build_space(run, ds, model)
    assert sp.correlation == rho
    n = 40_000
    u = np.random.default_rng(1).random((n, sp.n_params))
    grade, strip, rec, _ = sp.transform(u)
    g, s = grade[:, 0], strip[:, 0]
    z_g = np.log(g / model.nominal_grade[0]) / math.log(1.1)
    z_s = np.log(s / model.nominal_stripping[0]) / math.log(1.2)
    np.testing.assert_allclose(z_g, sc.ndtri(u[:, sp.n_globals]), rtol=1e-9, atol=1e-12)
    pearson = float(np.corrcoef(z_g, z_s)[0, 1])
    spearman = float(stats.spearmanr(g, s).statistic)
    target = 6 / math.pi * math.asin(rho / 2)
    se = (1 - rho**2) / math.sqrt(n)
    assert abs(pearson - rho) < 4 * se
    assert abs(spearman - target) < 4 * 1.1 * (1 - target**2) / math.sqrt(n)
    assert float(stats.spearmanr(g, rec[:, 0]).statistic) == pytest.approx(0.0, abs=0.02)
    # the marginals are unchanged by the copula
    assert abs(np.median(z_s)) < 0.02 and abs(np.std(z_s) - 1) < 0.02
