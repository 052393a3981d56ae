"""uncertainty: Monte Carlo uncertainty and Sobol sensitivity of mine-site Total Material
Requirement (TMR) - the hidden flows behind a product's metals.

Importing the package has no side effects: nothing is compiled, read or logged until a
function is called.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "load_dataset",
    "load_run",
    "monte_carlo",
    "sobol",
    "sobol_indices",
]

__version__ = "0.1.0"


def load_run(path: Any) -> Any:
    """Read and validate a run file (see :func:`uncertainty.config.load_run`)."""
    from uncertainty.config import load_run as _load_run

    return _load_run(path)


def load_dataset(path: Any) -> Any:
    """Load and validate a dataset folder (see :func:`uncertainty.data.load_dataset`)."""
    from uncertainty.data import load_dataset as _load_dataset

    return _load_dataset(path)


def monte_carlo(run_or_dataset: Any, n: int, *, seed: int, **kwargs: Any) -> Any:
    """Monte Carlo in memory (see :func:`uncertainty.montecarlo.monte_carlo`)."""
    from uncertainty.montecarlo import monte_carlo as _mc

    return _mc(run_or_dataset, n, seed=seed, **kwargs)


def sobol(run_or_dataset: Any, n_base: int, *, seed: int, **kwargs: Any) -> Any:
    """Sobol indices of TMR metrics for every parameter (see :func:`uncertainty.tmrsobol.sobol`)."""
    from uncertainty.tmrsobol import sobol as _sobol

    return _sobol(run_or_dataset, n_base, seed=seed, **kwargs)


def sobol_indices(func: Any, params: Any, n_base: int, *, seed: int, **kwargs: Any) -> Any:
    """Sobol indices of a vectorised model (see :func:`uncertainty.sobolindices.sobol_indices`)."""
    from uncertainty.sobolindices import sobol_indices as _si

    return _si(func, params, n_base, seed=seed, **kwargs)
