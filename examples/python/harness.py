"""Measures the Python rungs with the same rules as perfguide's Rust engine; writes JSON.

    python examples/python/harness.py [--filter GLOB ...] [--quick] [--budget SECONDS]
                                      [--list] [--json OUT]

Rules, for each rung (`kernel/variant`, e.g. mandelbrot/py-numba):
1. Imports and set-up (making the k-means points, loading a Cython extension) happen
   outside any timing. A rung that cannot be loaded here (Numba or scikit-learn missing,
   Cython extension not built) is a record with status "skipped" and the reason.
2. The first call is timed on its own (`first_call_s`: for Numba, the JIT compilation),
   and its result goes through the kernel's check BEFORE any time is recorded. A wrong
   result is a record with status "failed"; it is never timed.
3. Warm-up: further calls for at least 0.1 s (at least one call), skipped when the first
   call took over 1 s (that call has warmed everything up already).
4. Calibration: `iterations_per_sample` calls per sample, so that a sample lasts >= 10 ms.
5. Samples (wall: time.perf_counter_ns; CPU of the whole process, all threads:
   time.process_time_ns) until the 95% confidence interval of the median is within +-2%
   of it, or the rung's budget (warm-up plus samples) is spent; at least 6 samples (the
   fewest whose range is a 95% interval of the median), or 3 for rungs slower than 1 s. Every run is at the full KERNELS.md problem size: a slow
   rung gets fewer samples, never a smaller problem. Samples are stored per call
   (sample time / iterations_per_sample), in seconds.
6. Single-threaded rungs run with BLAS and OpenMP pools limited to one thread (via
   threadpoolctl), so `threads: 1` is true of NumPy's matrix product too.
7. The machine's and this process's CPU tick counters (/proc/stat, /proc/self/stat) are
   read just before and just after the samples (`cpu_ticks_before`, `cpu_ticks_after`);
   perfguide works out from them how much CPU other processes used and the hypervisor
   stole meanwhile, and flags the record when either is too much.

The confidence interval of the median is the distribution-free one from order statistics
(ranks from the binomial(n, 1/2) distribution); below 6 samples no pair of ranks reaches
95% and the interval is [min, max].

--quick: a 0.5 s budget per rung instead of 5 s, and rungs marked heavy (one call takes
tens of seconds: pure Python Monte Carlo, random walk and k-means) are skipped unless a
--filter names them exactly. Exit status: 0 when every selected rung passed (or was
skipped), 1 when a rung failed its check or raised (the JSON is written all the same),
2 for bad usage.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import importlib
import importlib.metadata
import json
import math
import os
import platform
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# (kernel id, module) in the order of shared/KERNELS.md
KERNELS = [
    ("pi-integration", "pi_integration"),
    ("pi-monte-carlo", "pi_monte_carlo"),
    ("mandelbrot", "mandelbrot"),
    ("julia", "julia"),
    ("random-walk", "random_walk"),
    ("kmeans", "kmeans"),
]
# The KERNELS.md problems, for records of kernels whose module cannot even be imported.
DEFAULT_PROBLEMS = {
    "pi-integration": {"n": 10**7, "m": 0, "seed": 0},
    "pi-monte-carlo": {"n": 10**7, "m": 0, "seed": 42},
    "mandelbrot": {"n": 1000, "m": 1000, "seed": 0},
    "julia": {"n": 1000, "m": 1000, "seed": 0},
    "random-walk": {"n": 100_000, "m": 1000, "seed": 7},
    "kmeans": {"n": 200_000, "m": 10, "seed": 2024},
}
# Distributions whose versions go into the JSON (those installed).
PACKAGES = ["numpy", "numba", "llvmlite", "cython", "scikit-learn", "scipy",
            "threadpoolctl", "setuptools"]
SOURCE_PREFIX = "examples/python/"
DISTRIBUTIONS = {"sklearn": "scikit-learn"}  # import name -> the name pip installs

TARGET_SAMPLE_S = 0.010  # a sample lasts at least 10 ms
SLOW_CALL_S = 1.0  # rungs slower than this need only 3 samples
MIN_SAMPLES, MIN_SAMPLES_SLOW = 6, 3  # 6: min..max covers the median with 96.9%; 5: 93.8%
MAX_SAMPLES = 500
CI_TARGET = 0.02  # stop when the 95% CI of the median is within +-2%
BUDGET_S, QUICK_BUDGET_S = 5.0, 0.5
WARMUP_S = 0.1


# ---------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------

def median(values):
    xs = sorted(values)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def median_ci(values, confidence=0.95):
    """Distribution-free CI of the median: [x_(j), x_(n+1-j)] for the largest j whose
    coverage P(j <= B <= n-j), B ~ binomial(n, 1/2), is at least `confidence`."""
    xs = sorted(values)
    n = len(xs)
    best = None
    below = 0  # P(B <= j-1) * 2**n
    for j in range(1, n // 2 + 1):
        below += math.comb(n, j - 1)
        if 1 - 2 * below / 2**n >= confidence:
            best = j
        else:
            break
    if best is None:
        return xs[0], xs[-1]
    return xs[best - 1], xs[n - best]


def ci_relative_halfwidth(values):
    mid = median(values)
    lo, hi = median_ci(values)
    return max(mid - lo, hi - mid) / mid if mid > 0 else math.inf


# ---------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------

def python_info():
    return {"version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable}


def package_versions():
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def missing_requirement(rung):
    """Why the rung cannot run here (a module it needs is missing or broken), or None."""
    for module in rung.requires:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            return f"{DISTRIBUTIONS.get(module, module)} is not installed"
        except Exception as exc:  # installed but broken, e.g. built for another NumPy
            return f"{module} cannot be imported ({type(exc).__name__}: {exc})"
    if getattr(rung.func, "numba_missing", None):
        return "numba is not installed"
    return None


def load(rung):
    """(function, None) or (None, reason why it cannot be loaded)."""
    reason = missing_requirement(rung)
    if reason:
        return None, reason
    if rung.loader is None:
        return rung.func, None
    try:
        return rung.loader(), None
    except ImportError as exc:
        return None, (f"Cython extension not built ({exc}; run python "
                      f"{SOURCE_PREFIX}build_ext.py)")


def thread_count(rung):
    if not rung.threaded:
        return 1
    if rung.threads is not None:
        return int(rung.threads())
    if "numba" in rung.requires:
        import numba

        return numba.get_num_threads()
    try:  # e.g. scikit-learn: the OpenMP pool size
        from threadpoolctl import threadpool_info

        counts = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]
        return max(counts) if counts else os.cpu_count() or 1
    except ImportError:
        return os.cpu_count() or 1


def single_thread_limits():
    """Limits BLAS/OpenMP pools to one thread for a single-threaded rung."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1)


