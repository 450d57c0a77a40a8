"""Pitfall: timing an exhausted generator, which does no work at all after its first use.

    python examples/python/profiling/pitfall_generator.py

A generator can be consumed once. Created in the set-up and timed with repeat, the first
run does the work and every later run sums an empty sequence, and "best of 5" reports the
empty one: a speed-up of thousands of times that never happened. Check results, not just
times: the sum is 0 after the first run.
"""

import timeit

N = 1_000_000

# ANCHOR: pitfall-generator
squares = (i * i for i in range(N))  # made once, consumed by the first run
results = []
wrong = timeit.repeat(lambda: results.append(sum(squares)), number=1, repeat=5)
print("generator made once:   ", " ".join(f"{t * 1e3:8.3f}" for t in wrong), "ms")
print("   ... and the sums:   ", results)

results.clear()
right = timeit.repeat(lambda: results.append(sum(i * i for i in range(N))), number=1,
                      repeat=5)
print("generator made per run:", " ".join(f"{t * 1e3:8.3f}" for t in right), "ms")
print("   ... and the sums:   ", results[:2], "...")
print(f"'best of 5' would claim a {min(right) / min(wrong):,.0f}x speed-up for the wrong one")
# ANCHOR_END: pitfall-generator
