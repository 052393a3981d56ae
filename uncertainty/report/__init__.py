"""Results read back from an out folder, and the figures, tables and HTML report.

:func:`load_results` reads an out folder (:mod:`~uncertainty.report.results`);
:mod:`~uncertainty.report.figures` draws the figures (seaborn),
:mod:`~uncertainty.report.tables` renders Markdown and LaTeX tables,
:mod:`~uncertainty.report.html` the report page, and :func:`write_report` writes all of
them (:mod:`~uncertainty.report.writer`).
"""

from __future__ import annotations

from uncertainty.report.writer import *  # noqa: F403
from uncertainty.report.writer import __all__ as __all__