# ---------------------------------------------------------------------------------------
# Measuring one rung
# ---------------------------------------------------------------------------------------

def base_record(kernel, module, rung):
    return {
        "id": f"{kernel}/{rung.variant}",
        "kernel": kernel,
        "variant": rung.variant,
        "lesson": rung.lesson,
        "threads": 1,
        "threaded": rung.threaded,
        "problem": module.DEFAULT_PROBLEM.as_dict(),
        "status": "skipped",
        "reason": None,
        "first_call_s": None,
        "iterations_per_sample": None,
        "samples_wall_s": [],
        "samples_cpu_s": [],
        "check": None,
        "cpu_ticks_before": None,
        "cpu_ticks_after": None,
        "source": {"file": SOURCE_PREFIX + (rung.source or module.__name__ + ".py"),
                   "anchor": rung.anchor_name},
    }


def measure(kernel, module, rung, budget, log):
    """One record for one rung: skipped, failed (wrong result or exception) or ok."""
    record = base_record(kernel, module, rung)
    func, reason = load(rung)
    if func is None:
        record["reason"] = reason
        return record
    try:
        problem = module.DEFAULT_PROBLEM
        args = module.prepare(problem)  # set-up, outside the timing
        record["threads"] = thread_count(rung)
        limits = nullcontext() if rung.threaded else single_thread_limits()
        gc.collect()
        with limits:
            sample(kernel, module, rung, func, problem, args, budget, record)
    except Exception as exc:  # a crash in set-up or in any call: reported, never timed
        log(traceback.format_exc())
        record.update(status="failed", reason=f"{type(exc).__name__}: {exc}",
                      iterations_per_sample=None, samples_wall_s=[], samples_cpu_s=[],
                      cpu_ticks_before=None, cpu_ticks_after=None)
    return record


