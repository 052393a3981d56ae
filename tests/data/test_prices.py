"""Uncertain metal prices: the allocation of co-product sites per sample.

``metals.csv`` ``price_gsd`` makes each metal's price a LogNormal input
``price[<metal>]`` shared by every site; a site whose economic shares (or main product)
were computed from prices follows them sample by sample in every kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_dataset
from test_sites import CU_PRICE, RTOL, ZN_PRICE, check_ab_against_reference, site_tables

from uncertainty import dists, rng
from uncertainty.cli import main
from uncertainty.data import DataValidationError, load_dataset
from uncertainty.model import build_model, evaluate, evaluate_reference, mine_flows
from uncertainty.montecarlo import evaluate_chunk
from uncertainty.sensitivity.factors import factors_for
from uncertainty.space import build_space

CU_GSD, ZN_GSD = 1.2, 1.5


def priced_tables(cu: str = str(CU_GSD), zn: str = str(ZN_GSD)) -> dict:
    t = site_tables()
    for row, gsd in zip(t["metals"], (cu, zn), strict=True):
        row["price_gsd"] = gsd
    return t


def priced(tmp_path, **kw):
    return load_dataset(write_dataset(tmp_path, **priced_tables(**kw)))


def test_prices_are_inputs_only_where_a_site_follows_them(tmp_path, default_dataset):
    ds = priced(tmp_path)
    model = build_model(ds)
    space = build_space(None, ds, model)
    assert model.global_names[-2:] == ("price[copper]", "price[zinc]")
    d = space.dists[space.n_globals - 1]
    assert isinstance(d, dists.LogNormal)
    np.testing.assert_allclose([d.median, d.gsd], [ZN_PRICE, ZN_GSD])
    assert model.site_mode.tolist() == [1]
    assert build_model(ds, allocation="main-product").site_mode.tolist() == [2]
    assert build_model(ds, allocation="mass").site_mode.tolist() == [0]
    # the shipped dataset has price spreads but no co-product site: no price inputs
    assert not any(n.startswith("price[") for n in build_model(default_dataset).global_names)


@pytest.mark.parametrize("allocation", ["economic", "main-product"])
def test_allocation_per_sample_by_hand(tmp_path, allocation):
    """At set prices, each row's hidden flow follows the revenue shares, rtol 1e-12."""
    ds = priced(tmp_path)
    model = build_model(ds, allocation=allocation)
    x = [np.tile(v, (3, 1)) for v in (model.nominal_grade, model.nominal_stripping,
                                      model.nominal_recovery, model.nominal_globals)]
    po = model.offsets["price"]
    prices = np.array([[CU_PRICE, ZN_PRICE], [1000.0, 9000.0], [CU_PRICE * 3, 100.0]])
    x[3][:, po:po + 2] = prices
    g, r = np.array([0.01, 0.05]), np.array([0.9, 0.85])
    c, rho = np.array([0.25, 0.5]), np.array([0.95, 0.9])
    prod = np.array([1000.0, 2000.0])
    s = 2.0
    rev = prices * prod
    share = rev / rev.sum(axis=1, keepdims=True) if allocation == "economic" else \
        (rev == rev.max(axis=1, keepdims=True)).astype(float)
    ore = 1.0 / (g * r)
    phi = (g * r / c).sum()
    want = share * ore * (s + 1.0 - phi) / rho
    hf = mine_flows(model, *x)[0]
    np.testing.assert_allclose(hf[:, 1:], want, rtol=RTOL)
    # the compiled kernel gives the same metrics as the reference at these prices
    np.testing.assert_allclose(evaluate(model, *x), evaluate_reference(model, *x), rtol=RTOL)
    # at the nominal prices: the shares of the fixed-price model
    fixed = build_model(load_dataset(write_dataset(tmp_path / "f", **site_tables())),
                        allocation=allocation)
    np.testing.assert_allclose(hf[0], mine_flows(fixed, *[a[:1, :fixed.nominal_globals.size]
                                                         if i == 3 else a[:1]
                                                         for i, a in enumerate(x)])[0][0],
                               rtol=RTOL)


def test_monte_carlo_kernel_follows_the_sampled_prices(tmp_path):
    ds = priced(tmp_path)
    model = build_model(ds)
    space = build_space(None, ds, model)
    got = evaluate_chunk(model, space, 5, 0, 32)[0]
    u = rng.uniforms(5, 0, 32, space.parameter_indices())
    x = space.transform(u)
    assert np.unique(x[3][:, -1]).size == 32  # the zinc price varies
    want = evaluate_reference(model, *x)
    cols = [i for i, n in enumerate(model.metric_names) if not n.startswith("battery")]
    np.testing.assert_allclose(got[:, cols], want[:, cols], rtol=1e-11)
    # and differs from the fixed-price shares
    fixed = build_model(load_dataset(write_dataset(tmp_path / "f", **site_tables())))
    j = model.metric_names.index("hidden_flows_mt_zinc")
    nominal = evaluate(fixed, *[np.tile(a, (1, 1)) for a in (
        fixed.nominal_grade, fixed.nominal_stripping, fixed.nominal_recovery,
        fixed.nominal_globals)])[0, j]
    assert np.std(got[:, j]) > 0.05 * nominal


