"""Resource budget of a Monte Carlo run, checked before anything is computed or written.

A run holds one chunk of results in memory at a time (per process: the client, or each
Dask worker) and stores every sample of every metric on disk. With ``c`` samples per
chunk, ``n`` samples, ``M`` metrics, ``S`` scenarios and ``m`` scenario metrics
(8-byte floats):

* memory = ``8 c M (1 + S + 4) + base + process``: the kernel's output for the baseline
  and every scenario, plus four chunk-sized copies while the parts are encoded (the
  scenario columns, the Arrow tables, the Parquet buffers); ``base`` is the model and
  parameter spaces, ``(1 + S_override) x 256 B x parameters``, and ``process`` the
  interpreter with its libraries and compiled kernels (``PROCESS_BYTES``).
* disk = ``8 n (M + S m)``: the Parquet parts, counted uncompressed (an upper bound:
  the stored parts of the default run are about 15% smaller).

A run is refused with one line that says what fits when its chunk needs more memory
than ``max_memory`` (default: half the memory available now), when its parts need more
than the free space of the out folder's filesystem, or when it asks for more scenarios
or samples than the caps (``--max-scenarios``, ``--max-samples``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from uncertainty.errors import UserError

__all__ = [
    "DEFAULT_MAX_SAMPLES",
    "DEFAULT_MAX_SCENARIOS",
    "Budget",
    "BudgetError",
    "Plan",
    "available_memory",
    "check_caps",
    "check_plan",
    "format_bytes",
    "free_disk",
    "parse_size",
]

#: Samples per run without ``--max-samples`` (8 B x 94 metrics x 1e8 = 75 GB of parts).
DEFAULT_MAX_SAMPLES = 100_000_000
#: Scenarios per run file without ``--max-scenarios``.
DEFAULT_MAX_SCENARIOS = 100
#: Chunk-sized copies held while a chunk's parts are encoded (columns, Arrow, buffers).
WRITE_COPIES = 4
#: Bytes of the process before any chunk: Python, NumPy, pandas, pyarrow, numba and the
#: compiled kernels, the dataset and the model.
PROCESS_BYTES = 350_000_000
#: Bytes per parameter of a parameter space (its table, distributions and kernel
#: tables; 1.24 MB measured for the default space of 5,558 parameters).
SPACE_BYTES_PER_PARAM = 256


class BudgetError(UserError):
    """A run does not fit the resource budget (CLI exit 2); the message says what fits."""


@dataclass(frozen=True)
class Budget:
    """Limits of one invocation.

    Attributes
    ----------
    max_memory : int or None
        Bytes the run's process may take; None: half of :func:`available_memory`.
    max_scenarios : int
        Scenarios a run file may have.
    max_samples : int
        Monte Carlo samples a run may ask for.
    check_disk : bool
        Compare the planned output with the free space of the out folder's filesystem.
    """

    max_memory: int | None = None
    max_scenarios: int = DEFAULT_MAX_SCENARIOS
    max_samples: int = DEFAULT_MAX_SAMPLES
    check_disk: bool = True

    def memory_limit(self) -> int:
        """The memory limit in bytes."""
        return self.max_memory if self.max_memory is not None else available_memory() // 2


@dataclass(frozen=True)
class Plan:
    """The sizes a run's budget depends on."""

    samples: int
    chunk_size: int
    n_metrics: int
    n_scenarios: int
    n_scenario_metrics: int
    n_params: int
    n_override_passes: int = 0

    @property
    def chunk(self) -> int:
        """Samples of the largest chunk."""
        return min(self.chunk_size, self.samples)

    def per_sample_memory(self) -> int:
        """Bytes of memory per sample of a chunk."""
        return 8 * self.n_metrics * (1 + self.n_scenarios + WRITE_COPIES)

    def base_memory(self) -> int:
        """Bytes of the model and parameter spaces (without ``PROCESS_BYTES``)."""
        return SPACE_BYTES_PER_PARAM * self.n_params * (1 + self.n_override_passes)

    def memory(self) -> int:
        """Bytes of memory of the run's process with one chunk (see the module docstring)."""
        return self.chunk * self.per_sample_memory() + self.base_memory() + PROCESS_BYTES

    def per_sample_disk(self) -> int:
        """Bytes of Parquet parts per sample (uncompressed upper bound)."""
        return 8 * (self.n_metrics + self.n_scenarios * self.n_scenario_metrics)

    def disk(self) -> int:
        """Bytes of all Parquet parts."""
        return self.samples * self.per_sample_disk()


