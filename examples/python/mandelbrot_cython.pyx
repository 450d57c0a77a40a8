# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Mandelbrot in Cython, serial and with OpenMP (built by build_ext.py with -fopenmp and
-ffp-contract=off; see mandelbrot.py for the ladder)."""

import numpy as np

cimport openmp
from cython.parallel cimport prange


def openmp_threads():
    """The number of threads an OpenMP parallel region uses here."""
    return openmp.omp_get_max_threads()


# ANCHOR: py-cython
cdef inline unsigned int escape_count(double cr, double ci, int max_iter) noexcept nogil:
    """Iterations of z -> z^2 + c before |z| > 2, at most max_iter (pure C, no Python)."""
    cdef double zr = 0.0, zi = 0.0, zr2, zi2
    cdef int n = 0
    while n < max_iter:
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > 4.0:
            break
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
        n += 1
    return n


def mandelbrot_cython(int width, int height, double xmin, double xmax, double ymin,
                      double ymax, int max_iter):
    """Cython: typed loops over the pixels writing into a typed memoryview.

    Lesson: declaring the types (and `nogil` on the inner function) turns the pure Python
    loops into C; the result is written straight into the NumPy array's memory.
    """
    counts = np.zeros((height, width), dtype=np.uint32)
    cdef unsigned int[:, ::1] out = counts
    cdef double dx = (xmax - xmin) / width
    cdef double dy = (ymax - ymin) / height
    cdef int i, j
    for i in range(height):
        for j in range(width):
            out[i, j] = escape_count(xmin + j * dx, ymin + i * dy, max_iter)
    return counts
# ANCHOR_END: py-cython


# ANCHOR: py-cython-openmp
def mandelbrot_cython_openmp(int width, int height, double xmin, double xmax, double ymin,
                             double ymax, int max_iter):
    """Cython with OpenMP: `prange` hands rows to threads, dynamically, one at a time.

    Lesson: rows near the set cost far more than rows outside it; schedule='dynamic' gives
    the next row to whichever thread is free, so no thread idles while another works.
    """
    counts = np.zeros((height, width), dtype=np.uint32)
    cdef unsigned int[:, ::1] out = counts
    cdef double dx = (xmax - xmin) / width
    cdef double dy = (ymax - ymin) / height
    cdef int i, j
    for i in prange(height, nogil=True, schedule="dynamic"):
        for j in range(width):
            out[i, j] = escape_count(xmin + j * dx, ymin + i * dy, max_iter)
    return counts
# ANCHOR_END: py-cython-openmp
