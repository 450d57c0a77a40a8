"""timeit in code: many runs of a small statement, best of several repeats.

    python examples/python/profiling/timeit_demo.py

The same from the command line (timeit chooses the loop count itself; -s is set-up that
is not timed):

    python -m timeit -s "import numpy as np; x = np.random.default_rng(0).random(10**6)" "x.sum()"
    python -m timeit -s "x = list(range(10**6))" "sum(x)"

timeit switches the garbage collector off while it times, and `repeat` gives several
independent measurements: report the minimum (or the median) of them, never a single run.
"""

import timeit

import numpy as np

# ANCHOR: timeit
setup = "import numpy as np; x = np.random.default_rng(0).random(10**6); y = x.tolist()"
for label, statement in [("NumPy sum of 10**6 floats ", "x.sum()"),
                         ("Python sum of 10**6 floats", "sum(y)"),
                         ("math.fsum of 10**6 floats ", "math.fsum(y)")]:
    timer = timeit.Timer(statement, setup=setup + "; import math")
    number, _ = timer.autorange()  # enough loops for >= 0.2 s
    best = min(timer.repeat(repeat=3, number=number)) / number
    print(f"{label}: {best * 1e6:9.1f} us per call  ({number} loops, best of 3)")
# ANCHOR_END: timeit

# Timing a function object (no strings) works too:
x = np.arange(10**5, dtype=float)
per_call = min(timeit.repeat(lambda: np.sqrt(x), number=1000, repeat=5)) / 1000
print(f"np.sqrt on 10**5 floats  : {per_call * 1e6:9.1f} us per call")
