"""pi by the midpoint rule on a multiprocessing.Pool: one process per core.

    python examples/python/profiling/multiprocessing_pi.py

Processes sidestep the GIL: each has its own interpreter, so pure Python code runs in
parallel. The price is start-up and pickling the arguments and results; here each task
gets a range of slices (two integers) and returns one float, so that price is small.
"""

import math
import os
import time
from multiprocessing import Pool


# ANCHOR: multiprocessing
def partial_sum(bounds):
    """Sum of 4/(1+x^2) over slices start..stop-1 of n (a task: runs in a worker)."""
    start, stop, n = bounds
    h = 1.0 / n
    total = 0.0
    for i in range(start, stop):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return total


def pi_pool(n, processes, tasks_per_process=4):
    """Splits the slices into equal ranges and sums the partial sums of the workers."""
    tasks = processes * tasks_per_process
    bounds = [(n * t // tasks, n * (t + 1) // tasks, n) for t in range(tasks)]
    with Pool(processes) as pool:
        return sum(pool.map(partial_sum, bounds)) / n


if __name__ == "__main__":  # required: worker processes import this module
    n = 4_000_000
    start = time.perf_counter()
    serial = partial_sum((0, n, n)) / n
    t_serial = time.perf_counter() - start
    workers = os.cpu_count() or 1
    start = time.perf_counter()
    parallel = pi_pool(n, workers)
    t_parallel = time.perf_counter() - start
    print(f"serial:           pi = {serial!r}  {t_serial:.2f} s")
    print(f"Pool({workers} processes): pi = {parallel!r}  {t_parallel:.2f} s "
          f"(speed-up {t_serial / t_parallel:.1f}x, pool start-up included)")
    print(f"|difference| = {abs(serial - parallel):.1e}: the partial sums add up in another "
          f"order; |pi_N - pi| = {abs(parallel - math.pi):.1e}")
# ANCHOR_END: multiprocessing
