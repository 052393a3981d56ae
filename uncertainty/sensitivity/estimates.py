"""Estimates of the TMR Sobol analysis: indices per level, sums, rankings, convergence,
second order and delta, from the output store of :mod:`uncertainty.sensitivity.kernel`
(estimators of :func:`uncertainty.sensitivity.saltelli.estimate`; :mod:`uncertainty.sensitivity.tmr`
explains how to read them)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba as nb
import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from uncertainty.sensitivity.delta import delta_indices
from uncertainty.sensitivity.factors import Factors
from uncertainty.sensitivity.kernel import _Store
from uncertainty.sensitivity.saltelli import estimate
from uncertainty.space import ParameterSpace

__all__: list[str] = []

MAX_SECOND_ORDER = 200
"""Most factors of a level for which second-order indices are computed."""
DUMMY = "__dummy__"
"""Name of the delta analysis's dummy factor."""


# ======================================================================== estimation
class _Columns:
    """Columns ``idx`` of a 2-D array, read block by block (no copy of the whole).

    :func:`uncertainty.sensitivity.saltelli.estimate` reads ``yAB`` only as ``yAB[:, j0:j1]``; this
    hands it one level's columns of the shared outputs.
    """

    ndim = 2

    def __init__(self, arr: np.ndarray, idx: np.ndarray) -> None:
        self.arr = arr
        self.idx = idx
        self.shape = (arr.shape[0], len(idx))

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = key
        return self.arr[rows][:, self.idx[cols]]


def _level_columns(arr: np.ndarray, idx: np.ndarray) -> Any:
    """``arr[:, idx]`` as a view when ``idx`` is a run of columns, else lazily."""
    if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return arr[:, idx[0]:idx[0] + len(idx)]
    return _Columns(arr, idx)


def _estimates(store: _Store, n: int, lidx: Sequence[np.ndarray], num_resamples: int,
               conf_level: float, seed: int, ci_method: str) -> list[list[dict[str, Any]]]:
    """:func:`estimate` per metric and level (``[q][level]``), in parallel threads.

    Each level is estimated on its own columns, so its numbers are SALib's on that
    level's outputs in SALib's row order (SALib's standardisation uses the mean of
    all of Y, which shifts S1 by a few 1e-6 when other columns are added). BLAS runs
    single-threaded (:func:`uncertainty.sensitivity.delta.single_threaded_blas`); NumPy releases
    the GIL, so the threads run in parallel.
    """
    tasks = [(q, lv) for q in range(len(store.yA)) for lv in range(len(lidx))]

    def one(task: tuple[int, int]) -> dict[str, Any]:
        q, lv = task
        return estimate(store.yA[q][:n], store.yB[q][:n],
                        _level_columns(store.yAB[q][:n], lidx[lv]),
                        num_resamples=num_resamples, conf_level=conf_level, rng_seed=seed,
                        ci_method=ci_method, keep_resamples=True)

    threads = min(len(tasks), max(1, nb.get_num_threads()))
    if threads == 1:
        flat = [one(t) for t in tasks]
    else:
        with ThreadPoolExecutor(threads) as ex:
            flat = list(ex.map(one, tasks))
    L = len(lidx)
    return [flat[q * L:(q + 1) * L] for q in range(len(store.yA))]


def _top_idx(ST: np.ndarray, top: int) -> np.ndarray:
    """Positions of the ``top`` largest ST, largest first (stable)."""
    return np.argsort(-ST, kind="stable")[:top]


def _widest(ests: list[list[dict[str, Any]]], top: int) -> float:
    """Widest ST half-width among the top factors of every metric and level."""
    return max(float(np.max(e["ST_conf"][_top_idx(e["ST"], top)], initial=0.0))
               for per_level in ests for e in per_level)


def _level_frame(est: dict[str, Any], fac: Factors, label: str, ci_method: str
                 ) -> pd.DataFrame:
    f = pd.DataFrame({"metric": label, "factor": list(fac.names), "level": fac.level})
    for c in ("S1", "S1_conf", "ST", "ST_conf", "S1_low", "S1_high", "ST_low", "ST_high"):
        f[c] = est[c]
    f["s1_straddles_zero"] = (f.S1_low <= 0) & (f.S1_high >= 0)
    f["st_resolved"] = f.ST_low > 0
    f["ci_method"] = ci_method
    f["rank"] = 0
    f["n_params"] = [len(c) for c in fac.columns]
    f = f.iloc[_top_idx(est["ST"], len(f))].reset_index(drop=True)
    f["rank"] = np.arange(1, len(f) + 1)
    return f


