"""Mine archetypes of the default synthetic mine database: the table and its summaries.

The default mine database (``distributions/mines.csv``) is synthetic: each mine is drawn
from one of fifteen *archetypes* (deposit type x mining method).
This module holds those archetypes with their fall-back values, the *typical-value
table* (:data:`ARCHETYPES`: minimum, typical and maximum ore grade, stripping ratio,
recovery and concentrate grade of each deposit type, an illustrative compilation from
the literature, :data:`LITERATURE`; quoted in ``ARCHETYPES.md``), the columns of the
fitted table (:data:`COLUMNS`), the grade units
(:data:`GRADE_UNITS`, :func:`to_mass_fraction`) and the across-deposit summaries
(:func:`lognormal_summary`, :func:`recovery_summary`). Per archetype the table gives

- ore grade: lognormal (median, log-sd) plus a robust min/max (2.5/97.5 percentiles),
- stripping ratio (t waste per t ore): lognormal, same summary,
- mill recovery: min / mode / max (for a triangular or beta-PERT),
- concentrate grade (mass fraction of metal in the mine's product),
- typical mine size (t of metal in the mine's product per year): lognormal,

fitted from the open mine-level data of Jasansky et al. (2023) (:data:`CITATION`)
wherever it has at least :data:`MIN_FACILITIES` facilities, and from the typical-value
table otherwise. The rest lives in two modules:

- :mod:`uncertainty.build.jasansky` reads the Jasansky et al. (2023) files in place and
  derives the per-facility values,
- :mod:`uncertainty.build.archetypefit` fits the table (:func:`~uncertainty.build.archetypefit.fit_archetypes`) and writes
  ``archetypes.csv`` and ``ARCHETYPES.md`` (:func:`~uncertainty.build.archetypefit.write_archetypes`, :func:`~uncertainty.build.archetypefit.main`).

Run as::

    python -m uncertainty.build.archetypefit PATH/TO/jasansky2023 distributions/   # or: make data

Per-mine (year-to-year) uncertainty is deliberately *not* part of this table: these are
across-deposit spreads, used to draw synthetic mines, not to perturb a reported mine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ARCHETYPES",
    "COLUMNS",
    "DOI",
    "GRADE_UNITS",
    "LI2O_TO_LI",
    "LITERATURE",
    "MIN_FACILITIES",
    "SOURCE_BLEND",
    "SOURCE_DATA",
    "SOURCE_LITERATURE",
    "Archetype",
    "lognormal_summary",
    "recovery_summary",
    "to_mass_fraction",
]

#: Li2O to Li mass factor (stoichiometry: 2 x 6.941 / 29.881).
LI2O_TO_LI = 0.4646
#: Al2O3 to Al mass factor (stoichiometry: 2 x 26.982 / 101.961).
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

#: Fewer facilities than this and the typical value is used instead of a fit.
MIN_FACILITIES = 8

#: Source label of a value fitted from the open mine data (:data:`CITATION`).
SOURCE_DATA = "jasansky2023"
#: Source label of a value kept from the typical-value table (:data:`LITERATURE`).
SOURCE_LITERATURE = "literature"
#: Source label of a mine size fitted from the data with tonnages converted to metal by
#: the typical-value table's grade and recovery.
SOURCE_BLEND = "jasansky2023+literature"

#: What the label :data:`SOURCE_LITERATURE` stands for, as written into ``ARCHETYPES.md``.
LITERATURE = (
    "typical values per deposit type compiled from the mining literature and public "
    "statistics (illustrative, not fitted); anchors: grades and tonnages about "
    "lognormal across deposits of one type (USGS grade-tonnage models, Singer, Berger "
    "& Moring 2008, Open-File Report 2008-1155), about 740 t of rock moved per t of "
    "copper (Global Tailings Review 2020), rock-to-metal ratios of 25 commodities "
    "(Nassar et al. 2022, Environ. Sci. Technol. 56, 6710-6721, "
    "doi:10.1021/acs.est.1c07875); "
    "fall-back mine sizes from 2019 world mine production (USGS Mineral Commodity "
    "Summaries 2020); see docs/science.md"
)

#: DOI of Jasansky et al. (2023).
DOI = "10.1038/s41597-023-01965-y"

CITATION = (
    "Jasansky, S., Lieber, M., Giljum, S. & Maus, V. (2023). An open database on global "
    "coal and metal mine production. Scientific Data 10, 52. "
    f"doi:{DOI} (data: github.com/fineprint-global/"
    "compilation_mining_data, commit 9928898c616c258ac7f83e54f4551d292a25cf23)"
)

#: Output columns of :func:`~uncertainty.build.archetypefit.fit_archetypes`, in order.
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

# z of the 97.5 % quantile: the typical-value table's min..max is read as a central 95 % range.
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


# ---------------------------------------------------------------------------------------
# fall-backs: the typical-value table
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archetype:
    """One mine archetype with its fall-back statistics from the typical-value table.

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
        The typical-value table's row as written, for the report.
    note : str
        How the fall-back values were derived where the typical-value table does not give them.
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
    """Typical-value ``min / typical / max`` to (min, median, max, log-sd).

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
    "The typical-value table gives no mine sizes; the fall-back is an order of magnitude: "
    "2019 world mine production of the metal (USGS Mineral Commodity Summaries 2020) "
    "times the ore type's share, divided by "
    "an assumed number of producing mines ({})."
)

#: The fifteen archetypes with their fall-back values from the typical-value table.
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
            "SR max: upper end of the typical-value table's 6-9. "
            + _SIZE_NOTE.format("Cu 20 Mt x 0.7 over about 230 mines"),
        ),
        _make(
            "cu_sediment", "copper", "open_pit", "%",
            (1.5, 3.0, 3.0, 5.0), (0.2, 1.0, 3.0, 6.0), (0.80, 0.85, 0.92), 0.30,
            (50_000.0, 1.0),
            ("1.5% / 3% / 5%", "0.2 / 1-3 / 6", "0.80 / 0.85 / 0.92", "(blank)"),
            "Concentrate grade: the typical-value table leaves it blank; 30% Cu is an assumption for "
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
            "Concentrate grade: the typical-value table leaves it blank because hematite is mostly "
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
            "fraction of Al2O3), so conc = 1/0.529 = 1.89 t alumina per t Al; the typical-value table's "
            "1.93 t per t Al corresponds to a smelting recovery of 0.98 (chain step 5). "
            "The 'mill recovery' is the Bayer recovery of total Al2O3: with the median "
            "grade 47.4% Al2O3, recoveries 0.92 / 0.80 / 0.70 give 2.29 / 2.64 / 3.01 t "
            "bauxite per t alumina, the typical-value table's 2.3-3 t. "
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
            "Concentrate grade: the typical-value table leaves it blank because manganese ore is sold "
            "as sized and washed ore; 44% Mn (the typical-value table's typical ore grade) is used for the "
            "product. " + _SIZE_NOTE.format("Mn 19 Mt over about 60 mines"),
        ),
        _make(
            "pgm", "pgm", "underground", "g/t",
            (2.0, 3.0, 5.0, 7.0), (0.0, 0.2, 0.2, 2.0), (0.80, 0.85, 0.90), 150e-6,
            (8.0, 1.2),
            ("2 / 3-5 / 7 g/t", "underground about 0, open pit 5-10", "0.80 / 0.85 / 0.90",
             "(blank)"),
            "Stripping ratio: the typical-value table says 'about 0' underground; 0.2 (development waste "
            "and some shallow operations, max 2) is an assumption that keeps the study's "
            "about 500,000 t hidden flow per t PGM in reach. Open-pit Platreef "
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


# ---------------------------------------------------------------------------------------
# re-exports of uncertainty.build.archetypefit
# ---------------------------------------------------------------------------------------