def sample(kernel, module, rung, func, problem, args, budget, record):
    """The first call, the check, warm-up, calibration and samples, into `record`."""
    clock = time.perf_counter_ns
    start = clock()
    result = func(*args)
    first = (clock() - start) * 1e-9
    record["first_call_s"] = first
    try:  # the check comes before any time is recorded
        verdict = module.check(problem, result, rung)
    except Exception as exc:  # CheckError, or a result the check cannot even read
        message = str(exc) if isinstance(exc, AssertionError) else (
            f"{kernel}/{rung.variant}: its result could not be checked "
            f"({type(exc).__name__}: {exc})")
        record.update(status="failed", reason=message,
                      check={"ok": False, "summary": message, "error": None})
        return
    record["check"] = {"ok": True, "summary": verdict.summary, "error": verdict.error}
    del result

    # Warm-up (the first call already warmed up a slow rung).
    began = clock()
    per_call = first
    if first <= SLOW_CALL_S:
        calls, spent = 0, 0
        while calls == 0 or spent < WARMUP_S * 1e9:
            t0 = clock()
            func(*args)
            elapsed = clock() - t0
            per_call = min(per_call, elapsed * 1e-9) if calls else elapsed * 1e-9
            spent += elapsed
            calls += 1

    # Calibration and samples.
    iterations = max(1, math.ceil(TARGET_SAMPLE_S / max(per_call, 1e-9)))
    wall, cpu = [], []
    ticks_before = cpu_ticks()
    while True:
        c0 = time.process_time_ns()
        t0 = clock()
        for _ in range(iterations):
            func(*args)
        t1 = clock()
        c1 = time.process_time_ns()
        wall.append((t1 - t0) * 1e-9 / iterations)
        cpu.append((c1 - c0) * 1e-9 / iterations)
        if len(wall) >= MAX_SAMPLES:
            break
        # "slower than 1 s" is judged on the samples, not on a first call that may
        # include one-off costs (compilation, page faults of fresh memory)
        minimum = MIN_SAMPLES_SLOW if median(wall) > SLOW_CALL_S else MIN_SAMPLES
        if len(wall) >= minimum and (ci_relative_halfwidth(wall) <= CI_TARGET
                                     or (clock() - began) * 1e-9 >= budget):
            break
    record.update(status="ok", iterations_per_sample=iterations, samples_wall_s=wall,
                  samples_cpu_s=cpu, cpu_ticks_before=ticks_before,
                  cpu_ticks_after=cpu_ticks())


# ---------------------------------------------------------------------------------------
# Who else used the CPU (perfguide's src/cpuacct.rs does the arithmetic)
# ---------------------------------------------------------------------------------------

def _pid_ticks(text, children_too):
    """utime + stime (+ cutime + cstime) of a /proc/<pid>/stat line; fields are counted
    after the last ')' because the command name may contain spaces and parentheses."""
    fields = text[text.rindex(")") + 1:].split()
    ticks = int(fields[11]) + int(fields[12])
    if children_too:
        ticks += int(fields[13]) + int(fields[14])
    return ticks, int(fields[1])


