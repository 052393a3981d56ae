"""Sobol' sensitivity indices: Saltelli design, SALib's estimators, bootstrap intervals.

The SALib-compatible core of the Sobol' engine: the design and the estimators
(:func:`uncertainty.sensitivity.indices.sobol_indices` runs them on any vectorised model
``func(X)``; :class:`uncertainty.sensitivity.result.SobolResult` holds the result).

The design is Saltelli's radial one: two base matrices A and B (the first and last D
columns of one scrambled Sobol' draw in the unit cube), and for every factor j the
matrix AB_j, which is A with the column(s) of factor j taken from B (and BA_j, B with
them from A, for second order). Rows are laid out exactly as SALib lays them out, per
base row::

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

from typing import Any

import numpy as np
from scipy.stats import norm

__all__ = [
    "estimate",
    "saltelli_rows",
    "split_outputs",
]

CI_METHODS = ("normal", "percentile")

_EPS = np.finfo(float).eps
_BLOCK_ELEMENTS = 1 << 20  # 8 MiB of float64 per temporary column block in estimate()


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
