"""Monte Carlo in memory: :func:`monte_carlo` and its :class:`MonteCarloResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from uncertainty.config import RunConfig
from uncertainty.data import Dataset
from uncertainty.model import evaluate
from uncertainty.montecarlo.kernel import evaluate_chunk
from uncertainty.resolve import resolve, resolve_seed

__all__ = ["MonteCarloResult", "monte_carlo", "summarise"]


@dataclass(repr=False)
class MonteCarloResult:
    """Per-sample metrics of a Monte Carlo run (in memory) and its nominal values.

    Attributes
    ----------
    samples : pandas.DataFrame
        A row per sample, a column per metric.
    nominal : pandas.Series
        Metric -> value at nominal inputs.
    seed, n : int
    scenarios : dict[str, pandas.DataFrame]
        Scenario name -> per-sample metrics on the same random numbers.
    """

    samples: pd.DataFrame
    nominal: pd.Series
    seed: int
    n: int
    scenarios: dict[str, pd.DataFrame]

    def __repr__(self) -> str:
        scen = f", scenarios: {', '.join(self.scenarios)}" if self.scenarios else ""
        return (f"<MonteCarloResult: {self.n:,} samples x {self.samples.shape[1]} metrics, "
                f"seed {self.seed}{scen}; .summary() for the statistics>")

    def summary(self) -> pd.DataFrame:
        """metric, nominal, mean, sd, p2_5, p50, p97_5, n (one row per metric)."""
        return summarise({m: self.samples[m].to_numpy() for m in self.samples.columns},
                         self.nominal)


def summarise(columns: dict[str, np.ndarray], nominal: pd.Series) -> pd.DataFrame:
    """Summary statistics of per-sample columns (order-independent of chunking)."""
    rows = []
    for m, x in columns.items():
        x = np.asarray(x, dtype=np.float64)
        q = np.quantile(x, [0.025, 0.5, 0.975])
        rows.append((m, float(nominal[m]), float(np.mean(x)),
                     float(np.std(x, ddof=1)) if len(x) > 1 else math.nan,
                     float(q[0]), float(q[1]), float(q[2]), len(x)))
    return pd.DataFrame(rows, columns=["metric", "nominal", "mean", "sd", "p2_5", "p50",
                                       "p97_5", "n"])


def monte_carlo(run_or_dataset: RunConfig | Dataset, n: int, *, seed: int | None = None,
                chunk_size: int = 65_536, sampler: str | None = None) -> MonteCarloResult:
    """Monte Carlo in memory (for the API; the CLI streams chunks to disk instead).

    Parameters
    ----------
    run_or_dataset : RunConfig or Dataset
        A run file (:func:`uncertainty.load_run`: its dataset, overrides, baseline and
        the switch-only scenarios) or a dataset (:func:`uncertainty.load_dataset`).
    n : int
        Number of samples (positive).
    seed : int, optional
        ``0 <= seed < 2**64``; default: the run file's ``[montecarlo] seed`` (required
        with a Dataset).
    chunk_size : int
        Samples per kernel call; results do not depend on it.
    sampler : {'philox', 'sobol'}, optional
        Default: the run file's ``[montecarlo] sampler`` (``'philox'`` for a Dataset).

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    ValueError
        ``n`` not a positive integer.
    ConfigError
        A bad seed, or a run file that does not fit its dataset.

    Examples
    --------
    >>> import uncertainty
    >>> run = uncertainty.load_run("runs/china-2019.toml")       # doctest: +SKIP
    >>> res = uncertainty.monte_carlo(run, 10_000)                # doctest: +SKIP
    >>> res.summary().set_index("metric").loc["hidden_flows_mt"]  # doctest: +SKIP
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise ValueError(f"n must be a positive integer (got {n!r})")
    r = resolve(run_or_dataset)
    seed = resolve_seed("monte_carlo()", seed, r.run.montecarlo.seed if r.run else None)
    model, space, baseline = r.model, r.space, r.baseline
    scen = [s for s in r.run.scenarios if not s.overrides] if r.run else []
    sampler = sampler or (r.run.montecarlo.sampler if r.run else "philox")
    switch_sets = [baseline] + [s.switches for s in scen]
    parts = []
    for a in range(0, n, chunk_size):
        parts.append(evaluate_chunk(model, space, seed, a, min(chunk_size, n - a),
                                    switch_sets, sampler))
    out = np.concatenate(parts, axis=1)
    nominal = pd.Series(evaluate(model, *space.nominal_inputs(), scenario=baseline)[0],
                        index=model.metric_names)
    frames = {s.name: pd.DataFrame(out[i + 1], columns=model.metric_names)
              for i, s in enumerate(scen)}
    return MonteCarloResult(pd.DataFrame(out[0], columns=model.metric_names), nominal, seed, n,
                            frames)
