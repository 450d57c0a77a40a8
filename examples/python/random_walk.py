"""random-walk: W walkers on the 2-D lattice, T steps each; the sum of x^2 + y^2 at the end.

Step t of walker w moves by d = rand_u64(seed, w*T + t) >> 62: 0 -> x+1, 1 -> x-1,
2 -> y+1, 3 -> y-1 (KERNELS.md). W = 100,000, T = 1,000, seed 7; the mean squared
displacement sum / W should be close to T. Every rung takes (walkers, steps, seed) and
returns the exact integer sum.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from common import (Check, CheckError, Problem, Rung, find_rung, njit, prange, rand_u64,
                    rand_u64_array, rand_u64_jit, rung_name)

KERNEL = "random-walk"
DEFAULT_PROBLEM = Problem(n=100_000, m=1_000, seed=7)  # n = walkers, m = steps
SMALL_PROBLEM = Problem(n=300, m=200, seed=7)
REFERENCE_SUM = 99_986_394  # KERNELS.md


# ANCHOR: py-pure
def walk_python(walkers, steps, seed):
    """Pure Python, walker by walker: 10**8 steps, each one call of the generator.

    Lesson: at half a microsecond per random number the interpreter needs about a minute;
    this is the rung that makes people reach for a compiler.
    """
    total = 0
    for w in range(walkers):
        x = y = 0
        for t in range(steps):
            d = rand_u64(seed, w * steps + t) >> 62
            if d == 0:
                x += 1
            elif d == 1:
                x -= 1
            elif d == 2:
                y += 1
            else:
                y -= 1
        total += x * x + y * y
    return total
# ANCHOR_END: py-pure


# ANCHOR: py-numpy
DX = np.array([1, -1, 0, 0], dtype=np.int64)  # the move in x for directions 0..3
DY = np.array([0, 0, 1, -1], dtype=np.int64)


def walk_numpy(walkers, steps, seed, block=1000):
    """NumPy, walker-major in blocks: all steps of 1,000 walkers at a time.

    Lesson: a block of walkers x steps is one array of counters, one vectorised SplitMix64
    and two table look-ups (DX[d], DY[d]); summing along the steps gives the end points.
    Blocks bound the memory: the whole problem at once would need 800 MB per array.
    """
    total = 0
    offsets = np.arange(steps, dtype=np.uint64)
    for w0 in range(0, walkers, block):
        w = np.arange(w0, min(w0 + block, walkers), dtype=np.uint64)
        d = rand_u64_array(seed, w[:, None] * np.uint64(steps) + offsets) >> np.uint64(62)
        x = DX[d].sum(axis=1)
        y = DY[d].sum(axis=1)
        total += int(np.sum(x * x + y * y))
    return total
# ANCHOR_END: py-numpy


# ANCHOR: py-numpy-step-major
def walk_numpy_step_major(walkers, steps, seed):
    """NumPy, step-major: all walkers take step t together, T times.

    Lesson: the same arithmetic in the other loop order keeps only the positions (two
    arrays of W integers, which fit in cache) and no W x T array, at the price of 1,000
    passes of small NumPy calls.
    """
    base = np.arange(walkers, dtype=np.uint64) * np.uint64(steps)  # counter of step 0
    x = np.zeros(walkers, dtype=np.int64)
    y = np.zeros(walkers, dtype=np.int64)
    for t in range(steps):
        d = rand_u64_array(seed, base + np.uint64(t)) >> np.uint64(62)
        x += DX[d]
        y += DY[d]
    return int(np.sum(x * x + y * y))
# ANCHOR_END: py-numpy-step-major


# ANCHOR: py-numba
@njit
def squared_distance(w, steps, seed):
    """x^2 + y^2 at the end of walker w's walk: the pure Python inner loop, compiled."""
    x = 0
    y = 0
    for t in range(steps):
        d = rand_u64_jit(seed, w * steps + t) >> np.uint64(62)
        if d == 0:
            x += 1
        elif d == 1:
            x -= 1
        elif d == 2:
            y += 1
        else:
            y -= 1
    return x * x + y * y


