"""Privacy audits of a model, as ``encmol audit``; each returns the figures of
the CLI's ``--json`` report as a dict.

* ``reconstruct``: recover training molecules from a shared kernel model (it
  stores its training representations).
* ``membership``: tell members of the training set from non-members through
  the prediction interface (loss threshold and LiRA, three configurations).
* ``extraction``: steal the model through its answers (surrogate error
  against the number of queries; the basis of the default query budget).
"""

from __future__ import annotations

from typing import Optional, Sequence

from . import _encmol
from ._encmol import Model
from .models import Regressor
from .molecules import as_molecules

__all__ = ["reconstruct", "membership", "extraction"]


def _model(model) -> Model:
    if isinstance(model, Regressor):
        return model._fitted()
    if isinstance(model, Model):
        return model
    raise _encmol.InputError(f"expected an encmol.Model or a fitted Regressor, got {type(model).__name__}")


def reconstruct(model, reference=None, limit: int = 0, rmsd_tolerance: float = 0.1,
                node_budget: int = 2_000_000) -> dict:
    """Reconstructs the training molecules of a kernel model (cm or bob).

    With ``reference`` molecules (e.g. the data set it was trained on) every
    recovered molecule is matched and compared (RMSD after alignment). The
    dict holds the counts and rates of the CLI report, per-row items, and
    ``molecules``: the recovered geometries (None where none was assembled).
    """
    ref = as_molecules(reference) if reference is not None else None
    return _encmol.audit_reconstruct(_model(model), ref, limit, rmsd_tolerance, node_budget)


def membership(data, model=None, target: str = "", train_size: int = 0, shadows: int = 16,
               regularized_lambda: float = 0.0, round_step: float = 1.0, seed: int = 42,
               **options) -> dict:
    """Membership inference (loss threshold, LiRA online and offline).

    Without ``model`` the audit draws a target training set from ``data``
    (``train_size``, default half) and trains the target and the shadow
    models itself with ``options`` (Regressor's: targets, family,
    representation, ...). With a kernel ``model`` the members are the
    molecules of ``data`` it was trained on.
    """
    if "threads" in options:
        threads = options.pop("threads")
        if threads is not None:
            _encmol.set_threads(int(threads))
    m = _model(model) if model is not None else None
    if m is None and not options.get("targets"):
        raise _encmol.InputError("membership: give targets=... (the property to attack) or a model")
    return _encmol.audit_membership(as_molecules(data), m, target, train_size, shadows, regularized_lambda,
                                    round_step, seed, options)


def extraction(model, data, max_budget: int = 2048, budgets: Optional[Sequence[int]] = None,
               eval_size: int = 500, tolerance: float = 1.0, round_step: float = 0.0,
               perturbed_copies: int = 0, perturbation_sigma: float = 0.05, surrogate_cv: bool = False,
               target: str = "", seed: int = 42) -> dict:
    """Model extraction: an attacker with molecules ``data`` (labelled or not)
    queries the model and trains a surrogate; the dict gives the surrogate's
    error against the number of queries and the smallest budget that steals
    the model within ``tolerance``."""
    return _encmol.audit_extraction(_model(model), as_molecules(data), max_budget, [int(b) for b in (budgets or [])],
                                    eval_size, tolerance, round_step, perturbed_copies, perturbation_sigma,
                                    surrogate_cv, target, seed)
