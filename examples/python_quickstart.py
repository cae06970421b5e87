#!/usr/bin/env python3
"""encmol from Python, end to end (docs/python.md walks through it).

1. Train a model of the PBE0 atomization energy on bundled QM7: a quadratic
   atomic model on FCHL19 (63 principal components per element) that learns
   the difference to GFN2-xTB (Δ-learning).
2. Predict for a molecule made with RDKit.
3. Predict the same molecule under encryption: the client encrypts, the
   model owner evaluates without seeing the molecule, the client decrypts
   and adds its own xTB baseline.

Usage: python3 examples/python_quickstart.py [--train N] [--test N]
(the defaults use all 5,700 training molecules, about a minute on 2 cores).
"""

import argparse
import pathlib
import time

import encmol

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "qm7.xyz.gz"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=5700, help="training molecules (default 5700)")
    parser.add_argument("--test", type=int, default=1400, help="held-out molecules (default 1400)")
    parser.add_argument("--data", default=str(DATA), help="molecule file (default: bundled QM7)")
    args = parser.parse_args()

    # 1. Data and training --------------------------------------------------
    molecules = encmol.read(args.data)
    train, test = encmol.split(molecules, args.train)  # the split `encmol demo` makes (seed 42)
    test = test[: args.test]
    start = time.perf_counter()
    model = encmol.Regressor(targets="ae_pbe0", units="kcal/mol", family="quadratic",
                             representation="fchl19", pca=63, delta="xtb").fit(train)
    print(f"trained on {len(train)} molecules in {time.perf_counter() - start:.1f} s: {model.model_}")
    print(f"held-out MAE on {len(test)} molecules: {model.mae(test)[0]:.3f} kcal/mol")

    # 2. A molecule from RDKit ----------------------------------------------
    from rdkit import Chem

    ethanol = encmol.Molecule.from_rdkit(Chem.MolFromSmiles("CCO"))  # embedded in 3-D like the CLI
    plain = model.predict([ethanol])[0]
    print(f"ethanol ({ethanol.formula}): {plain:.2f} kcal/mol")

    # 3. The same prediction under encryption -------------------------------
    card = encmol.ModelCard.from_model(model.model_, tolerance=0.03)   # model owner publishes
    client = encmol.Client(card)                                       # client: secret key
    keys = client.make_eval_keys()                                     # sent to the owner once
    query = client.encrypt([ethanol])                                  # molecule stays secret
    server = encmol.Server(model.model_, keys)                         # model stays with its owner
    result = server.evaluate(query, keys)
    encrypted = client.decrypt(result, [ethanol])                      # + the client's own xTB baseline
    print(f"encrypted: {encrypted.values[0, 0]:.2f} kcal/mol (precision {card.precision[0]} kcal/mol; "
          f"query {query.nbytes / 1e3:.0f} kB, result {result.nbytes / 1e3:.0f} kB)")
    assert abs(encrypted.values[0, 0] - plain) <= card.plan()["targets"][0]["bound"] + card.precision[0] / 2


if __name__ == "__main__":
    main()
