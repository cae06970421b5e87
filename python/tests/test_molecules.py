import pickle

import numpy as np
import pytest

import encmol
from encmol import Molecule

WATER_XYZ = """3
name=water energy=-76.4
O 0.0 0.0 0.1173
H 0.0 0.7572 -0.4692
H 0.0 -0.7572 -0.4692
"""


def water():
    return encmol.read_text(WATER_XYZ, "xyz")[0]


def test_read_bundled_qm7(qm7):
    assert len(qm7) == 7101  # data/README.md
    first = qm7[0]
    assert isinstance(first, Molecule)
    assert first.charges.dtype == np.int32 and first.positions.shape == (len(first), 3)
    assert "ae_pbe0" in first.properties and "xtb_energy" in first.properties
    # Same reader as the CLI: the first QM7 molecule is methane.
    assert first.formula == "CH4"


def test_read_text_and_properties():
    m = water()
    assert m.name == "water" and m.formula == "H2O"
    assert m.properties["energy"] == pytest.approx(-76.4)
    assert dict(m.properties) == {"energy": -76.4}
    m.properties["dipole"] = 1.85  # a live mapping, not a copy
    assert m.properties["dipole"] == 1.85
    assert "dipole" in encmol.format_xyz([m])


def test_constructor_validates():
    m = Molecule([8, 1, 1], [[0, 0, 0], [0, 0.76, -0.47], [0, -0.76, -0.47]], name="w")
    assert len(m) == 3 and m.formula == "H2O"
    with pytest.raises(encmol.InputError, match="coincident|closer"):
        Molecule([1, 1], [[0, 0, 0], [0, 0, 0.01]])
    with pytest.raises(encmol.InputError, match="2 charges but 1 positions"):
        Molecule([1, 1], [[0, 0, 0]])
    with pytest.raises(encmol.InputError):
        Molecule([200], [[0, 0, 0]])
    with pytest.raises(encmol.InputError):
        Molecule([1], [[0, np.nan, 0]])


def test_bad_input_raises_with_location(tmp_path):
    with pytest.raises(encmol.InputError, match="line"):
        encmol.read_text("2\ncomment\nH 0 0 0\n", "xyz", source="broken.xyz")
    with pytest.raises(encmol.InputError, match="unknown format"):
        encmol.read_text(WATER_XYZ, "pdb")
    with pytest.raises(encmol.Error):
        encmol.read(tmp_path / "missing.xyz")
    # The error classes are also the Python built-ins code catches.
    assert issubclass(encmol.InputError, ValueError) and issubclass(encmol.IoError, OSError)


def test_pickle_round_trip():
    m = water()
    m.text_properties["smiles"] = "O"
    copy = pickle.loads(pickle.dumps(m))
    assert copy.name == m.name and np.array_equal(copy.charges, m.charges)
    assert np.array_equal(copy.positions, m.positions)
    assert dict(copy.properties) == dict(m.properties) and dict(copy.text_properties) == {"smiles": "O"}


def test_write_and_read_back(tmp_path, qm7):
    path = tmp_path / "few.xyz.gz"
    encmol.write_xyz(path, qm7[:5])
    back = encmol.read(path)
    assert [m.name for m in back] == [m.name for m in qm7[:5]]
    assert np.array_equal(back[3].positions, qm7[3].positions)
    assert back[3].properties["ae_pbe0"] == qm7[3].properties["ae_pbe0"]


def test_ase_round_trip(qm7):
    ase = pytest.importorskip("ase")
    m = qm7[10]
    atoms = m.to_ase()
    assert isinstance(atoms, ase.Atoms)
    assert np.array_equal(atoms.get_atomic_numbers(), m.charges)
    assert atoms.info["ae_pbe0"] == m.properties["ae_pbe0"]
    back = Molecule.from_ase(atoms)
    assert back.name == m.name and np.allclose(back.positions, m.positions)
    assert back.properties["ae_pbe0"] == m.properties["ae_pbe0"]
    # Models take ASE objects directly.
    assert len(encmol.representations.coulomb_matrix([atoms, m])) == 2


def test_rdkit_round_trip():
    Chem = pytest.importorskip("rdkit.Chem")
    from rdkit.Chem import AllChem

    # No conformer: embedded exactly as the CLI embeds SMILES.
    ethanol = Chem.MolFromSmiles("CCO")
    m = Molecule.from_rdkit(ethanol)
    reference = encmol.from_smiles("CCO")
    assert m.formula == "C2H6O" and np.allclose(m.positions, reference.positions)
    # A 3-D conformer with explicit hydrogens is taken as it is.
    mh = Chem.AddHs(ethanol)
    AllChem.EmbedMolecule(mh, randomSeed=7)
    mh.SetDoubleProp("energy", -1.5)
    m3 = Molecule.from_rdkit(mh)
    assert np.allclose(m3.positions, mh.GetConformer().GetPositions())
    assert m3.properties["energy"] == -1.5
    back = m3.to_rdkit()
    assert back.GetNumAtoms() == 9 and np.allclose(back.GetConformer().GetPositions(), m3.positions)
    # A conformer without its hydrogens would silently change the molecule: refused.
    heavy = Chem.RemoveHs(mh)
    with pytest.raises(encmol.InputError, match="hydrogen"):
        Molecule.from_rdkit(heavy)


def test_from_smiles_errors():
    with pytest.raises(encmol.InputError, match="SMILES"):
        encmol.from_smiles("C1CC")


def test_xtb_matches_stored_values(qm7):
    result = encmol.xtb(qm7[:3])
    stored = np.array([m.properties["xtb_energy"] for m in qm7[:3]])
    assert np.allclose(result["energy_hartree"], stored, atol=1e-6)
    with pytest.raises(encmol.ParameterError):
        encmol.xtb(qm7[:1], accuracy=-1)
