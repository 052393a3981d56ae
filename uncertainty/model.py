"""The TMR model: a plain NumPy reference and a numba kernel of the same equations.

The equations (docs/science.md), for mine ``m`` of metal ``k`` in country ``c``,
all masses in tonnes per tonne of refined metal:

.. math::

    g'_m &= \\min(g_m b^g_k, 1), \\quad r'_m = \\min(r_m b^r_k, 1), \\quad s'_m = s_m b^s_k \\\\
    \\text{ore}_m &= 1 / (g'_m r'_m) \\\\
    \\text{waste}_m &= s'_m \\, \\text{ore}_m \\\\
    \\text{tail}_m &= \\max(\\text{ore}_m - \\text{conc}_m, 0), \\quad
        \\text{conc}_m = 1/\\text{conc\\_grade}_m \\text{ (1 for whole-ore routes)} \\\\
    \\text{hf}_m &= \\sigma_m a_m (\\text{waste}_m + \\text{tail}_m) / \\rho_m, \\quad
    \\text{used}_m = a_m \\text{conc}_m / \\rho_m

with :math:`b` the systematic factors of metal k, :math:`a_m` the allocation share,
:math:`\\rho_m` the smelting/refining recovery and :math:`\\sigma_m` 1 for solid ore,
0 for brine (spent brine is not a hidden flow). China's supply mix weights the mines:

.. math::

    h_k^{\\text{mine}} = \\sum_c s_{kc} \\sum_{m \\in (k, c)} \\frac{p_m}{P_{kc}} \\text{hf}_m,

:math:`s_{kc}` the share of China's supply of k from c, :math:`p_m` the mine's production
and :math:`P_{kc}` the production of all mines of k in c. Process energy adds
:math:`E_k f_{\\text{grid}} \\phi / 1000` (t HF per t; :math:`\\phi` the clean-energy
factor) and :math:`E_k f_{\\text{coal}} \\phi / 1000` of used extraction, both counted in
China (where the metal is smelted and refined). Recycling a share :math:`\\kappa_k` of
metal k with secondary TMR fraction :math:`\\epsilon_k` scales both by
:math:`1 - \\kappa_k + \\kappa_k \\epsilon_k`. Per vehicle type v, metal entering
manufacturing (t) is

.. math::

    D_{vk} = (c_{vk} + \\text{kWh}_v \\, \\pi \\sum_h x_h I_{hk}) / (1000 \\, y_k),

:math:`c` the content (kg), :math:`\\pi` the pack factor, :math:`x` the chemistry mix,
:math:`I` the cathode intensity (kg/kWh), :math:`y_k` the fabrication yield; hidden flow
per vehicle :math:`H_v = \\sum_k D_{vk} h_k`, and fleet totals weight by the counts
:math:`N_v`. "Material in cars" is :math:`\\sum_v N_v \\sum_k D_{vk}`: the metal entering
car manufacturing, scrap included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numba as nb
import numpy as np
import pandas as pd

from uncertainty import _cache  # noqa: F401  (before any kernel: package-stamped numba cache)
from uncertainty.data import (
    GRADE_BASIS_FACTORS,
    MAIN_PRODUCT_RULE,
    MINE_VALUES,
    PROVENANCES,
    REVENUE_RULE,
    Dataset,
    DataValidationError,
)
from uncertainty.metrics import (
    ENERGY_SHARE,
    HIDDEN_ABROAD,
    HIDDEN_FLOWS,
    HIDDEN_TO_MATERIAL,
    MATERIAL,
    N_HEADLINE,
    NEV_TO_ICEV,
    SHARE_ENTERING,
    TMR,
    USED_EXTRACTION,
    metric_names,
)

__all__ = [
    "ALLOCATIONS",
    "BATTERY_METALS",
    "Chain",
    "MineArrays",
    "Model",
    "Scenario",
    "Switches",
    "build_model",
    "evaluate",
    "evaluate_reference",
    "mine_flows",
    "price_modes",
    "provenance_shares",
    "row_hidden_flows",
    "site_alloc",
    "site_allocation",
    "site_arrays",
    "site_terms",
    "undefined_metrics",
]

ALLOCATIONS = ("economic", "mass", "main-product")


class MineArrays(NamedTuple):
    """The per-row arrays of the mine table that every kernel reads (``Model.mine_arrays``)."""

    metal: np.ndarray  # (M,) metal index
    group: np.ndarray  # (M,) (metal, country) group index
    weight: np.ndarray  # (M,) t of metal per t of the group's production
    conc: np.ndarray  # (M,) concentrate grade (1: whole ore)
    alloc_rr: np.ndarray  # (M,) allocation share / refining recovery
    solid: np.ndarray  # (M,) 1 for solid ore, 0 for brine
    site: np.ndarray  # (M,) multi-row site index, -1 for a single-row site
    site_start: np.ndarray  # (n_sites,) first row of each multi-row site
    site_stop: np.ndarray  # (n_sites,) one past its last row
    site_mode: np.ndarray  # (n_sites,) shares: 0 fixed, 1 economic or 2 main product by price
    prod: np.ndarray  # (M,) production, t of metal per year (revenue weights)
    rr: np.ndarray  # (M,) refining recovery
    n_groups: int
    price_off: int  # offset of the price block in the global vector


class Chain(NamedTuple):
    """What turns the supply-weighted mine terms into metrics: the global-vector layout,
    the supply chain and the fleet (``Model.chain``; read by :func:`finish`)."""

    off: np.ndarray  # (len(GLOBAL_BLOCKS),) offset of each block in the global vector
    n_metals: int
    n_vehicles: int
    n_chems: int
    n_countries: int
    group_metal: np.ndarray
    group_country: np.ndarray
    fab_yield: np.ndarray
    secondary: np.ndarray
    nev: np.ndarray
    intensity: np.ndarray  # (n_chems, K) cathode metal, kg per kWh
    battery_metal: np.ndarray
    domestic: int
    lfp_index: int  # -1: no LFP chemistry


class Switches(NamedTuple):
    """Switch sets as kernel inputs, one row per set (``Model.switches``): the kernels
    evaluate set ``sc`` with row ``sc`` of each field. Every field is a 2-D float array
    (a tuple of one array type enters numba's parallel loops as it is), so a new lever
    is a new field here, read by :func:`prepare`, and no kernel changes."""

    recycled: np.ndarray  # (S, K) recycled share per metal
    clean: np.ndarray  # (S, 1) factor on hidden flow per kWh
    lfp: np.ndarray  # (S, 1) target LFP share, -1 for the data's mix
BATTERY_METALS = ("lithium", "cobalt", "nickel")


@dataclass(frozen=True)
class Scenario:
    """Scenario switches (not uncertain): the study's three mitigation levers.

    Parameters
    ----------
    recycled_share : mapping metal -> share in [0, 1]
        Share of the metal's demand met by secondary metal.
    lfp_share : float or None
        Target LFP share of the battery chemistry mix (the other chemistries are
        scaled down proportionally); None keeps the data's mix.
    clean_energy_factor : float
        Multiplier on the hidden flow (and coal) per kWh of smelting and refining energy.
    """

    recycled_share: dict[str, float] = field(default_factory=dict)
    lfp_share: float | None = None
    clean_energy_factor: float = 1.0


@dataclass(frozen=True)
class Model:
    """Flat arrays of a dataset, ready for the kernels, and the names of everything.

    Per-mine inputs are ``grade`` (metal mass fraction), ``stripping`` and ``recovery``,
    each shaped (n_samples, n_mines); every other uncertain input sits in one global
    vector per sample, laid out by :attr:`global_names`.
    """

    metals: tuple[str, ...]
    countries: tuple[str, ...]
    vehicles: tuple[str, ...]
    chemistries: tuple[str, ...]
    mine_ids: tuple[str, ...]
    domestic: str
    # per mine
    mine_metal: np.ndarray
    mine_group: np.ndarray
    mine_weight: np.ndarray
    mine_conc: np.ndarray
    mine_alloc_rr: np.ndarray
    mine_solid: np.ndarray
    # co-product sites (rows of a site are contiguous, its lead first)
    mine_lead: np.ndarray  # row whose stripping ratio (and metal's sys_stripping) it takes
    mine_site: np.ndarray  # index of its multi-row site, -1 for a single-row site
    site_start: np.ndarray  # (n_sites,) first row of each multi-row site
    site_stop: np.ndarray  # (n_sites,) one past its last row
    # per-sample allocation of co-product sites from uncertain prices (site_alloc)
    site_mode: np.ndarray  # (n_sites,) 0 fixed shares, 1 economic, 2 main product
    mine_prod: np.ndarray  # (M,) production, t per year
    mine_rr: np.ndarray  # (M,) refining recovery
    nominal_grade: np.ndarray
    nominal_stripping: np.ndarray
    nominal_recovery: np.ndarray
    # per (metal, country) group
    group_metal: np.ndarray
    group_country: np.ndarray
    # per metal / vehicle / chemistry
    fab_yield: np.ndarray
    secondary_fraction: np.ndarray
    nev: np.ndarray
    intensity: np.ndarray  # (n_chem, n_metals) kg per kWh
    battery_metal: np.ndarray  # (n_metals,) 1.0 for Li, Co, Ni
    lfp_index: int
    # global vector layout
    global_names: tuple[str, ...]
    nominal_globals: np.ndarray
    offsets: dict[str, int]
    metric_names: tuple[str, ...]

    @property
    def n_mines(self) -> int:
        return len(self.mine_ids)

    @property
    def n_groups(self) -> int:
        return len(self.group_metal)

    @property
    def n_sites(self) -> int:
        """Number of multi-row (co-product) sites."""
        return len(self.site_start)

    def mine_arrays(self) -> MineArrays:
        """The per-row arrays the kernels read."""
        return MineArrays(self.mine_metal, self.mine_group, self.mine_weight, self.mine_conc,
                          self.mine_alloc_rr, self.mine_solid, self.mine_site,
                          self.site_start, self.site_stop, self.site_mode, self.mine_prod,
                          self.mine_rr, self.n_groups, self.offsets["price"])

    def chain(self) -> Chain:
        """The supply-chain and fleet arrays :func:`finish` reads."""
        off = np.array([self.offsets[b] for b in GLOBAL_BLOCKS], dtype=np.int64)
        return Chain(off, len(self.metals), len(self.vehicles), len(self.chemistries),
                     len(self.countries), self.group_metal, self.group_country, self.fab_yield,
                     self.secondary_fraction, self.nev, self.intensity, self.battery_metal,
                     self.countries.index(self.domestic), self.lfp_index)

    def switches(self, scenarios: Sequence[Scenario]) -> Switches:
        """Switch sets as kernel inputs (a row per scenario)."""
        arrs = [self.scenario_arrays(s) for s in scenarios]
        return Switches(np.array([a[0] for a in arrs], dtype=float).reshape(len(arrs), -1),
                        np.array([[a[1]] for a in arrs], dtype=float),
                        np.array([[a[2]] for a in arrs], dtype=float))

    def scenario_arrays(self, scenario: Scenario) -> tuple[np.ndarray, float, float]:
        """Return (recycled share per metal, clean-energy factor, LFP target or -1)."""
        rec = np.zeros(len(self.metals))
        for metal, share in scenario.recycled_share.items():
            if metal not in self.metals:
                raise ValueError(f"scenario recycles unknown metal '{metal}'")
            rec[self.metals.index(metal)] = share
        lfp = -1.0 if scenario.lfp_share is None else float(scenario.lfp_share)
        if lfp >= 0 and self.lfp_index < 0:
            raise ValueError("scenario sets lfp_share but the dataset has no LFP chemistry")
        return rec, float(scenario.clean_energy_factor), lfp


def undefined_metrics(ds: Dataset) -> dict[str, str]:
    """Metrics the dataset's fleet cannot define (metric -> reason), stored as NaN.

    ``nev_to_icev_hidden_ratio`` needs a produced NEV and a produced conventional car;
    ``hidden_per_vehicle_t_<v>`` and an NEV's battery shares need ``v`` produced (a
    count above 0 in ``fleet.csv``).
    """
    fleet = ds.tables["fleet"]
    made = fleet["count"].to_numpy(dtype=float) > 0
    nev = fleet["nev"].to_numpy(dtype=bool)
    out: dict[str, str] = {}
    if not (made & nev).any():
        out["nev_to_icev_hidden_ratio"] = "the fleet has no NEV (fleet.csv: no produced " \
            "vehicle with nev = true)"
    elif not (made & ~nev).any():
        out["nev_to_icev_hidden_ratio"] = "the fleet has no conventional car (fleet.csv: " \
            "no produced vehicle with nev = false)"
    for v, m, is_nev in zip(fleet["vehicle"], made, nev, strict=True):
        if not m:
            why = f"fleet.csv gives vehicle '{v}' a count of 0"
            out[f"hidden_per_vehicle_t_{v}"] = why
            if is_nev:
                out[f"battery_metals_material_share_{v}"] = why
                out[f"battery_metals_hidden_share_{v}"] = why
    return out


def allocation_shares(ds: Dataset, allocation: str) -> np.ndarray:
    """Allocation share of each mine row under the chosen method.

    Raises
    ------
    DataValidationError
        ``economic`` or ``main-product`` for a multi-row site with a metal that has no
        ``price_usd_per_t`` in metals.csv (its shares could not be computed).
    """
    mines = ds.mines
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {', '.join(ALLOCATIONS)} "
                         f"(got {allocation!r})")
    col = {"economic": "alloc_economic", "mass": "alloc_mass",
           "main-product": "main_product"}[allocation]
    vals = mines[col]
    missing = vals.isna().to_numpy() if col != "main_product" else \
        np.array([v is None or v != v for v in vals])
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        site = mines["site_id"].iloc[i]
        members = mines[mines["site_id"] == site]
        metals_tab = ds.tables["metals"].set_index("metal")
        price = metals_tab.get("price_usd_per_t")
        lacking = [m for m in members["metal"]
                   if price is None or not float(price.get(m, np.nan)) > 0]
        first = lacking[0] if lacking else "?"
        names, metal_lines = list(ds.tables["metals"]["metal"]), ds.lines.get("metals", [])
        line = metal_lines[names.index(first)] if first in names and \
            len(metal_lines) == len(names) else None
        raise DataValidationError(
            ds.path / "metals.csv", f"{allocation} allocation needs a price for every metal "
            f"of co-product site '{site}' (mines.csv rows {', '.join(members['mine_id'])}); "
            f"give price_usd_per_t for {', '.join(lacking)}, explicit {col} cells, or "
            "another allocation" + ("" if first in names else
                                    f" ({first} is absent from metals.csv)"),
            row=line, row_id=f"metal={first}", column="price_usd_per_t", value="")
    if col == "main_product":
        return np.array([bool(v) for v in vals], dtype=float)
    return vals.to_numpy(float)


def site_arrays(mines) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``mine_lead``, ``mine_site``, ``site_start``, ``site_stop`` of a completed mine
    table (a site's rows contiguous, its lead first: :func:`uncertainty.data.complete_mines`)."""
    sid = mines["site_id"].to_numpy(str) if "site_id" in mines else mines["mine_id"].to_numpy(str)
    n = len(sid)
    lead = np.arange(n, dtype=np.int64)
    site = np.full(n, -1, dtype=np.int64)
    starts: list[int] = []
    stops: list[int] = []
    a = 0
    while a < n:
        b = a + 1
        while b < n and sid[b] == sid[a]:
            b += 1
        if b - a > 1:
            lead[a:b] = a
            site[a:b] = len(starts)
            starts.append(a)
            stops.append(b)
        a = b
    return lead, site, np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64)


