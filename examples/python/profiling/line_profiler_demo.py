"""line_profiler: the time of each line of the functions you mark.

    kernprof -l -v examples/python/profiling/line_profiler_demo.py

kernprof runs the script with a `profile` decorator defined and prints per-line times of
the decorated functions. Run with plain `python`, the script profiles the same function
through line_profiler's API, so it prints the same kind of table either way.
"""

import builtins

# ANCHOR: line-profiler
if "profile" not in builtins.__dict__:  # not under kernprof: a no-op decorator
    def profile(func):
        return func


@profile
def escape_count(cr, ci, max_iter):
    zr = zi = 0.0
    n = 0
    while n < max_iter:
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > 4.0:
            break
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
        n += 1
    return n


def mandelbrot(width, height, max_iter=256):
    dx, dy = 3.0 / width, 3.0 / height
    return [[escape_count(-2.0 + j * dx, -1.5 + i * dy, max_iter) for j in range(width)]
            for i in range(height)]
# ANCHOR_END: line-profiler


if __name__ == "__main__":
    if "profile" in builtins.__dict__:  # kernprof -l: it prints the table itself (-v)
        mandelbrot(60, 40)
    else:
        from line_profiler import LineProfiler

        profiler = LineProfiler(escape_count)
        profiler.runcall(mandelbrot, 60, 40)
        profiler.print_stats(output_unit=1e-3, stripzeros=True)
