// Reconstruction of training molecules from a shared plaintext KRR model.
//
// A kernel model stores its training representations exactly (ml::Model::
// training_features). For the sorted Coulomb matrix (coulomb_matrix.hpp) every
// support vector inverts to its molecule:
//   - atom count: the leading non-zero diagonal entries (padding is zero);
//   - elements: Z_i = round((2 M_ii)^(1/2.4)), checked against 0.5 Z^2.4;
//   - distances: r_ij = Z_i Z_j / M_ij for every pair;
//   - geometry: classical MDS on the full distance matrix, refined by
//     Levenberg–Marquardt on all pairwise distance residuals.
// The result equals the training molecule up to rotation, translation and
// reflection (distances cannot tell a molecule from its mirror image).
//
// Bag of Bonds keeps the composition (self bags) and, per element pair, the
// multiset of distances — but not which atom pair each distance belongs to.
// A geometry is therefore not determined by the representation in general;
// invert_bag_of_bonds tries to assemble one by a bounded backtracking search
// (distance-geometry build-up: place atoms one by one, choosing their
// distances to three reference atoms from the remaining multisets and
// checking every other distance against what is left). When the search
// finishes within its budget the geometry reproduces every distance multiset
// exactly; whether it is the training molecule is measured against a
// reference (homometric structures exist).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "encmol/audit/geometry.hpp"
#include "encmol/chem/bag_of_bonds.hpp"
#include "encmol/chem/molecule.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::audit {

/// A molecule recovered from a sorted Coulomb matrix, atoms in sorted order.
struct CmInversion {
  chem::Molecule molecule;
  double distance_residual = 0.0;  // RMS |x_i - x_j| - r_ij after refinement, Å
};

/// Inverts one flattened sorted Coulomb matrix (coulomb_matrix_size(max_atoms)
/// values). Throws InputError when the vector is not a Coulomb matrix (wrong
/// length, non-finite values, a diagonal entry that is not 0.5 Z^2.4 of an
/// element, non-positive or too large off-diagonal entries, values in the
/// padding). `label` names the vector in messages.
CmInversion invert_coulomb_matrix(std::span<const double> features, std::size_t max_atoms,
                                  const std::string& label = "feature vector");

/// Per element pair, the distances a Bag-of-Bonds vector holds (ascending, Å).
struct PairDistances {
  int z_a = 0, z_b = 0;  // z_a <= z_b
  std::vector<double> distances;
};

struct BobSearchOptions {
  /// Candidate placements tried before giving up (bounds the run time).
  std::uint64_t node_budget = 2'000'000;
  double tolerance = 1e-5;  // Å, distance match during the search
};

struct BobInversion {
  std::vector<int> charges;  // composition (ascending Z)
  std::vector<PairDistances> pairs;
  std::optional<chem::Molecule> geometry;  // assembled structure, if found
  bool budget_exhausted = false;
  std::uint64_t nodes = 0;  // candidate placements tried
};

/// Reads composition and distance multisets from a Bag-of-Bonds vector and
/// tries to assemble a geometry (see the top of this file). Throws InputError
/// for a vector that is not a valid Bag of Bonds of `layout`.
BobInversion invert_bag_of_bonds(std::span<const double> features, const chem::BagLayout& layout,
                                 const BobSearchOptions& options = {},
                                 const std::string& label = "feature vector");

/// The distance multisets of a molecule, in the same form (for comparison).
std::vector<PairDistances> pair_distances(const chem::Molecule& molecule);
/// True when two sets of multisets agree entry by entry within `tolerance` Å.
bool same_pair_distances(const std::vector<PairDistances>& a, const std::vector<PairDistances>& b,
                         double tolerance = 1e-6);

/// For each training row of `model`, the index in `data` of a molecule whose
/// representation (under model.representation) equals the row exactly, if
/// any. Molecules the representation cannot hold are skipped.
std::vector<std::optional<std::size_t>> match_training_rows(const ml::Model& model,
                                                            const std::vector<chem::Molecule>& data);

struct ReconstructionOptions {
  BobSearchOptions bob;
  double rmsd_tolerance = 0.1;  // Å, "recovered exactly"
  /// Reconstruct only the first `limit` training rows (0 = all).
  std::size_t limit = 0;
};

struct ReconstructedItem {
  std::size_t row = 0;                      // training row
  std::optional<chem::Molecule> molecule;   // geometry, when one was obtained
  std::string formula;                      // recovered composition (Hill)
  double distance_residual = 0.0;           // CM only
  bool budget_exhausted = false;            // BoB only
  std::optional<std::size_t> reference;     // matched molecule in the reference data
  bool composition_match = false;           // vs reference
  bool distances_match = false;             // BoB multisets (CM: all distances) vs reference
  std::optional<double> rmsd;               // vs reference, Å (when a geometry exists)
  bool exact = false;                       // composition match and rmsd < tolerance
};

struct ReconstructionReport {
  chem::RepresentationKind kind = chem::RepresentationKind::CoulombMatrix;
  std::size_t training_rows = 0;
  std::size_t attempted = 0;
  std::size_t geometries = 0;          // rows with an assembled geometry
  std::size_t with_reference = 0;      // rows matched to a reference molecule
  std::size_t composition_recovered = 0;
  std::size_t distances_recovered = 0;
  std::size_t exact = 0;               // rows recovered exactly (vs reference)
  std::size_t budget_exhausted = 0;
  double seconds = 0.0;
  std::vector<ReconstructedItem> items;

  /// exact / with_reference (0 when nothing could be compared).
  double exact_rate() const {
    return with_reference ? static_cast<double>(exact) / static_cast<double>(with_reference) : 0.0;
  }
};

/// Reconstructs every training molecule of `model` (in parallel over rows;
/// results do not depend on the thread count). With `reference` data, each
/// row is matched to its molecule (match_training_rows) and compared.
/// Recovered molecules are named "reconstructed-<row>" (plus the reference
/// name when matched). Throws InputError for kernels whose model holds no
/// training representations it can invert.
ReconstructionReport reconstruct_model(const ml::Model& model,
                                       const std::vector<chem::Molecule>* reference,
                                       const ReconstructionOptions& options = {});

}  // namespace encmol::audit
