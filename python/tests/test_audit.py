import pytest

import encmol


def test_reconstruct_coulomb_matrix_model(qm7):
    model = encmol.Regressor(targets="ae_pbe0", representation="cm", sigmas=100, lambdas=1e-6).fit(qm7[:30])
    report = encmol.audit.reconstruct(model, reference=qm7[:30])
    # A Coulomb-matrix model gives its training molecules away exactly.
    assert report["exact"] == 30
    assert len(report["molecules"]) == 30 and all(m is not None for m in report["molecules"])
    with pytest.raises(encmol.InputError):
        encmol.audit.reconstruct(encmol.Regressor(targets="ae_pbe0", family="quadratic", representation="cmbdf",
                                                  coef0=2, lambdas=1e-4).fit(qm7[:30]))


def test_extraction(qm7):
    model = encmol.Regressor(targets="ae_pbe0", representation="cm", sigmas=100, lambdas=1e-6).fit(qm7[:100])
    report = encmol.audit.extraction(model, qm7[1000:1400], max_budget=128, budgets=[32, 128], eval_size=100)
    assert [p["queries"] for p in report["points"]] == [32, 128]
    assert report["points"][1]["mae_vs_victim"] < report["points"][0]["mae_vs_victim"]


def test_membership_fresh_target(qm7):
    report = encmol.audit.membership(qm7[:160], targets="ae_pbe0", representation="cm", sigmas=100,
                                     lambdas=1e-6, shadows=4)
    assert report["members"] == 80 and len(report["configs"]) == 3
    default = report["configs"][0]
    # A barely regularized kernel model fits its members almost exactly: the
    # loss attack separates them far better than chance.
    assert default["member_mae"] < default["non_member_mae"]
    assert default["loss_threshold"]["auc"] > 0.7
