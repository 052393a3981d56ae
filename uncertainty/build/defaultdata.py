"""Deterministic generator of the illustrative default 1,784-mine database.

Run ``python -m uncertainty.build.defaultdata distributions/`` (or ``make data``). The
uncalibrated dataset lives in ``distributions/curated/``: the hand-curated tables
(``metals.csv``, ``countries.csv``, ``supply.csv``, ``vehicles.csv``, ``fleet.csv``,
``chemistries.csv``, ``battery_mix.csv``) and, drawn here from the fitted archetypes
(``archetypes.csv``: the table of :mod:`uncertainty.build.archetypes`, fitted by
:func:`uncertainty.build.archetypefit.fit_archetypes`),

* ``mines.csv``: 1,784 synthetic mines (every row has ``synthetic = true``),
* ``globals.csv``: the scalar inputs before calibration.

The builder calibrates that dataset and writes its tables, with the fit, into
``distributions/`` itself, beside ``calibration.csv``, ``calibration_targets.csv`` and
``calibration_conflicts.csv`` (the knobs fitted, the targets achieved and the targets
that pull against each other).

Every mine is drawn from its archetype's fitted distributions with a fixed seed
(``numpy.random.default_rng(SEED)``, never the global generator) and values are rounded
to 6 significant digits, so re-running gives byte-identical files.

Calibration: :func:`uncertainty.calibrate` over the knobs and targets of the default run
file's ``[calibration]`` section (``runs/china-2019.toml``, whose ``calibration.dataset``
is ``distributions/curated``: stripping-ratio multipliers per metal within the
archetypes' ranges, China's domestic supply shares, BEV and PHEV copper and battery
size, the hidden flow per kWh; the study's totals, ratios and scenario reductions as
targets). ``uncertainty calibrate runs/china-2019.toml`` gives the same fit.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uncertainty import store
from uncertainty.calibration import Calibration, calibrate, calibrated_files
from uncertainty.config import load_run
from uncertainty.data import (
    ARCHETYPE_GRADE_UNITS,
    CONC_GRADE_MAX,
    GRADE_BASIS_FACTORS,
    SPECS,
    read_table,
)
from uncertainty.resources import default_dataset, default_run

__all__ = ["MINE_COUNTS", "SEED", "generate", "main"]

SEED = 20190101

#: Subfolder holding the uncalibrated default dataset: the hand-curated tables as
#: published and the drawn mines; the folder's own tables are its calibrated copy.
CURATED = "curated"

#: Mines per metal in the default database (sums to 1,784, the study's count).
MINE_COUNTS = {
    "iron": 330, "aluminium": 110, "copper": 440, "zinc": 260, "lead": 170, "nickel": 120,
    "cobalt": 60, "lithium": 44, "manganese": 130, "pgm": 50, "rare_earths": 70,
}

GLOBALS = [
    # parameter, value (calibrated ones are overwritten), unit, gsd, source
    ("grid_hf_kg_per_kwh", 1.0, "kg hidden flow per kWh", 1.6,
     "calibrated within 1-6 kg per kWh (a coal-heavy grid; docs/science.md); log-sd 0.47"),
    ("coal_used_kg_per_kwh", 0.0, "kg coal used per kWh", 1.0,
     "0 by default: the study's used extraction (57 Mt) is matched by ore and concentrate alone"),
    ("battery_pack_factor", 1.2, "pack/cell cathode metal", 1.08,
     "docs/science.md: packs need 10-30% more than the cell-level minimum"),
]


#: allocation per archetype: (economic low, economic high, mass share, main product?)
_ALLOC = {
    "cu_porphyry": (0.80, 0.95, 0.99, True), "cu_sediment": (0.70, 0.85, 0.97, True),
    "co_byproduct": (0.15, 0.35, 0.03, False), "zn": (0.55, 0.75, 0.70, True),
    "pb": (0.20, 0.40, 0.25, False), "ni_sulphide": (0.70, 0.90, 0.80, True),
    "ni_laterite": (0.90, 1.00, 0.98, True), "pgm": (0.85, 0.95, 0.01, True),
    "ree": (0.80, 0.95, 0.30, True), "li_spodumene": (0.90, 1.00, 0.95, True),
    "li_brine": (0.60, 0.80, 0.20, True), "fe_hematite": (1.0, 1.0, 1.0, True),
    "fe_magnetite": (1.0, 1.0, 1.0, True), "bauxite": (1.0, 1.0, 1.0, True),
    "mn": (1.0, 1.0, 1.0, True),
}

#: the mineral an archetype's concentrate is, where it is richer in metal than the
#: concentrate of another archetype of the metal (the rest use CONC_GRADE_MAX)
_CONC_MINERAL_MAX = {"fe_hematite": 0.6994}  # Fe2O3; magnetite Fe3O4 0.7236

_CODE = {"iron": "FE", "aluminium": "AL", "copper": "CU", "zinc": "ZN", "lead": "PB",
         "nickel": "NI", "cobalt": "CO", "lithium": "LI", "manganese": "MN", "pgm": "PGM",
         "rare_earths": "REE"}


def archetype_for(metal: str, country: str, i: int) -> str:
    """Deposit archetype of the i-th mine of a metal in a country."""
    if metal == "iron":
        return "fe_magnetite" if country in {"CHN", "RUS", "SWE", "CAN", "UKR", "IRN", "KAZ"} \
            else "fe_hematite"
    if metal == "aluminium":
        return "bauxite"
    if metal == "copper":
        return "cu_sediment" if country in {"COD", "ZMB"} else "cu_porphyry"
    if metal == "nickel":
        return "ni_laterite" if country in {"IDN", "PHL", "NCL", "CUB", "BRA"} else "ni_sulphide"
    if metal == "cobalt":
        return "co_byproduct"
    if metal == "lithium":
        if country in {"CHL", "ARG"}:
            return "li_brine"
        if country == "CHN":
            return "li_brine" if i % 2 else "li_spodumene"
        return "li_spodumene"
    return {"manganese": "mn", "zinc": "zn", "lead": "pb", "pgm": "pgm",
            "rare_earths": "ree"}[metal]


def _mines_per_country(n: int, shares: pd.Series) -> dict[str, int]:
    """Split ``n`` mines over countries ~ share**0.6, at least one each (largest remainder)."""
    w = shares[shares > 0] ** 0.6
    raw = (n - len(w)) * w / w.sum()
    base = np.floor(raw).astype(int) + 1
    left = n - int(base.sum())
    order = np.argsort(-(raw - np.floor(raw)).to_numpy(), kind="stable")
    base_arr = base.to_numpy().copy()
    base_arr[order[:left]] += 1
    return dict(zip(w.index, base_arr.tolist(), strict=True))


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def _draw_mines(folder: Path, arche: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    supply = read_table(folder / "supply.csv", SPECS["supply"])
    countries = read_table(folder / "countries.csv", SPECS["countries"]).set_index("iso3")["name"]
    a = arche.set_index("archetype")
    rows = []
    for metal, n_metal in MINE_COUNTS.items():
        shares = supply[supply.metal == metal].set_index("country")["share"]
        for country, n_c in _mines_per_country(n_metal, shares).items():
            for i in range(n_c):
                key = archetype_for(metal, country, i)
                p: Any = a.loc[key]  # one archetype row (a Series)
                div, basis = ARCHETYPE_GRADE_UNITS[str(p.grade_unit)]
                grade = np.clip(p.grade_median * np.exp(p.grade_log_sd * rng.standard_normal()),
                                p.grade_min, p.grade_max) / div
                if p.mining_method == "brine":
                    sr = 0.0
                else:
                    sr = float(np.clip(p.sr_median * np.exp(p.sr_log_sd * rng.standard_normal()),
                                       p.sr_min, p.sr_max))
                lo, mode, hi = p.recovery_min, p.recovery_mode, p.recovery_max
                rec = rng.triangular(lo, mode, hi) if hi > lo else mode
                size = p.size_median_t * np.exp(p.size_log_sd * rng.standard_normal())
                e_lo, e_hi, mass, main = _ALLOC[key]
                econ = rng.uniform(e_lo, e_hi) if e_hi > e_lo else e_lo
                rr = rng.uniform(0.90, 0.98)
                conc = p.conc_grade
                if not np.isnan(conc):
                    conc = float(np.clip(conc * np.exp(0.1 * rng.standard_normal()), 1e-6, 1.0))
                    # never richer than its mineral, never leaner than its ore
                    top = _CONC_MINERAL_MAX.get(key, CONC_GRADE_MAX.get((metal, basis), (1.0, ""))[0])
                    conc = max(min(conc, top), grade * GRADE_BASIS_FACTORS[basis])
                rows.append({
                    "mine_id": f"{_CODE[metal]}-{country}-{i + 1:03d}",
                    "name": f"Synthetic {metal.replace('_', ' ')} mine {country} {i + 1}",
                    "country": country, "country_name": countries[country], "metal": metal,
                    "archetype": key, "mining_method": p.mining_method,
                    "production_t": _sig(float(size)), "grade": _sig(float(grade)),
                    "grade_unit": basis, "stripping_ratio": _sig(float(sr)),
                    "mill_recovery": _sig(float(min(rec, 1.0))),
                    "conc_grade": "" if np.isnan(conc) else _sig(conc),
                    "refining_recovery": _sig(rr), "alloc_economic": _sig(econ),
                    "alloc_mass": _sig(mass), "main_product": "true" if main else "false",
                    "grade_gsd": _sig(np.exp(rng.uniform(0.05, 0.15))),
                    "stripping_gsd": _sig(np.exp(rng.uniform(0.10, 0.25))) if sr > 0 else 1.0,
                    "recovery_sd": _sig(rng.uniform(0.01, 0.03)),
                    "synthetic": "true",
                })
    return pd.DataFrame(rows)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.6g")
    tmp.replace(path)


def generate(folder: str | Path, run_file: str | Path | None = None) -> Calibration:
    """Build the default dataset in ``folder`` from its uncalibrated source
    ``folder/curated/``: draw ``mines.csv`` and ``globals.csv`` there, calibrate that
    dataset with ``run_file``'s ``[calibration]`` (default: the default run file), and
    write its tables with the fit into ``folder``, with ``calibration.csv``,
    ``calibration_targets.csv`` and ``calibration_conflicts.csv``.

    Returns the calibration.
    """
    folder = Path(folder)
    src = folder / CURATED
    arche = pd.read_csv(folder / "archetypes.csv")
    _write_csv(_draw_mines(src, arche), src / "mines.csv")
    _write_csv(pd.DataFrame(GLOBALS, columns=["parameter", "value", "unit", "gsd", "source"]),
               src / "globals.csv")
    run = load_run(run_file or default_run())
    run = replace(run, calibration=replace(run.calibration, dataset=src.resolve()))
    cal = calibrate(run)
    fitted = calibrated_files(cal)
    for f in sorted(src.glob("*.csv")):
        store.write_bytes(folder / f.name, fitted.get(f.name) or f.read_bytes())
    store.write_csv(folder / "calibration.csv", cal.knobs)
    store.write_csv(folder / "calibration_targets.csv", cal.targets)
    store.write_csv(folder / "calibration_conflicts.csv", cal.conflicts)
    return cal


def main(argv: list[str] | None = None) -> int:
    """``python -m uncertainty.build.defaultdata [FOLDER]`` regenerates the default database."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else default_dataset()
    cal = generate(folder)
    print(cal.knobs[["knob", "value", "low", "high", "at_bound"]].to_string(index=False))
    print(cal.targets[["target", "value", "band_low", "band_high", "achieved", "holds"]]
          .to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
