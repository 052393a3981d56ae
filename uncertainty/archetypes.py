"""Mine archetypes of the default synthetic mine database, fitted from open mine data.

The default mine database (``distributions/mines.csv``) is synthetic: each mine is drawn
from one of fifteen *archetypes* (deposit type x mining method, DOMAIN.md section 3).
This module holds those archetypes and derives their across-deposit statistics

- ore grade: lognormal (median, log-sd) plus a robust min/max (2.5/97.5 percentiles),
- stripping ratio (t waste per t ore): lognormal, same summary,
- mill recovery: min / mode / max (for a triangular or beta-PERT),
- concentrate grade (mass fraction of metal in the mine's product),
- typical mine size (t of metal in the mine's product per year): lognormal,

from the real open mine-level data of Jasansky, Lieber, Giljum and Maus (2023), "An
open database on global coal and metal mine production", *Scientific Data* 10, 52,
doi:10.1038/s41597-023-01965-y, wherever that data has at least :data:`MIN_FACILITIES`
facilities, and from DOMAIN.md section 3's table otherwise.

Only derived statistics are written (``distributions/archetypes.csv`` and
``distributions/ARCHETYPES.md``); the source files are read in place and never copied.

Run as::

    python -m uncertainty.archetypes ../shared/data/jasansky2023 distributions/

Per-mine (year-to-year) uncertainty is deliberately *not* part of this table: these are
across-deposit spreads, used to draw synthetic mines, not to perturb a reported mine.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = [
    "ARCHETYPES",
    "COLUMNS",
    "GRADE_UNITS",
    "LI2O_TO_LI",
    "MIN_FACILITIES",
    "SOURCE_BLEND",
    "SOURCE_DATA",
    "SOURCE_DOMAIN",
    "Archetype",
    "fit_archetypes",
    "lognormal_summary",
    "main",
    "recovery_summary",
    "to_mass_fraction",
    "write_archetypes",
]

#: Li2O to Li mass factor (DOMAIN.md section 3).
LI2O_TO_LI = 0.4646
#: Al2O3 to Al mass factor (DOMAIN.md section 3).
AL2O3_TO_AL = 0.529

#: Controlled vocabulary of grade units and the factor turning a value in that unit
#: into a mass fraction of the archetype's metal. ``"% REO"`` uses 1.0: for rare
#: earths the rare-earth oxide mass itself is treated as the product (the chain's
#: "metal"), so mine sizes and grades are both in REO.
GRADE_UNITS: dict[str, float] = {
    "%": 0.01,
    "% Fe": 0.01,
    "% Mn": 0.01,
    "% Li2O": 0.01 * LI2O_TO_LI,
    "% Al2O3": 0.01 * AL2O3_TO_AL,
    "% REO": 0.01,
    "g/t": 1e-6,
}

#: Fewer facilities than this and the DOMAIN.md value is used instead of a fit.
MIN_FACILITIES = 8

SOURCE_DATA = "jasansky2023"
SOURCE_DOMAIN = "DOMAIN.md"
SOURCE_BLEND = "jasansky2023+DOMAIN.md"

CITATION = (
    "Jasansky, S., Lieber, M., Giljum, S. & Maus, V. (2023). An open database on global "
    "coal and metal mine production. Scientific Data 10, 52. "
    "doi:10.1038/s41597-023-01965-y (data: github.com/fineprint-global/"
    "compilation_mining_data, commit 9928898c616c258ac7f83e54f4551d292a25cf23)"
)

#: Output columns of :func:`fit_archetypes`, in order.
COLUMNS: tuple[str, ...] = (
    "archetype",
    "metal",
    "mining_method",
    "grade_unit",
    "grade_min",
    "grade_median",
    "grade_max",
    "grade_log_sd",
    "sr_min",
    "sr_median",
    "sr_max",
    "sr_log_sd",
    "recovery_min",
    "recovery_mode",
    "recovery_max",
    "conc_grade",
    "size_median_t",
    "size_log_sd",
    "n_grade",
    "n_sr",
    "n_recovery",
    "n_size",
    "source_grade",
    "source_sr",
    "source_recovery",
    "source_size",
)

# z of the 97.5 % quantile: DOMAIN min..max is read as a central 95 % range.
_Z975 = 1.959963984540054


def to_mass_fraction(value: float | np.ndarray, unit: str) -> float | np.ndarray:
    """Convert a grade in a controlled unit to a mass fraction of the metal.

    Parameters
    ----------
    value : float or ndarray
        Grade(s) in ``unit``.
    unit : str
        One of :data:`GRADE_UNITS`: ``"%"`` (percent metal), ``"% Fe"``, ``"% Mn"``,
        ``"% Li2O"`` (x 0.4646 to Li), ``"% Al2O3"`` (x 0.529 to Al), ``"% REO"`` (REO
        mass is the product, factor 1.0) or ``"g/t"`` (x 1e-6).

    Returns
    -------
    float or ndarray
        Mass fraction of metal (a float for scalar input).

    Raises
    ------
    ValueError
        If ``unit`` is not in the vocabulary.

    Examples
    --------
    >>> to_mass_fraction(1.5, "% Li2O")
    0.006969
    """
    try:
        factor = GRADE_UNITS[unit]
    except KeyError:
        raise ValueError(
            f"unknown grade unit {unit!r}; expected one of {sorted(GRADE_UNITS)}"
        ) from None
    arr = np.asarray(value, dtype=float) * factor
    if arr.ndim == 0:
        return float(arr)
    return arr


def _ppm_to_unit(ppm: np.ndarray | pd.Series | float, unit: str) -> Any:
    """Grade in ppm (of the reported species) to ``unit``: 1 % = 10,000 ppm; 1 ppm = 1 g/t."""
    if unit == "g/t":
        return ppm
    return ppm / 1e4


# ---------------------------------------------------------------------------------------
# DOMAIN.md fall-backs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archetype:
    """One mine archetype with its DOMAIN.md fall-back statistics.

    Attributes
    ----------
    key, metal, mining_method, grade_unit : str
        Identifiers; ``mining_method`` is ``"open_pit"``, ``"underground"`` or ``"brine"``.
    grade_min, grade_median, grade_max, grade_log_sd : float
        Ore grade in ``grade_unit`` (lognormal median and log-sd).
    sr_min, sr_median, sr_max, sr_log_sd : float
        Stripping ratio, t waste per t ore (all zero for brine).
    recovery_min, recovery_mode, recovery_max : float
        Mill (or Bayer, for bauxite) recovery as a fraction.
    conc_grade : float or None
        Mass fraction of metal in the mine's product; ``None`` means whole-ore
        processing (residue about the ore mass).
    size_median_t, size_log_sd : float
        Mine size, t of metal in the product per year (lognormal).
    domain_grade, domain_sr, domain_recovery, domain_conc : str
        DOMAIN.md's row as written, for the report.
    note : str
        How the fall-back values were derived where DOMAIN.md does not give them.
    """

    key: str
    metal: str
    mining_method: str
    grade_unit: str
    grade_min: float
    grade_median: float
    grade_max: float
    grade_log_sd: float
    sr_min: float
    sr_median: float
    sr_max: float
    sr_log_sd: float
    recovery_min: float
    recovery_mode: float
    recovery_max: float
    conc_grade: float | None
    size_median_t: float
    size_log_sd: float
    domain_grade: str
    domain_sr: str
    domain_recovery: str
    domain_conc: str
    note: str = ""


def _lognormal_from_range(
    lo: float, typ_lo: float, typ_hi: float, hi: float
) -> tuple[float, float, float, float]:
    """DOMAIN.md ``min / typical / max`` to (min, median, max, log-sd).

    The median is the geometric mean of the typical range; min..max is read as a
    central 95 % range, so ``log_sd = ln(max / min) / (2 * 1.96)``; where min is 0
    (underground stripping ratios) the upper half is used: ``ln(max / median) / 1.96``.
    """
    median = math.sqrt(typ_lo * typ_hi)
    if lo > 0:
        log_sd = math.log(hi / lo) / (2 * _Z975)
    else:
        log_sd = math.log(hi / median) / _Z975
    return lo, median, hi, log_sd


def _make(
    key: str,
    metal: str,
    method: str,
    unit: str,
    grade: tuple[float, float, float, float],
    sr: tuple[float, float, float, float] | None,
    recovery: tuple[float, float, float],
    conc: float | None,
    size: tuple[float, float],
    texts: tuple[str, str, str, str],
    note: str = "",
) -> Archetype:
    g = _lognormal_from_range(*grade)
    s = (0.0, 0.0, 0.0, 0.0) if sr is None else _lognormal_from_range(*sr)
    return Archetype(
        key=key,
        metal=metal,
        mining_method=method,
        grade_unit=unit,
        grade_min=g[0],
        grade_median=g[1],
        grade_max=g[2],
        grade_log_sd=g[3],
        sr_min=s[0],
        sr_median=s[1],
        sr_max=s[2],
        sr_log_sd=s[3],
        recovery_min=recovery[0],
        recovery_mode=recovery[1],
        recovery_max=recovery[2],
        conc_grade=conc,
        size_median_t=size[0],
        size_log_sd=size[1],
        domain_grade=texts[0],
        domain_sr=texts[1],
        domain_recovery=texts[2],
        domain_conc=texts[3],
        note=note,
    )


_SIZE_NOTE = (
    "DOMAIN.md gives no mine sizes; the fall-back is an order of magnitude: DOMAIN.md "
    "section 6 world mine production of the metal times the ore type's share, divided by "
    "an assumed number of producing mines ({})."
)

#: The fifteen archetypes of DOMAIN.md section 3 with their DOMAIN.md fall-back values.
#: Typical ranges ``a-b`` become a median ``sqrt(a*b)`` (grade, stripping ratio) or a
#: mode ``(a+b)/2`` (recovery, concentrate grade).
ARCHETYPES: dict[str, Archetype] = {
    a.key: a
    for a in (
        _make(
            "cu_porphyry", "copper", "open_pit", "%",
            (0.3, 0.6, 0.9, 3.4), (0.5, 2.4, 2.4, 9.0), (0.67, 0.88, 0.96), 0.25,
            (60_000.0, 1.2),
            ("0.3% / 0.6-0.9% / 3.4%", "0.5 / 2.4 / 6-9", "0.67 / 0.88 / 0.96",
             "18-38% (median 25%)"),
            "SR max: upper end of DOMAIN's 6-9. "
            + _SIZE_NOTE.format("Cu 20 Mt x 0.7 over about 230 mines"),
        ),
        _make(
            "cu_sediment", "copper", "open_pit", "%",
            (1.5, 3.0, 3.0, 5.0), (0.2, 1.0, 3.0, 6.0), (0.80, 0.85, 0.92), 0.30,
            (50_000.0, 1.0),
            ("1.5% / 3% / 5%", "0.2 / 1-3 / 6", "0.80 / 0.85 / 0.92", "(blank)"),
            "Concentrate grade: DOMAIN.md leaves it blank; 30% Cu is an assumption for "
            "Central African Copperbelt sulphide concentrates (oxide ore goes to SX-EW, "
            "where the residue is about the ore mass). "
            + _SIZE_NOTE.format("Cu 20 Mt x 0.1 over about 40 mines"),
        ),
        _make(
            "ni_sulphide", "nickel", "underground", "%",
            (0.5, 1.4, 1.4, 3.1), (0.0, 0.3, 1.0, 5.0), (0.64, 0.79, 0.85), 0.125,
            (20_000.0, 1.0),
            ("0.5% / 1.4% / 3.1%", "0 / 0.3-1 / 5", "0.64 / 0.79 / 0.85", "10-15%"),
            _SIZE_NOTE.format("Ni 2.6 Mt x 0.4 over about 50 mines"),
        ),
        _make(
            "ni_laterite", "nickel", "open_pit", "%",
            (1.0, 1.4, 1.8, 2.5), (0.5, 1.0, 2.0, 4.0), (0.80, 0.90, 0.95), None,
            (20_000.0, 1.0),
            ("1.0% / 1.4-1.8% / 2.5%", "0.5 / 1-2 / 4", "0.80 / 0.90 / 0.95",
             "none (whole-ore)"),
            "Whole-ore processing (HPAL, RKEF, NPI): no concentrate. "
            + _SIZE_NOTE.format("Ni 2.6 Mt x 0.6 over about 80 mines"),
        ),
        _make(
            "co_byproduct", "cobalt", "open_pit", "%",
            (0.05, 0.1, 0.3, 0.6), None, (0.3, 0.7, 0.9),
            None, (3_000.0, 1.0),
            ("0.05% / 0.1-0.3% / 0.6%", "as host", "0.3 / 0.6-0.8 / 0.9",
             "allocation dominates"),
            "Stripping ratio: 'as host' - the fitted (or fall-back) cu_sediment values "
            "are copied, since most cobalt comes from Central African Cu-Co mines. "
            "No concentrate grade: the host's ore and residue are allocated to cobalt by "
            "the mine's allocation share. "
            + _SIZE_NOTE.format("Co 0.14 Mt over about 45 mines"),
        ),
        _make(
            "li_spodumene", "lithium", "open_pit", "% Li2O",
            (1.0, 1.2, 2.0, 2.4), (3.0, 5.0, 8.0, 12.0), (0.55, 0.70, 0.80),
            0.06 * LI2O_TO_LI, (5_000.0, 1.0),
            ("1.0% / 1.2-2.0% / 2.4% Li2O", "3 / 5-8 / 12", "0.55 / 0.70 / 0.80",
             "about 6% Li2O"),
            "Concentrate grade: 6% Li2O x 0.4646 = 2.79% Li. "
            + _SIZE_NOTE.format("Li 0.086 Mt x 0.6 over about 8 mines"),
        ),
        _make(
            "li_brine", "lithium", "brine", "%",
            (0.05, 0.15, 0.15, 0.2), None, (0.3, 0.5, 0.7), None, (3_000.0, 0.8),
            ("0.05% / 0.15% / 0.2% Li", "n/a", "0.3 / 0.5 / 0.7", "rock HF about 0"),
            "Brine: no overburden (stripping ratio 0) and no rock residue; the 'ore' is "
            "brine, so the consumer should not count brine mass as rock hidden flow. "
            + _SIZE_NOTE.format("Li 0.086 Mt x 0.3 over about 8 brine operations"),
        ),
        _make(
            "fe_hematite", "iron", "open_pit", "% Fe",
            (50.0, 58.0, 62.0, 66.0), (0.5, 1.5, 3.0, 5.0), (0.85, 0.95, 1.0), 0.62,
            (10_000_000.0, 1.0),
            ("50% / 58-62% / 66% Fe", "0.5 / 1.5-3 / 5", "0.85 / 0.95 / 1.0", "(blank)"),
            "Concentrate grade: DOMAIN.md leaves it blank because hematite is mostly "
            "shipped as crushed and screened ore; 62% Fe (the benchmark fines product) "
            "is used so that tailings = ore - product stay small and positive. "
            + _SIZE_NOTE.format("2,500 Mt ore x 0.6 Fe x 0.7 over about 100 mines"),
        ),
        _make(
            "fe_magnetite", "iron", "open_pit", "% Fe",
            (20.0, 30.0, 30.0, 40.0), (1.0, 2.0, 3.0, 5.0), (0.7, 0.8, 0.9), 0.65,
            (1_500_000.0, 1.0),
            ("20% / 30% / 40% Fe", "1 / 2-3 / 5", "0.7 / 0.8 / 0.9", "62-68%"),
            _SIZE_NOTE.format("2,500 Mt ore x 0.6 Fe x 0.3 over about 300 mines"),
        ),
        _make(
            "bauxite", "aluminium", "open_pit", "% Al2O3",
            (35.0, 45.0, 50.0, 55.0), (0.2, 0.5, 1.5, 3.0), (0.70, 0.80, 0.92),
            AL2O3_TO_AL, (400_000.0, 1.0),
            ("35% / 45-50% / 55% Al2O3", "0.2 / 0.5-1.5 / 3", "(blank)",
             "2.3-3 t bauxite per t alumina, 1.93 t alumina per t Al"),
            "Alumina route: the 'concentrate' is alumina, conc_grade = 0.529 (Al mass "
            "fraction of Al2O3), so conc = 1/0.529 = 1.89 t alumina per t Al; DOMAIN's "
            "1.93 t per t Al corresponds to a smelting recovery of 0.98 (chain step 5). "
            "The 'mill recovery' is the Bayer recovery of total Al2O3: with the median "
            "grade 47.4% Al2O3, recoveries 0.92 / 0.80 / 0.70 give 2.29 / 2.64 / 3.01 t "
            "bauxite per t alumina, DOMAIN's 2.3-3 t. "
            + _SIZE_NOTE.format("370 Mt bauxite x 0.2 t Al/t over about 150 mines"),
        ),
        _make(
            "zn", "zinc", "open_pit", "%",
            (2.4, 7.4, 7.4, 13.0), (0.0, 1.0, 2.0, 5.0), (0.55, 0.85, 0.92), 0.51,
            (50_000.0, 1.0),
            ("2.4% / 7.4% / 13%", "0 / 1-2 / 5", "0.55 / 0.85 / 0.92", "45-57%"),
            _SIZE_NOTE.format("Zn 13 Mt over about 250 mines"),
        ),
        _make(
            "pb", "lead", "open_pit", "%",
            (0.3, 1.5, 1.5, 6.7), (0.0, 1.0, 2.0, 5.0), (0.52, 0.71, 0.89), 0.50,
            (15_000.0, 1.0),
            ("0.3% / 1.5% / 6.7%", "0 / 1-2 / 5", "0.52 / 0.71 / 0.89", "28-72%"),
            _SIZE_NOTE.format("Pb 4.7 Mt over about 300 mines"),
        ),
        _make(
            "mn", "manganese", "open_pit", "% Mn",
            (20.0, 40.0, 48.0, 50.0), (1.0, 2.0, 4.0, 8.0), (0.70, 0.85, 0.95), 0.44,
            (200_000.0, 1.2),
            ("20% / 40-48% / 50% Mn", "1 / 2-4 / 8", "0.70 / 0.85 / 0.95", "(blank)"),
            "Concentrate grade: DOMAIN.md leaves it blank because manganese ore is sold "
            "as sized and washed ore; 44% Mn (DOMAIN's typical ore grade) is used for the "
            "product. " + _SIZE_NOTE.format("Mn 19 Mt over about 60 mines"),
        ),
        _make(
            "pgm", "pgm", "underground", "g/t",
            (2.0, 3.0, 5.0, 7.0), (0.0, 0.2, 0.2, 2.0), (0.80, 0.85, 0.90), 150e-6,
            (8.0, 1.2),
            ("2 / 3-5 / 7 g/t", "underground about 0, open pit 5-10", "0.80 / 0.85 / 0.90",
             "(blank)"),
            "Stripping ratio: DOMAIN.md says 'about 0' underground; 0.2 (development waste "
            "and some shallow operations, max 2) is an assumption that keeps DOMAIN "
            "section 1's about 500,000 t hidden flow per t PGM in reach. Open-pit Platreef "
            "mines (SR 5-10) are not this archetype. Concentrate grade: 150 g/t PGM, an "
            "assumption for Bushveld flotation concentrates (Merensky 100-200 g/t). "
            + _SIZE_NOTE.format("about 450 t PGM x 0.7 over about 35 shafts/mines"),
        ),
        _make(
            "ree", "rare_earths", "open_pit", "% REO",
            (1.0, 3.0, 6.0, 10.0), (1.0, 2.0, 4.0, 6.0), (0.5, 0.65, 0.8), 0.50,
            (5_000.0, 1.2),
            ("1% / 3-6% / 10% REO", "1 / 2-4 / 6", "0.5 / 0.65 / 0.8", "(blank)"),
            "Grades, concentrate grade and mine size are in REO: the REO mass is treated "
            "as the product (factor 1.0). Concentrate grade: 50% REO, an assumption for "
            "bastnaesite flotation concentrates (ionic clays are leached whole). "
            + _SIZE_NOTE.format("0.21 Mt REO over about 40 operations"),
        ),
    )
}


# ---------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------


def lognormal_summary(values: Iterable[float]) -> tuple[float, float, float, float]:
    """Lognormal fit and robust range of positive values.

    Parameters
    ----------
    values : iterable of float
        Positive values, one per facility.

    Returns
    -------
    tuple of float
        ``(min, median, max, log_sd)``: min and max are the 2.5 and 97.5 percentiles
        (linear interpolation), ``median = exp(mean(ln x))`` and ``log_sd`` the sample
        standard deviation (ddof=1) of ``ln x`` (0.0 for a single value).
    """
    x = np.sort(np.asarray(list(values), dtype=float))
    if x.size == 0 or np.any(x <= 0) or not np.all(np.isfinite(x)):
        raise ValueError("lognormal_summary needs at least one positive finite value")
    ln = np.log(x)
    sd = float(np.std(ln, ddof=1)) if x.size > 1 else 0.0
    lo, hi = np.percentile(x, [2.5, 97.5])
    return float(lo), float(np.exp(ln.mean())), float(hi), sd


def recovery_summary(values: Iterable[float]) -> tuple[float, float, float]:
    """Min / mode / max of recoveries (fractions), one value per facility.

    The mode is the median of the facility values (a robust centre; a kernel-density
    mode is too noisy with tens of points), min and max the 2.5 and 97.5 percentiles.

    Parameters
    ----------
    values : iterable of float
        Recoveries in (0, 1].

    Returns
    -------
    tuple of float
        ``(min, mode, max)``.
    """
    x = np.sort(np.asarray(list(values), dtype=float))
    if x.size == 0:
        raise ValueError("recovery_summary needs at least one value")
    lo, mid, hi = np.percentile(x, [2.5, 50.0, 97.5])
    return float(lo), float(mid), float(hi)


def _robust_keep(x: pd.Series, k: float = 4.0, min_factor: float = 20.0) -> pd.Series:
    """Mask of values that are not gross outliers of ln x.

    A value is dropped when it is more than ``k`` robust standard deviations
    (1.4826 x MAD of ln x) *and* more than a factor ``min_factor`` away from the
    log-median: the factor floor keeps genuine but rare deposits (a tight cluster of
    similar mines gives a tiny MAD) and still catches unit errors (factors of 1e3-1e4).
    """
    ln = pd.Series(np.log(x.to_numpy(dtype=float)), index=x.index)
    med = float(ln.median())
    mad = float((ln - med).abs().median()) * 1.4826
    return (ln - med).abs() <= max(k * mad, math.log(min_factor))


def _sig6(x: float | None) -> float:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return math.nan
    x = float(x)
    if x == 0.0:
        return 0.0
    return float(f"{x:.6g}")


# ---------------------------------------------------------------------------------------
# loading the Jasansky et al. (2023) files
# ---------------------------------------------------------------------------------------

_GENERIC_ORE = frozenset({"O.bulk", "O.sul", "O.oxi"})
_SEDIMENT_CU_COUNTRIES = frozenset({"COD", "ZMB"})
#: Countries whose nickel mines are laterites (unless underground).
_LATERITE_COUNTRIES = frozenset(
    {"IDN", "PHL", "NCL", "CUB", "DOM", "COL", "BRA", "VEN", "MDG", "GTM", "GRC", "PNG",
     "MMR", "TUR", "ALB", "MKD", "XKO", "CIV", "SLB"}
)
#: Laterite mines in otherwise sulphide countries (by facility id): Murrin Murrin and
#: Ravensthorpe (Australia), Buruktal and Sakhara (Urals, Russia).
_LATERITE_FACILITIES = frozenset({"COM00872.00", "COM01066.00", "COM00185.00", "COM01109.00"})
_PGM_PARTS = ("Me.Pt", "Me.Pd", "Me.Rh", "Me.Ru", "Me.Ir", "Me.Os")
#: Facilities left out of every fit, with the reason.
_EXCLUDED_FACILITIES: dict[str, str] = {
    "COM00994.00": "Platinum Mile (ZAF) re-treats PGM tailings (0.65 g/t, recovery 0.11); "
    "it is not a mine",
}


@dataclass
class _Data:
    fac: pd.DataFrame  # indexed by facility_id
    com: pd.DataFrame
    mine: pd.DataFrame
    waste: pd.DataFrame
    notes: list[str]


def _read(path: Path, cols: Sequence[str]) -> pd.DataFrame:
    return pd.read_csv(path, usecols=list(cols), keep_default_na=True, low_memory=False)


def _underground_only(equipment: pd.Series) -> pd.Series:
    eq = equipment.fillna("").str.lower()
    surface = eq.str.contains("open") | eq.str.contains("surface") | eq.str.contains("cast")
    return eq.str.contains("underground") & ~surface


def _load(jdir: Path) -> _Data:
    jdir = Path(jdir)
    fac = _read(
        jdir / "facilities.csv",
        ["facility_id", "facility_name", "primary_commodity", "facility_equipment", "GID_0"],
    ).drop_duplicates("facility_id")
    fac["GID_0"] = fac["GID_0"].fillna("")
    fac["primary_commodity"] = fac["primary_commodity"].fillna("")
    fac["underground_only"] = _underground_only(fac["facility_equipment"])
    fac = fac[~fac["facility_id"].isin(sorted(_EXCLUDED_FACILITIES))]
    fac = fac.set_index("facility_id").sort_index()

    com = _read(
        jdir / "commodities.csv",
        ["facility_id", "year", "material", "commodity", "value_tonnes", "grade_ppm",
         "recovery_rate", "id_minerals"],
    )
    mine = _read(jdir / "minerals.csv", ["id", "facility_id", "year", "type", "material",
                                         "value_tonnes"])
    waste = _read(
        jdir / "waste.csv",
        ["facility_id", "year", "type_mining", "waste_type", "value_tonnes",
         "total_material_tonnes", "stripping_ratio", "waste_to_ore_ratio"],
    )
    notes: list[str] = [f"Excluded: {why}." for why in _EXCLUDED_FACILITIES.values()]

    # ore tonnage behind each grade (for tonnage-weighted facility-year grades)
    ore_t = mine.set_index("id")["value_tonnes"]
    com["ore_t"] = com["id_minerals"].map(ore_t)

    # obvious unit errors
    n0 = len(com)
    bad_grade = com["grade_ppm"].notna() & ~((com["grade_ppm"] > 0) & (com["grade_ppm"] <= 1e6))
    bad_rec = com["recovery_rate"].notna() & ~(
        (com["recovery_rate"] > 0) & (com["recovery_rate"] <= 1)
    )
    com.loc[bad_grade, "grade_ppm"] = np.nan
    com.loc[bad_rec, "recovery_rate"] = np.nan
    bad_val = com["value_tonnes"].notna() & ~(com["value_tonnes"] > 0)
    com.loc[bad_val, "value_tonnes"] = np.nan
    notes.append(
        f"Of {n0} commodity rows, {int(bad_grade.sum())} grades outside (0, 1e6] ppm, "
        f"{int(bad_rec.sum())} recoveries outside (0, 1] and {int(bad_val.sum())} "
        "non-positive tonnages were set to missing (unit or entry errors)."
    )

    # PGM: where only the individual metals are reported, add a summed Me.pgm row
    parts = com[com["commodity"].isin(_PGM_PARTS)]
    have = set(
        map(tuple, com.loc[com["commodity"] == "Me.pgm", ["facility_id", "year"]].to_numpy())
    )
    if len(parts):
        keys = ["facility_id", "year", "material"]
        g = parts.groupby(keys, dropna=False)
        summed = g.agg(
            grade_ppm=("grade_ppm", lambda s: s.sum(min_count=1)),
            value_tonnes=("value_tonnes", lambda s: s.sum(min_count=1)),
            n_parts=("commodity", lambda s: int(s.isin(["Me.Pt", "Me.Pd"]).sum())),
        ).reset_index()
        summed = summed[summed["n_parts"] >= 2]
        mask = [(f, y) not in have for f, y in zip(summed["facility_id"], summed["year"],
                                                    strict=True)]
        summed = summed[mask].drop(columns="n_parts")
        summed["commodity"] = "Me.pgm"
        com = pd.concat([com, summed], ignore_index=True)
    com = com.merge(fac[["primary_commodity", "GID_0", "underground_only"]],
                    left_on="facility_id", right_index=True, how="inner")
    com = com.sort_values(["facility_id", "year", "commodity", "material"],
                          na_position="last", kind="mergesort").reset_index(drop=True)
    return _Data(fac=fac, com=com, mine=mine, waste=waste, notes=notes)


# ---------------------------------------------------------------------------------------
# archetype membership
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    commodity: str
    primaries: frozenset[str] | None  # None: any mine (by-products)
    own: frozenset[str]  # ore materials that qualify at any facility
    conc: frozenset[str]  # concentrate materials counted for mine size
    facility: Callable[[pd.DataFrame], pd.Series] | None = None  # on the facility table
    extra_ore: frozenset[str] = frozenset()


def _is_laterite(fac: pd.DataFrame, com: pd.DataFrame) -> pd.Series:
    lat_mat = set(com.loc[com["material"] == "M.lat", "facility_id"])
    eq = fac["facility_equipment"].fillna("").str.lower()
    lat = (
        fac["GID_0"].isin(_LATERITE_COUNTRIES)
        | fac.index.isin(sorted(_LATERITE_FACILITIES))
        | fac.index.isin(sorted(lat_mat))
        | eq.str.contains("acid leach")
    )
    return lat & ~fac["underground_only"]


def _specs(data: _Data) -> dict[str, _Spec]:
    lat = _is_laterite(data.fac, data.com)
    ni_conc = frozenset({"Con.Ni", "Con.bulk"})
    return {
        "cu_porphyry": _Spec("Me.Cu", frozenset({"Copper"}), frozenset({"O.Cu"}),
                             frozenset({"Con.Cu", "Con.bulk"}),
                             lambda f: ~f["GID_0"].isin(_SEDIMENT_CU_COUNTRIES)),
        "cu_sediment": _Spec("Me.Cu", frozenset({"Copper"}), frozenset({"O.Cu"}),
                             frozenset({"Con.Cu", "Con.bulk"}),
                             lambda f: f["GID_0"].isin(_SEDIMENT_CU_COUNTRIES)),
        "ni_sulphide": _Spec("Me.Ni", frozenset({"Nickel"}), frozenset({"O.Ni"}), ni_conc,
                             lambda f: ~lat.reindex(f.index, fill_value=False)),
        "ni_laterite": _Spec("Me.Ni", frozenset({"Nickel"}), frozenset({"O.Ni"}), ni_conc,
                             lambda f: lat.reindex(f.index, fill_value=False),
                             extra_ore=frozenset({"M.lat"})),
        "co_byproduct": _Spec("Me.Co", None, frozenset({"O.Co"}),
                              frozenset({"Con.Co", "Con.bulk"}),
                              lambda f: ~f["primary_commodity"].isin(["Processing", "Coal"]),
                              extra_ore=frozenset({"O.Cu", "O.Ni", "M.lat"})),
        "zn": _Spec("Me.Zn", frozenset({"Zinc", "Other (poly)-metallic"}), frozenset({"O.Zn"}),
                    frozenset({"Con.Zn", "Con.bulk"})),
        "pb": _Spec("Me.Pb", frozenset({"Zinc", "Silver", "Other (poly)-metallic"}),
                    frozenset({"O.Pb", "O.Zn"}), frozenset({"Con.Pb", "Con.bulk"})),
        "pgm": _Spec("Me.pgm", frozenset(), frozenset({"O.pgm"}), frozenset()),
        "bauxite": _Spec("Me.Al2O3", frozenset({"Aluminium"}), frozenset({"O.Al"}),
                         frozenset()),
        "li_spodumene": _Spec("Me.Li2O", None, frozenset({"O.Li"}), frozenset({"Con.Li"})),
        "mn": _Spec("Me.Mn", None, frozenset({"O.Mn"}),
                    frozenset({"Con.MnO", "Con.MnCO3", "Con.Mn"})),
    }


def _spec_rows(data: _Data, spec: _Spec) -> pd.DataFrame:
    """Commodity rows of one archetype, with a ``stage`` column: ore, conc or total."""
    com = data.com
    c = com[com["commodity"] == spec.commodity]
    if spec.facility is not None:
        ok = spec.facility(data.fac)
        c = c[c["facility_id"].map(ok).fillna(False).astype(bool)]
    ore_set = _GENERIC_ORE | spec.own | spec.extra_ore
    mat = c["material"]
    stage = pd.Series("", index=c.index)
    stage[mat.isin(ore_set)] = "ore"
    stage[mat.isin(spec.conc)] = "conc"
    stage[mat.isna()] = "total"
    if spec.primaries is None:
        primary_ok = pd.Series(True, index=c.index)
    else:
        primary_ok = c["primary_commodity"].isin(spec.primaries)
    own_ok = mat.isin(spec.own)
    keep = (stage != "") & (primary_ok | own_ok)
    out = c[keep].copy()
    out["stage"] = stage[keep]
    return out


# ---------------------------------------------------------------------------------------
# per-facility values
# ---------------------------------------------------------------------------------------


def _facility_grades(rows: pd.DataFrame, unit: str) -> pd.Series:
    """Facility medians over years of the ore-tonnage-weighted facility-year grade."""
    r = rows[(rows["stage"] == "ore") & rows["grade_ppm"].notna()].copy()
    if r.empty:
        return pd.Series(dtype=float)
    r["g"] = _ppm_to_unit(r["grade_ppm"].astype(float), unit)
    r["w"] = r["ore_t"].where(r["ore_t"] > 0)
    out: dict[tuple[str, int], float] = {}
    for (fid, yr), grp in r.groupby(["facility_id", "year"], sort=True):
        if len(grp) > 1 and grp["w"].notna().all():
            out[(str(fid), cast(int, yr))] = float((grp["g"] * grp["w"]).sum() / grp["w"].sum())
        else:
            out[(str(fid), cast(int, yr))] = float(grp["g"].median())
    fy = pd.Series(out)
    return fy.groupby(level=0).median().sort_index()


def _facility_recoveries(rows: pd.DataFrame) -> pd.Series:
    r = rows[(rows["stage"] == "ore") & rows["recovery_rate"].notna()]
    if r.empty:
        return pd.Series(dtype=float)
    fy = r.groupby(["facility_id", "year"], sort=True)["recovery_rate"].median()
    return fy.groupby(level=0).median().sort_index()


def _latest_year(fy: pd.Series) -> pd.Series:
    """From a (facility, year) series: 2019 if present, else the facility's latest year."""
    out = {}
    for fid, s in fy.groupby(level=0, sort=True):
        years = s.index.get_level_values(1)
        pick = 2019 if 2019 in set(years) else int(max(years))
        out[str(fid)] = float(s.xs(pick, level=1).iloc[0])
    return pd.Series(out, dtype=float).sort_index()


