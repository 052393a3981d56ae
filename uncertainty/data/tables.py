"""Reading one CSV table against its specification.

Files are UTF-8 text (a byte-order mark is accepted; an invalid byte or a NUL is named
by line and character) with unique, non-empty column headers; blank lines are skipped
and a row keeps the number of the line it starts on. Every value is checked against its
column's kind and rule; a bad one raises :class:`~uncertainty.data.schema.DataValidationError`
naming the file, the row (line number and key), the column, the value and the rule.
Besides the hard rules (a grade in (0, 1]), a numeric column may have a plausibility
bound with its reason (:func:`plausibility_table`: a grade not below a part per billion,
a stripping ratio not above 500); a dataset's optional ``plausibility.csv`` moves those
bounds (:func:`read_plausibility`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from uncertainty.data.schema import (
    _FALSE,
    _TRUE,
    SPECS,
    Bound,
    DataValidationError,
    TableSpec,
)

__all__ = [
    "PLAUSIBILITY_FILE",
    "plausibility_table",
    "raw_cells",
    "read_plausibility",
    "read_table",
]


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


def raw_cells(path: str | Path) -> pd.DataFrame:
    """The cells of a CSV file as strings, unvalidated (for rewriting some of them and
    leaving the rest exactly as given)."""
    return _read_csv(Path(path))[0]


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
