"""Moment-independent sensitivity (Borgonovo's delta) from given Monte Carlo samples.

Variance-based indices describe how a factor moves the *variance* of an output; for
heavy-tailed outputs (log-sd of 1 or more) the variance is
dominated by a few extreme samples and the indices are unstable. Borgonovo's delta
measures how much fixing a factor shifts the whole output *density*:
``delta_i = 0.5 E_{X_i}[ integral |f_Y(y) - f_{Y|X_i}(y)| dy ]``, in [0, 1], 0 for a
factor the output does not depend on. It is invariant under any strictly monotone
transformation of the output, so delta of Y and of ln Y are the same quantity.

:func:`delta_indices` wraps :func:`SALib.analyze.delta.analyze` (Plischke, Borgonovo and
Smith 2013: an equal-frequency partition of each factor, Gaussian kernel densities per
class, bias reduction by bootstrap) and shields the caller from its side effects:

* SALib draws its bootstrap from NumPy's *global* random state; the state is seeded
  from ``seed`` for the call and restored afterwards, so a caller's global RNG is left
  as it was and the result is reproducible;
* SALib installs a ``"once"`` warnings filter and its own ``warnings.formatwarning``;
  both are restored, and its notices (bin merges, raw-versus-balanced bias) are
  returned in the ``notes`` column instead of being printed;
* each kernel density whitens its data with a triangular solve that multi-threaded
  OpenBLAS makes 10-30 times slower than it is single-threaded; when ``threadpoolctl``
  is installed the BLAS pools are held at one thread during the call.

The reported ``delta`` is SALib's ``delta_raw`` (the classic estimator, bootstrap with
replacement from the sample as drawn; SALib before 1.5 called it ``delta``); SALib's
``S1`` from the same sample (binned first-order index) is ``S1_delta``.

References
----------
Borgonovo, E. (2007). A new uncertainty importance measure. Reliability Engineering &
System Safety 92, 771-784.

Plischke, E., Borgonovo, E., Smith, C. L. (2013). Global sensitivity measures from
given data. European Journal of Operational Research 226, 536-550.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

__all__ = ["DELTA_COLUMNS", "delta_indices", "single_threaded_blas"]

DELTA_COLUMNS = ("factor", "delta", "delta_conf", "S1_delta", "S1_delta_conf", "n", "notes")
"""Columns of :func:`delta_indices`'s frame."""

_STEP_NOTE = re.compile(r"Step: too few samples\.[^;]*;")


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Hold NumPy's and SciPy's BLAS pools at one thread (needs ``threadpoolctl``).

    On a small or busy machine a multi-threaded OpenBLAS spends most of its time
    waiting for its threads: a (100 x 8192) @ (8192 x 128) product ran at 2-12 GF/s
    with two threads on a loaded 2-core machine and at 24-32 GF/s with one. Without
    ``threadpoolctl`` this does nothing.
    """
    import scipy.linalg  # noqa: F401 - load SciPy's BLAS first: limits reach loaded libraries only

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only speed depends on it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@contextlib.contextmanager
def _salib_sandbox(seed: int) -> Iterator[list[warnings.WarningMessage]]:
    """Global RNG seeded and restored, warnings filters and format restored, BLAS 1 thread."""
    state = np.random.get_state()  # noqa: NPY002 - SALib uses the global state
    fmt = warnings.formatwarning
    try:
        with warnings.catch_warnings(record=True) as caught, single_threaded_blas():
            warnings.simplefilter("always")
            np.random.seed(seed % 2**32)  # noqa: NPY002 - SALib reads the global state
            yield caught
    finally:
        warnings.formatwarning = fmt
        np.random.set_state(state)  # noqa: NPY002


def delta_indices(
    X: np.ndarray,
    Y: np.ndarray,
    names: Sequence[str],
    *,
    num_resamples: int = 10,
    conf_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Borgonovo's delta and a binned first-order index of one output, by SALib.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, d)
        Factor values of n Monte Carlo samples (any sampler; independent factors).
    Y : numpy.ndarray, shape (n,)
        The output at those samples; finite.
    names : sequence of str, length d
        Factor names.
    num_resamples : int, default 10
        Bootstrap resamples of SALib's bias reduction and intervals (at least 2).
        Cost grows linearly with it: each resample re-estimates every class density.
    conf_level : float, default 0.95
        Confidence level of ``delta_conf`` and ``S1_delta_conf`` (half-widths).
    seed : int, default 0
        Seeds NumPy's global state for SALib's bootstrap (restored afterwards).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DELTA_COLUMNS`, a row per factor in the order of ``names``;
        ``delta`` NaN (with the reason in ``notes``) for a factor SALib cannot bin,
        such as a constant one.

    Raises
    ------
    ValueError
        Shapes disagree, ``Y`` is not finite, or ``num_resamples`` / ``conf_level`` is
        out of range.

    Notes
    -----
    Runtime is about 0.1-0.5 s per factor at n = 1,024-4,096 and ``num_resamples=10``
    on one core with single-threaded BLAS (several seconds per factor without
    ``threadpoolctl`` on a busy multi-core machine): keep d to about 100 or fewer.
    """
    from SALib.analyze import delta as salib_delta

    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    names = [str(s) for s in names]
    if X.ndim != 2 or Y.ndim != 1 or X.shape[0] != Y.shape[0] or X.shape[1] != len(names):
        raise ValueError(f"X must be (n, {len(names)}) and Y (n,) (got {X.shape} and {Y.shape})")
    if not np.isfinite(Y).all():
        bad = np.flatnonzero(~np.isfinite(Y))[:10]
        raise ValueError(f"Y has non-finite values in rows {', '.join(map(str, bad))}")
    if int(num_resamples) != num_resamples or num_resamples < 2:
        raise ValueError(f"num_resamples must be an integer >= 2 (got {num_resamples})")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1) (got {conf_level})")
    problem = {"num_vars": len(names), "names": names,
               "bounds": [[float(c.min()), float(c.max())] for c in X.T]}
    t0 = time.perf_counter()
    with _salib_sandbox(seed) as caught:
        S = salib_delta.analyze(problem, X, Y, num_resamples=int(num_resamples),
                                conf_level=conf_level, seed=None)
    # SALib's "step" variant (X <= 0 against X > 0) does not apply to positive factors
    notes = [_STEP_NOTE.sub("", str(x)).strip() for x in S.get("notes", [])]
    notes += [""] * (len(names) - len(notes))
    for w in caught:
        text = str(w.message)
        for i, nm in enumerate(names):
            if f"[{nm}]" in text:
                notes[i] = f"{notes[i]} {text}".strip()
    key = "delta_raw" if "delta_raw" in S else "delta"
    frame = pd.DataFrame({
        "factor": names,
        "delta": np.asarray(S[key], dtype=float),
        "delta_conf": np.asarray(S[f"{key}_conf"], dtype=float),
        "S1_delta": np.asarray(S["S1"], dtype=float),
        "S1_delta_conf": np.asarray(S["S1_conf"], dtype=float),
        "n": len(Y),
        "notes": notes,
    })
    frame.attrs["seconds"] = time.perf_counter() - t0
    return frame
