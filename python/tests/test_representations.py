import pickle

import numpy as np
import pytest

import encmol
from encmol import representations as rep


def test_coulomb_matrix_spec_semantics(qm7):
    train, other = qm7[:200], qm7[200:210]
    spec = rep.fit("cm", train, also_hold=other)
    x = rep.coulomb_matrix(other, spec=spec)
    n = spec.max_atoms
    assert x.shape == (10, n * (n + 1) // 2) and x.flags["C_CONTIGUOUS"]
    assert np.array_equal(x, spec.featurize(other))
    # Diagonal of the first atom: 0.5 Z^2.4 of the heaviest atom.
    assert x[0, 0] == pytest.approx(0.5 * max(other[0].charges) ** 2.4)
    with pytest.raises(ValueError, match="not bob"):
        rep.bag_of_bonds(other, spec=spec)


def test_spec_refuses_what_it_cannot_hold(qm7):
    spec = rep.fit("bob", qm7[:1])  # methane: no room for anything larger
    with pytest.raises(encmol.InputError):
        spec.featurize(qm7[100:101])


def test_atomic_representation(qm7):
    values, charges, offsets = rep.atomic(qm7[:5], kind="cmbdf")
    assert values.shape[0] == sum(len(m) for m in qm7[:5]) == offsets[-1]
    assert list(charges[: len(qm7[0])]) == list(qm7[0].charges)
    assert len(offsets) == 6
    spec = rep.fit("cmbdf", qm7[:5])
    assert spec.is_atomic and values.shape[1] == spec.atom_dimension
    with pytest.raises(encmol.InputError, match="global representation"):
        rep.fit("cm", qm7[:5]).featurize_atoms(qm7[:5])


def test_spec_pickles(qm7):
    spec = rep.fit("bob", qm7[:50])
    copy = pickle.loads(pickle.dumps(spec))
    assert copy == spec and np.array_equal(copy.featurize(qm7[:3]), spec.featurize(qm7[:3]))
