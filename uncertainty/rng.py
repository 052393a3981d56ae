"""Counter-based random numbers and scrambled Sobol points in (0, 1).

Every random number of a run is a pure function of ``(seed, sample index, parameter
index)``: there is no generator state, so results do not depend
on chunk size, thread count, number of workers or machine, and any chunk can be
recomputed alone. Scrambled Sobol points from :class:`scipy.stats.qmc.Sobol` are the
quasi-random alternative (:func:`sobol_points`).

Generator
---------
Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3", the
Random123 library), bit for bit Random123's ``philox4x32_10`` (its known-answer vectors)
and randomgen's ``Philox(number=4, width=32)``: a 128-bit counter ``(c0, c1, c2, c3)``
and a 64-bit key ``(k0, k1)``, 32-bit words, give four 32-bit words ``(x0, x1, x2, x3)``.
Philox4x32-10 rather than Philox4x64-10 because its 32 x 32 -> 64-bit
multiplies vectorise (AVX2 ``vpmuludq``, four blocks per instruction) where 4x64's
64 x 64 -> 128-bit multiply does not.

Counter layout (a contract: changing it changes every result of every run)
-----------------------------------------------------------------------------
* key ``= (k0, k1) = (seed mod 2**32, seed >> 32)``;
* Philox call ``c`` of substream ``s`` has counter ``(c0, c1, c2, c3) = (sample mod
  2**32, c, sample >> 32, s)``.

Uniforms (substream 0): three 42-bit uniforms per call
    The uniform of ``(seed, sample, param)`` is uniform ``q = param % 3`` of call
    ``param // 3``: word ``x_q`` as its high 32 bits and bits ``10 q .. 10 q + 9`` of
    word ``x3`` as its low 10, ``k = x_q 2**10 + ((x3 >> 10 q) & 1023)``, and
    ``u = (k + 0.5) 2**-42``, the midpoint of one of 2**42 equal cells: ``2**-43 <= u
    <= 1 - 2**-43``, never 0 or 1, safe for any ``ppf``. Three uniforms from one call
    instead of two from a call of 53-bit ones: the Monte Carlo kernel draws a mine's
    grade, stripping ratio and recovery from one call. 42 bits are far below anything a Monte Carlo
    estimate resolves: a cell is 2.3e-13 wide, and a standard normal quantile reaches
    +-7.4 (tail probability 1.1e-13; with 53 bits, +-8.1).
Gamma and Dirichlet draws (substreams 1, 2, ...)
    Rejection attempt ``a = 0, 1, 2, ...`` of the gamma draw of ``(seed, sample,
    param)`` reads the three uniforms of call ``param`` of substream ``1 + a`` (42-bit,
    as above): 0 and 1 give a Box-Muller normal, 2 the acceptance uniform. The boost
    uniform of a shape below 1 is the parameter's own uniform of substream 0,
    ``uniform(seed, sample, param)`` (a Dirichlet member's row has no other use for
    it). One call per attempt, none for the boost: the Monte Carlo kernel draws 120
    Dirichlet members a sample.

Ranges: ``0 <= seed < 2**64``, ``0 <= sample < 2**64``, ``0 <= param < 3 * 2**32``
for uniforms (a call index below 2**32) and ``0 <= param < 2**32`` for gamma draws.
Indices and seeds are non-negative. numba types a Python ``int`` as int64 (converted
to uint64 inside), so a seed of 2**63 or more must be passed as ``np.uint64``.

Functions callable from numba ``nopython`` code: :func:`philox4x32_10`,
:func:`uniform`, :func:`uniform_triple`, :func:`uniforms`, :func:`gamma_variate`,
:func:`dirichlet_variate`. :func:`uniforms_numpy` is a pure NumPy reference of
:func:`uniforms` (the test oracle and benchmark baseline).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic
from scipy.stats import qmc

from uncertainty import _cache  # noqa: F401  (before any kernel: package-stamped numba cache)

__all__ = [
    "dirichlet_variate",
    "gamma_variate",
    "philox4x32_10",
    "sobol_points",
    "uniform",
    "uniform_triple",
    "uniforms",
    "uniforms_numpy",
]

_SOBOL_BITS = 30
_U_MIN = 2.0**-53  # clip of the Sobol points
_U_MAX = 1.0 - 2.0**-53

# Philox4x32 constants (Random123 philox.h).
_M0 = 0xD2511F53
_M1 = 0xCD9E8D57
_W0 = 0x9E3779B9
_W1 = 0xBB67AE85
_ROUNDS = 10
_MASK32 = 2**32 - 1
_MASK64 = 2**64 - 1
_MAX_PARAM = 3 * 2**32  # a uniform's call index must fit in a 32-bit counter word

GENERATOR = "Philox4x32-10, three 42-bit uniforms per call; one call per mine and per gamma attempt (counter layout 4)"
"""What draws a run's random numbers: stored with every Monte Carlo run, so that a run
made by another generator or counter layout is never resumed, skipped as finished, or
mixed with this one's chunks."""

