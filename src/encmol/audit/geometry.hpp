// Geometry from distances and structure comparison, used by the
// reconstruction audit.
//
//  - classical multidimensional scaling (Torgerson): coordinates whose
//    pairwise distances best match a full distance matrix;
//  - refinement: Levenberg–Marquardt on all pairwise distance residuals
//    |x_i - x_j| - D_ij (weights 1), which fixes what MDS gets wrong when the
//    distances are noisy or not exactly Euclidean in 3-D;
//  - RMSD after optimal superposition allowing reflection (Kabsch on centred
//    coordinates; the determinant sign is not corrected, because a
//    distance-derived structure is only defined up to a mirror image), with an
//    atom correspondence found by element and refined by nearest neighbours.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/molecule.hpp"

namespace encmol::audit {

/// n x 3 coordinates from an n x n symmetric distance matrix by classical MDS
/// (the three largest eigenpairs of the double-centred squared distances;
/// negative eigenvalues are treated as 0).
Eigen::MatrixXd classical_mds(const Eigen::MatrixXd& distances);

struct RefineResult {
  Eigen::MatrixXd coordinates;  // n x 3
  double rms_residual = 0.0;    // RMS of |x_i - x_j| - D_ij over all pairs, Å
  int iterations = 0;
};

/// Levenberg–Marquardt refinement of `start` (n x 3) against all pairwise
/// `distances`. Deterministic.
RefineResult refine_to_distances(const Eigen::MatrixXd& start, const Eigen::MatrixXd& distances,
                                 int max_iterations = 200);

/// RMS of |x_i - x_j| - D_ij over all pairs i < j.
double distance_rms_residual(const Eigen::MatrixXd& coordinates, const Eigen::MatrixXd& distances);

/// RMSD (Å) between two equally ordered n x 3 point sets after optimal
/// translation + orthogonal transform (rotation or rotation-reflection).
double superposed_rmsd(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

/// Comparison of a reconstructed molecule with the true one.
struct MatchResult {
  bool same_composition = false;
  double rmsd = 0.0;  // Å, after superposition with reflection; +inf if compositions differ
  /// same composition and rmsd < tolerance
  bool exact(double tolerance = 0.1) const { return same_composition && rmsd < tolerance; }
};

/// Compares two molecules without assuming the same atom order: atoms are
/// first paired within each element by their sorted distance profiles, the
/// structures superposed (reflection allowed), and the pairing then improved
/// by optimal assignment to the nearest superposed atoms until it no longer
/// changes (a few rounds). The smallest RMSD seen is returned.
MatchResult compare_molecules(const chem::Molecule& reconstructed, const chem::Molecule& truth);

/// n x 3 matrix of a molecule's positions.
Eigen::MatrixXd positions_matrix(const chem::Molecule& molecule);
/// n x n interatomic distance matrix.
Eigen::MatrixXd distance_matrix(const Eigen::MatrixXd& coordinates);

/// Minimum-cost perfect assignment of an n x n cost matrix (Hungarian
/// algorithm, O(n^3)): result[row] = column.
std::vector<std::size_t> min_cost_assignment(const Eigen::MatrixXd& cost);

}  // namespace encmol::audit
