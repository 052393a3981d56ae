"""Probability distributions of the uncertain inputs.

Every distribution is a frozen dataclass with named parameters, validated on
construction (invalid values raise :class:`DistributionError`, a ``ValueError``), and
registered under a lower-case name (``make``, ``from_dict``, ``to_dict``). A univariate
distribution maps ``u`` in (0, 1) to a value through its exact inverse CDF ``ppf``
(SciPy's special functions) and describes itself to the compiled kernels through
``kernel_spec() -> (code, (p0, p1, p2, p3))``; :func:`ppf_kernel` evaluates the same
inverse inside numba code.

Brightway ``stats_arrays`` dictionaries and the ecoinvent pedigree matrix: see
:mod:`uncertainty.dists.statsarrays`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.special as sc
from numba import njit
from numpy.typing import ArrayLike
from scipy import stats

from uncertainty.dists.special import betaincinv_sym, gammaincinv_sym, ndtri_fast
from uncertainty.errors import UserError

__all__ = [
    "BETA", "BETA_PERT", "CODES", "FIXED", "GAMMA", "LOGNORMAL", "NORMAL",
    "PERT", "REGISTRY", "TRIANGULAR", "TRUNCLOGNORMAL", "TRUNCNORMAL",
    "UNIFORM", "Beta", "Dirichlet", "Distribution", "DistributionError", "Fixed", "Gamma",
    "LogNormal", "Normal", "Triangular", "TruncatedLogNormal", "TruncatedNormal", "Uniform",
    "Univariate",
    "from_dict", "make", "ppf_kernel",
]  # fmt: skip

# Kernel codes (``kernel_spec()[0]``). The beta-PERT code is BETA_PERT because ``PERT``
# names the class of the public contract.
FIXED, UNIFORM, NORMAL, LOGNORMAL, TRUNCNORMAL, TRIANGULAR, BETA_PERT, BETA, GAMMA, TRUNCLOGNORMAL = \
    range(10)

KernelSpec = tuple[int, tuple[float, float, float, float]]
"""``(code, (p0, p1, p2, p3))``: a univariate distribution as :func:`ppf_kernel` takes it."""

_TINY = 5e-324  # smallest subnormal: stands in for a zero tail mass (see TruncatedNormal)


class DistributionError(UserError):
    """Invalid distribution parameters or an invalid distribution specification."""


def _fmt(x: Any) -> str:
    """A value as shown in messages: ``0.9``, ``-1`` (not ``-1.0``), ``'abc'``."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        s = repr(float(x))
        return s[:-2] if s.endswith(".0") else s
    return repr(x)


