// SMILES -> 3D through RDKit, and the .smi / SMILES-CSV readers built on it.
#include <ForceField/ForceField.h>
#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/MMFF/Builder.h>
#include <GraphMol/ForceFieldHelpers/UFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/UFF/Builder.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <RDGeneral/RDLog.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "encmol/chem/reader_impl.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/chem/text_scan.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::chem {
namespace {

// Embedding and relaxation time grow quickly with size: chem_smiles_fuzz
// found a 232-atom chain that took 3.3 s to embed and 4.3 s to relax on one
// core, and a 128-atom alkane takes 0.7 s to embed. Up to 100 atoms a
// molecule takes at most about 0.5 s (1 s under ASan, within the fuzzers'
// 2 s). SMILES inputs are for small and drug-sized molecules; no model of
// encmol holds molecules near this size.
constexpr std::size_t kMaxSmilesAtoms = 100;
// Gap between the bounding boxes of a SMILES's fragments, placed side by side.
constexpr double kFragmentGapAngstrom = 5.0;
constexpr std::size_t kMaxSmilesLength = 5000;
// Force-field relaxation: RDKit's convenience defaults for MMFF94 and UFF
// (non-bonded cut-off 10 A), with more iterations: up to kRelaxIterations
// for fragments of up to kFullRelaxAtoms atoms (QM9's and QM7's molecules
// converge well within them), fewer for larger ones, whose cost per
// iteration grows with the square of the atom count, so one molecule's
// relaxation stays well under a second.
constexpr double kNonBondedCutoff = 10.0;
constexpr int kRelaxIterations = 2000;
constexpr int kFullRelaxAtoms = 64;

int relax_iterations(unsigned atoms) {
  if (atoms <= kFullRelaxAtoms) return kRelaxIterations;
  const double shrink = static_cast<double>(kFullRelaxAtoms) / static_cast<double>(atoms);
  return static_cast<int>(kRelaxIterations * shrink * shrink);
}

void silence_rdkit_logs() {
  // RDKit prints parse failures to stderr; encmol reports them itself as
  // InputError with the file and line.
  static std::once_flag once;
  std::call_once(once, [] {
    boost::logging::disable_logs("rdApp.error");
    boost::logging::disable_logs("rdApp.warning");
  });
}

std::unique_ptr<RDKit::RWMol> parse_smiles(const std::string& smiles, const std::string& context) {
  if (smiles.empty()) throw InputError(context + ": empty SMILES");
  if (smiles.size() > kMaxSmilesLength) {
    throw InputError(context + ": SMILES longer than " + std::to_string(kMaxSmilesLength) +
                     " characters");
  }
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(smiles));
  } catch (const std::exception& e) {
    throw InputError(context + ": cannot parse SMILES " + detail::quote(smiles) + " (" + e.what() +
                     ")");
  }
  if (!mol) {
    throw InputError(context + ": cannot parse SMILES " + detail::quote(smiles) +
                     " (syntax error or impossible valence)");
  }
  if (mol->getNumAtoms() == 0)
    throw InputError(context + ": SMILES " + detail::quote(smiles) + " has no atoms");
  for (const auto* atom : mol->atoms()) {
    if (atom->getAtomicNum() < 1) {
      throw InputError(context + ": SMILES " + detail::quote(smiles) +
                       " contains a dummy or wildcard atom (*), which has no nuclear charge");
    }
  }
  // RDKit's parser also takes SMARTS's any-bond '~' (a bond of no order); the
  // force-field builders then throw and leak the field they were building
  // (found by chem_smiles_fuzz). Every bond needs an order to be embedded.
  for (const auto* bond : mol->bonds()) {
    switch (bond->getBondType()) {
      case RDKit::Bond::SINGLE:
      case RDKit::Bond::DOUBLE:
      case RDKit::Bond::TRIPLE:
      case RDKit::Bond::QUADRUPLE:
      case RDKit::Bond::AROMATIC:
      case RDKit::Bond::DATIVE:
        break;
      default:
        throw InputError(context + ": SMILES " + detail::quote(smiles) +
                         " has a bond without an order ('~' is SMARTS, not SMILES)");
    }
  }
  return mol;
}

