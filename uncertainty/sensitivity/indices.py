"""Sobol' indices of any vectorised model: :func:`sobol_indices`, and a benchmark.

:func:`sobol_indices` maps a scrambled Sobol' draw through each parameter's ``ppf``,
stacks Saltelli's design in SALib's row order (:func:`uncertainty.sensitivity.saltelli.saltelli_rows`),
evaluates ``func(X)`` in batches, estimates first, total (and second) order indices with
bootstrap intervals by SALib's estimators (:func:`uncertainty.sensitivity.saltelli.estimate`), and
returns a :class:`uncertainty.sensitivity.result.SobolResult`. Options: groups of parameters
as factors, a dummy factor that measures the evaluation's own noise, and doubling N until
the widest total-order interval meets a tolerance.

:func:`bench_analyze` times :func:`uncertainty.sensitivity.saltelli.estimate` against
``SALib.analyze.sobol.analyze`` (used by ``uncertainty bench``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from scipy.stats import norm

from uncertainty.rng import sobol_points
from uncertainty.sensitivity.result import SobolResult, _default_outputs
from uncertainty.sensitivity.saltelli import (
    _check_estimate_args,
    _interval,
    estimate,
    saltelli_rows,
    split_outputs,
)

__all__ = [
    "DUMMY",
    "bench_analyze",
    "sobol_indices",
]

DUMMY = "__dummy__"
"""Name of the dummy factor added by ``sobol_indices(..., dummy=True)``."""

_BATCH_ELEMENTS = 1 << 22  # elements of X handed to func per call in sobol_indices()


class _Distribution(Protocol):
    def ppf(self, u: np.ndarray) -> np.ndarray: ...


# ------------------------------------------------------------------------ the engine


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
        Bootstrap settings, see :func:`uncertainty.sensitivity.saltelli.estimate`.
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
        Keep the outputs Y in the result (for SALib or
        :meth:`uncertainty.sensitivity.result.SobolResult.convergence`).

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
    """Time :func:`uncertainty.sensitivity.saltelli.estimate` against SALib's analyze on one output.

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
        Runs of :func:`uncertainty.sensitivity.saltelli.estimate`; ``ours_s`` is the fastest,
        ``ours_first_s`` the first (which also pays for first-touch page faults and BLAS
        thread start-up).

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