def _sums_row(est: dict[str, Any], frame: pd.DataFrame, label: str, level: str,
              ci_method: str) -> dict[str, Any]:
    return {"metric": label, "level": level,
            "S1_sum": est["S1_sum"], "S1_sum_conf": est["S1_sum_conf"],
            "ST_sum": est["ST_sum"], "ST_sum_conf": est["ST_sum_conf"],
            "n_factors": len(frame), "n_st_resolved": int(frame.st_resolved.sum()),
            "n_s1_straddles_zero": int(frame.s1_straddles_zero.sum()),
            "n_s1_negative": int((frame.S1 < 0).sum()), "ci_method": ci_method}


def _ranking(est: dict[str, Any], fac: Factors, label: str, top: int, conf_level: float
             ) -> pd.DataFrame:
    ST = est["ST"]
    R = est["ST_resamples"]  # (B, D)
    sel = _top_idx(ST, top)
    # a replicate's rank of factor j: 1 + factors with a larger ST in that replicate
    ranks = 1 + (R[:, None, :] > R[:, sel][:, :, None]).sum(axis=2)  # (B, top)
    point = np.arange(1, len(sel) + 1)
    a = 1.0 - conf_level
    taus = [kendalltau(ST[sel], R[b, sel]).statistic for b in range(R.shape[0])
            if len(sel) > 1 and np.ptp(R[b, sel]) > 0]
    return pd.DataFrame({
        "metric": label, "level": fac.level, "factor": [fac.names[j] for j in sel],
        "rank": point, "ST": ST[sel],
        "rank_share": (ranks == point[None, :]).mean(axis=0),
        "rank_low": np.quantile(ranks, a / 2, axis=0, method="lower"),
        "rank_high": np.quantile(ranks, 1 - a / 2, axis=0, method="higher"),
        "top_share": (ranks <= len(sel)).mean(axis=0),
        "kendall_tau": float(np.mean(taus)) if taus else np.nan,
    })