_u64 = np.uint64
_M0_U = _u64(_M0)
_M1_U = _u64(_M1)
_W0_U = _u64(_W0)
_W1_U = _u64(_W1)
_MASK32_U = _u64(_MASK32)
_S32 = _u64(32)
_TWO_PI = 2.0 * math.pi

# One set of options for every kernel: compiled lazily on first call, cached on disk,
# no fastmath (results must not depend on the compiler's reassociation).
_kernel = njit(cache=True, nogil=True)


def _bits_typer(typingctx: Any, x: types.Type) -> tuple[Any, Any] | None:
    """``_bits(x)``: the IEEE 754 bits of a float64 as int64 (an LLVM bitcast,
    vectorisable)."""
    if x != types.float64:
        return None

    def codegen(context: Any, builder: ir.IRBuilder, sig: Any, args: Any) -> ir.Value:
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


def _float_typer(typingctx: Any, x: types.Type) -> tuple[Any, Any] | None:
    """``_float(x)``: the float64 whose IEEE 754 bits are the int64 ``x`` (an LLVM
    bitcast)."""
    if x != types.int64:
        return None

    def codegen(context: Any, builder: ir.IRBuilder, sig: Any, args: Any) -> ir.Value:
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_bits: Any = intrinsic(_bits_typer)
_float: Any = intrinsic(_float_typer)


