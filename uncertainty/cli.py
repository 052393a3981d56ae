"""Command line: argument parsing and exit codes only (``uncertainty`` / ``python -m uncertainty``).

Exit codes: 0 success, 2 invalid input (the message names file, row/key, value and
rule; no traceback), 1 an unexpected error. A subcommand imports what it runs when it
runs, so that ``--help`` and argument errors answer without loading numba.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from uncertainty import __version__
from uncertainty.budget import DEFAULT_MAX_SAMPLES, DEFAULT_MAX_SCENARIOS, parse_size
from uncertainty.errors import USER_ERRORS
from uncertainty.resources import DEFAULT_RUN_NAME, default_run

__all__ = ["main"]

#: The run file of ``uncertainty run`` without arguments (else the packaged default run).
DEFAULT_RUN = Path("runs") / DEFAULT_RUN_NAME


def _positive_int(text: str) -> int:
    try:
        v = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})")
    return v


def _seed(text: str) -> int:
    from uncertainty.config import MAX_SEED, SEED_RANGE

    try:
        v = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer with {SEED_RANGE} (got {text!r})"
                                         ) from None
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer with {SEED_RANGE} (got {text!r})")
    return v


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_budget(p: argparse.ArgumentParser, memory: bool) -> None:
    if memory:
        p.add_argument("--max-memory", type=_size,
                       help="memory the run may take (its process with one chunk), e.g. 4GB "
                       "(default: half the memory available)")
    p.add_argument("--max-scenarios", type=_positive_int, default=DEFAULT_MAX_SCENARIOS,
                   help=f"most scenarios per run file (default {DEFAULT_MAX_SCENARIOS})")
    p.add_argument("--max-samples", type=_positive_int, default=DEFAULT_MAX_SAMPLES,
                   help=f"most Monte Carlo samples per run (default {DEFAULT_MAX_SAMPLES:,})")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # exit 2 with a one-line message, as argparse does
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="uncertainty", description=(
        "Monte Carlo uncertainty and Sobol sensitivity of mine-site-specific Total Material "
        "Requirement (TMR): the hidden flows behind a product's metals. Exit status 0 on "
        "success, 2 on invalid input (one line naming file, row or key, value and rule)."))
    p.add_argument("--version", action="version", version=f"uncertainty {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="Monte Carlo, sensitivity and scenarios as the run file says")
    r.add_argument("runs", nargs="*", type=Path,
                   help="run files or folders of run files (default runs/china-2019.toml, else the packaged default run)")
    r.add_argument("--samples", type=_positive_int,
                   help="Monte Carlo samples (default: the run file's, 1,000,000 for the default)")
    r.add_argument("--seed", type=_seed, help="seed of the counter-based generator "
                   "(0 <= seed < 2**64)")
    r.add_argument("--out", type=Path, help="out folder (default runs/out/<name>/; with "
                   "--deterministic runs/out/<name>/nominal/)")
    r.add_argument("--chunk-size", type=_positive_int,
                   help="samples per stored chunk (results do not depend on it)")
    r.add_argument("--workers", type=_positive_int, help="start a local Dask cluster of N workers")
    r.add_argument("--scheduler", help="address of an existing Dask scheduler")
    r.add_argument("--deterministic", action="store_true", help="nominal values only")
    r.add_argument("--resume", action="store_true", help="finish an interrupted run")
    r.add_argument("--force", action="store_true",
                   help="re-run finished runs, replacing what the out folder holds")
    r.add_argument("--quiet", action="store_true")
    _add_budget(r, memory=True)

    s = sub.add_parser("sobol", help="Sobol sensitivity alone")
    s.add_argument("run", type=Path, help="run file")
    s.add_argument("--base-samples", type=_positive_int, help="N, a power of 2")
    s.add_argument("--by", action="append",
                   choices=["parameter", "mine", "metal-kind", "country", "systematic",
                            "provenance", "custom"],
                   help="level of the indices (repeat for several; provenance: per-site "
                   "values grouped by where they came from, for a dataset with provenance "
                   "columns; custom: the run file's [sensitivity.groups])")
    s.add_argument("--metric", action="append", help="metric to analyse (repeat for several)")
    s.add_argument("--out", type=Path, help="out folder (default runs/out/<name>/sobol/)")
    s.add_argument("--log", action="store_true", help="indices of the log of each metric")
    s.add_argument("--ci-method", choices=["normal", "percentile"])
    s.add_argument("--tol", type=float, help="double N until the widest ST half-width < TOL")
    s.add_argument("--max-n", type=_positive_int, help="largest N when doubling")
    s.add_argument("--second-order", action="store_true", help="S2 (levels with <= 200 factors)")
    s.add_argument("--delta", action="store_true", help="also SALib's moment-independent delta")
    s.add_argument("--workers", type=_positive_int, help="start a local Dask cluster of N workers")
    s.add_argument("--scheduler", help="address of an existing Dask scheduler")
    s.add_argument("--quiet", action="store_true")

    ca = sub.add_parser("calibrate", help="fit the run file's [calibration] knobs to its "
                        "targets on the nominal model (calibration.csv, "
                        "calibration_targets.csv, calibration_conflicts.csv)")
    ca.add_argument("run", type=Path, help="run file with a [calibration] section")
    ca.add_argument("--out", type=Path, help="out folder (default "
                    "runs/out/<name>/calibration/)")
    ca.add_argument("--apply", type=Path, metavar="DIR", help="also write a calibrated copy "
                    "of the dataset to DIR (a new or empty folder)")
    ca.add_argument("--quiet", action="store_true")

    pr = sub.add_parser("priorities", help="data-collection priorities: which sites to "
                        "measure next (priorities.csv), and their proof (proof.csv)")
    pr.add_argument("run", type=Path, help="run file (its [sensitivity] must be enabled and "
                    "its dataset state provenance)")
    pr.add_argument("--base-samples", type=_positive_int, help="N, a power of 2 (default: "
                    "the run file's sensitivity n_base)")
    pr.add_argument("--seed", type=_seed, help="seed of the Sobol design (default: the run "
                    "file's sensitivity seed)")
    pr.add_argument("--out", type=Path, help="out folder (default runs/out/<name>/, the "
                    "run's own: its report is rebuilt when the run has finished)")
    pr.add_argument("--proof", type=_positive_int, default=0, metavar="K",
                    help="also measure the top K sites of hidden flows in a re-run Monte "
                    "Carlo and compare observed with predicted variance reductions "
                    "(proof.csv; expensive)")
    pr.add_argument("--samples", type=_positive_int,
                    help="Monte Carlo samples per evaluation of the proof (default: the run "
                    "file's)")
    pr.add_argument("--draws", type=_positive_int, default=16,
                    help="measured values per site in the proof (a power of 2; default 16)")
    pr.add_argument("--quiet", action="store_true")

    v = sub.add_parser("validate", help="check data folders and run files")
    v.add_argument("paths", nargs="+", type=Path,
                   help="dataset folders, tables (*.csv), run files or folders of run files")
    _add_budget(v, memory=False)

    rep = sub.add_parser("report", help="rebuild figures and report from stored results")
    rep.add_argument("outdir", type=Path, help="out folder of a finished Monte Carlo run")

    from uncertainty.build import importer, template

    template.add_parser(sub)
    importer.add_parser(sub)

    b = sub.add_parser("bench", help="throughput of the kernel and the Sobol engine")
    b.add_argument("--json", action="store_true", help="one JSON object on stdout")
    b.add_argument("--samples", type=_positive_int, default=None,
                   help="samples of the kernel timing (default 200,000)")
    b.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    b.add_argument("--run", action="append", type=Path, default=[], dest="bench_runs",
                   help="also time the kernel on this run file's dataset (repeatable)")
    return p


def _print_coverage(ds: Any) -> None:
    """The coverage table of a dataset and its filled blanks, counted by column and rule."""
    import re

    from uncertainty.data import coverage_table, format_coverage

    print("coverage (share of each metal's production whose value is reported / "
          "other_year / imputed / synthetic):")
    for line in format_coverage(coverage_table(ds)):
        print(f"  {line}")
    if len(ds.fills):
        print(f"filled blanks of mines.csv ({len(ds.fills)} cells):")
        rule = ds.fills["rule"].map(lambda r: re.sub(r"(archetype|site) \S+", r"\1 <name>", r))
        for (col, r), n in ds.fills.groupby([ds.fills["column"], rule], sort=False).size().items():
            print(f"  {n:>6} x {col}: {r}")


def _validate(args: argparse.Namespace) -> int:
    from uncertainty.budget import Budget, check_caps
    from uncertainty.config import load_run
    from uncertainty.data import DataValidationError, dataset_warnings, load_dataset
    from uncertainty.resolve import model_for
    from uncertainty.space import OverrideChecker, build_space

    budget = Budget(max_scenarios=args.max_scenarios, max_samples=args.max_samples)
    todo: list[Path] = []
    for p in args.paths:  # a folder of run files (as `uncertainty run` takes) stands for its files
        runs = sorted(p.glob("*.toml")) if p.is_dir() and not (p / "mines.csv").exists() else []
        todo.extend(runs or [p])

    def warn(ds) -> None:
        for line in dataset_warnings(ds):
            print(line, file=sys.stderr)

    for p in todo:
        if p.is_dir():
            if not (p / "mines.csv").exists():
                raise DataValidationError(p, "not a dataset folder (no mines.csv) nor a folder "
                                          "of run files (*.toml)")
            ds = load_dataset(p)
            warn(ds)
            print(f"{p}: valid dataset")
            _print_coverage(ds)
        elif p.suffix == ".toml":
            run = load_run(p)
            check_caps(str(p), run.montecarlo.samples, len(run.scenarios), budget)
            ds, model = model_for(run)
            warn(ds)
            checker = OverrideChecker(build_space(run, ds, model))
            checked: set[str] = set()  # identical overrides are checked once
            for i, sc in enumerate(run.scenarios):
                key = json.dumps(sc.overrides, sort_keys=True, default=str)
                if sc.overrides and key not in checked:
                    checker.check(sc.overrides, f"{p}: scenarios[{i}] ({sc.name})")
                    checked.add(key)
            print(f"{p}: valid run file")
        elif p.suffix == ".csv":
            warn(load_dataset(p.parent))
            print(f"{p}: valid (as part of dataset {p.parent})")
        else:
            raise DataValidationError(p, "not a dataset folder, a .csv table or a .toml run file")
    return 0


def _run(args: argparse.Namespace) -> int:
    from uncertainty import pipeline
    from uncertainty.budget import Budget
    from uncertainty.config import ConfigError, load_run, with_overrides

    files: list[Path] = []
    for p in args.runs or [DEFAULT_RUN if DEFAULT_RUN.is_file() else default_run()]:
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    if not files:
        raise ConfigError(args.runs[0], "<file>", "no run files (*.toml) in folder", str(args.runs[0]))
    runs = [with_overrides(load_run(f), samples=args.samples, seed=args.seed,
                           chunk_size=args.chunk_size) for f in files]
    budget = Budget(max_memory=args.max_memory, max_scenarios=args.max_scenarios,
                    max_samples=args.max_samples)
    pipeline.run_batch(runs, out=args.out, deterministic=args.deterministic,
                       resume=args.resume, force=args.force, workers=args.workers,
                       scheduler=args.scheduler, quiet=args.quiet, budget=budget)
    return 0


def _sobol(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from uncertainty import pipeline
    from uncertainty.config import ConfigError, load_run

    run = load_run(args.run)
    se = run.sensitivity
    se = replace(se, enabled=True, n_base=args.base_samples or se.n_base,
                 by=tuple(args.by) if args.by else se.by,
                 metrics=tuple(args.metric) if args.metric else se.metrics,
                 log=args.log or se.log, ci_method=args.ci_method or se.ci_method,
                 tol=args.tol if args.tol is not None else se.tol,
                 max_n=args.max_n or se.max_n,
                 second_order=args.second_order or se.second_order,
                 delta=args.delta or se.delta)
    if se.n_base & (se.n_base - 1):
        raise ConfigError(args.run, "--base-samples", "must be a power of 2", se.n_base)
    if se.tol is not None and not 0 < se.tol <= 1:
        raise ConfigError(args.run, "--tol", "must be in (0, 1]", se.tol)
    if "custom" in se.by and not se.groups:
        raise ConfigError(args.run, "--by", "level 'custom' needs [sensitivity.groups]",
                          "custom")
    run = replace(run, sensitivity=se)
    out = args.out or pipeline.default_out_dir(run, "sobol")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            pipeline.run_sobol(run, out, quiet=args.quiet, workers=args.workers,
                               scheduler=args.scheduler)
        for w in caught:  # e.g. tol not reached: a plain line, not a warning's traceback
            print(f"warning: {w.message}", file=sys.stderr)
    except ValueError as exc:
        if isinstance(exc, USER_ERRORS):
            raise
        # tmrsobol's checks of metrics, levels, groups and sizes: bad input, not a bug
        raise ConfigError(args.run, "sensitivity", str(exc), None) from exc
    return 0


def _priorities(args: argparse.Namespace) -> int:
    from uncertainty import pipeline
    from uncertainty.config import ConfigError, load_run

    run = load_run(args.run)
    if args.proof and (args.draws < 2 or args.draws & (args.draws - 1)):
        raise ConfigError(args.run, "--draws", "must be a power of 2, at least 2", args.draws)
    out = args.out or pipeline.default_out_dir(run, "priorities")
    try:
        pipeline.run_priorities(run, out, n_base=args.base_samples, seed=args.seed,
                                proof_k=args.proof, proof_samples=args.samples,
                                proof_draws=args.draws, quiet=args.quiet)
    except ValueError as exc:
        if isinstance(exc, USER_ERRORS):
            raise
        raise ConfigError(args.run, "sensitivity", str(exc), None) from exc
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from uncertainty import pipeline
    from uncertainty.config import load_run

    run = load_run(args.run)
    out = args.out or pipeline.default_out_dir(run, "calibration")
    pipeline.run_calibration(run, out, apply=args.apply, quiet=args.quiet)
    return 0


def _report(args: argparse.Namespace) -> int:
    from uncertainty import pipeline

    pipeline.rebuild_report(args.outdir)
    print(f"wrote {args.outdir / 'report.html'}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from uncertainty import bench

    res = bench.run_bench(samples=args.samples, quick=args.quick, runs=args.bench_runs)
    if args.json:
        print(json.dumps(res, indent=2, sort_keys=True))
    else:
        print(bench.format_bench(res))
    return 0


#: errno values of a failing machine rather than a bad path (exit 1, not 2).
_ENVIRONMENT_ERRNOS = frozenset(
    getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EIO", "ENOMEM") if hasattr(errno, n))


def _os_error(exc: OSError, args: argparse.Namespace) -> tuple[str, int]:
    """One line for an operating-system error (path, reason, what to do) and the exit code:
    2 for a bad path (exists, not a folder, read-only, permission), 1 for a full disk or
    an I/O failure."""
    path = exc.filename if exc.filename is not None else "<unknown path>"
    if exc.filename2 is not None:
        path = f"{path} -> {exc.filename2}"
    reason = exc.strerror or str(exc)
    name = errno.errorcode.get(exc.errno or 0, "")
    line = f"{path}: {reason}" + (f" [{name}]" if name else "")
    if args.command == "run":
        line += "; finished chunks are kept: remove the cause and rerun with --resume"
    return line, 1 if exc.errno in _ENVIRONMENT_ERRNOS else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "run":
            return _run(args)
        if args.command == "sobol":
            return _sobol(args)
        if args.command == "report":
            return _report(args)
        if args.command == "priorities":
            return _priorities(args)
        if args.command == "calibrate":
            return _calibrate(args)
        if args.command in ("init", "import"):
            return int(args.func(args))
        return _bench(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        line, code = _os_error(exc, args)
        print(f"error: {line}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("interrupted; finished chunks are kept (rerun with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
