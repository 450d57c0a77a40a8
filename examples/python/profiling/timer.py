"""A timer as a context manager and as a decorator, both on time.perf_counter.

    python examples/python/profiling/timer.py

time.perf_counter is the clock for measuring durations: monotonic (never jumps when the
system clock is set) and of the highest resolution available. time.time is neither.
"""

import functools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the kernel modules

from pi_integration import pi_numpy, pi_python  # noqa: E402


# ANCHOR: timer
class Timer:
    """Measures the wall-clock time of a `with` block: `with Timer("label"): ...`."""

    def __init__(self, label="block", report=True):
        self.label, self.report, self.seconds = label, report, None

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._start
        if self.report:
            print(f"{self.label}: {self.seconds * 1e3:.1f} ms")
        return False  # never swallow an exception raised in the block


def timed(func):
    """Decorator: prints how long each call of `func` took."""

    @functools.wraps(func)  # keeps the name and docstring of func
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            print(f"{func.__name__}{args}: {(time.perf_counter() - start) * 1e3:.1f} ms")

    return wrapper
# ANCHOR_END: timer


if __name__ == "__main__":
    n = 1_000_000
    with Timer("pure Python loop, N = 10**6"):
        pi_python(n)
    with Timer("NumPy, N = 10**6") as t:
        pi_numpy(n)
    print(f"(the Timer object keeps the value: {t.seconds:.4f} s)")

    @timed
    def pi_twice(n):
        return pi_numpy(n) + pi_numpy(n)

    pi_twice(n)
    pi_twice(10 * n)
    print(f"clock resolution: {time.get_clock_info('perf_counter').resolution:g} s")