def _facility_sizes(rows: pd.DataFrame, factor: float = 1.0) -> pd.Series:
    """Metal in the mine's product per year, 2019 or the latest year.

    Per facility-year each stage (concentrate rows, ore rows, rows without material) is
    summed over its materials and the largest stage total is taken, so a facility that
    reports both its ore and its concentrate is not counted twice.
    """
    r = rows[rows["value_tonnes"].notna()]
    if r.empty:
        return pd.Series(dtype=float)
    st = r.groupby(["facility_id", "year", "stage"], sort=True)["value_tonnes"].sum()
    fy = st.groupby(level=[0, 1]).max() * factor
    return _latest_year(fy[fy > 0])


def _ore_mined_sizes(data: _Data, materials: Iterable[str], facilities: Iterable[str],
                     types: Sequence[str] = ("Ore mined", "Ore processed")) -> pd.Series:
    """Ore tonnage per facility (2019 or latest year), first of ``types`` available."""
    m = data.mine[data.mine["material"].isin(list(materials))
                  & data.mine["facility_id"].isin(list(facilities))
                  & (data.mine["value_tonnes"] > 0)]
    for t in types:
        mt = m[m["type"] == t]
        if len(mt):
            fy = mt.groupby(["facility_id", "year"], sort=True)["value_tonnes"].sum()
            return _latest_year(fy)
    return pd.Series(dtype=float)


