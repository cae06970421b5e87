import json

import numpy as np
import pytest

import encmol


@pytest.fixture(scope="module")
def delta_model(qm7):
    """A quadratic atomic model learning the difference to xTB (client-side baseline)."""
    return encmol.Regressor(targets="ae_pbe0", units="kcal/mol", family="quadratic", representation="cmbdf",
                            coef0=2, lambdas=1e-4, delta="xtb", also_hold=qm7[200:230]).fit(qm7[:200]).model_


@pytest.fixture(scope="module")
def session(delta_model):
    card = encmol.ModelCard.from_model(delta_model, tolerance=0.05)
    client = encmol.Client(card)
    keys = client.make_eval_keys()
    return card, client, keys


def test_encrypted_round_trip_matches_plain(delta_model, session, qm7):
    card, client, keys = session
    assert card.needs_molecules_to_decrypt and card.targets == ["ae_pbe0"]
    assert "ae_pbe0" in repr(card) and card.plan()["flood_bits"] >= 1
    assert card.plan()["circuit"] == "atomic" and "guaranteed" in card._repr_html_()
    query_molecules = qm7[200:205]
    query = client.encrypt(query_molecules)
    server = encmol.Server(delta_model, keys, query_budget=10)
    result = server.evaluate(query, keys)
    predictions = client.decrypt(result, query_molecules)
    plain = delta_model.predict(query_molecules)[:, 0]
    step = card.precision[0]
    bound = card.plan()["targets"][0]["bound"]
    assert predictions.names == [m.name for m in query_molecules]
    assert query_molecules[0].name in predictions._repr_html_()
    assert "quadratic" in delta_model._repr_html_()
    assert np.all(np.abs(predictions.values[:, 0] - plain) <= bound + step / 2 + 1e-9)
    assert server.used_budget(keys) == 5
    # The budget is enforced: 5 + 5 fit, the next query does not.
    server.evaluate(query, keys)
    with pytest.raises(encmol.SecurityError, match="budget"):
        server.evaluate(query, keys)
    with pytest.raises(encmol.InputError, match="molecules"):
        client.decrypt(result)  # the xTB baseline needs the query's molecules


def test_files_interchange_with_the_cli(tmp_path, delta_model, session, qm7, cli):
    card, client, keys = session
    model_file, key_file, keys_file = tmp_path / "m.model", tmp_path / "client.key", tmp_path / "client.evk"
    delta_model.save(model_file)
    client.save_secret_key(key_file)
    keys.save(keys_file)
    molecules = tmp_path / "q.xyz"
    encmol.write_xyz(molecules, qm7[210:213])
    client.encrypt(encmol.read(molecules)).save(tmp_path / "q.query")
    cli("evaluate", "-m", model_file, "--eval-keys", keys_file, "--query", tmp_path / "q.query", "-o",
        tmp_path / "q.result", "--threads", "2")
    # Python decrypts the CLI's result with the reloaded key; the CLI decrypts the same file.
    reloaded = encmol.Client.load(key_file)
    assert reloaded.key_id == client.key_id
    mine = reloaded.decrypt(encmol.Result.load(tmp_path / "q.result"), encmol.read(molecules))
    theirs = json.loads(cli("decrypt", "-k", key_file, "-r", tmp_path / "q.result", "--molecules", molecules,
                            "--json"))
    assert [row["ae_pbe0"] for row in theirs["predictions"]] == list(mine.values[:, 0])
    # The card written by Python is the CLI's card.
    card.save(tmp_path / "m.card")
    plan = json.loads(cli("card", "-m", model_file, "-o", tmp_path / "cli.card", "--tolerance", "0.05", "--json"))
    assert encmol.ModelCard.load(tmp_path / "cli.card").plan_hash == card.plan_hash
    assert plan["targets"][0]["rounding_step"] == card.precision[0]


def test_foreign_and_corrupt_messages_are_refused(delta_model, session, qm7):
    card, client, keys = session
    other = encmol.Client(card)  # another client's key
    server = encmol.Server(delta_model, card)
    query = other.encrypt(qm7[220:221])
    with pytest.raises(encmol.FormatError, match="key"):
        server.evaluate(query, keys)
    data = bytearray(client.encrypt(qm7[220:221]).to_bytes())
    data[-40] ^= 0x01
    with pytest.raises(encmol.FormatError):
        server.evaluate(encmol.Query.from_bytes(bytes(data)), keys)
    with pytest.raises(encmol.FormatError, match="not an encmol query"):
        encmol.Query.from_bytes(keys.to_bytes()[:64])
    result = server.evaluate(client.encrypt(qm7[220:221]), keys)
    with pytest.raises(encmol.FormatError):
        other.decrypt(result, qm7[220:221])  # a result for another key
