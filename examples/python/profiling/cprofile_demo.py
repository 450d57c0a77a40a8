"""cProfile and pstats on a small pure-Python Mandelbrot: where does the time go?

    python examples/python/profiling/cprofile_demo.py
    (or, for any script: python -m cProfile -s cumulative SCRIPT.py)

cProfile counts every function call; "cumulative" time includes the functions a function
calls, "tottime" (total) only the time spent in its own code. Its overhead per call is
large, so calls to tiny functions look more expensive than they are.
"""

import cProfile
import io
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the kernel modules

from mandelbrot import MAX_ITER, XMAX, XMIN, YMAX, YMIN, mandelbrot_python  # noqa: E402

# ANCHOR: cprofile
profiler = cProfile.Profile()
profiler.enable()
counts = mandelbrot_python(200, 150, XMIN, XMAX, YMIN, YMAX, MAX_ITER)
profiler.disable()

for order in ("cumulative", "tottime"):
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
    stats.print_stats(6)  # the six most expensive lines
    print(f"--- sorted by {order} ---")
    print(out.getvalue().split("\n\n", 1)[-1].strip())  # the table without the header
# ANCHOR_END: cprofile
print(f"\n{sum(map(sum, counts))} escape-loop iterations in {len(counts) * len(counts[0])} "
      "pixels")
