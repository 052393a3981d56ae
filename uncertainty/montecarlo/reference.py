"""The Monte Carlo in plain NumPy/SciPy: the uniforms and model inputs of given samples.

The test oracle and benchmark baseline of the compiled kernel, and the way a run names
the inputs of a sample whose outputs are not finite.
"""

from __future__ import annotations

import numpy as np

from uncertainty import dists, rng
from uncertainty.space import ParameterSpace

__all__ = ["reference_inputs", "reference_uniforms"]


def reference_uniforms(space: ParameterSpace, seed: int, samples: np.ndarray) -> np.ndarray:
    """The kernel's uniforms of the given samples, in plain NumPy (shape (n, n_params)).

    Column ``j`` is row ``j`` of ``space``: :func:`uncertainty.rng.uniforms_numpy` at
    ``space.parameter_indices()``.
    """
    return rng.uniforms_numpy(seed, np.asarray(samples, dtype=np.int64),
                              space.parameter_indices())


def reference_inputs(space: ParameterSpace, u: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Model inputs from uniforms in plain NumPy/SciPy (the reference of the kernel's ppf).

    Each row's ``Distribution.ppf``, each Dirichlet group by its gamma-ppf
    normalisation, and the Gaussian copula between a mine's grade and stripping ratio
    when the space has one.

    Parameters
    ----------
    space : ParameterSpace
    u : numpy.ndarray, shape (n, space.n_params)
        Uniforms in (0, 1), columns in the order of ``space`` (see
        :func:`reference_uniforms`).

    Returns
    -------
    tuple of numpy.ndarray
        grade, stripping, recovery (n, n_mines) and globals (n, n_globals), the
        arguments of :func:`uncertainty.model.evaluate_reference`.
    """

    u = space.copula_uniforms(u)
    ng, nm = space.n_globals, space.n_mines
    x = np.empty_like(u)
    done_groups: set[str] = set()
    groups = space.table["group"].to_numpy()
    for j, d in enumerate(space.dists):
        if isinstance(d, dists.Dirichlet):
            g = groups[j]
            if g not in done_groups:
                idx = np.nonzero(groups == g)[0]
                x[:, idx] = d.ppf(u[:, idx])
                done_groups.add(g)
        else:
            x[:, j] = d.ppf(u[:, j])
    mine = x[:, ng:].reshape(len(u), nm, 3)
    return (np.ascontiguousarray(mine[:, :, 0]), np.ascontiguousarray(mine[:, :, 1]),
            np.ascontiguousarray(mine[:, :, 2]), np.ascontiguousarray(x[:, :ng]))