// Minimizes the conformer the force field points into; the field is owned
// here, where RDKit's MMFF/UFFOptimizeMolecule hold it in a raw pointer.
void relax(std::unique_ptr<ForceFields::ForceField> field, int max_iterations) {
  field->initialize();
  field->minimize(max_iterations);
}

// Embeds one connected molecule with ETKDGv3 (from random coordinates if
// that fails) and relaxes it with MMFF94, else UFF; returns the relaxation.
std::string embed_connected(RDKit::ROMol& mol, const std::string& smiles, std::uint64_t seed,
                            const std::string& context) {
  RDKit::DGeomHelpers::EmbedParameters params = RDKit::DGeomHelpers::ETKDGv3;
  params.randomSeed = static_cast<int>(seed % 2147483647ULL);
  params.numThreads = 1;
  int conformer = RDKit::DGeomHelpers::EmbedMolecule(mol, params);
  if (conformer < 0) {
    // Strained or large systems sometimes need random starting coordinates.
    params.useRandomCoords = true;
    conformer = RDKit::DGeomHelpers::EmbedMolecule(mol, params);
  }
  if (conformer < 0) {
    throw InputError(context + ": RDKit could not embed SMILES " + detail::quote(smiles) +
                     " in 3D (ETKDG failed, also from random coordinates)");
  }
  // The molecule is one fragment, so there are no interfragment terms to
  // ignore; asking to ignore them makes RDKit re-sanitize a copy of the
  // molecule inside the builder, which throws on some inputs the parser
  // accepted (c$1ccccc1) and leaks the half-built force field (found by
  // chem_smiles_fuzz).
  constexpr bool kIgnoreInterfragment = false;
  RDKit::MMFF::MMFFMolProperties mmff(mol);
  if (mmff.isValid()) {
    relax(std::unique_ptr<ForceFields::ForceField>(RDKit::MMFF::constructForceField(
              mol, &mmff, kNonBondedCutoff, -1, kIgnoreInterfragment)),
          relax_iterations(mol.getNumAtoms()));
    return "MMFF94";
  }
  if (RDKit::UFF::getAtomTypes(mol).second) {
    relax(std::unique_ptr<ForceFields::ForceField>(
              RDKit::UFF::constructForceField(mol, kNonBondedCutoff, -1, kIgnoreInterfragment)),
          relax_iterations(mol.getNumAtoms()));
    return "UFF";
  }
  return "none";
}

