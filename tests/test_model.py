"""Tests of uncertainty.model: hand-computed cases, kernel = reference, properties,
scenarios and the calibration targets of the default dataset.

Tolerances: hand-computed values and kernel-vs-reference, rtol 1e-12 (the same
equations, summed in another order); calibration targets and scenario reductions as
stated by the study (docs/science.md; each test names its target).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import MINE, base_tables, write_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from uncertainty.config import load_run
from uncertainty.data import GRADE_BASIS_FACTORS, load_dataset
from uncertainty.model import (
    Scenario,
    build_model,
    evaluate,
    evaluate_reference,
    nominal_inputs,
)
from uncertainty.resources import default_run

RTOL = 1e-12
EVALUATORS = pytest.mark.parametrize("fn", [evaluate, evaluate_reference],
                                     ids=["kernel", "reference"])


def metrics(model, fn=evaluate_reference, scenario=None, inputs=None) -> dict[str, float]:
    """All metrics of one parameter row (nominal by default) as a name -> value dict."""
    x = nominal_inputs(model) if inputs is None else inputs
    out = fn(model, *x, scenario=scenario)
    assert out.shape == (x[0].shape[0], len(model.metric_names))
    return dict(zip(model.metric_names, out[0].tolist(), strict=True))


def close(got: float, want: float, name: str) -> None:
    assert math.isclose(got, want, rel_tol=RTOL, abs_tol=0.0), f"{name}: {got!r} != {want!r}"


# --------------------------------------------------------------------- hand-computed
# The tiny dataset of conftest: one copper mine in CHL, 1000 ICEVs (20 kg Cu) and
# 100 BEVs (60 kg Cu + 20 kWh x 1.2 pack x 0.05 kg/kWh), yield 0.8, E = 5000 kWh/t,
# grid 1.5 kg HF/kWh, coal 0.5 kg/kWh, all counted in CHN.
E, GRID, COAL, PACK, YIELD = 5000.0, 1.5, 0.5, 1.2, 0.8
N_ICEV, N_BEV = 1000.0, 100.0
D_ICEV = 20.0 / (1000.0 * YIELD)
D_BEV = (60.0 + 20.0 * PACK * 1.0 * 0.05) / (1000.0 * YIELD)


def mine_flows(grade, recovery, sr, conc_grade, alloc, rr, solid=True):
    """The TMR chain of docs/science.md, steps 1-5, in plain floats: (hf, used) per t refined metal."""
    ore = 1.0 / (grade * recovery)
    waste = sr * ore
    conc = 1.0 if conc_grade is None else 1.0 / conc_grade
    tailings = max(ore - conc, 0.0)
    hf = alloc / rr * (waste + tailings) if solid else 0.0
    used = alloc / rr * conc
    return hf, used


def expected_single(hf_mine: float, used_mine: float) -> dict[str, float]:
    """Steps 6-9 for the single-metal tiny dataset, mine terms already supply-weighted."""
    h = hf_mine + E * GRID / 1000.0
    u = used_mine + E * COAL / 1000.0
    demand = N_ICEV * D_ICEV + N_BEV * D_BEV
    hf_icev, hf_bev = D_ICEV * h, D_BEV * h
    hf = N_ICEV * hf_icev + N_BEV * hf_bev
    used = demand * u
    material = demand
    tmr = hf + used
    hf_domestic = demand * E * GRID / 1000.0
    return {
        "tmr_mt": tmr / 1e6,
        "hidden_flows_mt": hf / 1e6,
        "used_extraction_mt": used / 1e6,
        "material_in_cars_mt": material / 1e6,
        "hidden_to_material_ratio": hf / material,
        "share_entering_cars": material / tmr,
        "hidden_abroad_share": 1.0 - hf_domestic / hf,
        "nev_to_icev_hidden_ratio": hf_bev / hf_icev,
        "energy_hidden_share": hf_domestic / hf,
        "hidden_flows_mt_copper": demand * h / 1e6,
        "hidden_share_copper": 1.0,
        "tmr_coefficient_copper": h + u,
        "hidden_per_vehicle_t_icev": hf_icev,
        "hidden_per_vehicle_t_bev": hf_bev,
        "battery_metals_material_share_bev": 0.0,
        "battery_metals_hidden_share_bev": 0.0,
        "hidden_flows_mt_country_chn": hf_domestic / 1e6,
        "hidden_flows_mt_country_chl": (hf - hf_domestic) / 1e6,
    }


def check_all(got: dict[str, float], want: dict[str, float]) -> None:
    assert set(want) <= set(got)
    for name, value in want.items():
        close(got[name], value, name)


def tiny_model(folder, allocation="economic", **overrides):
    return build_model(load_dataset(write_dataset(folder, **overrides)), allocation=allocation)


@EVALUATORS
def test_single_open_pit_mine_by_hand(tmp_path, fn):
    model = tiny_model(tmp_path)
    hf, used = mine_flows(0.01, 0.9, 2.0, 0.25, 0.8, 0.95)
    check_all(metrics(model, fn), expected_single(hf, used))


@EVALUATORS
def test_brine_mine_has_no_hidden_flow(tmp_path, fn):
    model = tiny_model(tmp_path, mines={(0, "mining_method"): "brine",
                                        (0, "stripping_ratio"): "0", (0, "conc_grade"): "",
                                        (0, "archetype"): "li_brine"})
    hf, used = mine_flows(0.01, 0.9, 0.0, None, 0.8, 0.95, solid=False)
    assert hf == 0.0
    got = metrics(model, fn)
    check_all(got, expected_single(hf, used))
    close(got["energy_hidden_share"], 1.0, "energy_hidden_share")  # only energy HF left


@EVALUATORS
def test_whole_ore_mine_conc_is_one(tmp_path, fn):
    """A blank concentrate grade whose archetype has none (laterite) is whole-ore
    processing; a blank one of an archetype with a concentrate takes the archetype's."""
    filled = tiny_model(tmp_path / "filled", mines={(0, "conc_grade"): ""})
    assert filled.mine_conc.tolist() == [1.0 / 0.25]  # cu_porphyry's concentrate grade
    model = tiny_model(tmp_path, mines={(0, "conc_grade"): "", (0, "archetype"): "ni_laterite"})
    assert model.mine_conc.tolist() == [1.0]
    hf, used = mine_flows(0.01, 0.9, 2.0, None, 0.8, 0.95)
    check_all(metrics(model, fn), expected_single(hf, used))


