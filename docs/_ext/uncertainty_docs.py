"""Sphinx directives that render reference tables from the code, so the pages cannot drift.

``data-columns``
    the columns of every dataset table, from :data:`uncertainty.data.schema.SPECS`;
    optional arguments name tables (``mines metals``) to render only those.
``run-keys``
    every run-file key, grouped by TOML table, from :data:`uncertainty.config.RUN_KEYS`.
``package-layout``
    every module of the package with the first paragraph of its docstring.
``metric-registry``
    the headline metrics and metric families of :mod:`uncertainty.metrics`.
``output-files``
    the files of an out folder, from :data:`uncertainty.outputs.FILES`.
``conc-grade-max``
    the stoichiometric maximum of ``conc_grade`` per metal and grade basis, from
    :data:`uncertainty.data.CONC_GRADE_MAX`.
``calibration-tables``
    the calibration of the shipped default dataset: its targets, knobs and conflicting
    targets, from ``distributions/calibration*.csv`` (written by the builder).

Each directive emits docutils nodes directly (tables, sections), so the result is the
same whether the page is Markdown (MyST) or reStructuredText.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import re
from collections.abc import Iterable, Sequence
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.application import Sphinx

__all__ = ["setup"]

Cell = str | Sequence[nodes.Node]

# ``literal``, :role:`target` / :role:`~a.b.target` / :role:`text <target>`, `literal`
_INLINE = re.compile(r"``(?P<lit2>.+?)``|:(?P<role>[a-z]+):`(?P<target>[^`]+)`|`(?P<lit>[^`]+)`")
_PY_ROLES = {"mod", "func", "class", "meth", "attr", "data", "obj", "exc"}


# ----------------------------------------------------------------------------- helpers
def inline(text: str, module: str | None = None) -> list[nodes.Node]:
    """Nodes of one line of text: backticks are code, Python roles cross-references."""
    out: list[nodes.Node] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(nodes.Text(text[pos:m.start()]))
        if m.group("lit2") is not None:
            out.append(nodes.literal(m.group("lit2"), m.group("lit2")))
        elif m.group("lit") is not None:
            out.append(nodes.literal(m.group("lit"), m.group("lit")))
        else:
            role, target = m.group("role"), m.group("target")
            shown, _, explicit = target.partition(" <")
            if explicit:
                target = explicit.rstrip(">")
            else:
                shown = target.lstrip("~")
                if target.startswith("~"):
                    shown = shown.rpartition(".")[2]
                target = target.lstrip("~")
            lit = nodes.literal(shown, shown, classes=["xref", "py"])
            if role in _PY_ROLES:
                ref = addnodes.pending_xref("", lit, refdomain="py",
                                            reftype="obj" if role == "data" else role,
                                            reftarget=target, refexplicit=True,
                                            refwarn=False, refspecific=True)
                if module:
                    ref["py:module"] = module
                out.append(ref)
            else:
                out.append(lit)
        pos = m.end()
    if pos < len(text):
        out.append(nodes.Text(text[pos:]))
    return out


def _cell(value: Cell) -> nodes.entry:
    entry = nodes.entry()
    para = nodes.paragraph()
    para.extend(inline(value) if isinstance(value, str) else list(value))
    entry += para
    return entry


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]],
          widths: Sequence[int] | None = None, classes: Sequence[str] = ()) -> nodes.table:
    """A docutils table with a header row."""
    widths = list(widths or [1] * len(headers))
    tbl = nodes.table(classes=["uncertainty-ref", *classes])
    group = nodes.tgroup(cols=len(headers))
    tbl += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    row = nodes.row()
    for h in headers:
        row += _cell(h)
    head += row
    group += head
    body = nodes.tbody()
    for r in rows:
        tr = nodes.row()
        for v in r:
            tr += _cell(v)
        body += tr
    group += body
    return tbl


def section(ids: str, title: Sequence[nodes.Node] | str, *content: nodes.Node,
            document: nodes.document) -> nodes.section:
    """A section with an explicit id (unique within the page)."""
    sec = nodes.section(ids=[ids], names=[ids])
    t = nodes.title()
    t.extend(inline(title) if isinstance(title, str) else list(title))
    sec += t
    sec.extend(content)
    document.note_implicit_target(sec, sec)
    return sec


def para(text: str, module: str | None = None) -> nodes.paragraph:
    p = nodes.paragraph()
    p.extend(inline(text, module))
    return p


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


# ------------------------------------------------------------------------ data columns
def _range(col: Any) -> str:
    parts = []
    if col.choices:
        parts.append("one of " + ", ".join(f"`{c}`" for c in col.choices))
    if col.rule is not None:
        parts.append(col.rule[0].removeprefix("must be ").strip())
    b = col.bound
    if b is not None and (b.low is not None or b.high is not None):
        if b.low is not None and b.high is not None:
            parts.append(f"plausible {b.low:g} to {b.high:g}")
        elif b.low is not None:
            parts.append(f"plausible >= {b.low:g}")
        else:
            parts.append(f"plausible <= {b.high:g}")
    if not parts:
        parts.append({"str": "text", "bool": "`true` or `false`"}.get(col.kind, "number"))
    return "; ".join(parts)


def _status(col: Any, key: Sequence[str]) -> str:
    if not col.required:
        s = "optional column, blank allowed" if col.optional_value else "optional column"
    elif col.optional_value:
        s = "required column, blank allowed"
    else:
        s = "required"
    if col.name in key:
        s += " (key)" if len(key) == 1 else " (part of the key)"
    return s


def _default(col: Any) -> str:
    if col.default:
        return col.default
    if col.optional_value or not col.required:
        return "blank"
    return "-"


class DataColumns(Directive):
    """The column reference of the dataset tables (``SPECS``)."""

    optional_arguments = 20
    has_content = False

    def run(self) -> list[nodes.Node]:
        from uncertainty.data.schema import SPECS

        names = self.arguments or list(SPECS)
        unknown = [n for n in names if n not in SPECS]
        if unknown:
            raise self.error(f"data-columns: unknown table(s) {unknown}; known: {list(SPECS)}")
        doc = self.state.document
        out: list[nodes.Node] = []
        for name in names:
            spec = SPECS[name]
            key = ", ".join(f"`{k}`" for k in spec.key)
            need = "optional file (needed when a vehicle is an NEV)" if spec.optional \
                else "required file"
            rows = [
                (f"`{c.name}`", c.kind, c.unit or "-", _range(c), _status(c, spec.key),
                 _default(c), c.meaning)
                for c in spec.columns
            ]
            tbl = table(("column", "kind", "unit", "range / rule", "status",
                         "blank or absent", "meaning"), rows, widths=(12, 5, 12, 18, 12, 20, 30))
            out.append(section(f"columns-{_slug(name)}", f"`{spec.file}`",
                               para(f"Key: {key}; {need}."), tbl, document=doc))
        return out


# ----------------------------------------------------------------------------- run keys
_SECTION_TITLES = {
    "": ("top-level", "Top level"),
    "scenario": ("scenario", "`[scenario]`: switches of the baseline"),
    "montecarlo": ("montecarlo", "`[montecarlo]`"),
    "sensitivity": ("sensitivity", "`[sensitivity]`"),
    "sensitivity.groups": ("sensitivity-groups", "`[sensitivity.groups]`"),
    "scenarios": ("scenarios", "`[[scenarios]]`: one table per scenario"),
    "overrides": ("overrides", "`[overrides]`"),
    "calibration.knobs": ("calibration-knobs", "`[[calibration.knobs]]`: one table per knob "
                          "(`uncertainty calibrate`)"),
    "calibration.targets": ("calibration-targets", "`[[calibration.targets]]`: one table per "
                            "target"),
}


def toml_literal(v: Any) -> str:
    """A value as TOML writes it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_literal(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_literal(x)}" for k, x in v.items()) + "}"
    return repr(v)


