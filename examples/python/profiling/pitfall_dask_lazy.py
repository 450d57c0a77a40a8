"""Pitfall: timing a lazy Dask expression without compute() measures building the graph.

    python examples/python/profiling/pitfall_dask_lazy.py

Dask arrays are lazy: arithmetic records tasks in a graph and returns at once. Only
compute() (or .persist(), or printing a value) does the work. A timer around the
expression alone reports microseconds for a computation that takes a second.
"""

import time

import dask.array as da

n = 40_000_000
(da.ones(4, chunks=2) + 1).sum()  # first use of dask.array: its one-off set-up, untimed

# ANCHOR: pitfall-dask
start = time.perf_counter()
x = (da.arange(n, chunks=5_000_000) + 0.5) / n
pi = (4.0 / (1.0 + x * x)).sum() / n  # a graph of tasks: nothing computed yet
lazy = time.perf_counter() - start

start = time.perf_counter()
value = pi.compute()  # now the tasks run
computed = time.perf_counter() - start

print(f"building the expression: {lazy * 1e3:8.2f} ms -> {pi!r}")
print(f"pi.compute():            {computed * 1e3:8.2f} ms -> {float(value)!r}")
# ANCHOR_END: pitfall-dask
