"""Tests of uncertainty.config: the default run file and every ConfigError message."""

from __future__ import annotations

import re

import pytest
from conftest import DEFAULT_DATASET, REPO

from uncertainty.config import ConfigError, load_run, parse_run, with_overrides
from uncertainty.model import Scenario


def test_default_run_file():
    run = load_run(REPO / "runs" / "china-2019.toml")
    assert run.name == "china-2019"
    assert run.dataset == DEFAULT_DATASET.resolve()
    assert (run.domestic, run.allocation) == ("CHN", "economic")
    assert run.baseline == Scenario(recycled_share={"copper": 0.0}, lfp_share=None,
                                    clean_energy_factor=1.0)
    mc = run.montecarlo
    assert (mc.samples, mc.seed, mc.chunk_size, mc.sampler) == (1_000_000, 20190101, 65_536,
                                                                "philox")
    assert run.sensitivity.enabled and run.sensitivity.n_base == 1024
    assert [s.name for s in run.scenarios] == ["recycled-copper", "lfp", "clean-energy"]
    by_name = {s.name: s.switches for s in run.scenarios}
    assert by_name["recycled-copper"].recycled_share == {"copper": 1.0}
    assert by_name["lfp"].lfp_share == 1.0
    assert by_name["clean-energy"].clean_energy_factor == 0.0


def test_load_run_relative_path(monkeypatch):
    monkeypatch.chdir(REPO)
    assert load_run("runs/china-2019.toml").dataset == DEFAULT_DATASET.resolve()


def test_with_overrides_changes_only_given():
    run = load_run(REPO / "runs" / "china-2019.toml")
    new = with_overrides(run, samples=10, seed=None)
    assert (new.montecarlo.samples, new.montecarlo.seed) == (10, run.montecarlo.seed)


def write(tmp_path, text: str):
    p = tmp_path / "run.toml"
    p.write_text(text, encoding="utf-8")
    return p


def key_error(key: str, value_repr: str, rule: str = "") -> str:
    return f"key '{re.escape(key)}': {re.escape(rule)}.*\\(got {re.escape(value_repr)}\\)$"


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ('name = "../x"', key_error("name", "'../x'", "must be a simple name")),
        ('name = "a/b"', key_error("name", "'a/b'", "must be a simple name")),
        ('name = "x/../../y"', key_error("name", "'x/../../y'")),
        ('name = ".."', key_error("name", "'..'")),
        ('name = ""', key_error("name", "''")),
        ("name = 3", key_error("name", "3")),
        ('description = "no name"', r"key 'name': is required: .*out folder\)$"),
        ('name = "r"\n[montecarlo]\nsamples = 0',
         key_error("montecarlo.samples", "0", "must be a positive integer")),
        ('name = "r"\n[montecarlo]\nsamples = -5',
         key_error("montecarlo.samples", "-5", "must be a positive integer")),
        ('name = "r"\n[montecarlo]\nsamples = "abc"',
         key_error("montecarlo.samples", "'abc'", "must be a positive integer")),
        ('name = "r"\n[montecarlo]\nsamples = 1.5',
         key_error("montecarlo.samples", "1.5", "must be a positive integer")),
        ('name = "r"\n[montecarlo]\nsamples = true',
         key_error("montecarlo.samples", "True", "must be a positive integer")),
        ('name = "r"\n[montecarlo]\nseed = -1',
         key_error("montecarlo.seed", "-1", "must be an integer seed with 0 <= seed < 2**64")),
        ('name = "r"\n[montecarlo]\nchunk_size = 0',
         key_error("montecarlo.chunk_size", "0", "must be a positive integer")),
        ('name = "r"\n[montecarlo]\nsampler = "mersenne"',
         key_error("montecarlo.sampler", "'mersenne'", "must be one of philox, sobol")),
        ('name = "r"\n[montecarlo]\ngrade_stripping_correlation = 1.0',
         key_error("montecarlo.grade_stripping_correlation", "1.0", "must be a number in")),
        ('name = "r"\n[sensitivity]\nn_base = 1000',
         key_error("sensitivity.n_base", "1000", "must be a power of 2")),
        ('name = "r"\n[sensitivity]\nn_base = 0',
         key_error("sensitivity.n_base", "0", "must be a positive integer")),
        ('name = "r"\n[sensitivity]\nby = ["mine", "planet"]',
         key_error("sensitivity.by", "'planet'", "levels must be among")),
        ('name = "r"\n[sensitivity]\nmetrics = []',
         key_error("sensitivity.metrics", "[]", "must be a non-empty list")),
        ('name = "r"\nsamples = 10',
         key_error("samples", "'samples'", "unknown key; allowed: allocation")),
        ('name = "r"\n[montecarlo]\nsample = 10',
         key_error("montecarlo.sample", "'sample'", "unknown key; allowed: chunk_size")),
        ('name = "r"\n[scenario]\nlfp = 1.0',
         key_error("scenario.lfp", "'lfp'", "unknown key")),
        ('name = "r"\nallocation = "revenue"',
         key_error("allocation", "'revenue'", "must be one of economic, mass, main-product")),
        ('name = "r"\ndomestic = "China"',
         key_error("domestic", "'China'", "must be an ISO 3166-1 alpha-3 code")),
        ('name = "r"\n[scenario]\nlfp_share = 1.5',
         key_error("scenario.lfp_share", "1.5", "must be a number in [0, 1]")),
        ('name = "r"\n[scenario]\nclean_energy_factor = -0.1',
         key_error("scenario.clean_energy_factor", "-0.1", "must be a number in [0, inf)")),
        ('name = "r"\n[scenario]\nrecycled_copper_share = 2',
         key_error("scenario.recycled_copper_share", "2", "must be a number in [0, 1]")),
        ('name = "r"\n[[scenarios]]\nname = "a"\nlfp_share = 1.5',
         key_error("scenarios[0].lfp_share", "1.5", "must be a number in [0, 1]")),
        ('name = "r"\n[[scenarios]]\nname = "a"\n[[scenarios]]\nname = "a"',
         key_error("scenarios[1].name", "'a'", "must be a unique simple name")),
        ('name = "r"\n[overrides]\n"grade[X]" = {mu = 1}',
         key_error("overrides.grade[X]", "{'mu': 1}", "a distribution needs a 'dist' name")),
        ('name = "r"\nmontecarlo = 5', key_error("montecarlo", "5", "must be a table")),
    ],
)
def test_config_error(tmp_path, toml, match):
    p = write(tmp_path, toml + "\n")
    with pytest.raises(ConfigError, match=match) as info:
        load_run(p)
    assert str(info.value).startswith(f"{p}: key ")


