#!/usr/bin/env python3
"""Regenerates the bundled data sets data/qm7.xyz.gz and data/c7o2h10.xyz.gz.

Reads the raw copies in ../shared/data (relative to the repository root; see
the SOURCE.md file of each data set) and writes gzip-compressed, multi-molecule
extended XYZ: one block per molecule, the comment line carrying
`Properties=species:S:1:pos:R:3`, the molecule name and its labels as
key=value pairs. Coordinates and property values are copied as text, so no
number is re-rounded. Then `encmol xtb` (the encmol executable, built first:
`make build`) appends the GFN2-xTB properties xtb_energy, xtb_gap and
xtb_dipole to every comment line (skip with --no-xtb). The gzip header has
mtime 0 and no file name, so the output is byte-for-byte reproducible (the
xTB values on the same CPU type and libraries; see data/README.md).

Usage: python3 scripts/make_bundled_data.py [--source DIR] [--out DIR]
           [--encmol PATH] [--threads N] [--no-xtb]
Python standard library only (plus the encmol executable for xTB).
"""

import argparse
import gzip
import io
import os
import re
import subprocess
import sys
import tempfile
import time

QM9_KEYS = ["A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2", "zpve",
            "U0", "U", "H", "G", "Cv"]
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
ELEMENT = re.compile(r"^[A-Z][a-z]?$")


def fail(message):
    sys.exit("make_bundled_data.py: error: " + message)


def check_number(text, where):
    if not NUMBER.match(text):
        fail(f"{where}: '{text}' is not a number")
    return text


def write_gzip(path, text):
    buffer = io.BytesIO()
    # filename='' and mtime=0 keep the gzip header free of anything that varies.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0,
                       compresslevel=9) as gz:
        gz.write(text.encode("ascii"))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buffer.getvalue())
    os.replace(tmp, path)


def block(atoms, comment):
    lines = [str(len(atoms)), comment]
    lines += [" ".join(atom) for atom in atoms]
    return "\n".join(lines) + "\n"


def make_qm7(source):
    directory = os.path.join(source, "qm7")
    labels = {}
    with open(os.path.join(directory, "hof_qm7.txt"), encoding="ascii") as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 3:
                fail(f"hof_qm7.txt line {number}: expected 3 fields, got {len(fields)}")
            name = fields[0]
            if name in labels:
                fail(f"hof_qm7.txt line {number}: duplicate name {name}")
            where = f"hof_qm7.txt line {number}"
            labels[name] = (check_number(fields[1], where), check_number(fields[2], where))
    names = sorted(n for n in os.listdir(os.path.join(directory, "xyz")) if n.endswith(".xyz"))
    if sorted(labels) != names:
        fail("qm7: the xyz files and the names in hof_qm7.txt differ")
    out = []
    for name in names:
        path = os.path.join(directory, "xyz", name)
        with open(path, encoding="ascii") as f:
            lines = f.read().splitlines()
        count = int(lines[0])
        atoms = []
        for i, line in enumerate(lines[2:2 + count], 3):
            fields = line.split()
            if len(fields) != 4 or not ELEMENT.match(fields[0]):
                fail(f"{path} line {i}: expected 'symbol x y z'")
            for x in fields[1:]:
                check_number(x, f"{path} line {i}")
            atoms.append(fields)
        if len(atoms) != count or any(l.strip() for l in lines[2 + count:]):
            fail(f"{path}: atom count {count} does not match the atom lines")
        pbe0, dftb = labels[name]
        comment = f"Properties=species:S:1:pos:R:3 name={name} ae_pbe0={pbe0} ae_dftb={dftb}"
        out.append(block(atoms, comment))
    return out


def read_sdf_atoms(path):
    with open(path, encoding="ascii") as f:
        lines = f.read().splitlines()
    counts = lines[3]
    if not counts.rstrip().endswith("V2000"):
        fail(f"{path} line 4: expected a V2000 counts line")
    n_atoms = int(counts[0:3])
    atoms = []
    for i in range(4, 4 + n_atoms):
        fields = lines[i].split()
        x, y, z, symbol = fields[0:4]
        if not ELEMENT.match(symbol):
            fail(f"{path} line {i + 1}: bad element '{symbol}'")
        for v in (x, y, z):
            check_number(v, f"{path} line {i + 1}")
        atoms.append([symbol, x, y, z])
    return atoms


