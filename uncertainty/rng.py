"""Counter-based random numbers and scrambled Sobol points in (0, 1).

Every random number of a run is a pure function of ``(seed, sample index, parameter
index)`` (DESIGN.md, decision 2), so results do not depend on chunking, thread count or
machine. Scrambled Sobol points from :class:`scipy.stats.qmc.Sobol` are the
quasi-random alternative.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import qmc

__all__ = ["sobol_points"]

_SOBOL_BITS = 30
_U_MIN = 2.0**-53
_U_MAX = 1.0 - 2.0**-53


def _check_int(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` as an int, or raise ValueError naming the rule broken."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"'{name}' must be an integer (got {value!r})")
    value = int(value)
    if value < minimum:
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"'{name}' must be {rule} (got {value})")
    return value


def sobol_points(n: int, d: int, *, seed: int, start: int = 0) -> np.ndarray:
    """Rows ``start .. start + n - 1`` of a scrambled Sobol sequence, strictly in (0, 1).

    The sequence is the one drawn by
    ``scipy.stats.qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed))``
    (30 bits, so at most 2**30 rows). Row ``i`` depends only on ``(seed, d, i)``, so a
    design can be extended (for example by doubling N) by asking for the next rows:
    ``sobol_points(n, d, seed=s, start=n)`` continues ``sobol_points(n, d, seed=s)``.

    Parameters
    ----------
    n : int
        Number of rows (points), positive.
    d : int
        Dimension (columns), positive, at most 21201.
    seed : int
        Non-negative seed of the scrambling.
    start : int, default 0
        Index of the first row returned, non-negative.

    Returns
    -------
    numpy.ndarray, shape (n, d), float64
        The points, clipped to ``[2**-53, 1 - 2**-53]`` so that every value lies in the
        open interval (0, 1) and can be passed to a distribution's ``ppf``.

    Raises
    ------
    ValueError
        If ``n`` or ``d`` is not a positive integer, ``seed`` or ``start`` is not a
        non-negative integer, or ``start + n`` exceeds 2**30.

    Warns
    -----
    UserWarning
        SciPy's warning that the balance properties of Sobol points need a power of
        2, when ``start == 0`` and ``n`` is not a power of 2.
    """
    n = _check_int("n", n, minimum=1)
    d = _check_int("d", d, minimum=1)
    seed = _check_int("seed", seed, minimum=0)
    start = _check_int("start", start, minimum=0)
    if start + n > 2**_SOBOL_BITS:
        raise ValueError(
            f"'start + n' must be <= 2**{_SOBOL_BITS} (got {start} + {n} = {start + n})"
        )
    engine = qmc.Sobol(d, scramble=True, bits=_SOBOL_BITS, rng=np.random.default_rng(seed))
    if start > 0:
        engine.fast_forward(start)
    points = engine.random(n)
    return np.clip(points, _U_MIN, _U_MAX)
