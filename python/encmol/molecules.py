"""Reading and writing molecules, and conversion from/to ASE and RDKit.

Every reader is the C++ one the CLI uses: the same formats, the same checks,
the same error messages (``encmol.InputError`` naming file and line).
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence, Union

import numpy as np

from . import _encmol
from ._encmol import Molecule

PathLike = Union[str, os.PathLike]

__all__ = ["read", "read_text", "from_smiles", "write_xyz", "format_xyz", "xtb", "as_molecules"]


def read(paths: Union[PathLike, Sequence[PathLike]], format: str = "", labels: PathLike = "",
         seed: int = 42, max_file_bytes: int = 0) -> list[Molecule]:
    """Reads every molecule of one or several files or directories.

    Formats (from the name unless ``format`` is given): XYZ / extended XYZ /
    QM9 XYZ, SDF/MOL (V2000, V3000), SMILES (.smi), SMILES tables (.csv), and
    directories of molecule files with a labels file (``labels`` names it when
    it is not inside the directory). Gzip is detected from the content.
    ``seed`` seeds the 3-D embedding of SMILES input.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise _encmol.InputError("read: no input paths given")
    return _encmol.read_molecules(paths, format, os.fspath(labels), seed, max_file_bytes)


def read_text(text: str, format: str, source: str = "<string>", seed: int = 42) -> list[Molecule]:
    """Parses molecules from a string: ``format`` is xyz, sdf, smiles or csv."""
    return _encmol.read_text(text, format, source, seed)


def from_smiles(smiles: str, seed: int = 42, name: str = "") -> Molecule:
    """A 3-D molecule from SMILES: RDKit parse, hydrogens, ETKDG embedding with
    ``seed`` and an MMFF94 (else UFF) relaxation, exactly as the CLI reads .smi files."""
    return _encmol.from_smiles(smiles, seed, name)


def format_xyz(molecules: Iterable[Molecule]) -> str:
    """Extended-XYZ text of the molecules (name and properties in the comment line)."""
    return _encmol.format_xyz(list(molecules))


def write_xyz(path: PathLike, molecules: Iterable[Molecule]) -> None:
    """Writes extended XYZ atomically (gzip when the name ends in .gz)."""
    _encmol.write_xyz(os.fspath(path), list(molecules))


def xtb(molecules: Iterable[Molecule], accuracy: float = 1.0, max_iterations: int = 250,
        electronic_temperature: float = 300.0, total_charge: int = 0) -> dict[str, np.ndarray]:
    """GFN2-xTB single points (libxtb): ``energy_hartree``, ``gap_hartree`` and
    ``dipole_debye`` arrays, one value per molecule (parallel, deterministic)."""
    return _encmol.xtb(list(molecules), accuracy, max_iterations, electronic_temperature, total_charge)


def as_molecules(items) -> list[Molecule]:
    """A list of encmol molecules from molecules, ASE ``Atoms`` or RDKit ``Mol``
    objects (mixed freely), or a single one of them."""
    if isinstance(items, Molecule) or _is_ase(items) or _is_rdkit(items):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, Molecule):
            out.append(item)
        elif _is_ase(item):
            out.append(_from_ase(item))
        elif _is_rdkit(item):
            out.append(_from_rdkit(item))
        else:
            raise _encmol.InputError(
                f"expected an encmol.Molecule, ase.Atoms or rdkit Mol, got {type(item).__name__}")
    return out


def _is_ase(obj) -> bool:
    return type(obj).__module__.startswith("ase") and hasattr(obj, "get_atomic_numbers")


def _is_rdkit(obj) -> bool:
    return type(obj).__module__.startswith("rdkit") and hasattr(obj, "GetConformers")


def _from_ase(atoms, name: str = "") -> Molecule:
    """ASE ``Atoms``: numbers and positions; numeric ``atoms.info`` entries
    become properties, the others text properties; ``info["name"]`` names it."""
    properties, text = {}, {}
    for key, value in atoms.info.items():
        if key == "name":
            continue
        if isinstance(value, (bool, np.bool_)):
            text[key] = str(value)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            properties[key] = float(value)
        elif isinstance(value, str):
            text[key] = value
    name = name or str(atoms.info.get("name", "")) or atoms.get_chemical_formula()
    return Molecule(atoms.get_atomic_numbers().astype(np.int32), np.asarray(atoms.get_positions(), dtype=float),
                    name, properties, text)


def _to_ase(molecule: Molecule):
    """An ASE ``Atoms`` with the molecule's name and properties in ``info``."""
    from ase import Atoms

    info = dict(molecule.text_properties)
    info.update(dict(molecule.properties))
    info["name"] = molecule.name
    return Atoms(numbers=molecule.charges, positions=molecule.positions, info=info)


def _from_rdkit(mol, conf_id: int = -1, seed: int = 42, name: str = "") -> Molecule:
    """An RDKit ``Mol``. With a 3-D conformer (``conf_id``, -1 = the default one)
    its coordinates are used; hydrogens must then be explicit. Without a
    conformer the molecule is embedded from its SMILES exactly as the CLI
    embeds SMILES input (``seed``). Numeric properties become properties."""
    from rdkit import Chem

    title = mol.GetProp("_Name") if mol.HasProp("_Name") else ""
    properties, text = {}, {}
    for key, value in mol.GetPropsAsDict(includePrivate=False, includeComputed=False).items():
        if isinstance(value, bool):
            text[key] = str(value)
        elif isinstance(value, (int, float)):
            properties[key] = float(value)
        else:
            text[key] = str(value)
    if mol.GetNumConformers() == 0:
        smiles = Chem.MolToSmiles(mol)
        out = _encmol.from_smiles(smiles, seed, name or title or smiles)
    else:
        conformer = mol.GetConformer(conf_id)
        if not conformer.Is3D():
            raise _encmol.InputError(
                "from_rdkit: the conformer is 2-D; remove it to embed the molecule in 3-D, or embed it yourself")
        implicit = sum(atom.GetTotalNumHs(includeNeighbors=False) for atom in mol.GetAtoms())
        if implicit:
            raise _encmol.InputError(
                f"from_rdkit: the conformer lacks {implicit} hydrogen atom(s); add them with "
                "Chem.AddHs(mol, addCoords=True) or pass a molecule without conformer to embed it")
        charges = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int32)
        positions = np.asarray(conformer.GetPositions(), dtype=float)
        out = Molecule(charges, positions, name or title or Chem.MolToSmiles(mol), {}, {})
    for key, value in properties.items():
        out.properties[key] = value
    for key, value in text.items():
        out.text_properties[key] = value
    return out


def _molecule_to_rdkit(molecule: Molecule):
    """An RDKit ``Mol`` with the atoms and one 3-D conformer (no bonds are
    perceived; use rdkit.Chem.rdDetermineBonds when you need them)."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    rw = Chem.RWMol()
    for z in molecule.charges:
        rw.AddAtom(Chem.Atom(int(z)))
    conformer = Chem.Conformer(len(molecule))
    for i, (x, y, z) in enumerate(molecule.positions):
        conformer.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    conformer.Set3D(True)
    mol = rw.GetMol()
    mol.AddConformer(conformer, assignId=True)
    mol.SetProp("_Name", molecule.name)
    return mol


# The conversions as methods of Molecule, where a chemist looks for them.
Molecule.from_ase = staticmethod(_from_ase)
Molecule.to_ase = _to_ase
Molecule.from_rdkit = staticmethod(_from_rdkit)
Molecule.to_rdkit = _molecule_to_rdkit
Molecule.from_smiles = staticmethod(from_smiles)
