"""Tests of ``uncertainty bench``: it runs, its JSON has the contract's keys with positive
finite values, and its NumPy reference computes the same inputs as the package.

No timing is asserted (the machine is shared); the figures are reported, not tested.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest
from conftest import write_dataset

from uncertainty import bench, rng
from uncertainty.cli import main
from uncertainty.config import parse_run
from uncertainty.data import load_dataset
from uncertainty.model import build_model, evaluate, evaluate_reference
from uncertainty.space import build_space

KEYS = [
    "kernel_mine_evals_per_s", "kernel_mine_evals_per_s_best", "reference_mine_evals_per_s",
    "kernel_vs_reference",
    "sobol_seconds", "sobol_peak_rss_mb", "sobol_n_params", "sobol_n_base", "analyze_vs_salib",
    "samples", "n_mines", "threads", "machine", "kernel_ns_per_mine_one_thread",
    "kernel_thread_scaling",
]  # fmt: skip


@pytest.fixture(scope="module")
def quick():
    """``uncertainty bench --quick --json`` run once, in process: (exit code, stdout)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["bench", "--quick", "--json"])
    return code, buf.getvalue()


def test_bench_quick_json_has_positive_finite_keys(quick):
    code, out = quick
    assert code == 0
    res = json.loads(out)
    for key in KEYS:
        v = res[key]
        assert isinstance(v, int | float) and not isinstance(v, bool), key
        assert math.isfinite(v) and v > 0, (key, v)
    assert res["quick"] is True
    assert (res["samples"], res["n_mines"], res["sobol_n_base"]) == (2000, 1784, 256)
    assert res["sobol_n_params"] == res["n_params"] >= res["sobol_n_factors"]
    assert res["kernel_vs_reference"] == pytest.approx(
        res["kernel_mine_evals_per_s"] / res["reference_mine_evals_per_s"])
    # the reported rate is the median of the timed passes, never better than the best
    times = res["kernel_repeat_seconds"]
    assert len(times) == 3 and res["kernel_seconds"] == sorted(times)[1]
    assert res["kernel_mine_evals_per_s"] <= res["kernel_mine_evals_per_s_best"]
    assert res["analyze_max_abs_diff"] < 1e-10  # ours and SALib agree on the same Y
    # the one-thread figure: its scaling is the reported rate against one thread's
    assert res["kernel_thread_scaling"] == pytest.approx(
        res["kernel_mine_evals_per_s_best"] * res["kernel_ns_per_mine_one_thread"] * 1e-9)
    assert res["kernel_one_thread_samples"] == 2000  # min(samples, 16,000)


def test_bench_restores_the_thread_count(quick):
    """The single-thread passes set numba's thread count back (also for a later run)."""
    import numba

    assert json.loads(quick[1])["threads"] == numba.get_num_threads()


def test_format_bench_names_every_part(quick):
    text = bench.format_bench(json.loads(quick[1]))
    for word in ("kernel", "reference", "Sobol", "SALib", "peak RSS", "mine-evaluations/s",
                 "ns per mine-evaluation", "one thread"):
        assert word in text


@pytest.mark.parametrize("samples", [0, -5, 1.5, True])
def test_run_bench_rejects_bad_samples(samples):
    with pytest.raises(ValueError, match="positive integer"):
        bench.run_bench(samples=samples, quick=True)


@pytest.mark.parametrize("rho", [0.0, 0.7])
def test_reference_inputs_equal_the_transform(tmp_path, rho):
    """The bench's NumPy path (uniforms_numpy -> each row's ppf -> copula) computes the
    same inputs as rng.uniforms -> ParameterSpace.transform, and the reference model the
    same outputs as the kernel (one-member Dirichlet groups: 1.0 in both)."""
    folder = write_dataset(tmp_path, mines={(0, "recovery_sd"): "0.05"})
    ds = load_dataset(folder)
    model = build_model(ds)
    run = parse_run({"name": "b", "dataset": str(folder),
                     "montecarlo": {"grade_stripping_correlation": rho}})
    space = build_space(run, ds, model)
    params = space.parameter_indices()
    samples = np.arange(100, 164)
    u = bench.reference_uniforms(space, 9, samples)
    np.testing.assert_array_equal(u, rng.uniforms(9, 100, 64, params))
    got = bench.reference_inputs(space, u)
    want = space.transform(u)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(evaluate_reference(model, *got), evaluate(model, *want),
                               rtol=1e-12, atol=0.0)
