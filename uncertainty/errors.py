"""The exceptions that mean "bad input" (the CLI prints them and exits 2)."""

from __future__ import annotations

from uncertainty.budget import BudgetError
from uncertainty.config import ConfigError
from uncertainty.data import DataValidationError
from uncertainty.dists import DistributionError
from uncertainty.engine import SchedulerError
from uncertainty.space import SpaceError
from uncertainty.store import NonFiniteError, OutputLockedError, OutputPathError, ResultsError

__all__ = ["USER_ERRORS"]

#: Raised for invalid data, run files, distributions, overrides or stored results.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError, DataValidationError, DistributionError, SpaceError, ResultsError,
    OutputLockedError, SchedulerError, BudgetError, OutputPathError,
    NonFiniteError,
)
