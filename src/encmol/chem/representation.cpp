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

bool is_atomic(RepresentationKind kind) {
  return kind == RepresentationKind::Fchl19 || kind == RepresentationKind::Cmbdf ||
         kind == RepresentationKind::Fchl19Cmbdf;
}

std::string_view to_string(RepresentationKind kind) {
  switch (kind) {
    case RepresentationKind::CoulombMatrix: return "cm";
    case RepresentationKind::BagOfBonds: return "bob";
    case RepresentationKind::Cmbdf: return "cmbdf";
    case RepresentationKind::Fchl19: return "fchl19";
    case RepresentationKind::Fchl19Cmbdf: return "fchl19+cmbdf";
  }
  return "unknown";
}

RepresentationKind parse_representation_kind(std::string_view name) {
  const std::string n = lower(name);
  if (n == "cm" || n == "coulomb" || n == "coulomb-matrix" || n == "coulomb_matrix") {
    return RepresentationKind::CoulombMatrix;
  }
  if (n == "bob" || n == "bag-of-bonds" || n == "bag_of_bonds") return RepresentationKind::BagOfBonds;
  if (n == "fchl19" || n == "fchl") return RepresentationKind::Fchl19;
  if (n == "cmbdf") return RepresentationKind::Cmbdf;
  if (n == "fchl19+cmbdf" || n == "fchl19-cmbdf") return RepresentationKind::Fchl19Cmbdf;
  throw InputError("unknown representation '" + std::string(name) +
                   "': use 'cm' (sorted Coulomb matrix), 'bob' (Bag of Bonds), 'cmbdf' (atomic cMBDF-type) "
                   "'fchl19' (atomic FCHL19) or 'fchl19+cmbdf' (both, one after the other)");
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
                                            std::vector<std::size_t> capacity,
                                            const RepresentationOptions& options) {
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
  } else if (chem::is_atomic(kind)) {
    spec.atom_dimension_ = 0;
    if (kind != RepresentationKind::Cmbdf) {
      spec.fchl19_ = options.fchl19;
      spec.atom_dimension_ += fchl19_dimension(spec.fchl19_, spec.layout_.elements.size());
    }
    if (kind != RepresentationKind::Fchl19) {
      spec.cmbdf_ = options.cmbdf;
      spec.atom_dimension_ += cmbdf_dimension(spec.cmbdf_);
    }
    std::size_t total = 0;
    for (std::size_t c : spec.layout_.capacity) total += c;
    spec.max_atoms_ = total;
    spec.dimension_ = total * spec.atom_dimension_;
    spec.layout_.bags.clear();
    spec.layout_.dimension = 0;
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
    return make(kind, max_atoms, std::move(elements), std::move(caps), options);
  } catch (const ParameterError& e) {
    throw InputError("cannot fit a " + std::string(to_string(kind)) + " representation on these molecules: " +
                     e.what());
  }
}

void RepresentationSpec::check_atoms(const Molecule& molecule) const {
  if (dimension_ == 0) throw ParameterError("representation spec is empty (not fitted)");
  if (molecule.charges.size() != molecule.positions.size()) {
    throw InputError(molecule_label(molecule) + ": " + std::to_string(molecule.charges.size()) +
                     " nuclear charges but " + std::to_string(molecule.positions.size()) +
                     " positions");
  }
  if (molecule.charges.empty()) throw InputError(molecule_label(molecule) + " has no atoms");
  const auto& els = layout_.elements;
  for (int z : molecule.charges) {
    if (std::binary_search(els.begin(), els.end(), z)) continue;
    std::string known;
    for (int e : els) {
      if (!known.empty()) known.append(", ");
      known.append(element_symbol(e));
    }
    const std::string sym = is_known_element(z) ? std::string(element_symbol(z)) : "Z=" + std::to_string(z);
    throw InputError(molecule_label(molecule) + " contains element " + sym +
                     ", which does not occur in the training set of this model (elements: " + known + ")");
  }
}

void RepresentationSpec::check(const Molecule& molecule) const {
  check_atoms(molecule);
  if (kind_ == RepresentationKind::CoulombMatrix && molecule.size() > max_atoms_) {
    throw InputError(molecule_label(molecule) + " has " + std::to_string(molecule.size()) +
                     " atoms; this Coulomb-matrix model supports at most " +
                     std::to_string(max_atoms_) + " (its largest training molecule)");
  }
  if (kind_ == RepresentationKind::CoulombMatrix) return;
  const auto& els = layout_.elements;
  for (auto [z, c] : element_counts(molecule)) {
    const auto k = static_cast<std::size_t>(std::lower_bound(els.begin(), els.end(), z) - els.begin());
    if (c > layout_.capacity[k]) {
      throw InputError(molecule_label(molecule) + " has " + std::to_string(c) + " " +
                       std::string(element_symbol(z)) + " atoms; this " +
                       (kind_ == RepresentationKind::BagOfBonds ? "Bag-of-Bonds" : "bagged atomic") +
                       " representation holds at most " + std::to_string(layout_.capacity[k]) +
                       " (the most in any training molecule)");
    }
  }
}

void RepresentationSpec::featurize_atoms(const Molecule& molecule, std::span<double> out) const {
  if (!is_atomic()) {
    throw ParameterError("the " + std::string(to_string(kind_)) + " representation has no per-atom vectors");
  }
  check_atoms(molecule);
  if (kind_ == RepresentationKind::Fchl19) {
    fchl19_atoms(molecule, layout_.elements, fchl19_, out);
  } else if (kind_ == RepresentationKind::Cmbdf) {
    cmbdf_atoms(molecule, cmbdf_, out);
  } else {
    // Both, then interleave: each atom's row is its FCHL19 values, then its cMBDF values.
    const std::vector<std::size_t> blocks = atom_blocks();
    const std::size_t n = molecule.size(), df = blocks[0], dc = blocks[1];
    std::vector<double> f(n * df), c(n * dc);
    fchl19_atoms(molecule, layout_.elements, fchl19_, f);
    cmbdf_atoms(molecule, cmbdf_, c);
    for (std::size_t a = 0; a < n; ++a) {
      std::copy_n(f.data() + a * df, df, out.data() + a * atom_dimension_);
      std::copy_n(c.data() + a * dc, dc, out.data() + a * atom_dimension_ + df);
    }
  }
}

