"""SciPy special functions callable from numba-compiled kernels.

numba cannot call ``scipy.special`` ufuncs in nopython mode, so the kernels bind the
C entry points that SciPy exports in ``scipy.special.cython_special`` (the same
implementations the ufuncs use). This avoids re-implementing the inverse normal CDF
or the incomplete gamma/beta inverses by hand: the values are SciPy's, bit for bit.
"""

from __future__ import annotations

import ctypes

from numba.extending import get_cython_function_address

__all__ = ["betaincinv", "gammaincinv", "ndtr", "ndtri"]

_d = ctypes.c_double
_module = "scipy.special.cython_special"

ndtri = ctypes.CFUNCTYPE(_d, _d)(get_cython_function_address(_module, "ndtri"))
"""Inverse of the standard normal CDF, ``ndtri(p)``."""

ndtr = ctypes.CFUNCTYPE(_d, _d)(get_cython_function_address(_module, "__pyx_fuse_1ndtr"))
"""Standard normal CDF, ``ndtr(x)`` (real-valued specialisation)."""

gammaincinv = ctypes.CFUNCTYPE(_d, _d, _d)(get_cython_function_address(_module, "gammaincinv"))
"""Inverse of the regularised lower incomplete gamma function, ``gammaincinv(a, p)``."""

betaincinv = ctypes.CFUNCTYPE(_d, _d, _d, _d)(
    get_cython_function_address(_module, "__pyx_fuse_0betaincinv")
)
"""Inverse of the regularised incomplete beta function, ``betaincinv(a, b, p)`` (double)."""
