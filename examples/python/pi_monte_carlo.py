"""pi-monte-carlo: pi from the fraction of random points inside the quarter circle.

Point i is (rand_f64(seed, 2i), rand_f64(seed, 2i+1)) with the project's counter-based
SplitMix64 (common.py); a hit is x*x + y*y < 1; pi_N = 4 * hits / N, N = 10**7, seed 42.
Every rung takes (n, seed) and returns the number of hits; on the project's generator that
number is exact (7,855,729), so every such rung must reproduce it to the point.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from common import (Check, CheckError, Problem, Rung, find_rung, njit, prange,
                    rand_f64, rand_f64_array, rand_f64_jit, rung_name)

KERNEL = "pi-monte-carlo"
DEFAULT_PROBLEM = Problem(n=10**7, seed=42)
SMALL_PROBLEM = Problem(n=50_000, seed=42)
REFERENCE_HITS = 7_855_729  # KERNELS.md, N = 10**7, seed 42


# ANCHOR: py-pure
def hits_python(n, seed):
    """Pure Python: two calls of the generator and a comparison per point.

    Lesson: each random number costs a function call and a dozen big-integer operations
    (Python ints never overflow, so SplitMix64 must mask to 64 bits after each multiply).
    """
    hits = 0
    for i in range(n):
        x = rand_f64(seed, 2 * i)
        y = rand_f64(seed, 2 * i + 1)
        if x * x + y * y < 1.0:
            hits += 1
    return hits
# ANCHOR_END: py-pure


# ANCHOR: py-numpy
def hits_numpy(n, seed):
    """NumPy: SplitMix64 on an array of all 2N counters at once (wrapping uint64).

    Lesson: the counter-based generator vectorises directly (any element can compute its
    own random number), at the price of several 160 MB temporary arrays.
    """
    u = rand_f64_array(seed, np.arange(2 * n, dtype=np.uint64))
    x, y = u[0::2], u[1::2]
    return int(np.count_nonzero(x * x + y * y < 1.0))
# ANCHOR_END: py-numpy


# ANCHOR: py-numpy-chunked
def hits_numpy_chunked(n, seed, chunk=1 << 16):
    """NumPy in chunks of 65,536 points: the same arithmetic on arrays that fit in cache.

    Lesson: whole-array NumPy streams every temporary through main memory; working in
    cache-sized blocks keeps them in L2, for the cost of a short Python loop.
    """
    hits = 0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        u = rand_f64_array(seed, np.arange(2 * start, 2 * stop, dtype=np.uint64))
        x, y = u[0::2], u[1::2]
        hits += int(np.count_nonzero(x * x + y * y < 1.0))
    return hits
# ANCHOR_END: py-numpy-chunked


# ANCHOR: py-numpy-rng
def hits_numpy_rng(n, seed):
    """NumPy's own generator (PCG64 behind np.random.default_rng): a different stream.

    Lesson: a library generator is fast and good, but its numbers are not ours, so the
    result can only be checked statistically, not to the last hit.
    """
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    y = rng.random(n)
    return int(np.count_nonzero(x * x + y * y < 1.0))
# ANCHOR_END: py-numpy-rng


# ANCHOR: py-numba
@njit
def hits_numba(n, seed):
    """Numba: the pure Python loop, compiled, with SplitMix64 inlined into it.

    Lesson: uint64 arithmetic wraps in machine code exactly as SplitMix64 wants, with no
    temporaries at all.
    """
    hits = 0
    for i in range(n):
        x = rand_f64_jit(seed, 2 * i)
        y = rand_f64_jit(seed, 2 * i + 1)
        if x * x + y * y < 1.0:
            hits += 1
    return hits
# ANCHOR_END: py-numba


# ANCHOR: py-numba-parallel
@njit(parallel=True)
def hits_numba_parallel(n, seed):
    """Numba with prange: the points are split between threads.

    Lesson: a counter-based generator makes parallel Monte Carlo reproducible; every
    thread computes exactly the numbers the serial loop would, so the hits are identical.
    """
    hits = 0
    for i in prange(n):
        x = rand_f64_jit(seed, 2 * i)
        y = rand_f64_jit(seed, 2 * i + 1)
        if x * x + y * y < 1.0:
            hits += 1
    return hits
# ANCHOR_END: py-numba-parallel


RUNGS = [
    Rung("py-pure", hits_python, "Each random number costs an interpreted call and "
         "masked big-integer arithmetic.", heavy=True, source="pi_monte_carlo.py"),
    Rung("py-numpy", hits_numpy, "A counter-based generator vectorises over all counters "
         "at once.", source="pi_monte_carlo.py"),
    Rung("py-numpy-chunked", hits_numpy_chunked, "Cache-sized chunks keep NumPy's "
         "temporaries out of main memory.", source="pi_monte_carlo.py"),
    Rung("py-numpy-rng", hits_numpy_rng, "NumPy's own generator is a different stream, "
         "checked statistically.", exact=False, source="pi_monte_carlo.py"),
    Rung("py-numba", hits_numba, "Compiled uint64 arithmetic wraps for free, with no "
         "temporaries.", requires=("numba",), source="pi_monte_carlo.py"),
    Rung("py-numba-parallel", hits_numba_parallel, "Counter-based random numbers make the "
         "parallel result identical to the serial one.", threaded=True,
         requires=("numba",), source="pi_monte_carlo.py"),
]


def prepare(problem: Problem):
    return (problem.n, problem.seed)


@lru_cache(maxsize=8)
def reference(n: int, seed: int) -> int:
    """Hits on the project's generator: KERNELS.md's value, or the NumPy rung's count."""
    if (n, seed) == (DEFAULT_PROBLEM.n, DEFAULT_PROBLEM.seed):
        return REFERENCE_HITS
    return hits_numpy(n, seed)


def statistical_bound(n: int) -> float:
    """KERNELS.md: |pi_N - pi| < 4 * sqrt(pi/4 * (1 - pi/4) / N) * 4 (four standard errors)."""
    p = math.pi / 4
    return 4 * math.sqrt(p * (1 - p) / n) * 4


# ANCHOR: check
def check(problem: Problem, result: int, rung=None) -> Check:
    """Exact hits on the project's generator; a statistical bound for any other one."""
    name = rung_name(KERNEL, rung)
    hits = int(result)
    pi_n = 4 * hits / problem.n
    error = abs(pi_n - math.pi)
    described = find_rung(RUNGS, rung)
    if described is not None and not described.exact:
        bound = statistical_bound(problem.n)
        if not error < bound:
            raise CheckError(name, f"|pi_N - pi| < {bound:.2e} (4 standard errors)",
                             f"pi_N = {pi_n!r} (error {error:.2e})")
        return Check(f"pi_N = {pi_n}, |pi_N - pi| = {error:.1e} < {bound:.1e} "
                     "(statistical)", error)
    expected = reference(problem.n, problem.seed)
    if hits != expected:
        raise CheckError(name, f"hits = {expected} (exact)", f"hits = {hits}")
    return Check(f"hits = {hits} (exact), pi_N = {pi_n}", error)
# ANCHOR_END: check


def run(rung, problem: Problem = DEFAULT_PROBLEM):
    rung = find_rung(RUNGS, rung)
    func = rung.loader() if rung.loader else rung.func
    return func(*prepare(problem))


if __name__ == "__main__":
    for r in RUNGS:
        if r.heavy:
            continue
        try:
            print(f"{r.variant:20s}", check(DEFAULT_PROBLEM, run(r), r).summary)
        except ImportError as exc:
            print(f"{r.variant:20s} skipped: {exc}")
