"""pi-integration: pi as the integral of 4/(1+x^2) over [0, 1] by the midpoint rule.

pi_N = h * sum_{i=0}^{N-1} 4/(1+x_i^2) with h = 1/N and x_i = (i + 0.5) h; N = 10**7.
Each rung is a plain function of `n`; its lesson is in its docstring. The summation order
differs between rungs, and so does the last digit: the check reports each rung's error.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from common import Check, CheckError, Problem, Rung, find_rung, njit, prange, rung_name

KERNEL = "pi-integration"
DEFAULT_PROBLEM = Problem(n=10**7)
SMALL_PROBLEM = Problem(n=100_000)
TOLERANCE = 1e-12  # KERNELS.md: |pi_N - pi| < 1e-12 at N = 10**7


# ANCHOR: py-pure
def pi_python(n):
    """Pure Python: one interpreted loop iteration per slice.

    Lesson: every `+`, `*` and `/` is a dynamically typed operation on boxed floats; that
    overhead, not the arithmetic, is what the time measures.
    """
    h = 1.0 / n
    total = 0.0
    for i in range(n):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return h * total
# ANCHOR_END: py-pure


# ANCHOR: py-pure-fsum
def pi_python_fsum(n):
    """Pure Python with math.fsum: the same terms, summed without rounding error.

    Lesson: accuracy has a price too; fsum keeps exact partial sums, so it is slower than
    the plain loop but its only error is that of the terms themselves.
    """
    h = 1.0 / n
    return h * math.fsum(4.0 / (1.0 + ((i + 0.5) * h) ** 2) for i in range(n))
# ANCHOR_END: py-pure-fsum


# ANCHOR: py-numpy
def pi_numpy(n):
    """NumPy: the loop becomes whole-array operations on 10**7 doubles.

    Lesson: the arithmetic runs in compiled loops, but each operation makes a temporary
    array of 80 MB, so the rung is bound by memory traffic; np.sum adds pairwise, which is
    also more accurate than the left-to-right loop.
    """
    h = 1.0 / n
    x = (np.arange(n) + 0.5) * h
    return h * np.sum(4.0 / (1.0 + x * x))
# ANCHOR_END: py-numpy


# ANCHOR: py-numba
@njit
def pi_numba(n):
    """Numba: the pure Python loop, compiled to machine code on its first call.

    Lesson: the same source as the pure Python rung runs as a native loop with no
    temporaries; the first call pays the compilation (see first_call_s).
    """
    h = 1.0 / n
    total = 0.0
    for i in range(n):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return h * total
# ANCHOR_END: py-numba


# ANCHOR: py-numba-parallel
@njit(parallel=True)
def pi_numba_parallel(n):
    """Numba with prange: the slices are split between threads, each with its own sum.

    Lesson: a reduction parallelises by giving each thread a partial sum; the order of the
    additions changes, and with it the last digits of the result.
    """
    h = 1.0 / n
    total = 0.0
    for i in prange(n):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return h * total
# ANCHOR_END: py-numba-parallel


def load_cython():
    """The Cython rung lives in pi_cython.pyx, built by build_ext.py."""
    from pi_cython import pi_cython  # ImportError when the extension is not built

    return pi_cython


RUNGS = [
    Rung("py-pure", pi_python, "An interpreted loop pays for dynamic typing on every "
         "arithmetic operation.", source="pi_integration.py"),
    Rung("py-pure-fsum", pi_python_fsum, "math.fsum sums without rounding error, at a "
         "cost.", source="pi_integration.py"),
    Rung("py-numpy", pi_numpy, "Whole-array NumPy moves the loop into C but streams "
         "80 MB temporaries through memory.", source="pi_integration.py"),
    Rung("py-numba", pi_numba, "Numba compiles the plain loop to native code; the first "
         "call pays the compilation.", requires=("numba",), source="pi_integration.py"),
    Rung("py-numba-parallel", pi_numba_parallel, "prange splits the sum between threads, "
         "each with its own partial sum.", threaded=True, requires=("numba",),
         source="pi_integration.py"),
    Rung("py-cython", None, "Cython with typed C variables compiles the same loop ahead "
         "of time.", loader=load_cython, source="pi_cython.pyx"),
]


def prepare(problem: Problem):
    """The arguments of every rung (set-up is kept out of the timing)."""
    return (problem.n,)


@lru_cache(maxsize=8)
def reference(n: int) -> float:
    """pi_N computed with exactly rounded summation (math.fsum) of the rounded terms."""
    return pi_python_fsum(n)


# ANCHOR: check
def check(problem: Problem, result: float, rung=None) -> Check:
    """KERNELS.md's rule: |pi_N - pi| < 1e-12 at N = 10**7.

    At other sizes the midpoint rule's own error (about h^2/12) exceeds that, so the result
    is compared with pi_N summed exactly (math.fsum) instead.
    """
    name = rung_name(KERNEL, rung)
    value = float(result)
    error = abs(value - math.pi)
    if problem.n == DEFAULT_PROBLEM.n:
        if not error < TOLERANCE:
            raise CheckError(name, f"|pi_N - pi| < {TOLERANCE:g}",
                             f"pi_N = {value!r} (error {error:.2e})")
        return Check(f"pi_N = {value!r}, |pi_N - pi| = {error:.1e}", error)
    expected = reference(problem.n)
    if not abs(value - expected) < TOLERANCE:
        raise CheckError(name, f"pi_N = {expected!r} (within {TOLERANCE:g})", repr(value))
    return Check(f"pi_N = {value!r}, |pi_N - exact pi_N| = {abs(value - expected):.1e}",
                 error)
# ANCHOR_END: check


def run(rung, problem: Problem = DEFAULT_PROBLEM):
    """Runs one rung (a Rung or a variant name) once and returns its result."""
    rung = find_rung(RUNGS, rung)
    func = rung.loader() if rung.loader else rung.func
    return func(*prepare(problem))


if __name__ == "__main__":
    for r in RUNGS:
        try:
            print(f"{r.variant:20s}", check(DEFAULT_PROBLEM, run(r), r).summary)
        except ImportError as exc:
            print(f"{r.variant:20s} skipped: {exc}")