@njit
def walk_numba(walkers, steps, seed):
    """Numba: the pure Python loops, compiled.

    Lesson: the walk needs no arrays at all; two integers per walker live in registers
    and the generator is inlined into the step loop.
    """
    total = 0
    for w in range(walkers):
        total += squared_distance(w, steps, seed)
    return total
# ANCHOR_END: py-numba


# ANCHOR: py-numba-branchless
@njit
def squared_distance_branchless(w, steps, seed):
    """The same walk with the if/elif chain replaced by arithmetic on comparisons."""
    x = 0
    y = 0
    for t in range(steps):
        d = rand_u64_jit(seed, w * steps + t) >> np.uint64(62)
        x += (d == 0) - (d == 1)  # a comparison counts as 1 or 0: no branch to predict
        y += (d == 2) - (d == 3)
    return x * x + y * y


@njit
def walk_numba_branchless(walkers, steps, seed):
    """Numba without branches in the step loop.

    Lesson: the direction is random, so the CPU mispredicts the if/elif chain on about
    half the steps and throws away the work it started; computing both moves from the
    comparisons has no branch to mispredict and lets the compiler vectorise the loop.
    """
    total = 0
    for w in range(walkers):
        total += squared_distance_branchless(w, steps, seed)
    return total
# ANCHOR_END: py-numba-branchless


# ANCHOR: py-numba-parallel
@njit(parallel=True)
def walk_numba_parallel(walkers, steps, seed):
    """Numba with prange over walkers (branch-free steps): independent streams.

    Lesson: walker w draws counters w*T .. w*T + T-1 wherever it runs, so the parallel sum
    is exactly the serial one.
    """
    total = 0
    for w in prange(walkers):
        total += squared_distance_branchless(w, steps, seed)
    return total
# ANCHOR_END: py-numba-parallel


RUNGS = [
    Rung("py-pure", walk_python, "10**8 interpreted generator calls take about a "
         "minute.", heavy=True, source="random_walk.py"),
    Rung("py-numpy", walk_numpy, "Blocks of walkers x steps vectorise the generator and "
         "the moves.", source="random_walk.py"),
    Rung("py-numpy-step-major", walk_numpy_step_major, "Stepping all walkers together "
         "trades big arrays for many small calls.", source="random_walk.py"),
    Rung("py-numba", walk_numba, "Compiled, the walk needs no arrays: positions stay in "
         "registers.", requires=("numba",), source="random_walk.py"),
    Rung("py-numba-branchless", walk_numba_branchless, "Random branches are mispredicted; "
         "arithmetic on comparisons has none.", requires=("numba",), source="random_walk.py"),
    Rung("py-numba-parallel", walk_numba_parallel, "Counter-based streams make parallel "
         "walkers exactly reproducible.", threaded=True, requires=("numba",),
         source="random_walk.py"),
]


def prepare(problem: Problem):
    return (problem.n, problem.m, problem.seed)


@lru_cache(maxsize=8)
def reference(walkers: int, steps: int, seed: int) -> int:
    """KERNELS.md's sum at the default problem; otherwise the pure Python rung's."""
    if (walkers, steps, seed) == (DEFAULT_PROBLEM.n, DEFAULT_PROBLEM.m, DEFAULT_PROBLEM.seed):
        return REFERENCE_SUM
    return walk_python(walkers, steps, seed)


# ANCHOR: check
def check(problem: Problem, result: int, rung=None) -> Check:
    """Exact: the sum of squared end-point distances must equal the reference."""
    expected = reference(problem.n, problem.m, problem.seed)
    total = int(result)
    if total != expected:
        raise CheckError(rung_name(KERNEL, rung), f"sum = {expected} (exact)",
                         f"sum = {total}")
    return Check(f"sum = {total} (exact), MSD = {total / problem.n:.2f}")
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
            print(f"{r.variant:22s}", check(DEFAULT_PROBLEM, run(r), r).summary)
        except ImportError as exc:
            print(f"{r.variant:22s} skipped: {exc}")
