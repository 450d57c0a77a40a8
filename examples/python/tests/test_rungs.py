"""Every rung passes its kernel's check at a small size; the checks reject wrong results."""

import importlib
from pathlib import Path

import numpy as np
import pytest

import common
from common import CheckError, Problem
from harness import KERNELS, load

MODULES = {kernel: importlib.import_module(name) for kernel, name in KERNELS}
ALL_RUNGS = [(kernel, rung) for kernel, module in MODULES.items() for rung in module.RUNGS]


@pytest.mark.parametrize("kernel,rung", ALL_RUNGS,
                         ids=[f"{k}/{r.variant}" for k, r in ALL_RUNGS])
def test_rung_passes_its_check_at_small_size(kernel, rung):
    module = MODULES[kernel]
    func, reason = load(rung)
    if func is None:
        pytest.skip(reason)
    problem = module.SMALL_PROBLEM
    result = func(*module.prepare(problem))
    verdict = module.check(problem, result, rung)
    assert verdict.summary


def test_splitmix64_matches_kernels_md():
    assert [common.rand_u64(42, k) for k in range(3)] == [
        13679457532755275413, 2949826092126892291, 5139283748462763858]
    assert common.rand_f64(42, 0) == 0.7415648787718233
    k = np.arange(1000, dtype=np.uint64)
    assert common.rand_u64_array(42, k).tolist() == [common.rand_u64(42, i) for i in range(1000)]
    assert common.rand_f64_array(7, k).tolist() == [common.rand_f64(7, i) for i in range(1000)]


def test_kmeans_points_match_kernels_md():
    X = MODULES["kmeans"].make_points(200_000, 8, 16, 2024)
    assert X[0, 0] == 4.042914384357945
    assert X[1, 0] == 1.7792394865890293
    assert X[199999, 7] == 3.7122203436439034


def test_small_references_agree_with_pure_python():
    """The small-size references come from NumPy rungs; pure Python agrees exactly."""
    mc = MODULES["pi-monte-carlo"]
    p = mc.SMALL_PROBLEM
    assert mc.reference(p.n, p.seed) == mc.hits_python(p.n, p.seed)
    for kernel in ("mandelbrot", "julia"):
        module = MODULES[kernel]
        p = module.SMALL_PROBLEM
        image, _, _ = module.reference(p.n, p.m)
        assert np.array_equal(image, np.array(module.run("py-pure", p)))


def test_full_size_references_hold_for_cheap_rungs():
    """The KERNELS.md values themselves, through rungs that take well under a second."""
    mc = MODULES["pi-monte-carlo"]
    mc.check(mc.DEFAULT_PROBLEM, mc.run("py-numpy-chunked"), "py-numpy-chunked")
    pi = MODULES["pi-integration"]
    assert pi.check(pi.DEFAULT_PROBLEM, pi.run("py-numpy"), "py-numpy").error < 1e-12
    assert "6.2e-14" in pi.check(pi.DEFAULT_PROBLEM, 3.141592653589731, "py-x").summary
    with pytest.raises(CheckError, match="pi-integration/py-x"):
        pi.check(pi.DEFAULT_PROBLEM, np.pi + 2e-12, "py-x")
    mandel = MODULES["mandelbrot"]
    image, total, maxed = mandel.reference(1000, 1000)  # raises if not 47,554,280 / 169,267
    assert (total, maxed) == (47_554_280, 169_267)


@pytest.mark.parametrize("kernel,wrong", [
    ("pi-integration", 3.1416),
    ("pi-monte-carlo", 39_000),
    ("random-walk", 12345),
])
def test_wrong_scalar_results_fail_naming_rung_expected_and_got(kernel, wrong):
    module = MODULES[kernel]
    with pytest.raises(CheckError) as info:
        module.check(module.SMALL_PROBLEM, wrong, "py-broken")
    message = str(info.value)
    assert f"{kernel}/py-broken" in message
    assert "expected" in message and "got" in message
    assert str(wrong) in message


def test_monte_carlo_statistical_check_is_looser_but_still_checks():
    mc = MODULES["pi-monte-carlo"]
    p = Problem(n=10**6, seed=42)
    close = round(np.pi / 4 * p.n) + 300  # off the exact count, well within 4 sigma
    mc.check(p, close, "py-numpy-rng")
    with pytest.raises(CheckError):
        mc.check(p, close, "py-numpy")  # the project's generator must be exact
    with pytest.raises(CheckError):
        mc.check(p, round(0.78 * p.n), "py-numpy-rng")  # 3.12: far outside 4 sigma


def test_fractal_check_tolerates_few_differing_pixels_only():
    mandel = MODULES["mandelbrot"]
    p = Problem(n=200, m=100)
    image = np.array(mandel.reference(p.n, p.m)[0])
    # 0.01% of 20,000 pixels is 2: two changed pixels pass and are reported ...
    changed = image.copy()
    changed[50, 10] += 1
    changed[50, 11] -= 1
    assert "2 of 20000 pixels differ" in mandel.check(p, changed, "py-x").summary
    # ... three do not.
    changed[60, 12] = (changed[60, 12] + 1) % 256
    with pytest.raises(CheckError, match="3 differing pixels"):
        mandel.check(p, changed, "py-x")
    with pytest.raises(CheckError, match="shape"):
        mandel.check(p, image[:-1], "py-x")


def test_kmeans_check_rejects_wrong_inertia_and_sizes():
    km = MODULES["kmeans"]
    p = km.SMALL_PROBLEM
    inertia, sizes = km.reference(p.n, p.m, p.seed)
    km.check(p, (inertia * (1 + 5e-10), sizes), "py-x")
    with pytest.raises(CheckError, match="relative error"):
        km.check(p, (inertia * (1 + 2e-9), sizes), "py-x")
    wrong_sizes = list(sizes)
    wrong_sizes[0] += 1
    wrong_sizes[1] -= 1
    with pytest.raises(CheckError, match="sizes"):
        km.check(p, (inertia, wrong_sizes), "py-x")


@pytest.mark.parametrize("kernel,rung", ALL_RUNGS,
                         ids=[f"{k}/{r.variant}" for k, r in ALL_RUNGS])
def test_every_rung_has_its_anchor_and_a_lesson(kernel, rung):
    """Chapters include exactly the measured code by anchor: it must be there, once."""
    text = (Path(common.__file__).parent / rung.source).read_text()
    assert rung.variant.startswith("py-")
    assert text.count(f"# ANCHOR: {rung.anchor_name}\n") == 1
    assert text.count(f"# ANCHOR_END: {rung.anchor_name}\n") == 1
    assert rung.lesson.endswith(".") and len(rung.lesson) < 120


@pytest.mark.parametrize("kernel", sorted(MODULES))
def test_every_kernel_module_anchors_its_check(kernel):
    text = open(MODULES[kernel].__file__).read()
    assert text.count("# ANCHOR: check\n") == 1 and text.count("# ANCHOR_END: check\n") == 1