def _key_default(k: Any) -> str:
    if k.required:
        return "required" if k.default_text in ("", "-") else k.default_text
    if k.default_text:
        return k.default_text
    if k.default is None:
        return "none"
    return f"`{toml_literal(k.default)}`"


class RunKeys(Directive):
    """The run-file keys (``RUN_KEYS``), one table per TOML table."""

    optional_arguments = 10
    has_content = False

    def run(self) -> list[nodes.Node]:
        from uncertainty.config import RUN_KEYS

        sections: dict[str, list[Any]] = {}
        for k in RUN_KEYS:
            sections.setdefault(k.section, []).append(k)
        wanted = self.arguments or list(sections)
        doc = self.state.document
        out: list[nodes.Node] = []
        for name in wanted:
            if name == "top":
                name = ""
            if name not in sections:
                raise self.error(f"run-keys: no section {name!r}; known: {list(sections)}")
            ids, title = _SECTION_TITLES.get(name, (_slug(name), f"`[{name}]`"))
            rows = [(f"`{k.name}`", k.type, _key_default(k), k.rule, k.meaning)
                    for k in sections[name]]
            tbl = table(("key", "type", "default", "rule", "meaning"), rows,
                        widths=(14, 10, 14, 20, 42))
            out.append(section(f"keys-{ids}", title, tbl, document=doc))
        return out


