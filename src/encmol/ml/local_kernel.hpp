// Elemental local kernels between molecules given per-atom vectors:
//
//   K(A, B) = sum_{a in A} sum_{b in B, Z_a = Z_b} k(x_a, x_b)
//
// with an atom kernel k that is Gaussian, exp(-|x_a - x_b|^2 / (2 sigma^2))
// (the kernel of FCHL19-type models, Christensen et al. 2020), or polynomial,
// (coef0 + x_a . x_b / scale)^degree (degree 2 is the quadratic atomic model
// in dual form, quadratic_model.hpp). Only atoms of
// the same element interact, so the work splits by element. For each element
// the squared distances of a block of atoms to all others come from one BLAS
// product (|x|^2 + |y|^2 - 2 x.y), and every sigma of a grid reuses them: a
// hyper-parameter search pays for the distances once. Sums into molecule
// entries follow a fixed order, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/atomic_features.hpp"

namespace encmol::ml {

/// One atom-pair kernel.
struct AtomKernel {
  enum class Kind : std::uint8_t { Gaussian = 1, Polynomial = 2 };
  Kind kind = Kind::Gaussian;
  double sigma = 1.0;  // Gaussian
  int degree = 2;      // Polynomial, 1..8
  double coef0 = 1.0;  // Polynomial
  double scale = 1.0;  // Polynomial: divides the dot product

  static AtomKernel gaussian(double sigma) { return {Kind::Gaussian, sigma, 2, 1.0, 1.0}; }
  static AtomKernel polynomial(int degree, double coef0, double scale) {
    return {Kind::Polynomial, 1.0, degree, coef0, scale};
  }
  /// Throws ParameterError for non-finite / non-positive sigma or scale, a
  /// non-finite coef0 or a degree outside 1..8.
  void validate() const;
  double operator()(std::span<const double> x, std::span<const double> y) const;  // reference, slow
  bool operator==(const AtomKernel&) const = default;
};

/// K_k(i, j) for every atom kernel k among the molecules of `x` (symmetric
/// n x n). Gaussians whose 1 / (2 sigma^2) double from one to the next (see
/// sigma_ladder) cost one exp per atom pair in all.
std::vector<Eigen::MatrixXd> local_gram_symmetric(const chem::AtomicFeatures& x,
                                                  std::span<const AtomKernel> kernels);
/// K_k(i, j) between the molecules of `x` (rows) and of `y` (columns).
std::vector<Eigen::MatrixXd> local_gram(const chem::AtomicFeatures& x, const chem::AtomicFeatures& y,
                                        std::span<const AtomKernel> kernels);

/// Gaussian kernels for each sigma (the common case).
std::vector<AtomKernel> gaussian_kernels(std::span<const double> sigmas);

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
