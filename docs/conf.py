"""Sphinx configuration of the documentation site (``make docs``).

The pages are MyST Markdown. The reference parts are generated from the code by the
local extension ``_ext/uncertainty_docs.py`` (data columns from
``uncertainty.data.schema.SPECS``, run-file keys from ``uncertainty.config.RUN_KEYS``,
the package layout from the modules' docstrings) and by autodoc, so they cannot drift.
The build needs no network: intersphinx is deliberately not enabled.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))  # the package itself (also installed editable in .venv)

import uncertainty  # noqa: E402

project = "uncertainty (tmr-uncertainty)"
author = "tmr-uncertainty contributors"
copyright = "tmr-uncertainty contributors"  # noqa: A001
release = uncertainty.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx.ext.viewcode",
    "uncertainty_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# ----------------------------------------------------------------------------- MyST
myst_heading_anchors = 3  # pages link to page.md#heading-anchor

# ------------------------------------------------------------------ autodoc, numpydoc
nitpicky = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True  # dataclass fields show field(default_factory=...)
numpydoc_show_class_members = False  # no autosummary stubs
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# ---------------------------------------------------------------------------- output
html_theme = "pydata_sphinx_theme"
html_title = "uncertainty"
html_static_path = ["_ext/static"]
html_css_files = ["uncertainty.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
