// Molecule readers and the extended-XYZ writer.
//
// read_molecules(path) picks the format from the path:
//
//   directory                  a directory of molecule files plus labels (below)
//   .xyz .extxyz (+ .gz)       XYZ; each block is plain XYZ, extended XYZ or the
//                              original QM9 XYZ, recognized by its comment line
//   .sdf .mol .sd (+ .gz)      MDL molfile / SD file, V2000 or V3000, multi-record
//   .smi .smiles (+ .gz)       one SMILES per line, optional name after it;
//                              embedded in 3D through RDKit
//   .csv (+ .gz)               SMILES table: header row with a "smiles" column,
//                              optional "name" (or "id") column; every other
//                              column is a numeric label; embedded like .smi
//
// ReadOptions::format forces a format: "xyz" (also "extxyz", "qm9"), "sdf"
// (also "mol", "sd"), "smiles" (also "smi"), "csv", "dir" (also "directory");
// case-insensitive.
// Gzip compression is detected from the file content, not only the name.
//
// XYZ blocks. Line 1: atom count. Line 2: comment. Then one line per atom.
//  - extended XYZ: the comment is a list of key=value pairs (values may be
//    "double quoted" with \" and \\ escapes). `Properties=species:S:1:pos:R:3...`
//    names the atom columns; species (or Z:I:1) and pos may be in any position
//    and extra columns are ignored. Without Properties= the columns are
//    "symbol x y z". `name=` sets Molecule::name; numeric values become
//    Molecule::properties, the others Molecule::text_properties.
//    A comment is read as key=value pairs when it holds Properties= or when
//    every token is key=value; anything else is a free-text comment.
//  - QM9 XYZ: the comment is "gdb N A B C mu alpha homo lumo gap r2 zpve U0 U H
//    G Cv" (stored under these names); atom lines have a 5th column (Mulliken
//    charge, ignored); numbers may use Mathematica exponents (1.2*^-6); the
//    three lines after the atoms (frequencies, SMILES, InChI) are consumed,
//    the SMILES and InChI kept as text properties.
//  - plain XYZ: "symbol x y z [extra numeric columns]"; the symbol may also be
//    the atomic number.
//  Several blocks may follow each other (blank lines between them allowed).
//
// Molecule names: the name= key or the SDF title line; otherwise the source
// file name when the file holds one molecule, and "<file>#<k>" (k from 1)
// when it holds several.
//
// Directory + labels. Every *.xyz, *.extxyz, *.sdf, *.mol file (optionally
// .gz) directly inside the directory is read, in file-name order; each must
// hold exactly one molecule, named by its file name. Labels come from
// ReadOptions::labels_csv, else from `labels.csv` in the directory, else from
// the only *.csv / *.txt / *.dat / *.tsv file there (several candidates are an
// error). A directory without a labels file gives molecules with only the
// properties their own files carry. Labels file: the first column (or the
// column called name/file/filename/id) is the molecule's file name, with or
// without extension; the other columns are numeric labels. `.csv` files are
// comma separated and start with a header row; other extensions are
// whitespace separated, and their header row is optional (without one the
// columns are called y1, y2, ...; e.g. QM7's hof_qm7.txt). Every molecule
// file needs exactly one row, and every row needs its file.
//
// Every error is an InputError (or IoError/FormatError from core for
// unreadable, oversized or corrupt-gzip files) whose message names the file,
// the line and what is wrong. Nothing is skipped silently.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "encmol/chem/molecule.hpp"

namespace encmol::chem {

/// Default cap on the (decompressed) size of one input file.
inline constexpr std::uint64_t kDefaultMaxInputBytes = std::uint64_t{1} << 30;

/// Default seed of the SMILES 3D embedding (ETKDG).
inline constexpr std::uint64_t kDefaultEmbeddingSeed = 42;

struct ReadOptions {
  std::string format;                          // "" = from the path; or xyz, sdf, smiles, csv, dir
  std::filesystem::path labels_csv;            // labels for a directory (empty = look inside it)
  std::uint64_t seed = kDefaultEmbeddingSeed;  // SMILES embedding seed
  std::uint64_t max_file_bytes = kDefaultMaxInputBytes;  // per file, after decompression
};

/// Reads every molecule of a file or directory (see the top of this header).
/// Each molecule has passed validate_molecule.
std::vector<Molecule> read_molecules(const std::filesystem::path& path,
                                     const ReadOptions& options = {});

// Text-level readers. `source` names the input in messages ("a.xyz") and
// provides default molecule names.

/// XYZ text: plain, extended and QM9 blocks, one or several.
std::vector<Molecule> read_xyz_text(std::string_view text, const std::string& source);

/// SD file / molfile text: V2000 or V3000 records separated by $$$$. Data items
/// (> <name>) with a single numeric value become properties, others text
/// properties. Records marked 2D in their header are refused (use SMILES).
std::vector<Molecule> read_sdf_text(std::string_view text, const std::string& source);

/// One SMILES per line, optionally followed by whitespace and a name; blank
/// lines and lines starting with '#' are ignored, as is a first line whose
/// first token is "smiles" (a header).
std::vector<Molecule> read_smiles_text(std::string_view text, const std::string& source,
                                       std::uint64_t seed = kDefaultEmbeddingSeed);

/// CSV with a header row holding a "smiles" column (see the top of this header).
std::vector<Molecule> read_smiles_csv_text(std::string_view text, const std::string& source,
                                           std::uint64_t seed = kDefaultEmbeddingSeed);

/// SMILES to 3D: RDKit parse, add hydrogens, ETKDG (v3) embedding with `seed`,
/// MMFF94 relaxation (UFF when MMFF lacks parameters). Deterministic for a
/// given seed. Throws InputError starting with `context` when the SMILES
/// cannot be parsed or embedded.
Molecule molecule_from_smiles(const std::string& smiles, std::uint64_t seed,
                              const std::string& context);

/// A table of labels keyed by molecule (file) name.
struct LabelTable {
  std::vector<std::string> columns;         // label names
  std::vector<std::string> keys;            // row keys, file order
  std::vector<std::vector<double>> values;  // values[row][column]
  std::vector<std::size_t> lines;           // line number of each row
};

/// Parses a labels file (comma separated with header when `comma` is true,
/// else whitespace separated with optional header). Rejects duplicate keys,
/// missing or non-numeric values and ragged rows.
LabelTable read_labels_text(std::string_view text, const std::string& source, bool comma);

/// Reads a directory of molecule files plus labels (see the top of this header).
std::vector<Molecule> read_xyz_directory(const std::filesystem::path& directory,
                                         const ReadOptions& options = {});

/// n x t matrix of the properties `names` (columns in that order). Throws
/// InputError starting with `context` naming the first molecule lacking one.
Eigen::MatrixXd property_matrix(const std::vector<Molecule>& molecules,
                                const std::vector<std::string>& names, const std::string& context);

/// Names of the numeric properties every molecule has (sorted); empty for no
/// molecules.
std::vector<std::string> common_property_names(const std::vector<Molecule>& molecules);

/// Extended XYZ text of `molecules` (Properties=species:S:1:pos:R:3, name=,
/// numeric properties, then text properties). Numbers are written in the
/// shortest form that reads back to the same double.
std::string format_xyz(const std::vector<Molecule>& molecules);

/// Writes format_xyz(molecules) to `path` atomically; gzip-compressed when the
/// path ends in ".gz".
void write_xyz(const std::filesystem::path& path, const std::vector<Molecule>& molecules);

}  // namespace encmol::chem
