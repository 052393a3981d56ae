"""Lazy re-exports (PEP 562) for a module whose names moved to a module that imports it.

``dists`` re-exports ``statsarrays``'s converters and ``archetypes`` re-exports
``archetypefit``'s fit: importing them at load time would be circular (and fail
whenever the other module is imported first), so they are fetched on first access.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__: list[str] = []


def lazy(module: str, source: str,
         names: frozenset[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for module ``module``: ``names`` are fetched from
    module ``source`` on first access and listed by ``dir()`` (``help()``, tab
    completion); any other missing name raises the usual AttributeError."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(source), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[module])) | names)

    return __getattr__, __dir__
