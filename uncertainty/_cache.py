"""numba's on-disk cache, invalidated when any module of the package changes.

numba stamps a cached function with a hash of the file that defines it. A kernel that
calls functions of other modules (the Monte Carlo kernel calls ``rng``, ``dists``,
``dists.special``, ``montecarlo._vmath``, ``montecarlo._kernels``,
``montecarlo._globals`` and ``model``) embeds their
compiled code, so after an edit (or a ``git pull``) that changes only a callee's file
the stale kernel would still be loaded: old random numbers or old equations, silently.
:class:`PackageCacheLocator` (and :class:`PackageUserCacheLocator` where
``NUMBA_CACHE_DIR`` is set) adds a hash of every module of the package and its subpackages to the stamp of
each of the package's functions, so that any change to the package recompiles its
kernels. Only this package's functions are affected; numba's own locators serve every
other file.

Importing this module puts the locators first in numba's list
(``CacheImpl._locator_classes``, the list ``NUMBA_CACHE_LOCATOR_CLASSES`` overrides):
every module that defines a cached kernel imports it first (a test checks that each
kernel got one of these locators). If numba's internals ever lack that list, nothing
is installed and numba's default behaviour (and ``make clean-cache``) remains.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from numba.core import caching

_PACKAGE = Path(__file__).resolve().parent


@functools.cache
def package_fingerprint() -> str:
    """SHA-256 of the package's Python sources, subpackages included (paths relative to
    the package and contents, sorted by path)."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(path.relative_to(_PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


class _PackageStamp:
    """Mixin: the package fingerprint added to numba's source stamp, for the package's
    own files only."""

    def get_source_stamp(self) -> Any:
        return (super().get_source_stamp(), package_fingerprint())  # type: ignore[misc]

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        if not Path(py_file).resolve().is_relative_to(_PACKAGE):
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]


class PackageCacheLocator(_PackageStamp, caching.InTreeCacheLocator):
    """numba's in-tree locator (``__pycache__`` beside the source), package-stamped."""


class PackageUserCacheLocator(_PackageStamp, caching.UserProvidedCacheLocator):
    """numba's ``NUMBA_CACHE_DIR`` locator (used only when that is set), package-stamped."""


LOCATORS = (PackageUserCacheLocator, PackageCacheLocator)


def install() -> bool:
    """Put the package's locators first in numba's locator list (idempotent).

    Returns True if they are installed, False if numba has no such list.
    """
    classes = getattr(caching.CacheImpl, "_locator_classes", None)
    if not isinstance(classes, list):
        return False
    for cls in reversed(LOCATORS):
        if cls not in classes:
            classes.insert(0, cls)
    return True


install()
