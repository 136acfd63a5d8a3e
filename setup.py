"""Builds every Cython module under cython/ into the fxpipe package (src/fxpipe).

cython/fxpipe/ring/ring.pyx becomes the extension fxpipe.ring.ring, written next to the
Python sources in src/fxpipe/ring/ by `setup.py build_ext --inplace` (scripts/_env.sh does it).
The .pxd files stay under cython/ on the include path so modules cimport each other's C API.
Metadata and dependencies are in pyproject.toml. A wheel (`pip wheel .`) also carries the
shipped configuration (config/*.toml, config/layouts/*.toml) as fxpipe/_data/config, where
fxpipe.configdir finds it when there is no source tree.
"""
import os
import shutil
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
CYTHON_DIR = ROOT / "cython"

# Portable by default; FXPIPE_MARCH=native for a host-tuned build on the box that runs it.
march = os.environ.get("FXPIPE_MARCH")
# FXPIPE_BUILD_ONLY=ring,model builds only those domains (e.g. a benchmark host that needs
# no FIX engine); Cython translates modules in parallel on every core unless FXPIPE_BUILD_JOBS.
only = {d for d in os.environ.get("FXPIPE_BUILD_ONLY", "").split(",") if d}
jobs = int(os.environ.get("FXPIPE_BUILD_JOBS", os.cpu_count() or 1))
# FXPIPE_OPT=-O0 compiles about six times faster (tests of the packaging, not of speed).
compile_args = [os.environ.get("FXPIPE_OPT", "-O3"), "-fno-strict-aliasing", "-Wno-unused-function"]
if march:
    compile_args.append(f"-march={march}")
# The fill and risk-check paths are one call each from the oms: their helpers (book update,
# cash flows, index probe, the checks' own lookups) are worth inlining whole, which GCC's
# default growth limits refuse for a function the size of apply_fill or check_intent. Measured
# by callgrind: 484 -> 438 instructions per fill, 1,093 -> 970 per risk check.
INLINE_WHOLE = {"fxpipe.positions.book", "fxpipe.risk.engine"}
inline_args = ["--param=max-inline-insns-single=1000", "--param=max-inline-insns-auto=500",
               "--param=large-function-growth=1000", "--param=large-function-insns=100000",
               "--param=inline-unit-growth=1000"]


def extensions():
    exts = []
    for pyx in sorted(CYTHON_DIR.rglob("*.pyx")):
        rel = pyx.relative_to(CYTHON_DIR).with_suffix("")
        if only and rel.parts[1] not in only:
            continue
        name = ".".join(rel.parts)
        exts.append(
            Extension(
                name,
                [str(pyx.relative_to(ROOT))],
                include_dirs=[str(CYTHON_DIR / "fxpipe" / "includes"), numpy.get_include()],
                extra_compile_args=compile_args + (inline_args if name in INLINE_WHOLE else []),
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return exts


class BuildWithConfig(build_py):
    """build_py plus config/ copied into the package, so an installed fxpipe has its defaults."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "fxpipe" / "_data" / "config"
        shutil.rmtree(target, ignore_errors=True)
        for src in sorted((ROOT / "config").rglob("*.toml")):
            dst = target / src.relative_to(ROOT / "config")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)


class ParallelBuildExt(build_ext):
    """Compiles extensions on every core (FXPIPE_BUILD_JOBS) unless --parallel says otherwise, so
    `pip wheel .`, which passes no options, is not limited to one core."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = jobs


setup(
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"fxpipe.fix": ["FIX42.xml"]},
    cmdclass={"build_py": BuildWithConfig, "build_ext": ParallelBuildExt},
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
)