def split_csv(path, n_fields):
    records = {}
    with open(path, encoding="ascii") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = [x.strip() for x in line.rstrip("\n").split(",")]
            if len(fields) != n_fields:
                fail(f"{path} line {number}: expected {n_fields} fields, got {len(fields)}")
            if fields[0] in records:
                fail(f"{path} line {number}: duplicate id {fields[0]}")
            records[fields[0]] = fields[1:]
    return records


def make_c7o2h10(source):
    directory = os.path.join(source, "c7o2h10")
    props = split_csv(os.path.join(directory, "properties.csv"), 16)
    smiles = split_csv(os.path.join(directory, "smiles.csv"), 4)
    files = sorted(n for n in os.listdir(os.path.join(directory, "sdf")) if n.endswith(".sdf"))
    ids = [n[:-4] for n in files]
    if sorted(props) != ids or sorted(smiles) != ids:
        fail("c7o2h10: the SDF files, properties.csv and smiles.csv name different ids")
    out = []
    for name in ids:
        atoms = read_sdf_atoms(os.path.join(directory, "sdf", name + ".sdf"))
        values = props[name]
        pairs = [f"{k}={check_number(v, 'properties.csv ' + name)}" for k, v in zip(QM9_KEYS, values)]
        gdb_smiles, _, relaxed_smiles = smiles[name]
        for s in (gdb_smiles, relaxed_smiles):
            if '"' in s or " " in s or not s:
                fail(f"smiles.csv {name}: unexpected SMILES '{s}'")
        comment = ("Properties=species:S:1:pos:R:3 name=" + name + " " + " ".join(pairs) +
                   f' smiles="{gdb_smiles}" smiles_relaxed="{relaxed_smiles}"')
        out.append(block(atoms, comment))
    return out


def add_xtb(text, name, encmol, threads):
    """The same text with the xTB pairs appended to each comment line."""
    with tempfile.TemporaryDirectory(prefix="encmol_bundled_") as tmp:
        plain = os.path.join(tmp, name + ".xyz")
        annotated = os.path.join(tmp, name + "_xtb.xyz")
        with open(plain, "w", encoding="ascii") as f:
            f.write(text)
        start = time.monotonic()
        subprocess.run([encmol, "--threads", str(threads), "xtb", plain, "-o", annotated],
                       check=True)
        print(f"{name}: xTB took {time.monotonic() - start:.0f} s")
        with open(annotated, encoding="ascii") as f:
            out = f.read()
    before, after = text.split("\n"), out.split("\n")
    if len(before) != len(after):
        fail(f"{name}: encmol xtb changed the number of lines")
    for old, new in zip(before, after):
        if new != old and not (new.startswith(old + " xtb_energy=") and "Properties=" in old):
            fail(f"{name}: encmol xtb changed more than the comment lines: {old!r}")
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.join(root, "..", "shared", "data"),
                        help="folder holding qm7/ and c7o2h10/ (default: ../shared/data)")
    parser.add_argument("--out", default=os.path.join(root, "data"),
                        help="output folder (default: data/ of the repository)")
    parser.add_argument("--encmol", default=os.path.join(root, "build", "encmol"),
                        help="encmol executable for the xTB properties (default: build/encmol)")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for xTB (default 0: all cores)")
    parser.add_argument("--no-xtb", action="store_true",
                        help="write the files without the xTB properties")
    args = parser.parse_args()
    if not args.no_xtb and not os.access(args.encmol, os.X_OK):
        fail(f"{args.encmol} is not an executable; build encmol first (make build), "
             "pass --encmol PATH, or use --no-xtb")
    for name, maker, expected in (("qm7", make_qm7, 7101), ("c7o2h10", make_c7o2h10, 6095)):
        blocks = maker(args.source)
        if len(blocks) != expected:
            fail(f"{name}: {len(blocks)} molecules, expected {expected}")
        text = "".join(blocks)
        if not args.no_xtb:
            text = add_xtb(text, name, args.encmol, args.threads)
        path = os.path.join(args.out, name + ".xyz.gz")
        write_gzip(path, text)
        print(f"wrote {path}: {len(blocks)} molecules, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
