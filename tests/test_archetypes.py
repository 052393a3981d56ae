"""Tests of uncertainty.build.archetypes: units, the fit on a tiny fixture, fall-backs, output."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from realdata import MISSING, jasansky_dir

from uncertainty.build.archetypefit import fit_archetypes, main
from uncertainty.build.archetypes import (
    ARCHETYPES,
    COLUMNS,
    GRADE_UNITS,
    SOURCE_DATA,
    SOURCE_LITERATURE,
    lognormal_summary,
    recovery_summary,
    to_mass_fraction,
)

JASANSKY = jasansky_dir()
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (0.75, "%", 0.0075),
        (62.0, "% Fe", 0.62),
        (44.0, "% Mn", 0.44),
        (1.5, "% Li2O", 0.006969),  # 1.5 % x 0.4646
        (50.0, "% Al2O3", 0.2645),  # 50 % x 0.529
        (5.0, "% REO", 0.05),  # REO mass is the product: factor 1.0
        (4.0, "g/t", 4e-6),
    ],
)
def test_to_mass_fraction_each_unit(value: float, unit: str, expected: float) -> None:
    got = to_mass_fraction(value, unit)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_to_mass_fraction_arrays_and_vocabulary() -> None:
    np.testing.assert_allclose(to_mass_fraction(np.array([1.0, 2.0]), "% Li2O"),
                               [0.004646, 0.009292], rtol=1e-12)
    assert set(GRADE_UNITS) == {"%", "% Fe", "% Mn", "% Li2O", "% Al2O3", "% REO", "g/t"}
    with pytest.raises(ValueError, match="unknown grade unit"):
        to_mass_fraction(1.0, "ppm")


def test_archetype_table_is_complete_and_consistent() -> None:
    assert sorted(ARCHETYPES) == sorted([
        "cu_porphyry", "cu_sediment", "ni_sulphide", "ni_laterite", "co_byproduct",
        "li_spodumene", "li_brine", "fe_hematite", "fe_magnetite", "bauxite", "zn", "pb",
        "mn", "pgm", "ree"])
    metals = {"iron", "aluminium", "copper", "zinc", "lead", "nickel", "cobalt", "lithium",
              "manganese", "pgm", "rare_earths"}
    for key, a in ARCHETYPES.items():
        assert a.metal in metals
        assert a.grade_unit in GRADE_UNITS
        assert a.grade_min <= a.grade_median <= a.grade_max, key
        assert a.sr_min <= a.sr_median <= a.sr_max, key
        assert 0 < a.recovery_min <= a.recovery_mode <= a.recovery_max <= 1, key
        expected = {"pgm": "underground", "ni_sulphide": "underground", "li_brine": "brine"}
        assert a.mining_method == expected.get(key, "open_pit")
    assert ARCHETYPES["ni_laterite"].conc_grade is None
    assert ARCHETYPES["li_brine"].conc_grade is None
    # typical-value fall-back: geometric mean of the typical range, min..max as a 95 % range
    cu = ARCHETYPES["cu_porphyry"]
    assert math.isclose(cu.grade_median, math.sqrt(0.6 * 0.9), rel_tol=1e-12)
    assert math.isclose(cu.grade_log_sd, math.log(3.4 / 0.3) / (2 * 1.959963984540054),
                        rel_tol=1e-12)
    # bauxite: 2.3-3 t bauxite per t alumina at the median grade, 1.89 t alumina per t Al
    b = ARCHETYPES["bauxite"]
    per_alumina = [1 / (b.grade_median / 100 * r)
                   for r in (b.recovery_max, b.recovery_mode, b.recovery_min)]
    assert 2.25 < per_alumina[0] < 2.35 and 2.95 < per_alumina[2] < 3.05
    assert b.conc_grade is not None
    assert math.isclose(1 / b.conc_grade, 1 / 0.529, rel_tol=1e-12)
    li = ARCHETYPES["li_spodumene"]
    assert li.conc_grade is not None
    assert math.isclose(li.conc_grade, to_mass_fraction(6.0, "% Li2O"), rel_tol=1e-12)


def test_summaries_by_hand() -> None:
    x = [1.0, 2.0, 4.0]
    lo, med, hi, sd = lognormal_summary(x)
    assert math.isclose(med, 2.0, rel_tol=1e-12)  # exp(mean(ln x)) = (1*2*4)^(1/3)
    assert math.isclose(sd, math.log(2.0), rel_tol=1e-12)  # ln x = 0, ln2, 2 ln2
    assert math.isclose(lo, 1.0 + 0.05 * 1.0, rel_tol=1e-12)  # 2.5 % of 2 intervals
    assert math.isclose(hi, 4.0 - 0.05 * 2.0, rel_tol=1e-12)
    assert recovery_summary([0.8, 0.9, 0.7]) == pytest.approx((0.705, 0.8, 0.895), rel=1e-12)
    with pytest.raises(ValueError):
        lognormal_summary([1.0, 0.0])


# ---------------------------------------------------------------------------------------
# a tiny Jasansky-shaped fixture
# ---------------------------------------------------------------------------------------

# facility -> (country, primary commodity, Cu grade ppm per year, recovery, t Cu in 2019)
_CU = {
    "F1": ("CHL", {2018: 5000.0, 2019: 7000.0}, 0.80, 10_000.0),
    "F2": ("CHL", {2019: 4000.0}, 0.85, 20_000.0),
    "F3": ("PER", {2019: 8000.0}, 0.86, 40_000.0),
    "F4": ("PER", {2019: 10000.0}, 0.88, 80_000.0),
    "F5": ("USA", {2019: 3000.0}, 0.90, 160_000.0),
    "F6": ("USA", {2019: 12000.0}, 0.91, 5_000.0),
    "F7": ("CAN", {2019: 7000.0}, 0.92, 2_500.0),
    "F8": ("MEX", {2019: 9000.0}, 0.94, 1_250.0),
}


def _write_fixture(d: Path) -> None:
    fac = [
        {"facility_id": f, "facility_name": f"Mine {f}", "primary_commodity": "Copper",
         "facility_equipment": "Open pit", "GID_0": iso}
        for f, (iso, *_rest) in _CU.items()
    ]
    fac.append({"facility_id": "F9", "facility_name": "Mine F9", "primary_commodity": "Copper",
                "facility_equipment": "Open pit", "GID_0": "COD"})
    pd.DataFrame(fac).to_csv(d / "facilities.csv", index=False)
    com = []
    for f, (_iso, grades, rec, size) in _CU.items():
        for year, g in grades.items():
            com.append({"facility_id": f, "year": year, "material": "O.Cu",
                        "commodity": "Me.Cu", "value_tonnes": size if year == 2019 else 1.0,
                        "grade_ppm": g, "recovery_rate": rec, "id_minerals": np.nan})
    com.append({"facility_id": "F9", "year": 2019, "material": "O.Cu", "commodity": "Me.Cu",
                "value_tonnes": 50_000.0, "grade_ppm": 30000.0, "recovery_rate": 0.85,
                "id_minerals": np.nan})
    pd.DataFrame(com).to_csv(d / "commodities.csv", index=False)
    pd.DataFrame([
        {"id": 1, "facility_id": "F1", "year": 2019, "type": "Ore mined", "material": "O.Cu",
         "value_tonnes": 1_000_000.0},
        {"id": 2, "facility_id": "F2", "year": 2019, "type": "Ore mined", "material": "O.Cu",
         "value_tonnes": 2_000_000.0},
    ]).to_csv(d / "minerals.csv", index=False)
    pd.DataFrame([
        # reported stripping ratio
        {"facility_id": "F1", "year": 2019, "type_mining": "Surface", "waste_type": "Waste rock",
         "value_tonnes": np.nan, "total_material_tonnes": np.nan, "stripping_ratio": 2.0,
         "waste_to_ore_ratio": np.nan},
        # waste rock / ore mined: 6 Mt / 2 Mt = 3
        {"facility_id": "F2", "year": 2019, "type_mining": "Surface", "waste_type": "Waste rock",
         "value_tonnes": 6_000_000.0, "total_material_tonnes": np.nan,
         "stripping_ratio": np.nan, "waste_to_ore_ratio": np.nan},
        # waste rock / (total - waste rock): 4 / (5 - 4) = 4
        {"facility_id": "F3", "year": 2019, "type_mining": "Surface", "waste_type": "Waste rock",
         "value_tonnes": 4_000_000.0, "total_material_tonnes": 5_000_000.0,
         "stripping_ratio": np.nan, "waste_to_ore_ratio": np.nan},
    ]).to_csv(d / "waste.csv", index=False)


def test_fit_on_tiny_fixture(tmp_path: Path) -> None:
    _write_fixture(tmp_path)
    df = fit_archetypes(tmp_path)
    assert list(df.columns) == list(COLUMNS)
    assert list(df["archetype"]) == sorted(ARCHETYPES)
    cu = df.set_index("archetype").loc["cu_porphyry"]

    # grades in %: facility medians (F1: median of 0.5 and 0.7 = 0.6)
    g = np.array([0.6, 0.4, 0.8, 1.0, 0.3, 1.2, 0.7, 0.9])
    ln = np.log(g)
    assert cu["n_grade"] == 8 and cu["source_grade"] == SOURCE_DATA
    np.testing.assert_allclose(cu["grade_median"], np.exp(ln.mean()), rtol=1e-5)
    np.testing.assert_allclose(cu["grade_log_sd"], ln.std(ddof=1), rtol=1e-5)
    np.testing.assert_allclose([cu["grade_min"], cu["grade_max"]],
                               np.percentile(g, [2.5, 97.5]), rtol=1e-5)
    # recovery: mode = median of facility values
    r = np.array([0.80, 0.85, 0.86, 0.88, 0.90, 0.91, 0.92, 0.94])
    assert cu["n_recovery"] == 8 and cu["source_recovery"] == SOURCE_DATA
    np.testing.assert_allclose(cu["recovery_mode"], np.median(r), rtol=1e-5)
    # mine size: 2019 metal tonnes, lognormal
    s = np.array([10_000, 20_000, 40_000, 80_000, 160_000, 5_000, 2_500, 1_250], float)
    np.testing.assert_allclose(cu["size_median_t"], np.exp(np.log(s).mean()), rtol=1e-5)
    np.testing.assert_allclose(cu["size_log_sd"], np.log(s).std(ddof=1), rtol=1e-5)
    assert cu["source_size"] == SOURCE_DATA

    # stripping ratio: 3 facilities (2, 3, 4) < 8 -> typical-value fall-back, n recorded
    a = ARCHETYPES["cu_porphyry"]
    assert cu["n_sr"] == 3 and cu["source_sr"] == SOURCE_LITERATURE
    np.testing.assert_allclose(cu["sr_median"], a.sr_median, rtol=1e-5)
    notes = df.attrs["notes"]["cu_porphyry"]
    assert any("only 3 facilities" in n and "median 2.88" in n for n in notes)

    # sediment-hosted: one COD mine -> typical-value fall-back for everything, labelled
    sed = df.set_index("archetype").loc["cu_sediment"]
    assert sed["n_grade"] == 1 and sed["source_grade"] == SOURCE_LITERATURE
    np.testing.assert_allclose(sed["grade_median"], ARCHETYPES["cu_sediment"].grade_median,
                               rtol=1e-5)
    assert sed["source_recovery"] == SOURCE_LITERATURE and sed["source_size"] == SOURCE_LITERATURE

    # archetypes without any data: all typical values, n = 0
    zn = df.set_index("archetype").loc["zn"]
    assert zn[["n_grade", "n_sr", "n_recovery", "n_size"]].tolist() == [0, 0, 0, 0]
    assert {zn["source_grade"], zn["source_sr"], zn["source_recovery"],
            zn["source_size"]} == {SOURCE_LITERATURE}
    assert math.isnan(df.set_index("archetype").loc["ni_laterite", "conc_grade"])


def test_fit_drops_unit_errors(tmp_path: Path) -> None:
    _write_fixture(tmp_path)
    com = pd.read_csv(tmp_path / "commodities.csv")
    extra = com.iloc[[0]].copy()
    extra["facility_id"] = "F7"
    extra["year"] = 2017
    extra["grade_ppm"] = 2e6  # above 1e6 ppm: impossible
    extra["recovery_rate"] = 85.0  # a percentage in a fraction column
    pd.concat([com, extra]).to_csv(tmp_path / "commodities.csv", index=False)
    cu = fit_archetypes(tmp_path).set_index("archetype").loc["cu_porphyry"]
    g = np.array([0.6, 0.4, 0.8, 1.0, 0.3, 1.2, 0.7, 0.9])
    np.testing.assert_allclose(cu["grade_median"], np.exp(np.log(g).mean()), rtol=1e-5)
    np.testing.assert_allclose(cu["recovery_mode"], 0.89, rtol=1e-5)


@pytest.mark.skipif(JASANSKY is None, reason=MISSING)
def test_main_is_byte_identical_on_rerun(tmp_path: Path) -> None:
    out1, out2 = tmp_path / "a", tmp_path / "b"
    assert main([str(JASANSKY), str(out1)]) == 0
    assert main([str(JASANSKY), str(out2)]) == 0
    for name in ("archetypes.csv", "ARCHETYPES.md"):
        b1 = (out1 / name).read_bytes()
        assert b1 == (out2 / name).read_bytes()
        committed = REPO / "distributions" / name
        if committed.exists():
            assert b1 == committed.read_bytes(), f"distributions/{name} is stale: regenerate"
    df = pd.read_csv(out1 / "archetypes.csv")
    assert len(df) == 15
    cu = df.set_index("archetype").loc["cu_porphyry"]
    assert cu["source_grade"] == SOURCE_DATA and cu["n_grade"] >= 8
    assert 0.3 <= cu["grade_median"] <= 3.4
