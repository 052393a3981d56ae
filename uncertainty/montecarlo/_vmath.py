"""Vectorisable arithmetic of the Monte Carlo kernel's fast path (:mod:`uncertainty.montecarlo._kernels`,
:mod:`uncertainty.montecarlo._globals`): scalar functions that LLVM turns into AVX2 code inside
their callers' loops, and the decorators of the three modules.

**exp, log and cos in plain arithmetic** (:func:`vexp`, :func:`vlog`, :func:`vcos`):
numba calls libm for ``math.exp`` and friends, which LLVM cannot vectorise (this
llvmlite, LLVM 22, has no SVML: installing Intel's runtime would not change that).
Cody-Waite reduction, the exponent by bit manipulation, polynomials by Estrin's scheme
with explicit FMAs (:func:`fma`, IEEE 754's fused multiply-add: correctly rounded, so
machine-independent; not fastmath, which stays off). Within 2-4 ulp of libm.

**The inverse normal CDF's two branches**: ``_special.ndtri_fast`` (Wichura's AS 241)
as its central branch (:func:`ndtri_central`) and its intermediate tail
(:func:`ndtri_tail`, in stages :func:`tail_log`, :func:`tail_rational` and
:func:`tail_bad` that ``_mckernels.tail_tile`` runs as separate loops), the rational
functions by :func:`poly7`: within 1 ulp of ``ndtri_fast``.

``_inline`` (inlined by numba: scalar functions) and ``_jit`` (inlined by LLVM:
functions taking arrays) are the decorators of every kernel of the three modules.
"""

from __future__ import annotations

import math

import numba as nb
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from uncertainty import (
    _cache,  # noqa: F401  (before any kernel: package-stamped numba cache)
    rng,
)
from uncertainty.dists.special import _B, _C, _C_SLOPE, _CM, _D, _N, _SQRT_2PI
from uncertainty.rng import _bits, _float

__all__: list[str] = []


_inline = nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
# Functions taking arrays use the plain decorator: numba's own inlining of array
# arguments leaves reference-count calls in the loop; LLVM inlines them cleanly.
_jit = nb.njit(cache=True, nogil=True, error_model="numpy")


