"""Chunked Monte Carlo: per-sample outputs of the TMR model under the parameter space.

:func:`monte_carlo` runs in memory (the API); :func:`evaluate_chunk` computes samples
``start .. start + count - 1`` of a run, bit-identical whatever the chunk size, thread
count or worker (:mod:`~uncertainty.montecarlo.kernel`); :class:`ChunkJob` and
:func:`compute_chunk` make chunks tasks for :class:`uncertainty.executor.ChunkRunner`.
The compiled tables and inner loops live in the private ``_kernels``, ``_globals`` and
``_vmath`` modules.
"""

from __future__ import annotations

from uncertainty.montecarlo.chunks import ChunkJob, compute_chunk
from uncertainty.montecarlo.kernel import evaluate_chunk
from uncertainty.montecarlo.run import MonteCarloResult, monte_carlo, summarise

__all__ = ["ChunkJob", "MonteCarloResult", "compute_chunk", "evaluate_chunk", "monte_carlo",
           "summarise"]
