#include "encmol/chem/representation.hpp"

#include <algorithm>
#include <cctype>

#include "encmol/chem/coulomb_matrix.hpp"
#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::chem {
namespace {

std::string molecule_label(const Molecule& m) {
  return m.name.empty() ? std::string("molecule (unnamed)") : "molecule '" + m.name + "'";
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Per-element atom counts of one molecule (ascending Z).
std::map<int, std::size_t> element_counts(const Molecule& m) {
  std::map<int, std::size_t> counts;
  for (int z : m.charges) ++counts[z];
  return counts;
}

}  // namespace

std::string_view to_string(RepresentationKind kind) {
  switch (kind) {
    case RepresentationKind::CoulombMatrix: return "cm";
    case RepresentationKind::BagOfBonds: return "bob";
  }
  return "unknown";
}

RepresentationKind parse_representation_kind(std::string_view name) {
  const std::string n = lower(name);
  if (n == "cm" || n == "coulomb" || n == "coulomb-matrix" || n == "coulomb_matrix") {
    return RepresentationKind::CoulombMatrix;
  }
  if (n == "bob" || n == "bag-of-bonds" || n == "bag_of_bonds") return RepresentationKind::BagOfBonds;
  throw InputError("unknown representation '" + std::string(name) +
                   "': use 'cm' (sorted Coulomb matrix) or 'bob' (Bag of Bonds)");
}

RepresentationOptions capacity_for(const std::vector<Molecule>& molecules) {
  RepresentationOptions options;
  for (const auto& m : molecules) {
    options.min_max_atoms = std::max(options.min_max_atoms, m.size());
    for (auto [z, c] : element_counts(m)) {
      auto& cap = options.min_element_capacity[z];
      cap = std::max(cap, c);
    }
  }
  return options;
}

RepresentationSpec RepresentationSpec::make(RepresentationKind kind, std::size_t max_atoms,
                                            std::vector<int> elements,
                                            std::vector<std::size_t> capacity) {
  RepresentationSpec spec;
  spec.kind_ = kind;
  spec.layout_ = BagLayout::from_capacities(std::move(elements), std::move(capacity));
  if (kind == RepresentationKind::CoulombMatrix) {
    if (max_atoms < 1 || max_atoms > kMaxRepresentationAtoms) {
      throw ParameterError("Coulomb-matrix size " + std::to_string(max_atoms) +
                           " atoms is outside 1.." + std::to_string(kMaxRepresentationAtoms));
    }
    spec.max_atoms_ = max_atoms;
    spec.dimension_ = coulomb_matrix_size(max_atoms);
    spec.layout_.bags.clear();
    spec.layout_.dimension = 0;
  } else if (kind == RepresentationKind::BagOfBonds) {
    std::size_t total = 0;
    for (std::size_t c : spec.layout_.capacity) total += c;
    spec.max_atoms_ = total;
    spec.dimension_ = spec.layout_.dimension;
  } else {
    throw ParameterError("unknown representation kind " +
                         std::to_string(static_cast<int>(kind)));
  }
  if (spec.dimension_ > kMaxRepresentationDimension) {
    throw ParameterError("representation would have " + std::to_string(spec.dimension_) +
                         " values per molecule, more than the limit of " +
                         std::to_string(kMaxRepresentationDimension));
  }
  return spec;
}

RepresentationSpec RepresentationSpec::fit(RepresentationKind kind,
                                           const std::vector<Molecule>& molecules,
                                           const RepresentationOptions& options) {
  if (molecules.empty()) {
    throw InputError("cannot fit a " + std::string(to_string(kind)) +
                     " representation on an empty set of molecules");
  }
  std::size_t max_atoms = options.min_max_atoms;
  std::map<int, std::size_t> capacity;
  for (auto [z, c] : options.min_element_capacity) {
    if (c > 0) capacity[z] = c;
  }
  for (const auto& m : molecules) {
    if (m.charges.empty()) throw InputError(molecule_label(m) + " has no atoms");
    if (m.charges.size() != m.positions.size()) {
      throw InputError(molecule_label(m) + ": " + std::to_string(m.charges.size()) +
                       " nuclear charges but " + std::to_string(m.positions.size()) + " positions");
    }
    for (int z : m.charges) {
      if (!is_known_element(z)) {
        throw InputError(molecule_label(m) + ": nuclear charge " + std::to_string(z) +
                         " is not an element");
      }
    }
    max_atoms = std::max(max_atoms, m.size());
    for (auto [z, c] : element_counts(m)) capacity[z] = std::max(capacity[z], c);
  }
  std::vector<int> elements;
  std::vector<std::size_t> caps;
  for (auto [z, c] : capacity) {
    elements.push_back(z);
    caps.push_back(c);
  }
  try {
    return make(kind, max_atoms, std::move(elements), std::move(caps));
  } catch (const ParameterError& e) {
    throw InputError(std::string("these molecules are too large for a ") +
                     (kind == RepresentationKind::CoulombMatrix ? "Coulomb-matrix" : "Bag-of-Bonds") +
                     " representation: " + e.what());
  }
}

void RepresentationSpec::check(const Molecule& molecule) const {
  if (dimension_ == 0) throw ParameterError("representation spec is empty (not fitted)");
  if (molecule.charges.size() != molecule.positions.size()) {
    throw InputError(molecule_label(molecule) + ": " + std::to_string(molecule.charges.size()) +
                     " nuclear charges but " + std::to_string(molecule.positions.size()) +
                     " positions");
  }
  if (molecule.charges.empty()) throw InputError(molecule_label(molecule) + " has no atoms");
  if (kind_ == RepresentationKind::CoulombMatrix && molecule.size() > max_atoms_) {
    throw InputError(molecule_label(molecule) + " has " + std::to_string(molecule.size()) +
                     " atoms; this Coulomb-matrix model supports at most " +
                     std::to_string(max_atoms_) + " (its largest training molecule)");
  }
  const auto& els = layout_.elements;
  for (auto [z, c] : element_counts(molecule)) {
    auto it = std::lower_bound(els.begin(), els.end(), z);
    if (it == els.end() || *it != z) {
      std::string known;
      for (int e : els) {
        if (!known.empty()) known.append(", ");
        known.append(element_symbol(e));
      }
      const std::string sym = is_known_element(z) ? std::string(element_symbol(z))
                                                  : "Z=" + std::to_string(z);
      throw InputError(molecule_label(molecule) + " contains element " + sym +
                       ", which does not occur in the training set of this model (elements: " +
                       known + ")");
    }
    const std::size_t cap = layout_.capacity[static_cast<std::size_t>(it - els.begin())];
    if (kind_ == RepresentationKind::BagOfBonds && c > cap) {
      throw InputError(molecule_label(molecule) + " has " + std::to_string(c) + " " +
                       std::string(element_symbol(z)) +
                       " atoms; this Bag-of-Bonds model holds at most " + std::to_string(cap) +
                       " (the most in any training molecule)");
    }
  }
}

void RepresentationSpec::featurize(const Molecule& molecule, std::span<double> out) const {
  check(molecule);
  if (kind_ == RepresentationKind::CoulombMatrix) {
    sorted_coulomb_matrix(molecule, max_atoms_, out);
  } else {
    bag_of_bonds(molecule, layout_, out);
  }
}

std::vector<double> RepresentationSpec::featurize(const Molecule& molecule) const {
  std::vector<double> out(dimension_);
  featurize(molecule, out);
  return out;
}

FeatureMatrix RepresentationSpec::featurize(const std::vector<Molecule>& molecules) const {
  FeatureMatrix x(static_cast<Eigen::Index>(molecules.size()), static_cast<Eigen::Index>(dimension_));
  core::parallel_for(
      molecules.size(),
      [&](std::size_t i) {
        featurize(molecules[i],
                  std::span<double>(x.data() + i * dimension_, dimension_));
      },
      16);
  return x;
}

void RepresentationSpec::write(core::ByteWriter& out) const {
  out.u8(static_cast<std::uint8_t>(kind_));
  out.u64(max_atoms_);
  out.u64(layout_.elements.size());
  for (std::size_t i = 0; i < layout_.elements.size(); ++i) {
    out.u32(static_cast<std::uint32_t>(layout_.elements[i]));
    out.u64(layout_.capacity[i]);
  }
  out.u64(dimension_);  // redundant; checked on read
}

RepresentationSpec RepresentationSpec::read(core::ByteReader& in) {
  const std::uint8_t kind = in.u8();
  if (kind != static_cast<std::uint8_t>(RepresentationKind::CoulombMatrix) &&
      kind != static_cast<std::uint8_t>(RepresentationKind::BagOfBonds)) {
    in.fail("unknown representation kind " + std::to_string(kind));
  }
  const std::uint64_t max_atoms = in.u64();
  const std::size_t n = in.count("representation element", kMaxAtomicNumber, 12);
  std::vector<int> elements(n);
  std::vector<std::size_t> capacity(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t z = in.u32();
    const std::uint64_t c = in.u64();
    if (!is_known_element(static_cast<int>(z))) {
      in.fail("representation element " + std::to_string(z) + " is not an element");
    }
    if (i > 0 && static_cast<int>(z) <= elements[i - 1]) {
      in.fail("representation elements are not strictly ascending");
    }
    if (c < 1 || c > kMaxRepresentationAtoms) {
      in.fail("representation capacity " + std::to_string(c) + " is outside 1.." +
              std::to_string(kMaxRepresentationAtoms));
    }
    elements[i] = static_cast<int>(z);
    capacity[i] = static_cast<std::size_t>(c);
  }
  if (n == 0) in.fail("representation has no elements");
  const auto target = static_cast<RepresentationKind>(kind);
  if (target == RepresentationKind::CoulombMatrix &&
      (max_atoms < 1 || max_atoms > kMaxRepresentationAtoms)) {
    in.fail("Coulomb-matrix size " + std::to_string(max_atoms) + " is outside 1.." +
            std::to_string(kMaxRepresentationAtoms));
  }
  RepresentationSpec spec;
  try {
    spec = make(target, static_cast<std::size_t>(max_atoms), std::move(elements),
                std::move(capacity));
  } catch (const ParameterError& e) {
    in.fail(e.what());
  }
  if (spec.max_atoms_ != max_atoms) in.fail("representation atom count is inconsistent");
  const std::uint64_t dimension = in.u64();
  if (dimension != spec.dimension_) {
    in.fail("representation dimension " + std::to_string(dimension) + " does not match its layout (" +
            std::to_string(spec.dimension_) + ")");
  }
  return spec;
}

std::string RepresentationSpec::describe() const {
  std::string s;
  if (kind_ == RepresentationKind::CoulombMatrix) {
    s = "sorted Coulomb matrix, up to " + std::to_string(max_atoms_) + " atoms";
  } else {
    s = "Bag of Bonds, " + std::to_string(layout_.bags.size()) + " bags";
  }
  s += ", " + std::to_string(dimension_) + " values; elements (max per molecule):";
  for (std::size_t i = 0; i < layout_.elements.size(); ++i) {
    s.append(" ");
    s.append(element_symbol(layout_.elements[i]));
    s.append(" ");
    s.append(std::to_string(layout_.capacity[i]));
  }
  return s;
}

}  // namespace encmol::chem
