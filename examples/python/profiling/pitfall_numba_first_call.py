"""Pitfall: the first call of a Numba function includes its compilation.

    python examples/python/profiling/pitfall_numba_first_call.py

@njit compiles on the first call with new argument types, so a single timed call reports
compilation plus run. Time the first call separately (perfguide reports it as
first_call_s) and measure the steady state afterwards; a call with another argument type
(float instead of int) compiles again.
"""

import time

from numba import njit


# ANCHOR: pitfall-numba
@njit
def pi_numba(n):
    h = 1.0 / n
    total = 0.0
    for i in range(n):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return h * total


for label, arg in [("first call (compiles)", 1_000_000), ("second call", 1_000_000),
                   ("third call", 1_000_000), ("a float argument", 1_000_000.0)]:
    start = time.perf_counter()
    pi_numba(arg)
    print(f"{label:22s} {(time.perf_counter() - start) * 1e3:8.2f} ms")
print("compiled signatures:", [str(sig) for sig in pi_numba.signatures])
# ANCHOR_END: pitfall-numba
