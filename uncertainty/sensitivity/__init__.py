"""Global sensitivity analysis: Sobol indices, moment-independent delta, groups.

- :func:`sobol` (:mod:`~uncertainty.sensitivity.tmr`): Sobol indices of the TMR model's
  metrics for every parameter of a run, and for groups (levels) of them, from one
  incremental evaluation of the Saltelli design (:mod:`~uncertainty.sensitivity.kernel`,
  :mod:`~uncertainty.sensitivity.factors`, :mod:`~uncertainty.sensitivity.estimates`).
- :func:`sobol_indices` (:mod:`~uncertainty.sensitivity.indices`): the same estimators
  for any vectorised model, SALib-compatible (:mod:`~uncertainty.sensitivity.saltelli`).
- :class:`SobolResult` (:mod:`~uncertainty.sensitivity.result`) and
  :class:`TmrSobolResult`; :func:`delta_indices` (:mod:`~uncertainty.sensitivity.delta`).
- :func:`data_priorities` and :func:`proof` (:mod:`~uncertainty.sensitivity.priorities`):
  which sites to measure next (the first-order index of each site's non-reported
  values) and the check of those predictions by re-running the Monte Carlo.
"""

from __future__ import annotations

from uncertainty.sensitivity.delta import delta_indices
from uncertainty.sensitivity.indices import sobol_indices
from uncertainty.sensitivity.priorities import Priorities, data_priorities, proof
from uncertainty.sensitivity.result import SobolResult
from uncertainty.sensitivity.tmr import LEVELS, TmrSobolResult, sobol

__all__ = [
           "LEVELS",
           "Priorities",
           "SobolResult",
           "TmrSobolResult",
           "data_priorities",
           "delta_indices",
           "proof",
           "sobol",
           "sobol_indices",
]