@EVALUATORS
def test_grade_basis_factor_applied(tmp_path, fn):
    model = tiny_model(tmp_path, mines={(0, "grade"): "0.02", (0, "grade_unit"): "Li2O"})
    hf, used = mine_flows(0.02 * GRADE_BASIS_FACTORS["Li2O"], 0.9, 2.0, 0.25, 0.8, 0.95)
    check_all(metrics(model, fn), expected_single(hf, used))


# ------------------------------------------------------------------ two countries
def _mine(mine_id, country, production, grade, sr, alloc_e, alloc_m, main, rr="0.95"):
    return {**MINE, "mine_id": mine_id, "country": country, "production_t": production,
            "grade": grade, "stripping_ratio": sr, "alloc_economic": alloc_e,
            "alloc_mass": alloc_m, "main_product": main, "refining_recovery": rr}


TWO_COUNTRY_MINES = [
    # CHL: A (300 t) and C (100 t) share the country: weights 0.75 and 0.25
    _mine("CU-CHL-A", "CHL", "300", "0.008", "3.0", "0.9", "0.97", "true"),
    _mine("CU-PER-B", "PER", "500", "0.012", "1.5", "0.6", "0.8", "false", rr="0.92"),
    _mine("CU-CHL-C", "CHL", "100", "0.005", "0.5", "0.7", "0.5", "true", rr="0.97"),
    # a CHN mine without a supply row: weight 0
    _mine("CU-CHN-D", "CHN", "800", "0.002", "9.0", "1", "1", "true"),
]


@pytest.fixture(scope="module")
def two_country_folder(tmp_path_factory):
    t = base_tables()
    return write_dataset(
        tmp_path_factory.mktemp("two"),
        countries=[*t["countries"], {"iso3": "PER", "name": "Peru"}],
        mines=TWO_COUNTRY_MINES,
        supply=[{"metal": "copper", "country": "CHL", "share": "0.6", "concentration": "50"},
                {"metal": "copper", "country": "PER", "share": "0.4", "concentration": "50"}],
    )


