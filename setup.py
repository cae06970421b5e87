"""Builds the compiled core `encmol._encmol` with CMake for pip (pyproject.toml).

The extension is the CMake target `_encmol` (python/CMakeLists.txt), built
from the same sources as the CLI. By default a private build directory
`build-python/` is configured (Release, no tests, no benchmarks); set
ENCMOL_BUILD_DIR to reuse an existing CMake build (e.g. `build`, what `make`
configured) instead of compiling everything again.
"""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
(ROOT / "build-python").mkdir(exist_ok=True)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(os.environ.get("ENCMOL_BUILD_DIR", ROOT / "build-python" / "cmake")).resolve()
        if not (build_dir / "CMakeCache.txt").exists():
            subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja",
                                   "-DCMAKE_BUILD_TYPE=Release", "-DENCMOL_BUILD_TESTS=OFF",
                                   "-DENCMOL_BUILD_BENCH=OFF", f"-DPython3_EXECUTABLE={sys.executable}"])
        jobs = os.environ.get("JOBS", str(os.cpu_count() or 2))
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "_encmol", "-j", jobs])
        built = sorted((build_dir / "python" / "encmol").glob("_encmol*.so"))
        if not built:
            raise RuntimeError(f"the CMake build in {build_dir} produced no _encmol module")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    packages=["encmol"],
    package_dir={"encmol": "python/encmol"},
    package_data={"encmol": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension("encmol._encmol")],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own scratch space, away from the CMake build directory `build/`.
    options={"build": {"build_base": "build-python/setuptools"}, "egg_info": {"egg_base": "build-python"}},
)