# ------------------------------------------------------------------------ package layout
def _summary(modname: str) -> str:
    spec = importlib.util.find_spec(modname)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return ""
    with open(spec.origin, encoding="utf-8") as fh:
        doc = ast.get_docstring(ast.parse(fh.read())) or ""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split())


def package_modules() -> list[tuple[str, bool, str]]:
    """(module name, is a package, first docstring paragraph) of every module."""
    import uncertainty

    found = [("uncertainty", True, _summary("uncertainty"))]
    for info in pkgutil.walk_packages(uncertainty.__path__, "uncertainty."):
        found.append((info.name, info.ispkg, _summary(info.name)))
    return sorted(found)


class PackageLayout(Directive):
    """Every module of ``uncertainty`` with the summary of its docstring."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = []
        for name, ispkg, summary in package_modules():
            shown = name + ("/" if ispkg and name != "uncertainty" else "")
            ref = addnodes.pending_xref("", nodes.literal(shown, shown), refdomain="py",
                                        reftype="mod", reftarget=name, refexplicit=True,
                                        refwarn=False)
            rows.append(([ref], inline(summary or "(no docstring)", name)))
        return [table(("module", "summary"), rows, widths=(25, 75))]


# ------------------------------------------------------------------------------- metrics
class MetricRegistry(Directive):
    """The headline metrics and the metric families."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from uncertainty.metrics import FAMILIES, HEADLINE

        head = table(("metric", "unit", "label", "formula"),
                     [(f"`{m.name}`", m.unit, m.label, m.formula) for m in HEADLINE],
                     widths=(22, 8, 25, 45))
        over = {"metal": "<metal>", "vehicle": "<vehicle>", "nev": "<nev vehicle>",
                "country": "<iso3>"}
        fam = table(("metrics", "one per", "unit", "label", "formula"),
                    [(f"`{f.prefix}{over.get(f.over, f.over)}`", f.over, f.unit, f.label,
                      f.formula) for f in FAMILIES],
                    widths=(25, 8, 8, 22, 37))
        return [para("Headline metrics, in output order:"), head,
                para("Then the families, expanded over the dataset's metals, vehicles, NEVs "
                     "and countries:"), fam]


class OutputFiles(Directive):
    """The files of an out folder."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from uncertainty.outputs import FILES

        rows = [(f"`{f.name}`", ", ".join(f"`{c}`" for c in f.columns) or "-", f.meaning)
                for f in FILES]
        return [table(("file", "columns (at least)", "meaning"), rows, widths=(18, 42, 40))]


def _g(v: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant digits (text as it is)."""
    try:
        return f"{float(v):.{digits}g}"
    except (TypeError, ValueError):
        return str(v)