@pytest.mark.parametrize(
    ("allocation", "alloc"),
    [("economic", {"A": 0.9, "B": 0.6, "C": 0.7}),
     ("mass", {"A": 0.97, "B": 0.8, "C": 0.5}),
     ("main-product", {"A": 1.0, "B": 0.0, "C": 1.0})],
)
@EVALUATORS
def test_two_countries_by_hand(two_country_folder, allocation, alloc, fn):
    model = build_model(load_dataset(two_country_folder), allocation=allocation)
    a = mine_flows(0.008, 0.9, 3.0, 0.25, alloc["A"], 0.95)
    b = mine_flows(0.012, 0.9, 1.5, 0.25, alloc["B"], 0.92)
    c = mine_flows(0.005, 0.9, 0.5, 0.25, alloc["C"], 0.97)
    chl = [0.75 * a[j] + 0.25 * c[j] for j in (0, 1)]  # p_m / P_kc
    hf_mine = 0.6 * chl[0] + 0.4 * b[0]
    used_mine = 0.6 * chl[1] + 0.4 * b[1]
    want = expected_single(hf_mine, used_mine)
    demand = N_ICEV * D_ICEV + N_BEV * D_BEV
    want["hidden_flows_mt_country_chl"] = demand * 0.6 * chl[0] / 1e6
    want["hidden_flows_mt_country_per"] = demand * 0.4 * b[0] / 1e6
    got = metrics(model, fn)
    check_all(got, want)
    assert model.mine_weight.tolist() == [0.75, 1.0, 0.25, 0.0]


def test_supply_block_laid_out_by_metal(default_dataset, default_model):
    """Supply shares sit in the global vector grouped in the order of metals.csv
    (supply.csv lists nickel before zinc), matching the parameter space's layout."""
    o = default_model.offsets["supply"]
    names = default_model.global_names[o:o + default_model.n_groups]
    metals = [n[len("supply["):].split(",")[0] for n in names]
    order = [default_model.metals.index(m) for m in metals]
    assert order == sorted(order)
    sup = default_dataset.tables["supply"]
    share = dict(zip(zip(sup.metal, sup.country, strict=True), sup.share, strict=True))
    for name, value in zip(names, default_model.nominal_globals[o:o + len(names)], strict=True):
        metal, country = name[len("supply["):-1].split(",")
        assert value == share[(metal, country)], name
    gm = [default_model.metals[k] for k in default_model.group_metal]
    assert gm == metals


def test_unknown_allocation_rejected(two_country_folder):
    with pytest.raises(ValueError, match=r"allocation must be one of .*'revenue'"):
        build_model(load_dataset(two_country_folder), allocation="revenue")


# ------------------------------------------------------------ kernel = reference
@pytest.fixture(scope="module")
def default_model(default_dataset):
    return build_model(default_dataset)


def random_block(model, seed: int, n: int = 64):
    """Nominal inputs perturbed: lognormal grade/stripping, uniform recovery, globals."""
    rng = np.random.default_rng(seed)
    g, s, r, glob = nominal_inputs(model, n)
    g = g * rng.lognormal(0.0, 0.3, g.shape)
    s = s * rng.lognormal(0.0, 0.3, s.shape)
    r = rng.uniform(0.3, 1.0, r.shape)
    glob = glob * rng.lognormal(0.0, 0.1, glob.shape)
    return g, s, r, glob


@pytest.mark.parametrize(
    "scenario",
    [None, Scenario(recycled_share={"copper": 0.5}), Scenario(lfp_share=1.0),
     Scenario(clean_energy_factor=0.2),
     Scenario(recycled_share={"copper": 0.3, "nickel": 1.0}, lfp_share=0.4,
              clean_energy_factor=0.0)],
    ids=["baseline", "recycled-copper", "lfp", "clean-energy", "all"],
)
@pytest.mark.parametrize("seed", [1, 2019])
def test_kernel_equals_reference(default_model, scenario, seed):
    x = random_block(default_model, seed)
    ref = evaluate_reference(default_model, *x, scenario=scenario)
    ker = evaluate(default_model, *x, scenario=scenario)
    assert ker.shape == ref.shape == (64, len(default_model.metric_names))
    assert np.isfinite(ref).all()
    np.testing.assert_allclose(ker, ref, rtol=RTOL, atol=0)


