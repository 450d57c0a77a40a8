"""tracemalloc: which lines allocated the memory that is alive, and how much at peak.

    python examples/python/profiling/tracemalloc_demo.py

tracemalloc (standard library) records every allocation made through Python's allocators,
NumPy's arrays included, with the line that made it. A snapshot lists what is alive now;
comparing two snapshots shows what a piece of code added.
"""

import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the kernel modules

from mandelbrot import MAX_ITER, XMAX, XMIN, YMAX, YMIN  # noqa: E402
from mandelbrot import mandelbrot_numpy_active, mandelbrot_python  # noqa: E402

# ANCHOR: tracemalloc
tracemalloc.start()
before = tracemalloc.take_snapshot()

as_lists = mandelbrot_python(300, 200, XMIN, XMAX, YMIN, YMAX, 32)  # list of lists of int
as_array = mandelbrot_numpy_active(300, 200, XMIN, XMAX, YMIN, YMAX, MAX_ITER)  # uint32

after = tracemalloc.take_snapshot()
current, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()

ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]  # tracemalloc's own records
print("Top allocations still alive, by line (compared with before):")
for stat in after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "lineno")[:3]:
    frame = stat.traceback[0]
    where = f"{Path(frame.filename).name}:{frame.lineno}"
    print(f"  {where:20s} {stat.size_diff / 1024:8.1f} KiB in {stat.count_diff} blocks")
print(f"Alive now: {current / 2**20:.2f} MiB; peak while running: {peak / 2**20:.2f} MiB")
# ANCHOR_END: tracemalloc
print(f"The same 60,000 counts take {as_array.nbytes / 1024:.0f} KiB as a uint32 array "
      "(allocated by np.full in numeric.py);")
print("the lists hold an 8-byte pointer per count (ints up to 256 are shared objects).")
