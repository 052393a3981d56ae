"""Tests of uncertainty.rng: Sobol points and the counter-based generator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from uncertainty.rng import sobol_points


def test_sobol_points_match_scipy_and_lie_in_open_unit_interval() -> None:
    points = sobol_points(64, 5, seed=3)
    expected = qmc.Sobol(5, scramble=True, rng=np.random.default_rng(3)).random(64)
    assert points.shape == (64, 5)
    np.testing.assert_array_equal(points, np.clip(expected, 2.0**-53, 1.0 - 2.0**-53))
    assert np.all(points > 0.0) and np.all(points < 1.0)


def test_sobol_points_in_pieces_equal_one_call() -> None:
    whole = sobol_points(128, 7, seed=11)
    pieces = [(0, 32), (32, 32), (64, 5), (69, 59)]
    joined = np.vstack([sobol_points(n, 7, seed=11, start=s) for s, n in pieces])
    np.testing.assert_array_equal(joined, whole)
    doubled = np.vstack([sobol_points(64, 7, seed=11), sobol_points(64, 7, seed=11, start=64)])
    np.testing.assert_array_equal(doubled, whole)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0, "d": 2, "seed": 0}, "'n' must be positive"),
        ({"n": 4, "d": 0, "seed": 0}, "'d' must be positive"),
        ({"n": 4, "d": 2.0, "seed": 0}, "'d' must be an integer"),
        ({"n": 4, "d": 2, "seed": -1}, "'seed' must be non-negative"),
        ({"n": 4, "d": 2, "seed": True}, "'seed' must be an integer"),
        ({"n": 4, "d": 2, "seed": 0, "start": -1}, "'start' must be non-negative"),
        ({"n": 4, "d": 2, "seed": 0, "start": 2**30}, r"'start \+ n' must be <= 2\*\*30"),
    ],
)
def test_sobol_points_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sobol_points(**kwargs)
