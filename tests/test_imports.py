"""The package's import structure: the layers of pyproject.toml's import-linter contracts,
no import cycle between modules (module-level and function-level imports alike), and a
light ``import uncertainty``."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

import uncertainty

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                        no_logo=True) == 0


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm; grimp
    finds chains and layer violations but lists no cycles of a whole package)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v) & modules:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return found


def test_no_import_cycle_between_modules():
    # every import statement counts, inside functions too (grimp reads them all); only
    # imports under ``if TYPE_CHECKING:`` (annotations) are left out
    graph = grimp.build_graph("uncertainty", exclude_type_checking_imports=True)
    modules = {m for m in graph.modules if m.startswith("uncertainty")}
    assert len(modules) > 40
    assert _cycles(graph, modules) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(m)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph, {"p.a", "p.b", "p.c"}) == [["p.a", "p.b"]]


def test_importing_the_package_loads_no_heavy_dependency():
    code = ("import sys, uncertainty; "
            "print(sorted(m for m in ('numba', 'pandas', 'scipy', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_api_functions_are_the_real_ones_with_typed_signatures():
    for name in uncertainty.__all__:
        func = getattr(uncertainty, name)
        assert func.__module__.startswith("uncertainty."), name
        sig = inspect.signature(func)
        assert sig.return_annotation is not inspect.Signature.empty, name
        assert "Parameters" in (func.__doc__ or ""), name
    assert inspect.signature(uncertainty.monte_carlo).parameters["seed"].default is None
    assert inspect.signature(uncertainty.sobol).parameters["seed"].default is None


def test_result_reprs_are_one_short_line():
    from uncertainty import dists

    ds = uncertainty.load_dataset(ROOT / "distributions")
    mc = uncertainty.monte_carlo(ds, 32, seed=1)
    si = uncertainty.sobol_indices(lambda x: x[:, 0] + 2 * x[:, 1],
                                   {"a": dists.Uniform(0, 1), "b": dists.Uniform(0, 1)}, 64,
                                   seed=1)
    for res, start in ((mc, "<MonteCarloResult: 32 samples x "), (si, "<SobolResult: 1 output")):
        text = repr(res)
        assert text.startswith(start) and "\n" not in text and len(text) < 160, text


def test_a_dataset_without_a_seed_is_refused():
    import pytest

    from uncertainty.config import ConfigError

    ds = uncertainty.load_dataset(ROOT / "distributions")
    with pytest.raises(ConfigError, match=r"seed.*required when the input is a Dataset"):
        uncertainty.monte_carlo(ds, 8)
