"""julia: escape counts of z -> z^2 + c with c = -0.8 + 0.156i, z0 = the pixel.

Grid 1000 x 1000 over x, y in [-1.5, 1.5]; pixel (row i, column j) starts at
z0 = (xmin + j*dx) + (ymin + i*dy)i; same escape loop as Mandelbrot, max_iter = 256.
Its work per row is very uneven, which makes it the load-balancing example. Every rung takes
(width, height, xmin, xmax, ymin, ymax, cr, ci, max_iter) and returns the counts.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from common import (Check, CheckError, Problem, Rung, check_escape_counts, find_rung, njit,
                    prange, rung_name)

KERNEL = "julia"
DEFAULT_PROBLEM = Problem(n=1000, m=1000)  # n = width, m = height
SMALL_PROBLEM = Problem(n=120, m=80)
XMIN, XMAX, YMIN, YMAX = -1.5, 1.5, -1.5, 1.5
C_RE, C_IM = -0.8, 0.156
MAX_ITER = 256
REFERENCE_SUM = 24_464_482  # KERNELS.md, 1000 x 1000
REFERENCE_MAXED = 33_129


# ANCHOR: py-pure
def julia_escape(zr, zi, cr, ci, max_iter):
    """Iterations of z -> z^2 + c from z = the pixel, before |z| > 2 (at most max_iter)."""
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


def julia_python(width, height, xmin, xmax, ymin, ymax, cr, ci, max_iter):
    """Pure Python: one interpreted escape loop per pixel.

    Lesson: the same cost model as Mandelbrot, with half the iterations in total; here the
    escape loop dominates so completely that the list building hardly registers.
    """
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    return [[julia_escape(xmin + j * dx, ymin + i * dy, cr, ci, max_iter)
             for j in range(width)] for i in range(height)]
# ANCHOR_END: py-pure


# ANCHOR: py-numpy
def julia_numpy(width, height, xmin, xmax, ymin, ymax, cr, ci, max_iter):
    """NumPy with an active set: iterate only the pixels that have not escaped.

    Lesson: most Julia pixels escape within a few iterations, so shrinking the arrays
    every iteration matters even more here than for Mandelbrot (the whole-array form is
    shown there).
    """
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    re, im = np.meshgrid(xmin + np.arange(width) * dx, ymin + np.arange(height) * dy)
    zr, zi = re.ravel(), im.ravel()
    index = np.arange(zr.size)  # which pixel each active element belongs to
    counts = np.full(zr.size, max_iter, dtype=np.uint32)
    for n in range(max_iter):
        zr2 = zr * zr
        zi2 = zi * zi
        escaped = zr2 + zi2 > 4.0
        if escaped.any():
            counts[index[escaped]] = n
            keep = ~escaped
            index, zr, zi, zr2, zi2 = index[keep], zr[keep], zi[keep], zr2[keep], zi2[keep]
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
    return counts.reshape(height, width)
# ANCHOR_END: py-numpy


# ANCHOR: py-numba
julia_escape_jit = njit(julia_escape)  # the pure Python function above, compiled


@njit
def julia_numba(width, height, xmin, xmax, ymin, ymax, cr, ci, max_iter):
    """Numba: the pure Python loops compiled, filling a preallocated uint32 array.

    Lesson: the compiled loop does exactly the useful iterations, no more.
    """
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    counts = np.empty((height, width), dtype=np.uint32)
    for i in range(height):
        for j in range(width):
            counts[i, j] = julia_escape_jit(xmin + j * dx, ymin + i * dy, cr, ci, max_iter)
    return counts
# ANCHOR_END: py-numba


# ANCHOR: py-numba-parallel
@njit(parallel=True)
def julia_numba_parallel(width, height, xmin, xmax, ymin, ymax, cr, ci, max_iter):
    """Numba with prange over rows.

    Lesson: rows cost very different amounts here; Numba splits the rows into equal
    blocks, so the speed-up depends on how evenly the expensive rows fall between the
    blocks (this image is point-symmetric, so two halves happen to balance).
    """
    dx = (xmax - xmin) / width
    dy = (ymax - ymin) / height
    counts = np.empty((height, width), dtype=np.uint32)
    for i in prange(height):
        for j in range(width):
            counts[i, j] = julia_escape_jit(xmin + j * dx, ymin + i * dy, cr, ci, max_iter)
    return counts
# ANCHOR_END: py-numba-parallel


RUNGS = [
    Rung("py-pure", julia_python, "The interpreter runs every escape-loop iteration as "
         "bytecodes.", source="julia.py"),
    Rung("py-numpy", julia_numpy, "An active set iterates only the pixels that have not "
         "escaped.", source="julia.py"),
    Rung("py-numba", julia_numba, "Numba compiles the pure Python loops unchanged.",
         requires=("numba",), source="julia.py"),
    Rung("py-numba-parallel", julia_numba_parallel, "prange splits rows of very uneven "
         "cost between threads.", threaded=True, requires=("numba",), source="julia.py"),
]


def prepare(problem: Problem):
    return (problem.n, problem.m, XMIN, XMAX, YMIN, YMAX, C_RE, C_IM, MAX_ITER)


@lru_cache(maxsize=4)
def reference(width: int, height: int):
    """The reference image (NumPy rung: separate IEEE operations, no fused multiply-add);
    at the KERNELS.md size its sum and max_iter count must equal the published ones."""
    image = julia_numpy(width, height, XMIN, XMAX, YMIN, YMAX, C_RE, C_IM, MAX_ITER)
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
    """Sum of counts and pixels reaching 256 against KERNELS.md (24,464,482 and 33,129 at
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
            continue  # about 2 s; run it through the harness
        try:
            print(f"{r.variant:20s}", check(DEFAULT_PROBLEM, run(r), r).summary)
        except ImportError as exc:
            print(f"{r.variant:20s} skipped: {exc}")
