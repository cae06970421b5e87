import json
import pickle

import numpy as np
import pytest

import encmol
from encmol import Regressor

FAST = dict(targets="ae_pbe0", representation="bob", kernel="laplacian", sigmas=[1000.0], lambdas=[1e-8])


def test_capacity_for_larger_molecules(qm7):
    small = [m for m in qm7[:400] if len(m) <= 12]
    large = [m for m in qm7[400:] if len(m) > 18][:3]
    with pytest.raises(encmol.InputError, match="holds at most|at most"):
        Regressor(**FAST).fit(small).predict(large)
    assert Regressor(**FAST, also_hold=large).fit(small).predict(large).shape == (3,)


def test_fit_predict_from_properties(qm7):
    model = Regressor(**FAST).fit(qm7[:400])
    predicted = model.predict(qm7[400:450])
    assert predicted.shape == (50,)
    truth = np.array([m.properties["ae_pbe0"] for m in qm7[400:450]])
    mae = np.abs(predicted - truth).mean()
    assert mae < 15.0  # kcal/mol: BoB-Laplacian at N = 400 (a wrong model is off by hundreds)
    assert model.mae(qm7[400:450])[0] == pytest.approx(mae)
    assert 0.9 < model.score(qm7[400:450]) <= 1.0
    assert model.model_.family == "krr" and model.model_.training_size == 400


def test_fit_with_array_labels_and_grid(qm7):
    y = np.array([[m.properties["ae_pbe0"], m.properties["xtb_gap"]] for m in qm7[:300]])
    model = Regressor(targets=["ae", "gap"], representation="cm", sigmas=[50, 100], lambdas=[1e-6, 1e-3],
                      folds=3).fit(qm7[:300], y)
    assert model.predict(qm7[300:310]).shape == (10, 2)
    assert len(model.cv_results_) == 4
    with pytest.raises(encmol.InputError, match="2 target names for 1 columns"):
        Regressor(targets=["a", "b"]).fit(qm7[:20], y[:20, 0:1])


def test_predictions_equal_the_cli(tmp_path, qm7, cli):
    model = Regressor(**FAST).fit(qm7[:300])
    model_file = tmp_path / "py.model"
    model.save(model_file)
    query = tmp_path / "query.xyz"
    encmol.write_xyz(query, qm7[300:320])
    out = json.loads(cli("predict", "-m", model_file, query, "--json"))
    cli_values = np.array([row["ae_pbe0"] for row in out["predictions"]])
    assert np.allclose(model.predict(qm7[300:320]), cli_values, rtol=0, atol=1e-9)
    # And a CLI-trained model loads into the estimator with the same predictions.
    train = tmp_path / "train.xyz"
    encmol.write_xyz(train, qm7[:300])
    cli("train", train, "-t", "ae_pbe0", "-r", "bob", "-k", "laplacian", "--sigma", "1000", "--lambda", "1e-8",
        "-o", tmp_path / "cli.model", "--threads", "2")
    loaded = Regressor.load(tmp_path / "cli.model")
    assert loaded.family == "krr" and loaded.representation == "bob"
    assert np.allclose(loaded.predict(qm7[300:320]), model.predict(qm7[300:320]), rtol=0, atol=1e-9)


def test_atomic_family_and_delta(qm7):
    model = Regressor(targets="ae_pbe0", units="kcal/mol", family="quadratic", representation="cmbdf",
                      coef0=2, lambdas=1e-4, delta="xtb").fit(qm7[:300])
    info = model.model_.info()
    assert info["family"] == "quadratic" and info["baseline"]["delta"]
    assert np.abs(model.predict(qm7[300:350]) -
                  np.array([m.properties["ae_pbe0"] for m in qm7[300:350]])).mean() < 5.0


def test_bad_options_are_refused(qm7):
    with pytest.raises(encmol.InputError, match="family"):
        Regressor(targets="ae_pbe0", family="svm").fit(qm7[:20])
    with pytest.raises(encmol.InputError, match="--features applies to the rf family only"):
        Regressor(targets="ae_pbe0", features=128).fit(qm7[:20])
    with pytest.raises(encmol.InputError, match="folds"):
        Regressor(targets="ae_pbe0", folds=1).fit(qm7[:20])
    with pytest.raises(encmol.InputError, match="give y"):
        Regressor().fit(qm7[:20])
    with pytest.raises(encmol.InputError, match="no parameter 'sigma'"):
        Regressor().set_params(sigma=1.0)
    with pytest.raises(encmol.InputError, match="not fitted"):
        Regressor().predict(qm7[:2])
    with pytest.raises(encmol.InputError, match="ae_pbe0|label|propert"):
        Regressor(targets="no_such_label").fit(qm7[:20])


def test_sklearn_clone_and_cross_validation(qm7):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    estimator = Regressor(**FAST)
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == estimator.get_params()
    y = np.array([m.properties["ae_pbe0"] for m in qm7[:240]])
    # Every fold's representation must hold the other folds' molecules too.
    scores = cross_val_score(Regressor(representation="bob", kernel="laplacian", sigmas=1000, lambdas=1e-8,
                                       also_hold=qm7[:240]), qm7[:240], y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.8)
    assert "representation='bob'" in repr(estimator)


def test_model_pickles_and_bytes(qm7):
    model = Regressor(**FAST).fit(qm7[:100])
    copy = pickle.loads(pickle.dumps(model))
    assert np.array_equal(copy.predict(qm7[100:105]), model.predict(qm7[100:105]))
    data = model.model_.to_bytes()
    assert np.array_equal(encmol.Model.from_bytes(data).predict(qm7[100:105])[:, 0], model.predict(qm7[100:105]))
    corrupt = bytearray(data)
    corrupt[len(corrupt) // 2] ^= 0xFF
    with pytest.raises(encmol.FormatError):
        encmol.Model.from_bytes(bytes(corrupt))
    with pytest.raises(encmol.FormatError):
        encmol.Model.from_bytes(data[:100])


def test_learning_curve(qm7, tmp_path):
    points = encmol.learning_curve(qm7[:256], qm7[6000:6100], sizes=[64, 256], **FAST)
    assert [p["n"] for p in points] == [64, 256]
    assert points[1]["mae"] < points[0]["mae"]  # more data, smaller error
    pytest.importorskip("matplotlib")
    encmol.plot_learning_curve(points, path=str(tmp_path / "curve.png"))
    assert (tmp_path / "curve.png").stat().st_size > 1000


def test_split_is_seeded_and_partitions(qm7):
    train, test = encmol.split(qm7[:100], 70, seed=3)
    again, _ = encmol.split(qm7[:100], 70, seed=3)
    other, _ = encmol.split(qm7[:100], 70, seed=4)
    names = [m.name for m in train]
    assert len(train) == 70 and len(test) == 30
    assert sorted(names + [m.name for m in test]) == sorted(m.name for m in qm7[:100])
    assert names == [m.name for m in again] and names != [m.name for m in other]
    with pytest.raises(encmol.InputError, match="train_size"):
        encmol.split(qm7[:10], 10)
