"""mandelbrot: escape counts of z -> z^2 + c over a 1000 x 1000 grid, at most 256 iterations.

Pixel (row i, column j) is c = (xmin + j*dx) + (ymin + i*dy)i over x in [-2, 1],
y in [-1.5, 1.5]; the escape test comes before each update (KERNELS.md). Every rung takes
(width, height, xmin, xmax, ymin, ymax, max_iter) and returns the counts, row-major.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from common import (Check, CheckError, Problem, Rung, check_escape_counts, find_rung, njit,
                    prange, rung_name)

KERNEL = "mandelbrot"
DEFAULT_PROBLEM = Problem(n=1000, m=1000)  # n = width, m = height
SMALL_PROBLEM = Problem(n=120, m=80)
XMIN, XMAX, YMIN, YMAX = -2.0, 1.0, -1.5, 1.5
MAX_ITER = 256
REFERENCE_SUM = 47_554_280  # KERNELS.md, 1000 x 1000
REFERENCE_MAXED = 169_267  # pixels reaching max_iter


# ANCHOR: py-pure
def escape_count(cr, ci, max_iter):
    """Iterations of z -> z^2 + c, starting from z = 0, before |z| > 2 (at most max_iter)."""
    zr = zi = 0.0
    n = 0
    while n < max_iter:
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > 4.0:
            break
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
        n += 1
    return n


def mandelbrot_python(width, height, xmin, xmax, ymin, ymax, max_iter):
    """Pure Python: a function call and an interpreted loop per pixel.

    Lesson: about 48 million trips round the escape loop, each a handful of bytecodes on
    boxed floats; the interpreter, not the arithmetic, sets the pace.
    """
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    return [[escape_count(xmin + j * dx, ymin + i * dy, max_iter) for j in range(width)]
            for i in range(height)]
# ANCHOR_END: py-pure


def grid(width, height, xmin, xmax, ymin, ymax):
    """The real and imaginary parts of every pixel, as two (height, width) arrays."""
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    re = xmin + np.arange(width) * dx  # the same two roundings as xmin + j*dx
    im = ymin + np.arange(height) * dy
    return np.meshgrid(re, im)


# ANCHOR: py-numpy
def mandelbrot_numpy(width, height, xmin, xmax, ymin, ymax, max_iter):
    """NumPy, whole array: every iteration updates every pixel.

    Lesson: vectorising removes the interpreter from the inner loop, but this version does
    all 256 iterations for all pixels (5x the useful work here), with a temporary array per
    operation; pixels that escaped keep iterating towards inf and NaN, which is harmless
    only because `alive` is never set again (hence the errstate).
    """
    cr, ci = grid(width, height, xmin, xmax, ymin, ymax)
    zr = np.zeros_like(cr)
    zi = np.zeros_like(ci)
    counts = np.zeros(cr.shape, dtype=np.uint32)
    alive = np.ones(cr.shape, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(max_iter):
            zr2 = zr * zr
            zi2 = zi * zi
            alive &= zr2 + zi2 <= 4.0
            counts += alive
            zi = 2.0 * zr * zi + ci
            zr = zr2 - zi2 + cr
    return counts
# ANCHOR_END: py-numpy


# ANCHOR: py-numpy-active
def mandelbrot_numpy_active(width, height, xmin, xmax, ymin, ymax, max_iter):
    """NumPy, active set: iterate only the pixels that have not escaped yet.

    Lesson: the cheapest work is work not done. Each iteration drops the escaped pixels
    (recording their count), so the arrays shrink from a million pixels to the few hundred
    thousand inside or near the set; the extra indexing costs far less than it saves.
    """
    cr, ci = (a.ravel() for a in grid(width, height, xmin, xmax, ymin, ymax))
    index = np.arange(cr.size)  # which pixel each active element belongs to
    counts = np.full(cr.size, max_iter, dtype=np.uint32)  # the value of pixels that stay
    zr = np.zeros_like(cr)
    zi = np.zeros_like(ci)
    for n in range(max_iter):
        zr2 = zr * zr
        zi2 = zi * zi
        escaped = zr2 + zi2 > 4.0
        if escaped.any():
            counts[index[escaped]] = n
            keep = ~escaped
            index, cr, ci = index[keep], cr[keep], ci[keep]
            zr, zi, zr2, zi2 = zr[keep], zi[keep], zr2[keep], zi2[keep]
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
    return counts.reshape(height, width)
# ANCHOR_END: py-numpy-active


# ANCHOR: py-numba
escape_count_jit = njit(escape_count)  # the pure Python function above, compiled


@njit
def mandelbrot_numba(width, height, xmin, xmax, ymin, ymax, max_iter):
    """Numba: the pure Python loops, compiled; the escape loop is the very same function.

    Lesson: Numba compiles `escape_count` unchanged and inlines it into the pixel loops;
    writing into a preallocated uint32 array avoids Python lists altogether.
    """
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    counts = np.empty((height, width), dtype=np.uint32)
    for i in range(height):
        for j in range(width):
            counts[i, j] = escape_count_jit(xmin + j * dx, ymin + i * dy, max_iter)
    return counts
# ANCHOR_END: py-numba


# ANCHOR: py-numba-parallel
@njit(parallel=True)
def mandelbrot_numba_parallel(width, height, xmin, xmax, ymin, ymax, max_iter):
    """Numba with prange: the rows are shared out between threads.

    Lesson: changing `range` to `prange` on the outer loop is the whole change; the rows
    are independent, so the threads need no synchronisation.
    """
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    counts = np.empty((height, width), dtype=np.uint32)
    for i in prange(height):
        for j in range(width):
            counts[i, j] = escape_count_jit(xmin + j * dx, ymin + i * dy, max_iter)
    return counts
# ANCHOR_END: py-numba-parallel


def load_cython():
    from mandelbrot_cython import mandelbrot_cython  # built by build_ext.py

    return mandelbrot_cython


def load_cython_openmp():
    from mandelbrot_cython import mandelbrot_cython_openmp  # built by build_ext.py

    return mandelbrot_cython_openmp


def cython_threads():
    from mandelbrot_cython import openmp_threads

    return openmp_threads()


RUNGS = [
    Rung("py-pure", mandelbrot_python, "The interpreter executes every escape-loop "
         "iteration as bytecodes on boxed floats.", source="mandelbrot.py"),
    Rung("py-numpy", mandelbrot_numpy, "Whole-array NumPy iterates every pixel 256 times, "
         "escaped or not.", source="mandelbrot.py"),
    Rung("py-numpy-active", mandelbrot_numpy_active, "Iterating only the pixels still "
         "active skips most of the work.", source="mandelbrot.py"),
    Rung("py-numba", mandelbrot_numba, "Numba compiles the pure Python loops unchanged.",
         requires=("numba",), source="mandelbrot.py"),
    Rung("py-numba-parallel", mandelbrot_numba_parallel, "prange shares the independent "
         "rows out between threads.", threaded=True, requires=("numba",),
         source="mandelbrot.py"),
    Rung("py-cython", None, "Cython with C types compiles the loops ahead of time.",
         loader=load_cython, source="mandelbrot_cython.pyx"),
    Rung("py-cython-openmp", None, "Cython's prange runs rows on OpenMP threads with "
         "dynamic scheduling.", threaded=True,
         loader=load_cython_openmp, source="mandelbrot_cython.pyx",
         threads=cython_threads),
]


def prepare(problem: Problem):
    return (problem.n, problem.m, XMIN, XMAX, YMIN, YMAX, MAX_ITER)


@lru_cache(maxsize=4)
def reference(width: int, height: int):
    """The reference image and its sum and max_iter count.

    The image comes from the NumPy active-set rung (separate IEEE operations, so no fused
    multiply-add); at the KERNELS.md size its sum and count must equal the published ones.
    """
    image = mandelbrot_numpy_active(width, height, XMIN, XMAX, YMIN, YMAX, MAX_ITER)
    total = int(image.sum(dtype=np.int64))
    maxed = int(np.count_nonzero(image == MAX_ITER))
    if (width, height) == (DEFAULT_PROBLEM.n, DEFAULT_PROBLEM.m) and (
            total, maxed) != (REFERENCE_SUM, REFERENCE_MAXED):
        raise CheckError(f"{KERNEL}/reference", f"sum = {REFERENCE_SUM}, "
                         f"{REFERENCE_MAXED} at {MAX_ITER}", f"sum = {total}, {maxed}")
    image.setflags(write=False)
    return image, total, maxed


# ANCHOR: check
def check(problem: Problem, result, rung=None) -> Check:
    """Sum of counts and pixels reaching 256 against KERNELS.md (47,554,280 and 169,267 at
    1000 x 1000); at most 0.01% of the pixels may differ from the reference image."""
    image, total, maxed = reference(problem.n, problem.m)
    if (problem.n, problem.m) == (DEFAULT_PROBLEM.n, DEFAULT_PROBLEM.m):
        total, maxed = REFERENCE_SUM, REFERENCE_MAXED
    return check_escape_counts(rung_name(KERNEL, rung), result, image, total, maxed,
                               MAX_ITER)
# ANCHOR_END: check


def run(rung, problem: Problem = DEFAULT_PROBLEM):
    rung = find_rung(RUNGS, rung)
    func = rung.loader() if rung.loader else rung.func
    return func(*prepare(problem))


if __name__ == "__main__":
    for r in RUNGS:
        if r.variant == "py-pure":
            continue  # about 3 s; run it through the harness
        try:
            print(f"{r.variant:20s}", check(DEFAULT_PROBLEM, run(r), r).summary)
        except ImportError as exc:
            print(f"{r.variant:20s} skipped: {exc}")
