"""Mine database and supply-chain tables: the only CSV reader of the package.

A dataset is a folder of CSV files (the default one is ``distributions/``):

==================  =====================================================================
file                one row per
==================  =====================================================================
``mines.csv``       mine x metal: production, ore grade, stripping ratio, recoveries,
                    allocation shares and the per-mine uncertainty spreads
``metals.csv``      metal: fabrication yield, process energy, systematic spreads
``countries.csv``   country (ISO 3166-1 alpha-3 code and name): the valid codes
``supply.csv``      metal x country: share of China's 2019 supply, Dirichlet concentration
``vehicles.csv``    vehicle type x metal: content in kg per vehicle and its CV
``fleet.csv``       vehicle type: vehicles produced, battery kWh (min/mode/max), NEV flag
``chemistries.csv`` chemistry x metal: cathode metal in kg per kWh
``battery_mix.csv`` chemistry: share of the battery mix, Dirichlet concentration
``globals.csv``     scalar model inputs (grid hidden flow per kWh, pack factor, ...)
==================  =====================================================================

Every value is validated; a bad one raises :class:`DataValidationError` naming the
file, the row (line number and mine id), the column, the value and the rule. Files are
UTF-8 text (a byte-order mark is accepted; an invalid byte or a NUL is named by line and
character) with unique, non-empty column headers; blank lines are skipped and a row keeps
the number of the line it starts on. Besides its hard rules
(a grade in (0, 1]), a numeric column may have a plausibility bound with its reason
(:func:`plausibility_table`: a grade not below a part per billion, a stripping ratio
not above 500); a dataset's optional ``plausibility.csv`` moves those bounds
(:func:`read_plausibility`) and is then part of the dataset's hashes. Mines that cannot
receive weight (no supply share for their metal and country) are listed by
:func:`weightless_mines` and :func:`dataset_warnings`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = [
    "GRADE_BASIS_FACTORS",
    "PLAUSIBILITY_FILE",
    "PROVENANCES",
    "Bound",
    "DataValidationError",
    "Dataset",
    "complete_mines",
    "coverage_table",
    "dataset_warnings",
    "format_coverage",
    "load_dataset",
    "plausibility_table",
    "read_plausibility",
    "sha256_file",
    "weightless_mines",
]

#: Mass of metal per unit mass of the species a grade is reported in (DOMAIN.md section 3).
#: REO: rare-earth oxide to rare-earth metal, 0.85 (typical for NdPr oxides).
GRADE_BASIS_FACTORS: dict[str, float] = {
    "metal": 1.0,
    "Li2O": 0.4646,
    "Al2O3": 0.529,
    "REO": 0.85,
}

MINING_METHODS = ("open_pit", "underground", "brine")

#: Where a mine's value came from (``grade_source``, ``stripping_source``,
#: ``recovery_source``), from the best to the least known.
PROVENANCES = ("reported", "other_year", "imputed", "synthetic")


class DataValidationError(ValueError):
    """A data or run file breaks a rule; the message names file, row, column, value, rule."""

    def __init__(
        self,
        file: str | Path,
        rule: str,
        *,
        row: int | None = None,
        row_id: str | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.row_id = row_id
        self.column = column
        self.value = value
        self.rule = rule
        parts = [self.file]
        if row is not None:
            where = f"row {row}"
            if row_id is not None:
                where += f" ({row_id})"
            parts.append(where)
        if column is not None:
            parts.append(f"column '{column}'")
        head = ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
        msg = f"{head}: {rule}"
        if column is not None or value is not None:
            msg += f" (got {value!r})"
        super().__init__(msg)


# --------------------------------------------------------------------------- rules
Rule = tuple[str, Callable[[float], bool]]

POSITIVE: Rule = ("must be > 0", lambda x: x > 0)
NON_NEGATIVE: Rule = ("must be >= 0", lambda x: x >= 0)
UNIT_INTERVAL: Rule = ("must be in (0, 1]", lambda x: 0 < x <= 1)
SHARE: Rule = ("must be in [0, 1]", lambda x: 0 <= x <= 1)
GSD: Rule = ("must be >= 1 (a geometric standard deviation)", lambda x: x >= 1)
CV: Rule = ("must be in [0, 1)", lambda x: 0 <= x < 1)


@dataclass(frozen=True)
class Bound:
    """A plausibility bound of a column: values outside ``[low, high]`` are refused as
    implausible (unlike a rule, a dataset's ``plausibility.csv`` may move it)."""

    low: float | None = None
    high: float | None = None
    reason: str = ""

    def text(self, column: str) -> str:
        """The bound as ``low <= column <= high``."""
        lo = f"{self.low:g} <= " if self.low is not None else ""
        hi = f" <= {self.high:g}" if self.high is not None else ""
        return f"{lo}{column}{hi}"

    def holds(self, x: float) -> bool:
        return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind ('str', 'float', 'bool'), rule and
    plausibility bound."""

    name: str
    kind: str = "float"
    rule: Rule | None = None
    optional_value: bool = False  # an empty cell is allowed (NaN, '' or None by kind)
    choices: tuple[str, ...] | None = None
    bound: Bound | None = None
    required: bool = True  # False: the column may be absent (all its cells blank)


@dataclass(frozen=True)
class TableSpec:
    """Columns and key of one CSV file of a dataset."""

    file: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False  # the file may be absent (see load_dataset)


_GSD10 = Bound(None, 10, "a geometric standard deviation above 10 spans four orders of "
               "magnitude in its 95% interval")
_RECOVERY = Bound(0.01, None, "a recovery below 1% would make the ore requirement 100 times "
                  "the metal's")
_GWH = Bound(None, 1e9, "kWh per t of metal; the most energy-intensive metals (PGM) need "
             "about 4e7")
_CONCENTRATION = Bound(1e-3, 1e6, "a Dirichlet concentration outside this range makes the "
                       "shares degenerate or all but fixed")

SPECS: dict[str, TableSpec] = {
    "countries": TableSpec(
        "countries.csv", (Column("iso3", "str"), Column("name", "str")), ("iso3",)
    ),
    "metals": TableSpec(
        "metals.csv",
        (
            Column("metal", "str"),
            Column("display_name", "str"),
            Column("fabrication_yield", rule=UNIT_INTERVAL, bound=Bound(
                0.01, None, "a yield below 1% would make the metal demand 100 times the "
                "vehicles' content")),
            Column("energy_kwh_per_t", rule=NON_NEGATIVE, bound=_GWH),
            Column("energy_gsd", rule=GSD, bound=_GSD10),
            Column("secondary_tmr_fraction", rule=SHARE),
            Column("sys_grade_gsd", rule=GSD, bound=_GSD10),
            Column("sys_stripping_gsd", rule=GSD, bound=_GSD10),
            Column("sys_recovery_sd", rule=CV),
            Column("price_usd_per_t", rule=POSITIVE, optional_value=True, required=False,
                   bound=Bound(None, 1e9, "USD per t of metal; gold, the dearest mined metal, "
                               "cost about 4.5e7 in 2019")),
            Column("refining_recovery", rule=UNIT_INTERVAL, optional_value=True,
                   required=False, bound=_RECOVERY),
        ),
        ("metal",),
    ),
    "mines": TableSpec(
        "mines.csv",
        (
            Column("mine_id", "str"),
            Column("site_id", "str", optional_value=True, required=False),
            Column("name", "str"),
            Column("country", "str"),
            Column("metal", "str"),
            Column("archetype", "str", optional_value=True),
            Column("mining_method", "str", choices=MINING_METHODS),
            Column("production_t", rule=POSITIVE, bound=Bound(
                None, 1e10, "t per mine and year; ten times the largest producers (iron ore, "
                "about 1e9 t)")),
            Column("grade", rule=UNIT_INTERVAL, optional_value=True, bound=Bound(
                1e-9, None, "a part per billion; the leanest mined ores (gold, PGM) grade "
                "about 1e-6")),
            Column("grade_unit", "str", choices=tuple(GRADE_BASIS_FACTORS), optional_value=True),
            Column("stripping_ratio", rule=NON_NEGATIVE, optional_value=True, bound=Bound(
                None, 500, "t of waste per t of ore; reported open-pit ratios reach a "
                "few tens, exceptionally about 100")),
            Column("mill_recovery", rule=UNIT_INTERVAL, optional_value=True, bound=_RECOVERY),
            Column("conc_grade", rule=UNIT_INTERVAL, optional_value=True, bound=Bound(
                1e-6, None, "metal per t of concentrate; no concentrate is leaner than "
                "its ore")),
            Column("refining_recovery", rule=UNIT_INTERVAL, optional_value=True,
                   bound=_RECOVERY),
            Column("alloc_economic", rule=SHARE, optional_value=True),
            Column("alloc_mass", rule=SHARE, optional_value=True),
            Column("main_product", "bool", optional_value=True),
            Column("grade_gsd", rule=GSD, optional_value=True, bound=_GSD10),
            Column("stripping_gsd", rule=GSD, optional_value=True, bound=_GSD10),
            Column("recovery_sd", rule=CV, optional_value=True),
            Column("synthetic", "bool", optional_value=True),
            Column("grade_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False),
            Column("stripping_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False),
            Column("recovery_source", "str", choices=PROVENANCES, optional_value=True,
                   required=False),
        ),
        ("mine_id",),
    ),
    "supply": TableSpec(
        "supply.csv",
        (
            Column("metal", "str"),
            Column("country", "str"),
            Column("share", rule=SHARE),
            Column("concentration", rule=POSITIVE, bound=_CONCENTRATION),
        ),
        ("metal", "country"),
    ),
    "vehicles": TableSpec(
        "vehicles.csv",
        (
            Column("vehicle", "str"),
            Column("metal", "str"),
            Column("content_kg", rule=NON_NEGATIVE, bound=Bound(
                None, 1e4, "kg of one metal per vehicle; a passenger car weighs 1-3 t")),
            Column("cv", rule=CV),
        ),
        ("vehicle", "metal"),
    ),
    "fleet": TableSpec(
        "fleet.csv",
        (
            Column("vehicle", "str"),
            Column("display_name", "str"),
            Column("count", rule=NON_NEGATIVE, bound=Bound(
                None, 1e9, "vehicles a year; world car production is about 1e8")),
            Column("count_cv", rule=CV),
            Column("nev", "bool"),
            Column("battery_kwh_min", rule=NON_NEGATIVE),
            Column("battery_kwh_mode", rule=NON_NEGATIVE),
            Column("battery_kwh_max", rule=NON_NEGATIVE, bound=Bound(
                None, 1000, "kWh per passenger car; the largest packs hold about 200")),
        ),
        ("vehicle",),
    ),
    "chemistries": TableSpec(
        "chemistries.csv",
        (Column("chemistry", "str"), Column("metal", "str"), Column("kg_per_kwh", rule=NON_NEGATIVE, bound=Bound(
            None, 100, "kg of cathode metal per kWh; real chemistries need below 2"))),
        ("chemistry", "metal"),
        optional=True,
    ),
    "battery_mix": TableSpec(
        "battery_mix.csv",
        (
            Column("chemistry", "str"),
            Column("share", rule=SHARE),
            Column("concentration", rule=POSITIVE, bound=_CONCENTRATION),
        ),
        ("chemistry",),
        optional=True,
    ),
    "globals": TableSpec(
        "globals.csv",
        (
            Column("parameter", "str"),
            Column("value", rule=NON_NEGATIVE, bound=Bound(
                None, 1e6, "the scalar inputs are per kWh or factors of order 1")),
            Column("unit", "str"),
            Column("gsd", rule=GSD, bound=_GSD10),
        ),
        ("parameter",),
    ),
}

#: The scalar inputs ``globals.csv`` must define.
GLOBAL_PARAMETERS = ("grid_hf_kg_per_kwh", "coal_used_kg_per_kwh", "battery_pack_factor")

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
SHARE_TOLERANCE = 1e-6
CONC_GRADE_TOLERANCE = 1e-4  # relative: conc_grade may be this much below the metal grade


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _row_label(spec: TableSpec, raw: pd.DataFrame, i: int) -> str:
    return ", ".join(f"{k}={raw.iloc[i][k]}" for k in spec.key if k in raw.columns)


_BOM = b"\xef\xbb\xbf"


def _line_at(data: bytes, pos: int) -> tuple[int, int, int]:
    """The 1-based line number of byte ``pos`` of ``data`` and the byte offsets where its
    line starts and ends (lines end at ``\\n``, ``\\r\\n`` or ``\\r``, as for the csv
    module)."""
    before = data[:pos].splitlines(keepends=True)
    if not before:
        number, start = 1, 0
    elif before[-1].endswith((b"\n", b"\r")):
        number, start = len(before) + 1, pos
    else:
        number, start = len(before), pos - len(before[-1])
    ends = [e for e in (data.find(b"\n", pos), data.find(b"\r", pos)) if e >= 0]
    return number, start, min(ends, default=len(data))


def _decode(path: Path) -> str:
    """The file's text: UTF-8, a leading byte-order mark dropped.

    Raises
    ------
    DataValidationError
        An invalid UTF-8 byte or a NUL character, naming its line, its character in the
        line and the bytes around it.
    """
    data = path.read_bytes()
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        pos = skip + exc.start
        what = f"not valid UTF-8 text (byte 0x{data[pos]:02x}"
        fix = "save the file as UTF-8"
    else:
        nul = text.find("\x00")
        if nul < 0:
            return text
        pos = skip + len(text[:nul].encode("utf-8"))
        what = "contains a NUL character (byte 0x00"
        fix = "a CSV file is text: save it as UTF-8 (not UTF-16)"
    row, start, end = _line_at(data, pos)
    start = max(start, skip)
    col = len(data[start:pos].decode("utf-8", errors="replace")) + 1
    raise DataValidationError(
        path, f"{what} at character {col} of the line); {fix}", row=row,
        value=data[max(start, pos - 40):min(end, pos + 40)]) from None


def _check_field_counts(path: Path) -> list[int]:
    """Check the file's CSV structure and return the line number of each data row.

    The file is UTF-8 (:func:`_decode`); its header (the first non-blank line) has no
    empty or repeated name; every row has as many fields as the header (pandas would
    shift columns). Blank lines are skipped, as pandas does; a row's line number is the
    line it starts on (a quoted field may span lines).

    Raises
    ------
    DataValidationError
        The first broken rule, naming the line.
    """
    import csv
    import io

    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    records: list[tuple[int, list[str]]] = []
    read = 0
    try:
        for fields in reader:
            if fields:
                records.append((read + 1, fields))
            read = reader.line_num
    except csv.Error as exc:
        raise DataValidationError(path, f"not a readable CSV file ({exc})",
                                  row=reader.line_num) from exc
    if not records:
        raise DataValidationError(path, "file is empty (blank lines only)")
    header_line, raw_header = records[0]
    header = [h.strip() for h in raw_header]
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name == "":
            raise DataValidationError(path, f"empty column header (field {k})",
                                      row=header_line, value=",".join(raw_header))
        if name in seen:
            raise DataValidationError(
                path, f"duplicated column header (first at field {seen[name]}, again at "
                f"field {k}); each column may appear once", row=header_line, column=name,
                value=name)
        seen[name] = k
    n_header = len(header)
    for line_no, fields in records[1:]:
        if len(fields) != n_header:
            raise DataValidationError(
                path, f"line has {len(fields)} fields but the header has {n_header}",
                row=line_no, value=",".join(fields))
    return [line_no for line_no, _ in records[1:]]


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The cells of a CSV file as strings (headers and leading spaces stripped) and the
    line number of each row (:func:`_check_field_counts`)."""
    if not path.is_file():
        raise DataValidationError(path, "file not found" if not path.exists() else
                                  "not a regular file")
    if path.stat().st_size == 0:
        raise DataValidationError(path, "file is empty")
    lines = _check_field_counts(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                          index_col=False, encoding="utf-8-sig")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError(path, f"not a readable CSV file ({exc})") from exc
    raw.columns = pd.Index([str(c).strip() for c in raw.columns])
    if len(lines) != len(raw):  # pandas split the rows otherwise: number them in order
        lines = list(range(2, len(raw) + 2))
    return raw, lines


def read_table(path: Path, spec: TableSpec,
               bounds: Mapping[str, Bound] | None = None) -> pd.DataFrame:
    """Read and validate one CSV file against its spec.

    Rows are numbered as lines of the file (the header is line 1). ``bounds`` replaces
    the plausibility bounds of the columns it names (a dataset's ``plausibility.csv``).
    """
    return _read_table(path, spec, bounds)[0]


def _read_table(path: Path, spec: TableSpec, bounds: Mapping[str, Bound] | None = None
                ) -> tuple[pd.DataFrame, list[int]]:
    """:func:`read_table` and the line number of each row."""
    raw, lines = _read_csv(path)
    if raw.empty:
        raise DataValidationError(path, "file has a header but no data rows")
    missing = [c.name for c in spec.columns if c.required and c.name not in raw.columns]
    for c in spec.columns:  # optional columns that are absent: every cell blank
        if not c.required and c.name not in raw.columns:
            raw[c.name] = ""
    if missing:
        raise DataValidationError(
            path, f"missing column(s) {', '.join(repr(m) for m in missing)}"
        )
    out: dict[str, object] = {}
    for col in spec.columns:
        cells = raw[col.name].astype(str).str.strip()
        if col.kind == "str":
            for i, v in enumerate(cells):
                if v == "" and col.optional_value:
                    continue
                if v == "":
                    raise DataValidationError(
                        path, "must not be empty", row=lines[i],
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
                if col.choices is not None and v not in col.choices:
                    raise DataValidationError(
                        path, f"must be one of {', '.join(col.choices)}", row=lines[i],
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
            out[col.name] = cells.to_numpy(dtype=object)
        elif col.kind == "bool":
            vals: list[bool | None] = []
            for i, v in enumerate(cells):
                lv = v.lower()
                if lv == "" and col.optional_value:
                    vals.append(None)
                    continue
                if lv not in _TRUE | _FALSE:
                    raise DataValidationError(
                        path, "must be true or false", row=lines[i],
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
                vals.append(lv in _TRUE)
            out[col.name] = pd.Series(vals, dtype=object) if None in vals else vals
        else:
            bound = (bounds or {}).get(col.name, col.bound)
            vals_f = []
            for i, v in enumerate(cells):
                if v == "" and col.optional_value:
                    vals_f.append(math.nan)
                    continue
                try:
                    x = float(v)
                except ValueError:
                    x = math.nan
                if not math.isfinite(x):
                    raise DataValidationError(
                        path, "must be a finite number", row=lines[i],
                        row_id=_row_label(spec, raw, i), column=col.name, value=v,
                    )
                if col.rule is not None and not col.rule[1](x):
                    raise DataValidationError(
                        path, col.rule[0], row=lines[i],
                        row_id=_row_label(spec, raw, i), column=col.name, value=x,
                    )
                if bound is not None and not bound.holds(x):
                    raise DataValidationError(
                        path, f"outside the plausibility bound {bound.text(col.name)} "
                        f"({bound.reason}); if the value is intended, set another bound in "
                        f"{PLAUSIBILITY_FILE}", row=lines[i],
                        row_id=_row_label(spec, raw, i), column=col.name, value=x,
                    )
                vals_f.append(x)
            out[col.name] = vals_f
    df = pd.DataFrame(out)
    extra = [str(c) for c in raw.columns if c not in df.columns]
    for name in extra:  # free-text columns (source, notes) are kept as strings
        df[name] = raw[name].to_numpy(dtype=object)
    dup = df.duplicated(list(spec.key), keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        key_val = ", ".join(str(df.iloc[i][k]) for k in spec.key)
        same = (df[list(spec.key)] == df.iloc[i][list(spec.key)]).all(axis=1).to_numpy()
        first = int(same.nonzero()[0][0])
        raise DataValidationError(
            path, f"duplicate {'/'.join(spec.key)} (each must be unique; first on row "
            f"{lines[first]})", row=lines[i],
            row_id=_row_label(spec, raw, i), column=spec.key[0], value=key_val,
        )
    return df, lines


#: The optional file of a dataset that replaces default plausibility bounds.
PLAUSIBILITY_FILE = "plausibility.csv"


def plausibility_table() -> pd.DataFrame:
    """The default plausibility bounds: table, column, low, high, reason (NaN: no bound)."""
    rows = [{"table": name, "column": c.name,
             "low": c.bound.low if c.bound.low is not None else math.nan,
             "high": c.bound.high if c.bound.high is not None else math.nan,
             "reason": c.bound.reason}
            for name, spec in SPECS.items() for c in spec.columns if c.bound is not None]
    return pd.DataFrame(rows, columns=["table", "column", "low", "high", "reason"])


def read_plausibility(path: Path) -> dict[str, dict[str, Bound]]:
    """A dataset's ``plausibility.csv`` (``table,column,low,high,reason``) as the bounds
    it sets, per table and column. A blank ``low`` or ``high`` keeps the default's
    side; ``none`` removes it. ``table`` is a table name (``mines``) or its file
    (``mines.csv``); the column must be a numeric column of that table.

    Raises
    ------
    DataValidationError
        A malformed file (:func:`read_table`'s checks of its CSV structure), an unknown
        table or column, a repeated row, a bound that is not a number, or ``low > high``.
    """
    raw, lines = _read_csv(path)
    missing = [c for c in ("table", "column", "low", "high", "reason") if c not in raw.columns]
    if missing:
        raise DataValidationError(path, f"missing column(s) {', '.join(map(repr, missing))}")
    files = {spec.file: name for name, spec in SPECS.items()}
    out: dict[str, dict[str, Bound]] = {}
    for i, r in enumerate(raw.itertuples(index=False)):
        line, table, column = lines[i], str(r.table).strip(), str(r.column).strip()
        table = files.get(table, table)
        label = f"table={table}, column={column}"
        if table not in SPECS:
            raise DataValidationError(path, f"unknown table (tables: {', '.join(SPECS)})",
                                      row=line, row_id=label, column="table", value=r.table)
        cols = {c.name: c for c in SPECS[table].columns if c.kind == "float"}
        if column not in cols:
            raise DataValidationError(
                path, f"not a numeric column of {SPECS[table].file} ({', '.join(cols)})",
                row=line, row_id=label, column="column", value=column)
        if column in out.get(table, {}):
            raise DataValidationError(path, "the bound of this column is set twice",
                                      row=line, row_id=label, column="column", value=column)
        default = cols[column].bound or Bound()
        sides: list[float | None] = []
        for side, cell, keep in (("low", r.low, default.low), ("high", r.high, default.high)):
            text = str(cell).strip()
            if text == "":
                sides.append(keep)
                continue
            if text.lower() == "none":
                sides.append(None)
                continue
            try:
                x = float(text)
            except ValueError:
                x = math.nan
            if not math.isfinite(x):
                raise DataValidationError(path, "must be a finite number, blank or none",
                                          row=line, row_id=label, column=side, value=text)
            sides.append(x)
        low, high = sides
        if low is not None and high is not None and low > high:
            raise DataValidationError(path, "low must not be above high", row=line,
                                      row_id=label, column="low", value=low)
        reason = str(r.reason).strip() or f"set in {PLAUSIBILITY_FILE}"
        out.setdefault(table, {})[column] = Bound(low, high, reason)
    return out


@dataclass(frozen=True)
class Dataset:
    """A validated dataset: the tables of one folder and the SHA-256 of each file.

    Attributes
    ----------
    path : Path
        The folder the tables came from.
    tables : Mapping[str, pandas.DataFrame]
        ``mines``, ``metals``, ``countries``, ``supply``, ``vehicles``, ``fleet``,
        ``chemistries``, ``battery_mix``, ``globals``.
    hashes : Mapping[str, str]
        File name -> SHA-256 of its bytes.
    fills : pandas.DataFrame
        The blanks of ``mines.csv`` that were filled: mine_id, column, value, rule
        (:func:`complete_mines`).
    """

    path: Path
    tables: Mapping[str, pd.DataFrame]
    hashes: Mapping[str, str] = field(default_factory=dict)
    fills: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["mine_id", "column", "value", "rule"]))

    @property
    def mines(self) -> pd.DataFrame:
        return self.tables["mines"]

    @property
    def metals(self) -> list[str]:
        """Metal names in the order of ``metals.csv``."""
        return list(self.tables["metals"]["metal"])

    @property
    def vehicles(self) -> list[str]:
        """Vehicle types in the order of ``fleet.csv``."""
        return list(self.tables["fleet"]["vehicle"])

    @property
    def countries(self) -> list[str]:
        """ISO3 codes of the countries that have mines, sorted."""
        return sorted(set(self.tables["mines"]["country"]))

    def global_value(self, name: str) -> float:
        g = self.tables["globals"].set_index("parameter")
        return float(cast(float, g.loc[name, "value"]))

    def global_gsd(self, name: str) -> float:
        g = self.tables["globals"].set_index("parameter")
        return float(cast(float, g.loc[name, "gsd"]))


def _check_refs(
    path: Path, df: pd.DataFrame, spec: TableSpec, column: str, valid: set[str], what: str,
    lines: list[int],
) -> None:
    for i, v in enumerate(df[column]):
        if v not in valid:
            raise DataValidationError(
                path, f"unknown {what} (not in {what}s of the dataset)", row=lines[i],
                row_id=", ".join(f"{k}={df.iloc[i][k]}" for k in spec.key),
                column=column, value=v,
            )


def _check_shares(path: Path, df: pd.DataFrame, by: str, what: str,
                  lines: list[int]) -> None:
    for name, grp in df.groupby(by, sort=False):
        total = float(grp["share"].sum())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            first = int(grp.index[0])
            raise DataValidationError(
                path, f"{what} shares of {by} '{name}' must sum to 1 (within {SHARE_TOLERANCE:g})",
                row=lines[first], row_id=f"{by}={name}", column="share", value=round(total, 10),
            )


def load_dataset(path: str | Path) -> Dataset:
    """Load and validate a dataset folder.

    Parameters
    ----------
    path : str or Path
        Folder holding the CSV files listed in the module docstring, and optionally
        ``plausibility.csv`` (:func:`read_plausibility`).

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        The first broken rule, naming file, row, column, value and rule.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataValidationError(root, "dataset folder not found")
    bounds: dict[str, dict[str, Bound]] = {}
    if (root / PLAUSIBILITY_FILE).exists():
        bounds = read_plausibility(root / PLAUSIBILITY_FILE)
    tables: dict[str, pd.DataFrame] = {}
    lines: dict[str, list[int]] = {}  # the line number of each row, per table
    absent = [name for name, spec in SPECS.items()
              if spec.optional and not (root / spec.file).exists()]
    for name, spec in SPECS.items():
        if name in absent:
            tables[name] = pd.DataFrame({c.name: pd.Series(dtype=object if c.kind == "str"
                                                            else float) for c in spec.columns})
            lines[name] = []
            continue
        tables[name], lines[name] = _read_table(root / spec.file, spec, bounds.get(name))
    hashes = {spec.file: sha256_file(root / spec.file) for name, spec in SPECS.items()
              if name not in absent}
    if (root / PLAUSIBILITY_FILE).is_file():
        hashes[PLAUSIBILITY_FILE] = sha256_file(root / PLAUSIBILITY_FILE)
    p = {name: root / spec.file for name, spec in SPECS.items()}
    fleet = tables["fleet"]
    if absent:
        nev = fleet[fleet["nev"].astype(bool)]
        if len(nev):
            raise DataValidationError(
                p[absent[0]], f"file not found; the battery tables ({', '.join(SPECS[a].file for a in absent)}) "
                f"are needed because fleet.csv has an electric vehicle "
                f"('{nev['vehicle'].iloc[0]}', nev = true)")

    arche_path = root / ARCHETYPE_FILE if (root / ARCHETYPE_FILE).is_file() else DEFAULT_ARCHETYPES
    arche_cache: list[pd.DataFrame] = []

    def archetypes() -> pd.DataFrame:
        if not arche_cache:
            arche_cache.append(read_archetypes(arche_path))
        return arche_cache[0]


    countries = set(tables["countries"]["iso3"])
    metals = set(tables["metals"]["metal"])
    vehicles = set(tables["fleet"]["vehicle"])
    chems = set(tables["chemistries"]["chemistry"])

    for name, column, valid, what in (
        ("mines", "country", countries, "country code"), ("mines", "metal", metals, "metal"),
        ("supply", "country", countries, "country code"), ("supply", "metal", metals, "metal"),
        ("vehicles", "metal", metals, "metal"), ("vehicles", "vehicle", vehicles, "vehicle"),
        ("chemistries", "metal", metals, "metal"),
        ("battery_mix", "chemistry", chems, "chemistry"),
    ):
        _check_refs(p[name], tables[name], SPECS[name], column, valid, what, lines[name])
    tables["mines"], lines["mines"], fills = complete_mines(
        p["mines"], tables["mines"], lines["mines"], tables["metals"], archetypes)
    if fills["rule"].str.contains("archetype").any():
        hashes[ARCHETYPE_FILE] = sha256_file(arche_path)
    _check_shares(p["supply"], tables["supply"], "metal", "supply", lines["supply"])
    total_mix = float(tables["battery_mix"]["share"].sum())
    if "battery_mix" not in absent and abs(total_mix - 1.0) > SHARE_TOLERANCE:
        raise DataValidationError(
            p["battery_mix"], f"battery mix shares must sum to 1 (within {SHARE_TOLERANCE:g})",
            column="share", value=round(total_mix, 10),
        )

    # every metal the vehicles need has supply rows (a metal without demand, such as a
    # co-product's gold, may have none); every supplying (metal, country) has a mine
    mines = tables["mines"]
    have = set(zip(mines["metal"], mines["country"], strict=True))
    supply = tables["supply"]
    demanded = set(tables["vehicles"].loc[tables["vehicles"]["content_kg"] > 0, "metal"]) | \
        set(tables["chemistries"].loc[tables["chemistries"]["kg_per_kwh"] > 0, "metal"])
    for m in sorted((metals & demanded) - set(supply["metal"])):
        raise DataValidationError(p["supply"], f"metal '{m}' has no supply shares (the "
                                  "vehicles or battery chemistries need it)", value=m)
    for i, (m, c, s) in enumerate(zip(supply["metal"], supply["country"], supply["share"], strict=True)):
        if s > 0 and (m, c) not in have:
            raise DataValidationError(
                p["supply"], "a supplying country needs at least one mine of that metal in mines.csv",
                row=lines["supply"][i], row_id=f"metal={m}, country={c}", column="country",
                value=c,
            )
    metal_grade = mines["grade"] * mines["grade_unit"].map(GRADE_BASIS_FACTORS)
    # equal is fine (direct-shipping ore); the tolerance absorbs the rounding of a
    # product of CSV values written to 6 significant digits
    low = mines["conc_grade"] < metal_grade * (1.0 - CONC_GRADE_TOLERANCE)
    for j in np.flatnonzero(low.to_numpy()):
        i = int(j)
        raise DataValidationError(
            p["mines"], "conc_grade must be at least the ore's metal grade (grade x the "
            f"metal fraction of grade_unit '{mines['grade_unit'].iloc[i]}' = "
            f"{metal_grade.iloc[i]:.6g}): concentration upgrades the ore",
            row=lines["mines"][i], row_id=f"mine_id={mines['mine_id'].iloc[i]}",
            column="conc_grade",
            value=float(mines["conc_grade"].iloc[i]),
        )
    if not float(fleet["count"].sum()) > 0.0:
        raise DataValidationError(
            p["fleet"], "at least one vehicle count must be positive (every metric is per "
            "fleet)", column="count", value=float(fleet["count"].sum()),
        )
    kwh = fleet[["battery_kwh_min", "battery_kwh_mode", "battery_kwh_max"]].to_numpy(float)
    for j in np.flatnonzero(~((kwh[:, 0] <= kwh[:, 1]) & (kwh[:, 1] <= kwh[:, 2]))):
        i = int(j)
        raise DataValidationError(
            p["fleet"], "must have battery_kwh_min <= battery_kwh_mode <= battery_kwh_max",
            row=lines["fleet"][i], row_id=f"vehicle={fleet['vehicle'].iloc[i]}",
            column="battery_kwh_mode", value=float(kwh[i, 1]),
        )
    glob = set(tables["globals"]["parameter"])
    for g in GLOBAL_PARAMETERS:
        if g not in glob:
            raise DataValidationError(p["globals"], f"parameter '{g}' must be defined", value=g)
    return Dataset(root, tables, hashes, fills)


# ----------------------------------------------------------- gaps, provenance and sites
#: Year-to-year log-sd of one facility's ore grade, measured on the open mine data of
#: Jasansky et al. (2023) (facilities with at least four years, detrended); metals
#: without a measurement take :data:`YEAR_TO_YEAR_GRADE_OTHER`.
YEAR_TO_YEAR_GRADE: dict[str, float] = {"copper": 0.12, "zinc": 0.16, "lead": 0.17,
                                        "nickel": 0.10, "iron": 0.013}
YEAR_TO_YEAR_GRADE_OTHER = 0.15
#: Year-to-year log-sd of one facility's waste/ore ratio (the same data).
YEAR_TO_YEAR_STRIPPING: dict[str, float] = {"iron": 0.38}
YEAR_TO_YEAR_STRIPPING_OTHER = 0.31
#: Year-to-year absolute sd of one facility's mill recovery (the same data).
YEAR_TO_YEAR_RECOVERY: dict[str, float] = {"lead": 0.06}
YEAR_TO_YEAR_RECOVERY_OTHER = 0.03
#: An ``other_year`` value's spread: the year-to-year spread x sqrt(1 + 1/n) for a value
#: from n other years, taken at n = 1 (the table does not say n).
OTHER_YEAR_FACTOR = math.sqrt(2.0)
#: The archetypes that stand for a metal in some countries only; a metal's other
#: archetypes are its general ones (:func:`choose_archetype`).
ARCHETYPE_COUNTRIES: dict[str, frozenset[str]] = {
    "cu_sediment": frozenset({"COD", "ZMB"}),
    "ni_laterite": frozenset({"IDN", "PHL", "NCL", "CUB", "DOM", "COL", "BRA", "VEN", "MDG",
                              "GTM", "GRC", "PNG", "MMR", "TUR", "ALB", "MKD", "CIV", "SLB"}),
    "fe_magnetite": frozenset({"CHN", "RUS", "SWE", "CAN", "UKR", "IRN", "KAZ"}),
    "li_brine": frozenset({"CHL", "ARG", "BOL"}),
}
#: Archetype grade units: divisor to a mass fraction and the grade basis (grade_unit).
ARCHETYPE_GRADE_UNITS: dict[str, tuple[float, str]] = {
    "%": (100.0, "metal"), "% Fe": (100.0, "metal"), "% Mn": (100.0, "metal"),
    "% Cu": (100.0, "metal"), "% Li": (100.0, "metal"), "% Li2O": (100.0, "Li2O"),
    "% Al2O3": (100.0, "Al2O3"), "% REO": (100.0, "REO"), "g/t": (1e6, "metal"),
    "fraction": (1.0, "metal"),
}
#: The optional archetype table of a dataset (else the default dataset's).
ARCHETYPE_FILE = "archetypes.csv"
DEFAULT_ARCHETYPES = Path(__file__).resolve().parents[1] / "distributions" / ARCHETYPE_FILE
_ARCHETYPE_COLUMNS = ("archetype", "metal", "mining_method", "grade_unit", "grade_min",
                      "grade_median", "grade_max", "grade_log_sd", "sr_min", "sr_median",
                      "sr_max", "sr_log_sd", "recovery_min", "recovery_mode", "recovery_max",
                      "conc_grade")
#: The three per-mine values, their spread column and their provenance column.
MINE_VALUES = (("grade", "grade_gsd", "grade_source"),
               ("stripping_ratio", "stripping_gsd", "stripping_source"),
               ("mill_recovery", "recovery_sd", "recovery_source"))
#: Bound columns the filling adds to ``mines`` (NaN: none): an imputed value's
#: distribution is truncated at its archetype's 2.5 and 97.5 percentiles.
TRUNCATION_COLUMNS = {"grade": ("grade_low", "grade_high"),
                      "stripping_ratio": ("stripping_low", "stripping_high"),
                      "mill_recovery": ("recovery_low", "recovery_high")}


def read_archetypes(path: Path) -> pd.DataFrame:
    """An archetype table (``archetypes.csv``: one row per deposit archetype, with its
    metal, mining method, grade unit and the min / median / max and log-sd of grade and
    stripping ratio, the recovery min / mode / max and the concentrate grade)."""
    raw, lines = _read_csv(path)
    missing = [c for c in _ARCHETYPE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(path, f"missing column(s) {', '.join(map(repr, missing))}")
    out = raw[list(_ARCHETYPE_COLUMNS)].copy()
    for c in _ARCHETYPE_COLUMNS[4:]:
        vals = []
        for i, v in enumerate(out[c]):
            try:
                x = float(v) if str(v).strip() != "" else math.nan
            except ValueError:
                raise DataValidationError(path, "must be a number or blank", row=lines[i],
                                          row_id=f"archetype={out['archetype'].iloc[i]}",
                                          column=c, value=v) from None
            vals.append(x)
        out[c] = vals
    for i, u in enumerate(out["grade_unit"]):
        if u not in ARCHETYPE_GRADE_UNITS:
            raise DataValidationError(path, f"must be one of {', '.join(ARCHETYPE_GRADE_UNITS)}",
                                      row=lines[i], row_id=f"archetype={out['archetype'].iloc[i]}",
                                      column="grade_unit", value=u)
    return out.set_index("archetype", drop=False)


def choose_archetype(arche: pd.DataFrame, metal: str, method: str, country: str) -> str:
    """The archetype a row without one gets: among the metal's archetypes of its mining
    method (all of the metal's, if none has that method), the one for its country
    (:data:`ARCHETYPE_COUNTRIES`), else the first general one, else the first; '' when
    the table has no archetype of the metal."""
    of_metal = arche[arche["metal"] == metal]
    same = of_metal[of_metal["mining_method"] == method]
    pool = same if len(same) else of_metal
    for a in pool.index:
        if country in ARCHETYPE_COUNTRIES.get(a, frozenset()):
            return str(a)
    general = [a for a in pool.index if a not in ARCHETYPE_COUNTRIES]
    return str(general[0]) if general else (str(pool.index[0]) if len(pool) else "")


def _blank(x: object) -> bool:
    return x is None or x == "" or (isinstance(x, float) and math.isnan(x))


class _Filler:
    """Fills the blanks of ``mines.csv`` by the rules of :func:`complete_mines`."""

    def __init__(self, path: Path, mines: pd.DataFrame, lines: list[int],
                 metals: pd.DataFrame, archetypes: Callable[[], pd.DataFrame]) -> None:
        self.path, self.lines, self.archetypes = path, lines, archetypes
        self.rows: list[dict[str, Any]] = [
            {str(k): v for k, v in r.items()} for r in mines.to_dict("records")]
        self.metals = metals.set_index("metal")
        self.fills: list[dict[str, object]] = []

    def fail(self, i: int, column: str, rule: str, value: object = "") -> DataValidationError:
        return DataValidationError(self.path, rule, row=self.lines[i],
                                   row_id=f"mine_id={self.rows[i]['mine_id']}", column=column,
                                   value=value)

    def metal_value(self, metal: str, column: str) -> float:
        """A metals.csv cell (NaN when the metal, the column or the value is absent)."""
        if metal not in self.metals.index or column not in self.metals.columns:
            return math.nan
        v = self.metals.at[metal, column]
        return math.nan if _blank(v) else float(cast(float, v))

    def put(self, i: int, column: str, value: object, rule: str) -> None:
        self.rows[i][column] = value
        self.fills.append({"mine_id": self.rows[i]["mine_id"], "column": column,
                           "value": value, "rule": rule})

    def arche(self, i: int, column: str) -> pd.Series:
        """The row's archetype (filled if blank), or the error that no archetype can fill
        ``column``."""
        r = self.rows[i]
        table = self.archetypes()
        a = str(r["archetype"])
        if a == "":
            a = choose_archetype(table, str(r["metal"]), str(r["mining_method"]),
                                 str(r["country"]))
            if a == "":
                raise self.fail(i, column, f"blank, and no archetype can fill it: the archetype "
                                f"table has no archetype of metal '{r['metal']}' (give the "
                                f"value, or an archetype)")
            self.put(i, "archetype", a, f"the archetype of {r['metal']} x {r['mining_method']}"
                     f" for {r['country']}")
        if a not in table.index:
            raise self.fail(i, "archetype", "unknown archetype (not in the archetype table "
                            f"{ARCHETYPE_FILE})", a)
        return cast(pd.Series, table.loc[a])

    def underground_pool(self) -> tuple[float, float, float, float]:
        """min, median, max and log-sd of the stripping ratio over the underground
        archetypes (geometric mean of their medians, mean log-sd, widest range)."""
        t = self.archetypes()
        u = t[t["mining_method"] == "underground"]
        if not len(u):
            return math.nan, math.nan, math.nan, math.nan
        med = float(np.exp(np.mean(np.log(u["sr_median"].to_numpy(float)))))
        return (float(u["sr_min"].min()), med, float(u["sr_max"].max()),
                float(u["sr_log_sd"].mean()))

    # ------------------------------------------------------------------ per row
    def provenance(self, i: int) -> None:
        r = self.rows[i]
        synthetic = r["synthetic"]
        for value, _, source in MINE_VALUES:
            src = str(r[source])
            blank = _blank(r[value])
            if src in ("reported", "other_year") and blank:
                raise self.fail(i, value, f"blank, but {source} says '{src}' (a {src} value "
                                "must be given; leave the source blank or say imputed)")
            if src == "":
                if blank:
                    src = "imputed"
                elif synthetic is True:
                    src = "synthetic"
                else:
                    src = "reported"
            r[source] = src
        if synthetic is None:
            self.put(i, "synthetic", all(r[c] == "synthetic" for _, _, c in MINE_VALUES),
                     "true when grade, stripping ratio and recovery are all synthetic")

    def values(self, i: int) -> None:
        r = self.rows[i]
        for c in TRUNCATION_COLUMNS.values():
            r[c[0]] = r[c[1]] = math.nan
        if r["archetype"] == "" and choose_archetype(self.archetypes(), str(r["metal"]),
                                                     str(r["mining_method"]), str(r["country"])):
            self.arche(i, "archetype")
        if _blank(r["grade"]):
            a = self.arche(i, "grade")
            div, basis = ARCHETYPE_GRADE_UNITS[str(a["grade_unit"])]
            if not _blank(r["grade_unit"]) and r["grade_unit"] != basis:
                raise self.fail(i, "grade_unit", f"grade is blank and its archetype "
                                f"'{a['archetype']}' reports grades as {a['grade_unit']}: "
                                f"grade_unit must be {basis} or blank", r["grade_unit"])
            self.put(i, "grade", float(a["grade_median"]) / div,
                     f"the median grade of archetype {a['archetype']}")
            if _blank(r["grade_unit"]):
                self.put(i, "grade_unit", basis, f"the grade unit of archetype {a['archetype']}")
        elif _blank(r["grade_unit"]):
            raise self.fail(i, "grade_unit", "must not be empty when a grade is given",
                            r["grade_unit"])
        if _blank(r["mill_recovery"]):
            a = self.arche(i, "mill_recovery")
            self.put(i, "mill_recovery", float(a["recovery_mode"]),
                     f"the modal recovery of archetype {a['archetype']}")
        if _blank(r["conc_grade"]) and str(r["archetype"]) != "":
            a = self.arche(i, "conc_grade")  # no concentrate grade there: whole-ore processing
            if not math.isnan(float(a["conc_grade"])):
                self.put(i, "conc_grade", float(a["conc_grade"]),
                         f"the concentrate grade of archetype {a['archetype']}")
        if _blank(r["refining_recovery"]):
            m = str(r["metal"])
            rr = self.metal_value(m, "refining_recovery")
            if math.isnan(rr):
                raise self.fail(i, "refining_recovery", "blank, and metals.csv gives no "
                                f"refining_recovery for {m} to fill it")
            self.put(i, "refining_recovery", rr, f"metals.csv refining_recovery of {m}")

    def stripping(self, i: int) -> None:
        """The stripping ratio of site lead ``i`` from the archetype (value blank)."""
        r = self.rows[i]
        if r["mining_method"] == "brine":
            self.put(i, "stripping_ratio", 0.0, "brine operations move no waste rock")
            return
        a = self.arche(i, "stripping_ratio")
        if r["mining_method"] == "underground" and a["mining_method"] != "underground":
            lo, med, hi, sd = self.underground_pool()
            if math.isnan(med):
                raise self.fail(i, "stripping_ratio", "blank, and no archetype can fill it: "
                                "the row is underground and the archetype table has no "
                                "underground archetype")
            r["_sr"] = (lo, med, hi, sd)
            self.put(i, "stripping_ratio", med, "the pooled stripping ratio of the "
                     "underground archetypes")
            return
        r["_sr"] = (float(a["sr_min"]), float(a["sr_median"]), float(a["sr_max"]),
                    float(a["sr_log_sd"]))
        self.put(i, "stripping_ratio", float(a["sr_median"]),
                 f"the median stripping ratio of archetype {a['archetype']}")

    def spreads(self, i: int) -> None:
        r = self.rows[i]
        metal = str(r["metal"])
        for value, spread, source in MINE_VALUES:
            if not _blank(r[spread]) or (value == "stripping_ratio" and r.get("_follower")):
                continue
            src = str(r[source])
            lo_c, hi_c = TRUNCATION_COLUMNS[value]
            if src in ("reported", "other_year"):
                f = OTHER_YEAR_FACTOR if src == "other_year" else 1.0
                if value == "grade":
                    x = math.exp(f * YEAR_TO_YEAR_GRADE.get(metal, YEAR_TO_YEAR_GRADE_OTHER))
                elif value == "stripping_ratio":
                    x = math.exp(f * YEAR_TO_YEAR_STRIPPING.get(metal,
                                                                YEAR_TO_YEAR_STRIPPING_OTHER))
                else:
                    x = f * YEAR_TO_YEAR_RECOVERY.get(metal, YEAR_TO_YEAR_RECOVERY_OTHER)
                self.put(i, spread, x, f"the year-to-year spread of {value} ({src}"
                         f"{', x sqrt 2' if f != 1.0 else ''})")
                continue
            if value == "stripping_ratio" and (r["mining_method"] == "brine"
                                               or float(r["stripping_ratio"]) == 0.0):
                self.put(i, spread, 1.0, "no waste rock: no spread")
                continue
            if value == "stripping_ratio" and "_sr" in r:  # the site's archetype range
                lo, _, hi, sd = r["_sr"]
                self.put(i, spread, math.exp(sd), f"the across-deposit spread of the site's "
                         f"stripping ratio ({src})")
                if src == "imputed":
                    r[lo_c], r[hi_c] = lo, hi
                continue
            a = self.arche(i, spread)
            name = a["archetype"]
            if value == "grade":
                div = ARCHETYPE_GRADE_UNITS[str(a["grade_unit"])][0]
                x, lo, hi = (math.exp(float(a["grade_log_sd"])), float(a["grade_min"]) / div,
                             float(a["grade_max"]) / div)
            elif value == "stripping_ratio":
                lo, hi = float(a["sr_min"]), float(a["sr_max"])
                x = math.exp(float(a["sr_log_sd"]))
            else:
                lo, hi = float(a["recovery_min"]), float(a["recovery_max"])
                x = min(max((hi - lo) / 3.92, 1e-3), 0.5)
            self.put(i, spread, x, f"the across-deposit spread of archetype {name} ({src})")
            if src == "imputed":
                r[lo_c], r[hi_c] = lo, hi


def complete_mines(path: Path, mines: pd.DataFrame, lines: list[int], metals: pd.DataFrame,
                   archetypes: Callable[[], pd.DataFrame]
                   ) -> tuple[pd.DataFrame, list[int], pd.DataFrame]:
    """Fill the blanks of ``mines.csv``, group its rows into sites and check the sites.

    Rules, in order:

    * ``site_id`` blank: the row is its own site (site id = mine id).
    * Provenance (``grade_source``, ``stripping_source``, ``recovery_source``): a blank
      value is ``imputed`` (or stays ``synthetic`` if the source says so); a blank source
      of a given value is ``synthetic`` on a synthetic row, else ``reported``.
      ``synthetic`` blank: true when all three values are synthetic.
    * ``archetype`` blank: :func:`choose_archetype`. ``grade``, ``mill_recovery``,
      ``conc_grade`` blank: the archetype's median grade (and its unit), modal recovery,
      concentrate grade (blank: whole-ore processing). ``refining_recovery`` blank:
      metals.csv ``refining_recovery``.
    * A site's rows share one stripping ratio and its spread: the first given on the
      site's rows (rows that give another are an error), else its archetype's median
      (brine: 0; an underground row whose archetype is not underground: the pooled
      underground archetypes).
    * Spreads blank, by provenance: reported, the year-to-year spreads
      (:data:`YEAR_TO_YEAR_GRADE` ...); other_year, those x :data:`OTHER_YEAR_FACTOR`;
      imputed, the archetype's across-deposit spread, truncated at its min and max
      (:data:`TRUNCATION_COLUMNS`); synthetic, the across-deposit spread.
    * Allocation: per site, ``alloc_economic`` = price x production over the site's
      total revenue (metals.csv ``price_usd_per_t``), ``alloc_mass`` = production over
      the site's, ``main_product`` = the highest-revenue row; a single-row site gets 1,
      1, true. A site's cells of one column are all given or all blank; given shares of
      a multi-row site sum to 1. Without a price for one of its metals, a multi-row
      site's economic shares and main product stay blank (an error only under the
      allocation that needs them, :func:`uncertainty.model.allocation_shares`).
    * The rows of a site share country and mining method and have distinct metals; they
      are moved together (at the place of the site's first row, its main product first).

    Returns
    -------
    mines : pandas.DataFrame
        Every cell filled (``conc_grade`` NaN for whole-ore processing; allocation cells
        NaN where a price is missing), plus :data:`TRUNCATION_COLUMNS`.
    lines : list of int
        The line number of each row, in the new order.
    fills : pandas.DataFrame
        mine_id, column, value, rule: one row per filled cell.
    """
    f = _Filler(path, mines, lines, metals, archetypes)
    rows = f.rows
    explicit = {str(r["site_id"]) for r in rows if r["site_id"] != ""}
    sites: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if r["site_id"] == "":
            if str(r["mine_id"]) in explicit:
                raise f.fail(i, "site_id", "blank, but the row's mine_id is the site_id of "
                             "other rows (give it that site_id, or rename the site)", "")
            r["site_id"] = str(r["mine_id"])
        sites.setdefault(str(r["site_id"]), []).append(i)
    for sid, members in sites.items():
        first = members[0]
        for i in members[1:]:
            for col in ("country", "mining_method"):
                if rows[i][col] != rows[first][col]:
                    raise f.fail(i, col, f"the rows of site '{sid}' must share {col} (line "
                                 f"{lines[first]} has '{rows[first][col]}')", rows[i][col])
        seen: dict[str, int] = {}
        for i in members:
            m = str(rows[i]["metal"])
            if m in seen:
                raise f.fail(i, "metal", f"site '{sid}' has two rows of {m} (line "
                             f"{lines[seen[m]]}); one row per metal and site", m)
            seen[m] = i
    for i in range(len(rows)):
        f.provenance(i)
        f.values(i)
    order: list[int] = []
    for sid, members in sites.items():
        _site_allocation(f, sid, members)
        main = [i for i in members if rows[i]["main_product"] is True]
        members[:] = main[:1] + [i for i in members if i not in main[:1]]  # the lead first
        order.extend(members)
        _site_stripping(f, sid, members)
    for i in range(len(rows)):
        f.spreads(i)
    for sid, members in sites.items():  # the lead's stripping spread is the site's
        lead = rows[members[0]]
        for i in members[1:]:
            if _blank(rows[i]["stripping_gsd"]) or rows[i]["stripping_gsd"] != lead["stripping_gsd"]:
                f.put(i, "stripping_gsd", lead["stripping_gsd"],
                      f"the stripping spread of site {sid}")
            rows[i]["stripping_low"] = lead["stripping_low"]
            rows[i]["stripping_high"] = lead["stripping_high"]
    out = pd.DataFrame([{k: v for k, v in rows[i].items() if not k.startswith("_")}
                        for i in order])
    for col in ("grade", "stripping_ratio", "mill_recovery", "conc_grade", "refining_recovery",
                "alloc_economic", "alloc_mass", "grade_gsd", "stripping_gsd", "recovery_sd",
                *(c for pair in TRUNCATION_COLUMNS.values() for c in pair)):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["synthetic"] = out["synthetic"].astype(bool)
    fills = pd.DataFrame(f.fills, columns=["mine_id", "column", "value", "rule"])
    return out.reset_index(drop=True), [lines[i] for i in order], fills


def _site_stripping(f: _Filler, sid: str, members: list[int]) -> None:
    rows = f.rows
    given = [i for i in members if not _blank(rows[i]["stripping_ratio"])]
    for col in ("stripping_ratio", "stripping_gsd"):
        vals = [i for i in members if not _blank(rows[i][col])]
        for i in vals[1:]:
            a, b = float(rows[vals[0]][col]), float(rows[i][col])
            if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                raise f.fail(i, col, f"the rows of site '{sid}' share one ore stream and one "
                             f"{col}; line {f.lines[vals[0]]} gives {a:g}", b)
    for i in members[1:]:
        rows[i]["_follower"] = True
    if given:
        src = given[0]
    else:  # the first row with an archetype (a co-product such as gold has none)
        src = next((i for i in members if rows[i]["archetype"] != ""), members[0])
        f.stripping(src)
    for i in members:
        if i == src:
            continue
        if _blank(rows[i]["stripping_ratio"]):
            f.put(i, "stripping_ratio", rows[src]["stripping_ratio"],
                  f"the stripping ratio of site {sid}")
        if "_sr" in rows[src]:
            rows[i]["_sr"] = rows[src]["_sr"]
        rows[i]["stripping_source"] = rows[src]["stripping_source"]
    gsd = [i for i in members if not _blank(rows[i]["stripping_gsd"])]
    if gsd:
        for i in members:
            if _blank(rows[i]["stripping_gsd"]):
                f.put(i, "stripping_gsd", rows[gsd[0]]["stripping_gsd"],
                      f"the stripping spread of site {sid}")


def _site_allocation(f: _Filler, sid: str, members: list[int]) -> None:
    rows = f.rows
    if len(members) == 1:
        i = members[0]
        for col, v in (("alloc_economic", 1.0), ("alloc_mass", 1.0), ("main_product", True)):
            if _blank(rows[i][col]):
                f.put(i, col, v, "single-row sites bear all of their hidden flow")
        return
    prod = np.array([float(rows[i]["production_t"]) for i in members])
    price = np.array([f.metal_value(str(rows[i]["metal"]), "price_usd_per_t")
                      for i in members])
    revenue = price * prod
    for col in ("alloc_economic", "alloc_mass", "main_product"):
        blank = [_blank(rows[i][col]) for i in members]
        if any(blank) and not all(blank):
            j = members[blank.index(True)]
            raise f.fail(j, col, f"site '{sid}' gives {col} on some rows only; give it on "
                         "every row of the site or on none", "")
        if not any(blank):
            if col == "main_product":
                n_main = sum(bool(rows[i][col]) for i in members)
                if n_main != 1:
                    raise f.fail(members[0], col, f"site '{sid}' must have exactly one main "
                                 "product", n_main)
                continue
            total = sum(float(rows[i][col]) for i in members)
            if abs(total - 1.0) > SHARE_TOLERANCE:
                raise f.fail(members[0], col, f"the {col} shares of site '{sid}' must sum to "
                             f"1 (within {SHARE_TOLERANCE:g})", round(total, 10))
            continue
        if col == "alloc_mass":
            for i, x in zip(members, prod / prod.sum(), strict=True):
                f.put(i, col, float(x), f"production over the production of site {sid}")
            continue
        if np.isnan(price).any():
            for i in members:  # an error only under the allocation that needs it
                rows[i][col] = math.nan if col == "alloc_economic" else None
            continue
        if col == "alloc_economic":
            for i, x in zip(members, revenue / revenue.sum(), strict=True):
                f.put(i, col, float(x), f"revenue (price x production) over the revenue of site {sid}")
        else:
            top = int(np.argmax(revenue))
            for k, i in enumerate(members):
                f.put(i, col, k == top, f"the highest-revenue row of site {sid}")


def coverage_table(ds: Dataset) -> pd.DataFrame:
    """What the mine table rests on, per metal.

    Returns
    -------
    pandas.DataFrame
        One row per metal of ``mines.csv`` (metals.csv order): ``metal``, ``sites``
        (sites with a row of the metal), ``rows``, ``production_t``, and for each value
        ``v`` of grade, stripping_ratio, mill_recovery and each provenance ``p``, the
        column ``v:p``: the share of the metal's production whose ``v`` is ``p``.
    """
    m = ds.mines
    out = []
    for metal in ds.metals:
        sub = m[m["metal"] == metal]
        if not len(sub):
            continue
        prod = sub["production_t"].to_numpy(float)
        row: dict[str, object] = {"metal": metal, "sites": int(sub["site_id"].nunique()),
                                  "rows": len(sub), "production_t": float(prod.sum())}
        for value, _, source in MINE_VALUES:
            for prov in PROVENANCES:
                row[f"{value}:{prov}"] = float(prod[(sub[source] == prov).to_numpy()].sum()
                                               / prod.sum())
        out.append(row)
    return pd.DataFrame(out)


_SHORT = {"grade": "grade", "stripping_ratio": "stripping", "mill_recovery": "recovery"}


def format_coverage(cov: pd.DataFrame) -> list[str]:
    """:func:`coverage_table` as text lines: per metal, sites, rows, production and the
    percentages reported / other_year / imputed / synthetic of each value."""
    head = (f"{'metal':<12} {'sites':>6} {'rows':>6} {'production_t':>16}   "
            + "   ".join(f"{_SHORT[v] + ' r/o/i/s %':<17}" for v, _, _ in MINE_VALUES))
    lines = [head.rstrip()]
    for d in cov.to_dict("records"):
        parts = []
        for value, _, _ in MINE_VALUES:
            cells = "/".join(f"{100 * cov.loc[cov['metal'] == d['metal'], f'{value}:{p}'].item():.0f}"
                             for p in PROVENANCES)
            parts.append(f"{cells:<17}")
        lines.append(f"{d['metal']:<12} {d['sites']:>6} {d['rows']:>6} "
                     f"{d['production_t']:>16,.0f}   " + "   ".join(parts).rstrip())
    return lines


def weightless_mines(ds: Dataset) -> pd.DataFrame:
    """Mines that receive no weight: ``supply.csv`` has no positive share for their
    metal from their country, so they contribute nothing to any metric.

    Returns
    -------
    pandas.DataFrame
        mine_id, metal, country, production_t, reason; one row per mine, in file order.
    """
    mines, supply = ds.tables["mines"], ds.tables["supply"]
    shares = {(m, c): float(v) for m, c, v in
              zip(supply["metal"], supply["country"], supply["share"], strict=True)}
    rows = []
    for mid, metal, country, prod in zip(mines["mine_id"], mines["metal"], mines["country"],
                                         mines["production_t"], strict=True):
        share = shares.get((metal, country))
        if share is None or share <= 0:
            reason = ("supply.csv has no share for " if share is None else
                      "supply.csv gives a share of 0 for ") + f"{metal} from {country}"
            rows.append({"mine_id": mid, "metal": metal, "country": country,
                         "production_t": float(prod), "reason": reason})
    return pd.DataFrame(rows, columns=["mine_id", "metal", "country", "production_t", "reason"])


def dataset_warnings(ds: Dataset, max_ids: int = 5) -> list[str]:
    """One ``warning:`` line per (metal, country) of :func:`weightless_mines`, with the
    number of mines, their production and their ids (at most ``max_ids``)."""
    lost = weightless_mines(ds)
    out = []
    path = ds.path / SPECS["mines"].file
    supplied = set(ds.tables["supply"]["metal"])
    byproduct = lost[~lost["metal"].isin(supplied)]
    if len(byproduct):  # co-products (gold at copper mines): they only take allocation shares
        metals = ", ".join(dict.fromkeys(byproduct["metal"]))
        out.append(f"note: {path}: {len(byproduct)} row(s) of {metals}, metal(s) without "
                   "supply shares, take their sites' allocation shares and no weight")
    lost = lost[lost["metal"].isin(supplied)]
    for (metal, country), grp in lost.groupby(["metal", "country"], sort=False):
        ids = list(grp["mine_id"])
        shown = ", ".join(ids[:max_ids]) + (f" and {len(ids) - max_ids} more"
                                             if len(ids) > max_ids else "")
        total = float(grp["production_t"].sum())
        tonnes = f"{total:,.0f}" if total >= 10 else f"{total:.3g}"
        out.append(f"warning: {path}: {len(ids)} mine(s) of {metal} in {country} "
                   f"({tonnes} t of production: {shown}) receive no "
                   f"weight: {grp['reason'].iloc[0]}")
    return out
