"""Molecular representations as numpy arrays.

A representation is *fitted* (``RepresentationSpec.fit``) on training
molecules: that fixes its padding (the largest molecule for the Coulomb
matrix, the bag sizes for Bag of Bonds, the element set of the atomic kinds).
Pass the fitted ``spec`` again to featurize other molecules into the same
columns — as a model does. Without ``spec`` each function fits one on the
molecules it is given.

Global kinds give one row per molecule; the atomic kinds (cMBDF, FCHL19) also
give one row per atom (``atomic``).
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from ._encmol import RepresentationSpec
from .molecules import as_molecules

__all__ = ["RepresentationSpec", "fit", "coulomb_matrix", "bag_of_bonds", "cmbdf", "fchl19", "atomic"]


def fit(kind: str, molecules: Iterable, also_hold: Iterable = ()) -> RepresentationSpec:
    """Fits a representation of ``kind`` (cm, bob, cmbdf, fchl19, fchl19+cmbdf)
    on ``molecules``, with room for the ``also_hold`` molecules as well."""
    return RepresentationSpec.fit(kind, as_molecules(molecules), as_molecules(list(also_hold)))


def _global(kind: str, molecules, spec: Optional[RepresentationSpec]) -> np.ndarray:
    molecules = as_molecules(molecules)
    if spec is None:
        spec = RepresentationSpec.fit(kind, molecules, [])
    elif spec.kind != kind:
        raise ValueError(f"the spec is a {spec.kind} representation, not {kind}")
    return spec.featurize(molecules)


def coulomb_matrix(molecules, spec: Optional[RepresentationSpec] = None) -> np.ndarray:
    """Sorted Coulomb matrices, upper triangle (molecules x max_atoms (max_atoms + 1) / 2)."""
    return _global("cm", molecules, spec)


def bag_of_bonds(molecules, spec: Optional[RepresentationSpec] = None) -> np.ndarray:
    """Bag of Bonds vectors (molecules x sum of bag sizes)."""
    return _global("bob", molecules, spec)


def cmbdf(molecules, spec: Optional[RepresentationSpec] = None) -> np.ndarray:
    """The global (per-element bagged) form of cMBDF; per atom: ``atomic``."""
    return _global("cmbdf", molecules, spec)


def fchl19(molecules, spec: Optional[RepresentationSpec] = None) -> np.ndarray:
    """The global (per-element bagged) form of FCHL19; per atom: ``atomic``."""
    return _global("fchl19", molecules, spec)


def atomic(molecules, kind: str = "cmbdf", spec: Optional[RepresentationSpec] = None):
    """Per-atom vectors of an atomic representation.

    Returns ``(values, charges, offsets)``: ``values`` is atoms x atom_dimension
    (all molecules stacked), ``charges`` the element of each row, and molecule
    ``i`` is rows ``offsets[i]:offsets[i + 1]``.
    """
    molecules = as_molecules(molecules)
    if spec is None:
        spec = RepresentationSpec.fit(kind, molecules, [])
    values, charges, offsets = spec.featurize_atoms(molecules)
    return values, np.asarray(charges, dtype=np.int32), np.asarray(offsets, dtype=np.int64)
