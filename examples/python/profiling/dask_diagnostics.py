"""Dask's local diagnostics on a Dask-array pi: which tasks ran, for how long, on which
thread, and how much memory and CPU the process used meanwhile.

    python examples/python/profiling/dask_diagnostics.py

Profiler records each task (key, start, end, worker thread); ResourceProfiler samples the
process's memory and CPU every dt seconds. Both need only the local schedulers (threads
here); `visualize()` would draw them with Bokeh, this script prints them instead.
"""

from collections import defaultdict

import dask.array as da
from dask.diagnostics import Profiler, ResourceProfiler
from dask.utils import key_split

# ANCHOR: dask
n = 20_000_000
h = 1.0 / n
x = (da.arange(n, chunks=2_500_000) + 0.5) * h  # 8 chunks of 2.5 million slices
pi = h * (4.0 / (1.0 + x * x)).sum()  # builds a task graph; nothing runs yet

with Profiler() as profiler, ResourceProfiler(dt=0.02) as resources:
    value = pi.compute(scheduler="threads", num_workers=2)

by_kind = defaultdict(lambda: [0, 0.0])
for task in profiler.results:
    by_kind[key_split(task.key)][0] += 1
    by_kind[key_split(task.key)][1] += task.end_time - task.start_time
workers = {task.worker_id for task in profiler.results}
print(f"pi = {float(value)!r} from {len(profiler.results)} tasks on {len(workers)} threads")
print(f"{'task':28s} {'count':>5} {'total s':>8}")
for kind, (count, seconds) in sorted(by_kind.items(), key=lambda kv: -kv[1][1]):
    print(f"{kind:28s} {count:5d} {seconds:8.3f}")
if resources.results:
    print(f"memory peak {max(r.mem for r in resources.results):.0f} MB, "
          f"CPU peak {max(r.cpu for r in resources.results):.0f}% "
          f"({len(resources.results)} samples every 20 ms)")
# ANCHOR_END: dask
