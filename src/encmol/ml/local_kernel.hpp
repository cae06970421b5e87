// Elemental local Gaussian kernel between molecules given per-atom vectors:
//
//   K(A, B) = sum_{a in A} sum_{b in B, Z_a = Z_b} exp(-|x_a - x_b|^2 / (2 sigma^2))
//
// (the kernel of FCHL19-type models, Christensen et al. 2020). Only atoms of
// the same element interact, so the work splits by element. For each element
// the squared distances of a block of atoms to all others come from one BLAS
// product (|x|^2 + |y|^2 - 2 x.y), and every sigma of a grid reuses them: a
// hyper-parameter search pays for the distances once. Sums into molecule
// entries follow a fixed order, so results do not depend on the thread count.
#pragma once

#include <span>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/atomic_features.hpp"

namespace encmol::ml {

/// K_s(i, j) for every sigma_s among the molecules of `x` (symmetric n x n).
/// A grid whose 1 / (2 sigma^2) values double from one to the next (see
/// sigma_ladder) costs one exp per atom pair in all; other sigmas one exp
/// each.
std::vector<Eigen::MatrixXd> local_gram_symmetric(const chem::AtomicFeatures& x,
                                                  std::span<const double> sigmas);

/// K_s(i, j) between the molecules of `x` (rows) and of `y` (columns).
std::vector<Eigen::MatrixXd> local_gram(const chem::AtomicFeatures& x, const chem::AtomicFeatures& y,
                                        std::span<const double> sigmas);

/// `count` sigmas from `largest` down, each 1/sqrt(2) of the previous (so
/// 1 / (2 sigma^2) doubles and local_gram* square instead of exp).
std::vector<double> sigma_ladder(double largest, std::size_t count);

/// Median of |x_a - x_b| over (a sample of) same-element atom pairs of `x`:
/// the natural length scale for a sigma grid. Deterministic.
double median_atomic_distance(const chem::AtomicFeatures& x);

}  // namespace encmol::ml