// Adds hydrogens, embeds and relaxes; fills `out`. A SMILES of several
// fragments (salts, mixtures) is embedded fragment by fragment, each placed
// beside the previous one along x: their relative placement is not defined
// by the SMILES, and embedding them as one system can take minutes (a
// 93-character input of five nitrogen chains took 3 min, found by fuzzing).
void embed(RDKit::RWMol& mol, const std::string& smiles, std::uint64_t seed,
           const std::string& context, Molecule& out) {
  try {
    RDKit::MolOps::addHs(mol);
    if (mol.getNumAtoms() > kMaxSmilesAtoms) {
      throw InputError(context + ": SMILES " + detail::quote(smiles) + " has " +
                       std::to_string(mol.getNumAtoms()) +
                       " atoms with hydrogens; 3D embedding is limited to " +
                       std::to_string(kMaxSmilesAtoms));
    }
    out.charges.clear();
    out.positions.clear();
    std::string relaxation;
    std::vector<std::vector<int>> atoms_of_fragment;
    if (RDKit::MolOps::getMolFrags(mol, atoms_of_fragment) == 1) {
      relaxation = embed_connected(mol, smiles, seed, context);
      const RDKit::Conformer& conf = mol.getConformer();
      for (const auto* atom : mol.atoms()) {
        const auto& p = conf.getAtomPos(atom->getIdx());
        out.charges.push_back(atom->getAtomicNum());
        out.positions.push_back({p.x, p.y, p.z});
      }
    } else {
      atoms_of_fragment.clear();  // the same, in the order of each fragment's atoms
      const auto fragments =
          RDKit::MolOps::getMolFrags(mol, /*sanitizeFrags=*/true, nullptr, &atoms_of_fragment);
      out.charges.resize(mol.getNumAtoms());
      out.positions.resize(mol.getNumAtoms());
      double next_x = 0;
      for (std::size_t f = 0; f < fragments.size(); ++f) {
        const std::string r = embed_connected(*fragments[f], smiles, seed, context);
        if (relaxation.find(r) == std::string::npos)
          relaxation += (relaxation.empty() ? "" : ",") + r;
        const RDKit::Conformer& conf = fragments[f]->getConformer();
        double min_x = conf.getAtomPos(0).x, max_x = min_x;
        for (unsigned a = 0; a < fragments[f]->getNumAtoms(); ++a) {
          min_x = std::min(min_x, conf.getAtomPos(a).x);
          max_x = std::max(max_x, conf.getAtomPos(a).x);
        }
        const double shift = f == 0 ? 0.0 : next_x - min_x;
        for (unsigned a = 0; a < fragments[f]->getNumAtoms(); ++a) {
          const auto original = static_cast<std::size_t>(atoms_of_fragment[f][a]);
          const auto& p = conf.getAtomPos(a);
          out.charges[original] =
              mol.getAtomWithIdx(static_cast<unsigned>(original))->getAtomicNum();
          out.positions[original] = {p.x + shift, p.y, p.z};
        }
        next_x = max_x + shift + kFragmentGapAngstrom;
      }
    }
    out.text_properties["smiles"] = smiles;
    out.text_properties["relaxation"] = relaxation;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(context + ": RDKit failed on SMILES " + detail::quote(smiles) + " (" +
                     e.what() + ")");
  }
  validate_molecule(out, context);
}

struct SmilesJob {
  std::string smiles;
  std::string context;
  Molecule molecule;  // name and labels already set
};

