"""pyinstrument: a sampling profiler that prints the call tree, slow branches first.

    python examples/python/profiling/pyinstrument_demo.py
    (or, for any script: pyinstrument SCRIPT.py)

A sampling profiler looks at the stack every millisecond instead of recording every call,
so its overhead is small and tiny functions are not inflated as they are with cProfile.
"""

import sys
from pathlib import Path

from pyinstrument import Profiler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the kernel modules

from kmeans import kmeans_numpy, kmeans_numpy_matmul, make_points  # noqa: E402

# ANCHOR: pyinstrument
X = make_points(50_000, 8, 16, 2024)
profiler = Profiler(interval=0.001)
with profiler:
    kmeans_numpy(X, 16, 10)
    kmeans_numpy_matmul(X, 16, 10)
print(profiler.output_text(unicode=False, color=False, show_all=False))
# ANCHOR_END: pyinstrument
