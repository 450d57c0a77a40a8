"""memray: every allocation, native ones included, and who held memory at the peak.

    python examples/python/profiling/memray_demo.py
    (for any script: python -m memray run -o out.bin SCRIPT.py, then
     python -m memray summary out.bin, or memray flamegraph out.bin for an HTML report)

Here memray's Tracker records two k-means versions, and its FileReader lists the
allocations alive at the high-water mark: the naive version's (n, k, d) temporary shows up.
Each version runs once before it is recorded, so that one-off allocations of the libraries
(OpenBLAS allocates a work buffer of tens of MB on its first matrix product) stay out.
"""

import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import memray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the kernel modules

from kmeans import kmeans_numpy, kmeans_numpy_matmul, make_points  # noqa: E402


def peak_report(capture, title):
    """The peak and the lines of our code holding the most memory at that moment."""
    reader = memray.FileReader(capture)
    by_line = defaultdict(int)
    for record in reader.get_high_watermark_allocation_records(merge_threads=True):
        ours = [f for f in record.stack_trace() if "examples/python" in f[1]]
        if ours:  # the innermost frame in our files: (function, file, line)
            function, filename, line = ours[0]
            by_line[f"{Path(filename).name}:{line} ({function})"] += record.size
    print(f"{title}: peak {reader.metadata.peak_memory / 2**20:.1f} MiB")
    for where, size in sorted(by_line.items(), key=lambda kv: -kv[1])[:3]:
        print(f"  {size / 2**20:7.1f} MiB  {where}")


# ANCHOR: memray
X = make_points(40_000, 8, 16, 2024)
with tempfile.TemporaryDirectory() as tmp:
    for name, kmeans in [("naive", kmeans_numpy), ("matmul", kmeans_numpy_matmul)]:
        capture = Path(tmp) / f"{name}.bin"
        kmeans(X, 16, 1)  # warm-up, not recorded
        with memray.Tracker(capture):
            kmeans(X, 16, 10)
        peak_report(capture, f"k-means {name}")
# ANCHOR_END: memray
