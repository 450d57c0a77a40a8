# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""pi-integration in Cython (built by build_ext.py; see pi_integration.py for the ladder)."""


# ANCHOR: py-cython
def pi_cython(long n):
    """Cython: the pure Python loop with every variable declared as a C type.

    Lesson: with `cdef double` and `cdef long` the loop compiles ahead of time to the same
    machine code a C compiler would make (no JIT on the first call); `cython -a` shows in
    yellow any line that still calls into the Python interpreter.
    """
    cdef double h = 1.0 / n
    cdef double total = 0.0
    cdef double x
    cdef long i
    for i in range(n):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return h * total
# ANCHOR_END: py-cython