def test_bad_toml(tmp_path):
    p = write(tmp_path, 'name = "r"\n[montecarlo\nsamples = 3\n')
    with pytest.raises(ConfigError, match=f"^{re.escape(str(p))}: not valid TOML "
                                          r"\(.*line 2, column 12\)\)$"):
        load_run(p)


@pytest.mark.parametrize("text", ["", "\n# only a comment\n"])
def test_empty_file(tmp_path, text):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r": run file is empty"):
        load_run(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r": run file not found"):
        load_run(tmp_path / "nope.toml")


def test_not_utf8(tmp_path):
    p = tmp_path / "run.toml"
    p.write_bytes(b'name = "r\xff"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_run(p)


def test_config_error_is_value_error():
    with pytest.raises(ValueError, match="key 'name'"):
        parse_run({"name": "../x"})


def test_parse_run_defaults(tmp_path):
    run = parse_run({"name": "r"}, base=tmp_path)
    assert run.dataset == (tmp_path / "../distributions").resolve()
    assert run.path is None
    assert run.baseline == Scenario()
    assert run.scenarios == ()


def test_scenarios_inherit_baseline_switches(tmp_path):
    p = write(tmp_path, 'name = "r"\n[scenario]\nclean_energy_factor = 0.5\n'
                        '[[scenarios]]\nname = "lfp"\nlfp_share = 1.0\n'
                        '[[scenarios]]\nname = "cu"\n[scenarios.recycled_share]\ncopper = 0.5\n')
    run = load_run(p)
    assert run.baseline.clean_energy_factor == 0.5
    lfp, cu = (s.switches for s in run.scenarios)
    assert (lfp.lfp_share, lfp.clean_energy_factor) == (1.0, 0.5)
    assert cu.recycled_share == {"copper": 0.5}


def test_name_with_trailing_newline_rejected(tmp_path):
    p = write(tmp_path, 'name = "abc\\n"\n')
    with pytest.raises(ConfigError, match="key 'name'"):
        load_run(p)


def test_by_as_string_reported_whole(tmp_path):
    p = write(tmp_path, 'name = "r"\n[sensitivity]\nby = "mine"\n')
    with pytest.raises(ConfigError, match=r"key 'sensitivity\.by'.*\(got 'mine'\)$"):
        load_run(p)
