"""The harness: its JSON has exactly the agreed schema; skip, fail and --quick rules hold."""

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import harness
from common import Check, CheckError, Problem, Rung

PYTHON_DIR = Path(harness.__file__).resolve().parent
REPO_ROOT = PYTHON_DIR.parents[1]

RECORD_KEYS = {"id", "kernel", "variant", "lesson", "threads", "threaded", "problem",
               "status", "reason", "first_call_s", "iterations_per_sample",
               "samples_wall_s", "samples_cpu_s", "check", "source",
               "cpu_ticks_before", "cpu_ticks_after"}
TICK_KEYS = {"busy", "steal", "total", "own", "cpus"}


def run_harness(tmp_path, *args, prelude="pass"):
    """Runs harness.py from the repository root like perfguide does; returns the JSON."""
    out = tmp_path / "out.json"
    argv = [str(PYTHON_DIR / "harness.py"), *args, "--json", str(out)]
    code = (f"import sys, runpy; {prelude}; sys.argv = {argv!r}; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stderr


def assert_schema(document):
    assert set(document) == {"schema", "python", "packages", "records"}
    assert document["schema"] == 1
    assert set(document["python"]) == {"version", "implementation", "executable"}
    assert all(isinstance(v, str) for v in document["python"].values())
    assert "numpy" in document["packages"]
    assert all(isinstance(v, str) for v in document["packages"].values())
    for record in document["records"]:
        assert set(record) == RECORD_KEYS, record["id"]
        assert record["id"] == f"{record['kernel']}/{record['variant']}"
        assert record["variant"].startswith("py-")
        assert record["kernel"] in dict(harness.KERNELS)
        assert set(record["problem"]) == {"n", "m", "seed"}
        assert all(isinstance(v, int) for v in record["problem"].values())
        assert isinstance(record["threads"], int) and record["threads"] >= 1
        assert isinstance(record["threaded"], bool)
        assert record["status"] in {"ok", "failed", "skipped"}
        assert set(record["source"]) == {"file", "anchor"}
        source = REPO_ROOT / record["source"]["file"]
        text = source.read_text()
        assert f"ANCHOR: {record['source']['anchor']}\n" in text
        assert f"ANCHOR_END: {record['source']['anchor']}\n" in text
        if record["status"] == "ok":
            assert record["reason"] is None
            assert record["first_call_s"] > 0
            assert record["iterations_per_sample"] >= 1
            n = len(record["samples_wall_s"])
            assert n == len(record["samples_cpu_s"]) >= 3
            assert all(s > 0 for s in record["samples_wall_s"])
            assert all(s >= 0 for s in record["samples_cpu_s"])
            assert set(record["check"]) == {"ok", "summary", "error"}
            assert record["check"]["ok"] is True and record["check"]["summary"]
            before, after = record["cpu_ticks_before"], record["cpu_ticks_after"]
            assert set(before) == set(after) == TICK_KEYS
            assert all(after[k] >= before[k] for k in ("busy", "steal", "total", "own"))
            assert after["cpus"] >= 1
        else:
            assert isinstance(record["reason"], str) and record["reason"]
            assert record["samples_wall_s"] == [] and record["samples_cpu_s"] == []


def test_quick_json_of_a_cheap_rung_matches_the_schema(tmp_path):
    document, _ = run_harness(tmp_path, "--quick", "--filter", "pi-integration/py-numpy")
    assert_schema(document)
    [record] = document["records"]
    assert record["id"] == "pi-integration/py-numpy"
    assert record["status"] == "ok"
    assert record["problem"] == {"n": 10**7, "m": 0, "seed": 0}  # the full size, always
    wall = record["samples_wall_s"]
    assert len(wall) >= (3 if harness.median(wall) > 1.0 else 5)
    assert record["source"] == {"file": "examples/python/pi_integration.py",
                                "anchor": "py-numpy"}
    assert record["check"]["error"] < 1e-12


def test_missing_numba_and_unbuilt_cython_are_skipped_with_reasons(tmp_path):
    document, _ = run_harness(
        tmp_path, "--quick", "--filter", "pi-integration/py-numba*",
        "--filter", "pi-integration/py-cython",
        prelude="sys.modules['numba'] = None; sys.modules['pi_cython'] = None")
    assert_schema(document)
    by_variant = {r["variant"]: r for r in document["records"]}
    assert set(by_variant) == {"py-numba", "py-numba-parallel", "py-cython"}
    for variant in ("py-numba", "py-numba-parallel"):
        assert by_variant[variant]["status"] == "skipped"
        assert by_variant[variant]["reason"] == "numba is not installed"
    assert by_variant["py-cython"]["status"] == "skipped"
    assert by_variant["py-cython"]["reason"].startswith("Cython extension not built")


def test_quick_leaves_heavy_rungs_out_unless_named(tmp_path):
    document, _ = run_harness(tmp_path, "--quick", "--filter", "random-walk/py-pure*")
    assert_schema(document)
    [record] = document["records"]
    assert record["status"] == "skipped" and "--quick" in record["reason"]


def test_list_names_every_rung(tmp_path):
    proc = subprocess.run([sys.executable, str(PYTHON_DIR / "harness.py"), "--list"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "mandelbrot/py-numba-parallel" in proc.stdout
    assert "kmeans/py-sklearn" in proc.stdout


def fake_kernel(result):
    """A one-rung kernel whose rung returns `result` and whose answer is 42."""
    calls = []

    def rung_func(n):
        calls.append(n)
        return result

    def check(problem, value, rung=None):
        if value != 42:
            raise CheckError(f"fake/{rung.variant}", "42", str(value))
        return Check("42 (exact)")

    module = types.SimpleNamespace(__name__="fake", DEFAULT_PROBLEM=Problem(n=3),
                                   prepare=lambda p: (p.n,), check=check)
    return module, Rung("py-fake", rung_func, "A fake rung.", source="fake.py"), calls


def test_a_wrong_result_is_checked_before_any_timing_and_never_timed():
    module, rung, calls = fake_kernel(41)
    record = harness.measure("fake", module, rung, 0.1, lambda text: None)
    assert record["status"] == "failed"
    assert record["reason"] == "fake/py-fake computed a wrong result: expected 42, got 41"
    assert record["check"] == {"ok": False, "summary": record["reason"], "error": None}
    assert record["samples_wall_s"] == [] and record["iterations_per_sample"] is None
    assert calls == [3]  # only the first call ran


def test_a_right_result_is_sampled_per_call():
    module, rung, calls = fake_kernel(42)
    record = harness.measure("fake", module, rung, 0.05, lambda text: None)
    assert record["status"] == "ok" and record["check"]["ok"]
    assert len(record["samples_wall_s"]) >= 5
    # a call takes well under 10 ms, so many calls make one sample
    assert record["iterations_per_sample"] > 100
    assert max(record["samples_wall_s"]) < 1e-3  # stored per call, not per sample


def test_pid_ticks_are_read_after_an_awkward_command_name():
    # after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime ...
    line = "42 (a) b) (c) R 7 42 42 0 -1 4194560 100 0 0 0 250 17 3 4 20 0"
    assert harness._pid_ticks(line, children_too=False) == (267, 7)
    assert harness._pid_ticks(line, children_too=True) == (274, 7)


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="Linux /proc only")
def test_a_rungs_own_child_processes_are_not_counted_as_competitors():
    busy_child = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"
    before = harness.cpu_ticks()
    child = subprocess.Popen([sys.executable, "-c", busy_child])
    try:
        time_child = harness.cpu_ticks()  # the child is alive: counted through its ppid
        assert time_child["own"] >= before["own"]
    finally:
        child.wait(timeout=30)
    after = harness.cpu_ticks()  # reaped: counted through cutime/cstime
    # 0.4 s of the child's CPU is 40 ticks at USER_HZ=100; allow for tick sampling
    assert after["own"] - before["own"] >= 30, (before, after)
    assert after["total"] > before["total"] and after["cpus"] >= 1


def test_an_unreadable_result_is_a_failed_check():
    module, rung, _ = fake_kernel(42)
    module.check = lambda problem, value, rung=None: len(value)  # TypeError on an int
    record = harness.measure("fake", module, rung, 0.1, lambda text: None)
    assert record["status"] == "failed" and record["check"]["ok"] is False
    assert "could not be checked (TypeError" in record["reason"]


def test_an_exception_is_a_failed_record():
    module, rung, _ = fake_kernel(42)
    broken = Rung("py-broken", lambda n: 1 / 0, "Raises.", source="fake.py")
    record = harness.measure("fake", module, broken, 0.1, lambda text: None)
    assert record["status"] == "failed"
    assert record["reason"].startswith("ZeroDivisionError")


def test_a_crash_after_the_check_is_a_failed_record_without_samples():
    module, _, _ = fake_kernel(42)
    calls = []

    def flaky(n):
        calls.append(n)
        if len(calls) > 1:
            raise MemoryError("second call")
        return 42

    rung = Rung("py-flaky", flaky, "Fails on its second call.", source="fake.py")
    record = harness.measure("fake", module, rung, 0.1, lambda text: None)
    assert record["status"] == "failed" and record["reason"] == "MemoryError: second call"
    assert record["samples_wall_s"] == [] and record["iterations_per_sample"] is None


@pytest.mark.parametrize("values,expected", [
    ([1.0, 2.0, 3.0, 4.0, 5.0], (1.0, 5.0)),  # n < 6: no pair of ranks reaches 95%
    (list(range(1, 21)), (6, 15)),  # n = 20: ranks 6 and 15 (95.9% coverage)
])
def test_median_confidence_interval(values, expected):
    assert harness.median_ci(values) == expected


def test_filters_are_globs_or_substrings():
    assert harness.matches("mandelbrot/py-numba", ["mandelbrot/*"])
    assert harness.matches("mandelbrot/py-numba", ["numba"])
    assert not harness.matches("mandelbrot/py-numba", ["julia/*"])
    assert harness.matches("julia/py-pure", [])
