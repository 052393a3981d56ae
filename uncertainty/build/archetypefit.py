"""The fit of the archetype table from the Jasansky et al. (2023) data, and its writers.

:func:`fit_archetypes` turns the per-facility values of :mod:`uncertainty.build.jasansky` into
the statistics of every archetype of :data:`uncertainty.build.archetypes.ARCHETYPES`, falling
back to the typical-value table where the data are too few or far off;
:func:`write_archetypes` writes
the table as ``archetypes.csv`` and the Markdown report ``ARCHETYPES.md`` (only derived
statistics: the source files are never copied), and :func:`main` is the command line
(``python -m uncertainty.build.archetypes JASANSKY_DIR OUT_DIR`` calls it). All three are
re-exported by :mod:`uncertainty.build.archetypes`.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from uncertainty.build.archetypes import (
    ARCHETYPES,
    CITATION,
    COLUMNS,
    DOI,
    MIN_FACILITIES,
    SOURCE_BLEND,
    SOURCE_DATA,
    SOURCE_LITERATURE,
    Archetype,
    lognormal_summary,
    recovery_summary,
    to_mass_fraction,
)
from uncertainty.build.jasansky import (
    _Data,
    _facility_grades,
    _facility_recoveries,
    _facility_sizes,
    _facility_sr,
    _iron_classes,
    _iron_sizes,
    _load,
    _ore_mined_sizes,
    _Spec,
    _spec_rows,
    _specs,
)

__all__ = ["fit_archetypes", "main", "write_archetypes"]


# ---------------------------------------------------------------------------------------
# robust filtering and rounding
# ---------------------------------------------------------------------------------------


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
    src = SOURCE_LITERATURE
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
                f"the typical range {domain[0]:g}..{domain[2]:g}; the typical value kept."
            )
        else:
            use = {"min": lo, "median": med, "max": hi, "log_sd": sd}
            src = SOURCE_DATA
    elif len(x):
        lo, med, hi, sd = lognormal_summary(x)
        row.notes.append(
            f"{what}: only {len(x)} facilities (< {MIN_FACILITIES}); the typical value "
            "used. "
            f"For comparison the data give median {_sig6(med):g}, range "
            f"{_sig6(lo):g}..{_sig6(hi):g}."
        )
    else:
        row.notes.append(f"{what}: no usable data; the typical-value table used.")
    for k, v in use.items():
        row.vals[f"{prefix}_{k}"] = v
    row.vals[skey] = src


def _fit_recovery(row: _Row, r: pd.Series) -> None:
    a = row.a
    r = r[(r > 0) & (r <= 1)]
    row.vals["n_recovery"] = len(r)
    use = (a.recovery_min, a.recovery_mode, a.recovery_max)
    src = SOURCE_LITERATURE
    if len(r) >= MIN_FACILITIES:
        lo, mode, hi = recovery_summary(r)
        if not (a.recovery_min - 0.1 <= mode <= a.recovery_max + 0.1):
            row.notes.append(
                f"Recovery: fitted mode {_sig6(mode):g} (n = {len(r)}) is far outside "
                f"the typical range {a.recovery_min:g}..{a.recovery_max:g}; the typical value "
                "kept."
            )
        else:
            use, src = (lo, mode, hi), SOURCE_DATA
    elif len(r):
        lo, mode, hi = recovery_summary(r)
        row.notes.append(
            f"Recovery: only {len(r)} facilities (< {MIN_FACILITIES}); the typical value "
            "used. "
            f"For comparison the data give {_sig6(lo):g} / {_sig6(mode):g} / {_sig6(hi):g}."
        )
    else:
        row.notes.append("Recovery: no usable data; the typical-value table used.")
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
        row.vals["source_size"] = SOURCE_LITERATURE


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
        :data:`~uncertainty.build.archetypes.COLUMNS`; numbers rounded to 6 significant digits. ``conc_grade`` is NaN
        for whole-ore processing. ``df.attrs["notes"]`` maps each archetype to the
        list of remarks (exclusions, fall-backs, comparisons) used by
        :func:`write_archetypes`; ``df.attrs["global_notes"]`` holds dataset-wide ones.

    Notes
    -----
    Each facility contributes one value per statistic (its median over years), so a
    mine reporting twenty years weighs as much as one reporting a single year. A
    statistic is fitted when at least :data:`~uncertainty.build.archetypes.MIN_FACILITIES` facilities have it;
    otherwise, or where the fitted central value is far outside the typical-value
    table's min..max (below half the min or above twice the max; recovery: more than 0.1
    outside), the typical value is kept and labelled
    :data:`~uncertainty.build.archetypes.SOURCE_LITERATURE` (``"literature"``: the
    references of :data:`~uncertainty.build.archetypes.LITERATURE`).
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
                row.vals[f"source_{p}"] = SOURCE_LITERATURE
            row.vals.update(recovery_min=a.recovery_min, recovery_mode=a.recovery_mode,
                            recovery_max=a.recovery_max, n_recovery=0,
                            source_recovery=SOURCE_LITERATURE)
            row.vals.update(size_median_t=a.size_median_t, size_log_sd=a.size_log_sd,
                            n_size=0, source_size=SOURCE_LITERATURE)
            row.notes.append("The data set has no " + ("lithium brine operations."
                             if key == "li_brine" else "rare-earth mines.")
                             + " All values from the typical-value table.")
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
                            n_size=n_li, source_size=SOURCE_LITERATURE)
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
    """One paragraph comparing the result with the typical values of its archetype."""
    unit = a.grade_unit
    parts = [
        f"Typical values: grade {a.domain_grade}, stripping ratio {a.domain_sr}, recovery "
        f"{a.domain_recovery}, concentrate {a.domain_conc}."
    ]

    def cmp(name: str, val: float, lo: float, med: float, hi: float, src: str, u: str) -> str:
        if src == SOURCE_LITERATURE:
            return f"{name} is the typical-value table's ({_fmt(val)}{u})."
        pos = ("inside" if lo <= val <= hi else "below" if val < lo else "above")
        ratio = val / med if med > 0 else math.nan
        return (f"{name} {_fmt(val)}{u} from {src} is {pos} the typical range "
                f"{_fmt(lo)}..{_fmt(hi)} ({_fmt(ratio)} x its typical {_fmt(med)}).")

    parts.append(cmp("The median grade", r["grade_median"], a.grade_min, a.grade_median,
                     a.grade_max, r["source_grade"], f" {unit}"))
    if r["source_grade"] != SOURCE_LITERATURE:
        parts.append(f"Across deposits its log-sd is {_fmt(r['grade_log_sd'])} (grade-tonnage "
                     "models: 0.6-0.85 across deposits of one type).")
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
    L.append("Generated by `python -m uncertainty.build.archetypefit <jasansky_dir> distributions/`; "
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
        f"or when the fitted median is far outside the typical-value table's min..max (below half the "
        "min or above twice the max; recovery mode more than 0.1 outside), the typical-value table's "
        "value is kept. The typical-value table's `min / a-b / max` becomes median sqrt(a b) and "
        "log-sd ln(max/min)/(2 x 1.96) (min..max read as a central 95 % range; with "
        "min = 0, ln(max/median)/1.96). The typical-value table gives no mine sizes: the fall-back "
        "sizes are order-of-magnitude judgements from 2019 world mine production (USGS Mineral "
        "Commodity Summaries 2020).",
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
             "typical value was kept):")
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
                 f"{SOURCE_LITERATURE} |")
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
    """Command line: ``python -m uncertainty.build.archetypefit JASANSKY_DIR OUT_DIR``.

    A missing or empty ``JASANSKY_DIR`` prints where to get the data and returns 2.

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
        prog="python -m uncertainty.build.archetypefit",
        description="Fit mine-archetype statistics from Jasansky et al. (2023) open data "
        "and write OUT_DIR/archetypes.csv and OUT_DIR/ARCHETYPES.md.",
    )
    p.add_argument("jasansky_dir", type=Path)
    p.add_argument("out_dir", type=Path)
    args = p.parse_args(argv)
    if not (args.jasansky_dir / "facilities.csv").is_file():
        print(f"error: {args.jasansky_dir}: no facilities.csv; the open mine data of Jasansky "
              f"et al. (2023) (doi:{DOI}) is needed: download its CSV folder and run "
              "'make data JASANSKY=/path/to/it' (or set UNCERTAINTY_JASANSKY_DIR)",
              file=sys.stderr)
        return 2
    df = fit_archetypes(args.jasansky_dir)
    write_archetypes(df, args.out_dir / "archetypes.csv", args.out_dir / "ARCHETYPES.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
