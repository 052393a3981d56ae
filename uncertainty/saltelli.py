"""Sobol' sensitivity indices: Saltelli design, SALib's estimators, bootstrap intervals.

The generic engine for any vectorised model ``func(X)``. The design is Saltelli's
radial one: two base matrices A and B (the first and last D columns of one scrambled
Sobol' draw in the unit cube), and for every factor j the matrix AB_j, which is A with
the column(s) of factor j taken from B (and BA_j, B with them from A, for second
order). Rows are laid out exactly as SALib lays them out, per base row::

    A, AB_1 .. AB_D, [BA_1 .. BA_D], B

so the stacked outputs ``Y`` can be handed to :func:`SALib.analyze.sobol.analyze`
unchanged, and the two must agree.

The estimators are SALib's: the output is standardised with the mean and standard
deviation of all of ``Y``; the variance is ``np.var(np.r_[A, B])``; first order is
Saltelli et al. (2010), ``mean(B * (AB_j - A)) / var``; total order is Jansen's,
``0.5 * mean((A - AB_j)**2) / var``; second order is Saltelli (2002). The intervals
come from a row bootstrap with ``num_resamples`` resamples of the N base rows.
:func:`estimate` computes the same numbers as SALib but vectorised: a resample's mean
of a per-row quantity is a row of ``W @ g / N``, where ``W`` (num_resamples, N) holds
how often each base row is drawn, so the bootstrap of all D factors is two BLAS
matrix products per block of columns instead of a Python loop over factors.

References
----------
Saltelli, A. (2002). Making best use of model evaluations to compute sensitivity
indices. Computer Physics Communications 145, 280-297.

Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M., Tarantola, S. (2010).
Variance based sensitivity analysis of model output. Design and estimator for the
total sensitivity index. Computer Physics Communications 181, 259-270.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy.stats import norm

from .rng import sobol_points

__all__ = [
    "DUMMY",
    "SobolResult",
    "bench_analyze",
    "convergence",
    "estimate",
    "saltelli_rows",
    "sobol_indices",
    "split_outputs",
]

DUMMY = "__dummy__"
"""Name of the dummy factor added by ``sobol_indices(..., dummy=True)``."""

CI_METHODS = ("normal", "percentile")

_EPS = np.finfo(float).eps
_BLOCK_ELEMENTS = 1 << 20  # 8 MiB of float64 per temporary column block in estimate()
_BATCH_ELEMENTS = 1 << 22  # elements of X handed to func per call in sobol_indices()


class _Distribution(Protocol):
    def ppf(self, u: np.ndarray) -> np.ndarray: ...


# --------------------------------------------------------------------------- design


def saltelli_rows(
    A: np.ndarray,
    B: np.ndarray,
    membership: np.ndarray | None = None,
    *,
    second_order: bool = False,
) -> np.ndarray:
    """Stack A, AB_j, (BA_j) and B in SALib's row order.

    Parameters
    ----------
    A, B : numpy.ndarray, shape (n, p)
        Base matrices, in the unit cube or already mapped through the ppfs.
    membership : numpy.ndarray of bool, shape (D, p), optional
        ``membership[j, c]`` is True when column ``c`` belongs to factor (group) ``j``.
        Default: the identity (one factor per column). A row of all False gives a
        factor the model does not see (``AB_j == A``), as the dummy is.
    second_order : bool, default False
        Also emit the BA_j rows.

    Returns
    -------
    numpy.ndarray, shape (n * (D + 2), p) or (n * (2 D + 2), p)
        Per base row i: ``A[i]``, ``AB_1[i] .. AB_D[i]``, [``BA_1[i] .. BA_D[i]``],
        ``B[i]``; the layout of ``SALib.sample.sobol.sample``.
    """
    A = np.asarray(A)
    B = np.asarray(B)
    if A.ndim != 2 or A.shape != B.shape:
        raise ValueError(f"A and B must be 2-D of one shape (got {A.shape} and {B.shape})")
    p = A.shape[1]
    mask = np.eye(p, dtype=bool) if membership is None else np.asarray(membership, dtype=bool)
    if mask.ndim != 2 or mask.shape[1] != p:
        raise ValueError(f"membership must have shape (D, {p}) (got {mask.shape})")
    parts = [A[:, None, :], np.where(mask[None], B[:, None, :], A[:, None, :])]
    if second_order:
        parts.append(np.where(mask[None], A[:, None, :], B[:, None, :]))
    parts.append(B[:, None, :])
    return np.concatenate(parts, axis=1).reshape(-1, p)


def split_outputs(
    Y: np.ndarray, n_factors: int, *, second_order: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Split outputs in SALib's row order into yA, yB, yAB and yBA.

    Parameters
    ----------
    Y : numpy.ndarray, shape (N * (D + 2),) or (N * (D + 2), k)
        Outputs in the order of :func:`saltelli_rows` (``2 D + 2`` with second order).
    n_factors : int
        D, the number of factors (groups).
    second_order : bool, default False
        Whether ``Y`` holds BA_j rows.

    Returns
    -------
    yA, yB : numpy.ndarray, shape (N,) or (N, k)
    yAB : numpy.ndarray, shape (N, D) or (N, D, k)
    yBA : numpy.ndarray, shape like yAB, or None without second order
        Views into ``Y``.
    """
    Y = np.asarray(Y)
    per = 2 * n_factors + 2 if second_order else n_factors + 2
    if Y.ndim not in (1, 2) or Y.shape[0] % per:
        raise ValueError(
            f"Y has {Y.shape[0] if Y.ndim else 0} rows, not a multiple of {per} "
            f"(D = {n_factors}, second_order={second_order})"
        )
    Yr = Y.reshape((Y.shape[0] // per, per, *Y.shape[1:]))
    yBA = Yr[:, n_factors + 1 : 2 * n_factors + 1] if second_order else None
    return Yr[:, 0], Yr[:, -1], Yr[:, 1 : n_factors + 1], yBA


# ------------------------------------------------------------------------ estimators


def _resample_counts(n: int, num_resamples: int, rng_seed: Any) -> np.ndarray:
    """Counts matrix W (num_resamples, n): W[k, i] = times base row i is in resample k.

    The integer indices are drawn as SALib draws them for a non-zero seed,
    ``default_rng(seed).integers(n, size=(n, num_resamples))``, column k being resample k.
    """
    r = np.random.default_rng(rng_seed).integers(n, size=(n, num_resamples))
    flat = (r + n * np.arange(num_resamples)[None, :]).ravel()
    return np.bincount(flat, minlength=n * num_resamples).reshape(num_resamples, n).astype(float)


def _interval(
    point: np.ndarray, res: np.ndarray, z: float, ci_method: str, conf_level: float, ok: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(conf, low, high) of ``point`` from resamples ``res`` (num_resamples, ...)."""
    if not ok:
        zero = np.zeros_like(point)
        return zero, point.copy(), point.copy()
    if ci_method == "normal":
        conf = z * res.std(axis=0, ddof=1)
        return conf, point - conf, point + conf
    alpha = 1.0 - conf_level
    low, high = np.quantile(res, [alpha / 2, 1 - alpha / 2], axis=0)
    return (high - low) / 2, low, high


def _ratio(num: np.ndarray, var: np.ndarray | float) -> np.ndarray:
    """``num / var`` with 0 where ``var <= eps``, as SALib's ``np.divide(..., where=...)``."""
    var = np.broadcast_to(np.asarray(var, dtype=float), np.shape(num))
    return np.divide(num, var, out=np.zeros(np.shape(num)), where=var > _EPS)


def _check_estimate_args(num_resamples: int, conf_level: float, ci_method: str) -> None:
    if int(num_resamples) != num_resamples or num_resamples < 2:
        raise ValueError(f"num_resamples must be an integer >= 2 (got {num_resamples})")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1) (got {conf_level})")
    if ci_method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {', '.join(CI_METHODS)} (got {ci_method!r})")


def estimate(
    yA: np.ndarray,
    yB: np.ndarray,
    yAB: np.ndarray,
    yBA: np.ndarray | None = None,
    *,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    rng_seed: int | np.random.Generator | None = None,
    ci_method: str = "normal",
    keep_resamples: bool = False,
    block_columns: int | None = None,
) -> dict[str, Any]:
    """First, total (and second) order indices and bootstrap intervals of one output.

    The numbers of ``SALib.analyze.sobol.analyze`` on the same outputs (to rounding),
    computed column block by column block with matrix products; extra memory is
    ``O(N * block_columns + num_resamples * (N + D))``, whatever D.

    Parameters
    ----------
    yA, yB : numpy.ndarray, shape (N,)
        f(A) and f(B) for the N base rows.
    yAB : numpy.ndarray, shape (N, D)
        ``yAB[:, j]`` = f(AB_j). Any array that can be sliced by columns (a memmap
        works); it is read in blocks and never copied whole.
    yBA : numpy.ndarray, shape (N, D), optional
        f(BA_j); when given, second-order indices are computed too (memory
        ``O(num_resamples * D**2)``, meant for small D) and the standardisation
        includes these rows, as SALib's does.
    num_resamples : int, default 100
        Bootstrap resamples of the N base rows (at least 2).
    conf_level : float, default 0.95
        Confidence level of the intervals, in (0, 1).
    rng_seed : int, numpy.random.Generator or None
        Seed of ``numpy.random.default_rng`` for the resample indices. A non-zero int
        draws the very indices SALib draws for ``seed=rng_seed``, so the intervals match
        SALib's too. (SALib's quirk: with a seed of 0 or None it uses NumPy's global
        RNG; here 0 is an ordinary seed and None means fresh OS entropy.)
    ci_method : {"normal", "percentile"}
        ``"normal"``: SALib's half-width ``Z * std(resamples, ddof=1)``, Z the normal
        quantile, interval ``S -/+ conf``. ``"percentile"``: the interval is the
        resamples' quantiles and ``conf`` is its half-width.
    keep_resamples : bool, default False
        Also return the bootstrap replicates ``S1_resamples`` and ``ST_resamples``
        (num_resamples, D).
    block_columns : int, optional
        Columns of yAB processed at once; default keeps a block near 8 MiB.

    Returns
    -------
    dict
        ``S1``, ``S1_conf``, ``S1_low``, ``S1_high``, ``ST``, ``ST_conf``, ``ST_low``,
        ``ST_high``: numpy.ndarray, shape (D,). ``S1_sum``, ``ST_sum`` (float, sum over
        the D factors) with ``*_sum_conf``, ``*_sum_low``, ``*_sum_high`` from the same
        resamples. ``constant`` (bool): the output did not vary, all indices are 0
        (SALib returns NaN there). With ``yBA``: ``S2``, ``S2_conf``, shape (D, D),
        upper triangle filled, NaN elsewhere. ``ci_method``, ``conf_level``,
        ``num_resamples``, ``n``.

    Notes
    -----
    For a resample with counts ``w`` (how often each base row is drawn), SALib's
    ``np.var(np.r_[A[r], B[r]])`` is ``(w @ (a**2 + b**2)) / 2N - ((w @ (a + b)) / 2N)**2``
    and ``np.mean(B[r] * (AB[r] - A[r]))`` is ``w @ (b * (ab - a)) / N``: the same sums
    regrouped, so the estimates agree with SALib's to rounding (about 1e-13).
    """
    _check_estimate_args(num_resamples, conf_level, ci_method)
    a0 = np.asarray(yA, dtype=float)
    b0 = np.asarray(yB, dtype=float)
    if a0.ndim != 1 or b0.shape != a0.shape:
        raise ValueError(f"yA and yB must be 1-D of one length (got {a0.shape} and {b0.shape})")
    n = a0.shape[0]
    if not hasattr(yAB, "shape"):
        yAB = np.asarray(yAB, dtype=float)
    if yBA is not None and not hasattr(yBA, "shape"):
        yBA = np.asarray(yBA, dtype=float)
    if yAB.ndim != 2 or yAB.shape[0] != n:
        raise ValueError(f"yAB must have shape ({n}, D) (got {yAB.shape})")
    d = yAB.shape[1]
    if yBA is not None and yBA.shape != yAB.shape:
        raise ValueError(f"yBA must have the shape of yAB {yAB.shape} (got {yBA.shape})")
    nb = block_columns or max(1, _BLOCK_ELEMENTS // max(n, 1))
    blocks = [(j, min(j + nb, d)) for j in range(0, d, nb)]
    extra = [] if yBA is None else [yBA]

    # SALib standardises all of Y: (Y - Y.mean()) / Y.std(). One pass over the blocks,
    # sums of (y - shift) and (y - shift)**2 with the shift near the mean (mean of yA),
    # so the variance does not cancel catastrophically for outputs far from 0.
    count = n * (d + 2) + (n * d if yBA is not None else 0)
    shift = float(a0.mean()) if n else 0.0
    total = (a0 - shift).sum() + (b0 - shift).sum()
    ss = ((a0 - shift) ** 2).sum() + ((b0 - shift) ** 2).sum()
    y_min, y_max = min(a0.min(), b0.min()), max(a0.max(), b0.max())
    for j0, j1 in blocks:
        for m in [yAB, *extra]:
            block = np.asarray(m[:, j0:j1], dtype=float)
            y_min, y_max = min(y_min, block.min()), max(y_max, block.max())
            dev = block - shift
            total += dev.sum()
            ss += np.einsum("ij,ij->", dev, dev)
    if not (np.isfinite(total) and np.isfinite(ss)):
        raise ValueError("outputs contain non-finite values (NaN or inf)")
    mean = shift + total / count
    ss = max(ss - total * total / count, 0.0)
    scale = np.sqrt(ss / count)

    z = float(norm.ppf(0.5 + conf_level / 2))
    W = _resample_counts(n, num_resamples, rng_seed)
    out: dict[str, Any] = {
        "ci_method": ci_method,
        "conf_level": conf_level,
        "num_resamples": num_resamples,
        "n": n,
    }
    constant = bool(y_max == y_min or scale == 0)
    if constant:
        a = b = np.zeros(n)
        scale = 1.0
    else:
        a = (a0 - mean) / scale
        b = (b0 - mean) / scale
    y = np.r_[a, b]
    var = float(np.var(y))
    point_ok = not constant and bool(np.ptp(y) > _EPS)
    used = W.sum(axis=0) > 0
    spread = 0.0 if constant else float(np.ptp(np.r_[a[used], b[used]]))
    res_ok = bool(spread > _EPS)  # SALib: resample estimators return 0 if all resampled Y equal
    conf_ok = spread != 0.0  # SALib: conf = 0 when np.ptp(np.r_[A[r], B[r]]) == 0
    wa, wb = W @ a, W @ b
    var_r = (W @ (a * a) + W @ (b * b)) / (2 * n) - ((wa + wb) / (2 * n)) ** 2

    S1 = np.zeros(d)
    ST = np.zeros(d)
    S1_r = np.zeros((num_resamples, d))
    ST_r = np.zeros((num_resamples, d))
    for j0, j1 in blocks:
        diff = np.asarray(yAB[:, j0:j1], dtype=float) - a0[:, None]
        diff /= scale
        g = b[:, None] * diff
        h = diff * diff
        if point_ok:
            S1[j0:j1] = _ratio(g.mean(axis=0), var)
            ST[j0:j1] = _ratio(0.5 * h.mean(axis=0), var)
        if res_ok:
            S1_r[:, j0:j1] = _ratio((W @ g) / n, var_r[:, None])
            ST_r[:, j0:j1] = _ratio(0.5 * (W @ h) / n, var_r[:, None])
    if constant:
        S1_r[:] = ST_r[:] = 0.0

    for name, point, res in (("S1", S1, S1_r), ("ST", ST, ST_r)):
        conf, low, high = _interval(point, res, z, ci_method, conf_level, conf_ok)
        out.update({name: point, f"{name}_conf": conf, f"{name}_low": low, f"{name}_high": high})
        s_conf, s_low, s_high = _interval(
            np.asarray(point.sum()), res.sum(axis=1), z, ci_method, conf_level, conf_ok
        )
        out.update(
            {
                f"{name}_sum": float(point.sum()),
                f"{name}_sum_conf": float(s_conf),
                f"{name}_sum_low": float(s_low),
                f"{name}_sum_high": float(s_high),
            }
        )
    out["constant"] = constant
    if keep_resamples:
        out["S1_resamples"] = S1_r
        out["ST_resamples"] = ST_r
    if yBA is not None:
        ab = (np.asarray(yAB, dtype=float) - mean) / scale
        ba = (np.asarray(yBA, dtype=float) - mean) / scale
        S2, S2_conf = _second_order(
            a,
            b,
            ab,
            ba,
            W,
            S1,
            S1_r,
            var,
            var_r,
            point_ok,
            res_ok,
            conf_ok,
            z,
            ci_method,
            conf_level,
        )
        out["S2"] = S2
        out["S2_conf"] = S2_conf
    return out


def _second_order(
    a: np.ndarray,
    b: np.ndarray,
    ab: np.ndarray,
    ba: np.ndarray,
    W: np.ndarray,
    S1: np.ndarray,
    S1_r: np.ndarray,
    var: float,
    var_r: np.ndarray,
    point_ok: bool,
    res_ok: bool,
    conf_ok: bool,
    z: float,
    ci_method: str,
    conf_level: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Saltelli (2002) second order, ``mean(BA_j AB_k - A B) / var - S_j - S_k``, j < k."""
    n, d = ab.shape
    upper = np.triu(np.ones((d, d), dtype=bool), k=1)
    S2 = np.zeros((d, d))
    if point_ok:
        vjk = (ba.T @ ab) / n - np.mean(a * b)
        S2 = _ratio(vjk, var) - S1[:, None] - S1[None, :]
    S2_r = np.zeros((W.shape[0], d, d))
    if res_ok:
        ab_w = a * b
        for k, w in enumerate(W):
            vjk = ((ba * w[:, None]).T @ ab) / n - (w @ ab_w) / n
            S2_r[k] = _ratio(vjk, var_r[k]) - S1_r[k][:, None] - S1_r[k][None, :]
    conf, _, _ = _interval(S2, S2_r, z, ci_method, conf_level, conf_ok)
    S2 = np.where(upper, S2, np.nan)
    conf = np.where(upper, conf, np.nan)
    return S2, conf


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
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
        Outputs as returned by :func:`split_outputs`.
    ns : sequence of int, optional
        Prefix lengths, powers of 2 not above N. Default: 64, 128, ... up to N (or
        just N when N < 64).
    factors : sequence of str, optional
        Factor names (default ``x0 .. x{D-1}``).
    metrics : str or sequence of str, optional
        Output names (default ``y`` or ``y0 .. y{k-1}``).
    num_resamples, conf_level, rng_seed, ci_method
        As in :func:`estimate`.

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


# ------------------------------------------------------------------------ the engine


def _default_outputs(k: int, multi: bool) -> list[str]:
    return [f"y{i}" for i in range(k)] if multi else ["y"]


def _is_power_of_2(n: Any) -> bool:
    return isinstance(n, int | np.integer) and bool(n >= 1 and not n & (n - 1))


def _factor_layout(
    names: list[str], groups: Mapping[str, Sequence[str]] | None
) -> tuple[list[str], np.ndarray, list[str] | None]:
    """Factor names, membership (D, p) and each parameter's group (SALib's order)."""
    if groups is None:
        return list(names), np.eye(len(names), dtype=bool), None
    owner: dict[str, str] = {}
    known = set(names)
    for group, members in groups.items():
        if isinstance(members, str) or not len(members):
            raise ValueError(f"group {group!r} must be a non-empty list of parameter names")
        for member in members:
            if member not in known:
                raise ValueError(
                    f"group {group!r} names unknown parameter {member!r} "
                    f"(parameters: {', '.join(names)})"
                )
            if member in owner:
                raise ValueError(
                    f"parameter {member!r} is in two groups: {owner[member]!r} and {group!r}"
                )
            owner[member] = group
    missing = [p for p in names if p not in owner]
    if missing:
        raise ValueError(f"parameters in no group: {', '.join(missing)}")
    param_groups = [owner[p] for p in names]
    factors = list(dict.fromkeys(param_groups))  # order of first appearance, as SALib
    membership = np.array([[g == f for g in param_groups] for f in factors], dtype=bool)
    return factors, membership, param_groups


def _evaluate(
    func: Callable[[np.ndarray], Any],
    XA: np.ndarray,
    XB: np.ndarray,
    membership: np.ndarray,
    second_order: bool,
    row_offset: int,
    batch_rows: int | None,
) -> tuple[np.ndarray, bool]:
    """Outputs (rows, k) of func on the Saltelli rows of XA, XB in SALib order, and
    whether func returned 1-D arrays."""
    n, p = XA.shape
    per = 2 * membership.shape[0] + 2 if second_order else membership.shape[0] + 2
    step = batch_rows or max(1, _BATCH_ELEMENTS // (per * max(p, 1)))
    outs: list[np.ndarray] = []
    one_d = False
    for i0 in range(0, n, step):
        X = saltelli_rows(
            XA[i0 : i0 + step], XB[i0 : i0 + step], membership, second_order=second_order
        )
        rows = X.shape[0]
        first_row = row_offset + i0 * per
        y = np.asarray(func(X), dtype=float)
        if y.ndim not in (1, 2) or y.shape[0] != rows or (y.ndim == 2 and y.shape[1] < 1):
            raise ValueError(f"func returned shape {y.shape}; expected ({rows},) or ({rows}, k)")
        y2 = y[:, None] if y.ndim == 1 else y
        if outs and (y2.shape[1] != outs[0].shape[1] or (y.ndim == 1) != one_d):
            raise ValueError(
                f"func returned shape {y.shape} for rows from {first_row}; "
                f"earlier calls returned shape {(outs[0].shape[0],) if one_d else outs[0].shape}"
            )
        one_d = y.ndim == 1
        bad = np.flatnonzero(~np.isfinite(y2).all(axis=1))
        if bad.size:
            shown = ", ".join(str(first_row + i) for i in bad[:10])
            raise ValueError(f"func returned non-finite values in rows {shown} (first 10 shown)")
        outs.append(y2)
    return np.concatenate(outs, axis=0), one_d


def sobol_indices(
    func: Callable[[np.ndarray], Any],
    params: Mapping[str, _Distribution],
    n_base: int,
    *,
    seed: int,
    groups: Mapping[str, Sequence[str]] | None = None,
    second_order: bool = False,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    ci_method: str = "normal",
    outputs: Sequence[str] | None = None,
    dummy: bool = False,
    tol: float | None = None,
    max_n: int | None = None,
    batch_rows: int | None = None,
    keep_outputs: bool = True,
) -> SobolResult:
    """Sobol' indices of a vectorised model by Saltelli's design and SALib's estimators.

    Parameters
    ----------
    func : callable
        ``func(X)`` with X of shape (n, p), columns in the order of ``params``,
        returning shape (n,) or (n, k); called on batches of rows.
    params : mapping of str to distribution
        Parameter name -> univariate distribution with a vectorised ``ppf``.
    n_base : int
        N, base rows, a power of 2 (the design's balance needs it). The model is
        evaluated on N (D + 2) rows, N (2 D + 2) with second order.
    seed : int
        Seed of the scrambled Sobol' design (``uncertainty.rng.sobol_points``) and of
        the bootstrap resamples.
    groups : mapping of str to list of str, optional
        Group name -> parameter names; every parameter in exactly one group. The
        factors are then the groups (D = number of groups), ordered as SALib orders
        them: by the first of their parameters in ``params``.
    second_order : bool, default False
        Also compute S2 (adds the BA_j rows).
    num_resamples, conf_level, ci_method
        Bootstrap settings, see :func:`estimate`.
    outputs : sequence of str, optional
        Names of the k outputs (default ``y`` or ``y0 .. y{k-1}``).
    dummy : bool, default False
        Add a factor ``"__dummy__"`` ~ U(0, 1) that func never sees (its column is
        dropped from X, so its AB rows are A's rows, evaluated again). Its indices
        measure the evaluation's own noise: exactly 0 for a deterministic func, since
        these estimators vanish when f(AB_j) == f(A); non-zero if func is stochastic.
        The ``below_noise`` flag compares every ST interval with the dummy's.
    tol : float, optional
        Target for the largest ST half-width over factors and outputs: N doubles
        (evaluating only the new rows N .. 2N-1 of the same Sobol' sequence) until it
        is met or N reaches ``max_n``.
    max_n : int, optional
        Upper bound of N with ``tol`` (a power of 2; default 64 n_base).
    batch_rows : int, optional
        Base rows per call of func (default keeps X near 32 MiB).
    keep_outputs : bool, default True
        Keep the outputs Y in the result (for SALib or :meth:`SobolResult.convergence`).

    Returns
    -------
    SobolResult

    Raises
    ------
    ValueError
        For a bad ``n_base``, group, output shape or non-finite output; the message
        names the value.
    """
    if not _is_power_of_2(n_base):
        raise ValueError(f"n_base must be a power of 2 (got {n_base})")
    _check_estimate_args(num_resamples, conf_level, ci_method)
    names = list(params)
    if not names:
        raise ValueError("params must name at least one parameter")
    if DUMMY in params:
        raise ValueError(f"{DUMMY!r} is reserved for the dummy factor")
    for name in names:
        if not callable(getattr(params[name], "ppf", None)):
            raise ValueError(f"parameter {name!r} has no ppf method (got {params[name]!r})")
    if tol is not None and not tol > 0:
        raise ValueError(f"tol must be positive (got {tol})")
    if max_n is None:
        max_n = 64 * n_base
    if not _is_power_of_2(max_n) or max_n < n_base:
        raise ValueError(f"max_n must be a power of 2 >= n_base = {n_base} (got {max_n})")

    factors, membership, param_groups = _factor_layout(names, groups)
    p = len(names)
    if dummy:
        factors.append(DUMMY)
        membership = np.vstack([membership, np.zeros((1, p), dtype=bool)])
        if param_groups is not None:
            param_groups.append(DUMMY)
    d_cols = p + int(dummy)  # columns of A (and of B) in the unit cube

    def evaluate(n: int, start: int) -> tuple[np.ndarray, bool]:
        u = sobol_points(n, 2 * d_cols, seed=seed, start=start)
        XA = np.empty((n, p))
        XB = np.empty((n, p))
        for c, name in enumerate(names):
            XA[:, c] = params[name].ppf(u[:, c])
            XB[:, c] = params[name].ppf(u[:, d_cols + c])
        per = 2 * len(factors) + 2 if second_order else len(factors) + 2
        return _evaluate(func, XA, XB, membership, second_order, start * per, batch_rows)

    n = n_base
    Y, one_d = evaluate(n, 0)
    k = Y.shape[1]
    out_names = list(outputs) if outputs is not None else _default_outputs(k, not one_d)
    if len(out_names) != k:
        raise ValueError(f"outputs names {len(out_names)} outputs; func returned {k}")
    while True:
        ests = _estimate_all(
            Y, len(factors), second_order, num_resamples, conf_level, seed, ci_method
        )
        real = slice(0, len(factors) - int(dummy))
        widest = max(float(np.max(e["ST_conf"][real], initial=0.0)) for e in ests)
        if tol is None or widest < tol or n >= max_n:
            break
        Y_new, one_d_new = evaluate(n, n)
        if Y_new.shape[1] != k or one_d_new != one_d:
            raise ValueError(f"func changed its output shape when N doubled to {2 * n}")
        Y = np.concatenate([Y, Y_new], axis=0)
        n *= 2

    return _assemble(
        ests,
        out_names,
        factors,
        "group" if groups is not None else "parameter",
        n,
        num_resamples,
        conf_level,
        ci_method,
        seed,
        dummy,
        tuple(names) + ((DUMMY,) if dummy else ()),
        tuple(param_groups) if param_groups is not None else None,
        np.asarray(Y) if keep_outputs else None,
    )


def _estimate_all(
    Y: np.ndarray,
    d: int,
    second_order: bool,
    num_resamples: int,
    conf_level: float,
    seed: int | None,
    ci_method: str,
) -> list[dict[str, Any]]:
    yA, yB, yAB, yBA = split_outputs(np.asarray(Y), d, second_order=second_order)
    return [
        estimate(
            yA[:, m],
            yB[:, m],
            yAB[:, :, m],
            None if yBA is None else yBA[:, :, m],
            num_resamples=num_resamples,
            conf_level=conf_level,
            rng_seed=seed,
            ci_method=ci_method,
            keep_resamples=True,
        )
        for m in range(Y.shape[1])
    ]


def _assemble(
    ests: list[dict[str, Any]],
    outputs: list[str],
    factors: list[str],
    level: str,
    n: int,
    num_resamples: int,
    conf_level: float,
    ci_method: str,
    seed: int | None,
    dummy: bool,
    params: tuple[str, ...],
    groups: tuple[str, ...] | None,
    Y: np.ndarray | None,
) -> SobolResult:
    stack = {
        key: np.stack([e[key] for e in ests])
        for key in ("S1", "S1_conf", "ST", "ST_conf", "S1_low", "S1_high", "ST_low", "ST_high")
    }
    real = slice(0, len(factors) - int(dummy))
    noise = stack["ST_high"][:, -1:] if dummy else np.zeros((len(ests), 1))
    flags = {
        "below_noise": stack["ST_low"] <= noise,
        "s1_straddles_zero": (stack["S1_low"] <= 0) & (stack["S1_high"] >= 0),
    }
    z = float(norm.ppf(0.5 + conf_level / 2))
    sums: dict[str, np.ndarray] = {}
    for name in ("S1", "ST"):
        total = stack[name][:, real].sum(axis=1)
        confs = []
        for e, t in zip(ests, total, strict=True):
            res = e[f"{name}_resamples"][:, real].sum(axis=1)
            ok = bool(np.ptp(res) > 0)
            confs.append(float(_interval(np.asarray(t), res, z, ci_method, conf_level, ok)[0]))
        sums[f"{name}_sum"] = total
        sums[f"{name}_sum_conf"] = np.array(confs)
    S2 = np.stack([e["S2"] for e in ests]) if "S2" in ests[0] else None
    S2_conf = np.stack([e["S2_conf"] for e in ests]) if "S2" in ests[0] else None
    return SobolResult(
        outputs=tuple(outputs),
        factors=tuple(factors),
        level=level,
        n_base=n,
        num_resamples=num_resamples,
        conf_level=conf_level,
        ci_method=ci_method,
        seed=seed,
        flags=flags,
        sums=sums,
        S2=S2,
        S2_conf=S2_conf,
        dummy=dummy,
        params=params,
        groups=groups,
        Y=Y,
        **stack,
    )


# ------------------------------------------------------------------------ benchmark


def bench_analyze(
    d: int = 5000,
    n: int = 1024,
    num_resamples: int = 100,
    seed: int = 1,
    *,
    salib: bool = True,
    repeat: int = 3,
) -> dict[str, float]:
    """Time :func:`estimate` against ``SALib.analyze.sobol.analyze`` on one output.

    The outputs are those of a linear model ``y = x @ c`` with ``c_j = 1 / (j + 1)`` on
    a scrambled Sobol' design (D = ``d`` factors, N = ``n`` base rows), first and total
    order only, ``num_resamples`` resamples and the same resample seed in both.

    Parameters
    ----------
    d, n, num_resamples, seed : int
        Factors, base rows (power of 2), resamples, seed (non-zero, so SALib uses it).
    salib : bool, default True
        Also run SALib (about 20-36 s at the defaults on a 2-core machine), once.
    repeat : int, default 3
        Runs of :func:`estimate`; ``ours_s`` is the fastest, ``ours_first_s`` the first
        (which also pays for first-touch page faults and BLAS thread start-up).

    Returns
    -------
    dict
        ``ours_s``, ``ours_first_s``, ``salib_s`` (NaN without SALib), ``speedup``
        (``salib_s / ours_s``), ``max_abs_diff``
        (largest difference of S1 and ST), ``max_abs_diff_conf`` (of S1_conf and
        ST_conf), ``d``, ``n``, ``num_resamples``.
    """
    u = sobol_points(n, 2 * d, seed=seed)
    A, B = u[:, :d], u[:, d:]
    c = 1.0 / np.arange(1, d + 1)
    yA, yB = A @ c, B @ c
    yAB = yA[:, None] + (B - A) * c[None, :]
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        ours = estimate(yA, yB, yAB, num_resamples=num_resamples, rng_seed=seed)
        times.append(time.perf_counter() - t0)
    ours_s = min(times)
    out = {
        "ours_s": ours_s,
        "ours_first_s": times[0],
        "salib_s": float("nan"),
        "speedup": float("nan"),
        "max_abs_diff": float("nan"),
        "max_abs_diff_conf": float("nan"),
        "d": d,
        "n": n,
        "num_resamples": num_resamples,
    }
    if salib:
        from SALib.analyze import sobol as salib_sobol

        Y = np.concatenate([yA[:, None], yAB, yB[:, None]], axis=1).ravel()
        problem = {"num_vars": d, "names": [f"x{j}" for j in range(d)], "bounds": [[0, 1]] * d}
        t0 = time.perf_counter()
        ref = salib_sobol.analyze(
            problem, Y, calc_second_order=False, num_resamples=num_resamples, seed=seed
        )
        out["salib_s"] = time.perf_counter() - t0
        out["speedup"] = out["salib_s"] / ours_s
        out["max_abs_diff"] = float(max(np.abs(ours[k] - ref[k]).max() for k in ("S1", "ST")))
        out["max_abs_diff_conf"] = float(
            max(np.abs(ours[k] - ref[k]).max() for k in ("S1_conf", "ST_conf"))
        )
    return out