std::vector<std::size_t> RepresentationSpec::atom_blocks() const {
  if (!is_atomic()) return {};
  if (kind_ != RepresentationKind::Fchl19Cmbdf) return {atom_dimension_};
  const std::size_t dc = cmbdf_dimension(cmbdf_);
  return {atom_dimension_ - dc, dc};
}

AtomicFeatures RepresentationSpec::featurize_atoms(const std::vector<Molecule>& molecules) const {
  AtomicFeatures f;
  f.offsets.reserve(molecules.size() + 1);
  f.offsets.push_back(0);
  for (const auto& m : molecules) {
    f.offsets.push_back(f.offsets.back() + m.size());
    f.charges.insert(f.charges.end(), m.charges.begin(), m.charges.end());
  }
  f.values.resize(static_cast<Eigen::Index>(f.offsets.back()), static_cast<Eigen::Index>(atom_dimension_));
  core::parallel_for(
      molecules.size(),
      [&](std::size_t i) {
        featurize_atoms(molecules[i], std::span<double>(f.values.data() + f.offsets[i] * atom_dimension_,
                                                         molecules[i].size() * atom_dimension_));
      },
      4);
  return f;
}

// Global vector of an atomic kind: per element (ascending Z), that element's
// atom vectors sorted by decreasing norm (ties keep atom order), zero-padded
// to the element's capacity.
void RepresentationSpec::bag_atoms(const Molecule& molecule, std::span<double> out) const {
  const std::size_t d = atom_dimension_;
  std::vector<double> atoms(molecule.size() * d);
  featurize_atoms(molecule, atoms);
  std::fill(out.begin(), out.end(), 0.0);
  std::size_t offset = 0;
  for (std::size_t e = 0; e < layout_.elements.size(); ++e) {
    std::vector<std::pair<double, std::size_t>> members;
    for (std::size_t a = 0; a < molecule.size(); ++a) {
      if (molecule.charges[a] != layout_.elements[e]) continue;
      double norm2 = 0;
      for (std::size_t k = 0; k < d; ++k) norm2 += atoms[a * d + k] * atoms[a * d + k];
      members.emplace_back(norm2, a);
    }
    std::stable_sort(members.begin(), members.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    for (std::size_t slot = 0; slot < members.size(); ++slot) {
      std::copy_n(atoms.begin() + static_cast<std::ptrdiff_t>(members[slot].second * d), d,
                  out.begin() + static_cast<std::ptrdiff_t>(offset + slot * d));
    }
    offset += layout_.capacity[e] * d;
  }
}

void RepresentationSpec::featurize(const Molecule& molecule, std::span<double> out) const {
  check(molecule);
  if (kind_ == RepresentationKind::CoulombMatrix) {
    sorted_coulomb_matrix(molecule, max_atoms_, out);
  } else if (kind_ == RepresentationKind::BagOfBonds) {
    bag_of_bonds(molecule, layout_, out);
  } else {
    bag_atoms(molecule, out);
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
  if (kind_ == RepresentationKind::Fchl19 || kind_ == RepresentationKind::Fchl19Cmbdf) fchl19_.write(out);
  if (kind_ == RepresentationKind::Cmbdf || kind_ == RepresentationKind::Fchl19Cmbdf) cmbdf_.write(out);
}

RepresentationSpec RepresentationSpec::read(core::ByteReader& in) {
  const std::uint8_t kind = in.u8();
  if (kind != static_cast<std::uint8_t>(RepresentationKind::CoulombMatrix) &&
      kind != static_cast<std::uint8_t>(RepresentationKind::BagOfBonds) &&
      kind != static_cast<std::uint8_t>(RepresentationKind::Fchl19) &&
      kind != static_cast<std::uint8_t>(RepresentationKind::Cmbdf) &&
      kind != static_cast<std::uint8_t>(RepresentationKind::Fchl19Cmbdf)) {
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
  const std::uint64_t dimension = in.u64();
  RepresentationOptions options;
  if (target == RepresentationKind::Fchl19 || target == RepresentationKind::Fchl19Cmbdf) {
    options.fchl19 = Fchl19Parameters::read(in);
  }
  if (target == RepresentationKind::Cmbdf || target == RepresentationKind::Fchl19Cmbdf) {
    options.cmbdf = CmbdfParameters::read(in);
  }
  RepresentationSpec spec;
  try {
    spec = make(target, static_cast<std::size_t>(max_atoms), std::move(elements),
                std::move(capacity), options);
  } catch (const ParameterError& e) {
    in.fail(e.what());
  }
  if (spec.max_atoms_ != max_atoms) in.fail("representation atom count is inconsistent");
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
  } else if (kind_ == RepresentationKind::BagOfBonds) {
    s = "Bag of Bonds, " + std::to_string(layout_.bags.size()) + " bags";
  } else {
    s = std::string(kind_ == RepresentationKind::Fchl19  ? "FCHL19"
                    : kind_ == RepresentationKind::Cmbdf ? "cMBDF-type"
                                                         : "FCHL19 + cMBDF-type") +
        ", " +
        std::to_string(atom_dimension_) + " values per atom (global form: per-element bags)";
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