def available_memory() -> int:
    """Memory available to a new process now (``MemAvailable`` on Linux), in bytes."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def free_disk(path: str | Path) -> int:
    """Free bytes of the filesystem that holds ``path`` (or its nearest existing parent)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps the number at least 1 (``1.5 GB``)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_caps(where: str, samples: int, n_scenarios: int, budget: Budget) -> None:
    """Refuse more scenarios or samples than the budget's caps.

    Raises
    ------
    BudgetError
        Naming ``where`` (the run file), the number asked for, the cap and its flag.
    """
    if n_scenarios > budget.max_scenarios:
        raise BudgetError(f"{where}: {n_scenarios:,} scenarios exceed the cap of "
                          f"{budget.max_scenarios:,} per run (--max-scenarios N raises it; "
                          "each scenario adds a metric array per chunk)")
    if samples > budget.max_samples:
        raise BudgetError(f"{where}: {samples:,} samples exceed the cap of "
                          f"{budget.max_samples:,} per run (--max-samples N raises it)")


def check_plan(where: str, plan: Plan, budget: Budget, out: str | Path,
               reusable: int = 0) -> None:
    """Refuse a run whose chunk does not fit in memory or whose parts do not fit on disk.

    ``reusable`` bytes (the parts already in the out folder, which a fresh start removes
    and a resume keeps) count as free.

    Raises
    ------
    BudgetError
        One line: what the run needs, what is available, and what fits (the largest
        chunk size for the memory; the most samples for the disk).
    """
    limit = budget.memory_limit()
    need = plan.memory()
    if need > limit:
        fits = (limit - plan.base_memory() - PROCESS_BYTES) // plan.per_sample_memory()
        hint = (f"the largest chunk size that fits is {fits:,} (--chunk-size)" if fits > 0
                else f"no chunk size fits: the process and the model alone need "
                f"{format_bytes(PROCESS_BYTES + plan.base_memory())}; raise --max-memory")
        raise BudgetError(
            f"{where}: a chunk of {plan.chunk:,} samples needs {format_bytes(need)} of memory "
            f"({plan.n_metrics} metrics x {1 + plan.n_scenarios} baseline and scenarios), "
            f"more than the {format_bytes(limit)} allowed (--max-memory; default half the "
            f"available memory); {hint}")
    if budget.check_disk:
        free = free_disk(out) + reusable
        disk = plan.disk()
        if disk > free:
            fits = free // plan.per_sample_disk()
            raise BudgetError(
                f"{where}: {plan.samples:,} samples need up to {format_bytes(disk)} of disk for "
                f"their Parquet parts, more than the {format_bytes(free)} available under {out}; "
                f"at most {fits:,} samples fit (--samples)")


def parse_size(text: str) -> int:
    """Bytes from ``'4GB'``, ``'512MB'``, ``'2GiB'`` or a plain number of bytes.

    Raises
    ------
    ValueError
        Not a positive size.
    """
    t = text.strip().replace("_", "").upper()
    units = {"KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4,
             "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "K": 1000,
             "M": 1000**2, "G": 1000**3, "T": 1000**4, "B": 1}
    unit = next((u for u in units if t.endswith(u)), "")
    num, factor = (t[: -len(unit)].strip(), units[unit]) if unit else (t, 1)
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"must be a size such as 4GB, 512MB or 2GiB (got {text!r})") from None
    if not value > 0 or value * factor > 2**62:
        raise ValueError(f"must be a positive size such as 4GB (got {text!r})")
    return int(value * factor)