def _facility_sr(data: _Data, facilities: Iterable[str], surface_only: bool) -> pd.Series:
    """Per-facility median stripping ratio (t waste rock per t ore).

    Per facility-year, the first available of: the reported ``stripping_ratio``; the
    reported ``waste_to_ore_ratio``; waste rock / (total material - waste rock); waste
    rock / ore mined (minerals.csv); (total material - ore mined) / ore mined. Tailings
    rows are ignored. With ``surface_only``, rows marked Underground and facilities
    equipped only for underground mining are dropped.
    """
    fset = set(facilities)
    w = data.waste[data.waste["facility_id"].isin(fset)].copy()
    if surface_only:
        ug = data.fac["underground_only"]
        w = w[(w["type_mining"].fillna("") != "Underground")
              & ~w["facility_id"].map(ug).fillna(False).astype(bool)]
    w = w[~w["waste_type"].fillna("").str.contains("ailing")]
    if w.empty:
        return pd.Series(dtype=float)
    ore = data.mine[(data.mine["type"] == "Ore mined") & data.mine["facility_id"].isin(fset)
                    & data.mine["material"].fillna("").str.match(r"^(O\.|M\.lat)")]
    ore_fy = ore.groupby(["facility_id", "year"])["value_tonnes"].sum()
    out: dict[tuple[str, int], float] = {}
    for (fid, yr), g in w.groupby(["facility_id", "year"], sort=True):
        sr = math.nan
        s = g["stripping_ratio"].dropna()
        wo = g["waste_to_ore_ratio"].dropna()
        rock = g.loc[g["waste_type"] == "Waste rock", "value_tonnes"].dropna()
        total = g["total_material_tonnes"].dropna()
        ore_t = float(ore_fy.get((fid, yr), math.nan))
        wr = float(rock.sum()) if len(rock) else math.nan
        tot = float(total.max()) if len(total) else math.nan
        if len(s):
            sr = float(s.median())
        elif len(wo):
            sr = float(wo.median())
        elif wr > 0 and tot > wr:
            sr = wr / (tot - wr)
        elif wr > 0 and ore_t > 0:
            sr = wr / ore_t
        elif tot > 0 and ore_t > 0 and tot > ore_t:
            sr = (tot - ore_t) / ore_t
        if sr > 0 and math.isfinite(sr):
            out[(str(fid), cast(int, yr))] = sr
    if not out:
        return pd.Series(dtype=float)
    fy = pd.Series(out)
    return fy.groupby(level=0).median().sort_index()


