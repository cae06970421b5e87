// Molecular representations: global (one fixed-length vector per molecule)
// and atomic (one vector per atom).
//
// A RepresentationSpec is fitted once on the training molecules (it fixes the
// padding: the largest molecule for the Coulomb matrix, the bag sizes for Bag
// of Bonds, the element set of an atomic representation), stored with the
// model, and then featurizes any molecule into a vector of spec.dimension()
// doubles. Atomic kinds (cMBDF, FCHL19) also give one vector of atom_dimension()
// values per atom (featurize_atoms), for local kernels, random features and
// atomic networks; their global vector is the per-element bag of those atom
// vectors (each element's atoms sorted by decreasing norm, zero-padded to the
// element's capacity), for global kernels. Molecules the spec cannot hold are
// rejected with an InputError that names the molecule and what exceeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/chem/bag_of_bonds.hpp"
#include "encmol/chem/cmbdf.hpp"
#include "encmol/chem/fchl19.hpp"
#include "encmol/chem/molecule.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::chem {

/// Feature matrix: one molecule per row (row-major, so a row is contiguous).
using FeatureMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class RepresentationKind : std::uint8_t {
  CoulombMatrix = 1,  // sorted Coulomb matrix, see coulomb_matrix.hpp
  BagOfBonds = 2,     // see bag_of_bonds.hpp
  Cmbdf = 3,          // atomic, see cmbdf.hpp
  Fchl19 = 4,         // atomic, see fchl19.hpp
  Fchl19Cmbdf = 5,    // atomic: an FCHL19 vector followed by a cMBDF vector per atom
};

/// True for the kinds with one vector per atom.
bool is_atomic(RepresentationKind kind);

/// "cm" / "bob" / "cmbdf" / "fchl19" / "fchl19+cmbdf" (the names the CLI uses).
std::string_view to_string(RepresentationKind kind);
/// Accepts "cm", "coulomb", "coulomb-matrix", "bob", "bag-of-bonds", "cmbdf",
/// "fchl19", "fchl", "fchl19+cmbdf" (any case). Throws InputError listing the accepted names.
RepresentationKind parse_representation_kind(std::string_view name);

/// Extra capacity beyond what the fitting molecules need, e.g. to make room for
/// the molecules you intend to predict. Zero / absent entries add nothing.
struct RepresentationOptions {
  std::size_t min_max_atoms = 0;                    // at least this many atoms (CM)
  std::map<int, std::size_t> min_element_capacity;  // Z -> at least this many atoms (all kinds)
  Fchl19Parameters fchl19;                          // FCHL19 hyper-parameters
  CmbdfParameters cmbdf;                            // cMBDF hyper-parameters
};

/// Options whose capacities cover every molecule in `molecules` (no labels are
/// used): fit on training molecules with these to also accept these ones.
RepresentationOptions capacity_for(const std::vector<Molecule>& molecules);

class RepresentationSpec {
 public:
  RepresentationSpec() = default;

  /// Fits a spec on `molecules` (at least one): the elements present, the most
  /// atoms of each element in one molecule, and the largest molecule, raised to
  /// `options` where those ask for more. Throws InputError for an empty set or
  /// a molecule with an unknown element or mismatched charges/positions.
  static RepresentationSpec fit(RepresentationKind kind, const std::vector<Molecule>& molecules,
                                const RepresentationOptions& options = {});

  RepresentationKind kind() const { return kind_; }
  /// Most atoms a molecule may have (CM: padding size; BoB: sum of capacities).
  std::size_t max_atoms() const { return max_atoms_; }
  /// Elements seen in training (ascending Z) and the most atoms of each.
  const std::vector<int>& elements() const { return layout_.elements; }
  const std::vector<std::size_t>& element_capacity() const { return layout_.capacity; }
  /// Bag layout (BoB only; empty bags for CM).
  const std::vector<Bag>& bags() const { return layout_.bags; }
  /// Length of a (global) feature vector.
  std::size_t dimension() const { return dimension_; }
  /// Atomic kinds: values per atom (0 for global kinds).
  bool is_atomic() const { return chem::is_atomic(kind_); }
  std::size_t atom_dimension() const { return atom_dimension_; }
  /// Atomic kinds: the atom vector as consecutive blocks of values, each one
  /// representation (one block, or FCHL19 then cMBDF for fchl19+cmbdf). Local
  /// kernels sum one Gaussian per block.
  std::vector<std::size_t> atom_blocks() const;
  const Fchl19Parameters& fchl19_parameters() const { return fchl19_; }
  const CmbdfParameters& cmbdf_parameters() const { return cmbdf_; }

  /// Throws InputError unless `molecule` fits this spec's global vector (size,
  /// elements, counts).
  void check(const Molecule& molecule) const;
  /// Throws InputError unless every element of `molecule` is one the (atomic)
  /// spec knows; atom counts are not limited.
  void check_atoms(const Molecule& molecule) const;

  /// Atomic kinds: the vectors of every atom of `molecule` (molecule.size() x
  /// atom_dimension(), row-major) into `out`. Throws InputError.
  void featurize_atoms(const Molecule& molecule, std::span<double> out) const;
  /// Atomic kinds: every atom of every molecule, stacked, in parallel;
  /// bit-identical for any thread count.
  AtomicFeatures featurize_atoms(const std::vector<Molecule>& molecules) const;

  /// Features of one molecule into `out` (dimension() values). Throws InputError.
  void featurize(const Molecule& molecule, std::span<double> out) const;
  std::vector<double> featurize(const Molecule& molecule) const;

  /// Features of many molecules, computed in parallel (core::parallel_for);
  /// row i is molecule i. Bit-identical for any thread count.
  FeatureMatrix featurize(const std::vector<Molecule>& molecules) const;

  /// Binary encoding (used inside model files).
  void write(core::ByteWriter& out) const;
  /// Reads and validates a spec; FormatError (via `in`) on anything malformed.
  static RepresentationSpec read(core::ByteReader& in);

  /// One line for `encmol info`, e.g. "sorted Coulomb matrix, 23 atoms, 276 values, elements H C N O S".
  std::string describe() const;

  bool operator==(const RepresentationSpec&) const = default;

 private:
  static RepresentationSpec make(RepresentationKind kind, std::size_t max_atoms,
                                 std::vector<int> elements, std::vector<std::size_t> capacity,
                                 const RepresentationOptions& options);
  void bag_atoms(const Molecule& molecule, std::span<double> out) const;
  RepresentationKind kind_ = RepresentationKind::CoulombMatrix;
  std::size_t max_atoms_ = 0;
  std::size_t dimension_ = 0;
  std::size_t atom_dimension_ = 0;
  Fchl19Parameters fchl19_;
  CmbdfParameters cmbdf_;
  BagLayout layout_;  // elements + capacities for both kinds, bags for BoB
};

/// Largest max_atoms a stored CM spec may declare (keeps hostile files from
/// requesting gigabytes per molecule).
inline constexpr std::size_t kMaxRepresentationAtoms = 2000;
/// Largest feature dimension a stored spec may have.
inline constexpr std::size_t kMaxRepresentationDimension = std::size_t{1} << 24;

}  // namespace encmol::chem
