"""Shared fixtures: the bundled QM7 data, the CLI binary, a scratch directory."""

import os
import pathlib
import subprocess

import pytest

import encmol

SOURCE_DIR = pathlib.Path(os.environ.get("ENCMOL_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY_DIR = pathlib.Path(os.environ.get("ENCMOL_BINARY_DIR", SOURCE_DIR / "build"))
QM7 = SOURCE_DIR / "data" / "qm7.xyz.gz"


@pytest.fixture(scope="session", autouse=True)
def _threads():
    encmol.set_threads(2)


@pytest.fixture(scope="session")
def qm7():
    """All 7,165 bundled QM7 molecules (ae_pbe0 in kcal/mol, xtb_* precomputed)."""
    return encmol.read(QM7)


@pytest.fixture(scope="session")
def cli():
    """Runs the encmol CLI built next to this package; returns stdout."""
    binary = BINARY_DIR / "encmol"
    if not binary.exists():
        pytest.skip(f"the encmol CLI is not built at {binary}")

    def run(*args):
        done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError(f"encmol {' '.join(map(str, args))} failed:\n{done.stderr}")
        return done.stdout

    return run