def _iron_classes(data: _Data) -> pd.Series:
    """Facility -> 'fe_hematite' / 'fe_magnetite' for iron-ore mines.

    Rule, first that applies: median ore grade >= 45% Fe is hematite, below is
    magnetite; else the mass yield (concentrate t / ore processed t) >= 0.6 is
    hematite (direct-shipping practice), below is magnetite (beneficiated); else a mine
    that reports only ore (no concentrate stream) is hematite and one that reports only a
    concentrate is magnetite. Mineral-sand operations (no iron ore material) are left out.
    """
    fac = data.fac
    iron = fac.index[fac["primary_commodity"] == "Iron"]
    mine = data.mine[data.mine["facility_id"].isin(iron)]
    com = data.com[data.com["facility_id"].isin(iron)]
    mats = pd.concat([mine[["facility_id", "material"]], com[["facility_id", "material"]]])
    has_ore = set(mats.loc[mats["material"] == "O.Fe", "facility_id"])
    has_con = set(mats.loc[mats["material"].isin(["Con.Fe", "Oth.sif"]), "facility_id"])
    grade = com[(com["commodity"] == "Me.Fe") & (com["material"] == "O.Fe")
                & com["grade_ppm"].notna()].groupby("facility_id")["grade_ppm"].median()
    p = mine[mine["type"].isin(["Concentrate", "Ore processed"])].pivot_table(
        index=["facility_id", "year"], columns="type", values="value_tonnes", aggfunc="sum")
    if {"Concentrate", "Ore processed"} <= set(p.columns):
        y = (p["Concentrate"] / p["Ore processed"]).replace([np.inf, -np.inf], np.nan)
        yld = y[(y > 0) & (y <= 1.2)].groupby(level=0).median()
    else:
        yld = pd.Series(dtype=float)
    out: dict[str, str] = {}
    for fid in sorted(has_ore | has_con):
        if fid in grade.index:
            hem = grade[fid] >= 450_000
        elif fid in yld.index:
            hem = yld[fid] >= 0.6
        elif fid in has_ore and fid not in has_con:
            hem = True
        elif fid in has_con and fid not in has_ore:
            hem = False
        else:
            continue
        out[fid] = "fe_hematite" if hem else "fe_magnetite"
    return pd.Series(out, dtype=object)