class CalibrationTables(Directive):
    """The shipped default dataset's calibration (targets, knobs, conflicts)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import pandas as pd

        from uncertainty.resources import default_dataset

        folder = default_dataset()
        doc = self.state.document
        t = pd.read_csv(folder / "calibration_targets.csv", keep_default_na=False)
        k = pd.read_csv(folder / "calibration.csv", keep_default_na=False)
        c = pd.read_csv(folder / "calibration_conflicts.csv", keep_default_na=False)
        targets = table(
            ("target", "value", "band", "achieved", "holds", "weight", "source"),
            [(f"`{r.target}`", _g(r.value), f"[{_g(r.band_low)}, {_g(r.band_high)}]",
              _g(r.achieved), "yes" if str(r.holds) == "True" else "**no**", _g(r.weight),
              str(r.source)) for r in t.itertuples()], widths=(18, 8, 14, 10, 6, 6, 38))
        knobs = table(
            ("knob", "inputs", "mode", "bounds", "value", "at bound", "profile", "source"),
            [(f"`{r.knob}`", f"`{r.inputs}`", str(r.mode), f"[{_g(r.low)}, {_g(r.high)}]",
              _g(r.value), str(r.at_bound), f"[{_g(r.profile_low)}, {_g(r.profile_high)}]",
              str(r.source)) for r in k.itertuples()],
            widths=(14, 16, 6, 10, 8, 6, 12, 28))
        conflicts = table(
            ("pushed to hold", "costs", "pushed target holds", "achieved when pushed",
             "other: at the fit", "other: when pushed", "cost (band widths)", "bounds active"),
            [(f"`{r.target}`", f"`{r.other}`", "yes" if str(r.target_holds_when_pushed) ==
              "True" else "no", _g(r.target_achieved_when_pushed),
              _g(r.other_achieved_at_fit), _g(r.other_achieved_when_pushed), _g(r.cost, 3),
              str(r.active_bounds)) for r in c.itertuples()],
            widths=(12, 12, 6, 8, 8, 8, 6, 40))
        return [section("calibration-targets", "Targets", targets, document=doc),
                section("calibration-knobs", "Knobs", knobs, document=doc),
                section("calibration-conflicts", "Conflicts", conflicts, document=doc)]


class ConcGradeMax(Directive):
    """The richest concentrate per metal and grade basis."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from uncertainty.data import CONC_GRADE_MAX

        rows = [(metal, f"`{basis}`", f"{top:g}", mineral)
                for (metal, basis), (top, mineral) in CONC_GRADE_MAX.items()]
        return [table(("metal", "grade basis", "largest conc_grade", "mineral (formula)"),
                      rows, widths=(16, 12, 14, 58))]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("data-columns", DataColumns)
    app.add_directive("run-keys", RunKeys)
    app.add_directive("package-layout", PackageLayout)
    app.add_directive("metric-registry", MetricRegistry)
    app.add_directive("output-files", OutputFiles)
    app.add_directive("calibration-tables", CalibrationTables)
    app.add_directive("conc-grade-max", ConcGradeMax)
    # the generated pages depend on the code: rebuild them whenever it may have changed
    app.connect("env-get-outdated", _outdated)
    app.connect("autodoc-process-signature", _dataclass_signature)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


_GENERATED = ("data", "runfile", "api", "calibration")


def _dataclass_signature(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                         signature: str | None, return_annotation: str | None
                         ) -> tuple[str | None, str | None] | None:
    """A dataclass field's ``default_factory`` shows as ``...``: the signature stays valid
    Python, so the domain parses it (and links its annotations) instead of showing text."""
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


def _outdated(app: Sphinx, env: Any, added: set[str], changed: set[str],
              removed: set[str]) -> list[str]:
    return [d for d in _GENERATED if d in env.found_docs]
