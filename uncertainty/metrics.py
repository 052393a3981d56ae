"""The metric registry: every output of the model, its unit, label and formula.

A run's metrics are the nine headline metrics (:data:`HEADLINE`) followed by the
families of :data:`FAMILIES`, expanded over the dataset's metals, vehicles, NEVs and
countries (:func:`metric_names`). The compiled kernels write the headline metrics at
the indices :data:`TMR` ... :data:`ENERGY_SHARE` and the families in the order of
:data:`FAMILIES`; the NumPy reference, summaries, figures, tables, the report and the
run-file checks read names, units and labels from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FAMILIES",
    "HEADLINE",
    "HEADLINE_NAMES",
    "SCENARIO_HEADLINE",
    "SENSITIVITY_DEFAULT",
    "Family",
    "Metric",
    "describe",
    "metric_label",
    "metric_names",
    "metric_unit",
    "scenario_metric_names",
]


@dataclass(frozen=True)
class Metric:
    """One metric: its name, unit, short label and how it is computed."""

    name: str
    unit: str
    label: str
    formula: str
    headline: bool = False


@dataclass(frozen=True)
class Family:
    """Metrics named ``<prefix><item>``, one per metal, vehicle, NEV or country.

    ``over`` is ``'metal'``, ``'vehicle'``, ``'nev'`` (one per vehicle with
    ``nev = true``) or ``'country'`` (ISO3 in lower case).
    """

    prefix: str
    over: str
    unit: str
    label: str
    formula: str

    def metric(self, item: str) -> Metric:
        """The member for ``item`` (a metal, vehicle or country code)."""
        shown = item.upper() if self.over in ("vehicle", "nev", "country") else item
        return Metric(self.prefix + item, self.unit,
                      f"{self.label}, {shown.replace('_', ' ')}", self.formula)


HEADLINE: tuple[Metric, ...] = (
    Metric("tmr_mt", "Mt", "Total Material Requirement",
           "hidden flows + used extraction of every metal the fleet needs", True),
    Metric("hidden_flows_mt", "Mt", "hidden flows",
           "sum over metals of demand x hidden flow per t supplied (mines, energy)", True),
    Metric("used_extraction_mt", "Mt", "used extraction",
           "sum over metals of demand x used extraction per t supplied", True),
    Metric("material_in_cars_mt", "Mt", "material entering cars",
           "sum over vehicles of count x metal content", True),
    Metric("hidden_to_material_ratio", "-", "hidden flows / material in cars",
           "hidden_flows_mt / material_in_cars_mt", True),
    Metric("share_entering_cars", "share", "share of extraction entering cars",
           "material_in_cars_mt / tmr_mt", True),
    Metric("hidden_abroad_share", "share", "share of hidden flows abroad",
           "1 - (hidden flows of domestic mines + energy) / hidden_flows_mt", True),
    Metric("nev_to_icev_hidden_ratio", "-", "NEV / ICEV hidden flow per vehicle",
           "count-weighted hidden flow per NEV / per conventional car", True),
    Metric("energy_hidden_share", "share", "share of hidden flows from energy",
           "hidden flows of process energy / hidden_flows_mt", True),
)

# Indices of the headline metrics in a row of outputs (the kernels write them here).
TMR, HIDDEN_FLOWS, USED_EXTRACTION, MATERIAL, HIDDEN_TO_MATERIAL, SHARE_ENTERING, \
    HIDDEN_ABROAD, NEV_TO_ICEV, ENERGY_SHARE = range(len(HEADLINE))
N_HEADLINE = len(HEADLINE)

HEADLINE_NAMES: tuple[str, ...] = tuple(m.name for m in HEADLINE)

#: The families after the headline metrics, in output order.
FAMILIES: tuple[Family, ...] = (
    Family("hidden_flows_mt_", "metal", "Mt", "hidden flows",
           "demand of the metal x its hidden flow per t supplied"),
    Family("hidden_share_", "metal", "share", "share of hidden flows",
           "hidden_flows_mt_<metal> / hidden_flows_mt"),
    Family("tmr_coefficient_", "metal", "t/t", "TMR coefficient",
           "hidden flow + used extraction per t of the metal supplied (energy included)"),
    Family("hidden_per_vehicle_t_", "vehicle", "t per vehicle", "hidden flow per vehicle",
           "sum over metals of content x hidden flow per t supplied"),
    Family("battery_metals_material_share_", "nev", "share", "battery metals' share of material",
           "content of battery metals / metal content of the vehicle"),
    Family("battery_metals_hidden_share_", "nev", "share", "battery metals' share of hidden flow",
           "hidden flow of battery metals / hidden flow per vehicle"),
    Family("hidden_flows_mt_country_", "country", "Mt", "hidden flows",
           "hidden flows of the country's mines (the domestic country adds energy)"),
)

#: The ``[sensitivity] metrics`` of a run file that names none.
SENSITIVITY_DEFAULT: tuple[str, ...] = (
    "hidden_to_material_ratio", "hidden_flows_mt", "hidden_abroad_share",
    "nev_to_icev_hidden_ratio",
)

#: The headline metrics ``scenarios.csv`` reports (then per-metal hidden flows and
#: per-vehicle hidden flows, :func:`scenario_metric_names`).
SCENARIO_HEADLINE: tuple[str, ...] = HEADLINE_NAMES[:NEV_TO_ICEV + 1]

_BY_NAME = {m.name: m for m in HEADLINE}
# longest prefix first: hidden_flows_mt_country_ before hidden_flows_mt_
_PREFIXES = sorted(FAMILIES, key=lambda f: len(f.prefix), reverse=True)


def metric_names(metals: Sequence[str], vehicles: Sequence[str], nev: Sequence[bool],
                 countries: Sequence[str]) -> tuple[str, ...]:
    """Every metric of a dataset, in output order (headline, then each family)."""
    items = {"metal": list(metals), "vehicle": list(vehicles),
             "nev": [v for v, n in zip(vehicles, nev, strict=True) if n],
             "country": [c.lower() for c in countries]}
    names = list(HEADLINE_NAMES)
    for fam in FAMILIES:
        if fam.over == "nev":
            continue
        names += [fam.prefix + x for x in items[fam.over]]
        if fam.prefix == "hidden_per_vehicle_t_":
            # an NEV's two battery shares follow the per-vehicle block, NEV by NEV
            for v in items["nev"]:
                names += [f.prefix + v for f in FAMILIES if f.over == "nev"]
    return tuple(names)


def scenario_metric_names(metals: Sequence[str], vehicles: Sequence[str]) -> list[str]:
    """The metrics of ``scenarios.csv``: headline, per-metal and per-vehicle hidden flows."""
    return [*SCENARIO_HEADLINE, *(f"hidden_flows_mt_{m}" for m in metals),
            *(f"hidden_per_vehicle_t_{v}" for v in vehicles)]


def describe(name: str) -> Metric | None:
    """The registry entry of a metric name (None for a name outside the registry)."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    for fam in _PREFIXES:
        if name.startswith(fam.prefix) and len(name) > len(fam.prefix):
            return fam.metric(name[len(fam.prefix):])
    return None


def metric_unit(name: str) -> str:
    """Unit of a metric: ``Mt``, ``t per vehicle``, ``t/t``, ``share`` or ``-`` (a ratio,
or a name outside the registry)."""
    m = describe(name)
    return m.unit if m is not None else "-"


def metric_label(name: str) -> str:
    """A short human-readable label of a metric (the name itself where none is known)."""
    m = describe(name)
    return m.label if m is not None else name