def _iron_sizes(data: _Data, members: list[str], conc_grade: float) -> tuple[pd.Series, int]:
    """Fe in product per year: reported Me.Fe tonnes, else product t x conc_grade."""
    com = data.com
    fe = com[(com["commodity"] == "Me.Fe") & com["facility_id"].isin(members)
             & com["value_tonnes"].notna()]
    reported: pd.Series = pd.Series(dtype=float)
    if len(fe):
        fe = fe.assign(stage=np.where(fe["material"].fillna("").str.startswith("O."),
                                      "ore", "conc"))
        reported = _facility_sizes(fe)
    rest = [f for f in members if f not in reported.index]
    mine = data.mine[data.mine["facility_id"].isin(rest) & (data.mine["value_tonnes"] > 0)]
    est: dict[str, float] = {}
    for fid, g in mine.groupby("facility_id", sort=True):
        conc = g[g["type"] == "Concentrate"]
        src = conc if len(conc) else g[(g["type"] == "Ore mined") & (g["material"] == "O.Fe")]
        if src.empty:
            continue
        fy = src.groupby(["facility_id", "year"])["value_tonnes"].sum() * conc_grade
        est[str(fid)] = float(_latest_year(fy).iloc[0])
    sizes = pd.concat([reported, pd.Series(est, dtype=float)]).sort_index()
    return sizes, len(est)


# ---------------------------------------------------------------------------------------
# the fit
# ---------------------------------------------------------------------------------------


