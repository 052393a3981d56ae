"""The counter layout of ``uncertainty.space``, written out independently for the tests.

Global row ``j`` reads parameter ``j``. Mines come in groups of 128; mine ``i`` of group
``t`` reads its grade and stripping ratio from the two uniforms of Philox call
``base + i`` and its recovery from call ``base + 128 + i mod 64`` (uniform 0 for
``i < 64``, 1 above), ``base = 2 ceil(n_globals / 4) + 192 t``. A call's uniforms are
parameters ``2 c`` and ``2 c + 1``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from uncertainty import rng


def documented_parameter_indices(n_globals: int, n_mines: int) -> np.ndarray:
    """Parameter index of every row: globals, then (grade, stripping, recovery) per mine."""
    out = list(range(n_globals))
    for m in range(n_mines):
        group, i = divmod(m, 128)
        base = 2 * math.ceil(n_globals / 4) + 192 * group
        rec_call, rec_word = (base + 128 + i, 0) if i < 64 else (base + 128 + i - 64, 1)
        out += [2 * (base + i), 2 * (base + i) + 1, 2 * rec_call + rec_word]
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
