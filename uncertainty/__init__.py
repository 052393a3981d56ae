"""uncertainty: Monte Carlo uncertainty and Sobol sensitivity of mine-site Total Material
Requirement (TMR) - the hidden flows behind a product's metals.

The public API:

- :func:`load_run`, :func:`load_dataset`: a run file or a dataset folder, validated;
- :func:`monte_carlo`: per-sample metrics in memory (:class:`~uncertainty.montecarlo.MonteCarloResult`);
- :func:`sobol`: Sobol indices of the TMR metrics (:class:`~uncertainty.sensitivity.TmrSobolResult`);
- :func:`sobol_indices`: Sobol indices of any vectorised model (SALib-compatible);
- :func:`calibrate`: named knobs fitted to published targets on the nominal model
  (:class:`~uncertainty.calibration.Calibration`);
- :mod:`uncertainty.dists`: the distributions of uncertain inputs.

Importing the package loads nothing heavy: each name is imported on first use (PEP 562),
so ``uncertainty --help`` starts without numba.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uncertainty.calibration import calibrate
    from uncertainty.config import load_run
    from uncertainty.data import load_dataset
    from uncertainty.montecarlo import monte_carlo
    from uncertainty.sensitivity import sobol, sobol_indices

__all__ = [
    "calibrate",
    "load_dataset",
    "load_run",
    "monte_carlo",
    "sobol",
    "sobol_indices",
]

__version__ = "0.1.0"

_LAZY = {
    "calibrate": "uncertainty.calibration",
    "load_run": "uncertainty.config",
    "load_dataset": "uncertainty.data",
    "monte_carlo": "uncertainty.montecarlo",
    "sobol": "uncertainty.sensitivity",
    "sobol_indices": "uncertainty.sensitivity",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'uncertainty' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