def test_kernel_equals_reference_tiny_allocations(two_country_folder):
    for allocation in ("economic", "mass", "main-product"):
        model = build_model(load_dataset(two_country_folder), allocation=allocation)
        x = random_block(model, 7, n=16)
        np.testing.assert_allclose(evaluate(model, *x), evaluate_reference(model, *x),
                                   rtol=RTOL, atol=0)


def test_kernel_rows_independent(default_model):
    """Each sample writes its own row: a block gives the rows evaluated one at a time."""
    x = random_block(default_model, 3, n=8)
    block = evaluate(default_model, *x)
    for i in (0, 5):
        one = evaluate(default_model, *(a[i:i + 1] for a in x))
        np.testing.assert_array_equal(one[0], block[i])


# --------------------------------------------------------------------- properties
@pytest.fixture(scope="module")
def single_mine_model(tmp_path_factory):
    return build_model(load_dataset(write_dataset(tmp_path_factory.mktemp("one"))))


def _single_hf(model, grade: float, sr: float) -> float:
    g, s, r, glob = nominal_inputs(model)
    g[:] = grade
    s[:] = sr
    return float(evaluate(model, g, s, r, glob)[0, model.metric_names.index("hidden_flows_mt")])


@settings(max_examples=60, deadline=None)
@given(grade=st.floats(1e-5, 0.49), factor=st.floats(1.001, 2.0),
       sr=st.floats(0.01, 50.0))
def test_hidden_flow_falls_as_grade_rises(single_mine_model, grade, factor, sr):
    assert _single_hf(single_mine_model, grade * factor, sr) < _single_hf(single_mine_model,
                                                                           grade, sr)


@settings(max_examples=60, deadline=None)
@given(grade=st.floats(1e-5, 1.0), sr=st.floats(0.0, 50.0), step=st.floats(0.01, 50.0))
def test_hidden_flow_rises_with_stripping_ratio(single_mine_model, grade, sr, step):
    assert _single_hf(single_mine_model, grade, sr + step) > _single_hf(single_mine_model,
                                                                        grade, sr)


# ---------------------------------------------------- default dataset, nominal values
@pytest.fixture(scope="module")
def nominal(default_model):
    return metrics(default_model)


def nev_hidden_mt(model, m: dict[str, float]) -> float:
    """Hidden flows of the NEV fleet (Mt) from the per-vehicle metrics and counts."""
    counts = model.nominal_globals[model.offsets["count"]:][:len(model.vehicles)]
    return sum(n * m[f"hidden_per_vehicle_t_{v}"]
               for v, n, is_nev in zip(model.vehicles, counts, model.nev, strict=True)
               if is_nev) / 1e6


def reduction(base: dict[str, float], scen: dict[str, float]) -> float:
    return 1.0 - scen["hidden_flows_mt"] / base["hidden_flows_mt"]


def test_scenario_recycled_copper(default_model, nominal):
    """The study: recycled copper -35% of total HF (+-3 points). Calibrated: -35.3%."""
    scen = metrics(default_model, scenario=Scenario(recycled_share={"copper": 1.0}))
    r = reduction(nominal, scen)
    assert 0.32 <= r <= 0.38, r
    # exactly copper's share x (1 - secondary TMR fraction)
    close(r, nominal["hidden_share_copper"] * (1 - 0.02), "copper reduction")


def test_scenario_clean_energy(default_model, nominal):
    """The study: clean energy in smelting and refining -13 to -14%. Calibrated: -14.0%."""
    scen = metrics(default_model, scenario=Scenario(clean_energy_factor=0.0))
    r = reduction(nominal, scen)
    assert 0.13 <= r <= 0.145, r
    close(r, nominal["energy_hidden_share"], "clean-energy reduction")
    assert scen["energy_hidden_share"] == 0.0


def _lfp(default_model, nominal):
    scen = metrics(default_model, scenario=Scenario(lfp_share=1.0))
    nev_base, nev_scen = nev_hidden_mt(default_model, nominal), nev_hidden_mt(default_model, scen)
    return scen, reduction(nominal, scen), 1.0 - nev_scen / nev_base