def price_modes(ds: Dataset, site_start: np.ndarray, site_stop: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Each metal's nominal price (0 where none) and each site's allocation mode per rule.

    A multi-row site follows its prices sample by sample under a rule whose cells were
    computed from prices (``Dataset.fills``: :data:`~uncertainty.data.REVENUE_RULE`,
    :data:`~uncertainty.data.MAIN_PRODUCT_RULE`) when one of its metals has an uncertain
    price (``metals.csv`` ``price_gsd`` above 1). Explicit allocation cells, mass
    allocation and sites of fixed prices keep their shares.

    Returns
    -------
    price : ndarray, shape (n_metals,)
        USD per t, in ``ds.metals`` order.
    modes : ndarray of int64, shape (len(ALLOCATIONS), n_sites)
        0 fixed shares, 1 economic shares from the sample's prices, 2 main product the
        row of the sample's highest revenue.
    """
    met = ds.tables["metals"].set_index("metal").loc[ds.metals]
    price = (met["price_usd_per_t"].to_numpy(float) if "price_usd_per_t" in met
             else np.full(len(met), np.nan))
    gsd = met["price_gsd"].to_numpy(float) if "price_gsd" in met else np.full(len(met), np.nan)
    uncertain = dict(zip(ds.metals, (gsd > 1) & (price > 0), strict=True))
    modes = np.zeros((len(ALLOCATIONS), len(site_start)), dtype=np.int64)
    fills = ds.fills
    if len(site_start) and len(fills):
        rule = fills["rule"].astype(str)
        by_price = {
            "alloc_economic": set(fills["mine_id"][(fills["column"] == "alloc_economic")
                                                   & rule.str.startswith(REVENUE_RULE)]),
            "main_product": set(fills["mine_id"][(fills["column"] == "main_product")
                                                 & rule.str.startswith(MAIN_PRODUCT_RULE)]),
        }
        ids = ds.mines["mine_id"].to_numpy(str)
        metal = ds.mines["metal"].to_numpy(str)
        for q, (a, b) in enumerate(zip(site_start, site_stop, strict=True)):
            if not any(uncertain[m] for m in metal[a:b]):
                continue
            for r, col, code in ((0, "alloc_economic", 1), (2, "main_product", 2)):
                if all(i in by_price[col] for i in ids[a:b]):
                    modes[r, q] = code
    return np.where(np.isfinite(price), price, 0.0), modes


def build_model(ds: Dataset, *, allocation: str = "economic", domestic: str = "CHN") -> Model:
    """Flatten a validated dataset into the arrays the kernels use.

    Parameters
    ----------
    ds : Dataset
    allocation : {'economic', 'mass', 'main-product'}
        How a multi-product mine's hidden flow is shared among its products.
    domestic : str
        ISO3 code of the country whose supply chain is studied (hidden flows elsewhere
        are "abroad"; process energy is counted here).
    """
    metals = tuple(ds.metals)
    kidx = {m: i for i, m in enumerate(metals)}
    mines = ds.mines
    supply = ds.tables["supply"]
    countries = tuple(sorted(set(mines["country"]) | set(supply["country"]) | {domestic}))
    cidx = {c: i for i, c in enumerate(countries)}

    # groups: (metal, country) pairs of the supply table, by metal (file order within)
    supply = supply.iloc[np.argsort([kidx[m] for m in supply["metal"]], kind="stable")]
    groups = list(zip(supply["metal"], supply["country"], strict=True))
    gidx = {g: i for i, g in enumerate(groups)}
    mine_metal = np.array([kidx[m] for m in mines["metal"]], dtype=np.int64)
    mine_group = np.array(
        [gidx.get((m, c), -1) for m, c in zip(mines["metal"], mines["country"], strict=True)],
        dtype=np.int64,
    )
    prod = mines["production_t"].to_numpy(float)
    group_prod = np.zeros(len(groups))
    np.add.at(group_prod, mine_group[mine_group >= 0], prod[mine_group >= 0])
    weight = np.where(mine_group >= 0, prod / np.where(mine_group >= 0, group_prod[mine_group], 1.0), 0.0)
    mine_group = np.where(mine_group >= 0, mine_group, 0)  # weight 0 rows: any group

    factor = np.array([GRADE_BASIS_FACTORS[u] for u in mines["grade_unit"]])
    conc_grade = mines["conc_grade"].to_numpy(float)
    conc = np.where(np.isnan(conc_grade), 1.0, 1.0 / np.where(np.isnan(conc_grade), 1.0, conc_grade))
    alloc = allocation_shares(ds, allocation)
    lead, site, site_start, site_stop = site_arrays(mines)
    rr = mines["refining_recovery"].to_numpy(float)
    alloc_rr = alloc / rr
    solid = (mines["mining_method"].to_numpy(str) != "brine").astype(float)

    met = ds.tables["metals"].set_index("metal").loc[list(metals)]
    price, priced = price_modes(ds, site_start, site_stop)
    site_mode = priced[ALLOCATIONS.index(allocation)]
    fleet = ds.tables["fleet"]
    vehicles = tuple(fleet["vehicle"])
    nev = fleet["nev"].to_numpy(bool)
    chem_tab = ds.tables["battery_mix"]
    chems = tuple(chem_tab["chemistry"])
    intensity = np.zeros((len(chems), len(metals)))
    for ch, m, x in ds.tables["chemistries"][["chemistry", "metal", "kg_per_kwh"]].itertuples(index=False):
        if ch in chems:
            intensity[chems.index(ch), kidx[m]] = x
    lfp_index = chems.index("LFP") if "LFP" in chems else -1

    # ---- the global vector
    names: list[str] = []
    values: list[float] = []
    offsets: dict[str, int] = {}

    def block(key: str, labels: Sequence[str], vals: Sequence[float] | np.ndarray) -> None:
        offsets[key] = len(names)
        names.extend(f"{key}[{lab}]" if lab else key for lab in labels)
        values.extend(float(v) for v in vals)

    block("sys_grade", metals, np.ones(len(metals)))
    block("sys_stripping", metals, np.ones(len(metals)))
    block("sys_recovery", metals, np.ones(len(metals)))
    block("supply", [f"{m},{c}" for m, c in groups], supply["share"].to_numpy(float))
    block("energy_kwh_per_t", metals, met["energy_kwh_per_t"].to_numpy(float))
    block("grid_hf_kg_per_kwh", [""], [ds.global_value("grid_hf_kg_per_kwh")])
    block("coal_used_kg_per_kwh", [""], [ds.global_value("coal_used_kg_per_kwh")])
    block("battery_pack_factor", [""], [ds.global_value("battery_pack_factor")])
    content = np.zeros((len(vehicles), len(metals)))
    for v, m, x in ds.tables["vehicles"][["vehicle", "metal", "content_kg"]].itertuples(index=False):
        content[vehicles.index(v), kidx[m]] = x
    block("content_kg", [f"{v},{m}" for v in vehicles for m in metals], content.ravel())
    block("battery_kwh", vehicles, fleet["battery_kwh_mode"].to_numpy(float))
    block("battery_mix", chems, chem_tab["share"].to_numpy(float))
    block("count", vehicles, fleet["count"].to_numpy(float))
    # last, and only where a site's shares follow uncertain prices: the counters of every
    # other input are those of a dataset without price uncertainty
    block("price", metals if priced.any() else [], price if priced.any() else [])

    battery_metal = np.array([1.0 if m in BATTERY_METALS else 0.0 for m in metals])
    return Model(
        metals=metals, countries=countries, vehicles=vehicles, chemistries=chems,
        mine_ids=tuple(mines["mine_id"]), domestic=domestic,
        mine_metal=mine_metal, mine_group=mine_group, mine_weight=weight, mine_conc=conc,
        mine_alloc_rr=alloc_rr, mine_solid=solid, mine_lead=lead, mine_site=site,
        site_start=site_start, site_stop=site_stop, site_mode=site_mode,
        mine_prod=mines["production_t"].to_numpy(float), mine_rr=rr,
        nominal_grade=mines["grade"].to_numpy(float) * factor,
        nominal_stripping=mines["stripping_ratio"].to_numpy(float),
        nominal_recovery=mines["mill_recovery"].to_numpy(float),
        group_metal=np.array([kidx[m] for m, _ in groups], dtype=np.int64),
        group_country=np.array([cidx[c] for _, c in groups], dtype=np.int64),
        fab_yield=met["fabrication_yield"].to_numpy(float),
        secondary_fraction=met["secondary_tmr_fraction"].to_numpy(float),
        nev=nev.astype(np.float64), intensity=intensity, battery_metal=battery_metal,
        lfp_index=lfp_index,
        global_names=tuple(names), nominal_globals=np.array(values), offsets=offsets,
        metric_names=metric_names(metals, vehicles, list(nev), countries),
    )


# =========================================================================== kernel
_jit = nb.njit(cache=True, nogil=True, error_model="numpy")


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def mine_terms(g, s, r, conc, alloc_rr, solid):
    """Hidden flow and used extraction of one mine, t per t of refined metal.

    ``g`` grade (metal mass fraction, systematic factor applied), ``s`` stripping ratio,
    ``r`` mill recovery; see the module docstring for the equations.
    """
    ore = 1.0 / (g * r)
    tail = ore - conc
    if tail < 0.0:
        tail = 0.0
    hf = solid * alloc_rr * (s * ore + tail)
    used = alloc_rr * conc
    return hf, used


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def site_alloc(a, b, mode, gl, po, metal, prod, rr, alloc_rr, A):
    """Allocation share over refining recovery of rows ``a .. b - 1`` (one co-product
    site) into ``A[j - a]``, at the prices of the global vector ``gl``.

    ``po`` the offset of the prices in ``gl``; ``metal``, ``prod``, ``rr``, ``alloc_rr``
    the :class:`MineArrays` fields. ``mode`` (``site_mode``): 0 the row's fixed
    ``alloc_rr``; 1 economic,
    ``p_k q_j / sum_i p_i q_i``; 2 main product, 1 for the row of the highest revenue
    ``p_k q_j`` (ties: the first), 0 for the others.
    """
    if mode == 0:
        for j in range(a, b):
            A[j - a] = alloc_rr[j]
        return
    if mode == 1:
        tot = 0.0
        for j in range(a, b):
            tot += gl[po + metal[j]] * prod[j]
        for j in range(a, b):
            A[j - a] = gl[po + metal[j]] * prod[j] / tot / rr[j]
        return
    top = a
    best = -1.0
    for j in range(a, b):
        v = gl[po + metal[j]] * prod[j]
        if v > best:
            best = v
            top = j
    for j in range(a, b):
        A[j - a] = (1.0 if j == top else 0.0) / rr[j]


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def site_terms(a, b, G, R, s, conc, A, solid, H, U):
    """Hidden flow and used extraction of rows ``a .. b - 1``, one co-product site, t per
    t of each row's refined metal, into ``H[j - a]`` and ``U[j - a]``.

    ``G[j - a]``, ``R[j - a]``: the rows' grades and recoveries (systematic factors
    applied), ``A[j - a]`` their allocation share over refining recovery
    (:func:`site_alloc`), ``s`` the site's stripping ratio. The ore stream is shared: its share
    leaving as concentrate is ``phi = min(1, sum_j G_j R_j conc_j)``, and per t of metal
    k, ``ore_k = 1 / (G_k R_k)``, hidden flow ``solid A ore_k (s + 1 - phi)``,
    used extraction ``A ore_k phi``.
    """
    phi = 0.0
    for j in range(a, b):
        phi += G[j - a] * R[j - a] * conc[j]
    if phi > 1.0:
        phi = 1.0
    for j in range(a, b):
        ore = 1.0 / (G[j - a] * R[j - a])
        H[j - a] = solid[j] * A[j - a] * ore * (s + 1.0 - phi)
        U[j - a] = A[j - a] * ore * phi


@_jit
def prep_size(n_metals, n_vehicles):
    """Length of the per-row preparation array (see :func:`prepare`)."""
    return n_vehicles * n_metals + 4 * n_metals + 3 * n_vehicles + 2


@nb.njit(cache=True, nogil=True, inline="always")
def prep_layout(n_metals, n_vehicles):
    """Offsets of the blocks of the preparation array: D, dem, fk, ehf, eused, counts, Dv,
    batD, and the scalars (material, energy_hf)."""
    K = n_metals
    V = n_vehicles
    pdem = V * K
    pf = pdem + K
    pehf = pf + K
    peu = pehf + K
    pcount = peu + K
    pDv = pcount + V
    pbat = pDv + V
    return 0, pdem, pf, pehf, peu, pcount, pDv, pbat, pbat + V


@_jit
def prepare(glob, prep, ch, sw, sc, mix):
    """Everything of one row that depends on the global inputs only (``ch`` the
    :class:`Chain`; switch set ``sc`` of the :class:`Switches` ``sw``).

    ``prep`` layout: D (V*K, t metal per vehicle), dem (K, fleet demand t), fk (K,
    recycling factor), ehf (K, energy HF t/t), eused (K, energy used t/t), counts (V),
    Dv (V, t per vehicle), batD (V, battery-metal t per vehicle), material (t),
    energy_hf (t, fleet).
    """
    recycled = sw.recycled[sc]
    clean = sw.clean[sc, 0]
    lfp = sw.lfp[sc, 0]
    off = ch.off
    n_chems = ch.n_chems
    fab_yield = ch.fab_yield
    secondary = ch.secondary
    intensity = ch.intensity
    battery_metal = ch.battery_metal
    lfp_index = ch.lfp_index
    K = ch.n_metals
    V = ch.n_vehicles
    o_energy, o_grid, o_coal, o_pack, o_content, o_kwh, o_mix, o_count = (
        off[4], off[5], off[6], off[7], off[8], off[9], off[10], off[11])
    pD, pdem, pf, pehf, peu, pcount, pDv, pbat, pmat = prep_layout(K, V)
    grid = glob[o_grid] * clean / 1000.0
    coal = glob[o_coal] * clean / 1000.0
    for h in range(n_chems):
        mix[h] = glob[o_mix + h]
    if lfp >= 0.0:
        rest = 1.0 - mix[lfp_index]
        for h in range(n_chems):
            if h == lfp_index:
                mix[h] = lfp
            elif rest > 0.0:
                mix[h] = mix[h] * (1.0 - lfp) / rest
    pack = glob[o_pack]
    energy_hf = 0.0
    for k in range(K):
        f = 1.0 - recycled[k] + recycled[k] * secondary[k]
        e = glob[o_energy + k]
        prep[pf + k] = f
        prep[pehf + k] = e * grid * f
        prep[peu + k] = e * coal * f
        prep[pdem + k] = 0.0
    material = 0.0
    for v in range(V):
        kwh = glob[o_kwh + v] * pack
        n_v = glob[o_count + v]
        prep[pcount + v] = n_v
        dv = 0.0
        bd = 0.0
        for k in range(K):
            cathode = 0.0
            for h in range(n_chems):
                cathode += mix[h] * intensity[h, k]
            d = (glob[o_content + v * K + k] + kwh * cathode) / (1000.0 * fab_yield[k])
            prep[pD + v * K + k] = d
            prep[pdem + k] += n_v * d
            dv += d
            if battery_metal[k] > 0.0:
                bd += d
        prep[pDv + v] = dv
        prep[pbat + v] = bd
        material += n_v * dv
    for k in range(K):
        energy_hf += prep[pdem + k] * prep[pehf + k]
    prep[pmat] = material
    prep[pmat + 1] = energy_hf


@_jit
def aggregate(hs, us, glob, prep, state, ch):
    """Supply-weighted mine terms: ``state`` = h_mine (K), u_mine (K), hf_country (C, t).

    ``hf_country`` holds the mine part of each country's fleet hidden flow (process
    energy is added to the domestic country by :func:`outputs`).
    """
    group_metal = ch.group_metal
    group_country = ch.group_country
    n_countries = ch.n_countries
    K = ch.n_metals
    V = ch.n_vehicles
    o_supply = ch.off[3]
    pdem = V * K
    pf = pdem + K
    for j in range(2 * K + n_countries):
        state[j] = 0.0
    for gi in range(hs.shape[0]):
        k = group_metal[gi]
        sh = glob[o_supply + gi]
        state[k] += sh * hs[gi]
        state[K + k] += sh * us[gi]
        state[2 * K + group_country[gi]] += prep[pdem + k] * sh * hs[gi] * prep[pf + k]


@_jit
def outputs(state, prep, out, ch, hk, headline_only=False):
    """All metrics of one row from its state and preparation (``hk`` a work array, K).

    With ``headline_only`` only the headline metrics ``out[:N_HEADLINE]`` are written: the
    Sobol kernel's fast path when only headline metrics are asked for.
    """
    n_countries = ch.n_countries
    nev = ch.nev
    battery_metal = ch.battery_metal
    domestic = ch.domestic
    K = ch.n_metals
    V = ch.n_vehicles
    pD, pdem, pf, pehf, peu, pcount, pDv, pbat, pmat = prep_layout(K, V)
    used_total = 0.0
    for k in range(K):
        hk[k] = state[k] * prep[pf + k] + prep[pehf + k]
        uk = state[K + k] * prep[pf + k] + prep[peu + k]
        used_total += prep[pdem + k] * uk
        if not headline_only:
            out[N_HEADLINE + 2 * K + k] = hk[k] + uk
    hf_total = 0.0
    n_nev = 0.0
    n_ice = 0.0
    hf_nev = 0.0
    hf_ice = 0.0
    i_vehicle = N_HEADLINE + 3 * K
    i_battery = i_vehicle + V
    nb_i = 0
    for v in range(V):
        hv = 0.0
        bat_h = 0.0
        for k in range(K):
            x = prep[pD + v * K + k] * hk[k]
            hv += x
            if battery_metal[k] > 0.0:
                bat_h += x
        n_v = prep[pcount + v]
        hf_total += n_v * hv
        if not headline_only:
            out[i_vehicle + v] = hv
        if nev[v] > 0.0:
            n_nev += n_v
            hf_nev += n_v * hv
            if not headline_only:
                dv = prep[pDv + v]
                out[i_battery + 2 * nb_i] = prep[pbat + v] / dv if dv > 0.0 else 0.0
                out[i_battery + 2 * nb_i + 1] = bat_h / hv if hv > 0.0 else 0.0
            nb_i += 1
        else:
            n_ice += n_v
            hf_ice += n_v * hv
    material = prep[pmat]
    energy_hf = prep[pmat + 1]
    tmr = hf_total + used_total
    out[TMR] = tmr / 1e6
    out[HIDDEN_FLOWS] = hf_total / 1e6
    out[USED_EXTRACTION] = used_total / 1e6
    out[MATERIAL] = material / 1e6
    out[HIDDEN_TO_MATERIAL] = hf_total / material
    out[SHARE_ENTERING] = material / tmr
    dom = state[2 * K + domestic] + energy_hf
    out[HIDDEN_ABROAD] = 1.0 - dom / hf_total
    per_nev = hf_nev / n_nev if n_nev > 0.0 else np.nan
    per_ice = hf_ice / n_ice if n_ice > 0.0 else np.nan
    out[NEV_TO_ICEV] = per_nev / per_ice
    out[ENERGY_SHARE] = energy_hf / hf_total
    if headline_only:
        return
    for k in range(K):
        x = prep[pdem + k] * hk[k]
        out[N_HEADLINE + k] = x / 1e6
        out[N_HEADLINE + K + k] = x / hf_total
    i_country = i_battery + 2 * nb_i
    for c in range(n_countries):
        x = state[2 * K + c]
        if c == domestic:
            x += energy_hf
        out[i_country + c] = x / 1e6


@_jit
def finish(hs, us, glob, out, ch, sw, sc, wk):
    """Turn group sums ``hs``/``us`` (G,) and one global vector into all metrics.

    ``ch`` is the model's :class:`Chain`, ``sw, sc`` the :class:`Switches` and the set
    evaluated; ``wk`` is a work array of length :func:`work_size`.
    """
    K = ch.n_metals
    V = ch.n_vehicles
    n_countries = ch.n_countries
    n_chems = ch.n_chems
    np_ = prep_size(K, V)
    prep = wk[0:np_]
    state = wk[np_:np_ + 2 * K + n_countries]
    hk = wk[np_ + 2 * K + n_countries:np_ + 3 * K + n_countries]
    mix = wk[np_ + 3 * K + n_countries:np_ + 3 * K + n_countries + n_chems]
    prepare(glob, prep, ch, sw, sc, mix)
    aggregate(hs, us, glob, prep, state, ch)
    outputs(state, prep, out, ch, hk)


GLOBAL_BLOCKS = (
    "sys_grade", "sys_stripping", "sys_recovery", "supply", "energy_kwh_per_t",
    "grid_hf_kg_per_kwh", "coal_used_kg_per_kwh", "battery_pack_factor", "content_kg",
    "battery_kwh", "battery_mix", "count",
)


def kernel_args(model: Model, scenario: Scenario | None = None) -> tuple:
    """The model's :class:`Chain` and the scenario's :class:`Switches` (one set)."""
    return (model.chain(), model.switches([scenario or Scenario()]))


def work_size(model: Model) -> int:
    """Length of the work array :func:`finish` needs."""
    K, V = len(model.metals), len(model.vehicles)
    return V * K + 4 * K + 3 * V + 2 + 3 * K + len(model.countries) + len(model.chemistries)


@nb.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _evaluate_kernel(grade, stripping, recovery, glob, out, mines, nwork, ch, sw):
    mine_metal = mines.metal
    mine_group = mines.group
    mine_weight = mines.weight
    mine_conc = mines.conc
    mine_alloc_rr = mines.alloc_rr
    mine_solid = mines.solid
    mine_site = mines.site
    site_start = mines.site_start
    site_stop = mines.site_stop
    site_mode, mine_prod, mine_rr, po = mines.site_mode, mines.prod, mines.rr, mines.price_off
    n_groups = mines.n_groups
    n, M = grade.shape
    (c_off, c_metals, c_vehicles, c_chems, c_countries, c_group_metal, c_group_country,
     c_fab, c_secondary, c_nev, c_intensity, c_battery, c_domestic, c_lfp) = ch
    off = c_off
    L = 1
    for q in range(site_start.shape[0]):
        L = max(L, site_stop[q] - site_start[q])
    for i in nb.prange(n):
        # a tuple of mixed types cannot enter a parallel loop: rebuilt from its arrays
        ch = Chain(c_off, c_metals, c_vehicles, c_chems, c_countries, c_group_metal,
                   c_group_country, c_fab, c_secondary, c_nev, c_intensity, c_battery,
                   c_domestic, c_lfp)
        hs = np.zeros(n_groups)
        us = np.zeros(n_groups)
        wk = np.empty(nwork)
        G = np.empty(L)
        R = np.empty(L)
        H = np.empty(L)
        U = np.empty(L)
        A = np.empty(L)
        for q in range(site_start.shape[0]):
            a = site_start[q]
            b = site_stop[q]
            for j in range(a, b):
                k = mine_metal[j]
                G[j - a] = min(grade[i, j] * glob[i, off[0] + k], 1.0)
                R[j - a] = min(recovery[i, j] * glob[i, off[2] + k], 1.0)
            sl = stripping[i, a] * glob[i, off[1] + mine_metal[a]]
            site_alloc(a, b, site_mode[q], glob[i], po, mine_metal, mine_prod, mine_rr,
                       mine_alloc_rr, A)
            site_terms(a, b, G, R, sl, mine_conc, A, mine_solid, H, U)
            for j in range(a, b):
                hs[mine_group[j]] += mine_weight[j] * H[j - a]
                us[mine_group[j]] += mine_weight[j] * U[j - a]
        for m in range(M):
            if mine_site[m] >= 0:
                continue
            k = mine_metal[m]
            g = grade[i, m] * glob[i, off[0] + k]
            if g > 1.0:
                g = 1.0
            r = recovery[i, m] * glob[i, off[2] + k]
            if r > 1.0:
                r = 1.0
            s = stripping[i, m] * glob[i, off[1] + k]
            hf, used = mine_terms(g, s, r, mine_conc[m], mine_alloc_rr[m], mine_solid[m])
            gi = mine_group[m]
            hs[gi] += mine_weight[m] * hf
            us[gi] += mine_weight[m] * used
        finish(hs, us, glob[i], out[i], ch, sw, 0, wk)


def evaluate(model: Model, grade: np.ndarray, stripping: np.ndarray, recovery: np.ndarray,
             glob: np.ndarray, scenario: Scenario | None = None) -> np.ndarray:
    """Compiled evaluation of every metric for a block of parameter vectors.

    Parameters
    ----------
    model : Model
    grade, stripping, recovery : ndarray, shape (n, n_mines)
        Metal mass fraction, t waste per t ore, mill recovery (systematic factors not
        yet applied; they are in ``glob``).
    glob : ndarray, shape (n, n_globals)
        Global inputs laid out as ``model.global_names``.
    scenario : Scenario, optional

    Returns
    -------
    ndarray, shape (n, n_metrics)
        Columns named by ``model.metric_names``.
    """
    grade, stripping, recovery, glob = (np.ascontiguousarray(a, dtype=np.float64)
                                        for a in (grade, stripping, recovery, glob))
    n = grade.shape[0]
    out = np.empty((n, len(model.metric_names)))
    _evaluate_kernel(grade, stripping, recovery, glob, out, model.mine_arrays(),
                     work_size(model), *kernel_args(model, scenario))
    return out


# ======================================================================= reference
def mine_flows(model: Model, grade: np.ndarray, stripping: np.ndarray, recovery: np.ndarray,
               glob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-row terms of the reference model, each shaped (n, n_mines): hidden flow and
    used extraction (t per t of refined metal, allocated), the stripping ratio (t waste
    per t ore: the site's) and the ore (t per t of the row's metal in concentrate)."""
    o = model.offsets
    n = grade.shape[0]
    mk = model.mine_metal
    lead = model.mine_lead
    g = np.minimum(grade * glob[:, o["sys_grade"] + mk], 1.0)
    r = np.minimum(recovery * glob[:, o["sys_recovery"] + mk], 1.0)
    s = stripping[:, lead] * glob[:, o["sys_stripping"] + mk[lead]]
    ore = 1.0 / (g * r)
    tail = np.maximum(ore - model.mine_conc, 0.0)
    hf = model.mine_solid * model.mine_alloc_rr * (s * ore + tail)
    used = model.mine_alloc_rr * model.mine_conc * np.ones_like(hf)
    if model.n_sites:  # co-product sites: one ore stream, one concentrate balance
        rows = np.flatnonzero(model.mine_site >= 0)
        phi = np.zeros((n, model.n_sites))
        for j in rows:
            phi[:, model.mine_site[j]] += g[:, j] * r[:, j] * model.mine_conc[j]
        phi = np.minimum(phi, 1.0)[:, model.mine_site[rows]]
        ar = site_allocation(model, glob)[:, rows]
        hf[:, rows] = model.mine_solid[rows] * ar * ore[:, rows] * (s[:, rows] + 1.0 - phi)
        used[:, rows] = ar * ore[:, rows] * phi
    return hf, used, s, ore


