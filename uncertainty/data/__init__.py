"""Dataset tables -> one validated, frozen :class:`Dataset` (the only CSV reader).

- :mod:`~uncertainty.data.schema`: the files, columns and rules (:data:`SPECS`);
- :mod:`~uncertainty.data.tables`: reading one CSV table against its specification;
- :mod:`~uncertainty.data.fill`: the blanks of ``mines.csv`` filled, with provenance;
- :mod:`~uncertainty.data.dataset`: :func:`load_dataset` and the checks across tables.
"""

from __future__ import annotations

from uncertainty.data.dataset import *  # noqa: F403
from uncertainty.data.fill import *  # noqa: F403
from uncertainty.data.schema import *  # noqa: F403
from uncertainty.data.tables import *  # noqa: F403
