"""Probability distributions of the uncertain inputs (the public ``uncertainty.dists``).

:mod:`~uncertainty.dists.core` holds the distribution classes, their registry and the
inverse CDF used inside compiled kernels; :mod:`~uncertainty.dists.statsarrays` converts
Brightway ``stats_arrays`` dictionaries and ecoinvent pedigree scores;
:mod:`~uncertainty.dists.special` holds the numba special functions both rely on.
"""

from __future__ import annotations

from uncertainty.dists.core import (
    BETA,
    BETA_PERT,
    CODES,
    FIXED,
    GAMMA,
    LOGNORMAL,
    NORMAL,
    PERT,
    REGISTRY,
    TRIANGULAR,
    TRUNCLOGNORMAL,
    TRUNCNORMAL,
    UNIFORM,
    Beta,
    Dirichlet,
    Distribution,
    DistributionError,
    Fixed,
    Gamma,
    LogNormal,
    Normal,
    Triangular,
    TruncatedLogNormal,
    TruncatedNormal,
    Uniform,
    Univariate,
    from_dict,
    make,
    ppf_kernel,
)
from uncertainty.dists.statsarrays import PEDIGREE_FACTORS, from_stats_arrays, pedigree_gsd

__all__ = [
    "BETA",
    "BETA_PERT",
    "CODES",
    "FIXED",
    "GAMMA",
    "LOGNORMAL",
    "NORMAL",
    "PEDIGREE_FACTORS",
    "PERT",
    "REGISTRY",
    "TRIANGULAR",
    "TRUNCLOGNORMAL",
    "TRUNCNORMAL",
    "UNIFORM",
    "Beta",
    "Dirichlet",
    "Distribution",
    "DistributionError",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Normal",
    "Triangular",
    "TruncatedLogNormal",
    "TruncatedNormal",
    "Uniform",
    "Univariate",
    "from_dict",
    "from_stats_arrays",
    "make",
    "pedigree_gsd",
    "ppf_kernel",
]
