"""The package as a user gets it: the example, the type stubs, pip install."""

import ast
import os
import pathlib
import subprocess
import sys
import venv

import pytest

import encmol
from conftest import BINARY_DIR, SOURCE_DIR


def test_example_runs_on_a_subset():
    example = SOURCE_DIR / "examples" / "python_quickstart.py"
    env = dict(os.environ, PYTHONPATH=str(BINARY_DIR / "python"))
    done = subprocess.run([sys.executable, str(example), "--train", "300", "--test", "50"], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "encrypted:" in done.stdout and "held-out MAE" in done.stdout


def test_every_public_name_is_documented_and_stubbed():
    stub = (SOURCE_DIR / "python" / "encmol" / "_encmol.pyi").read_text()
    stubbed = {node.name for node in ast.parse(stub).body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    # (pybind11's own helper views of the property maps, e.g. "KeysView[str]", excepted)
    compiled = {name for name in dir(encmol._encmol) if not name.startswith("_") and "[" not in name}
    assert compiled - stubbed == set(), "names missing from _encmol.pyi"
    for name in encmol.__all__:
        obj = getattr(encmol, name)
        if callable(obj) or isinstance(obj, type):
            assert obj.__doc__, f"encmol.{name} has no docstring"


def test_pip_installs_into_a_venv_without_network(tmp_path):
    if not (BINARY_DIR / "CMakeCache.txt").exists():
        pytest.skip("no CMake build to reuse")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    env = dict(os.environ, ENCMOL_BUILD_DIR=str(BINARY_DIR), PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(python), "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--quiet",
                           str(SOURCE_DIR)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run([str(python), "-c", "import encmol, sys; print(encmol.__file__); "
                            "print(encmol.Molecule([1, 1], [[0, 0, 0], [0, 0, 0.74]]).formula)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert check.returncode == 0, check.stderr
    location, formula = check.stdout.split()
    assert pathlib.Path(location).is_relative_to(env_dir) and formula == "H2"
