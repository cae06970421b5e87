"""scikit-learn style estimators over encmol's model families.

``Regressor`` takes the options of ``encmol train`` (same names, ``_`` for
``-``; grids as lists) and trains through the same C++ code, so a model saved
here is the CLI's model file and the other way round. It follows the
scikit-learn estimator conventions (``get_params``/``set_params``, ``fit``
returns self, fitted attributes end in ``_``) without depending on
scikit-learn: ``sklearn.base.clone`` and ``cross_val_score`` work when it is
installed.
"""

from __future__ import annotations

import inspect
import os
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from . import _encmol
from ._encmol import Model
from .molecules import as_molecules

__all__ = ["Regressor", "learning_curve", "plot_learning_curve", "split"]

ListOrScalar = Union[None, float, int, str, Sequence]


class Regressor:
    """A molecular property model of any encmol family.

    Parameters (as ``encmol train``; ``None`` = the CLI's default):
        targets: property names to learn. With ``fit(X, y)`` they name the
            columns of ``y`` (default ``y`` or ``y0, y1, ...``); with
            ``fit(X)`` the labels are read from the molecules' properties.
        units: units of the targets (recorded in the model; needed for ``delta``).
        family: krr, local-krr, rf, quadratic or nn.
        representation: cm, bob, cmbdf, fchl19 or fchl19+cmbdf.
        kernel: krr family: gaussian, laplacian, linear or polynomial.
        sigmas, lambdas: grids cross-validated (lists or one value).
        gamma, coef0, degree: polynomial kernel (quadratic: ``coef0`` is a grid).
        weights: local-krr on fchl19+cmbdf: cMBDF weight grid.
        features, pca, rf_kind, feature_seed: random features (``pca`` is also
            the atom projection of the other atomic families).
        depth, width, power, epochs, learning_rate, patience, batch_size: nn family.
        folds: cross-validation folds. baseline: per-element (dressed-atom)
            baseline besides the mean. delta: Δ-learning source(s) (``xtb``,
            ``xtb-gap``, ``xtb-dipole``). seed: folds and splits.
        threads: threads for featurization and training (None = all cores).
        also_hold: molecules the representation must also hold besides the
            training ones (its padding and per-element capacities are fitted
            on the training molecules; a molecule with more atoms of an
            element than any training molecule is refused at prediction).
            ``encmol train`` does the same with its held-out molecules.
    """

    def __init__(self, targets: ListOrScalar = None, units: ListOrScalar = None, family: str = "krr",
                 representation: str = "cm", kernel: str = "gaussian", sigmas: ListOrScalar = None,
                 lambdas: ListOrScalar = None, gamma: float = 0.0, coef0: ListOrScalar = None, degree: int = 2,
                 weights: ListOrScalar = None, features: ListOrScalar = None, pca: ListOrScalar = None,
                 rf_kind: str = "orthogonal", feature_seed: int = 42, depth: ListOrScalar = None,
                 width: ListOrScalar = None, power: ListOrScalar = None, epochs: int = 0,
                 learning_rate: float = 0.0, patience: int = 0, batch_size: int = 0, folds: int = 4,
                 baseline: bool = True, delta: ListOrScalar = None, seed: int = 42,
                 threads: Optional[int] = None, also_hold: Optional[Sequence] = None):
        self.targets = targets
        self.units = units
        self.family = family
        self.representation = representation
        self.kernel = kernel
        self.sigmas = sigmas
        self.lambdas = lambdas
        self.gamma = gamma
        self.coef0 = coef0
        self.degree = degree
        self.weights = weights
        self.features = features
        self.pca = pca
        self.rf_kind = rf_kind
        self.feature_seed = feature_seed
        self.depth = depth
        self.width = width
        self.power = power
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.patience = patience
        self.batch_size = batch_size
        self.folds = folds
        self.baseline = baseline
        self.delta = delta
        self.seed = seed
        self.threads = threads
        self.also_hold = also_hold

    # ---- scikit-learn estimator protocol

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "Regressor":
        """Sets constructor parameters (scikit-learn protocol); unknown names raise InputError."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise _encmol.InputError(f"Regressor has no parameter '{name}' (parameters: {', '.join(valid)})")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _more_tags(self):  # scikit-learn: inputs are molecules, not a numeric matrix
        return {"X_types": ["molecules"], "requires_y": False}

    # ---- training and prediction

    def _options(self, targets: list[str]) -> dict:
        options = {k: v for k, v in self.get_params().items() if k not in ("threads", "targets", "also_hold")}
        options["targets"] = targets
        return options

    def fit(self, X, y=None, dataset: str = "python") -> "Regressor":
        """Trains on molecules ``X`` (encmol, ASE or RDKit molecules).

        ``y``: labels, shape (n,) or (n, targets); without it the labels are the
        molecules' properties named by ``targets``. Hyper-parameters are chosen
        by cross-validation over the grids, as ``encmol train`` does.
        """
        molecules = as_molecules(X)
        names = _as_list(self.targets)
        self._single_output_ = False
        if y is not None:
            y = np.asarray(y, dtype=float)
            if y.ndim == 1:
                y = y[:, None]
                self._single_output_ = True
            if y.ndim != 2 or y.shape[0] != len(molecules):
                raise _encmol.InputError(
                    f"fit: y has shape {y.shape}, expected ({len(molecules)},) or ({len(molecules)}, targets)")
            if not names:
                names = ["y"] if y.shape[1] == 1 else [f"y{i}" for i in range(y.shape[1])]
            if len(names) != y.shape[1]:
                raise _encmol.InputError(f"fit: {len(names)} target names for {y.shape[1]} columns of y")
            molecules = _encmol.with_properties(molecules, names, np.ascontiguousarray(y))
        elif not names:
            raise _encmol.InputError("fit: give y, or the property names to learn as targets=...")
        else:
            self._single_output_ = isinstance(self.targets, str) and len(names) == 1
        if self.threads is not None:
            _encmol.set_threads(int(self.threads))
        also_hold = as_molecules(self.also_hold) if self.also_hold is not None else []
        self.model_, self.report_ = _encmol.train(molecules, self._options(names), dataset, also_hold)
        self.targets_ = list(self.model_.targets)
        self.n_features_in_ = 1
        return self

    def _fitted(self) -> Model:
        model = getattr(self, "model_", None)
        if model is None:
            raise _encmol.InputError(f"this {type(self).__name__} is not fitted yet: call fit (or load) first")
        return model

    def predict(self, X) -> np.ndarray:
        """Predictions for molecules ``X``: shape (n,) for one target fitted from
        a 1-D ``y`` or a single target name, else (n, targets)."""
        values = self._fitted().predict(as_molecules(X))
        return values[:, 0] if getattr(self, "_single_output_", False) else values

    def score(self, X, y=None) -> float:
        """R² of the predictions (scikit-learn's regressor score), averaged over targets."""
        molecules = as_molecules(X)
        predicted = self._fitted().predict(molecules)
        if y is None:
            truth = np.array([[m.properties[t] if t in m.properties else np.nan for t in self.targets_]
                              for m in molecules])
            if np.isnan(truth).any():
                raise _encmol.InputError("score: give y, or molecules carrying every target property")
        else:
            truth = np.asarray(y, dtype=float).reshape(len(molecules), -1)
        residual = ((truth - predicted) ** 2).sum(axis=0)
        total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
        return float(np.mean(1.0 - residual / np.where(total > 0, total, np.inf)))

    def mae(self, X, y=None) -> np.ndarray:
        """Mean absolute error per target (label units)."""
        molecules = as_molecules(X)
        predicted = self._fitted().predict(molecules)
        truth = (np.array([[m.properties[t] for t in self.targets_] for m in molecules]) if y is None
                 else np.asarray(y, dtype=float).reshape(len(molecules), -1))
        return np.abs(truth - predicted).mean(axis=0)

    # ---- files

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the CLI's model file (``encmol predict -m``, ``encmol card -m`` read it)."""
        self._fitted().save(os.fspath(path))

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Regressor":
        """A fitted estimator from a model file (from ``encmol train`` or ``save``)."""
        model = Model.load(os.fspath(path))
        estimator = cls(targets=list(model.targets), units=list(model.units), family=model.family,
                        representation=model.representation.kind)
        estimator.model_ = model
        estimator.report_ = None
        estimator.targets_ = list(model.targets)
        estimator._single_output_ = len(model.targets) == 1
        estimator.n_features_in_ = 1
        return estimator

    @property
    def cv_results_(self) -> list[dict]:
        """The cross-validation table of the fit (one dict per grid point)."""
        self._fitted()
        return list((self.report_ or {}).get("cross_validation", []))


def split(molecules, train_size: int, seed: int = 42):
    """``(train, test)``: a seeded random split of the molecules, the same one
    ``encmol train --test-size`` and ``encmol demo --train-size`` make with
    that seed (bundled data files are not in random order)."""
    molecules = as_molecules(molecules)
    train, test = _encmol.random_split(len(molecules), int(train_size), int(seed))
    return [molecules[i] for i in train], [molecules[i] for i in test]


def learning_curve(train, test, sizes: Optional[Sequence[int]] = None, min_size: int = 32,
                   **options) -> list[dict]:
    """Test error against training-set size, as ``encmol learning-curve``.

    ``options`` are Regressor's (``targets`` required: the molecules' property
    names). For each size (default: powers of two from ``min_size``, and all
    training molecules) a model is cross-validated and trained on the first
    molecules of a seeded permutation of ``train`` and scored on ``test``.
    Returns one dict per (size, target): n, target, sigma, lambda, mae, rmse,
    train_seconds.
    """
    threads = options.pop("threads", None)
    options.pop("also_hold", None)  # the test molecules are held anyway
    unknown = set(options) - set(Regressor._param_names())
    if unknown:
        raise _encmol.InputError(f"learning_curve: unknown option(s) {', '.join(sorted(unknown))}")
    estimator = Regressor(**options)
    targets = _as_list(estimator.targets)
    if not targets:
        raise _encmol.InputError("learning_curve: give targets=... (the molecules' property names)")
    if threads is not None:
        _encmol.set_threads(int(threads))
    return _encmol.learning_curve(as_molecules(train), as_molecules(test), estimator._options(targets),
                                  [int(s) for s in (sizes or [])], min_size)


def plot_learning_curve(points: Iterable[dict], ax=None, path: Optional[str] = None):
    """Log-log plot of test MAE against training size, one line per target
    (matplotlib; returns the axes). Saves a PNG when ``path`` is given."""
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    by_target: dict[str, list[tuple[int, float]]] = {}
    for p in points:
        by_target.setdefault(p["target"], []).append((p["n"], p["mae"]))
    for target, rows in by_target.items():
        rows.sort()
        ax.loglog([r[0] for r in rows], [r[1] for r in rows], "o-", label=target)
    ax.set_xlabel("training molecules N")
    ax.set_ylabel("test MAE")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    return [str(v) for v in value]


def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # arrays and other objects without a plain truth value
        return False
