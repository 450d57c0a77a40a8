"""kmeans: Lloyd's algorithm, 200,000 points in 8 dimensions, 16 clusters, 10 iterations.

The points are made from the project's SplitMix64 (KERNELS.md): centre c is
C[c][t] = 8 * rand_f64(seed, c*d + t) and point i is C[i mod k] plus uniform noise in
[-1, 1). Initial centroids are the first k points; each iteration assigns every point to its
nearest centroid (ties -> lowest index) and moves each centroid to the mean of its points
(an empty cluster keeps its centroid); after the 10th update one more assignment gives the
inertia. Every rung takes (X, k, iterations) and returns (inertia, cluster sizes); making X
is set-up, outside the timing.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from common import (Check, CheckError, Problem, Rung, find_rung, njit, prange,
                    rand_f64_array, rung_name)

try:  # scikit-learn is optional: without it its rung is reported as skipped
    from sklearn.cluster import KMeans
except ImportError:  # pragma: no cover
    KMeans = None

KERNEL = "kmeans"
DEFAULT_PROBLEM = Problem(n=200_000, m=10, seed=2024)  # n = points, m = iterations
SMALL_PROBLEM = Problem(n=4_000, m=10, seed=2024)
DIMENSIONS = 8
CLUSTERS = 16
REFERENCE_INERTIA = 533326.3044564608  # KERNELS.md
RELATIVE_TOLERANCE = 1e-9


# ANCHOR: data
def make_points(n, d, k, seed):
    """The KERNELS.md data set: k centres in [0, 8)^d and n points around them."""
    centres = 8.0 * rand_f64_array(seed, np.arange(k * d, dtype=np.uint64)).reshape(k, d)
    noise = rand_f64_array(seed + 1, np.arange(n * d, dtype=np.uint64)).reshape(n, d)
    return centres[np.arange(n) % k] + 2.0 * (noise - 0.5)
# ANCHOR_END: data


# ANCHOR: py-pure
def kmeans_python(X, k, iterations):
    """Pure Python on lists: three nested loops (points, centroids, dimensions).

    Lesson: 200,000 x 16 x 8 multiply-adds per assignment, eleven assignments: about
    25.6 million interpreted inner-loop trips per pass, some 20-30 s per run here.
    """
    points = X.tolist()  # lists of floats: what pure Python code would hold
    centroids = [list(p) for p in points[:k]]

    def assign():
        labels, inertia = [], 0.0
        for p in points:
            best, best_c = float("inf"), 0
            for c, centroid in enumerate(centroids):
                dist = 0.0
                for pt, ct in zip(p, centroid, strict=True):
                    dist += (pt - ct) * (pt - ct)
                if dist < best:  # strict: a tie keeps the lower index
                    best, best_c = dist, c
            labels.append(best_c)
            inertia += best
        return labels, inertia

    for _ in range(iterations):
        labels, _ = assign()
        sums = [[0.0] * len(points[0]) for _ in range(k)]
        counts = [0] * k
        for p, c in zip(points, labels, strict=True):
            counts[c] += 1
            for t, pt in enumerate(p):
                sums[c][t] += pt
        for c in range(k):
            if counts[c]:  # an empty cluster keeps its centroid
                centroids[c] = [s / counts[c] for s in sums[c]]
    labels, inertia = assign()
    return inertia, np.bincount(labels, minlength=k)
# ANCHOR_END: py-pure


# ANCHOR: py-numpy
def kmeans_numpy(X, k, iterations):
    """NumPy, naive: all point-centroid differences as one (n, k, d) array.

    Lesson: broadcasting X[:, None, :] - C[None, :, :] writes the whole algorithm in one
    line, but materialises 200,000 x 16 x 8 doubles (205 MB) per assignment.
    """
    C = X[:k].copy()
    for iteration in range(iterations + 1):  # the last pass only assigns
        dist = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)  # (n, k)
        labels = dist.argmin(axis=1)  # argmin returns the first minimum: lowest index
        if iteration == iterations:
            break
        for c in range(k):
            members = X[labels == c]
            if len(members):  # an empty cluster keeps its centroid
                C[c] = members.mean(axis=0)
    inertia = dist[np.arange(len(X)), labels].sum()
    return float(inertia), np.bincount(labels, minlength=k)
# ANCHOR_END: py-numpy


# ANCHOR: py-numpy-matmul
def kmeans_numpy_matmul(X, k, iterations):
    """NumPy, smarter: distances from one matrix product, centroids from bincount.

    Lesson: ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, and ||x||^2 is the same for every
    centroid, so the nearest centroid minimises ||c||^2 - 2 x.c: one (n, d) x (d, k)
    matrix product (BLAS) and no 3-D temporary. The expansion rounds differently (it
    cancels large terms), so it only chooses labels; the inertia is computed from the
    differences themselves.
    """
    n, d = X.shape
    C = X[:k].copy()
    for iteration in range(iterations + 1):  # the last pass only assigns
        scores = (C * C).sum(axis=1) - 2.0 * (X @ C.T)  # (n, k)
        labels = scores.argmin(axis=1)
        if iteration == iterations:
            break
        counts = np.bincount(labels, minlength=k)
        sums = np.stack([np.bincount(labels, weights=X[:, t], minlength=k)
                         for t in range(d)], axis=1)
        filled = counts > 0  # an empty cluster keeps its centroid
        C[filled] = sums[filled] / counts[filled, None]
    inertia = ((X - C[labels]) ** 2).sum()
    return float(inertia), np.bincount(labels, minlength=k)
# ANCHOR_END: py-numpy-matmul


# ANCHOR: py-numba
@njit
def assign_numba(X, C, labels):
    """Labels each point with its nearest centroid; returns the inertia."""
    inertia = 0.0
    for i in range(X.shape[0]):
        best = np.inf
        best_c = 0
        for c in range(C.shape[0]):
            dist = 0.0
            for t in range(X.shape[1]):
                diff = X[i, t] - C[c, t]
                dist += diff * diff
            if dist < best:  # strict: a tie keeps the lower index
                best = dist
                best_c = c
        labels[i] = best_c
        inertia += best
    return inertia


@njit
def update_numba(X, labels, C):
    """Moves each centroid to the mean of its points (an empty cluster keeps its own)."""
    k, d = C.shape
    sums = np.zeros((k, d))
    counts = np.zeros(k, dtype=np.int64)
    for i in range(X.shape[0]):
        c = labels[i]
        counts[c] += 1
        for t in range(d):
            sums[c, t] += X[i, t]
    for c in range(k):
        if counts[c] > 0:
            for t in range(d):
                C[c, t] = sums[c, t] / counts[c]


@njit
def kmeans_numba(X, k, iterations):
    """Numba: explicit loops over points, centroids and dimensions, compiled.

    Lesson: loops that would be hopeless in Python are the fastest form once compiled:
    one pass over the data per assignment, no temporaries, a distance in registers.
    """
    C = X[:k].copy()
    labels = np.empty(X.shape[0], dtype=np.int64)
    for _ in range(iterations):
        assign_numba(X, C, labels)
        update_numba(X, labels, C)
    inertia = assign_numba(X, C, labels)
    return inertia, np.bincount(labels, minlength=k)
# ANCHOR_END: py-numba


# ANCHOR: py-numba-parallel
@njit(parallel=True)
def assign_numba_parallel(X, C, labels):
    """The assignment with prange over points: each point is independent."""
    inertia = 0.0
    for i in prange(X.shape[0]):
        best = np.inf
        best_c = 0
        for c in range(C.shape[0]):
            dist = 0.0
            for t in range(X.shape[1]):
                diff = X[i, t] - C[c, t]
                dist += diff * diff
            if dist < best:
                best = dist
                best_c = c
        labels[i] = best_c
        inertia += best
    return inertia


@njit
def kmeans_numba_parallel(X, k, iterations):
    """Numba with a parallel assignment step and the serial update.

    Lesson: the assignment is about 90% of the work and embarrassingly parallel; the
    update is a reduction into 16 centroids, left serial (Amdahl's law caps the speed-up).
    """
    C = X[:k].copy()
    labels = np.empty(X.shape[0], dtype=np.int64)
    for _ in range(iterations):
        assign_numba_parallel(X, C, labels)
        update_numba(X, labels, C)
    inertia = assign_numba_parallel(X, C, labels)
    return inertia, np.bincount(labels, minlength=k)
# ANCHOR_END: py-numba-parallel


# ANCHOR: py-sklearn
def kmeans_sklearn(X, k, iterations):
    """scikit-learn's KMeans with Lloyd's algorithm, started from the first k points.

    Lesson: a library implementation (OpenMP-parallel Cython) is hard to beat, and it is
    smarter than the problem statement: max_iter=10 allows the same 10 assignment + update
    pairs followed by a final assignment, but KMeans also stops as soon as no label
    changes (tol=0 cannot switch that off). On this data that happens after 3 iterations,
    so it does about a third of the work of the other rungs, for the same answer: once
    the labels are fixed, further updates change nothing. Its result carries n_iter_.
    """
    model = KMeans(n_clusters=k, init=X[:k], n_init=1, max_iter=iterations, tol=0.0,
                   algorithm="lloyd")
    model.fit(X)
    return float(model.inertia_), np.bincount(model.labels_, minlength=k), model.n_iter_
# ANCHOR_END: py-sklearn


RUNGS = [
    Rung("py-pure", kmeans_python, "Three nested interpreted loops do 26 million "
         "inner trips per assignment.", heavy=True, source="kmeans.py"),
    Rung("py-numpy", kmeans_numpy, "Broadcasting is one line but builds a 205 MB "
         "temporary per assignment.", source="kmeans.py"),
    Rung("py-numpy-matmul", kmeans_numpy_matmul, "Expanding the distance turns the "
         "assignment into one BLAS matrix product.", source="kmeans.py"),
    Rung("py-numba", kmeans_numba, "Compiled explicit loops make one pass over the data "
         "with no temporaries.", requires=("numba",), source="kmeans.py"),
    Rung("py-numba-parallel", kmeans_numba_parallel, "The assignment parallelises; the "
         "serial update limits the speed-up.", threaded=True, requires=("numba",),
         source="kmeans.py"),
    Rung("py-sklearn", kmeans_sklearn, "scikit-learn's OpenMP Cython Lloyd also stops "
         "once no label changes.", threaded=True, requires=("sklearn",), source="kmeans.py"),
]


@lru_cache(maxsize=2)
def points(n: int, seed: int) -> np.ndarray:
    X = make_points(n, DIMENSIONS, CLUSTERS, seed)
    X.setflags(write=False)  # shared by every rung: none may change it
    return X


def prepare(problem: Problem):
    return (points(problem.n, problem.seed), CLUSTERS, problem.m)


@lru_cache(maxsize=4)
def reference(n: int, iterations: int, seed: int):
    """(inertia, sizes): KERNELS.md's at the default problem, else the NumPy rung's."""
    if (n, iterations, seed) == (DEFAULT_PROBLEM.n, DEFAULT_PROBLEM.m, DEFAULT_PROBLEM.seed):
        return REFERENCE_INERTIA, (n // CLUSTERS,) * CLUSTERS
    inertia, sizes = kmeans_numpy(points(n, seed), CLUSTERS, iterations)
    return inertia, tuple(int(s) for s in sizes)


# ANCHOR: check
def check(problem: Problem, result, rung=None) -> Check:
    """Inertia within 1e-9 (relative) of the reference and identical cluster sizes.

    `result` is (inertia, sizes) or, from scikit-learn, (inertia, sizes, iterations done).
    """
    name = rung_name(KERNEL, rung)
    inertia, sizes = float(result[0]), tuple(int(s) for s in result[1])
    expected_inertia, expected_sizes = reference(problem.n, problem.m, problem.seed)
    relative = abs(inertia - expected_inertia) / expected_inertia
    if not relative <= RELATIVE_TOLERANCE or sizes != expected_sizes:
        raise CheckError(name, f"inertia = {expected_inertia!r} (relative "
                         f"{RELATIVE_TOLERANCE:g}), sizes {list(expected_sizes)}",
                         f"inertia = {inertia!r} (relative error {relative:.1e}), "
                         f"sizes {list(sizes)}")
    stopped = ""
    if len(result) > 2 and result[2] < problem.m:  # scikit-learn reports its iterations
        stopped = f"; stopped after {result[2]} of {problem.m} iterations (no label changed)"
    return Check(f"inertia = {inertia:.10g} (relative error {relative:.1e}), "
                 f"{len(sizes)} clusters of {min(sizes)}-{max(sizes)} points{stopped}")
# ANCHOR_END: check


def run(rung, problem: Problem = DEFAULT_PROBLEM):
    rung = find_rung(RUNGS, rung)
    func = rung.loader() if rung.loader else rung.func
    return func(*prepare(problem))


if __name__ == "__main__":
    X = points(DEFAULT_PROBLEM.n, DEFAULT_PROBLEM.seed)
    print("X[0][0] =", X[0, 0], " X[1][0] =", X[1, 0], " X[199999][7] =", X[199999, 7])
    for r in RUNGS:
        if r.heavy:
            continue
        try:
            print(f"{r.variant:20s}", check(DEFAULT_PROBLEM, run(r), r).summary)
        except ImportError as exc:
            print(f"{r.variant:20s} skipped: {exc}")
