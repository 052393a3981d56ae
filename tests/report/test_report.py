"""Report: escaping, numbers that agree across outputs, bad results, headless Chromium.

The out folder is written by hand (``make_out``): a few hundred seeded samples of a
dozen metrics, summary.csv computed from them, a small sobol.csv, convergence,
scenarios, parameters and a dataset folder with mines.csv and calibration.csv. The run
and one mine are named ``<script>alert(1)</script>``. The report is rendered once per
module through the CLI (``uncertainty report``).
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from uncertainty import cli, report
from uncertainty.report import results
from uncertainty.store import ResultsError

EVIL = "<script>alert(1)</script>"
N = 400
SECTIONS = ("summary", "methods", "results", "sensitivity", "scenarios", "limitations")


# ------------------------------------------------------------------ a hand-made out folder
def _samples(rng: np.random.Generator) -> pd.DataFrame:
    ln = rng.lognormal
    hf = 1100 * ln(0, 0.15, N)
    used = 55 * ln(0, 0.05, N)
    mat = 31.7 * ln(0, 0.06, N)
    chn = hf * rng.uniform(0.3, 0.4, N)
    icev = 48 * ln(0, 0.15, N)
    bev = 2.6 * icev * ln(0, 0.1, N)
    return pd.DataFrame({
        "tmr_mt": hf + used, "hidden_flows_mt": hf, "used_extraction_mt": used,
        "material_in_cars_mt": mat, "hidden_to_material_ratio": hf / mat,
        "share_entering_cars": mat / (hf + used), "hidden_abroad_share": 1 - chn / hf,
        "nev_to_icev_hidden_ratio": bev / icev, "energy_hidden_share": rng.beta(3, 18, N),
        "hidden_flows_mt_copper": 0.37 * hf, "hidden_flows_mt_iron": 0.34 * hf,
        "hidden_flows_mt_rare_earths": 1.5 * ln(0, 0.3, N),
        "hidden_share_copper": 0.37 * ln(0, 0.1, N),
        "tmr_coefficient_pgm": 6.8e5 * ln(0, 0.15, N),
        "hidden_per_vehicle_t_icev": icev, "hidden_per_vehicle_t_bev": bev,
        "hidden_per_vehicle_t_phev": 0.65 * bev,
        "hidden_flows_mt_country_chn": chn, "hidden_flows_mt_country_chl": 0.1 * hf,
        "hidden_flows_mt_country_mdg": 0.003 * ln(0, 1.5, N),
        "hidden_flows_mt_country_arg": np.zeros(N),
    })


def _summary(s: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for m in s.columns:
        x = s[m].to_numpy()
        q = np.quantile(x, [0.025, 0.5, 0.975])
        rows.append((m, float(np.median(x) * 0.98), x.mean(), x.std(ddof=1), q[0], q[1], q[2], N))
    return pd.DataFrame(rows, columns=list(results.SUMMARY_COLUMNS))


def _sobol() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    single = [("sys_stripping[copper]", 0.24, 0.25), ("grid_hf_kg_per_kwh", 0.22, 0.24),
              ("grade[M-EVIL]", 0.002, 0.003), ("grade[M-2]", -0.001, 0.0004),
              ("sys_grade[copper]", 0.03, 0.035)]
    groups = {"parameter": single,
              "mine": [*single[:2], single[4], ("M-EVIL", 0.004, 0.005), ("M-2", -0.001, 0.001)],
              "systematic": [single[0], single[1], single[4],
                             ("per-mine (independent)", 0.008, 0.01)]}
    for metric in ("hidden_flows_mt",):
        for level, facs in groups.items():
            for f, s1, st in facs:
                c1, ct = 0.01, min(0.02, st)
                rows.append((metric, f, level, s1, c1, st, ct, s1 - c1, s1 + c1, st - ct,
                             st + ct, s1 - c1 < 0 < s1 + c1, st - ct > 0, "normal"))
    sob = pd.DataFrame(rows, columns=["metric", "factor", "level", "S1", "S1_conf", "ST",
                                      "ST_conf", "S1_low", "S1_high", "ST_low", "ST_high",
                                      "s1_straddles_zero", "st_resolved", "ci_method"])
    conv = []
    for metric in ("hidden_flows_mt",):
        for n in (64, 128, 256):
            for f, s1, st in single:
                conv.append((metric, "parameter", f, n, s1, 0.1 * (64 / n) ** 0.5, st,
                             0.08 * (64 / n) ** 0.5))
    return sob, pd.DataFrame(conv, columns=list(results.CONVERGENCE_COLUMNS))


def _scenarios(summary: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, red in (("recycled-copper", -0.35), (EVIL, -0.028)):
        for m in ("tmr_mt", "hidden_flows_mt", "hidden_per_vehicle_t_bev"):
            r = summary[summary.metric == m].iloc[0]
            f = 1 + red
            rows.append((name, m, r.nominal * f, r["mean"] * f, r.p2_5 * f, r.p97_5 * f, red,
                         red * 1.4, red * 0.6))
    return pd.DataFrame(rows, columns=list(results.SCENARIO_COLUMNS))


def make_out(folder: Path, *, run_name: str = EVIL, mine_name: str = EVIL) -> Path:
    """Write a small complete out folder (no report yet) and its dataset folder."""
    rng = np.random.default_rng(20190101)
    folder.mkdir(parents=True, exist_ok=True)
    ds = folder.parent / f"{folder.name}-dataset"
    ds.mkdir(exist_ok=True)
    pd.DataFrame({"mine_id": ["M-EVIL", "M-2"], "name": [mine_name, "Second mine"],
                  "synthetic": ["true", "true"]}).to_csv(ds / "mines.csv", index=False)
    pd.DataFrame({"knob": ["stripping_iron"], "value": [1.8], "low": [0.5], "high": [2.04],
                  "at_bound": [""], "profile_low": [1.7], "profile_high": [1.9]}
                 ).to_csv(ds / "calibration.csv", index=False)
    pd.DataFrame({"target": ["hidden_flows_mt"], "value": [1106], "band": [22],
                  "band_low": [1084], "band_high": [1128], "achieved": [1105.82],
                  "holds": [True]}).to_csv(ds / "calibration_targets.csv", index=False)
    samples = _samples(rng)
    (folder / "samples.parquet").mkdir(exist_ok=True)
    samples.to_parquet(folder / "samples.parquet" / "part-000000.parquet", index=False)
    summary = _summary(samples)
    summary.to_csv(folder / "summary.csv", index=False)
    sob, conv = _sobol()
    sob.to_csv(folder / "sobol.csv", index=False)
    conv.to_csv(folder / "sobol_convergence.csv", index=False)
    _scenarios(summary).to_csv(folder / "scenarios.csv", index=False)
    pd.DataFrame([
        ("grade[M-EVIL]", "mine", "grade", "copper", "CHL", "M-EVIL", "", "dist=lognormal, "
         "median=0.006, gsd=1.1", "lognormal", 0.006),
        ("grade[M-2]", "mine", "grade", "copper", "CHN", "M-2", "", "dist=lognormal, "
         "median=0.004, gsd=1.1", "lognormal", 0.004),
        ("sys_grade[copper]", "systematic", "grade", "copper", "", "", "",
         "dist=lognormal, median=1.0, gsd=1.08", "lognormal", 1.0),
        ("sys_stripping[copper]", "systematic", "stripping_ratio", "copper", "", "", "",
         "dist=lognormal, median=1.0, gsd=1.3", "lognormal", 1.0),
        ("grid_hf_kg_per_kwh", "global", "grid_hf_kg_per_kwh", "", "", "", "",
         "dist=lognormal, median=0.887, gsd=1.6", "lognormal", 0.887),
        ("supply[copper,CHL]", "global", "supply_share", "copper", "CHL", "", "supply[copper]",
         "dist=dirichlet, shares=[0.6, 0.4], concentration=100.0", "dirichlet", 0.6),
        ("supply[copper,CHN]", "global", "supply_share", "copper", "CHN", "", "supply[copper]",
         "dist=dirichlet, shares=[0.6, 0.4], concentration=100.0", "dirichlet", 0.4),
    ], columns=["name", "level", "kind", "metal", "country", "mine", "group", "dist", "family",
                "nominal"]).to_csv(folder / "parameters.csv", index=False)
    run = {"name": run_name, "description": f"A test run {EVIL}", "domestic": "CHN",
           "allocation": "economic", "dataset": str(ds),
           "montecarlo": {"samples": N, "seed": 7, "chunk_size": N, "sampler": "philox",
                          "per_mine": True, "systematic": True,
                          "grade_stripping_correlation": 0.0},
           "scenarios": [{"name": "recycled-copper", "description": "all secondary",
                          "recycled_copper_share": 1.0},
                         {"name": EVIL, "description": EVIL, "lfp_share": 1.0}]}
    manifest = {"kind": "montecarlo", "complete": True, "run_name": run_name, "seed": 7,
                "samples": N, "chunk_size": N, "chunks": 1, "sampler": "philox",
                "inputs": {"dataset/mines.csv": "ab" * 32, f"run/{EVIL}.toml": "cd" * 32},
                "run": run, "dataset": str(ds),
                "timings": {"montecarlo_s": 1.5, "total_s": 2.0},
                "sensitivity": {"n_base": 256, "seed": 7, "num_resamples": 100,
                                "conf_level": 0.95},
                "versions": {"uncertainty": "0.1.0", "numpy": np.__version__}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-made out folder with its report written by ``uncertainty report``."""
    folder = make_out(tmp_path_factory.mktemp("report") / "out")
    assert cli.main(["report", str(folder)]) == 0
    return folder


