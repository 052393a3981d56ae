"""Result of a Sobol' analysis: :class:`SobolResult` and the :func:`convergence` table.

:class:`SobolResult` holds the indices, interval bounds and flags of k outputs with
respect to D factors, as :func:`uncertainty.sensitivity.indices.sobol_indices` returns them,
with the evaluated outputs ``Y`` in SALib's row order. :func:`convergence` re-estimates
the indices on the power-of-2 prefixes of the design (with
:func:`uncertainty.sensitivity.saltelli.split_outputs` and :func:`uncertainty.sensitivity.saltelli.estimate`),
to show whether N is large enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from uncertainty.sensitivity.saltelli import estimate, split_outputs

__all__ = [
    "SobolResult",
    "convergence",
]


def _default_outputs(k: int, multi: bool) -> list[str]:
    return [f"y{i}" for i in range(k)] if multi else ["y"]


@dataclass(frozen=True, eq=False, repr=False)
class SobolResult:
    """Sobol' indices of k outputs with respect to D factors.

    Attributes
    ----------
    outputs : tuple of str, length k
        Output (metric) names.
    factors : tuple of str, length D
        Factor names (parameters or groups); the dummy, if any, is last.
    level : str
        What a factor is: ``"parameter"``, ``"group"``, ``"mine"``, ...
    S1, S1_conf, ST, ST_conf : numpy.ndarray, shape (k, D)
        Indices and interval half-widths.
    S1_low, S1_high, ST_low, ST_high : numpy.ndarray, shape (k, D)
        Interval bounds (``S -/+ conf`` for the normal method).
    n_base, num_resamples, conf_level, ci_method, seed
        How the indices were computed (N base rows; rows evaluated N (D + 2)).
    flags : dict of str to numpy.ndarray of bool, shape (k, D)
        ``below_noise``: the ST interval reaches down to the noise ceiling, the upper
        bound of the dummy's ST interval (0 without a dummy; with a deterministic model
        the dummy's indices are exactly 0, so this reads "ST not resolved from 0").
        ``s1_straddles_zero``: the S1 interval contains 0.
    sums : dict of str to numpy.ndarray, shape (k,)
        ``S1_sum``, ``ST_sum`` over the real factors (dummy excluded) with
        ``S1_sum_conf``, ``ST_sum_conf`` from the same bootstrap resamples.
    S2, S2_conf : numpy.ndarray, shape (k, D, D), optional
        Second order, upper triangle (j < k), NaN elsewhere.
    dummy : bool
        Whether the last factor is the dummy ``"__dummy__"``.
    params : tuple of str
        Parameter names in column order (the dummy last, if any).
    groups : tuple of str or None
        Group (factor) of each parameter when the factors are groups.
    Y : numpy.ndarray, shape (N (D + 2), k), optional
        The evaluated outputs in SALib's row order, for SALib or :meth:`convergence`.
    """

    outputs: tuple[str, ...]
    factors: tuple[str, ...]
    level: str
    S1: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_conf: np.ndarray
    S1_low: np.ndarray
    S1_high: np.ndarray
    ST_low: np.ndarray
    ST_high: np.ndarray
    n_base: int
    num_resamples: int
    conf_level: float
    ci_method: str
    seed: int | None
    flags: dict[str, np.ndarray]
    sums: dict[str, np.ndarray]
    S2: np.ndarray | None = None
    S2_conf: np.ndarray | None = None
    dummy: bool = False
    params: tuple[str, ...] = ()
    groups: tuple[str, ...] | None = None
    Y: np.ndarray | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"<SobolResult: {len(self.outputs)} output(s) x {len(self.factors)} "
                f"{self.level} factor(s), N = {self.n_base:,}, {self.ci_method} "
                f"{self.conf_level:.0%} intervals; .to_frame() for the indices>")

    @property
    def second_order(self) -> bool:
        """Whether second-order indices (and BA_j rows) are present."""
        return self.S2 is not None

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: a row per (metric, factor).

        Returns
        -------
        pandas.DataFrame
            Columns ``metric, factor, level, S1, S1_conf, ST, ST_conf, S1_low,
            S1_high, ST_low, ST_high, below_noise, s1_straddles_zero``; the dummy's
            level is ``"dummy"``.
        """
        k, d = self.S1.shape
        level = [self.level] * d
        if self.dummy:
            level[-1] = "dummy"
        cols: dict[str, Any] = {
            "metric": np.repeat(self.outputs, d),
            "factor": np.tile(self.factors, k),
            "level": np.tile(level, k),
        }
        for name in ("S1", "S1_conf", "ST", "ST_conf", "S1_low", "S1_high", "ST_low", "ST_high"):
            cols[name] = getattr(self, name).ravel()
        for name, flag in self.flags.items():
            cols[name] = flag.ravel()
        return pd.DataFrame(cols)

    def top(self, metric: str, k: int = 10, *, by: str = "ST") -> pd.DataFrame:
        """The ``k`` factors with the largest ``by`` for one metric (dummy excluded).

        Parameters
        ----------
        metric : str
            One of :attr:`outputs`.
        k : int, default 10
            Number of rows.
        by : {"ST", "S1"}
            Column to rank by.

        Returns
        -------
        pandas.DataFrame
            Rows of :meth:`to_frame`, largest first.
        """
        if metric not in self.outputs:
            raise ValueError(f"unknown metric {metric!r} (outputs: {', '.join(self.outputs)})")
        if by not in ("ST", "S1"):
            raise ValueError(f"by must be 'ST' or 'S1' (got {by!r})")
        df = self.to_frame()
        df = df[(df["metric"] == metric) & (df["level"] != "dummy")]
        return df.sort_values(by, ascending=False, kind="stable").head(k).reset_index(drop=True)

    def salib_problem(self) -> dict[str, Any]:
        """The SALib ``problem`` dict whose ``analyze`` matches these factors and :attr:`Y`."""
        problem: dict[str, Any] = {
            "num_vars": len(self.params),
            "names": list(self.params),
            "bounds": [[0.0, 1.0]] * len(self.params),
        }
        if self.groups is not None:
            problem["groups"] = list(self.groups)
        return problem

    def convergence(self, ns: Sequence[int] | None = None) -> pd.DataFrame:
        """Indices at the power-of-2 prefixes of the design; see :func:`convergence`."""
        if self.Y is None:
            raise ValueError("this result holds no outputs Y; it cannot report convergence")
        yA, yB, yAB, _ = split_outputs(self.Y, len(self.factors), second_order=self.second_order)
        return convergence(
            yA,
            yB,
            yAB,
            ns,
            factors=self.factors,
            metrics=self.outputs,
            num_resamples=self.num_resamples,
            conf_level=self.conf_level,
            rng_seed=self.seed,
            ci_method=self.ci_method,
        )


