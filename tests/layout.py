"""The counter layout of ``uncertainty.space``, written out independently for the tests.

Global row ``j`` reads parameter ``j``. Mine ``m`` reads its grade, stripping ratio and
recovery from the three uniforms of Philox call ``ceil(n_globals / 3) + m``; the
uniforms of call ``c`` are parameters ``3 c``, ``3 c + 1``, ``3 c + 2``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from uncertainty import rng


def documented_parameter_indices(n_globals: int, n_mines: int) -> np.ndarray:
    """Parameter index of every row: globals, then (grade, stripping, recovery) per mine."""
    out = list(range(n_globals))
    first_call = math.ceil(n_globals / 3)
    for m in range(n_mines):
        call = first_call + m
        out += [3 * call, 3 * call + 1, 3 * call + 2]
    return np.array(out, dtype=np.int64)


def kernel_dirichlet_rows(space: Any, seed: int, start: int, count: int) -> np.ndarray:
    """The kernel's Dirichlet draws of every group (columns of the global vector)."""
    glob = np.full((count, space.n_globals), np.nan)
    for f, ln in zip(space.dir_first, space.dir_len, strict=True):
        alphas = np.ascontiguousarray(space.dir_alpha[f:f + ln])
        for i in range(count):
            out = np.empty(ln)
            rng.dirichlet_variate(seed, start + i, int(f), alphas, out)
            glob[i, f:f + ln] = out
    return glob
