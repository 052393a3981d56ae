"""The files of an out folder: their names, the columns they hold and what they mean.

The pipeline writes them, :mod:`uncertainty.report.results` reads them back (checking
the columns named here), and the documentation lists them from :data:`FILES`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CALIBRATION",
    "CALIBRATION_CONFLICTS",
    "CALIBRATION_TARGETS",
    "COVERAGE",
    "FIGURES",
    "FILES",
    "MANIFEST",
    "PARAMETERS",
    "PRIORITIES",
    "PROGRESS",
    "PROOF",
    "PROVENANCE",
    "REPORT",
    "RESULT_FILES",
    "SAMPLES",
    "SCENARIOS",
    "SOBOL",
    "SOBOL_CONVERGENCE",
    "SUMMARY",
    "TABLES",
    "OutputFile",
]


@dataclass(frozen=True)
class OutputFile:
    """One file (or folder) of an out folder.

    ``columns`` are the columns every reader may rely on, in order (a file may hold
    more after them); empty for files that are not tables.
    """

    name: str
    columns: tuple[str, ...]
    meaning: str


SUMMARY = OutputFile(
    "summary.csv", ("metric", "nominal", "mean", "sd", "p2_5", "p50", "p97_5", "n"),
    "per metric: the value at nominal inputs and the Monte Carlo statistics")
SAMPLES = OutputFile(
    "samples.parquet", (),
    "a row per sample, a column per metric (a folder of Parquet parts, one per chunk)")
SOBOL = OutputFile(
    "sobol.csv", ("metric", "factor", "level", "S1", "S1_conf", "ST", "ST_conf"),
    "Sobol indices per metric, factor and level, with bootstrap half-widths")
SOBOL_CONVERGENCE = OutputFile(
    "sobol_convergence.csv", ("metric", "level", "factor", "n", "S1", "S1_conf", "ST", "ST_conf"),
    "the indices of the top factors at each base sample size N")
SCENARIOS = OutputFile(
    "scenarios.csv", ("scenario", "metric", "nominal", "mean", "p2_5", "p97_5",
                      "reduction_mean", "reduction_p2_5", "reduction_p97_5"),
    "per scenario and metric: the paired change against the baseline on common random "
    "numbers")
PARAMETERS = OutputFile(
    "parameters.csv", ("name", "level", "kind", "family", "dist", "nominal"),
    "every uncertain input with its level, tags, provenance and distribution")
COVERAGE = OutputFile(
    "coverage.csv", ("metal", "sites", "rows", "production_t"),
    "per metal: the share of production whose values are reported, other_year, imputed "
    "or synthetic")
PROVENANCE = OutputFile(
    "provenance.csv", ("value", "provenance", "hidden_flows_mt", "share"),
    "the nominal hidden flows resting on values of each provenance")
PRIORITIES = OutputFile(
    "priorities.csv", ("metric", "unit", "id", "metal", "country", "provenance",
                       "variance_reduction", "variance_reduction_conf",
                       "interval_width_reduction", "rank"),
    "data-collection priorities: per metric and site (or synthetic metal and country), the "
    "expected share of the variance removed by measuring its non-reported values (a run "
    "with sensitivity on a dataset with provenance; `uncertainty priorities`)")
PROOF = OutputFile(
    "proof.csv", ("site", "predicted", "predicted_conf", "observed", "observed_se", "n_draws"),
    "the priorities checked: predicted against observed variance reductions of the top "
    "sites when measured (`uncertainty priorities --proof K` only)")
CALIBRATION = OutputFile(
    "calibration.csv", ("knob", "value", "low", "high", "at_bound", "profile_low",
                        "profile_high"),
    "the knobs of `uncertainty calibrate`: fitted value, bounds, which bound is active, and "
    "the range over which every holding target still holds (other knobs at the fit); "
    "written under `calibration/`")
CALIBRATION_TARGETS = OutputFile(
    "calibration_targets.csv", ("target", "value", "band", "band_low", "band_high",
                                "achieved", "holds"),
    "the targets of `uncertainty calibrate`: published value, band, achieved value at the "
    "fit and whether it holds")
CALIBRATION_CONFLICTS = OutputFile(
    "calibration_conflicts.csv", ("target", "other", "target_holds_when_pushed", "cost",
                                  "active_bounds"),
    "the targets that pull against each other: for each failing target, what pushing it "
    "to hold costs each other target (in half-bands) and the knob bounds active there")
MANIFEST = OutputFile(
    "manifest.json", (),
    "seed, samples, chunk size, software versions, SHA-256 of every input, the resolved "
    "run file and timings")
PROGRESS = OutputFile(
    "progress.json", (),
    "the finished chunks and the SHA-256 of each Parquet part (resume and verification)")
REPORT = OutputFile("report.html", (), "the reviewer report (one self-contained page)")
FIGURES = OutputFile("figures", (), "the report's figures (PNG and SVG)")
TABLES = OutputFile("tables", (), "the report's tables (Markdown and LaTeX)")

#: Every file and folder of an out folder, in the order the documentation lists them.
FILES: tuple[OutputFile, ...] = (SUMMARY, SAMPLES, SOBOL, SOBOL_CONVERGENCE, SCENARIOS,
                                 PARAMETERS, COVERAGE, PROVENANCE, PRIORITIES, PROOF,
                                 CALIBRATION, CALIBRATION_TARGETS, CALIBRATION_CONFLICTS,
                                 MANIFEST,
                                 PROGRESS, REPORT, FIGURES, TABLES)

#: The files of a finished run that a fresh start removes (besides the Parquet parts).
RESULT_FILES: tuple[str, ...] = (PROGRESS.name, SUMMARY.name, SCENARIOS.name, MANIFEST.name,
                                 SOBOL.name, SOBOL_CONVERGENCE.name, PARAMETERS.name,
                                 COVERAGE.name, PROVENANCE.name, PRIORITIES.name, PROOF.name,
                                 REPORT.name)