def _far_outside(value: float, lo: float, median: float, hi: float) -> bool:
    lower = lo / 2 if lo > 0 else median / 10
    return not (lower <= value <= 2 * hi)


@dataclass
class _Row:
    a: Archetype
    vals: dict[str, Any]
    notes: list[str]


def _fit_lognormal_block(
    row: _Row, prefix: str, x: pd.Series, domain: tuple[float, float, float, float],
    what: str, check_domain: bool = True,
) -> None:
    """Fill ``{prefix}_min/median/max/log_sd``, ``n_*`` and ``source_*`` from ``x``."""
    nkey = {"grade": "n_grade", "sr": "n_sr"}[prefix]
    skey = {"grade": "source_grade", "sr": "source_sr"}[prefix]
    x = x[(x > 0) & np.isfinite(x)]
    keep = _robust_keep(x) if len(x) >= 3 else pd.Series(True, index=x.index)
    dropped = sorted(x.index[~keep])
    x = x[keep]
    row.vals[nkey] = len(x)
    use = dict(zip(("min", "median", "max", "log_sd"), domain, strict=True))
    src = SOURCE_DOMAIN
    if dropped:
        row.notes.append(
            f"{what}: {len(dropped)} facility value(s) more than 4 robust SDs and a factor "
            f"20 from the log-median dropped as likely unit errors ({', '.join(dropped)})."
        )
    if len(x) >= MIN_FACILITIES:
        lo, med, hi, sd = lognormal_summary(x)
        if check_domain and _far_outside(med, domain[0], domain[1], domain[2]):
            row.notes.append(
                f"{what}: fitted median {_sig6(med):g} (n = {len(x)}) is far outside "
                f"DOMAIN.md's {domain[0]:g}..{domain[2]:g}; DOMAIN.md kept."
            )
        else:
            use = {"min": lo, "median": med, "max": hi, "log_sd": sd}
            src = SOURCE_DATA
    elif len(x):
        lo, med, hi, sd = lognormal_summary(x)
        row.notes.append(
            f"{what}: only {len(x)} facilities (< {MIN_FACILITIES}); DOMAIN.md used. "
            f"For comparison the data give median {_sig6(med):g}, range "
            f"{_sig6(lo):g}..{_sig6(hi):g}."
        )
    else:
        row.notes.append(f"{what}: no usable data; DOMAIN.md used.")
    for k, v in use.items():
        row.vals[f"{prefix}_{k}"] = v
    row.vals[skey] = src


def _fit_recovery(row: _Row, r: pd.Series) -> None:
    a = row.a
    r = r[(r > 0) & (r <= 1)]
    row.vals["n_recovery"] = len(r)
    use = (a.recovery_min, a.recovery_mode, a.recovery_max)
    src = SOURCE_DOMAIN
    if len(r) >= MIN_FACILITIES:
        lo, mode, hi = recovery_summary(r)
        if not (a.recovery_min - 0.1 <= mode <= a.recovery_max + 0.1):
            row.notes.append(
                f"Recovery: fitted mode {_sig6(mode):g} (n = {len(r)}) is far outside "
                f"DOMAIN.md's {a.recovery_min:g}..{a.recovery_max:g}; DOMAIN.md kept."
            )
        else:
            use, src = (lo, mode, hi), SOURCE_DATA
    elif len(r):
        lo, mode, hi = recovery_summary(r)
        row.notes.append(
            f"Recovery: only {len(r)} facilities (< {MIN_FACILITIES}); DOMAIN.md used. "
            f"For comparison the data give {_sig6(lo):g} / {_sig6(mode):g} / {_sig6(hi):g}."
        )
    else:
        row.notes.append("Recovery: no usable data; DOMAIN.md used.")
    row.vals.update(recovery_min=use[0], recovery_mode=use[1], recovery_max=use[2])
    row.vals["source_recovery"] = src


def _fit_size(row: _Row, s: pd.Series, n_estimated: int = 0, how: str = "") -> None:
    a = row.a
    s = s[(s > 0) & np.isfinite(s)]
    keep = _robust_keep(s) if len(s) >= 3 else pd.Series(True, index=s.index)
    if (~keep).any():
        row.notes.append(
            f"Mine size: {int((~keep).sum())} facility value(s) more than 4 robust SDs "
            f"and a factor 20 from the log-median dropped "
            f"({', '.join(sorted(s.index[~keep]))})."
        )
    s = s[keep]
    row.vals["n_size"] = len(s)
    if len(s) >= MIN_FACILITIES:
        _lo, med, _hi, sd = lognormal_summary(s)
        row.vals.update(size_median_t=med, size_log_sd=sd)
        row.vals["source_size"] = SOURCE_BLEND if n_estimated else SOURCE_DATA
        if n_estimated:
            row.notes.append(
                f"Mine size: {n_estimated} of {len(s)} facility sizes estimated as {how}."
            )
    else:
        if len(s):
            _lo, med, _hi, sd = lognormal_summary(s)
            row.notes.append(
                f"Mine size: only {len(s)} facilities (< {MIN_FACILITIES}); fall-back used. "
                f"For comparison the data give median {_sig6(med):g} t/yr, log-sd "
                f"{_sig6(sd):g}."
            )
        else:
            row.notes.append("Mine size: no usable data; fall-back used.")
        row.vals.update(size_median_t=a.size_median_t, size_log_sd=a.size_log_sd)
        row.vals["source_size"] = SOURCE_DOMAIN


def _conc_note(row: _Row, rows: pd.DataFrame) -> None:
    """Compare the archetype's concentrate grade with the data's concentrate grades."""
    c = rows[(rows["stage"] == "conc") & rows["grade_ppm"].notna()]
    if c.empty or row.a.conc_grade is None:
        return
    fac = c.groupby(["facility_id", "year"])["grade_ppm"].median().groupby(level=0).median()
    row.notes.append(
        f"Concentrate grade check: the data's concentrates have a facility median of "
        f"{_sig6(float(fac.median()) / 1e6):g} (n = {len(fac)}, range "
        f"{_sig6(float(fac.min()) / 1e6):g}..{_sig6(float(fac.max()) / 1e6):g}) "
        f"against {_sig6(row.a.conc_grade):g} used here."
    )


def _domain_block(a: Archetype, prefix: str) -> tuple[float, float, float, float]:
    return (getattr(a, f"{prefix}_min"), getattr(a, f"{prefix}_median"),
            getattr(a, f"{prefix}_max"), getattr(a, f"{prefix}_log_sd"))


