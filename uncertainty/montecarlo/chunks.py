"""Monte Carlo chunks as tasks: :class:`ChunkJob` (what a worker needs, no files) and
:func:`compute_chunk` (one chunk of it), for :class:`uncertainty.executor.ChunkRunner`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from uncertainty.model import Model, Scenario
from uncertainty.montecarlo.kernel import evaluate_chunk
from uncertainty.space import ParameterSpace

__all__ = ["ChunkJob", "compute_chunk"]


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to compute Monte Carlo chunks of one run (no files).

    Attributes
    ----------
    model : Model
        The run's model.
    passes : tuple of (Model, ParameterSpace, tuple of Scenario)
        Kernel passes (:class:`uncertainty.scenarios.ScenarioPlan.passes`): each pass
        evaluates its switch sets on the same samples of its model and parameter space.
    seed : int
    sampler : {'philox', 'sobol'}
    """

    model: Model
    passes: tuple[tuple[Model, ParameterSpace, tuple[Scenario, ...]], ...]
    seed: int
    sampler: str = "philox"


def compute_chunk(job: ChunkJob, task: tuple[int, int, int]) -> tuple[int, list[np.ndarray]]:
    """Evaluate one chunk ``task = (index, first sample, count)`` of ``job``.

    Returns
    -------
    index : int
    arrays : list of ndarray, shape (n_switch_sets, count, n_metrics)
        One array per pass of ``job.passes``.
    """
    i, start, count = task
    return i, [evaluate_chunk(model, space, job.seed, start, count, list(switches),
                              job.sampler) for model, space, switches in job.passes]