def site_allocation(model: Model, glob: np.ndarray) -> np.ndarray:
    """Allocation share over refining recovery of every row at the prices of each row of
    ``glob`` (n, n_mines): NumPy's :func:`site_alloc`."""
    n = glob.shape[0]
    out = np.tile(model.mine_alloc_rr, (n, 1))
    o = model.offsets["price"]
    for q, (a, b) in enumerate(zip(model.site_start, model.site_stop, strict=True)):
        mode = model.site_mode[q]
        if mode == 0:
            continue
        rev = glob[:, o + model.mine_metal[a:b]] * model.mine_prod[a:b]
        if mode == 1:
            share = rev / rev.sum(axis=1, keepdims=True)
        else:
            share = (np.arange(b - a) == np.argmax(rev, axis=1)[:, None]).astype(float)
        out[:, a:b] = share / model.mine_rr[a:b]
    return out


def _vehicle_demand(model: Model, glob: np.ndarray, lfp: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Metal entering manufacturing per vehicle, t (n, V, K), and the counts (n, V)."""
    o = model.offsets
    K, V, n = len(model.metals), len(model.vehicles), glob.shape[0]
    mix = glob[:, o["battery_mix"]:o["battery_mix"] + len(model.chemistries)].copy()
    if lfp >= 0:
        rest = 1.0 - mix[:, model.lfp_index]
        scale = np.where(rest > 0, (1.0 - lfp) / np.where(rest > 0, rest, 1.0), 1.0)
        mix = mix * scale[:, None]
        mix[:, model.lfp_index] = lfp
    cathode = mix @ model.intensity  # (n, K)
    kwh = glob[:, o["battery_kwh"]:o["battery_kwh"] + V] * glob[:, [o["battery_pack_factor"]]]
    content = glob[:, o["content_kg"]:o["content_kg"] + V * K].reshape(n, V, K)
    D = (content + kwh[:, :, None] * cathode[:, None, :]) / (1000.0 * model.fab_yield)
    return D, glob[:, o["count"]:o["count"] + V]


def row_hidden_flows(model: Model, grade: np.ndarray, stripping: np.ndarray,
                     recovery: np.ndarray, glob: np.ndarray,
                     scenario: Scenario | None = None) -> np.ndarray:
    """Each mine row's part of the fleet's hidden flow, t (n, n_mines): its allocated
    hidden flow per t times its weight, its country's supply share, the fleet's demand
    for its metal and the recycling factor (process energy excluded). Rows sum to the
    mine part of ``hidden_flows_mt`` (x 1e6)."""
    rec, _, lfp = model.scenario_arrays(scenario or Scenario())
    hf = mine_flows(model, grade, stripping, recovery, glob)[0]
    D, counts = _vehicle_demand(model, glob, lfp)
    dem = (counts[:, :, None] * D).sum(axis=1)  # (n, K)
    f = 1.0 - rec + rec * model.secondary_fraction
    k = model.mine_metal
    share = glob[:, model.offsets["supply"] + model.mine_group]
    return hf * model.mine_weight * share * (dem * f)[:, k]


def provenance_shares(model: Model, ds: Dataset,
                      inputs: tuple[np.ndarray, ...] | None = None) -> pd.DataFrame:
    """Share of the fleet's mine hidden flow (nominal, or at one row of ``inputs``) by
    where each mine's values came from.

    Returns
    -------
    pandas.DataFrame
        ``value`` (grade, stripping_ratio, mill_recovery, or ``row``: a row's least known
        value), ``provenance``, ``hidden_flows_mt``, ``share``; plus ``value = "site"``,
        ``provenance = "real"`` / ``"synthetic"``: rows of real facilities or not
        (``mines.csv`` ``synthetic``).
    """
    x = inputs or nominal_inputs(model)
    g, st, r, glob = (a[:1] for a in x)
    h = row_hidden_flows(model, g, st, r, glob)[0]
    total = h.sum()
    m = ds.mines
    rank = {p: i for i, p in enumerate(PROVENANCES)}
    worst = np.max(np.column_stack([m[src].map(rank).to_numpy(int)
                                    for _, _, src in MINE_VALUES]), axis=1)
    keys = [(v, m[src].to_numpy(str)) for v, _, src in MINE_VALUES]
    keys.append(("row", np.array(PROVENANCES)[worst]))
    keys.append(("site", np.where(m["synthetic"].to_numpy(bool), "synthetic", "real")))
    rows = []
    for value, prov in keys:
        choices = ("real", "synthetic") if value == "site" else PROVENANCES
        for p in choices:
            x_t = float(h[prov == p].sum())
            rows.append({"value": value, "provenance": p, "hidden_flows_mt": x_t / 1e6,
                         "share": x_t / total if total > 0 else np.nan})
    return pd.DataFrame(rows)


def evaluate_reference(model: Model, grade: np.ndarray, stripping: np.ndarray,
                       recovery: np.ndarray, glob: np.ndarray,
                       scenario: Scenario | None = None) -> np.ndarray:
    """The same equations as :func:`evaluate`, in plain vectorised NumPy (the oracle)."""
    rec, clean, lfp = model.scenario_arrays(scenario or Scenario())
    o = model.offsets
    K, G = len(model.metals), model.n_groups
    n = grade.shape[0]
    hf, used, _, _ = mine_flows(model, grade, stripping, recovery, glob)
    onehot = np.zeros((model.n_mines, G))
    onehot[np.arange(model.n_mines), model.mine_group] = model.mine_weight
    hs = hf @ onehot
    us = used @ onehot
    share = glob[:, o["supply"]:o["supply"] + G]
    metal_onehot = np.zeros((G, K))
    metal_onehot[np.arange(G), model.group_metal] = 1.0
    h_mine = (share * hs) @ metal_onehot
    u_mine = (share * us) @ metal_onehot
    f = 1.0 - rec + rec * model.secondary_fraction
    energy = glob[:, o["energy_kwh_per_t"]:o["energy_kwh_per_t"] + K]
    grid = glob[:, [o["grid_hf_kg_per_kwh"]]] * clean / 1000.0
    coal = glob[:, [o["coal_used_kg_per_kwh"]]] * clean / 1000.0
    hk = (h_mine + energy * grid) * f
    uk = (u_mine + energy * coal) * f
    D, counts = _vehicle_demand(model, glob, lfp)
    Hv = (D * hk[:, None, :]).sum(axis=2)
    Dv = D.sum(axis=2)
    dem = (counts[:, :, None] * D).sum(axis=1)
    hf_total = (counts * Hv).sum(axis=1)
    used_total = (dem * uk).sum(axis=1)
    material = (counts * Dv).sum(axis=1)
    hf_k = dem * hk
    energy_hf = (dem * energy * grid * f).sum(axis=1)
    hf_c = np.zeros((n, len(model.countries)))
    contrib = dem[:, model.group_metal] * share * hs * f[model.group_metal]
    for gi in range(G):
        hf_c[:, model.group_country[gi]] += contrib[:, gi]
    dom = model.countries.index(model.domestic)
    hf_c[:, dom] += energy_hf
    nev = model.nev > 0
    per_nev = (counts[:, nev] * Hv[:, nev]).sum(axis=1) / counts[:, nev].sum(axis=1)
    per_ice = (counts[:, ~nev] * Hv[:, ~nev]).sum(axis=1) / counts[:, ~nev].sum(axis=1)
    tmr = hf_total + used_total
    col = {"tmr_mt": tmr / 1e6, "hidden_flows_mt": hf_total / 1e6,
           "used_extraction_mt": used_total / 1e6, "material_in_cars_mt": material / 1e6,
           "hidden_to_material_ratio": hf_total / material, "share_entering_cars": material / tmr,
           "hidden_abroad_share": 1.0 - hf_c[:, dom] / hf_total,
           "nev_to_icev_hidden_ratio": per_nev / per_ice,
           "energy_hidden_share": energy_hf / hf_total}
    for k, metal in enumerate(model.metals):
        col[f"hidden_flows_mt_{metal}"] = hf_k[:, k] / 1e6
        col[f"hidden_share_{metal}"] = hf_k[:, k] / hf_total
        col[f"tmr_coefficient_{metal}"] = hk[:, k] + uk[:, k]
    bm = model.battery_metal > 0
    for v, name in enumerate(model.vehicles):
        col[f"hidden_per_vehicle_t_{name}"] = Hv[:, v]
        if nev[v]:
            col[f"battery_metals_material_share_{name}"] = D[:, v, bm].sum(axis=1) / Dv[:, v]
            col[f"battery_metals_hidden_share_{name}"] = \
                (D[:, v, bm] * hk[:, bm]).sum(axis=1) / Hv[:, v]
    for c, country in enumerate(model.countries):
        col[f"hidden_flows_mt_country_{country.lower()}"] = hf_c[:, c] / 1e6
    # the registry's order (uncertainty.metrics.metric_names), by name
    return np.column_stack([col[m] for m in model.metric_names])


def nominal_inputs(model: Model, n: int = 1
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nominal (point-value) inputs repeated ``n`` times: grade, stripping, recovery, glob."""
    return (np.tile(model.nominal_grade, (n, 1)), np.tile(model.nominal_stripping, (n, 1)),
            np.tile(model.nominal_recovery, (n, 1)), np.tile(model.nominal_globals, (n, 1)))
