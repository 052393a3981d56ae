"""Where the files that ship with the package are: the default dataset and run files.

In an installed package they are package data (``uncertainty/distributions/``,
``uncertainty/runs/``); in a source checkout they are the repository's top-level
``distributions/`` and ``runs/`` folders beside the package.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_RUN_NAME", "default_dataset", "default_run", "is_packaged", "shipped"]

_PACKAGE = Path(__file__).resolve().parent

#: The default run file's name, under ``runs/``.
DEFAULT_RUN_NAME = "china-2019.toml"


def shipped(name: str) -> Path:
    """The shipped folder ``name`` (``'distributions'`` or ``'runs'``).

    Raises
    ------
    FileNotFoundError
        Neither the package data nor a source checkout holds it.
    """
    for p in (_PACKAGE / name, _PACKAGE.parent / name):
        if p.is_dir():
            return p
    raise FileNotFoundError(f"the package's {name}/ folder is missing (looked in {_PACKAGE} "
                            f"and {_PACKAGE.parent}); reinstall the package")


def default_dataset() -> Path:
    """The default dataset folder (the illustrative synthetic mine database)."""
    return shipped("distributions")


def default_run() -> Path:
    """The default run file (China's 2019 passenger cars on the default dataset)."""
    return shipped("runs") / DEFAULT_RUN_NAME


def is_packaged(path: Path) -> bool:
    """Whether ``path`` lies inside the installed package (package data, not a user's
    folder: outputs of a packaged run file go under the working folder instead)."""
    return Path(path).resolve().is_relative_to(_PACKAGE)
