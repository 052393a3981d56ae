"""The report under hostile text and repeated invocations: bidirectional control
characters isolated or shown, and report.html identical whatever the invocation did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_report import make_out

from uncertainty import cli, report
from uncertainty.report import figures
from uncertainty.report.tables import BIDI_CONTROLS, Table, _html_table, html_attr

RLO = "\u202e"
TRICK = f"Mine {RLO}txt.exe{chr(0x202c)} ok"


@pytest.fixture(scope="module")
def bidi_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_out(tmp_path_factory.mktemp("bidi") / "out", run_name=f"run{RLO}x",
                      mine_name=TRICK)
    assert cli.main(["report", str(folder)]) == 0
    return folder


def test_markdown_and_latex_show_bidi_controls_as_code_points():
    for ch in BIDI_CONTROLS:
        md, tex = report.escape_markdown(f"a{ch}b"), report.escape_latex(f"a{ch}b")
        assert ch not in md and ch not in tex
        assert f"&lt;U+{ord(ch):04X}&gt;" in md
        assert rf"\textless{{}}U+{ord(ch):04X}\textgreater{{}}" in tex


def test_html_cells_with_bidi_controls_are_isolated():
    page = _html_table(Table(("mine",), ((TRICK,),), "l"))
    assert f"<bdi>Mine {RLO}" in page
    assert RLO not in html_attr(TRICK) and "&lt;U+202E&gt;" in html_attr(TRICK)


def test_report_isolates_every_bidi_text(bidi_out: Path):
    page = (bidi_out / "report.html").read_text(encoding="utf-8")
    assert "unicode-bidi:isolate" in page
    title = page.split("<title>")[1].split("</title>")[0]
    assert RLO not in title and "U+202E" in title
    # every occurrence of the control character sits inside a <bdi> element
    for chunk in page.split(RLO)[:-1]:
        assert chunk.rfind("<bdi>") > chunk.rfind("</bdi>"), chunk[-200:]
    for name in ("sobol_top.md", "scenarios.md", "sobol_top.tex", "metrics.md"):
        text = (bidi_out / "tables" / name).read_text(encoding="utf-8")
        assert all(ch not in text for ch in BIDI_CONTROLS), name


def test_figures_show_bidi_controls_as_code_points(bidi_out: Path):
    assert figures._text(TRICK) == "Mine <U+202E>txt.exe<U+202C> ok"
    svgs = [p.read_text(encoding="utf-8") for p in sorted((bidi_out / "figures").glob("*.svg"))]
    assert svgs and all(RLO not in s for s in svgs)
    assert all("U+202E" in s for s in svgs)  # the run name, in each file's description


def test_report_identical_whatever_the_invocation_did(bidi_out: Path, tmp_path: Path):
    """Two invocations that differ only in what they did (timings, chunks computed by
    this invocation, Dask workers: a resume, a scale-out) give the same report.html,
    figures and tables, with no absolute path in the page."""
    out = tmp_path / bidi_out.name  # the page names its folder
    shutil.copytree(bidi_out, out)
    m = json.loads((out / "manifest.json").read_text())
    m["timings"] = {"montecarlo_s": 912.25, "total_s": 1234.5, "sobol_s": 77.0}
    m["execution"] = {"chunks_computed": 3, "dask_workers": 4}
    (out / "manifest.json").write_text(json.dumps(m))
    for name in ("report.html", "figures", "tables"):
        shutil.rmtree(out / name) if name != "report.html" else (out / name).unlink()
    report.write_report(out)
    again = (out / "report.html").read_bytes()
    assert b"912.25" not in again and b"Timings" not in again
    assert again == (bidi_out / "report.html").read_bytes()
    assert str(bidi_out.parent).encode() not in again and str(tmp_path).encode() not in again
    for sub in ("figures", "tables"):
        files = sorted(p.name for p in (bidi_out / sub).iterdir())
        assert files == sorted(p.name for p in (out / sub).iterdir())
        for f in files:
            assert (out / sub / f).read_bytes() == (bidi_out / sub / f).read_bytes(), f


def test_report_identical_after_a_resume(tmp_path: Path, make_dataset):
    ds = make_dataset(tmp_path / "data")
    run = tmp_path / "r.toml"
    run.write_text(f'name = "r"\ndataset = "{ds}"\n[montecarlo]\nseed = 5\n'
                   "[sensitivity]\nenabled = false\n")
    args = ["run", str(run), "--samples", "900", "--chunk-size", "300", "--quiet"]
    ref, out = tmp_path / "a" / "out", tmp_path / "b" / "out"  # the report names the folder
    assert cli.main([*args, "--out", str(ref)]) == 0
    shutil.copytree(ref, out)
    # as a run killed after its second chunk: the last chunk and everything after it gone
    state = json.loads((out / "progress.json").read_text())
    state["parts"].pop("samples.parquet/part-000002.parquet")
    (out / "progress.json").write_text(json.dumps({**state, "complete": False}))
    for name in ("samples.parquet/part-000002.parquet", "manifest.json", "report.html",
                 "summary.csv"):
        (out / name).unlink()
    assert cli.main([*args, "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "manifest.json").read_text())["execution"]["chunks_computed"] == 1
    assert (out / "report.html").read_bytes() == (ref / "report.html").read_bytes()
