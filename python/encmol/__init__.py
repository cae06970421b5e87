"""encmol: double-blind machine learning of molecular quantum properties.

Molecules in (files, ASE ``Atoms``, RDKit ``Mol``), numpy out. The same C++
core as the ``encmol`` command line: models, cards, keys, queries and results
are interchangeable with the CLI's files.

    >>> import encmol
    >>> train, test = encmol.split(encmol.read("data/qm7.xyz.gz"), 5700)
    >>> model = encmol.Regressor(targets="ae_pbe0", representation="bob",
    ...                          kernel="laplacian").fit(train)
    >>> model.predict(test[:10])

See docs/python.md for the worked example, including an encrypted prediction.
"""

from ._encmol import (
    __version__,
    Error,
    InputError,
    FormatError,
    ParameterError,
    SecurityError,
    IoError,
    Molecule,
    PropertyMap,
    TextPropertyMap,
    RepresentationSpec,
    Model,
    ModelCard,
    Client,
    Server,
    EvalKeys,
    Query,
    Result,
    Predictions,
    set_threads,
    threads,
    set_log_level,
)
from .molecules import read, read_text, from_smiles, write_xyz, format_xyz, xtb
from .models import Regressor, learning_curve, plot_learning_curve, split
from . import representations, audit, display  # display: Jupyter tables for models, cards, predictions

__all__ = [
    "__version__",
    "Error", "InputError", "FormatError", "ParameterError", "SecurityError", "IoError",
    "Molecule", "PropertyMap", "TextPropertyMap", "RepresentationSpec",
    "Model", "Regressor", "learning_curve", "plot_learning_curve", "split",
    "ModelCard", "Client", "Server", "EvalKeys", "Query", "Result", "Predictions",
    "read", "read_text", "from_smiles", "write_xyz", "format_xyz", "xtb",
    "representations", "audit",
    "set_threads", "threads", "set_log_level",
]
