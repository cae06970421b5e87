#!/usr/bin/env python3
"""Overhead of the Python package against the CLI (issue figures, docs/python.md).

Featurize + predict on all of bundled QM7 with one model, alternating the two
paths in one run (machines here are noisy; the ratio is what counts):

  CLI:    encmol predict -m MODEL data/qm7.xyz.gz -o /dev/null   (read + featurize + predict)
  Python: encmol.read(...) then model.predict(...)                 (the same work, in-process)

Also reports the peak memory (RSS) of an encrypted round trip through
Client/Server in a fresh process.

Usage: PYTHONPATH=build/python python3 bench/python_vs_cli.py --model MODEL [--repeats 3]
"""

import argparse
import pathlib
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def time_cli(binary, model, data, threads):
    start = time.perf_counter()
    subprocess.run([binary, "predict", "-m", model, data, "-o", "/dev/null", "--threads", str(threads), "--quiet"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def time_python(model, data):
    import encmol

    start = time.perf_counter()
    molecules = encmol.read(data)
    model.predict(molecules)
    return time.perf_counter() - start


ROUND_TRIP = """
import resource, sys, encmol
model = encmol.Model.load(sys.argv[1])
molecules = encmol.read(sys.argv[2])[:8]
card = encmol.ModelCard.from_model(model, tolerance=float(sys.argv[3]))
client = encmol.Client(card)
keys = client.make_eval_keys()
server = encmol.Server(model, keys)
result = server.evaluate(client.encrypt(molecules), keys)
client.decrypt(result, molecules)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, keys.nbytes)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default=str(ROOT / "data" / "qm7.xyz.gz"))
    parser.add_argument("--cli", default=str(ROOT / "build" / "encmol"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=0.03, help="card tolerance of the round trip")
    args = parser.parse_args()

    import encmol

    encmol.set_threads(args.threads)
    model = encmol.Model.load(args.model)
    cli_times, py_times = [], []
    for _ in range(args.repeats):
        cli_times.append(time_cli(args.cli, args.model, args.data, args.threads))
        py_times.append(time_python(model, args.data))
    cli_s, py_s = statistics.median(cli_times), statistics.median(py_times)
    print(f"model: {model}")
    print(f"featurize + predict, all {len(encmol.read(args.data))} molecules, median of {args.repeats}:")
    print(f"  CLI    {cli_s:7.2f} s   (includes loading the model)")
    print(f"  Python {py_s:7.2f} s   (model already loaded)")
    print(f"  Python / CLI = {py_s / cli_s:.3f}")
    done = subprocess.run([sys.executable, "-c", ROUND_TRIP, args.model, args.data, str(args.tolerance)],
                          capture_output=True, text=True, check=True)
    rss_mib, key_bytes = done.stdout.split()
    print(f"encrypted round trip of 8 molecules (card, keys, encrypt, evaluate, decrypt) in one process: "
          f"peak RSS {float(rss_mib):.0f} MiB (evaluation keys {int(key_bytes) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
