"""Builds every Cython module under cython/ into the fxpipe package (src/fxpipe).

cython/fxpipe/ring/ring.pyx becomes the extension fxpipe.ring.ring, written next to the
Python sources in src/fxpipe/ring/ by `setup.py build_ext --inplace` (scripts/_venv does it).
The .pxd files stay under cython/ on the include path so modules cimport each other's C API.
"""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

ROOT = Path(__file__).resolve().parent
CYTHON_DIR = ROOT / "cython"

# Portable by default; FXPIPE_MARCH=native for a host-tuned build on the box that runs it.
march = os.environ.get("FXPIPE_MARCH")
# FXPIPE_BUILD_ONLY=ring,model builds only those domains (e.g. a benchmark host that needs
# no FIX engine); Cython translates modules in parallel on every core unless FXPIPE_BUILD_JOBS.
only = {d for d in os.environ.get("FXPIPE_BUILD_ONLY", "").split(",") if d}
jobs = int(os.environ.get("FXPIPE_BUILD_JOBS", os.cpu_count() or 1))
compile_args = ["-O3", "-fno-strict-aliasing", "-Wno-unused-function"]
if march:
    compile_args.append(f"-march={march}")


def extensions():
    exts = []
    for pyx in sorted(CYTHON_DIR.rglob("*.pyx")):
        rel = pyx.relative_to(CYTHON_DIR).with_suffix("")
        if only and rel.parts[1] not in only:
            continue
        exts.append(
            Extension(
                ".".join(rel.parts),
                [str(pyx.relative_to(ROOT))],
                include_dirs=[str(CYTHON_DIR / "fxpipe" / "includes"), numpy.get_include()],
                extra_compile_args=compile_args,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return exts


setup(
    name="fxpipe",
    version="0.1.0",
    description="Low-latency FX trading backend: shared-memory rings, FIX 4.2, exact positions",
    package_dir={"": "src"},
    packages=find_packages("src"),
    ext_modules=cythonize(
        extensions(),
        include_path=[str(CYTHON_DIR)],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        quiet=True,
        nthreads=jobs,
    ),
    python_requires=">=3.11",
    entry_points={"console_scripts": ["fxpipe=fxpipe.cli:main"]},
)