def cpu_ticks():
    """The machine's and this process's CPU tick counters, or None off Linux.

    Taken before and after a rung's samples, instead of by a monitor thread that would
    compete for the GIL with the rung. "own" covers this process's threads, its children
    that have exited and been waited for, and its live children (a rung that starts worker
    processes is not its own competitor)."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
        with open("/proc/self/stat") as f:
            own, _ = _pid_ticks(f.read(), children_too=True)
        me = os.getpid()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == me:
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ticks, parent = _pid_ticks(f.read(), children_too=False)
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile, or not ours to read
            if parent == me:
                own += ticks
        v = [int(x) for x in lines[0].split()[1:9]]
        cpus = sum(1 for line in lines[1:] if line.startswith("cpu") and line[3:4].isdigit())
    except (OSError, ValueError, IndexError):
        return None
    if len(v) < 7:
        return None
    steal = v[7] if len(v) > 7 else 0
    return {"busy": v[0] + v[1] + v[2] + v[5] + v[6], "steal": steal, "total": sum(v),
            "own": own, "cpus": cpus}


# ---------------------------------------------------------------------------------------
# Selection and output
# ---------------------------------------------------------------------------------------

def matches(rung_id, filters):
    """A filter is a glob on ids, or a substring when it has no glob characters."""
    if not filters:
        return True
    for f in filters:
        if any(ch in f for ch in "*?["):
            if fnmatch.fnmatchcase(rung_id, f):
                return True
        elif f in rung_id:
            return True
    return False


def selected(filters):
    """(kernel, module or None, rung or None, import error) for every selected rung."""
    out = []
    for kernel, module_name in KERNELS:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # e.g. NumPy missing: every rung of the kernel is out
            if not filters or any(kernel in f or fnmatch.fnmatchcase(f"{kernel}/py-", f)
                                  for f in filters):
                out.append((kernel, None, None, f"{module_name}.py cannot be imported: {exc}"))
            continue
        for rung in module.RUNGS:
            if matches(f"{kernel}/{rung.variant}", filters):
                out.append((kernel, module, rung, None))
    return out


def format_seconds(s):
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} us"


def write_json(document, out):
    text = json.dumps(document, indent=1) + "\n"
    if out == "-":
        sys.stdout.write(text)
        return
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)  # readers never see a half-written file


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", action="append", default=[], metavar="GLOB",
                        help="glob or substring on kernel/variant ids (repeatable)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_BUDGET_S} s per rung; heavy rungs left out")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help=f"time per rung for warm-up and samples (default {BUDGET_S})")
    parser.add_argument("--list", action="store_true",
                        help="list the rungs and whether each can run here")
    parser.add_argument("--json", metavar="OUT", default="-",
                        help="write the JSON here (default: standard output)")
    args = parser.parse_args(argv)
    if args.budget is not None and not args.budget > 0:
        parser.error("--budget must be a positive number of seconds")
    budget = args.budget or (QUICK_BUDGET_S if args.quick else BUDGET_S)

    def log(text):
        print(text, file=sys.stderr, flush=True)

    chosen = selected(args.filter)
    if not chosen:
        log(f"no rung matches {' '.join(args.filter)} (see --list)")
        return 2

    if args.list:
        rows = []
        for kernel, module, rung, error in chosen:
            if rung is None:
                rows.append({"id": f"{kernel}/*", "available": False, "reason": error})
                continue
            _, reason = load(rung)
            rows.append({"id": f"{kernel}/{rung.variant}", "kernel": kernel,
                         "variant": rung.variant, "lesson": rung.lesson,
                         "threaded": rung.threaded, "heavy": rung.heavy,
                         "available": reason is None, "reason": reason,
                         "source": {"file": SOURCE_PREFIX + (rung.source or
                                                            module.__name__ + ".py"),
                                    "anchor": rung.anchor_name}})
        for row in rows:
            state = "ok" if row["available"] else f"skipped: {row['reason']}"
            print(f"{row['id']:34s} {state}")
        if args.json != "-":
            write_json({"schema": 1, "python": python_info(), "packages": package_versions(),
                        "rungs": rows}, args.json)
        return 0

    def load_average():
        try:
            return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        except OSError:
            return "load average unknown"

    log(f"Python {platform.python_version()} at {sys.executable}; {os.cpu_count()} logical "
        f"CPUs; {load_average()}; budget {budget:g} s per rung")
    records = []
    started = time.perf_counter()
    exact_ids = {f for f in args.filter if not any(ch in f for ch in "*?[")}
    for kernel, module, rung, error in chosen:
        if rung is None:  # the kernel's module itself cannot be imported (no NumPy?)
            records.append({
                "id": f"{kernel}/*", "kernel": kernel, "variant": "*", "lesson": "",
                "threads": 1, "threaded": False, "problem": DEFAULT_PROBLEMS[kernel],
                "status": "skipped", "reason": error, "first_call_s": None,
                "iterations_per_sample": None, "samples_wall_s": [], "samples_cpu_s": [],
                "check": None, "source": {"file": SOURCE_PREFIX + dict(KERNELS)[kernel]
                                          + ".py", "anchor": ""}})
            log(f"{kernel + '/*':34s} skipped: {error}")
            continue
        rung_id = f"{kernel}/{rung.variant}"
        if args.quick and rung.heavy and rung_id not in exact_ids:
            record = base_record(kernel, module, rung)
            record["reason"] = ("left out of --quick: one call takes tens of seconds "
                                "(run without --quick, or name it with --filter)")
        else:
            log(f"{rung_id:34s} ...")
            record = measure(kernel, module, rung, budget, log)
        records.append(record)
        if record["status"] == "ok":
            wall = record["samples_wall_s"]
            log(f"{rung_id:34s} ok: first call {format_seconds(record['first_call_s'])}, "
                f"median {format_seconds(median(wall))} "
                f"(+-{100 * ci_relative_halfwidth(wall):.1f}%, {len(wall)} samples x "
                f"{record['iterations_per_sample']}), {record['check']['summary']}")
        else:
            log(f"{rung_id:34s} {record['status']}: {record['reason']}")

    document = {"schema": 1, "python": python_info(), "packages": package_versions(),
                "records": records}
    write_json(document, args.json)
    failed = [r["id"] for r in records if r["status"] == "failed"]
    log(f"{len(records)} rungs in {time.perf_counter() - started:.1f} s: "
        f"{sum(r['status'] == 'ok' for r in records)} ok, {len(failed)} failed, "
        f"{sum(r['status'] == 'skipped' for r in records)} skipped; {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