def test_scenario_lfp_only_changes_nevs(default_model, nominal):
    """LFP lowers HF, only through the NEVs; -2.6% of total, -19.5% of NEV HF."""
    scen, total, nev = _lfp(default_model, nominal)
    assert 0.0 < total < nev
    close(scen["hidden_per_vehicle_t_icev"], nominal["hidden_per_vehicle_t_icev"], "icev")
    assert scen["battery_metals_hidden_share_bev"] < nominal["battery_metals_hidden_share_bev"]
    # the whole reduction is the NEVs' reduction
    nev_drop = nev_hidden_mt(default_model, nominal) - nev_hidden_mt(default_model, scen)
    close(nominal["hidden_flows_mt"] - scen["hidden_flows_mt"], nev_drop, "nev drop")


@pytest.mark.xfail(strict=True, reason=(
    "the study's -3..-12% (LFP switch) fails in the default dataset's calibration "
    "(distributions/calibration_targets.csv): -2.6% of total hidden flows (-19.5% of the "
    "NEVs'); pushed, it holds at -3.0% at a cost to the abroad share "
    "(calibration_conflicts.csv)"))
@pytest.mark.parametrize("basis", ["nev", "total"])
def test_scenario_lfp_target(default_model, nominal, basis):
    _, total, nev = _lfp(default_model, nominal)
    r = nev if basis == "nev" else total
    assert 0.03 <= r <= 0.12, r


KNOWN_GAP_ABROAD = pytest.mark.xfail(strict=True, reason=(
    "the study's 48% +- 2 of HF abroad fails in the default dataset's calibration: 56.3% "
    "at the minimum-violation fit, with China's supply shares and the stripping "
    "multipliers of its domestic metals at their bounds; pushed, it stops at 50.0% "
    "(calibration_conflicts.csv)"))
KNOWN_GAP_NEV = pytest.mark.xfail(strict=True, reason=(
    "the study's NEV/ICEV hidden-flow ratio 3.0..3.6 fails in the default dataset's "
    "calibration: 2.78; holding it costs the abroad share (calibration_conflicts.csv)"))


#: The default run file's calibration targets that are metrics at nominal inputs (the
#: scenario ones are tested above), with the calibration's failures marked.
_GAPS = {"hidden_abroad_share": KNOWN_GAP_ABROAD, "nev_to_icev_hidden_ratio": KNOWN_GAP_NEV}
_TARGETS = [pytest.param(t.metric, t.low, t.high, marks=_GAPS.get(t.metric, ()), id=t.metric)
            for t in load_run(default_run()).calibration.targets if t.scenario is None]
#: in half-bands: a target the calibration leaves at its band edge holds within this
_EDGE = 1e-4


@pytest.mark.parametrize(("metric", "lo", "hi"), _TARGETS)
def test_calibration_target(nominal, metric, lo, hi):
    slack = _EDGE * (hi - lo) / 2
    assert lo - slack <= nominal[metric] <= hi + slack, nominal[metric]


def test_battery_metal_shares(nominal):
    """The study: Li, Co, Ni are 0.4-9.5% of a BEV's direct material, 6-41% of its HF."""
    assert 0.004 <= nominal["battery_metals_material_share_bev"] <= 0.095
    assert 0.06 <= nominal["battery_metals_hidden_share_bev"] <= 0.41


def test_kernel_matches_reference_at_nominal(default_model, nominal):
    ker = metrics(default_model, fn=evaluate)
    for name, value in nominal.items():
        assert math.isclose(ker[name], value, rel_tol=RTOL, abs_tol=0.0), name


def test_tmr_coefficients_positive_and_finite(default_model, nominal):
    for metal in default_model.metals:
        c = nominal[f"tmr_coefficient_{metal}"]
        assert math.isfinite(c) and c > 0, (metal, c)


def test_metric_names_unique_and_complete(default_model):
    names = default_model.metric_names
    assert len(names) == len(set(names))
    for metal in default_model.metals:
        assert f"hidden_flows_mt_{metal}" in names
    assert "hidden_flows_mt_country_chn" in names


def test_lfp_scenario_needs_lfp_chemistry(single_mine_model):
    with pytest.raises(ValueError, match="no LFP chemistry"):
        metrics(single_mine_model, scenario=Scenario(lfp_share=1.0))


def test_recycling_unknown_metal_rejected(single_mine_model):
    with pytest.raises(ValueError, match="unknown metal 'unobtainium'"):
        metrics(single_mine_model, scenario=Scenario(recycled_share={"unobtainium": 1.0}))
