"""numba's cache of the package's kernels is stamped with a hash of the whole package."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import numba
import pytest
from numba.core.caching import FunctionCache

import uncertainty
from uncertainty import _cache


def _cached_dispatchers():
    """Every numba dispatcher with an on-disk cache defined in the package's modules,
    subpackages included."""
    found = []
    for info in pkgutil.walk_packages(uncertainty.__path__, "uncertainty."):
        if info.name == "uncertainty.__main__":  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            cache = getattr(obj, "_cache", None)
            if isinstance(obj, numba.core.dispatcher.Dispatcher) and \
                    isinstance(cache, FunctionCache) and obj.__module__ == module.__name__:
                found.append((f"{module.__name__}.{name}", cache))
    return found


def test_every_cached_kernel_of_the_package_is_package_stamped():
    dispatchers = _cached_dispatchers()
    modules = {name.rsplit(".", 1)[0] for name, _ in dispatchers}
    assert {"uncertainty.rng", "uncertainty.montecarlo.kernel", "uncertainty.montecarlo._kernels",
            "uncertainty.montecarlo._globals", "uncertainty.montecarlo._vmath",
            "uncertainty.sensitivity.kernel", "uncertainty.model"} <= modules
    for name, cache in dispatchers:
        locator = cache._impl.locator
        assert isinstance(locator, _cache.LOCATORS), name
        stamp = locator.get_source_stamp()
        assert stamp[1] == _cache.package_fingerprint(), name


def test_a_change_anywhere_in_the_package_changes_every_stamp(monkeypatch):
    from uncertainty.montecarlo import kernel

    locator = kernel._mc_kernel._cache._impl.locator
    before = locator.get_source_stamp()
    monkeypatch.setattr(_cache, "package_fingerprint", lambda: "another package")
    after = locator.get_source_stamp()
    assert before[0] == after[0] and before[1] != after[1]


def test_other_files_keep_numbas_own_locators(tmp_path, monkeypatch):
    (tmp_path / "elsewhere.py").write_text(
        "from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("elsewhere")
    try:
        assert module.f(1) == 2
        assert not isinstance(module.f._cache._impl.locator, _cache.LOCATORS)
    finally:
        sys.modules.pop("elsewhere", None)


def test_install_is_idempotent():
    from numba.core.caching import CacheImpl

    assert _cache.install() and _cache.install()
    assert CacheImpl._locator_classes[:2] == list(_cache.LOCATORS)
    assert sum(c in _cache.LOCATORS for c in CacheImpl._locator_classes) == 2


@pytest.mark.parametrize("env", [None, "user"])
def test_user_cache_dir_keeps_the_package_stamp(tmp_path, monkeypatch, env):
    """With NUMBA_CACHE_DIR set, the package's kernels cache there, still stamped."""
    from uncertainty import rng

    if env:
        monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    cache = FunctionCache(rng.uniforms.py_func)
    locator = cache._impl.locator
    want = _cache.PackageUserCacheLocator if env else _cache.PackageCacheLocator
    assert type(locator) is want
    if env:
        assert locator.get_cache_path().startswith(str(tmp_path))
    assert locator.get_source_stamp()[1] == _cache.package_fingerprint()


def test_the_fingerprint_covers_files_of_subpackages(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "top.py").write_text("x = 1\n")
    (tmp_path / "sub" / "inner.py").write_text("y = 1\n")
    monkeypatch.setattr(_cache, "_PACKAGE", tmp_path)
    _cache.package_fingerprint.cache_clear()
    try:
        before = _cache.package_fingerprint()
        (tmp_path / "sub" / "inner.py").write_text("y = 2\n")
        _cache.package_fingerprint.cache_clear()
        assert _cache.package_fingerprint() != before
    finally:
        _cache.package_fingerprint.cache_clear()
