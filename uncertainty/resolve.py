"""The dataset, model and parameter space behind a run file or a dataset.

The functions of the public API accept a :class:`~uncertainty.config.RunConfig` (its
dataset, overrides, baseline switches and seeds) or a bare
:class:`~uncertainty.data.Dataset` (defaults everywhere); :func:`resolve` turns either
into one :class:`Resolved`, and :func:`model_for` checks a run file against its dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from uncertainty.config import ConfigError, RunConfig, check_seed
from uncertainty.data import Dataset, load_dataset
from uncertainty.model import Model, Scenario, build_model, undefined_metrics
from uncertainty.space import ParameterSpace, build_space

__all__ = ["Resolved", "model_for", "resolve", "resolve_seed"]


@dataclass(frozen=True)
class Resolved:
    """What a computation needs from a run file or a dataset.

    Attributes
    ----------
    run : RunConfig or None
        None when a bare dataset was given.
    dataset : Dataset
    model : Model
    space : ParameterSpace
    baseline : Scenario
        The run file's baseline switches (the data's defaults for a dataset).
    """

    run: RunConfig | None
    dataset: Dataset
    model: Model
    space: ParameterSpace
    baseline: Scenario


def model_for(run: RunConfig) -> tuple[Dataset, Model]:
    """Load the run's dataset and build its model."""
    file = run.path or "<run>"
    if not Path(run.dataset).is_dir():
        hint = f" ({run.dataset_source})" if run.dataset_source else ""
        raise ConfigError(file, "dataset", f"folder not found{hint}", str(run.dataset))
    ds = load_dataset(run.dataset)
    if run.domestic not in set(ds.tables["countries"]["iso3"]):
        raise ConfigError(file, "domestic", "must be a country code of the dataset", run.domestic)
    model = build_model(ds, allocation=run.allocation, domestic=run.domestic)
    checks = [("scenario", run.baseline)] + [
        (f"scenarios[{i}]", s.switches) for i, s in enumerate(run.scenarios)]
    for key, sw in checks:
        for metal in sw.recycled_share:
            if metal not in model.metals:
                raise ConfigError(file, f"{key}.recycled_share.{metal}",
                                  f"names a metal not in the dataset ({', '.join(model.metals)})",
                                  metal)
    undefined = undefined_metrics(ds)
    no_nev = undefined.get("nev_to_icev_hidden_ratio", "").startswith("the fleet has no NEV")
    for key, sw in checks:
        if sw.lfp_share is not None and no_nev:
            raise ConfigError(file, f"{key}.lfp_share", "the LFP switch changes batteries, and "
                              f"{undefined['nev_to_icev_hidden_ratio']}", sw.lfp_share)
        if sw.lfp_share is not None and model.lfp_index < 0:
            raise ConfigError(file, f"{key}.lfp_share",
                              "the dataset's battery mix has no LFP chemistry", sw.lfp_share)
    for m in run.sensitivity.metrics:
        if m not in model.metric_names:
            raise ConfigError(file, "sensitivity.metrics",
                              f"unknown metric; metrics are: {', '.join(model.metric_names)}", m)
        if run.sensitivity.enabled and m in undefined:
            raise ConfigError(file, "sensitivity.metrics", f"this dataset cannot define the "
                              f"metric: {undefined[m]}; remove it from the list", m)
    return ds, model


def resolve(run_or_dataset: RunConfig | Dataset) -> Resolved:
    """The dataset, model, parameter space and baseline of a run file or a dataset.

    Raises
    ------
    TypeError
        Neither a :class:`RunConfig` nor a :class:`Dataset`.
    ConfigError
        The run file does not fit its dataset (see :func:`model_for`).
    """
    if isinstance(run_or_dataset, RunConfig):
        run = run_or_dataset
        ds, model = model_for(run)
        return Resolved(run, ds, model, build_space(run, ds, model), run.baseline)
    if isinstance(run_or_dataset, Dataset):
        ds = run_or_dataset
        model = build_model(ds)
        return Resolved(None, ds, model, build_space(None, ds, model), Scenario())
    raise TypeError("run_or_dataset must be a RunConfig or a Dataset (uncertainty.load_run or "
                    f"uncertainty.load_dataset), not {type(run_or_dataset).__name__}")


def resolve_seed(where: str, seed: Any, run_seed: int | None) -> int:
    """``seed`` checked (``0 <= seed < 2**64``), or the run file's seed when it is None.

    Raises
    ------
    ConfigError
        ``seed`` is not a valid seed, or it is None and there is no run file.
    """
    if seed is None:
        if run_seed is None:
            raise ConfigError(where, "seed", "is required when the input is a Dataset "
                              "(a run file supplies its own)", None)
        return run_seed
    return check_seed(where, "seed", int(seed) if isinstance(seed, np.integer) else seed)
