"""Builds the Cython rungs in place: `python examples/python/build_ext.py` (from anywhere).

The extensions (pi_cython, mandelbrot_cython) land next to this file as .so modules, so the
kernel modules import them like any other; intermediate files go to build/ and the
annotated HTML from `cython -a` (yellow = lines that call into the interpreter) next to
each .pyx. All of these are ignored by git.

Compiler flags: -O3 and -march=native, like Numba, which also compiles for this CPU;
-ffp-contract=off because gcc otherwise fuses a*b + c into one fused multiply-add, whose
single rounding changes escape counts of fractal pixels on the boundary (measured here:
with gcc 12's default contraction 171 of the 10**6 Mandelbrot pixels differ, the sum
becomes 47,528,090 and the check fails; with it off the image is identical);
-fopenmp for the prange rung.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CFLAGS = ["-O3", "-march=native", "-ffp-contract=off"]


def main() -> int:
    try:
        from Cython.Build import cythonize
        from setuptools import Extension, setup
    except ImportError as exc:
        print(f"cannot build the Cython rungs: {exc} (pip install -r requirements.txt)",
              file=sys.stderr)
        return 1
    import numpy  # noqa: F401  (the extensions create NumPy arrays at run time)

    os.chdir(HERE)  # setuptools resolves sources and --inplace against the working dir
    extensions = [
        Extension("pi_cython", ["pi_cython.pyx"], extra_compile_args=CFLAGS),
        Extension("mandelbrot_cython", ["mandelbrot_cython.pyx"],
                  extra_compile_args=CFLAGS + ["-fopenmp"], extra_link_args=["-fopenmp"]),
    ]
    setup(
        name="perfguide-python-rungs",
        ext_modules=cythonize(extensions, annotate=True, quiet=True,
                              compiler_directives={"language_level": 3}),
        script_args=["build_ext", "--inplace", "--build-temp", str(HERE / "build")],
    )
    print(f"built {', '.join(e.name for e in extensions)} in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
