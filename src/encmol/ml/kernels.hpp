// Kernel functions and Gram matrices.
//
//   Gaussian    k(x, y) = exp(-|x - y|_2^2 / (2 sigma^2))
//   Laplacian   k(x, y) = exp(-|x - y|_1 / sigma)
//   Linear      k(x, y) = <x, y>
//   Polynomial  k(x, y) = (gamma <x, y> + coef0)^degree
//
// Every kernel is a function of one pairwise measure (squared Euclidean
// distance, L1 distance or dot product). Gram matrices are built in two steps
// — the measure matrix, then an elementwise map — so hyper-parameter searches
// compute the (expensive) measure once and re-map it for every sigma.
// Squared distances use |x|^2 + |y|^2 - 2 X Y^T with the product done by BLAS;
// L1 distances use a blocked, multithreaded SIMD loop whose summation order is
// fixed, so results are identical for any thread count and instruction set.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <Eigen/Core>

#include "encmol/chem/representation.hpp"

namespace encmol::ml {

using chem::FeatureMatrix;

enum class KernelKind : std::uint8_t { Gaussian = 1, Laplacian = 2, Linear = 3, Polynomial = 4 };

/// "gaussian", "laplacian", "linear", "polynomial".
std::string_view to_string(KernelKind kind);
/// Parses the names above (any case; "rbf" = gaussian, "poly" = polynomial).
/// Throws InputError listing the accepted names.
KernelKind parse_kernel_kind(std::string_view name);

/// The pairwise quantity a kernel is a function of.
enum class PairwiseMeasure { SquaredEuclidean, Manhattan, Dot };
PairwiseMeasure measure_of(KernelKind kind);

struct Kernel {
  KernelKind kind = KernelKind::Gaussian;
  double sigma = 1.0;  // Gaussian, Laplacian
  double gamma = 1.0;  // Polynomial
  double coef0 = 1.0;  // Polynomial
  int degree = 2;      // Polynomial, 1..16

  /// True for the kernels with a length scale sigma.
  bool has_sigma() const { return kind == KernelKind::Gaussian || kind == KernelKind::Laplacian; }
  /// Throws ParameterError for a non-finite or non-positive sigma/gamma, a
  /// non-finite coef0 or a degree outside 1..16.
  void validate() const;
  /// k as a function of the kernel's pairwise measure t.
  double from_measure(double t) const;
  /// k(x, y) by a direct loop (reference implementation; slow).
  double operator()(std::span<const double> x, std::span<const double> y) const;
  /// e.g. "laplacian (sigma = 15848.9)".
  std::string describe() const;
  bool operator==(const Kernel&) const = default;
};

/// Pairwise measure between the rows of x (n x d) and y (m x d): n x m.
Eigen::MatrixXd pairwise(PairwiseMeasure measure, const FeatureMatrix& x, const FeatureMatrix& y);
/// Pairwise measure among the rows of x: symmetric n x n, zero diagonal for
/// distances (computed on one triangle and mirrored).
Eigen::MatrixXd pairwise_symmetric(PairwiseMeasure measure, const FeatureMatrix& x);

/// Replaces every entry t of `values` with kernel.from_measure(t), in parallel.
void apply_kernel(const Kernel& kernel, Eigen::Ref<Eigen::MatrixXd> values);

/// Kernel matrix K_ij = k(x_i, y_j).
Eigen::MatrixXd gram(const Kernel& kernel, const FeatureMatrix& x, const FeatureMatrix& y);
/// Symmetric kernel matrix K_ij = k(x_i, x_j).
Eigen::MatrixXd gram_symmetric(const Kernel& kernel, const FeatureMatrix& x);

}  // namespace encmol::ml
