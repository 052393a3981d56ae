"""Co-product sites and filled blanks of ``mines.csv``.

A site's rows (one per metal) share one ore stream: one stripping-ratio draw, one
concentrate/tailings balance, and an allocation of the site's hidden flow over its
metals (economic by revenue, mass, main product). Blank cells are filled by the rules
of :func:`uncertainty.data.complete_mines`. The hand computations below follow the
equations of :func:`uncertainty.model.site_terms`.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest import MINE, base_tables, write_dataset

from uncertainty import dists, rng
from uncertainty.cli import main
from uncertainty.data import (
    DEFAULT_ARCHETYPES,
    OTHER_YEAR_FACTOR,
    YEAR_TO_YEAR_GRADE,
    Dataset,
    DataValidationError,
    choose_archetype,
    load_dataset,
    read_archetypes,
)
from uncertainty.model import (
    allocation_shares,
    build_model,
    evaluate,
    evaluate_reference,
    mine_flows,
)
from uncertainty.montecarlo import evaluate_chunk
from uncertainty.sensitivity.factors import factors_for
from uncertainty.space import SpaceError, build_space

RTOL = 1e-12
CU_PRICE, ZN_PRICE = 6000.0, 2500.0


def site_tables(**zinc: str) -> dict[str, list[dict[str, str]]]:
    """The tiny dataset with a copper-zinc site S1 in Chile (two rows, blank allocation
    cells) and a single-row copper mine; ``zinc`` edits the zinc row."""
    t = base_tables()
    t["metals"][0]["price_usd_per_t"] = str(CU_PRICE)
    t["metals"].append(dict(t["metals"][0], metal="zinc", display_name="Zinc",
                            price_usd_per_t=str(ZN_PRICE)))
    cu = dict(MINE, mine_id="S1-CU", site_id="S1", production_t="1000", grade="0.01",
              stripping_ratio="2.0", conc_grade="0.25", alloc_economic="", alloc_mass="",
              main_product="")
    zn = dict(MINE, mine_id="S1-ZN", site_id="S1", metal="zinc", archetype="zn",
              production_t="2000", grade="0.05", stripping_ratio="", mill_recovery="0.85",
              conc_grade="0.5", refining_recovery="0.9", alloc_economic="", alloc_mass="",
              main_product="")
    zn.update(zinc)
    single = dict(MINE, mine_id="CU-CHL-002", site_id="")
    t["mines"] = [single, zn, cu]  # the site's rows apart and its main product second
    t["supply"].append({"metal": "zinc", "country": "CHL", "share": "1.0",
                        "concentration": "100"})
    t["vehicles"].append({"vehicle": "icev", "metal": "zinc", "content_kg": "5", "cv": "0.1"})
    return t


def site_dataset(tmp_path, **zinc):
    return load_dataset(write_dataset(tmp_path, **site_tables(**zinc)))


def with_columns(rows: list[dict[str, str]], **defaults: str) -> list[dict[str, str]]:
    """``rows`` with the columns of ``defaults`` added where a row lacks them (every row
    of a written table needs the first row's columns)."""
    return [{**defaults, **r} for r in rows]


def write_archetypes(folder, edit=None, extra=()) -> dict[str, list[int]]:
    """The default archetype table written into ``folder`` as archetypes.csv, with the
    cells of ``edit`` (``{(archetype, column): value}``) changed and the rows ``extra``
    (``{column: value}``, the rest copied from the archetype named) appended; returns the
    line numbers of each archetype."""
    with DEFAULT_ARCHETYPES.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for (name, col), v in (edit or {}).items():
        (row,) = [r for r in rows if r["archetype"] == name]
        row[col] = v
    rows += [dict(next(r for r in rows if r["archetype"] == e["archetype"]), **e)
             for e in extra]
    with (folder / "archetypes.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    lines: dict[str, list[int]] = {}
    for k, r in enumerate(rows):
        lines.setdefault(r["archetype"], []).append(k + 2)
    return lines


# -------------------------------------------------------------- allocation, by hand
def test_site_rows_grouped_main_product_first(tmp_path):
    ds = site_dataset(tmp_path)
    assert list(ds.mines["mine_id"]) == ["CU-CHL-002", "S1-CU", "S1-ZN"]
    model = build_model(ds)
    assert model.mine_lead.tolist() == [0, 1, 1]
    assert model.mine_site.tolist() == [-1, 0, 0]
    assert (model.site_start.tolist(), model.site_stop.tolist()) == ([1], [3])


@pytest.mark.parametrize("allocation", ["economic", "mass", "main-product"])
def test_two_metal_site_by_hand(tmp_path, allocation):
    """Each row's hidden flow and used extraction per t of refined metal, rtol 1e-12."""
    ds = site_dataset(tmp_path)
    model = build_model(ds, allocation=allocation)
    g = np.array([0.01, 0.05])
    r = np.array([0.9, 0.85])
    c = np.array([0.25, 0.5])
    rho = np.array([0.95, 0.9])
    prod = np.array([1000.0, 2000.0])
    rev = prod * np.array([CU_PRICE, ZN_PRICE])
    a = {"economic": rev / rev.sum(), "mass": prod / prod.sum(),
         "main-product": np.array([1.0, 0.0])}[allocation]
    s = 2.0
    phi = (g * r / c).sum()
    ore = 1.0 / (g * r)
    hf = a * ore * (s + 1.0 - phi) / rho
    used = a * ore * phi / rho
    x = tuple(np.tile(v, (1, 1)) for v in (model.nominal_grade, model.nominal_stripping,
                                           model.nominal_recovery, model.nominal_globals))
    got_hf, got_used, got_s, got_ore = mine_flows(model, *x)
    np.testing.assert_allclose(got_hf[0, 1:], hf, rtol=RTOL)
    np.testing.assert_allclose(got_used[0, 1:], used, rtol=RTOL)
    np.testing.assert_allclose(got_ore[0, 1:], ore, rtol=RTOL)
    assert got_s[0, 1:].tolist() == [s, s]
    # the site's material balance: allocated TMR = (1 + s) x ore, whatever the rule
    np.testing.assert_allclose(((got_hf + got_used)[0, 1:] * rho * prod).sum(),
                               (a * (1 + s) * ore * prod).sum(), rtol=RTOL)
    if allocation == "economic":
        np.testing.assert_allclose(ds.mines["alloc_economic"].iloc[1:], a, rtol=RTOL)


def test_explicit_allocation_cells_override(tmp_path):
    t = site_tables()
    t["mines"][1].update(alloc_economic="0.3", alloc_mass="0.5", main_product="false")
    t["mines"][2].update(alloc_economic="0.7", alloc_mass="0.5", main_product="true")
    ds = load_dataset(write_dataset(tmp_path, **t))
    assert ds.mines.set_index("mine_id").loc[["S1-CU", "S1-ZN"], "alloc_economic"].tolist() \
        == [0.7, 0.3]


# ----------------------------------------------------- one draw, kernels agree
def test_site_rows_share_one_stripping_draw(tmp_path):
    """Per sample, every row of a site has the same waste/ore (its lead row's draw and
    its lead metal's systematic factor), although its own stripping column differs."""
    ds = site_dataset(tmp_path)
    model = build_model(ds)
    space = build_space(None, ds, model)
    u = rng.uniforms(5, 0, 64, space.parameter_indices())
    grade, strip, rec, glob = space.transform(u)
    strip[:, 2] = 99.0  # the follower's own column is never read
    _, _, s, _ = mine_flows(model, grade, strip, rec, glob)
    assert np.array_equal(s[:, 1], s[:, 2])
    assert np.unique(s[:, 1]).size == 64
    assert space.table.loc[space.table["name"] == "stripping_ratio[S1-ZN]", "family"].item() \
        == "fixed"


def test_kernels_agree_with_the_reference_on_sites(tmp_path):
    ds = site_dataset(tmp_path)
    model = build_model(ds)
    space = build_space(None, ds, model)
    u = rng.uniforms(11, 0, 40, space.parameter_indices())
    x = space.transform(u)
    np.testing.assert_allclose(evaluate(model, *x), evaluate_reference(model, *x), rtol=RTOL)


def test_monte_carlo_kernel_on_sites_equals_the_transform_path(tmp_path):
    """The fused kernel (sites by the general path) against uniforms -> transform ->
    the reference, sample by sample (the tiny dataset's one Dirichlet group per metal
    has a single member: its share is 1 both ways)."""
    ds = site_dataset(tmp_path)
    model = build_model(ds)
    space = build_space(None, ds, model)
    got = evaluate_chunk(model, space, 21, 3, 24)[0]
    u = rng.uniforms(21, 3, 24, space.parameter_indices())
    want = evaluate_reference(model, *space.transform(u))
    cols = [i for i, n in enumerate(model.metric_names) if not n.startswith("battery")]
    np.testing.assert_allclose(got[:, cols], want[:, cols], rtol=1e-11)


def check_ab_against_reference(model, space, fac, metrics):
    """f(AB_j) of the incremental kernel for every factor of ``fac`` against the reference
    on the mixed matrix (rtol 1e-11); returns uA, uB, the metric columns, f(A), f(B)."""
    from uncertainty.sensitivity.kernel import ab_outputs

    uA = rng.uniforms(1, 0, 16, space.parameter_indices())
    uB = rng.uniforms(2, 0, 16, space.parameter_indices())
    yA, yB, yAB = ab_outputs(model, space, fac, uA, uB, metrics)
    idx = [model.metric_names.index(m) for m in metrics]
    for f, c in enumerate(fac.columns):
        u = uA.copy()
        u[:, c] = uB[:, c]
        want = evaluate_reference(model, *space.transform(u))[:, idx]
        np.testing.assert_allclose(yAB[:, f, :], want, rtol=1e-11, err_msg=fac.names[f])
    return uA, uB, idx, yA, yB


def test_sobol_kernel_on_sites_equals_direct_evaluation(tmp_path):
    """f(AB_j) of the incremental kernel, for the mine level (a site is one factor),
    against the model evaluated on the mixed matrices."""
    ds = site_dataset(tmp_path)
    model = build_model(ds)
    space = build_space(None, ds, model)
    fac = factors_for(space, "mine")
    assert "S1" in fac.names and "S1-CU" not in fac.names
    cols = dict(zip(fac.names, fac.columns, strict=True))["S1"]
    assert sorted(space.table["name"].iloc[cols]) == [
        "grade[S1-CU]", "grade[S1-ZN]", "recovery[S1-CU]", "recovery[S1-ZN]",
        "stripping_ratio[S1-CU]"]
    uA, uB, idx, yA, yB = check_ab_against_reference(
        model, space, fac, ["hidden_flows_mt", "tmr_mt", "hidden_flows_mt_zinc"])
    np.testing.assert_allclose(yA, evaluate_reference(model, *space.transform(uA))[:, idx],
                               rtol=1e-11)
    np.testing.assert_allclose(yB, evaluate_reference(model, *space.transform(uB))[:, idx],
                               rtol=1e-11)


def test_default_dataset_unchanged_by_explicit_singleton_sites(tmp_path, default_dataset):
    """A row without site_id is its own site: giving every default row its own id as
    site_id and its provenance explicitly changes no byte of the Monte Carlo output."""
    import pandas as pd

    src = default_dataset.path
    dst = tmp_path / "explicit"
    dst.mkdir()
    for f in src.glob("*.csv"):
        (dst / f.name).write_bytes(f.read_bytes())
    m = pd.read_csv(src / "mines.csv", dtype=str, keep_default_na=False)
    m.insert(1, "site_id", m["mine_id"])
    for c in ("grade_source", "stripping_source", "recovery_source"):
        m[c] = "synthetic"
    m.to_csv(dst / "mines.csv", index=False)
    ds2 = load_dataset(dst)
    a = build_model(default_dataset)
    b = build_model(ds2)
    assert b.n_sites == 0
    sa, sb = build_space(None, default_dataset, a), build_space(None, ds2, b)
    assert evaluate_chunk(a, sa, 9, 0, 64).tobytes() == evaluate_chunk(b, sb, 9, 0, 64).tobytes()


# ------------------------------------------------------------------- filled blanks
def test_blanks_filled_by_archetype_and_provenance(tmp_path):
    """Blank grade, recovery and spreads of a copper row: the archetype's median grade and
    modal recovery, its across-deposit spreads truncated at its range (imputed); the
    reported grade of the zinc row gets the year-to-year spread."""
    arche = read_archetypes(DEFAULT_ARCHETYPES).loc["cu_porphyry"]
    t = base_tables()
    t["mines"][0].update(grade="", grade_unit="", mill_recovery="", grade_gsd="",
                         stripping_gsd="", recovery_sd="", synthetic="", archetype="",
                         grade_source="")
    t["mines"].append(dict(MINE, mine_id="CU-CHL-002", grade_gsd="", grade_source="other_year",
                           synthetic="false"))
    ds = load_dataset(write_dataset(tmp_path, **t))
    m = ds.mines.set_index("mine_id")
    r = m.loc["CU-CHL-001"]
    assert r["archetype"] == "cu_porphyry"
    assert r["grade"] == pytest.approx(arche["grade_median"] / 100, rel=RTOL)
    assert r["grade_unit"] == "metal"
    assert r["mill_recovery"] == arche["recovery_mode"]
    assert r["grade_source"] == "imputed" and r["recovery_source"] == "imputed"
    assert r["stripping_source"] == "reported"  # given, on a row not marked synthetic
    assert r["synthetic"] is np.False_ or r["synthetic"] is False
    assert r["grade_gsd"] == pytest.approx(math.exp(arche["grade_log_sd"]), rel=RTOL)
    assert (r["grade_low"], r["grade_high"]) == pytest.approx(
        (arche["grade_min"] / 100, arche["grade_max"] / 100), rel=RTOL)
    assert r["recovery_sd"] == pytest.approx(
        (arche["recovery_max"] - arche["recovery_min"]) / 3.92, rel=RTOL)
    o = m.loc["CU-CHL-002"]
    assert o["grade_gsd"] == pytest.approx(
        math.exp(OTHER_YEAR_FACTOR * YEAR_TO_YEAR_GRADE["copper"]), rel=RTOL)
    assert math.isnan(o["grade_low"])
    filled = set(zip(ds.fills["mine_id"], ds.fills["column"], strict=True))
    assert {("CU-CHL-001", "grade"), ("CU-CHL-001", "archetype"),
            ("CU-CHL-002", "grade_gsd")} <= filled
    assert ("CU-CHL-002", "grade") not in filled
    # the imputed grade's distribution is the truncated lognormal
    model = build_model(ds)
    space = build_space(None, ds, model)
    d = space.dists[space.names.index("grade[CU-CHL-001]")]
    assert isinstance(d, dists.TruncatedLogNormal)
    assert d.low == pytest.approx(arche["grade_min"] / 100)
    p = space.table.set_index("name")
    assert p.loc["grade[CU-CHL-001]", "provenance"] == "imputed"
    assert p.loc["grade[CU-CHL-002]", "provenance"] == "other_year"


def test_blank_archetype_by_country_and_underground_pool(tmp_path):
    t = base_tables()
    t["countries"].append({"iso3": "COD", "name": "DR Congo"})
    t["supply"] = [{"metal": "copper", "country": "CHL", "share": "0.5", "concentration": "100"},
                   {"metal": "copper", "country": "COD", "share": "0.5", "concentration": "100"}]
    t["mines"] = [dict(MINE, archetype="", country="COD", mine_id="CU-COD-001"),
                  dict(MINE, archetype="", mining_method="underground", stripping_ratio="",
                       stripping_gsd="", mine_id="CU-CHL-009")]
    ds = load_dataset(write_dataset(tmp_path, **t))
    m = ds.mines.set_index("mine_id")
    assert m.loc["CU-COD-001", "archetype"] == "cu_sediment"
    arche = read_archetypes(DEFAULT_ARCHETYPES)
    under = arche[arche["mining_method"] == "underground"]
    assert m.loc["CU-CHL-009", "stripping_ratio"] == pytest.approx(
        float(np.exp(np.log(under["sr_median"]).mean())), rel=RTOL)


def test_follower_stripping_takes_the_site_value(tmp_path):
    ds = site_dataset(tmp_path)
    m = ds.mines.set_index("mine_id")
    assert m.loc["S1-ZN", "stripping_ratio"] == 2.0
    assert "S1-ZN" in set(ds.fills["mine_id"])


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("edit", "match"), [
    ({"country": "CHN"}, r"row \d+ \(mine_id=S1-\w+\), column 'country': the rows of site "
                         r"'S1' must share country"),
    ({"mining_method": "underground"}, r"column 'mining_method': the rows of site 'S1' must "
                                       r"share mining_method"),
    ({"stripping_ratio": "3.0"}, r"column 'stripping_ratio': the rows of site 'S1' share one "
                                 r"ore stream"),
    ({"alloc_mass": "0.5"}, r"column 'alloc_mass': site 'S1' gives alloc_mass on some rows "
                            r"only"),
])
def test_site_rules(tmp_path, edit, match):
    with pytest.raises(DataValidationError, match=match):
        site_dataset(tmp_path, **edit)


def test_explicit_shares_must_sum_to_one(tmp_path):
    t = site_tables()
    t["mines"][1]["alloc_economic"] = "0.5"
    t["mines"][2]["alloc_economic"] = "0.6"
    with pytest.raises(DataValidationError, match=r"alloc_economic shares of site 'S1' must "
                                                  r"sum to 1 .*got 1\.1"):
        load_dataset(write_dataset(tmp_path, **t))


def test_missing_price_refused_under_economic_allocation(tmp_path):
    t = site_tables()
    del t["metals"][1]["price_usd_per_t"]
    t["metals"][0]["price_usd_per_t"] = ""
    for r in t["metals"][1:]:
        r["price_usd_per_t"] = "2500"
    ds = load_dataset(write_dataset(tmp_path, **t))
    build_model(ds, allocation="mass")  # mass needs no price
    with pytest.raises(DataValidationError, match=r"metals\.csv: .*economic allocation needs a "
                                                  r"price for every metal of co-product site "
                                                  r"'S1'.*give price_usd_per_t for copper"):
        build_model(ds, allocation="economic")


def test_blank_no_archetype_can_fill(tmp_path):
    t = base_tables()
    t["metals"].append(dict(t["metals"][0], metal="tin", display_name="Tin"))
    t["mines"].append(dict(MINE, mine_id="SN-CHL-001", metal="tin", archetype="", grade=""))
    with pytest.raises(DataValidationError,
                       match=r"row 3 \(mine_id=SN-CHL-001\), column 'grade': blank, and no "
                             r"archetype can fill it: the archetype table has no archetype "
                             r"of metal 'tin'"):
        load_dataset(write_dataset(tmp_path, **t))


def test_reported_source_with_blank_value(tmp_path):
    t = base_tables()
    t["mines"][0].update(mill_recovery="", recovery_source="reported")
    with pytest.raises(DataValidationError, match=r"column 'mill_recovery': blank, but "
                                                  r"recovery_source says 'reported'"):
        load_dataset(write_dataset(tmp_path, **t))


def test_override_of_a_follower_stripping_ratio_refused(tmp_path):
    from uncertainty.config import parse_run

    ds = site_dataset(tmp_path)
    model = build_model(ds)
    run = parse_run({"name": "t", "dataset": str(tmp_path), "overrides": {
        "stripping_ratio[S1-ZN]": {"dist": "lognormal", "median": 2, "gsd": 1.5}}},
        base=tmp_path)
    with pytest.raises(SpaceError, match=r"stripping_ratio\[S1-ZN\].*override that one"):
        build_space(run, ds, model)
    ok = parse_run({"name": "t", "dataset": str(tmp_path), "overrides": {
        "stripping_ratio[S1-*]": {"dist": "lognormal", "median": 2, "gsd": 1.5}}},
        base=tmp_path)
    space = build_space(ok, ds, model)
    assert space.table.set_index("name").loc["stripping_ratio[S1-ZN]", "family"] == "fixed"


def test_cli_validate_site_error_exits_2(tmp_path, capsys):
    folder = write_dataset(tmp_path, **site_tables(country="CHN"))
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must share country" in err[0] and "Traceback" not in err[0]


def test_cli_run_without_a_price_exits_2_and_writes_nothing(tmp_path, capsys):
    t = site_tables()
    t["metals"][1]["price_usd_per_t"] = ""
    folder = write_dataset(tmp_path / "data", **t)
    run = tmp_path / "run.toml"
    run.write_text(f'name = "sites"\ndataset = "{folder.as_posix()}"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(run), "--deterministic", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "economic allocation needs a price" in err[0]
    assert "give price_usd_per_t for zinc" in err[0]
    assert not out.exists()


# -------------------------------------------- archetype cells, choice, site provenance
@pytest.mark.parametrize(("blank", "cell", "column"), [
    ({"grade": "", "grade_unit": ""}, "grade_median", "grade"),
    ({"mill_recovery": ""}, "recovery_mode", "mill_recovery"),
    ({"stripping_ratio": "", "stripping_gsd": ""}, "sr_median", "stripping_ratio"),
    ({"grade_gsd": ""}, "grade_log_sd", "grade_gsd"),  # a synthetic row's spread
    ({"recovery_sd": ""}, "recovery_max", "recovery_sd"),
])
def test_blank_archetype_cell_needed_by_a_fill_refused(tmp_path, blank, cell, column):
    """A blank archetype cell that a fill needs is an error naming archetypes.csv, the
    archetype's row, its column and the mines.csv row (not a NaN that passes)."""
    folder = write_dataset(tmp_path, mines={(0, k): v for k, v in blank.items()})
    line = write_archetypes(folder, {("cu_porphyry", cell): ""})["cu_porphyry"][0]
    with pytest.raises(DataValidationError, match=(
            rf"archetypes\.csv: row {line} \(archetype=cu_porphyry\), column '{cell}': "
            rf"blank, but mines\.csv row 2 \(mine_id=CU-CHL-001\) needs it to fill "
            rf"{column}")) as err:
        load_dataset(folder)
    assert err.value.file.endswith("archetypes.csv") and err.value.column == cell


def test_archetype_value_breaking_the_column_rule_refused(tmp_path):
    """A value filled from an archetype is checked against the mines.csv column's rule."""
    folder = write_dataset(tmp_path, mines={(0, "mill_recovery"): ""})
    line = write_archetypes(folder, {("cu_porphyry", "recovery_mode"): "1.5"})["cu_porphyry"][0]
    with pytest.raises(DataValidationError, match=(
            rf"archetypes\.csv: row {line} \(archetype=cu_porphyry\), column 'recovery_mode': "
            r"fills mines\.csv row 2 \(mine_id=CU-CHL-001\), column 'mill_recovery' with "
            r"1\.5, which must be in \(0, 1\]")):
        load_dataset(folder)


def test_a_blank_archetype_cell_no_fill_needs_is_fine(tmp_path):
    """Whole-ore processing: a blank conc_grade of the archetype leaves the row's blank."""
    folder = write_dataset(tmp_path, mines={(0, "conc_grade"): "", (0, "grade_gsd"): ""})
    write_archetypes(folder, {("cu_porphyry", "conc_grade"): "",
                              ("cu_porphyry", "sr_log_sd"): ""})
    ds = load_dataset(folder)
    assert math.isnan(ds.mines["conc_grade"].iloc[0])
    assert math.isfinite(ds.mines["grade_gsd"].iloc[0])


def test_duplicate_archetype_refused(tmp_path):
    folder = write_dataset(tmp_path, mines={(0, "grade"): "", (0, "grade_unit"): ""})
    lines = write_archetypes(folder, extra=[{"archetype": "cu_porphyry", "metal": "zinc"}])
    first, again = lines["cu_porphyry"]
    with pytest.raises(DataValidationError, match=(
            rf"archetypes\.csv: row {again} \(archetype=cu_porphyry\), column 'archetype': "
            rf"duplicate archetype \(each must be unique; first on row {first}\) "
            r"\(got 'cu_porphyry'\)")):
        load_dataset(folder)


def test_follower_provenance_takes_the_lead_stripping_source(tmp_path):
    """A follower's blank stripping ratio is the lead's: its stripping_source is the
    lead's, and its blank synthetic flag is computed from that source."""
    t = site_tables(stripping_ratio="", synthetic="", grade_source="synthetic",
                    recovery_source="synthetic")
    t["mines"] = with_columns(t["mines"], grade_source="", stripping_source="",
                              recovery_source="")
    ds = load_dataset(write_dataset(tmp_path, **t))
    zn = ds.mines.set_index("mine_id").loc["S1-ZN"]
    assert zn["stripping_source"] == "synthetic"  # the lead's (MINE is a synthetic row)
    assert bool(zn["synthetic"]) is True


@pytest.mark.parametrize(("metal", "method", "country", "want"), [
    ("nickel", "open_pit", "CAN", "ni_sulphide"),  # not ni_laterite, reserved for others
    ("nickel", "open_pit", "IDN", "ni_laterite"),
    ("nickel", "underground", "IDN", "ni_sulphide"),  # the row's mining method first
    ("lithium", "underground", "CHL", "li_spodumene"),  # not a brine archetype
    ("lithium", "underground", "AUS", "li_spodumene"),
    ("lithium", "brine", "CHL", "li_brine"),
    ("lithium", "brine", "USA", "li_brine"),  # no general brine archetype: the fallback
    ("copper", "underground", "COD", "cu_sediment"),  # no underground copper archetype
    ("copper", "underground", "CHL", "cu_porphyry"),
    ("iron", "open_pit", "AUS", "fe_hematite"),
    ("iron", "open_pit", "SWE", "fe_magnetite"),
    ("gold", "open_pit", "CHL", ""),
])
def test_choose_archetype_reserved_only_for_its_countries(metal, method, country, want):
    assert choose_archetype(read_archetypes(DEFAULT_ARCHETYPES), metal, method, country) == want


def test_choose_archetype_without_a_general_archetype_falls_back():
    """A metal whose archetypes are all reserved: the first of its mining method."""
    table = read_archetypes(DEFAULT_ARCHETYPES).drop(index="cu_porphyry")
    assert choose_archetype(table, "copper", "open_pit", "CHL") == "cu_sediment"


def test_nickel_open_pit_outside_the_laterite_countries(tmp_path):
    t = base_tables()
    t["countries"].append({"iso3": "CAN", "name": "Canada"})
    t["metals"].append(dict(t["metals"][0], metal="nickel", display_name="Nickel"))
    t["mines"].append(dict(MINE, mine_id="NI-CAN-001", metal="nickel", country="CAN",
                           archetype="", grade="", grade_unit="", conc_grade=""))
    ds = load_dataset(write_dataset(tmp_path, **t))
    r = ds.mines.set_index("mine_id").loc["NI-CAN-001"]
    arche = read_archetypes(DEFAULT_ARCHETYPES).loc["ni_sulphide"]
    assert r["archetype"] == "ni_sulphide"
    assert r["grade"] == pytest.approx(arche["grade_median"] / 100, rel=RTOL)


def test_missing_price_lead_is_the_largest_explicit_share(tmp_path):
    """Without a price the main product stays blank; the site's lead (its stripping draw)
    is the row with the largest explicit allocation share, not the site's first row."""
    t = site_tables(alloc_economic="0.3")  # the zinc row comes first in the file
    t["metals"][0]["price_usd_per_t"] = ""
    t["mines"][2]["alloc_economic"] = "0.7"
    ds = load_dataset(write_dataset(tmp_path, **t))
    assert list(ds.mines["mine_id"]) == ["CU-CHL-002", "S1-CU", "S1-ZN"]
    model = build_model(ds, allocation="economic")
    assert model.mine_lead.tolist() == [0, 1, 1]
    np.testing.assert_allclose(allocation_shares(ds, "economic"), [0.8, 0.7, 0.3])


def test_missing_price_lead_ties_take_the_first_row(tmp_path):
    t = site_tables(alloc_economic="0.5")
    t["metals"][0]["price_usd_per_t"] = ""
    t["mines"][2]["alloc_economic"] = "0.5"
    ds = load_dataset(write_dataset(tmp_path, **t))
    assert list(ds.mines["mine_id"]) == ["CU-CHL-002", "S1-ZN", "S1-CU"]


# ------------------------------------------------------- docs/data.md, gaps and sites
def test_zero_stripping_ratio_has_no_spread(tmp_path):
    """A reported stripping ratio of 0 (no waste rock) gets stripping_gsd = 1, not the
    year-to-year spread of a lognormal around 0."""
    t = base_tables()
    t["mines"][0].update(stripping_ratio="0", stripping_gsd="", synthetic="false")
    ds = load_dataset(write_dataset(tmp_path, **t))
    r = ds.mines.iloc[0]
    assert r["stripping_source"] == "reported" and r["stripping_gsd"] == 1.0


def test_lead_reported_stripping_given_on_a_follower(tmp_path):
    """A site's stripping ratio may be given on any of its rows: a lead that leaves it
    blank and says 'reported' takes the follower's value (and provenance)."""
    t = site_tables(stripping_ratio="2.5", synthetic="false")
    t["mines"] = with_columns(t["mines"], stripping_source="")
    t["mines"][2].update(stripping_ratio="", stripping_source="reported", synthetic="false")
    ds = load_dataset(write_dataset(tmp_path, **t))
    m = ds.mines.set_index("mine_id")
    assert m.loc[["S1-CU", "S1-ZN"], "stripping_ratio"].tolist() == [2.5, 2.5]
    assert m.loc[["S1-CU", "S1-ZN"], "stripping_source"].tolist() == ["reported"] * 2
    # the row that gives it says otherwise: an error
    t["mines"][1]["stripping_source"] = "other_year"
    with pytest.raises(DataValidationError, match=r"row \d \(mine_id=S1-CU\), column "
                                                  r"'stripping_source': the rows of site 'S1' "
                                                  r"share one stripping ratio; line 3 gives "
                                                  r"it, as 'other_year'"):
        load_dataset(write_dataset(tmp_path / "other", **t))
    # no row of the site gives it: still an error, naming the row that claims it
    t["mines"][1]["stripping_ratio"] = ""
    with pytest.raises(DataValidationError, match=r"row \d \(mine_id=S1-CU\), column "
                                                  r"'stripping_ratio': blank, but "
                                                  r"stripping_source says 'reported'"):
        load_dataset(write_dataset(tmp_path / "none", **t))


def test_imputed_value_with_explicit_spread_truncated_at_the_archetype(tmp_path):
    arche = read_archetypes(DEFAULT_ARCHETYPES).loc["cu_porphyry"]
    t = base_tables()
    t["mines"][0].update(grade="", grade_unit="", grade_gsd="1.3", mill_recovery="",
                         recovery_sd="0.02", synthetic="false")
    ds = load_dataset(write_dataset(tmp_path, **t))
    r = ds.mines.iloc[0]
    assert r["grade_source"] == "imputed" and r["grade_gsd"] == 1.3
    assert (r["grade_low"], r["grade_high"]) == pytest.approx(
        (arche["grade_min"] / 100, arche["grade_max"] / 100), rel=RTOL)
    assert (r["recovery_low"], r["recovery_high"]) == (arche["recovery_min"],
                                                       arche["recovery_max"])
    space = build_space(None, ds, build_model(ds))
    d = space.dists[space.names.index("grade[CU-CHL-001]")]
    assert isinstance(d, dists.TruncatedLogNormal) and d.gsd == pytest.approx(1.3)


def test_missing_price_error_names_the_metals_line(tmp_path):
    t = site_tables()
    t["metals"][1]["price_usd_per_t"] = ""
    ds = load_dataset(write_dataset(tmp_path, **t))
    with pytest.raises(DataValidationError, match=r"metals\.csv: row 3 \(metal=zinc\), column "
                                                  r"'price_usd_per_t': economic allocation"):
        allocation_shares(ds, "economic")
    metals = ds.tables["metals"][ds.tables["metals"]["metal"] != "zinc"]
    absent = Dataset(ds.path, {**ds.tables, "metals": metals}, ds.hashes, ds.fills)
    with pytest.raises(DataValidationError, match=r"metals\.csv: .*column 'price_usd_per_t': "
                                                  r".*zinc is absent from metals\.csv"):
        allocation_shares(absent, "main-product")


def test_imputed_value_without_archetype_keeps_its_explicit_spread(tmp_path):
    """A co-product without archetype (gold, as the importer writes it): its imputed
    recovery with an explicit spread has no range to be truncated at."""
    t = site_tables(metal="gold", archetype="", mill_recovery="0.7", recovery_sd="0.15",
                    recovery_source="imputed")
    t["mines"] = with_columns(t["mines"], recovery_source="")
    t["mines"][2]["stripping_ratio"] = ""  # the site's, from the copper row's archetype
    t["metals"][1].update(metal="gold", display_name="Gold")
    t["supply"] = t["supply"][:1]
    t["vehicles"] = [v for v in t["vehicles"] if v["metal"] != "zinc"]
    ds = load_dataset(write_dataset(tmp_path, **t))
    r = ds.mines.set_index("mine_id").loc["S1-ZN"]
    assert r["recovery_source"] == "imputed" and r["recovery_sd"] == 0.15
    assert math.isnan(r["recovery_low"]) and math.isnan(r["recovery_high"])
