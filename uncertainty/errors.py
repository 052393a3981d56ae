"""The base class of the exceptions that mean "bad input".

Every error of invalid data, run files, distributions, overrides, stored results,
budgets or a Dask scheduler derives from :class:`UserError` (a ``ValueError``): the CLI
prints its one-line message and exits 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["USER_ERRORS", "UserError"]


class UserError(ValueError):
    """Bad input: the message names the file, row, column, value and rule broken."""


#: The exceptions the CLI turns into exit status 2.
USER_ERRORS: tuple[type[BaseException], ...] = (UserError,)
