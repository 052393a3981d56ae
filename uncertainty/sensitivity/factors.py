"""Factors of the TMR Sobol analysis: the levels, and which inputs each factor swaps.

A factor is a set of parameter columns that the radial design swaps together (the
levels are described in :mod:`uncertainty.sensitivity.tmr`); each level's factors partition
the uncertain inputs of a :class:`~uncertainty.space.ParameterSpace`, inputs with a
Fixed distribution excluded.

The ``provenance`` level needs to know where each per-site value came from: the
``grade_source``, ``stripping_source`` and ``recovery_source`` columns of ``mines.csv``.
A dataset whose ``mines.csv`` has none of them (the default synthetic database: its
blank sources are all filled as ``synthetic``) is refused by :func:`require_provenance`
with a :class:`ProvenanceError`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from uncertainty.data.fill import MINE_VALUES
from uncertainty.errors import UserError
from uncertainty.space import ParameterSpace

__all__ = ["CUSTOM", "LEVELS", "OTHER", "PROVENANCE", "PROVENANCE_COLUMNS", "Factors",
           "ProvenanceError", "factors_for", "has_provenance", "require_provenance"]

LEVELS = ("parameter", "mine", "metal-kind", "country", "systematic", "provenance")
"""The built-in levels (:mod:`uncertainty.sensitivity.tmr`)."""
PROVENANCE = "provenance"
"""The level that groups the per-site parameters by provenance."""
PROVENANCE_COLUMNS = tuple(src for _, _, src in MINE_VALUES)
"""The columns of ``mines.csv`` that say where each per-site value came from."""
CUSTOM = "custom"
"""The level of user-defined ``groups``."""
OTHER = "other (ungrouped)"
"""The factor of the custom level that holds every input its groups leave out."""


class ProvenanceError(UserError):
    """The provenance level, or the data-collection priorities, asked of a dataset whose
    ``mines.csv`` says nothing of where its values came from."""


def has_provenance(ds: Any) -> bool:
    """Whether a dataset states the provenance of its per-site values.

    True when its ``mines.csv`` has at least one of :data:`PROVENANCE_COLUMNS` (blank
    cells are then filled by the documented rules: ``imputed`` for a blank value,
    ``reported`` for a given one). A dataset built in memory, without a ``mines.csv``
    in its folder, counts when its mine table has one of the columns with a non-blank
    cell.
    """
    path = Path(ds.path) / "mines.csv"
    if path.is_file():
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
        return any(c.strip() in PROVENANCE_COLUMNS for c in header)
    m = ds.mines
    return any(c in m and (m[c].astype(str).str.strip().replace("nan", "") != "").any()
               for c in PROVENANCE_COLUMNS)


def require_provenance(ds: Any, what: str = "level 'provenance'") -> None:
    """Raise :class:`ProvenanceError` (one line) unless :func:`has_provenance`."""
    if not has_provenance(ds):
        raise ProvenanceError(
            f"{what} needs the provenance columns {', '.join(PROVENANCE_COLUMNS)} in "
            f"mines.csv (dataset {ds.path} has none)")


@dataclass(frozen=True)
class Factors:
    """Factors of one level: names and the parameter columns each one swaps."""

    level: str
    names: tuple[str, ...]
    columns: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.names)


def _uncertain(space: ParameterSpace) -> np.ndarray:
    """Columns that are factors: not Fixed, plus a Fixed grade whose u drives an
    uncertain stripping ratio through the grade-stripping copula."""
    t = space.table
    unc = (t["family"] != "fixed").to_numpy().copy()
    if space.correlation != 0 and space.n_mines:
        g = space.n_globals + 3 * np.arange(space.n_mines)
        unc[g] |= unc[g + 1]
    return unc


def _share_groups(space: ParameterSpace) -> dict[str, np.ndarray]:
    grp = space.table["group"].to_numpy()
    return {g: np.flatnonzero(grp == g) for g in dict.fromkeys(grp) if g}


def _pattern(pat: str) -> re.Pattern[str]:
    """A shell-style pattern: ``*`` any text, ``?`` one character, brackets literal (so
    ``"grade[CU-*]"`` matches ``"grade[CU-CHL-001]"``, unlike :mod:`fnmatch`)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pat)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _custom_owner(space: ParameterSpace, groups: Mapping[str, Sequence[str]]) -> dict[int, str]:
    """Column -> custom group, validated (unknown names, overlaps, split share groups)."""
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(f"groups must be a non-empty mapping of group name -> parameter names "
                         f"or patterns (got {groups!r})")
    names = list(space.table["name"])
    index = {nm: j for j, nm in enumerate(names)}
    shares = _share_groups(space)
    unc = _uncertain(space)
    owner: dict[int, str] = {}
    for gname, members in groups.items():
        if not isinstance(gname, str) or not gname:
            raise ValueError(f"group names must be non-empty strings (got {gname!r})")
        if gname in index or gname in shares or gname == OTHER:
            raise ValueError(f"group name {gname!r} is the name of an input; choose another")
        if isinstance(members, str) or not isinstance(members, Sequence) or not members:
            raise ValueError(f"group {gname!r} must be a non-empty list of parameter names or "
                             f"patterns (got {members!r})")
        cols: set[int] = set()
        for pat in members:
            if not isinstance(pat, str):
                raise ValueError(f"group {gname!r}: members must be strings (got {pat!r})")
            if pat in shares:
                hits = [int(j) for j in shares[pat]]
            elif pat in index:
                hits = [index[pat]]
            else:
                rx = _pattern(pat)
                hits = [j for j, nm in enumerate(names) if rx.match(nm)]
            if not hits:
                raise ValueError(
                    f"group {gname!r} names unknown parameter {pat!r} (no parameter, share "
                    f"group or pattern matches; names look like 'grid_hf_kg_per_kwh', "
                    f"'sys_stripping[copper]', 'stripping_ratio[CU-CHL-001]', 'supply[copper]')")
            cols.update(hits)
        for sg, idx in shares.items():
            inside = np.isin(idx, list(cols))
            if inside.any() and not inside.all():
                raise ValueError(
                    f"group {gname!r} takes part of the share group {sg!r}; a Dirichlet group "
                    f"is one factor: name {sg!r} (or all of its members)")
        kept = sorted(j for j in cols if unc[j])
        if not kept:
            raise ValueError(f"group {gname!r} matches only Fixed inputs, which cannot "
                             f"contribute variance")
        for j in kept:
            if j in owner:
                raise ValueError(f"parameter {names[j]!r} is in two groups: {owner[j]!r} and "
                                 f"{gname!r}")
            owner[j] = gname
    return owner