def _convergence(store: _Store, q: int, est: dict[str, Any], idx: np.ndarray, fac: Factors,
                 label: str, n: int, top: int, num_resamples: int, conf_level: float,
                 seed: int, ci_method: str) -> pd.DataFrame:
    """Indices at N = 2^k prefixes (k >= 6) and at N for the top factors.

    A prefix is estimated on the top factors' columns alone, so its S1 can differ
    from the level's estimate at that N by SALib's standardisation (a few 1e-6).
    """
    sel = _top_idx(est["ST"], top)
    cols = idx[sel]
    ns = [k for k in (2**e for e in range(6, 31)) if k < n] + [n]
    rows = []
    for k in ns:
        if k == n:
            e = {c: est[c][sel] for c in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            e = estimate(store.yA[q][:k], store.yB[q][:k], store.yAB[q][:k][:, cols],
                         num_resamples=num_resamples, conf_level=conf_level, rng_seed=seed,
                         ci_method=ci_method)
        rows.append(pd.DataFrame({
            "metric": label, "level": fac.level, "factor": [fac.names[j] for j in sel], "n": k,
            **{c: e[c] for c in ("S1", "S1_conf", "ST", "ST_conf")}}))
    return pd.concat(rows, ignore_index=True)


def _second_order(store: _Store, q: int, idx: np.ndarray, fac: Factors, label: str, n: int,
                  num_resamples: int, conf_level: float, seed: int, ci_method: str
                  ) -> pd.DataFrame:
    if store.yBA is None:
        raise RuntimeError("second-order indices need the f(BA_j) rows")  # a bug, not input
    e = estimate(store.yA[q][:n], store.yB[q][:n], store.yAB[q][:n][:, idx],
                 store.yBA[q][:n][:, idx], num_resamples=num_resamples, conf_level=conf_level,
                 rng_seed=seed, ci_method=ci_method)
    i, j = np.triu_indices(len(idx), k=1)
    return pd.DataFrame({"metric": label, "level": fac.level,
                         "factor_i": [fac.names[a] for a in i],
                         "factor_j": [fac.names[b] for b in j],
                         "S2": e["S2"][i, j], "S2_conf": e["S2_conf"][i, j]})


def _delta_candidates(space: ParameterSpace, facs: Sequence[Factors]
                      ) -> list[tuple[str, str, int, bool, int]]:
    """(level, factor, parameter column, proxy?, position in level) of the factors
    that have a scalar value: a global input of its own, or (metal-kind) the
    systematic factor of the group as its proxy."""
    t = space.table
    ng = space.n_globals
    out = []
    for fac in facs:
        for pos, (name, cols) in enumerate(zip(fac.names, fac.columns, strict=True)):
            if len(cols) == 1 and cols[0] < ng and not t.group.iat[int(cols[0])]:
                out.append((fac.level, name, int(cols[0]), False, pos))
            elif fac.level == "metal-kind":
                sys_cols = [int(c) for c in cols if t.level.iat[int(c)] == "systematic"]
                if len(sys_cols) == 1:
                    out.append((fac.level, name, sys_cols[0], True, pos))
    return out


def _delta(store: _Store, ests: list[list[dict[str, Any]]], space: ParameterSpace,
           facs: Sequence[Factors], labels: Sequence[str],
           n_rows: int, max_factors: int, num_resamples: int, conf_level: float,
           seed: int) -> pd.DataFrame:
    cands = _delta_candidates(space, facs)
    level_pos = {fac.level: i for i, fac in enumerate(facs)}
    names = space.table["name"]
    frames = []
    for q, label in enumerate(labels):
        prio: dict[int, float] = {}
        for level, _, col, _, pos in cands:
            st = float(ests[q][level_pos[level]]["ST"][pos])
            prio[col] = max(prio.get(col, -np.inf), st)
        chosen = sorted(prio, key=lambda c: -prio[c])[:max_factors]
        if not chosen:
            continue
        X = np.column_stack([store.globA[:n_rows, chosen], store.dummy[:n_rows]])
        d = delta_indices(X, store.yA[q][:n_rows], [str(names.iat[c]) for c in chosen] + [DUMMY],
                          num_resamples=num_resamples, conf_level=conf_level, seed=seed)
        d["delta_low"] = d.delta - d.delta_conf
        d["delta_high"] = d.delta + d.delta_conf
        by_col = {c: d.iloc[i] for i, c in enumerate(chosen)}
        floor = float(d.delta_high.iloc[-1])
        rows = []
        for level, fname, col, proxy, _ in cands:
            if col not in by_col:
                continue
            r = by_col[col]
            rows.append({"metric": label, "level": level, "factor": fname,
                         "parameter": names.iat[col], "proxy": proxy, "delta": r.delta,
                         "delta_conf": r.delta_conf, "delta_low": r.delta_low,
                         "delta_high": r.delta_high, "S1_delta": r.S1_delta,
                         "S1_delta_conf": r.S1_delta_conf, "n": int(r.n),
                         "delta_resolved": bool(r.delta_low > floor), "notes": r.notes})
        r = d.iloc[-1]
        rows.append({"metric": label, "level": "dummy", "factor": DUMMY, "parameter": DUMMY,
                     "proxy": False, "delta": r.delta, "delta_conf": r.delta_conf,
                     "delta_low": r.delta_low, "delta_high": r.delta_high,
                     "S1_delta": r.S1_delta, "S1_delta_conf": r.S1_delta_conf, "n": int(r.n),
                     "delta_resolved": False, "notes": r.notes})
        df = pd.DataFrame(rows)
        order = {fac.level: i for i, fac in enumerate(facs)} | {"dummy": len(facs)}
        df["_order"] = df.level.map(order)
        frames.append(df.sort_values(["_order", "delta"], ascending=[True, False],
                                     kind="stable").drop(columns="_order"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _tables(store: _Store, ests: list[list[dict[str, Any]]], facs: Sequence[Factors],
            lidx: Sequence[np.ndarray], labels: Sequence[str], n: int, top: int,
            num_resamples: int, conf_level: float, seed: int, ci_method: str,
            second_order: bool) -> tuple[list[Any], ...]:
    """Per metric and level: the frame, convergence, ranking, sums and S2 pieces."""
    frames, conv, rank, s2 = [], [], [], []
    sums: list[Any] = []
    for q, label in enumerate(labels):
        for est, fac, idx in zip(ests[q], facs, lidx, strict=True):
            f = _level_frame(est, fac, label, ci_method)
            frames.append(f)
            sums.append(_sums_row(est, f, label, fac.level, ci_method))
            rank.append(_ranking(est, fac, label, top, conf_level))
            conv.append(_convergence(store, q, est, idx, fac, label, n, top, num_resamples,
                                     conf_level, seed, ci_method))
            if second_order:
                s2.append(_second_order(store, q, idx, fac, label, n, num_resamples,
                                        conf_level, seed, ci_method))
    return frames, conv, rank, sums, s2


