"""What every Python rung shares: problems, rungs, checks and the project's random numbers.

The kernels solve exactly the problems of shared/KERNELS.md, so Python and Rust rungs can be
timed against each other and checked against the same reference values. This module holds
the plumbing (the `Problem` and `Rung` records, the `CheckError` a wrong result raises) and
the counter-based SplitMix64 generator in pure Python and in NumPy.

Nothing here imports Numba, Cython or scikit-learn: a kernel module must import (and its
other rungs must run) on a machine that lacks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

try:  # Numba is optional: without it the Numba rungs are reported as skipped.
    from numba import njit, prange

    NUMBA_MISSING = None
except ImportError as exc:  # pragma: no cover - exercised on machines without Numba
    NUMBA_MISSING = f"numba is not installed ({exc})"

    def njit(*args, **kwargs):
        """Stands in for numba.njit: keeps the plain Python function and marks it."""

        def mark(func):
            func.numba_missing = NUMBA_MISSING
            return func

        if len(args) == 1 and callable(args[0]) and not kwargs:
            return mark(args[0])
        return mark

    prange = range


# ---------------------------------------------------------------------------------------
# Problems, rungs and checks
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem instance, with the same three numbers as the Rust kernels' `Problem`.

    `n` is the main size (slices, points, grid width, walkers, points to cluster), `m` the
    secondary one where a kernel has it (grid height, steps, iterations), `seed` the seed.
    """

    n: int
    m: int = 0
    seed: int = 0

    def as_dict(self) -> dict:
        return {"n": self.n, "m": self.m, "seed": self.seed}


@dataclass(frozen=True)
class Rung:
    """One rung of a kernel's ladder: the function, its lesson and how to run it."""

    variant: str  # e.g. "py-numba"; the id is "<kernel>/<variant>"
    func: Callable  # called as func(*kernel.prepare(problem))
    lesson: str  # one sentence shown in the guide
    threaded: bool = False  # uses more than one thread (Numba prange, OpenMP, ...)
    requires: tuple = ()  # importable modules the rung needs, e.g. ("numba",)
    loader: Callable | None = None  # for compiled extensions: returns the function to call
    exact: bool = True  # False: checked statistically (another random number generator)
    heavy: bool = False  # one call takes tens of seconds: left out of --quick runs
    anchor: str = ""  # the ANCHOR name around its code (defaults to `variant`)
    source: str = ""  # the file holding its code, relative to examples/python/
    threads: Callable | None = None  # the thread count of a threaded non-Numba rung

    @property
    def anchor_name(self) -> str:
        return self.anchor or self.variant


@dataclass(frozen=True)
class Check:
    """The verdict of a passed check: a short summary and, for the pi kernels, the error."""

    summary: str
    error: float | None = None


class CheckError(AssertionError):
    """A rung computed a wrong result. Its message names the rung, the expected and the got."""

    def __init__(self, rung: str, expected: str, got: str):
        self.rung, self.expected, self.got = rung, expected, got
        super().__init__(f"{rung} computed a wrong result: expected {expected}, got {got}")


def rung_name(kernel: str, rung) -> str:
    """The id used in error messages: `kernel/variant` (rung may be a Rung or a name)."""
    variant = getattr(rung, "variant", rung) or "?"
    return f"{kernel}/{variant}"


def find_rung(rungs, rung):
    """The Rung for a Rung or a variant name (None when unknown)."""
    if isinstance(rung, Rung):
        return rung
    return next((r for r in rungs if r.variant == rung), None)


# ---------------------------------------------------------------------------------------
# The project's random numbers: counter-based SplitMix64 (KERNELS.md)
# ---------------------------------------------------------------------------------------

GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1
TWO_POW_MINUS_53 = 1.0 / (1 << 53)


# ANCHOR: rand-python
def rand_u64(seed: int, k: int) -> int:
    """The k-th output of SplitMix64 started at `seed`, straight from the counter.

    Python integers never overflow, so each step masks the result back to 64 bits: that is
    the wrapping arithmetic C, Rust and NumPy's uint64 do for free.
    """
    z = (seed + (k + 1) * GAMMA) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def rand_f64(seed: int, k: int) -> float:
    """The k-th output mapped to [0, 1): its top 53 bits times 2**-53."""
    return (rand_u64(seed, k) >> 11) * TWO_POW_MINUS_53
# ANCHOR_END: rand-python


# ANCHOR: rand-numpy
def rand_u64_array(seed: int, k: np.ndarray) -> np.ndarray:
    """SplitMix64 for a whole array of counters `k` (dtype uint64) at once.

    NumPy's uint64 arithmetic on arrays wraps modulo 2**64, exactly what SplitMix64 needs;
    every constant is a np.uint64 so that no step is promoted to float64.
    """
    z = np.uint64(seed) + (k + np.uint64(1)) * np.uint64(GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def rand_f64_array(seed: int, k: np.ndarray) -> np.ndarray:
    """The outputs for counters `k` mapped to [0, 1) (float64)."""
    return (rand_u64_array(seed, k) >> np.uint64(11)).astype(np.float64) * TWO_POW_MINUS_53
# ANCHOR_END: rand-numpy


# ANCHOR: rand-numba
@njit(inline="always")
def rand_u64_jit(seed, k):
    """SplitMix64 compiled by Numba. Every operand is cast to uint64 first: mixing uint64
    with a (signed) int64 makes Numba fall back to float64, which would silently ruin it."""
    z = np.uint64(seed) + (np.uint64(k) + np.uint64(1)) * np.uint64(GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


@njit(inline="always")
def rand_f64_jit(seed, k):
    return np.float64(rand_u64_jit(seed, k) >> np.uint64(11)) * TWO_POW_MINUS_53
# ANCHOR_END: rand-numba


# ---------------------------------------------------------------------------------------
# Escape-time fractals (Mandelbrot and Julia share their check)
# ---------------------------------------------------------------------------------------

MAX_DIFFERING_FRACTION = 1e-4  # KERNELS.md: at most 0.01% of the pixels may differ


def check_escape_counts(rung: str, counts, reference: np.ndarray, ref_sum: int,
                        ref_maxed: int, max_iter: int) -> Check:
    """KERNELS.md's fractal rule: the sum of the counts and the number of pixels reaching
    max_iter against the reference, with at most 0.01% of the pixels allowed to differ from
    the reference image (boundary pixels that rounding can tip either way)."""
    counts = np.asarray(counts)
    if counts.shape != reference.shape:
        raise CheckError(rung, f"an image of shape {reference.shape}",
                         f"shape {counts.shape}")
    total = int(counts.sum(dtype=np.int64))
    maxed = int(np.count_nonzero(counts == max_iter))
    differing = int(np.count_nonzero(counts != reference))
    allowed = int(MAX_DIFFERING_FRACTION * counts.size)
    # A differing pixel can move the sum by at most max_iter and the max_iter count by one.
    if (differing > allowed or abs(total - ref_sum) > differing * max_iter
            or abs(maxed - ref_maxed) > differing):
        raise CheckError(
            rung,
            f"sum = {ref_sum}, {ref_maxed} pixels at {max_iter}, "
            f"at most {allowed} differing pixels",
            f"sum = {total}, {maxed} pixels at {max_iter}, {differing} differing pixels",
        )
    if differing == 0:
        return Check(f"sum = {total} (exact), {maxed} pixels at {max_iter}")
    return Check(f"sum = {total} (reference {ref_sum}), {maxed} pixels at {max_iter}, "
                 f"{differing} of {counts.size} pixels differ (allowed {allowed})")