def convergence(
    yA: np.ndarray,
    yB: np.ndarray,
    yAB: np.ndarray,
    ns: Sequence[int] | None = None,
    *,
    factors: Sequence[str] | None = None,
    metrics: Sequence[str] | str | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    rng_seed: int | np.random.Generator | None = None,
    ci_method: str = "normal",
) -> pd.DataFrame:
    """Indices and interval half-widths on the first n base rows, for n in ``ns``.

    The first 2**m rows of a scrambled Sobol' design are themselves a balanced design,
    so each prefix is a valid estimate at N = n; the half-width against n shows
    whether N is large enough (it falls roughly as n**-0.5).

    Parameters
    ----------
    yA, yB : numpy.ndarray, shape (N,) or (N, k)
    yAB : numpy.ndarray, shape (N, D) or (N, D, k)
        Outputs as returned by :func:`uncertainty.sensitivity.saltelli.split_outputs`.
    ns : sequence of int, optional
        Prefix lengths, powers of 2 not above N. Default: 64, 128, ... up to N (or
        just N when N < 64).
    factors : sequence of str, optional
        Factor names (default ``x0 .. x{D-1}``).
    metrics : str or sequence of str, optional
        Output names (default ``y`` or ``y0 .. y{k-1}``).
    num_resamples, conf_level, rng_seed, ci_method
        As in :func:`uncertainty.sensitivity.saltelli.estimate`.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric, factor, n, S1, S1_conf, ST, ST_conf``.
    """
    yA = np.asarray(yA)
    multi = yA.ndim == 2
    yA2 = yA if multi else yA[:, None]
    yB2 = np.asarray(yB) if multi else np.asarray(yB)[:, None]
    yAB3 = yAB if multi else yAB[:, :, None]
    n_full, d, k = yAB3.shape
    if isinstance(metrics, str):
        metrics = [metrics]
    metrics = list(metrics) if metrics is not None else _default_outputs(k, multi)
    factors = list(factors) if factors is not None else [f"x{j}" for j in range(d)]
    if len(metrics) != k or len(factors) != d:
        raise ValueError(
            f"expected {k} metric and {d} factor names (got {len(metrics)}, {len(factors)})"
        )
    if ns is None:
        ns = [2**m for m in range(6, 31) if 2**m <= n_full] or [n_full]
    for n in ns:
        if n < 1 or n & (n - 1) or n > n_full:
            raise ValueError(f"each n must be a power of 2 not above N = {n_full} (got {n})")
    rows = []
    for m, metric in enumerate(metrics):
        for n in ns:
            est = estimate(
                yA2[:n, m],
                yB2[:n, m],
                yAB3[:n, :, m],
                num_resamples=num_resamples,
                conf_level=conf_level,
                rng_seed=rng_seed,
                ci_method=ci_method,
            )
            rows.append(
                pd.DataFrame(
                    {
                        "metric": metric,
                        "factor": factors,
                        "n": n,
                        **{c: est[c] for c in ("S1", "S1_conf", "ST", "ST_conf")},
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)