@njit(inline="always", cache=True, nogil=True)
def philox4x32_10(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Philox4x32 with 10 rounds: the Random123 block function (numba, nopython).

    Parameters
    ----------
    c0, c1, c2, c3 : numpy.uint64
        The 128-bit counter, least significant word first, each word below 2**32.
    k0, k1 : numpy.uint64
        The 64-bit key, each word below 2**32.

    Returns
    -------
    tuple of 4 numpy.uint64
        The output words ``(x0, x1, x2, x3)``, each below 2**32, as
        ``philox4x32_R(10, ctr, key)`` in Random123.

    Notes
    -----
    A round maps ``(c0, c1, c2, c3)`` to
    ``(hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0))`` (32-bit
    halves of the 64-bit products); the key is bumped by the Weyl constants
    ``(W0, W1)`` modulo 2**32 between rounds. Words are held in uint64 so that the
    products are exact; the arguments must be uint64 below 2**32 (the caller masks).
    In a loop over independent counters LLVM vectorises the rounds: the products of
    numbers known to be below 2**32 become ``vpmuludq``.
    """
    for r in range(_ROUNDS):
        p0 = _M0_U * c0
        p1 = _M1_U * c2
        c0, c1, c2, c3 = (
            (p1 >> _S32) ^ c1 ^ ((k0 + _u64(r) * _W0_U) & _MASK32_U),
            p1 & _MASK32_U,
            (p0 >> _S32) ^ c3 ^ ((k1 + _u64(r) * _W1_U) & _MASK32_U),
            p0 & _MASK32_U,
        )
    return c0, c1, c2, c3


_ONE_BITS = _u64(0x3FF0000000000000)
_LOW10 = _u64(0x3FF)
_U42_OFFSET = 1.0 - 2.0**-43


@njit(inline="always", cache=True, nogil=True)
def _unit42(hi: np.uint64, low10: np.uint64) -> float:
    """The 42-bit uniform ``(hi 2**10 + low10 + 0.5) 2**-42`` (``hi`` below 2**32,
    ``low10`` below 2**10), in the open interval (0, 1). The 42 bits go into the
    mantissa of 1.0 (``1 + k 2**-42``, exact) and ``1 - 2**-43`` is subtracted (exact:
    the result is a multiple of 2**-43 below 1): no integer-to-float conversion, which
    AVX2 lacks for 64-bit integers (vectorisable)."""
    return _float(np.int64((hi << _u64(20)) | (low10 << _u64(10)) | _ONE_BITS)) - _U42_OFFSET


@njit(inline="always", cache=True, nogil=True)
def _triple(k0: np.uint64, k1: np.uint64, s0: np.uint64, s1: np.uint64,
            call: np.uint64, substream: np.uint64) -> tuple[float, float, float]:
    """The three uniforms of Philox call ``call`` of ``substream`` (counter ``(s0, call,
    s1, substream)``)."""
    x0, x1, x2, x3 = philox4x32_10(s0, call, s1, substream, k0, k1)
    return (_unit42(x0, x3 & _LOW10), _unit42(x1, (x3 >> _u64(10)) & _LOW10),
            _unit42(x2, (x3 >> _u64(20)) & _LOW10))


@njit(inline="always", cache=True, nogil=True)
def _split(x: np.uint64) -> tuple[np.uint64, np.uint64]:
    """The two 32-bit words of a uint64, low first (key and sample words)."""
    return x & _MASK32_U, x >> _S32


@_kernel
def uniform_triple(seed: int, sample: int, call: int) -> tuple[float, float, float]:
    """The three uniforms of ``(seed, sample, call)``: parameters ``3 call .. 3 call + 2``.

    Parameters
    ----------
    seed : int
        Run seed (non-negative, below 2**64).
    sample : int
        Sample index (non-negative).
    call : int
        Philox call, ``param // 3`` (non-negative, below 2**32).

    Returns
    -------
    tuple of 3 float
        ``uniform(seed, sample, 3 call + q)`` for ``q = 0, 1, 2``, each in (0, 1).
    """
    k0, k1 = _split(np.uint64(seed))
    s0, s1 = _split(np.uint64(sample))
    return _triple(k0, k1, s0, s1, np.uint64(call), _u64(0))


@_kernel
def uniform(seed: int, sample: int, param: int) -> float:
    """The uniform of ``(seed, sample, param)``, in the open interval (0, 1).

    Uniform ``param % 3`` of Philox call ``param // 3`` (counter ``(sample mod 2**32,
    param // 3, sample >> 32, 0)``; see the module's counter layout). A kernel that
    needs consecutive parameters should call :func:`uniform_triple` once per three.

    Parameters
    ----------
    seed : int
        Run seed (non-negative, below 2**64).
    sample : int
        Sample index (non-negative).
    param : int
        Parameter index (non-negative, below 3 * 2**32).

    Returns
    -------
    float
        ``(k + 0.5) * 2**-42`` with ``k`` the uniform's 42 bits.
    """
    k0, k1 = _split(np.uint64(seed))
    s0, s1 = _split(np.uint64(sample))
    u = _triple(k0, k1, s0, s1, np.uint64(param // 3), _u64(0))
    return u[param % 3]


@njit(cache=True, nogil=True, parallel=True)
def uniforms(seed: int, start: int, count: int, params: np.ndarray) -> np.ndarray:
    """Uniforms of samples ``start .. start+count-1`` and the given parameters (parallel).

    Parameters
    ----------
    seed : int
        Run seed (non-negative, below 2**64).
    start : int
        First sample index (non-negative).
    count : int
        Number of samples (non-negative).
    params : numpy.ndarray, shape (p,), int64
        Parameter indices (non-negative), in any order, repeats allowed.

    Returns
    -------
    numpy.ndarray, shape (count, p), float64
        ``out[i, j] == uniform(seed, start + i, params[j])``, bit for bit, whatever the
        thread count. Consecutive parameters of the same Philox call share it.

    Raises
    ------
    ValueError
        If ``start`` or ``count`` is negative or a parameter index is negative or not
        below 3 * 2**32.
    """
    if start < 0 or count < 0:
        raise ValueError("'start' and 'count' must be non-negative")
    n_params = params.shape[0]
    for j in range(n_params):
        if params[j] < 0 or params[j] >= _MAX_PARAM:
            raise ValueError("parameter indices must be non-negative and below 3 * 2**32")
    out = np.empty((count, n_params), dtype=np.float64)
    k0, k1 = _split(np.uint64(seed))
    for i in prange(count):
        s0, s1 = _split(np.uint64(start + i))
        last = -1
        u = (0.0, 0.0, 0.0)
        for j in range(n_params):
            p = params[j]
            c = p // 3
            if c != last:
                u = _triple(k0, k1, s0, s1, np.uint64(c), _u64(0))
                last = c
            out[i, j] = u[p % 3]
    return out


@njit(inline="always", cache=True, nogil=True)
def _gamma_parts(seed: int, sample: int, param: int, shape: float) -> tuple[float, float]:
    """``(g, log_boost)`` with ``g * exp(log_boost)`` a Gamma(shape, 1) draw, shape > 0.

    ``g`` is a Marsaglia-Tsang draw of Gamma(max(shape, shape + 1 if shape < 1)) and
    ``log_boost = log(U) / shape`` for shape < 1 (else 0), kept in log form so that
    :func:`dirichlet_variate` can normalise tiny shapes without underflow.
    """
    boosted = shape < 1.0
    a = shape + 1.0 if boosted else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    k0, k1 = _split(np.uint64(seed))
    s0, s1 = _split(np.uint64(sample))
    call = np.uint64(param)
    substream = _u64(1)
    while True:
        u0, u1, u2 = _triple(k0, k1, s0, s1, call, substream)
        substream += _u64(1)
        z = math.sqrt(-2.0 * math.log(u0)) * math.cos(_TWO_PI * u1)
        t = 1.0 + c * z
        if t <= 0.0:
            continue
        v = t * t * t
        z2 = z * z
        if u2 < 1.0 - 0.0331 * z2 * z2 or math.log(u2) < 0.5 * z2 + d * (1.0 - v + math.log(v)):
            log_boost = math.log(uniform(seed, sample, param)) / shape if boosted else 0.0
            return d * v, log_boost


@_kernel
def gamma_variate(seed: int, sample: int, param: int, shape: float) -> float:
    """An exact Gamma(shape, 1) draw, a pure function of ``(seed, sample, param, shape)``.

    Marsaglia & Tsang (2000), "A simple method for generating gamma variables", ACM
    TOMS 26(3), 363-372, with its squeeze; for ``shape < 1`` the boost
    ``Gamma(shape) = Gamma(shape + 1) * U**(1/shape)``. Attempt ``a`` (0, 1, ...) reads
    call ``param`` of substream ``1 + a`` (the module's counter layout): uniforms 0-1
    a Box-Muller normal, 2 the acceptance uniform; the boost uniform is
    ``uniform(seed, sample, param)``. Multiply by a scale for Gamma(shape, scale).

    Parameters
    ----------
    seed : int
        Run seed (non-negative, below 2**64).
    sample : int
        Sample index (non-negative).
    param : int
        Parameter index (non-negative, below 2**32): the call of the attempts.
    shape : float
        Shape parameter, ``>= 0``.

    Returns
    -------
    float
        The draw, ``>= 0``; exactly 0.0 when ``shape == 0``; NaN when ``shape`` is
        negative, NaN or infinite.
    """
    if shape == 0.0:
        return 0.0
    if not (shape > 0.0 and shape < math.inf):
        return math.nan
    g, log_boost = _gamma_parts(seed, sample, param, shape)
    if log_boost == 0.0:
        return g
    return g * math.exp(log_boost)


@_kernel
def dirichlet_variate(
    seed: int, sample: int, first_param: int, alphas: np.ndarray, out: np.ndarray
) -> None:
    """Fill ``out`` with a Dirichlet(alphas) draw built from normalised gamma draws.

    Component ``i`` is ``gamma_variate(seed, sample, first_param + i, alphas[i])``
    divided by the sum over components (computed in log form, so tiny concentrations
    do not underflow to 0/0). A component with ``alphas[i] == 0`` is exactly 0.

    Parameters
    ----------
    seed : int
        Run seed (non-negative, below 2**64).
    sample : int
        Sample index (non-negative).
    first_param : int
        Parameter index of component 0; the draw uses ``first_param .. first_param+k-1``.
    alphas : numpy.ndarray, shape (k,), float64
        Concentrations, ``>= 0``, at least one positive.
    out : numpy.ndarray, shape (k,), float64
        Written in place: the shares, summing to 1. All NaN if no concentration is
        positive or one is negative, NaN or infinite.

    Raises
    ------
    ValueError
        If ``out`` and ``alphas`` differ in length.
    """
    k = alphas.shape[0]
    if out.shape[0] != k:
        raise ValueError("'out' and 'alphas' must have the same length")
    top = -math.inf
    valid = True
    for i in range(k):
        a = alphas[i]
        if a == 0.0:
            out[i] = -math.inf
        elif a > 0.0 and a < math.inf:
            g, log_boost = _gamma_parts(seed, sample, first_param + i, a)
            out[i] = math.log(g) + log_boost
            top = max(top, out[i])
        else:
            valid = False
    if not valid or top == -math.inf:
        out[:] = math.nan
        return
    total = 0.0
    for i in range(k):
        out[i] = math.exp(out[i] - top)
        total += out[i]
    for i in range(k):
        out[i] /= total


def _philox4x32_10_numpy(
    c0: np.ndarray, c1: np.ndarray, c2: np.ndarray, c3: np.ndarray, k0: int, k1: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised Philox4x32-10 on uint64 arrays of 32-bit words (the NumPy reference)."""
    for r in range(_ROUNDS):
        key0 = _u64((k0 + r * _W0) & _MASK32)
        key1 = _u64((k1 + r * _W1) & _MASK32)
        p0 = _M0_U * c0
        p1 = _M1_U * c2
        c0, c1, c2, c3 = (p1 >> _S32) ^ c1 ^ key0, p1 & _MASK32_U, (p0 >> _S32) ^ c3 ^ key1, \
            p0 & _MASK32_U
    return c0, c1, c2, c3


def uniforms_numpy(seed: int, samples: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Pure NumPy reference of :func:`uniforms` for arbitrary sample indices.

    Parameters
    ----------
    seed : int
        Run seed, ``0 <= seed < 2**64``.
    samples : array_like of int, shape (n,)
        Sample indices (non-negative).
    params : array_like of int, shape (p,)
        Parameter indices (non-negative).

    Returns
    -------
    numpy.ndarray, shape (n, p), float64
        ``out[i, j] == uniform(seed, samples[i], params[j])``, bit for bit.

    Raises
    ------
    ValueError
        If the seed, a sample index or a parameter index is out of range.
    """
    seed = _check_int("seed", seed, minimum=0)
    if seed > _MASK64:
        raise ValueError(f"'seed' must be < 2**64 (got {seed})")
    samples = _index_array("samples", samples)
    params = _index_array("params", params)
    if params.size and params.max() >= _MAX_PARAM:
        raise ValueError(f"'params' must be below 3 * 2**32 (got {params.max()})")
    calls, call_of = np.unique(params // _u64(3), return_inverse=True)
    shape = (samples.size, calls.size)
    c0 = np.broadcast_to(samples[:, None] & _MASK32_U, shape).copy()
    c2 = np.broadcast_to(samples[:, None] >> _S32, shape).copy()
    c1 = np.broadcast_to(calls[None, :], shape).copy()
    zero = np.zeros(shape, dtype=np.uint64)
    words = np.stack(_philox4x32_10_numpy(c0, c1, c2, zero, seed & _MASK32, seed >> 32),
                     axis=-1)
    q = params % _u64(3)
    col = call_of.ravel()
    k = (words[:, col, q.astype(np.intp)] << _u64(10)) | ((words[:, col, 3] >> (_u64(10) * q))
                                                          & _LOW10)
    return (k.astype(np.float64) + 0.5) * 2.0**-42


def _index_array(name: str, values: np.ndarray) -> np.ndarray:
    """Validate a 1-d array of non-negative integer indices; return it as uint64."""
    array = np.asarray(values)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(
            f"'{name}' must be a 1-d array of integers (got {array.dtype}, shape {array.shape})"
        )
    if array.size and array.min() < 0:
        raise ValueError(f"'{name}' must be non-negative (got {array.min()})")
    return array.astype(np.uint64)


def _check_int(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` as an int, or raise ValueError naming the rule broken."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"'{name}' must be an integer (got {value!r})")
    value = int(value)
    if value < minimum:
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"'{name}' must be {rule} (got {value})")
    return value


def sobol_points(n: int, d: int, *, seed: int, start: int = 0) -> np.ndarray:
    """Rows ``start .. start + n - 1`` of a scrambled Sobol sequence, strictly in (0, 1).

    The sequence is the one drawn by
    ``scipy.stats.qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed))``
    (30 bits, so at most 2**30 rows). Row ``i`` depends only on ``(seed, d, i)``, so a
    design can be extended (for example by doubling N) by asking for the next rows:
    ``sobol_points(n, d, seed=s, start=n)`` continues ``sobol_points(n, d, seed=s)``.

    Parameters
    ----------
    n : int
        Number of rows (points), positive.
    d : int
        Dimension (columns), positive, at most 21201.
    seed : int
        Non-negative seed of the scrambling.
    start : int, default 0
        Index of the first row returned, non-negative.

    Returns
    -------
    numpy.ndarray, shape (n, d), float64
        The points, clipped to ``[2**-53, 1 - 2**-53]`` so that every value lies in the
        open interval (0, 1) and can be passed to a distribution's ``ppf``.

    Raises
    ------
    ValueError
        If ``n`` or ``d`` is not a positive integer, ``seed`` or ``start`` is not a
        non-negative integer, or ``start + n`` exceeds 2**30.

    Warns
    -----
    UserWarning
        SciPy's warning that the balance properties of Sobol points need a power of
        2, when ``start == 0`` and ``n`` is not a power of 2.
    """
    n = _check_int("n", n, minimum=1)
    d = _check_int("d", d, minimum=1)
    seed = _check_int("seed", seed, minimum=0)
    start = _check_int("start", start, minimum=0)
    if start + n > 2**_SOBOL_BITS:
        raise ValueError(
            f"'start + n' must be <= 2**{_SOBOL_BITS} (got {start} + {n} = {start + n})"
        )
    engine = qmc.Sobol(d, scramble=True, bits=_SOBOL_BITS, rng=np.random.default_rng(seed))
    if start > 0:
        engine.fast_forward(start)
    points = engine.random(n)
    return np.clip(points, _U_MIN, _U_MAX)