def fit_archetypes(jasansky_dir: Path | str) -> pd.DataFrame:
    """Fit the archetype statistics from the Jasansky et al. (2023) files.

    Parameters
    ----------
    jasansky_dir : path
        Folder with ``facilities.csv``, ``commodities.csv``, ``minerals.csv`` and
        ``waste.csv`` of Jasansky et al. (2023) (Sci Data 10, 52).

    Returns
    -------
    pandas.DataFrame
        One row per archetype (sorted by ``archetype``) with the columns of
        :data:`COLUMNS`; numbers rounded to 6 significant digits. ``conc_grade`` is NaN
        for whole-ore processing. ``df.attrs["notes"]`` maps each archetype to the
        list of remarks (exclusions, fall-backs, comparisons) used by
        :func:`write_archetypes`; ``df.attrs["global_notes"]`` holds dataset-wide ones.

    Notes
    -----
    Each facility contributes one value per statistic (its median over years), so a
    mine reporting twenty years weighs as much as one reporting a single year. A
    statistic is fitted when at least :data:`MIN_FACILITIES` facilities have it;
    otherwise, or where the fitted central value is far outside DOMAIN.md's
    min..max (below half the min or above twice the max; recovery: more than 0.1
    outside), the DOMAIN.md value is kept and labelled ``"DOMAIN.md"``.
    """
    data = _load(Path(jasansky_dir))
    specs = _specs(data)
    fe_class = _iron_classes(data)
    rows: dict[str, _Row] = {}

    # co_byproduct copies its host's (cu_sediment) stripping ratio: fit it last
    order = sorted(ARCHETYPES, key=lambda k: (k == "co_byproduct", k))
    for key in order:
        a = ARCHETYPES[key]
        row = _Row(a, {}, [])
        rows[key] = row
        row.vals.update(
            archetype=key, metal=a.metal, mining_method=a.mining_method,
            grade_unit=a.grade_unit,
            conc_grade=math.nan if a.conc_grade is None else a.conc_grade,
        )
        surface = a.mining_method == "open_pit"

        if key in ("fe_hematite", "fe_magnetite"):
            members = sorted(fe_class.index[fe_class == key])
            com = data.com
            fer = com[(com["commodity"] == "Me.Fe") & com["facility_id"].isin(members)]
            fer = fer.assign(stage=np.where(fer["material"] == "O.Fe", "ore", "conc"))
            _fit_lognormal_block(row, "grade", _facility_grades(fer, a.grade_unit),
                                 _domain_block(a, "grade"), "Ore grade")
            _fit_recovery(row, _facility_recoveries(fer))
            _fit_lognormal_block(row, "sr", _facility_sr(data, members, surface),
                                 _domain_block(a, "sr"), "Stripping ratio")
            sizes, n_est = _iron_sizes(data, members, float(a.conc_grade or 0.62))
            _fit_size(row, sizes, n_est,
                      f"product tonnes (concentrate, or ore mined for direct-shipping "
                      f"mines) x the concentrate grade {a.conc_grade:g}")
            _conc_note(row, fer)
            row.notes.append(
                f"Membership: {len(members)} iron-ore facilities classed {key} by ore "
                "grade (>= 45% Fe), else mass yield (>= 0.6), else by whether only ore "
                "or only concentrate is reported."
            )
            continue

        if key in ("li_brine", "ree"):
            for p in ("grade", "sr"):
                for k, v in zip(("min", "median", "max", "log_sd"), _domain_block(a, p),
                                strict=True):
                    row.vals[f"{p}_{k}"] = v
                row.vals[f"n_{p}"] = 0
                row.vals[f"source_{p}"] = SOURCE_DOMAIN
            row.vals.update(recovery_min=a.recovery_min, recovery_mode=a.recovery_mode,
                            recovery_max=a.recovery_max, n_recovery=0,
                            source_recovery=SOURCE_DOMAIN)
            row.vals.update(size_median_t=a.size_median_t, size_log_sd=a.size_log_sd,
                            n_size=0, source_size=SOURCE_DOMAIN)
            row.notes.append("The data set has no " + ("lithium brine operations."
                             if key == "li_brine" else "rare-earth mines.")
                             + " All values from DOMAIN.md.")
            continue

        spec = specs[key]
        crow = _spec_rows(data, spec)
        members = sorted(set(crow["facility_id"]))
        if key == "li_spodumene":
            n_li = crow.loc[(crow["stage"] == "ore") & crow["grade_ppm"].notna(),
                            "facility_id"].nunique()
            row.notes.append(
                f"Ore grade: the Li2O grades reported for lithium mines ({n_li} "
                "facilities) are concentrate grades, not ore grades (data README), so "
                "they are not used."
            )
            grades = pd.Series(dtype=float)
        else:
            grades = _facility_grades(crow, a.grade_unit)
        _fit_lognormal_block(row, "grade", grades, _domain_block(a, "grade"), "Ore grade")
        _fit_recovery(row, _facility_recoveries(crow))
        if key == "co_byproduct":
            host = rows["cu_sediment"].vals
            for k in ("min", "median", "max", "log_sd"):
                row.vals[f"sr_{k}"] = host[f"sr_{k}"]
            row.vals["n_sr"] = host["n_sr"]
            row.vals["source_sr"] = host["source_sr"]
        else:
            members_sr = members
            if key in ("bauxite", "mn"):
                members_sr = sorted(set(members) | set(_ore_facilities(data, spec)))
            _fit_lognormal_block(row, "sr", _facility_sr(data, members_sr, surface),
                                 _domain_block(a, "sr"), "Stripping ratio")

        # mine size
        if key == "li_spodumene":
            n_li = crow.loc[crow["value_tonnes"].notna(), "facility_id"].nunique()
            row.vals.update(size_median_t=a.size_median_t, size_log_sd=a.size_log_sd,
                            n_size=n_li, source_size=SOURCE_DOMAIN)
            row.notes.append(
                f"Mine size: {n_li} facility reports Li2O tonnages, and they look like "
                "spodumene concentrate masses rather than Li2O content; fall-back used."
            )
        elif key in ("bauxite", "mn"):
            direct = _facility_sizes(crow[crow["stage"] != "ore"]) if key == "mn" else (
                pd.Series(dtype=float))
            ore_fac = [f for f in _ore_facilities(data, spec) if f not in direct.index]
            ore = _ore_mined_sizes(data, spec.own, ore_fac)
            g = to_mass_fraction(row.vals["grade_median"], a.grade_unit)
            rec = row.vals["recovery_mode"]
            est = ore * float(g) * rec
            sizes = pd.concat([direct, est]).sort_index()
            _fit_size(row, sizes, len(est),
                      f"ore tonnage x grade {_sig6(row.vals['grade_median']):g} "
                      f"{a.grade_unit} x recovery {_sig6(rec):g}")
        else:
            _fit_size(row, _facility_sizes(crow))
        _conc_note(row, crow)

    out = pd.DataFrame([rows[k].vals for k in sorted(rows)])
    for col in COLUMNS:
        if col.startswith("n_"):
            out[col] = out[col].astype(int)
        elif col not in ("archetype", "metal", "mining_method", "grade_unit") and not (
            col.startswith("source_")
        ):
            out[col] = [_sig6(v) for v in out[col]]
    out = out[list(COLUMNS)].sort_values("archetype", kind="mergesort").reset_index(drop=True)
    out.attrs["notes"] = {k: list(rows[k].notes) for k in sorted(rows)}
    out.attrs["global_notes"] = list(data.notes)
    return out


def _ore_facilities(data: _Data, spec: _Spec) -> list[str]:
    """Facilities reporting ore tonnage of the spec's own ore material in minerals.csv."""
    m = data.mine[data.mine["material"].isin(list(spec.own))]
    fac = data.fac
    ids = sorted(set(m["facility_id"]) & set(fac.index))
    if spec.primaries:
        ids = [f for f in ids if fac.at[f, "primary_commodity"] in spec.primaries]
    return ids


# ---------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        return f"{x:.4g}"
    return str(x)


def _paragraph(a: Archetype, r: pd.Series) -> str:
    """One paragraph comparing the result with DOMAIN.md's typical values."""
    unit = a.grade_unit
    parts = [
        f"DOMAIN.md: grade {a.domain_grade}, stripping ratio {a.domain_sr}, recovery "
        f"{a.domain_recovery}, concentrate {a.domain_conc}."
    ]

    def cmp(name: str, val: float, lo: float, med: float, hi: float, src: str, u: str) -> str:
        if src == SOURCE_DOMAIN:
            return f"{name} is DOMAIN.md's ({_fmt(val)}{u})."
        pos = ("inside" if lo <= val <= hi else "below" if val < lo else "above")
        ratio = val / med if med > 0 else math.nan
        return (f"{name} {_fmt(val)}{u} from {src} is {pos} DOMAIN.md's range "
                f"{_fmt(lo)}..{_fmt(hi)} ({_fmt(ratio)} x its typical {_fmt(med)}).")

    parts.append(cmp("The median grade", r["grade_median"], a.grade_min, a.grade_median,
                     a.grade_max, r["source_grade"], f" {unit}"))
    if r["source_grade"] != SOURCE_DOMAIN:
        parts.append(f"Across deposits its log-sd is {_fmt(r['grade_log_sd'])} (DOMAIN.md "
                     "section 4: 0.6-0.85 for one deposit type).")
    if a.mining_method != "brine":
        parts.append(cmp("The median stripping ratio", r["sr_median"], a.sr_min,
                         a.sr_median, a.sr_max, r["source_sr"], ""))
    parts.append(cmp("The recovery mode", r["recovery_mode"], a.recovery_min,
                     a.recovery_mode, a.recovery_max, r["source_recovery"], ""))
    parts.append(f"Typical mine size {_fmt(r['size_median_t'])} t/yr (log-sd "
                 f"{_fmt(r['size_log_sd'])}, {r['source_size']}).")
    return " ".join(parts)


