"""A small hand-made dataset with provenance for the provenance and priorities tests.

Copper only, China's supply from Chile (70%) and Peru (30%):

* ``CU-CHL-000``: the dominant mine (5x the others' production), grade, stripping ratio
  and recovery all ``imputed`` (blank values filled from ``cu_porphyry``; moderate
  explicit spreads, truncated at the archetype's range);
* ``CU-CHL-001``: its grade ``other_year``, the rest reported;
* ``CU-CHL-002`` ... ``CU-CHL-004``: every value reported;
* ``SYN-CU-PER-001``, ``SYN-CU-PER-002``: synthetic rows standing for Peru's production
  (blank sources on ``synthetic = true`` rows: ``synthetic``; small explicit spreads).

``write_provenance_dataset(folder)`` writes it; ``run_file(folder, dataset, ...)`` a run
file on it.
"""

from __future__ import annotations

from pathlib import Path

from conftest import MINE, base_tables, write_dataset

SOURCES = {"grade_source": "reported", "stripping_source": "reported",
           "recovery_source": "reported"}


def provenance_tables() -> dict[str, list[dict[str, str]]]:
    t = base_tables()
    t["countries"].append({"iso3": "PER", "name": "Peru"})
    t["supply"] = [
        {"metal": "copper", "country": "CHL", "share": "0.7", "concentration": "100"},
        {"metal": "copper", "country": "PER", "share": "0.3", "concentration": "100"}]
    rows = [dict(MINE, **SOURCES, mine_id=f"CU-CHL-{i:03d}", synthetic="false",
                 production_t="1000", grade_gsd="", stripping_gsd="", recovery_sd="")
            for i in range(5)]
    rows[0].update(production_t="5000", grade="", grade_unit="", stripping_ratio="",
                   mill_recovery="", grade_source="imputed", stripping_source="imputed",
                   recovery_source="imputed", grade_gsd="1.3", stripping_gsd="1.4",
                   recovery_sd="0.05")
    rows[1].update(grade_source="other_year")
    for i in (1, 2):
        rows.append(dict(MINE, mine_id=f"SYN-CU-PER-{i:03d}", country="PER", synthetic="true",
                         production_t="800", grade_source="", stripping_source="",
                         recovery_source=""))
    t["mines"] = rows
    return t


def write_provenance_dataset(folder: Path) -> Path:
    return write_dataset(folder, **provenance_tables())


def run_file(folder: Path, dataset: Path, *, enabled: bool = True, samples: int = 2000,
             n_base: int = 256, report: bool = False, name: str = "prov") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\ndataset = "{dataset.as_posix()}"\nreport = {str(report).lower()}\n\n'
        f"[montecarlo]\nsamples = {samples}\nchunk_size = {samples}\nseed = 7\n\n"
        f"[sensitivity]\nenabled = {str(enabled).lower()}\nn_base = {n_base}\nseed = 3\n"
        'metrics = ["hidden_flows_mt", "hidden_to_material_ratio"]\n'
        'by = ["mine", "systematic"]\n', encoding="utf-8")
    return path
