#include "encmol/ml/kernels.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

using testing::random_features;

double naive(const Kernel& k, const FeatureMatrix& x, int i, const FeatureMatrix& y, int j) {
  const auto d = static_cast<std::size_t>(x.cols());
  // Independent loop: no use of Kernel::operator() so both are checked.
  double l2 = 0, l1 = 0, dot = 0;
  for (std::size_t c = 0; c < d; ++c) {
    const double a = x(i, static_cast<Eigen::Index>(c)), b = y(j, static_cast<Eigen::Index>(c));
    l2 += (a - b) * (a - b);
    l1 += std::fabs(a - b);
    dot += a * b;
  }
  switch (k.kind) {
    case KernelKind::Gaussian: return std::exp(-l2 / (2 * k.sigma * k.sigma));
    case KernelKind::Laplacian: return std::exp(-l1 / k.sigma);
    case KernelKind::Linear: return dot;
    case KernelKind::Polynomial: return std::pow(k.gamma * dot + k.coef0, k.degree);
  }
  return 0;
}

std::vector<Kernel> all_kernels() {
  Kernel g{KernelKind::Gaussian, 1.7, 1, 1, 2};
  Kernel l{KernelKind::Laplacian, 3.1, 1, 1, 2};
  Kernel lin{KernelKind::Linear, 1, 1, 1, 2};
  Kernel p{KernelKind::Polynomial, 1, 0.3, 0.7, 3};
  return {g, l, lin, p};
}

TEST(Kernels, GramMatchesNaiveLoops) {
  // 19 columns: not a multiple of the SIMD width, exercises the tail.
  const FeatureMatrix x = random_features(37, 19, 1);
  const FeatureMatrix y = random_features(23, 19, 2);
  for (const Kernel& k : all_kernels()) {
    const Eigen::MatrixXd g = gram(k, x, y);
    ASSERT_EQ(g.rows(), 37);
    ASSERT_EQ(g.cols(), 23);
    for (int i = 0; i < 37; ++i)
      for (int j = 0; j < 23; ++j) {
        const double want = naive(k, x, i, y, j);
        EXPECT_NEAR(g(i, j), want, 1e-12 * std::max(1.0, std::fabs(want))) << to_string(k.kind);
        std::span<const double> xi(x.data() + i * 19, 19), yj(y.data() + j * 19, 19);
        EXPECT_NEAR(k(xi, yj), want, 1e-12 * std::max(1.0, std::fabs(want)));
      }
    const Eigen::MatrixXd s = gram_symmetric(k, x);
    for (int i = 0; i < 37; ++i)
      for (int j = 0; j < 37; ++j) {
        const double want = naive(k, x, i, x, j);
        EXPECT_NEAR(s(i, j), want, 1e-12 * std::max(1.0, std::fabs(want))) << to_string(k.kind);
        EXPECT_EQ(s(i, j), s(j, i));
      }
  }
}

TEST(Kernels, DistancesExactOnDiagonalAndNonNegative) {
  const FeatureMatrix x = random_features(70, 40, 3, 300.0);  // CM-like magnitudes
  for (auto m : {PairwiseMeasure::SquaredEuclidean, PairwiseMeasure::Manhattan}) {
    const Eigen::MatrixXd d = pairwise_symmetric(m, x);
    for (int i = 0; i < 70; ++i) EXPECT_EQ(d(i, i), 0.0);
    EXPECT_GE(d.minCoeff(), 0.0);
  }
  // Squared distances via |x|^2 + |y|^2 - 2xy agree with the direct sum.
  const Eigen::MatrixXd d = pairwise(PairwiseMeasure::SquaredEuclidean, x, x);
  for (int i = 0; i < 70; ++i)
    for (int j = 0; j < 70; ++j)
      EXPECT_NEAR(d(i, j), (x.row(i) - x.row(j)).squaredNorm(), 1e-9 * std::max(1.0, d(i, j)) + 1e-6);
}

TEST(Kernels, L1IdenticalForAnyThreadCount) {
  const FeatureMatrix x = random_features(150, 33, 4);
  const FeatureMatrix y = random_features(77, 33, 5);
  core::set_thread_count(1);
  const Eigen::MatrixXd a = pairwise(PairwiseMeasure::Manhattan, x, y);
  const Eigen::MatrixXd as = pairwise_symmetric(PairwiseMeasure::Manhattan, x);
  core::set_thread_count(2);
  const Eigen::MatrixXd b = pairwise(PairwiseMeasure::Manhattan, x, y);
  const Eigen::MatrixXd bs = pairwise_symmetric(PairwiseMeasure::Manhattan, x);
  core::set_thread_count(0);
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(as == bs);
  // The symmetric version equals the general one entry by entry.
  const Eigen::MatrixXd c = pairwise(PairwiseMeasure::Manhattan, x, x);
  EXPECT_TRUE(as == c);
}

TEST(Kernels, ParsingAndValidation) {
  EXPECT_EQ(parse_kernel_kind("Gaussian"), KernelKind::Gaussian);
  EXPECT_EQ(parse_kernel_kind("rbf"), KernelKind::Gaussian);
  EXPECT_EQ(parse_kernel_kind("LAPLACIAN"), KernelKind::Laplacian);
  EXPECT_EQ(parse_kernel_kind("poly"), KernelKind::Polynomial);
  EXPECT_THROW(parse_kernel_kind("matern"), InputError);
  Kernel k{KernelKind::Gaussian, 0.0, 1, 1, 2};
  EXPECT_THROW(k.validate(), ParameterError);
  k.sigma = std::nan("");
  EXPECT_THROW(k.validate(), ParameterError);
  Kernel p{KernelKind::Polynomial, 1, 1, 1, 0};
  EXPECT_THROW(p.validate(), ParameterError);
  const FeatureMatrix x = random_features(3, 4, 1), y = random_features(3, 5, 1);
  EXPECT_THROW((void)gram(Kernel{}, x, y), ParameterError);
}

}  // namespace
}  // namespace encmol::ml