def write_archetypes(df: pd.DataFrame, csv_path: Path | str, md_path: Path | str) -> None:
    """Write the archetype table as CSV and as a Markdown report.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`fit_archetypes` (its ``attrs`` notes are used if present).
    csv_path, md_path : path
        Files to write (overwritten). Output is byte-identical for identical input.
    """
    csv_path, md_path = Path(csv_path), Path(md_path)
    df = df[list(COLUMNS)].sort_values("archetype", kind="mergesort").reset_index(drop=True)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(csv_path, index=False, lineterminator="\n", na_rep="")

    notes: dict[str, list[str]] = df.attrs.get("notes", {}) if df.attrs else {}
    gnotes: list[str] = df.attrs.get("global_notes", []) if df.attrs else []
    L: list[str] = []
    L.append("# Mine archetypes: statistics fitted from open mine data")
    L.append("")
    L.append("Generated by `python -m uncertainty.archetypes <jasansky_dir> distributions/`; "
             "do not edit by hand. Machine-readable copy: `archetypes.csv`.")
    L.append("")
    L.append(f"Data: {CITATION}. Only derived statistics are stored here; the source files "
             "are not copied into this repository.")
    L.append("")
    L.append("## Method")
    L.append("")
    L.extend([
        "- Rows: `commodities.csv` per facility-year and commodity, joined to "
        "`facilities.csv` (country `GID_0`, `primary_commodity`, `facility_equipment`). "
        "Ore grades come from ore materials only (`O.*`, laterite `M.lat`), never from "
        "concentrates; a facility-year with several ore streams (e.g. leach and mill ore) "
        "gets the ore-tonnage-weighted grade (tonnages from `minerals.csv`).",
        "- Membership: a row counts for an archetype if the facility's primary commodity "
        "is the archetype's metal (Pb: zinc, silver or poly-metallic mines; Zn: zinc or "
        "poly-metallic mines) or if the ore is reported as that metal's dominant ore "
        "(`O.Cu`, `O.Ni`, `O.Zn`, ...). By-products of other mines (e.g. copper at gold "
        "mines) are left out, except for cobalt, which is a by-product by definition.",
        "- Splits: Cu sediment-hosted = mines in COD and ZMB, all other copper mines = "
        "porphyry (so this class also holds the IOCG, VMS and Kazakh sandstone mines). "
        "Ni laterite = mines in laterite countries (IDN, PHL, NCL, CUB, DOM, COL, BRA, "
        "VEN, MDG, GTM, GRC, ...), mines with `M.lat` ore or acid-leach plants, and four "
        "named laterite mines (Murrin Murrin, Ravensthorpe, Buruktal, Sakhara), unless "
        "equipped only for underground mining; all other nickel mines are sulphide. "
        "Iron: see the two iron archetypes.",
        "- One value per facility: the median over its years, so long reporters do not "
        "dominate. Lognormal fit: median = exp(mean ln x), log-sd = sample sd of ln x "
        "(ddof = 1); min and max are the 2.5 and 97.5 percentiles of the facility values. "
        "Recovery: mode = median of facility medians, min/max = 2.5/97.5 percentiles "
        "(`recovery_rate` is a fraction in the data dictionary; values above 1 are errors).",
        "- Stripping ratio (`waste.csv`, t waste rock per t ore) per facility-year: the "
        "reported `stripping_ratio`, else `waste_to_ore_ratio`, else waste rock / (total "
        "material - waste rock), else waste rock / ore mined (`minerals.csv`), else "
        "(total material - ore mined) / ore mined; tailings rows ignored. For open-pit "
        "archetypes rows marked Underground and underground-only facilities are dropped.",
        "- Mine size: metal in the mine's product (t/yr) in 2019, or the facility's latest "
        "year: per facility-year the largest of the summed concentrate rows, summed ore "
        "rows (whose `value_tonnes` is the recovered or contained metal) and rows without "
        "material. Where mines report only ore or product tonnes (iron, bauxite, "
        "manganese) the tonnage is multiplied by this table's grade and recovery; such "
        f"sizes are labelled `{SOURCE_BLEND}`.",
        "- Unit errors: grades outside (0, 1e6] ppm, recoveries outside (0, 1] and "
        "non-positive tonnages are dropped; then facility values more than 4 robust "
        "standard deviations (1.4826 x MAD of ln x) and more than a factor 20 from the "
        "log-median are dropped (the factor floor keeps rare but real deposits such as "
        "Stillwater's 15 g/t PGM).",
        f"- A statistic is fitted from at least {MIN_FACILITIES} facilities; with fewer, "
        f"or when the fitted median is far outside DOMAIN.md's min..max (below half the "
        "min or above twice the max; recovery mode more than 0.1 outside), DOMAIN.md's "
        "value is kept. DOMAIN.md's `min / a-b / max` becomes median sqrt(a b) and "
        "log-sd ln(max/min)/(2 x 1.96) (min..max read as a central 95 % range; with "
        "min = 0, ln(max/median)/1.96). DOMAIN.md gives no mine sizes: the fall-back "
        "sizes are order-of-magnitude judgements from its section 6 production figures.",
        "- Grade units: `%` (metal), `% Fe`, `% Mn`, `% Li2O` (x 0.4646 to Li), `% Al2O3` "
        "(x 0.529 to Al), `% REO` (REO treated as the product, factor 1.0), `g/t`; "
        "`to_mass_fraction(value, unit)` converts. `conc_grade` is already a mass "
        "fraction of metal (blank: whole-ore processing).",
        "- Out of scope: per-mine (year-to-year) uncertainty; these are across-deposit "
        "spreads for drawing synthetic mines.",
    ])
    for g in gnotes:
        L.append(f"- {g}")
    L.append("")
    L.append("## Summary")
    L.append("")
    L.append("| archetype | metal | method | grade unit | grade median [min, max] | "
             "grade log-sd | SR median [min, max] | SR log-sd | recovery min / mode / max "
             "| conc grade | size median t/yr (log-sd) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for _, r in df.iterrows():
        L.append(
            f"| {r['archetype']} | {r['metal']} | {r['mining_method']} | {r['grade_unit']} "
            f"| {_fmt(r['grade_median'])} [{_fmt(r['grade_min'])}, {_fmt(r['grade_max'])}] "
            f"| {_fmt(r['grade_log_sd'])} "
            f"| {_fmt(r['sr_median'])} [{_fmt(r['sr_min'])}, {_fmt(r['sr_max'])}] "
            f"| {_fmt(r['sr_log_sd'])} "
            f"| {_fmt(r['recovery_min'])} / {_fmt(r['recovery_mode'])} / "
            f"{_fmt(r['recovery_max'])} | {_fmt(r['conc_grade'])} "
            f"| {_fmt(r['size_median_t'])} ({_fmt(r['size_log_sd'])}) |"
        )
    L.append("")
    L.append("Sources (n = facilities behind a fitted value, or found in the data when the "
             "DOMAIN.md value was kept):")
    L.append("")
    L.append("| archetype | grade | stripping ratio | recovery | mine size |")
    L.append("|---|---|---|---|---|")
    for _, r in df.iterrows():
        cells = [f"{r[f'source_{s}']} (n = {int(r[f'n_{s}'])})"
                 for s in ("grade", "sr", "recovery", "size")]
        L.append(f"| {r['archetype']} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Archetypes")
    for _, r in df.iterrows():
        key = str(r["archetype"])
        a = ARCHETYPES[key]
        L.append("")
        L.append(f"### {key} ({a.metal}, {a.mining_method})")
        L.append("")
        L.append("| statistic | value | n | source |")
        L.append("|---|---|---|---|")
        for s, cols in (("grade", ("grade_min", "grade_median", "grade_max",
                                   "grade_log_sd")),
                        ("sr", ("sr_min", "sr_median", "sr_max", "sr_log_sd")),
                        ("recovery", ("recovery_min", "recovery_mode", "recovery_max")),
                        ("size", ("size_median_t", "size_log_sd"))):
            for c in cols:
                label = c + (f" ({a.grade_unit})" if s == "grade" and c != "grade_log_sd"
                             else "")
                L.append(f"| {label} | {_fmt(r[c])} | {int(r[f'n_{s}'])} | "
                         f"{r[f'source_{s}']} |")
        L.append(f"| conc_grade (mass fraction) | {_fmt(r['conc_grade'])} | - | "
                 f"{SOURCE_DOMAIN} |")
        L.append("")
        L.append(_paragraph(a, r))
        extra = list(notes.get(key, []))
        if a.note:
            extra.append(a.note)
        if extra:
            L.append("")
            for n in extra:
                L.append(f"- {n}")
    L.append("")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text("\n".join(L), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m uncertainty.archetypes JASANSKY_DIR OUT_DIR``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status (0 on success).
    """
    p = argparse.ArgumentParser(
        prog="python -m uncertainty.archetypes",
        description="Fit mine-archetype statistics from Jasansky et al. (2023) open data "
        "and write OUT_DIR/archetypes.csv and OUT_DIR/ARCHETYPES.md.",
    )
    p.add_argument("jasansky_dir", type=Path)
    p.add_argument("out_dir", type=Path)
    args = p.parse_args(argv)
    df = fit_archetypes(args.jasansky_dir)
    write_archetypes(df, args.out_dir / "archetypes.csv", args.out_dir / "ARCHETYPES.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
