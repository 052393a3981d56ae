"""Uncertainty data from Brightway and ecoinvent: ``stats_arrays`` and the pedigree matrix.

Brightway stores an exchange's uncertainty as a ``stats_arrays`` dictionary: an integer
``"uncertainty type"`` and the fields ``loc``, ``scale``, ``shape``, ``minimum`` and
``maximum``. :func:`from_stats_arrays` turns one into the matching distribution of
:mod:`uncertainty.dists` (types 0-5, 9, 10 and 13; the others raise
:class:`~uncertainty.dists.DistributionError`). ecoinvent v3 derives a lognormal's spread
from five data-quality scores, the pedigree matrix of Weidema et al. (2013):
:func:`pedigree_gsd` turns the scores and a basic uncertainty into the GSD of a
:class:`~uncertainty.dists.LogNormal`, with the factors of :data:`PEDIGREE_FACTORS`.

:mod:`uncertainty.dists` re-exports these three names.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from uncertainty.dists.core import (
    PERT,
    Beta,
    DistributionError,
    Fixed,
    Gamma,
    LogNormal,
    Normal,
    Triangular,
    TruncatedNormal,
    Uniform,
    Univariate,
    _fmt,
    _real,
)

__all__ = ["PEDIGREE_FACTORS", "from_stats_arrays", "pedigree_gsd"]


# --------------------------------------------------------------------------------------
# Brightway stats_arrays
# --------------------------------------------------------------------------------------

_SA_TYPES = {
    0: "undefined", 1: "no uncertainty", 2: "lognormal", 3: "normal", 4: "uniform",
    5: "triangular", 6: "bernoulli", 7: "discrete uniform", 8: "weibull", 9: "gamma",
    10: "beta", 11: "generalized extreme value", 12: "student's t", 13: "beta-PERT",
}  # fmt: skip
_SA_SUPPORTED = (0, 1, 2, 3, 4, 5, 9, 10, 13)


def from_stats_arrays(mapping: Mapping[str, Any]) -> Univariate:
    """Convert a Brightway ``stats_arrays`` uncertainty dictionary.

    Keys read: ``"uncertainty type"`` (or ``"uncertainty_type"``), ``amount``, ``loc``,
    ``scale``, ``shape``, ``minimum``, ``maximum``, ``negative``; others (an exchange's
    ``input``, ``name``, ``pedigree`` ...) are ignored, and NaN or None means absent.

    ======  ===============  ====================================================
    type    stats_arrays     result
    ======  ===============  ====================================================
    0, 1    undefined, none  ``Fixed(amount)`` (or ``loc``)
    2       lognormal        ``LogNormal(exp(loc), exp(scale))``; loc = ln median
    3       normal           ``Normal(loc, scale)``, ``TruncatedNormal`` when a
                             finite ``minimum`` or ``maximum`` is given
    4       uniform          ``Uniform(minimum, maximum)``
    5       triangular       ``Triangular(minimum, loc, maximum)``; loc = mode
    9       gamma            ``Gamma(shape, scale)``; an offset ``loc`` must be 0
    10      beta             ``Beta(loc, shape, minimum or 0, maximum or 1)``:
                             loc = alpha, shape = beta (stats_arrays' convention)
    13      beta-PERT        ``PERT(minimum, loc, maximum)``; ``scale`` (lambda)
                             absent or 4
    ======  ===============  ====================================================

    ``loc`` falls back to ``amount`` for types 3, 5 and 13 and to ``ln amount`` for
    type 2. A ``negative`` lognormal or gamma, the legacy beta ``scale`` (upper bound
    of stats_arrays before ``minimum``/``maximum``), and types 6, 7, 8, 11, 12 raise
    :class:`~uncertainty.dists.DistributionError`.
    """
    if not isinstance(mapping, Mapping):
        raise DistributionError(f"stats_arrays: expected a mapping (got {_fmt(mapping)})")

    def get(key: str) -> Any:
        v = mapping.get(key)
        return None if v is None or (isinstance(v, numbers.Real) and math.isnan(v)) else v

    keys = [k for k in ("uncertainty type", "uncertainty_type") if get(k) is not None]
    if not keys:
        raise DistributionError("stats_arrays: mapping has no 'uncertainty type' key")
    if len(keys) == 2 and get(keys[0]) != get(keys[1]):
        raise DistributionError(
            f"stats_arrays: 'uncertainty type' ({_fmt(get(keys[0]))}) and "
            f"'uncertainty_type' ({_fmt(get(keys[1]))}) disagree"
        )
    raw = get(keys[0])
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real) or not float(raw).is_integer():
        raise DistributionError(
            f"stats_arrays: 'uncertainty type' must be an integer (got {_fmt(raw)})"
        )
    kind = int(float(raw))
    label = _SA_TYPES.get(kind, "unknown")
    if kind not in _SA_SUPPORTED:
        raise DistributionError(
            f"stats_arrays uncertainty type {kind} ({label}) is not supported; "
            f"supported types: {', '.join(map(str, _SA_SUPPORTED))}"
        )
    where = f"stats_arrays {label} (type {kind})"

    def need(key: str, fallback: str | None = None) -> Any:
        v = get(key)
        if v is None and fallback is not None:
            v = get(fallback)
        if v is None:
            alt = f" (or '{fallback}')" if fallback else ""
            raise DistributionError(f"{where} needs '{key}'{alt}")
        return v

    def refuse(ok: bool, rule: str) -> None:
        if not ok:
            raise DistributionError(f"{where}: {rule}")

    if kind in (2, 9):
        refuse(not get("negative"), "'negative': True (a negated distribution) is not supported")
    if kind in (0, 1):
        return Fixed(need("amount", "loc"))
    if kind == 2:
        loc = get("loc")
        if loc is None:
            amount = need("loc", "amount")
            refuse(_real(where, "amount", amount) > 0, f"'amount' must be > 0 (got {_fmt(amount)})")
            loc = math.log(amount)
        scale = _real(where, "scale", need("scale"))
        return LogNormal(math.exp(_real(where, "loc", loc)), math.exp(scale))
    if kind == 3:
        loc, scale = need("loc", "amount"), need("scale")
        low, high = get("minimum"), get("maximum")
        low = -math.inf if low is None else _real(where, "minimum", low, allow_inf=True)
        high = math.inf if high is None else _real(where, "maximum", high, allow_inf=True)
        if math.isinf(low) and math.isinf(high):
            return Normal(loc, scale)
        return TruncatedNormal(loc, scale, low, high)
    if kind == 4:
        return Uniform(need("minimum"), need("maximum"))
    if kind == 5:
        return Triangular(need("minimum"), need("loc", "amount"), need("maximum"))
    if kind == 9:
        refuse(
            get("loc") in (None, 0), f"an offset 'loc' is not supported (got {_fmt(get('loc'))})"
        )
        return Gamma(need("shape"), need("scale"))
    if kind == 10:
        refuse(
            get("scale") is None,
            "'scale' is ambiguous (the upper bound in old stats_arrays); "
            "give 'minimum' and 'maximum' instead",
        )
        low, high = get("minimum"), get("maximum")
        return Beta(
            need("loc"), need("shape"), 0.0 if low is None else low, 1.0 if high is None else high
        )
    lam = get("scale")  # kind == 13
    refuse(lam in (None, 4), f"only the classic lambda = 4 is supported (got scale={_fmt(lam)})")
    return PERT(need("minimum"), need("loc", "amount"), need("maximum"))


# --------------------------------------------------------------------------------------
# Pedigree matrix
# --------------------------------------------------------------------------------------

PEDIGREE_FACTORS: dict[str, tuple[float, float, float, float, float]] = {
    "reliability": (1.00, 1.05, 1.10, 1.20, 1.50),
    "completeness": (1.00, 1.02, 1.05, 1.10, 1.20),
    "temporal correlation": (1.00, 1.03, 1.10, 1.20, 1.50),
    "geographical correlation": (1.00, 1.01, 1.02, 1.05, 1.10),
    "further technological correlation": (1.00, 1.05, 1.20, 1.50, 2.00),
}
"""ecoinvent v3 pedigree uncertainty factors U_i (GSD^2 values) for scores 1..5.

Weidema et al. (2013), ecoinvent data quality guideline v3, as in openLCA's "ecoinvent
data quality system". (The ``pedigree_matrix`` package's ``version_1`` is the older
ecoinvent v2 table, which differs for geographical score 4 and technological score 2.)
"""


def pedigree_gsd(scores: Sequence[int] | Mapping[str, int], basic_gsd: float = 1.05) -> float:
    """Geometric standard deviation from five pedigree scores (ecoinvent v3).

    ``sigma = 0.5 sqrt((ln U_b)^2 + sum_i (ln U_i)^2)`` with ``U_b = basic_gsd**2``
    and ``U_i`` from :data:`PEDIGREE_FACTORS`; the result is ``exp(sigma)``, the GSD
    for ``LogNormal(median, gsd)``.

    Parameters
    ----------
    scores : sequence of 5 int in 1..5, or mapping
        Reliability, completeness, temporal, geographical and further technological
        correlation, in this order; or a Brightway ``pedigree`` dict keyed by the
        names of :data:`PEDIGREE_FACTORS`.
    basic_gsd : float, default 1.05
        The basic uncertainty as a GSD (>= 1). Note: ecoinvent tabulates basic
        uncertainty factors as GSD^2 values; for a tabulated factor ``U_b`` pass
        ``basic_gsd=sqrt(U_b)``.

    Returns
    -------
    float
        The GSD (>= ``basic_gsd``).
    """
    labels = list(PEDIGREE_FACTORS)
    if isinstance(scores, Mapping):
        extra = sorted(set(map(str, scores)) - set(labels))
        missing = [k for k in labels if k not in scores]
        if extra or missing:
            raise DistributionError(
                f"pedigree: scores need exactly the keys {', '.join(labels)} "
                f"(missing: {', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'})"
            )
        scores = [scores[k] for k in labels]
    if (
        isinstance(scores, str | bytes)
        or not isinstance(scores, Sequence | np.ndarray)
        or len(scores) != 5
    ):
        raise DistributionError(
            f"pedigree: scores must be 5 integers 1..5 ({', '.join(labels)}) (got {_fmt(scores)})"
        )
    basic = _real("pedigree", "basic_gsd", basic_gsd)
    if basic < 1:
        raise DistributionError(f"pedigree: 'basic_gsd' must be >= 1 (got {_fmt(basic_gsd)})")
    total = (2.0 * math.log(basic)) ** 2
    for label, s in zip(labels, scores, strict=True):
        ok = isinstance(s, numbers.Real) and not isinstance(s, bool) and float(s) in (1, 2, 3, 4, 5)
        if not ok:
            raise DistributionError(
                f"pedigree: '{label}' score must be an integer 1..5 (got {_fmt(s)})"
            )
        total += math.log(PEDIGREE_FACTORS[label][int(s) - 1]) ** 2
    return math.exp(0.5 * math.sqrt(total))