def _real(owner: str, field: str, value: Any, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DistributionError(f"{owner}: '{field}' must be a real number (got {_fmt(value)})")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise DistributionError(f"{owner}: '{field}' must be finite (got {_fmt(value)})")
    return v


class Distribution:
    """Base of every distribution: registry name, parameters and their dictionary form."""

    name: ClassVar[str]

    def _coerce(self, *names: str, allow_inf: bool = False) -> None:
        for n in names:
            v = _real(type(self).__name__, n, getattr(self, n), allow_inf=allow_inf)
            object.__setattr__(self, n, v)

    def _require(self, ok: bool, rule: str) -> None:
        if not ok:
            raise DistributionError(f"{type(self).__name__}: {rule}")

    def params(self) -> dict[str, Any]:
        """The constructor arguments, by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """``{"dist": name, **params}``, the inverse of :func:`from_dict` (JSON-ready)."""
        return {"dist": self.name, **self.params()}


class Univariate(Distribution):
    """A univariate distribution, sampled through its inverse CDF.

    Subclasses provide ``ppf``, ``kernel_spec``, ``to_scipy`` and the read-only
    attributes ``mean``, ``sd``, ``median`` and ``support`` (``(low, high)``, infinite
    where unbounded). :meth:`moments` is the mean and standard deviation of the
    distribution itself for every class; it differs from ``(mean, sd)`` only for
    :class:`TruncatedNormal`, whose ``mean`` and ``sd`` are its constructor parameters.
    """

    def ppf(self, u: ArrayLike) -> np.ndarray:
        """Inverse CDF.

        Parameters
        ----------
        u : array_like of float, any shape
            Probabilities in (0, 1).

        Returns
        -------
        numpy.ndarray of float, the shape of ``u``
        """
        raise NotImplementedError

    def kernel_spec(self) -> KernelSpec:
        """``(code, (p0, p1, p2, p3))``, the arguments of :func:`ppf_kernel`."""
        raise NotImplementedError

    def to_scipy(self) -> Any:
        """The equal frozen ``scipy.stats`` distribution (reference for tests)."""
        raise NotImplementedError

    def moments(self) -> tuple[float, float]:
        """Mean and standard deviation of the distribution."""
        return self.mean, self.sd  # type: ignore[attr-defined]

    def _ppf_median(self) -> float:
        return float(self.ppf(0.5))


class _Bounded(Univariate):
    """A distribution on ``[low, high]``."""

    low: float
    high: float

    @property
    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def _check_bounds(self, mode: float | None = None) -> None:
        lo, hi = _fmt(self.low), _fmt(self.high)
        if mode is not None:
            self._require(
                self.low <= mode <= self.high,
                f"must have low <= mode <= high (got low={lo}, mode={_fmt(mode)}, high={hi})",
            )
        self._require(self.low < self.high, f"must have low < high (got low={lo}, high={hi})")


def _point_mass(value: float) -> Any:
    return stats.rv_discrete(values=([value], [1.0]))


@dataclass(frozen=True)
class Fixed(Univariate):
    """A constant: ``ppf(u) = value``."""

    value: float
    name: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        self._coerce("value")

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return np.full(np.shape(u), self.value)

    def kernel_spec(self) -> KernelSpec:
        return FIXED, (self.value, 0.0, 0.0, 0.0)

    def to_scipy(self) -> Any:
        return _point_mass(self.value)

    @property
    def mean(self) -> float:
        return self.value

    median = mean

    @property
    def sd(self) -> float:
        return 0.0

    @property
    def support(self) -> tuple[float, float]:
        return self.value, self.value


@dataclass(frozen=True)
class LogNormal(Univariate):
    """Lognormal given by its median (geometric mean) and geometric standard deviation.

    ``ln X ~ Normal(ln median, sigma)`` with ``sigma = ln gsd``, the LCA convention
    (about 95% of the mass in ``median / gsd**2 .. median * gsd**2``). ``gsd = 1`` is a
    point mass at the median (then ``kernel_spec`` is ``FIXED``).
    """

    median: float
    gsd: float
    name: ClassVar[str] = "lognormal"

    def __post_init__(self) -> None:
        self._coerce("median", "gsd")
        self._require(self.median > 0, f"'median' must be > 0 (got {_fmt(self.median)})")
        self._require(self.gsd >= 1, f"'gsd' must be >= 1 (got {_fmt(self.gsd)})")

    @property
    def sigma(self) -> float:
        """Log-space standard deviation, ``ln gsd``."""
        return math.log(self.gsd)

    def ppf(self, u: ArrayLike) -> np.ndarray:
        if self.gsd == 1:
            return np.full(np.shape(u), self.median)
        return np.exp(math.log(self.median) + self.sigma * sc.ndtri(np.asarray(u, float)))

    def kernel_spec(self) -> KernelSpec:
        if self.gsd == 1:
            return FIXED, (self.median, 0.0, 0.0, 0.0)
        return LOGNORMAL, (math.log(self.median), self.sigma, 0.0, 0.0)

    def to_scipy(self) -> Any:
        return (
            _point_mass(self.median)
            if self.gsd == 1
            else stats.lognorm(self.sigma, scale=self.median)
        )

    @property
    def mean(self) -> float:
        return self.median * math.exp(0.5 * self.sigma**2)

    @property
    def sd(self) -> float:
        return self.mean * math.sqrt(math.expm1(self.sigma**2))

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, math.inf) if self.gsd > 1 else (self.median, self.median)


@dataclass(frozen=True)
class Normal(Univariate):
    """Normal distribution with ``mean`` and standard deviation ``sd > 0``."""

    mean: float
    sd: float
    name: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        self._coerce("mean", "sd")
        self._require(self.sd > 0, f"'sd' must be > 0 (got {_fmt(self.sd)})")

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return sc.ndtri(np.asarray(u, float)) * self.sd + self.mean

    def kernel_spec(self) -> KernelSpec:
        return NORMAL, (self.mean, self.sd, 0.0, 0.0)

    def to_scipy(self) -> Any:
        return stats.norm(self.mean, self.sd)

    @property
    def median(self) -> float:
        return self.mean

    @property
    def support(self) -> tuple[float, float]:
        return -math.inf, math.inf


def _phi(x: float) -> float:
    return 0.0 if math.isinf(x) else math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class TruncatedNormal(_Bounded):
    """``Normal(mean, sd)`` restricted to ``[low, high]``; either bound may be infinite.

    ``mean`` and ``sd`` are the parameters of the untruncated normal; :meth:`moments`
    gives those of the truncated distribution.

    The inverse CDF, ``mean + sd * ndtri(Phi(a) + u (Phi(b) - Phi(a)))`` with the
    standardised bounds ``a``, ``b``, is evaluated without forming a small tail
    probability as ``1 - Phi``: an interval above the mean is mirrored below it, and
    the upper half of an interval around the mean works with survival probabilities.
    ``kernel_spec`` parameters ``(mean, s, P, R)``:

    - ``R >= 0`` (one side of the mean): ``x = mean + s * ndtri(P + v (R - P))`` with
      ``s = sd``, ``v = u``, ``(P, R) = (Phi(a), Phi(b))`` if ``b <= 0``; ``s = -sd``,
      ``v = 1 - u``, ``(P, R) = (Phi(-b), Phi(-a))`` if ``a >= 0``.
    - ``R < 0`` (around the mean): ``P = Phi(a)``, ``Q = -R = Phi(-b)`` (at least the
      smallest subnormal, to keep the sign), ``m = 1 - P - Q``; ``t = P + u m``;
      ``x = mean + sd * ndtri(t)`` if ``t <= 1/2``, else
      ``x = mean - sd * ndtri(Q + (1 - u) m)``.
    """

    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf
    name: ClassVar[str] = "truncnormal"

    def __post_init__(self) -> None:
        self._coerce("mean", "sd")
        self._coerce("low", "high", allow_inf=True)
        self._require(self.sd > 0, f"'sd' must be > 0 (got {_fmt(self.sd)})")
        self._check_bounds()
        self._require(
            self._tails()[2] > 0,
            f"[low, high] has no probability mass under Normal(mean={_fmt(self.mean)}, "
            f"sd={_fmt(self.sd)}) (got low={_fmt(self.low)}, high={_fmt(self.high)})",
        )

    def _ab(self) -> tuple[float, float]:
        return (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd

    def _tails(self) -> tuple[float, float, float]:
        """``(P, R, mass)`` in the layout of the class docstring."""
        a, b = self._ab()
        if b <= 0:
            p, r = float(sc.ndtr(a)), float(sc.ndtr(b))
            return p, r, r - p
        if a >= 0:
            p, r = float(sc.ndtr(-b)), float(sc.ndtr(-a))
            return p, r, r - p
        p, q = float(sc.ndtr(a)), float(sc.ndtr(-b))
        return p, -max(q, _TINY), 1.0 - p - q

    def kernel_spec(self) -> KernelSpec:
        p, r, _ = self._tails()
        return TRUNCNORMAL, (self.mean, -self.sd if self._ab()[0] >= 0 else self.sd, p, r)

    def ppf(self, u: ArrayLike) -> np.ndarray:
        u = np.asarray(u, float)
        _, (mean, s, p, r) = self.kernel_spec()
        if r >= 0:
            x = mean + s * sc.ndtri(p + (u if s > 0 else 1.0 - u) * (r - p))
        else:
            m = 1.0 - p + r
            t = p + u * m
            x = mean + s * np.where(t <= 0.5, sc.ndtri(t), -sc.ndtri(-r + (1.0 - u) * m))
        return np.clip(x, self.low, self.high)

    def to_scipy(self) -> Any:
        a, b = self._ab()
        return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)

    def moments(self) -> tuple[float, float]:
        a, b = self._ab()
        z = self._tails()[2]
        d = (_phi(a) - _phi(b)) / z
        xa = 0.0 if math.isinf(a) else a * _phi(a)
        xb = 0.0 if math.isinf(b) else b * _phi(b)
        return self.mean + self.sd * d, self.sd * math.sqrt(1.0 + (xa - xb) / z - d * d)

    median = property(Univariate._ppf_median)

    def to_dict(self) -> dict[str, Any]:
        """As for every distribution, but infinite (default) bounds are left out (JSON)."""
        return {
            k: v
            for k, v in super().to_dict().items()
            if not (k in ("low", "high") and math.isinf(v))
        }


class _ExpOf:
    """``exp(Y)`` of a frozen SciPy distribution ``Y`` (the reference of
    :class:`TruncatedLogNormal`)."""

    def __init__(self, y: Any) -> None:
        self.y = y

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return np.exp(self.y.ppf(u))

    def median(self) -> float:
        return float(np.exp(self.y.median()))

    def mean(self) -> float:
        return float(self.y.expect(np.exp, epsrel=1e-13, epsabs=0.0, limit=200))

    def std(self) -> float:
        m = self.mean()
        return math.sqrt(float(self.y.expect(lambda v: np.exp(2 * v), epsrel=1e-13,
                                             epsabs=0.0, limit=200)) - m * m)

    def support(self) -> tuple[float, float]:
        lo, hi = self.y.support()
        return float(np.exp(lo)), float(np.exp(hi))


@dataclass(frozen=True)
class TruncatedLogNormal(_Bounded):
    """``LogNormal(scale, gsd)`` restricted to ``[low, high]`` (``0 <= low < high``,
    ``high`` may be infinite): ``ln X`` is a :class:`TruncatedNormal` of mean
    ``ln scale`` and sd ``ln gsd`` on ``[ln low, ln high]``, whose kernel parameters it
    shares (code ``TRUNCLOGNORMAL``: the exponential of the TRUNCNORMAL value).
    ``scale`` and ``gsd`` are the median and GSD of the untruncated lognormal.
    """

    scale: float
    gsd: float
    low: float = 0.0
    high: float = math.inf
    name: ClassVar[str] = "trunclognormal"

    def __post_init__(self) -> None:
        self._coerce("scale", "gsd")
        self._coerce("low", "high", allow_inf=True)
        self._require(self.scale > 0, f"'scale' must be > 0 (got {_fmt(self.scale)})")
        self._require(self.gsd > 1, f"'gsd' must be > 1 (got {_fmt(self.gsd)})")
        self._require(self.low >= 0, f"'low' must be >= 0 (got {_fmt(self.low)})")
        self._check_bounds()
        self._log()  # has mass on [low, high]

    def _log(self) -> TruncatedNormal:
        lo = math.log(self.low) if self.low > 0 else -math.inf
        hi = math.log(self.high) if math.isfinite(self.high) else math.inf
        try:
            return TruncatedNormal(math.log(self.scale), math.log(self.gsd), lo, hi)
        except DistributionError as exc:
            raise DistributionError(f"{type(self).__name__}: [low, high] has no probability "
                                    f"mass (got low={_fmt(self.low)}, high={_fmt(self.high)})"
                                    ) from exc

    def kernel_spec(self) -> KernelSpec:
        return TRUNCLOGNORMAL, self._log().kernel_spec()[1]

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return np.clip(np.exp(self._log().ppf(u)), self.low, self.high)

    def to_scipy(self) -> Any:
        """``exp`` of SciPy's truncated normal of ``ln X`` (SciPy has no truncated
        lognormal): ``ppf``, ``median``, ``support`` and, by quadrature, ``mean``,
        ``std``."""
        t = self._log()
        a, b = t._ab()
        return _ExpOf(stats.truncnorm(a, b, loc=t.mean, scale=t.sd))

    def moments(self) -> tuple[float, float]:
        """Mean and sd, exact: ``E[X^k] = exp(k mu + k^2 s^2 / 2) (Phi(b - k s) -
        Phi(a - k s)) / (Phi(b) - Phi(a))`` with the standardised log bounds a, b."""
        t = self._log()
        a, b = t._ab()
        mu, s = t.mean, t.sd
        z = float(sc.ndtr(b) - sc.ndtr(a)) if b <= 0 else float(sc.ndtr(-a) - sc.ndtr(-b))

        def raw(k: int) -> float:
            lo, hi = a - k * s, b - k * s
            p = float(sc.ndtr(hi) - sc.ndtr(lo)) if hi <= 0 else float(sc.ndtr(-lo) - sc.ndtr(-hi))
            return math.exp(k * mu + 0.5 * (k * s) ** 2) * p / z

        m1 = raw(1)
        return m1, math.sqrt(max(raw(2) - m1 * m1, 0.0))

    @property
    def mean(self) -> float:
        return self.moments()[0]

    @property
    def sd(self) -> float:
        return self.moments()[1]

    median = property(Univariate._ppf_median)

    def to_dict(self) -> dict[str, Any]:
        """As for every distribution, but an infinite (default) ``high`` is left out."""
        return {k: v for k, v in super().to_dict().items()
                if not (k == "high" and math.isinf(v))}


@dataclass(frozen=True)
class Uniform(_Bounded):
    """Uniform on ``[low, high]``."""

    low: float
    high: float
    name: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        self._coerce("low", "high")
        self._check_bounds()

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return np.asarray(u, float) * (self.high - self.low) + self.low

    def kernel_spec(self) -> KernelSpec:
        return UNIFORM, (self.low, self.high - self.low, 0.0, 0.0)

    def to_scipy(self) -> Any:
        return stats.uniform(self.low, self.high - self.low)

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    median = mean

    @property
    def sd(self) -> float:
        return (self.high - self.low) / math.sqrt(12.0)


@dataclass(frozen=True)
class Triangular(_Bounded):
    """Triangular on ``[low, high]`` with peak at ``mode``.

    ``ppf(u) = low + sqrt(u (high - low) (mode - low))`` for ``u < fc``, else
    ``high - sqrt((1 - u) (high - low) (high - mode))``, ``fc = (mode - low) / (high - low)``
    (each branch measured from its own end: no cancellation near ``high``).
    """

    low: float
    mode: float
    high: float
    name: ClassVar[str] = "triangular"

    def __post_init__(self) -> None:
        self._coerce("low", "mode", "high")
        self._check_bounds(self.mode)

    @property
    def _fc(self) -> float:
        return (self.mode - self.low) / (self.high - self.low)

    def ppf(self, u: ArrayLike) -> np.ndarray:
        u = np.asarray(u, float)
        lo, mo, hi = self.low, self.mode, self.high
        left = lo + np.sqrt(u * (hi - lo) * (mo - lo))
        right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mo))
        return np.where(u < self._fc, left, right)

    def kernel_spec(self) -> KernelSpec:
        return TRIANGULAR, (self.low, self.mode, self.high, self._fc)

    def to_scipy(self) -> Any:
        return stats.triang(self._fc, loc=self.low, scale=self.high - self.low)

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    @property
    def sd(self) -> float:
        lo, mo, hi = self.low, self.mode, self.high
        return math.sqrt((lo * lo + mo * mo + hi * hi - lo * mo - lo * hi - mo * hi) / 18.0)

    median = property(Univariate._ppf_median)


class _ScaledBeta(_Bounded):
    """Shared parts of Beta and PERT: ``low + (high - low) * Beta(alpha, beta)``."""

    _code: ClassVar[int]

    def _ab(self) -> tuple[float, float]:
        raise NotImplementedError

    def ppf(self, u: ArrayLike) -> np.ndarray:
        a, b = self._ab()
        return sc.betaincinv(a, b, np.asarray(u, float)) * (self.high - self.low) + self.low

    def kernel_spec(self) -> KernelSpec:
        a, b = self._ab()
        return self._code, (a, b, self.low, self.high - self.low)

    def to_scipy(self) -> Any:
        a, b = self._ab()
        return stats.beta(a, b, loc=self.low, scale=self.high - self.low)

    @property
    def mean(self) -> float:
        a, b = self._ab()
        return self.low + (self.high - self.low) * a / (a + b)

    @property
    def sd(self) -> float:
        a, b = self._ab()
        return (self.high - self.low) * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))

    median = property(Univariate._ppf_median)


@dataclass(frozen=True)
class PERT(_ScaledBeta):
    """Classic beta-PERT (lambda = 4) on ``[low, high]`` with peak at ``mode``.

    A beta on ``[low, high]`` with ``alpha = 1 + 4 (mode - low) / (high - low)`` and
    ``beta = 1 + 4 (high - mode) / (high - low)``; mean ``(low + 4 mode + high) / 6``.
    """

    low: float
    mode: float
    high: float
    name: ClassVar[str] = "pert"
    _code: ClassVar[int] = BETA_PERT

    def __post_init__(self) -> None:
        self._coerce("low", "mode", "high")
        self._check_bounds(self.mode)

    def _ab(self) -> tuple[float, float]:
        w = self.high - self.low
        return 1.0 + 4.0 * (self.mode - self.low) / w, 1.0 + 4.0 * (self.high - self.mode) / w


@dataclass(frozen=True)
class Beta(_ScaledBeta):
    """Beta(a, b) rescaled to ``[low, high]`` (default ``[0, 1]``)."""

    a: float
    b: float
    low: float = 0.0
    high: float = 1.0
    name: ClassVar[str] = "beta"
    _code: ClassVar[int] = BETA

    def __post_init__(self) -> None:
        self._coerce("a", "b", "low", "high")
        self._require(self.a > 0, f"'a' must be > 0 (got {_fmt(self.a)})")
        self._require(self.b > 0, f"'b' must be > 0 (got {_fmt(self.b)})")
        self._check_bounds()

    def _ab(self) -> tuple[float, float]:
        return self.a, self.b

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float, low: float = 0.0, high: float = 1.0) -> Beta:
        """The beta on ``[low, high]`` with the given mean and standard deviation.

        Raises
        ------
        DistributionError
            If ``mean`` is not strictly inside ``(low, high)`` or ``sd`` is not below
            ``sqrt((mean - low) (high - mean))``, the largest sd of a beta with that mean.
        """
        where = "Beta.from_mean_sd"
        mean, sd = _real(where, "mean", mean), _real(where, "sd", sd)
        low, high = _real(where, "low", low), _real(where, "high", high)
        if not low < mean < high:
            raise DistributionError(
                f"{where}: 'mean' must be inside (low, high) = ({_fmt(low)}, {_fmt(high)}) "
                f"(got {_fmt(mean)})"
            )
        limit = math.sqrt((mean - low) * (high - mean))
        if not 0 < sd < limit:
            raise DistributionError(
                f"{where}: 'sd' must be in (0, {limit:.6g}) for a beta with mean "
                f"{_fmt(mean)} on [{_fmt(low)}, {_fmt(high)}] (got {_fmt(sd)})"
            )
        m, v = (mean - low) / (high - low), (sd / (high - low)) ** 2
        k = m * (1.0 - m) / v - 1.0
        return cls(m * k, (1.0 - m) * k, low, high)


@dataclass(frozen=True)
class Gamma(Univariate):
    """Gamma with ``shape`` k and ``scale`` theta (mean k theta)."""

    shape: float
    scale: float
    name: ClassVar[str] = "gamma"

    def __post_init__(self) -> None:
        self._coerce("shape", "scale")
        self._require(self.shape > 0, f"'shape' must be > 0 (got {_fmt(self.shape)})")
        self._require(self.scale > 0, f"'scale' must be > 0 (got {_fmt(self.scale)})")

    def ppf(self, u: ArrayLike) -> np.ndarray:
        return sc.gammaincinv(self.shape, np.asarray(u, float)) * self.scale

    def kernel_spec(self) -> KernelSpec:
        return GAMMA, (self.shape, self.scale, 0.0, 0.0)

    def to_scipy(self) -> Any:
        return stats.gamma(self.shape, scale=self.scale)

    @property
    def mean(self) -> float:
        return self.shape * self.scale

    @property
    def sd(self) -> float:
        return math.sqrt(self.shape) * self.scale

    median = property(Univariate._ppf_median)

    @property
    def support(self) -> tuple[float, float]:
        return 0.0, math.inf


@dataclass(frozen=True)
class Dirichlet(Distribution):
    """Dirichlet around point ``shares`` (summing to 1) with a ``concentration``.

    ``alpha_i = concentration * share_i``; the mean is ``shares`` and a larger
    concentration means less spread (marginal variance ``s (1 - s) / (concentration + 1)``).
    A zero share is a component that is always 0.
    """

    shares: tuple[float, ...]
    concentration: float
    name: ClassVar[str] = "dirichlet"

    def __post_init__(self) -> None:
        owner = "Dirichlet"
        if isinstance(self.shares, str | bytes | Mapping) or not isinstance(
            self.shares, Sequence | np.ndarray
        ):
            raise DistributionError(
                f"{owner}: 'shares' must be a sequence of numbers (got {_fmt(self.shares)})"
            )
        shares = tuple(_real(owner, f"shares[{i}]", s) for i, s in enumerate(self.shares))
        object.__setattr__(self, "shares", shares)
        self._coerce("concentration")
        self._require(len(shares) > 0, "'shares' must not be empty")
        for i, s in enumerate(shares):
            self._require(s >= 0, f"'shares' must be >= 0 (got {_fmt(s)} at index {i})")
        total = math.fsum(shares)
        self._require(abs(total - 1.0) <= 1e-9, f"'shares' must sum to 1 (got {total:.12g})")
        self._require(
            self.concentration > 0, f"'concentration' must be > 0 (got {_fmt(self.concentration)})"
        )

    @property
    def dim(self) -> int:
        """Number of components ``k``."""
        return len(self.shares)

    @property
    def alphas(self) -> np.ndarray:
        """``concentration * shares``, shape (k,)."""
        return self.concentration * np.asarray(self.shares)

    @property
    def mean(self) -> np.ndarray:
        """The shares, shape (k,)."""
        return np.asarray(self.shares)

    @property
    def sd(self) -> np.ndarray:
        """Marginal standard deviations, shape (k,)."""
        s = self.mean
        return np.sqrt(s * (1.0 - s) / (self.concentration + 1.0))

    def ppf(self, u: ArrayLike) -> np.ndarray:
        """Map uniforms to points of the simplex.

        Component ``i`` is the Gamma(alpha_i, 1) quantile of ``u[..., i]``; the row is
        then divided by its sum (independent gammas normalised are Dirichlet).

        Parameters
        ----------
        u : array_like of float, shape (..., k)
            Probabilities in (0, 1).

        Returns
        -------
        numpy.ndarray of float, shape (..., k)
            Rows summing to 1; zero-share components are 0.
        """
        u = np.asarray(u, float)
        if u.ndim == 0 or u.shape[-1] != self.dim:
            raise DistributionError(
                f"Dirichlet.ppf: 'u' must have shape (..., {self.dim}) (got {u.shape})"
            )
        alphas = self.alphas
        g = np.zeros_like(u)
        pos = alphas > 0
        g[..., pos] = sc.gammaincinv(alphas[pos], u[..., pos])
        return g / g.sum(axis=-1, keepdims=True)

    def to_scipy(self) -> Any:
        """``scipy.stats.dirichlet`` (only when every share is positive)."""
        self._require(min(self.shares) > 0, "scipy's dirichlet needs every share > 0")
        return stats.dirichlet(self.alphas)

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.name, "shares": list(self.shares), "concentration": self.concentration}


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------

REGISTRY: dict[str, type[Distribution]] = {
    cls.name: cls
    for cls in (LogNormal, Normal, TruncatedNormal, TruncatedLogNormal, Uniform, Triangular, PERT,
                Beta, Gamma, Fixed, Dirichlet)
}  # fmt: skip
"""Registered distributions by name (the ``dist`` value of :func:`from_dict`)."""

CODES: dict[str, int] = {
    "fixed": FIXED, "uniform": UNIFORM, "normal": NORMAL, "lognormal": LOGNORMAL,
    "truncnormal": TRUNCNORMAL, "triangular": TRIANGULAR, "pert": BETA_PERT, "beta": BETA,
    "gamma": GAMMA, "trunclognormal": TRUNCLOGNORMAL,
}  # fmt: skip
"""Kernel code of each univariate registry name."""


def make(name: str, /, **params: Any) -> Distribution:
    """Build the distribution registered as ``name`` from keyword parameters.

    Raises
    ------
    DistributionError
        Unknown name (the message lists the valid ones), unknown or missing parameters,
        or invalid values.
    """
    cls = REGISTRY.get(name.strip().lower()) if isinstance(name, str) else None
    if cls is None:
        raise DistributionError(
            f"unknown distribution {name!r}; valid names: {', '.join(sorted(REGISTRY))}"
        )
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    valid = [f.name for f in fields]
    unknown = [k for k in params if k not in valid]
    missing = [
        f.name
        for f in fields
        if f.name not in params
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    for problem, names in (("unknown", unknown), ("missing", missing)):
        if names:
            s = "s" if len(names) > 1 else ""
            raise DistributionError(
                f"{cls.__name__}: {problem} parameter{s} {', '.join(map(repr, names))} "
                f"(parameters: {', '.join(valid)})"
            )
    return cls(**params)


def from_dict(mapping: Mapping[str, Any]) -> Distribution:
    """Build a distribution from ``{"dist": name, **params}`` (inverse of ``to_dict``).

    Example: ``from_dict({"dist": "lognormal", "median": 0.006, "gsd": 1.2})``.
    """
    if not isinstance(mapping, Mapping):
        raise DistributionError(f"a distribution must be a mapping (got {_fmt(mapping)})")
    if "dist" not in mapping:
        raise DistributionError(
            "a distribution mapping needs a 'dist' key naming the distribution "
            f"(got keys: {', '.join(map(str, mapping)) or 'none'})"
        )
    params = {k: v for k, v in mapping.items() if k != "dist"}
    return make(mapping["dist"], **params)


# --------------------------------------------------------------------------------------
# Kernel inverse CDF
# --------------------------------------------------------------------------------------


@njit(cache=False, nogil=True, error_model="numpy", inline="always")
def _truncnorm_ppf(p0, p1, p2, p3, u):
    """The TRUNCNORMAL inverse CDF of :func:`ppf_kernel` (layout: :class:`TruncatedNormal`)."""
    if p3 >= 0.0:
        v = u if p1 > 0.0 else 1.0 - u
        return p0 + p1 * ndtri_fast(p2 + v * (p3 - p2))
    m = 1.0 - p2 + p3
    t = p2 + u * m
    return p0 + p1 * (ndtri_fast(t) if t <= 0.5 else -ndtri_fast(-p3 + (1.0 - u) * m))


@njit(cache=False, nogil=True, error_model="numpy")
def ppf_kernel(code, p0, p1, p2, p3, u):
    """Inverse CDF inside numba code: the value of ``dist.ppf(u)`` for
    ``code, (p0, p1, p2, p3) = dist.kernel_spec()`` (to about 1e-15 relative).

    Normal-based codes use the inlinable :func:`uncertainty.dists.special.ndtri_fast`; the
    beta and gamma codes call SciPy's ``betaincinv`` / ``gammaincinv``. Parameter
    layout by code: FIXED (value); UNIFORM (low, width); NORMAL (mean, sd); LOGNORMAL
    (ln median, sigma); TRUNCNORMAL (mean, s, P, R), see :class:`TruncatedNormal`;
    TRUNCLOGNORMAL (those of TRUNCNORMAL, of ``ln x``);
    TRIANGULAR (low, mode, high, fc); BETA_PERT and BETA (alpha, beta, low, width);
    GAMMA (shape, scale). Unused slots are 0. An unknown code gives NaN.

    Parameters
    ----------
    code : int
    p0, p1, p2, p3 : float
    u : float
        Probability in (0, 1).

    Returns
    -------
    float
    """
    if code == NORMAL:
        return ndtri_fast(u) * p1 + p0
    if code == LOGNORMAL:
        return np.exp(p0 + p1 * ndtri_fast(u))
    if code == FIXED:
        return p0
    if code == UNIFORM:
        return u * p1 + p0
    if code == TRUNCNORMAL:
        return _truncnorm_ppf(p0, p1, p2, p3, u)
    if code == TRUNCLOGNORMAL:
        return np.exp(_truncnorm_ppf(p0, p1, p2, p3, u))
    if code == TRIANGULAR:
        if u < p3:
            return p0 + np.sqrt(u * (p2 - p0) * (p1 - p0))
        return p2 - np.sqrt((1.0 - u) * (p2 - p0) * (p2 - p1))
    if code == BETA or code == BETA_PERT:
        return betaincinv_sym(p0, p1, u) * p3 + p2
    if code == GAMMA:
        return gammaincinv_sym(p0, u) * p1
    return np.nan