def test_sobol_price_factors_recompute_their_sites(tmp_path):
    ds = priced(tmp_path)
    model = build_model(ds)
    space = build_space(None, ds, model)
    fac = factors_for(space, "parameter")
    assert {"price[copper]", "price[zinc]"} <= set(fac.names)
    check_ab_against_reference(model, space, fac, ["hidden_flows_mt", "hidden_flows_mt_zinc",
                                                   "hidden_flows_mt_copper"])


def test_blank_spread_keeps_prices_fixed_and_results_unchanged(tmp_path):
    """A blank ``price_gsd`` (or 1) is a fixed price: the same bytes as no column at all."""
    base = load_dataset(write_dataset(tmp_path / "a", **site_tables()))
    for k, gsd in enumerate(("", "1")):
        ds = priced(tmp_path / f"b{k}", cu=gsd, zn=gsd)
        model = build_model(ds)
        assert "price[zinc]" not in model.global_names
        a = evaluate_chunk(build_model(base), build_space(None, base, build_model(base)),
                           9, 0, 64)
        b = evaluate_chunk(model, build_space(None, ds, model), 9, 0, 64)
        assert a.tobytes() == b.tobytes()


def test_explicit_shares_do_not_follow_prices(tmp_path):
    t = priced_tables()
    t["mines"][1].update(alloc_economic="0.3", alloc_mass="0.5", main_product="false")
    t["mines"][2].update(alloc_economic="0.7", alloc_mass="0.5", main_product="true")
    model = build_model(load_dataset(write_dataset(tmp_path, **t)))
    assert model.site_mode.tolist() == [0]
    assert "price[zinc]" not in model.global_names


def test_price_spread_below_one_refused(tmp_path, capsys):
    folder = write_dataset(tmp_path, **priced_tables(zn="0.8"))
    with pytest.raises(DataValidationError, match="price_gsd"):
        load_dataset(folder)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "metals.csv" in err[0] and "price_gsd" in err[0] and "0.8" in err[0] \
        and ">= 1" in err[0], err[0]


# ------------------------------------------------------- the allocation rule as a scenario
def _run_file(tmp_path, folder, allocation="economic", extra=""):
    path = tmp_path / "run.toml"
    path.write_text(f'name = "alloc"\ndataset = "{folder}"\nallocation = "{allocation}"\n'
                    '[montecarlo]\nsamples = 64\nchunk_size = 24\nseed = 3\n'
                    '[[scenarios]]\nname = "mass"\nallocation = "mass"\n'
                    '[[scenarios]]\nname = "main"\nallocation = "main-product"\n'
                    '[[scenarios]]\nname = "same"\nallocation = "' + allocation + '"\n'
                    + extra, encoding="utf-8")
    return path


def test_allocation_scenarios_are_paired_with_the_baseline(tmp_path):
    """Each scenario's samples are the other rule's model on the baseline's inputs."""
    from uncertainty.config import load_run
    from uncertainty.scenarios import BASELINE, compare, paired_samples

    folder = write_dataset(tmp_path / "d", **priced_tables())
    run = load_run(_run_file(tmp_path, folder))
    assert [s.allocation for s in run.scenarios] == ["mass", "main-product", "economic"]
    ds = load_dataset(folder)
    base_model = build_model(ds)
    space = build_space(run, ds, base_model)
    x = space.transform(rng.uniforms(3, 0, 64, space.parameter_indices()))
    metrics = ["hidden_flows_mt", "hidden_flows_mt_zinc", "hidden_flows_mt_copper"]
    got = paired_samples(run, 64, metrics=metrics)
    idx = [base_model.metric_names.index(m) for m in metrics]
    for name, rule in ((BASELINE, "economic"), ("mass", "mass"), ("main", "main-product"),
                       ("same", "economic")):
        want = evaluate_reference(build_model(ds, allocation=rule), *x)[:, idx]
        np.testing.assert_allclose(got[name].to_numpy(), want, rtol=1e-11, err_msg=name)
    assert got["same"].equals(got[BASELINE])
    table = compare(run, 64, metrics=metrics).set_index(["scenario", "metric"])
    zinc = table.loc[("mass", "hidden_flows_mt_zinc")]
    red = (got["mass"]["hidden_flows_mt_zinc"] - got[BASELINE]["hidden_flows_mt_zinc"]) \
        / got[BASELINE]["hidden_flows_mt_zinc"]
    np.testing.assert_allclose(zinc["reduction_mean"], red.mean(), rtol=1e-12)
    assert zinc["reduction_p2_5"] < zinc["reduction_mean"] < zinc["reduction_p97_5"]


def test_unknown_allocation_in_a_scenario_refused(tmp_path, capsys):
    folder = write_dataset(tmp_path / "d", **priced_tables())
    path = _run_file(tmp_path, folder, extra='[[scenarios]]\nname = "x"\nallocation = "value"\n')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scenarios[3].allocation" in err[0] and "'value'" in err[0], err