# ------------------------------------------------------------------ files and escaping
def test_report_writes_every_output(out: Path) -> None:
    for name in ("report.html", "tables/metrics.md", "tables/metrics.tex",
                 "tables/sobol_top.md", "tables/sobol_top.tex", "tables/scenarios.md",
                 "tables/scenarios.tex"):
        assert (out / name).is_file(), name
    for fig in ("distributions", "hidden_by_metal", "hidden_by_country", "per_vehicle",
                "scenarios", "sobol_hidden_flows_mt", "convergence_hidden_flows_mt"):
        png = (out / "figures" / f"{fig}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and 5_000 < len(png) < 300_000, fig
        assert (out / "figures" / f"{fig}.svg").read_text(encoding="utf-8").lstrip().startswith(
            "<?xml")
    assert not list(out.rglob(".*.tmp"))


def test_text_from_data_and_run_files_is_escaped(out: Path) -> None:
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    escaped = html.escape(EVIL)
    # run name (title, header), mine name (mine-level table), scenario name, description
    assert page.count(escaped) >= 4
    assert f"M-EVIL ({escaped})" in page
    for name in ("sobol_top.md", "scenarios.md"):
        md = (out / "tables" / name).read_text(encoding="utf-8")
        assert "<script" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    tex = (out / "tables" / "sobol_top.tex").read_text(encoding="utf-8")
    assert "<script" not in tex and r"\textless{}script\textgreater{}alert(1)" in tex


def test_report_names_the_dataset_folder_not_its_absolute_path(out: Path) -> None:
    page = (out / "report.html").read_text(encoding="utf-8")
    dataset = Path(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["dataset"])
    assert f'Dataset: <span class="mono">{html.escape(dataset.name)}</span>' in page
    assert str(dataset.parent) not in page


@pytest.mark.parametrize(("path", "name"), [
    ("/home/a/data/china", "china"), ("C:\\Users\\a\\data\\china", "china"),
    ("relative/china/", "china"), (None, "not recorded")])
def test_folder_name_of_posix_and_windows_paths(path: str | None, name: str) -> None:
    from uncertainty.report.html import _folder_name
    assert _folder_name(path) == name


def test_report_is_self_contained(out: Path) -> None:
    page = (out / "report.html").read_text(encoding="utf-8")
    refs = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', page)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), \
        [r for r in refs if not r.startswith(("data:", "#"))][:3]
    assert "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
    assert "Jasansky" in page and "10.1038/s41597-023-01965-y" in page
    assert "Nature Communications" in page
    assert "synthetic" in page


def test_limitations_name_the_targets_that_do_not_hold(out: Path) -> None:
    t = report.study_targets_table(report.load_results(out))
    holds = {r[1]: r[5] for r in t.rows}
    assert holds["hidden_flows_mt"] == "yes"
    assert holds["hidden_abroad_share"] == "no"   # about 0.65 against the study's 0.48
    assert holds["nev_to_icev_hidden_ratio"] == "no"   # about 2.6 against "over 3"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "do not hold at nominal values: " in page


# ------------------------------------------------------------------ numbers agree
class _Tables(HTMLParser):
    """Cells of every <table id=...> of a page: {id: [[cell, ...], ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._id = dict(attrs).get("id") or ""
            self.tables[self._id] = []
        elif tag == "tr" and self._id is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._id is not None:
            self.tables[self._id].append(self._row)
            self._row = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _markdown_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|-") and not line.startswith("|:"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append([html.unescape(re.sub(r"\\(.)", r"\1", c.strip())) for c in cells])
    return rows[1:]


def _latex_rows(text: str) -> list[list[str]]:
    body = text.split("\\midrule\n", 1)[1].split("\\bottomrule", 1)[0]
    return [[c.strip().replace(r"\_", "_") for c in line.rstrip(" \\").split(" & ")]
            for line in body.strip().splitlines()]


def _agrees(shown: str, value: float, lo: float, hi: float) -> bool:
    """``shown`` is ``value`` rounded to two significant digits of the interval width.

    Independent of report.format_number: half a unit of the width's second significant
    digit (or 6 significant digits of the value, or 4 where the interval is empty).
    """
    x = float(shown)
    width = hi - lo
    if width > 0:
        tol = max(0.5 * 10 ** (math.floor(math.log10(width)) - 1), 5e-6 * abs(value))
        decimals_shown = len(shown.split(".")[1]) if "." in shown else 0
        if decimals_shown > max(0, 1 - math.floor(math.log10(width))):
            return False   # more digits than the interval supports
    else:
        tol = 5e-4 * abs(value) + 1e-300
    return abs(x - value) <= tol * (1 + 1e-9)


def test_numbers_in_html_markdown_latex_and_summary_agree(out: Path) -> None:
    summary = pd.read_csv(out / "summary.csv").set_index("metric")
    parser = _Tables()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    html_rows = parser.tables["metrics"][1:]
    md_rows = _markdown_rows((out / "tables" / "metrics.md").read_text(encoding="utf-8"))
    tex_rows = _latex_rows((out / "tables" / "metrics.tex").read_text(encoding="utf-8"))
    assert len(html_rows) == len(md_rows) == len(tex_rows) == len(summary)
    for h, m, t in zip(html_rows, md_rows, tex_rows, strict=True):
        assert h == m == t   # the same strings in all three
        r = summary.loc[h[0]]
        for shown, col in zip(h[2:], ("nominal", "mean", "p2_5", "p97_5"), strict=True):
            assert _agrees(shown, r[col], r["p2_5"], r["p97_5"]), (h[0], col, shown, r[col])


def test_scenario_changes_agree_with_scenarios_csv(out: Path) -> None:
    sc = pd.read_csv(out / "scenarios.csv")
    md_rows = _markdown_rows((out / "tables" / "scenarios.md").read_text(encoding="utf-8"))
    assert len(md_rows) == len(sc)
    for row, r in zip(md_rows, sc.to_dict("records"), strict=True):
        assert row[0] == r["scenario"] and row[1] == r["metric"]
        for shown, col in zip(row[7:], ("reduction_mean", "reduction_p2_5",
                                        "reduction_p97_5"), strict=True):
            assert _agrees(shown, 100 * r[col], 100 * r["reduction_p2_5"],
                           100 * r["reduction_p97_5"])


@pytest.mark.parametrize(("value", "width", "text"), [
    (1242.548, 723.7, "1240"), (31.7478, 7.64, "31.7"), (0.0260390, 0.01470, "0.026"),
    (-0.0001, 0.1, "0.00"), (0.0, 0.0, "0"),
    (-98.000000000000014, 2.8e-14, "-98"),  # a constant change up to rounding: no interval
    (-98.0, 1e-6, "-98.0000"),  # a real interval far narrower than the value: 6 digits
    (float("nan"), 1.0, "–"), (2.5, float("nan"), "2.5"), (1234.5, 0.0, "1234"),
])
def test_format_number(value: float, width: float, text: str) -> None:
    assert report.format_number(value, width) == text


def test_escapers() -> None:
    assert report.escape_latex(r"a_b & 50% $x$ #1 {y} ~ ^ \ <b>") == (
        r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{} \textasciicircum{} "
        r"\textbackslash{} \textless{}b\textgreater{}")
    assert report.escape_markdown("a|b *c* [d] <e> hidden_flows_mt _x_") == (
        r"a\|b \*c\* \[d\] &lt;e&gt; hidden_flows_mt \_x\_")


# ------------------------------------------------------------------ bad results
def _damage_missing_summary(folder: Path) -> str:
    (folder / "summary.csv").unlink()
    return "summary.csv"


def _damage_corrupt_manifest(folder: Path) -> str:
    (folder / "manifest.json").write_text('{"kind": "montecarlo", "seed": ', encoding="utf-8")
    return "manifest.json"


def _damage_corrupt_summary(folder: Path) -> str:
    (folder / "summary.csv").write_text("metric,nominal,mean,sd,p2_5,p50,p97_5,n\n"
                                        "tmr_mt,abc,1,1,1,1,1,4\n", encoding="utf-8")
    return "summary.csv"


def _damage_corrupt_samples(folder: Path) -> str:
    (folder / "samples.parquet" / "part-000000.parquet").write_bytes(b"not parquet")
    return "part-000000.parquet"


def _damage_missing_sobol(folder: Path) -> str:
    (folder / "sobol.csv").unlink()
    return "sobol.csv"


@pytest.mark.parametrize("damage", [_damage_missing_summary, _damage_corrupt_manifest,
                                    _damage_corrupt_summary, _damage_corrupt_samples,
                                    _damage_missing_sobol])
def test_report_on_bad_results_exits_2_names_the_file_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage) -> None:
    folder = make_out(tmp_path / "out")
    name = damage(folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    assert cli.main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_report_needs_a_complete_monte_carlo_run(tmp_path: Path) -> None:
    folder = make_out(tmp_path / "out")
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    m["kind"] = "deterministic"
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(ResultsError, match=r"manifest\.json: the report needs a complete Monte "
                                           r"Carlo run \(kind 'deterministic'"):
        report.load_results(folder)


# ------------------------------------------------------------------ headless Chromium
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _run_chromium(binary: str, page: Path, profile: Path, *extra: str
                  ) -> subprocess.CompletedProcess[str]:
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           *extra, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.browser
def test_report_opens_in_headless_chromium(out: Path, tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip("no chromium binary (install Debian's chromium: apt-get install -y chromium)")
    # the console check is not vacuous: a page with a console error is caught
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>console.error('boom')</script>"
                   "</body></html>", encoding="utf-8")
    res = _run_chromium(binary, bad, tmp_path / "profile0", "--dump-dom")
    assert ":CONSOLE" in res.stderr and "boom" in res.stderr

    res = _run_chromium(binary, out / "report.html", tmp_path / "profile1", "--dump-dom")
    assert res.returncode == 0, res.stderr[-2000:]
    console = [ln for ln in res.stderr.splitlines() if ":CONSOLE" in ln]
    assert not console, console
    dom = res.stdout
    for sid, title in zip(SECTIONS, ("Summary", "Methods", "Results", "Sensitivity",
                                     "Scenarios", "Limitations"), strict=True):
        assert f'<section id="{sid}"><h2>{title}</h2>' in dom
    assert "<script" not in dom.lower()

    shot = tmp_path / "report.png"
    res = _run_chromium(binary, out / "report.html", tmp_path / "profile2",
                        f"--screenshot={shot}", "--window-size=1280,4000")
    assert res.returncode == 0, res.stderr[-2000:]
    assert not [ln for ln in res.stderr.splitlines() if ":CONSOLE" in ln]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000   # text and figures drawn


def test_report_of_a_run_without_sensitivity_scenarios_or_dataset(tmp_path: Path) -> None:
    folder = make_out(tmp_path / "out")
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    m["sensitivity"] = None
    m["run"]["scenarios"] = []
    m["dataset"] = str(tmp_path / "nowhere")
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    for name in ("sobol.csv", "sobol_convergence.csv", "scenarios.csv"):
        (folder / name).unlink()
    results = report.load_results(folder)
    assert results.sobol is None and results.scenarios is None and results.mines is None
    page = report.render_html(results, {})   # pure: no figures needed
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
    assert "This run has no sensitivity analysis" in page
    assert "This run has no scenarios" in page
    assert "mines.csv was not found" in page
    assert report.render_markdown(report.sobol_top_table(results)).startswith("No sensitivity")