# ------------------------------------------------------------------------ fma
@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (IEEE 754 fusedMultiplyAdd, ``llvm.fma``).

    Not fastmath: the result is defined exactly by IEEE 754, so it is the same on every
    machine (a vector FMA instruction here, a correctly rounded ``fma()`` from libm on a
    CPU without one). Written out where it is wanted, never left to the compiler.
    """
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, sig, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@_inline
def poly7(c, r, r2, r4):
    """``c[0] + c[1] r + ... + c[7] r**7`` by Estrin's scheme with FMAs (``r2 = r**2``,
    ``r4 = r**4``).

    Horner's rule is a chain of 7 dependent multiply-adds (or 14 operations without
    FMA); Estrin's is 3 levels deep. These polynomials dominate the vectorised loops,
    whose speed was bound by that latency (the out-of-order window cannot hold enough
    loop iterations to hide a chain this long): 7 -> 4 cycles per inverse normal CDF.
    """
    return fma(fma(fma(c[7], r, c[6]), r2, fma(c[5], r, c[4])), r4,
               fma(fma(c[3], r, c[2]), r2, fma(c[1], r, c[0])))


# ------------------------------------------------------------------ exp, log
# Round to an integer by adding 1.5 * 2**52: the sum's last bit has weight 1, so it
# holds round(x) in its low mantissa bits (|x| < 2**51), and subtracting again gives
# round(x) as a float. AVX2 has no float64 <-> int64 conversion; this needs none.
_ROUND = 6755399441055744.0
_ROUND_BITS = 0x4338000000000000
_TWO_52 = 4503599627370496.0  # 2**52, whose bits are _TWO_52_BITS
_TWO_52_BITS = 0x4330000000000000
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 32 significant bits: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_MAX = 700.0  # |x| <= 700 keeps 2**n a normal number
_TWO_PI = rng._TWO_PI  # rng's 2 pi of the Box-Muller cosine
_E = tuple(1.0 / math.factorial(k) for k in range(14))  # Taylor coefficients of exp


@_inline
def vexp(x):
    """``exp(x)`` for ``|x| <= 700``, within 4 ulp of libm (vectorisable).

    ``x = n ln 2 + r``, ``|r| <= ln(2)/2``; ``exp(r)`` by its Taylor polynomial of degree
    13 (truncation error below 5e-18), Estrin's scheme with FMAs; times ``2**n`` built
    in the exponent bits. Outside [-700, 700] the result is wrong: callers make sure.
    """
    t = fma(x, _LOG2E, _ROUND)
    n = t - _ROUND
    r = fma(n, -_LN2_LO, fma(n, -_LN2_HI, x))
    r2 = r * r
    r4 = r2 * r2
    c = _E
    p = fma(fma(fma(c[13], r, c[12]), r4, fma(fma(c[11], r, c[10]), r2, fma(c[9], r, c[8]))),
            r4 * r4, poly7(c, r, r2, r4))
    return p * _float((_bits(t) - _ROUND_BITS + 1023) << 52)


# fdlibm / musl log: x = 2**k (1 + f), sqrt(1/2) <= 1 + f < sqrt(2), s = f / (2 + f),
# log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), R a minimax polynomial.
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
_MANTISSA = 0x000FFFFFFFFFFFFF
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


@_inline
def vlog(x):
    """``log(x)`` for a positive normal float64 (fdlibm's algorithm, about 1 ulp).

    Zero, subnormals, negatives, infinities and NaN give wrong results: callers check.
    """
    f, s = vlog_parts(x)
    return vlog_finish(x, f, s)


@_inline
def vlog_parts(x):
    """Stage 1 of :func:`vlog`, up to its division: ``(f, s)``. A loop can run the two
    stages as two loops (:func:`vlog_finish` is stage 2): each chain of dependent
    operations is then half as long, and the out-of-order window overlaps more
    iterations."""
    ix = _bits(x) - _SQRT_HALF_BITS
    f = _float((ix & _MANTISSA) + _SQRT_HALF_BITS) - 1.0
    return f, f / (2.0 + f)


@_inline
def vlog_finish(x, f, s):
    """Stage 2 of :func:`vlog`: ``log(x)`` from ``x`` and ``vlog_parts(x)``."""
    ix = _bits(x) - _SQRT_HALF_BITS
    k = ix >> 52  # arithmetic shift: the exponent of x relative to sqrt(1/2)
    dk = _float(k + _ROUND_BITS) - _ROUND  # float(k) without an int64 conversion
    hfsq = 0.5 * f * f
    z = s * s
    w = z * z
    t1 = w * fma(w, fma(w, _LG6, _LG4), _LG2)
    t2 = z * fma(w, fma(w, fma(w, _LG7, _LG5), _LG3), _LG1)
    return s * (hfsq + t2 + t1) + dk * _LN2_LO - hfsq + f + dk * _LN2_HI


# cos by Cody-Waite reduction x = k pi/2 + r, |r| <= pi/4 (pi/2 in three parts, the first
# two with trailing zeros so that k * part is exact for k < 2**20), then the Taylor
# polynomials of cos r and sin r in r**2 (degree 16 and 17: truncation below 1e-17).
_2_OVER_PI = 0.6366197723675814
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624879595063154e-21
_COS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(9))
_SIN = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(9))


@_inline
def vcos(x):
    """``cos(x)`` for ``|x| <= 2**20`` (about 1 ulp, vectorisable): callers make sure."""
    t = fma(x, _2_OVER_PI, _ROUND)
    n = t - _ROUND
    r = fma(n, -_PIO2_3, fma(n, -_PIO2_2, fma(n, -_PIO2_1, x)))
    y = r * r
    y2 = y * y
    y4 = y2 * y2
    y8 = y4 * y4
    c = fma(_COS[8], y8, poly7(_COS, y, y2, y4))
    s = r * fma(_SIN[8], y8, poly7(_SIN, y, y2, y4))
    q = _bits(t)  # the low bits of t are those of k = round(x 2 / pi)
    v = s if q & 1 else c  # cos x = cos r, -sin r, -cos r, sin r for k = 0, 1, 2, 3 mod 4
    return _float(_bits(v) ^ (((q + 1) & 2) << 62))  # flip the sign for k = 1, 2 mod 4


# ------------------------------------------------------------ ndtri branches
# The two branches of ``_special.ndtri_fast`` (Wichura's AS 241) for the vectorised
# phases, the rational functions by :func:`poly7`: within 1 ulp of ``ndtri_fast``.
@_inline
def is_tail(p):
    """True where ``ndtri_fast(p)`` leaves its central branch (NaN included)."""
    return not abs(p - 0.5) <= 0.425


@_inline
def ndtri_central(p):
    """``ndtri_fast``'s central branch (valid for ``|p - 1/2| <= 0.425``)."""
    q = p - 0.5
    r = fma(-q, q, 0.180625)
    r2 = r * r
    r4 = r2 * r2
    return q * (_SQRT_2PI + poly7(_N, r, r2, r4) / poly7(_B, r, r2, r4))


@_inline
def tail_min(p):
    """``min(p, 1 - p)``, the argument of :func:`tail_log`'s logarithm."""
    return p if p - 0.5 < 0.0 else 1.0 - p


@_inline
def tail_log(p):
    """Stage 1 of :func:`ndtri_tail`: ``-log(min(p, 1 - p))`` (:func:`vlog`; wrong where
    :func:`tail_bad`)."""
    return -vlog(tail_min(p))


@_inline
def tail_bad(p, r):
    """1 where :func:`ndtri_tail` does not apply to ``p`` (``r = sqrt(tail_log(p))``):
    ``min(p, 1-p)`` below ``exp(-25)`` (AS 241's far tail), zero, subnormal or NaN."""
    rr = p if p - 0.5 < 0.0 else 1.0 - p
    return 0 if (r <= 5.0 and rr >= 2.2250738585072014e-308) else 1


@_inline
def tail_rational(p, r):
    """Stage 3 of :func:`ndtri_tail`: AS 241's rational function of ``r = sqrt(tail_log(p))``,
    with the sign of ``p - 1/2``."""
    s = r - 1.6
    s2 = s * s
    s4 = s2 * s2
    x = _C[0] + s * (_C_SLOPE + poly7(_CM, s, s2, s4) / poly7(_D, s, s2, s4))
    return -x if p - 0.5 < 0.0 else x


@_inline
def ndtri_tail(p):
    """``ndtri_fast``'s intermediate-tail branch, :func:`vlog` for libm's log, in one
    piece (:func:`~uncertainty.montecarlo._kernels.tail_tile` runs its three stages as separate loops).

    Returns ``(x, bad)``; ``bad`` (1) where this branch does not apply (:func:`tail_bad`).
    """
    r = math.sqrt(tail_log(p))
    return tail_rational(p, r), tail_bad(p, r)