// Parses serially (cheap), embeds in parallel; the first failing job in input
// order is reported, so the error does not depend on the thread count.
std::vector<Molecule> embed_all(std::vector<SmilesJob>& jobs, std::uint64_t seed) {
  silence_rdkit_logs();
  std::vector<std::unique_ptr<RDKit::RWMol>> parsed(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i)
    parsed[i] = parse_smiles(jobs[i].smiles, jobs[i].context);
  std::vector<std::exception_ptr> errors(jobs.size());
  core::parallel_for(jobs.size(), [&](std::size_t i) {
    try {
      embed(*parsed[i], jobs[i].smiles, seed, jobs[i].context, jobs[i].molecule);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  });
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  std::vector<Molecule> out;
  out.reserve(jobs.size());
  for (auto& job : jobs) out.push_back(std::move(job.molecule));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Molecule molecule_from_smiles(const std::string& smiles, std::uint64_t seed,
                              const std::string& context) {
  silence_rdkit_logs();
  auto mol = parse_smiles(smiles, context);
  Molecule out;
  embed(*mol, smiles, seed, context, out);
  out.name = smiles;
  return out;
}

namespace detail {

std::vector<std::string> split_csv_record(std::string_view line, const std::string& where) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (true) {
    std::string value;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            value += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        value += line[i++];
      }
      if (!closed) throw InputError(where + ": unterminated quoted field");
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') {
        throw InputError(where + ": text after a quoted field (a comma is missing?)");
      }
    } else {
      const std::size_t start = i;
      while (i < line.size() && line[i] != ',') ++i;
      value = std::string(trim(line.substr(start, i - start)));
    }
    fields.push_back(std::move(value));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

std::vector<Molecule> read_smiles(std::string_view text, const std::string& source,
                                  const std::string& name_base, std::uint64_t seed) {
  LineReader lines(text);
  std::vector<SmilesJob> jobs;
  std::vector<bool> named;
  bool first = true;
  while (const auto line = lines.next()) {
    const auto tokens = split_ws(*line);
    if (tokens.empty() || tokens[0].front() == '#') continue;
    const bool header = first && lower(tokens[0]) == "smiles";
    first = false;
    if (header) continue;
    SmilesJob job;
    job.smiles = std::string(tokens[0]);
    job.context = at_line(source, lines.line_number());
    if (tokens.size() > 1) {
      // The name is the rest of the line (names may contain spaces).
      const auto rest =
          trim(line->substr(static_cast<std::size_t>(tokens[1].data() - line->data())));
      job.molecule.name = std::string(rest);
    }
    named.push_back(tokens.size() > 1);
    jobs.push_back(std::move(job));
  }
  if (jobs.empty()) throw InputError(source + ": no SMILES found (the file is empty or blank)");
  auto molecules = embed_all(jobs, seed);
  assign_default_names(molecules, name_base, named);
  return molecules;
}

std::vector<Molecule> read_smiles_csv(std::string_view text, const std::string& source,
                                      const std::string& name_base, std::uint64_t seed) {
  LineReader lines(text);
  std::optional<std::vector<std::string>> header;
  std::size_t smiles_column = 0;
  std::optional<std::size_t> name_column;
  std::vector<SmilesJob> jobs;
  std::vector<bool> named;
  while (const auto line = lines.next()) {
    if (is_blank(*line)) continue;
    const std::string where = at_line(source, lines.line_number());
    auto fields = split_csv_record(*line, where);
    if (!header) {
      header = fields;
      std::optional<std::size_t> found;
      for (std::size_t c = 0; c < fields.size(); ++c) {
        const std::string name = lower(fields[c]);
        if (name.empty())
          throw InputError(where + ": column " + std::to_string(c + 1) + " has no name");
        for (std::size_t d = 0; d < c; ++d) {
          if (fields[d] == fields[c])
            throw InputError(where + ": column name '" + fields[c] + "' appears twice");
        }
        if (name == "smiles") found = c;
        if ((name == "name" || name == "id") && !name_column) name_column = c;
      }
      if (!found) {
        throw InputError(where +
                         ": the header row has no 'smiles' column (a SMILES CSV needs a header row "
                         "naming a smiles column; other columns are labels)");
      }
      smiles_column = *found;
      continue;
    }
    if (fields.size() != header->size()) {
      throw InputError(where + ": " + std::to_string(fields.size()) + " fields, the header has " +
                       std::to_string(header->size()));
    }
    SmilesJob job;
    job.smiles = fields[smiles_column];
    job.context = where;
    if (job.smiles.empty()) throw InputError(where + ": empty SMILES");
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (c == smiles_column) continue;
      if (name_column && c == *name_column) {
        job.molecule.name = fields[c];
        continue;
      }
      if (fields[c].empty()) continue;  // no value: property_matrix names it if needed
      const bool numeric = parse_double(fields[c]).has_value();
      store_property(job.molecule, (*header)[c], fields[c], !numeric, where);
    }
    named.push_back(!job.molecule.name.empty());
    jobs.push_back(std::move(job));
  }
  if (!header) throw InputError(source + ": the file is empty or blank");
  if (jobs.empty()) throw InputError(source + ": the header row is not followed by any molecule");
  auto molecules = embed_all(jobs, seed);
  assign_default_names(molecules, name_base, named);
  return molecules;
}

}  // namespace detail

std::vector<Molecule> read_smiles_text(std::string_view text, const std::string& source,
                                       std::uint64_t seed) {
  return detail::read_smiles(text, source, source, seed);
}

std::vector<Molecule> read_smiles_csv_text(std::string_view text, const std::string& source,
                                           std::uint64_t seed) {
  return detail::read_smiles_csv(text, source, source, seed);
}

}  // namespace encmol::chem