def factors_for(space: ParameterSpace, level: str,
                groups: Mapping[str, Sequence[str]] | None = None) -> Factors:
    """The factors of a level (module docstring); Fixed inputs are left out.

    Parameters
    ----------
    space : ParameterSpace
    level : str
        One of :data:`LEVELS` or ``"custom"``. At ``"provenance"`` the per-site
        parameters form one factor per provenance value, ``"per-site: reported"``,
        ``"per-site: other_year"``, ``"per-site: imputed"``, ``"per-site: synthetic"``
        (those present); systematic and global inputs stay individual factors. The
        dataset behind ``space`` must state provenance (:func:`require_provenance`;
        :func:`~uncertainty.sensitivity.tmr.sobol` checks it).
    groups : mapping of str to list of str, optional
        For ``"custom"``: group name -> parameter names, share-group names
        (``"supply[copper]"``) or shell patterns (``*`` and ``?`` wildcards, brackets
        literal). Every input no group names goes into one factor :data:`OTHER`.

    Raises
    ------
    ProvenanceError
        ``provenance`` on a space whose per-site rows carry no provenance.
    ValueError
        Unknown level; ``custom`` without groups; a group naming an unknown input,
        splitting a share group, matching only Fixed inputs, or overlapping another.
    """
    valid = (*LEVELS, CUSTOM)
    if level not in valid:
        raise ValueError(f"level must be one of {', '.join(valid)} (got {level!r})")
    if level == CUSTOM and not groups:
        raise ValueError("level 'custom' needs groups: a mapping of group name -> parameter "
                         "names or patterns")
    owner = _custom_owner(space, groups) if level == CUSTOM and groups else {}
    t = space.table
    uncertain = _uncertain(space)
    if level == PROVENANCE:
        mine = (t["level"] == "mine").to_numpy() & uncertain
        prov = t["provenance"].astype(str).str.strip().to_numpy()
        if mine.any() and (prov[mine] == "").any():
            raise ProvenanceError(
                f"level 'provenance' needs the provenance of every per-site value (the "
                f"columns {', '.join(PROVENANCE_COLUMNS)} of mines.csv); "
                f"{int((prov[mine] == '').sum())} uncertain per-site parameters have none")
    groups_: dict[str, list[int]] = {}

    def put(key: str, j: int) -> None:
        groups_.setdefault(key, []).append(j)

    for j, r in enumerate(t.itertuples(index=False)):
        if not uncertain[j]:
            continue
        if j in owner:
            put(owner[j], j)
        elif level == CUSTOM:
            put(OTHER, j)
        elif r.group:
            put(str(r.group), j)
        elif level == "mine" and r.level == "mine":  # a site: all of its rows' parameters
            put(str(r.site or r.mine), j)
        elif level == "metal-kind" and r.level in ("mine", "systematic"):
            put(f"{r.metal} {r.kind}", j)
        elif level == "country" and r.level == "mine":
            put(f"country {r.country}", j)
        elif level == "systematic" and r.level == "mine":
            put("per-mine (independent)", j)
        elif level == PROVENANCE and r.level == "mine":
            put(f"per-site: {r.provenance}", j)
        else:
            put(str(r.name), j)
    if level == CUSTOM and groups:  # the caller's order, the rest last
        groups_ = {k: groups_[k] for k in (*groups, OTHER) if k in groups_}
    return Factors(level, tuple(groups_),
                   tuple(np.array(v, dtype=np.int64) for v in groups_.values()))



def _levels(by: str | Sequence[str], groups: Mapping[str, Sequence[str]] | None
            ) -> tuple[str, ...]:
    levels = (by,) if isinstance(by, str) else tuple(by)
    if not levels:
        raise ValueError("by must name at least one level")
    valid = (*LEVELS, CUSTOM)
    for lv in levels:
        if lv not in valid:
            raise ValueError(f"unknown level {lv!r}; levels are: {', '.join(valid)}")
    if groups and CUSTOM not in levels:
        levels = (*levels, CUSTOM)
    if CUSTOM in levels and not groups:
        raise ValueError("level 'custom' needs groups: a mapping of group name -> parameter "
                         "names or patterns")
    return tuple(dict.fromkeys(levels))


def _units(facs: Sequence[Factors]) -> tuple[list[np.ndarray], list[str], list[np.ndarray]]:
    """Distinct factors of all levels: their columns, a name each, and each level's
    index into them."""
    key_of: dict[bytes, int] = {}
    units: list[np.ndarray] = []
    names: list[str] = []
    idx: list[np.ndarray] = []
    for fac in facs:
        ix = []
        for name, cols in zip(fac.names, fac.columns, strict=True):
            key = np.sort(cols).tobytes()
            if key not in key_of:
                key_of[key] = len(units)
                units.append(cols)
                names.append(name)
            ix.append(key_of[key])
        idx.append(np.array(ix, dtype=np.int64))
    return units, names, idx


