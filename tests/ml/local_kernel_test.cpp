#include "encmol/ml/local_kernel.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/vector_exp.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

// Straight from the definition: every same-element atom pair, libm exp.
Eigen::MatrixXd naive_local_gram(const chem::AtomicFeatures& x, const chem::AtomicFeatures& y, double sigma) {
  Eigen::MatrixXd k = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(x.molecule_count()),
                                            static_cast<Eigen::Index>(y.molecule_count()));
  for (std::size_t i = 0; i < x.molecule_count(); ++i)
    for (std::size_t j = 0; j < y.molecule_count(); ++j)
      for (std::size_t a = x.offsets[i]; a < x.offsets[i + 1]; ++a)
        for (std::size_t b = y.offsets[j]; b < y.offsets[j + 1]; ++b)
          if (x.charges[a] == y.charges[b]) {
            const double d2 = (x.values.row(static_cast<Eigen::Index>(a)) - y.values.row(static_cast<Eigen::Index>(b))).squaredNorm();
            k(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) += std::exp(-d2 / (2 * sigma * sigma));
          }
  return k;
}

TEST(VectorExp, MatchesLibmToAFewUlpsAndFlushesUnderflow) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 800.0);
  std::vector<double> d(1003);
  for (auto& v : d) v = u(rng);
  d[0] = 0.0;
  d[1] = 1e-300;
  d[2] = -5.0;  // clamped to 0
  d[3] = 1e308;
  std::vector<double> out(d.size());
  exp_negative_scaled(d.data(), 0.9, out.data(), d.size());
  double worst = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const double ref = std::exp(-0.9 * std::max(d[i], 0.0));
    if (ref < 1e-307) {
      EXPECT_EQ(out[i], 0.0) << d[i];
      continue;
    }
    worst = std::max(worst, std::fabs(out[i] - ref) / ref);
  }
  EXPECT_LT(worst, 2e-15);
  EXPECT_EQ(out[0], 1.0);
  EXPECT_EQ(out[2], 1.0);
  EXPECT_EQ(out[3], 0.0);
}

TEST(LocalKernel, SymmetricMatchesTheDefinitionForEverySigma) {
  const auto x = testing::random_atomic_features(37, 11, 5);
  const std::vector<double> sigmas{0.5, 1.3, 4.0};
  const auto grams = local_gram_symmetric(x, sigmas);
  ASSERT_EQ(grams.size(), 3u);
  for (std::size_t s = 0; s < sigmas.size(); ++s) {
    const Eigen::MatrixXd ref = naive_local_gram(x, x, sigmas[s]);
    EXPECT_LT((grams[s] - ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff()) << sigmas[s];
    EXPECT_TRUE(grams[s] == grams[s].transpose());
  }
}

TEST(LocalKernel, CrossMatchesTheDefinitionAndIgnoresUnsharedElements) {
  const auto x = testing::random_atomic_features(23, 7, 8, {1, 6, 16});  // S only in x
  const auto y = testing::random_atomic_features(31, 7, 9, {1, 6, 7});   // N only in y
  const auto grams = local_gram(x, y, std::vector<double>{0.8, 2.5});
  for (std::size_t s = 0; s < 2; ++s) {
    const Eigen::MatrixXd ref = naive_local_gram(x, y, s == 0 ? 0.8 : 2.5);
    EXPECT_LT((grams[s] - ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff());
  }
}

TEST(LocalKernel, LargeBlocksAndThreadCountGiveIdenticalResults) {
  // More than one row block per element (blocks hold ~256 atoms).
  const auto x = testing::random_atomic_features(400, 5, 12, {1, 6}, 8);
  const std::vector<double> sigmas{1.0};
  core::set_thread_count(1);
  const auto one = local_gram_symmetric(x, sigmas);
  core::set_thread_count(2);
  const auto two = local_gram_symmetric(x, sigmas);
  core::set_thread_count(0);
  EXPECT_TRUE(one[0] == two[0]);
  const Eigen::MatrixXd ref = naive_local_gram(x, x, 1.0);
  EXPECT_LT((one[0] - ref).cwiseAbs().maxCoeff(), 1e-11 * ref.cwiseAbs().maxCoeff());
  // Same-element atom count on the diagonal as sigma -> large.
  const auto wide = local_gram_symmetric(x, std::vector<double>{1e6});
  for (std::size_t i = 0; i < x.molecule_count(); ++i) {
    std::map<int, int> count;
    for (std::size_t a = x.offsets[i]; a < x.offsets[i + 1]; ++a) ++count[x.charges[a]];
    double expected = 0;
    for (auto [z, c] : count) expected += c * c;
    EXPECT_NEAR(wide[0](static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(i)), expected, 1e-9);
  }
}

TEST(LocalKernel, SigmaLadderSquaresInsteadOfExpWithTheSameResult) {
  const auto ladder = sigma_ladder(4.0, 5);
  ASSERT_EQ(ladder.size(), 5u);
  for (std::size_t k = 1; k < ladder.size(); ++k) {
    EXPECT_NEAR(ladder[k], ladder[k - 1] / std::sqrt(2.0), 1e-12);
  }
  const auto x = testing::random_atomic_features(40, 6, 21);
  // Given in scrambled order: results come back in the caller's order.
  const std::vector<double> scrambled{ladder[2], ladder[0], ladder[4], ladder[1], ladder[3]};
  const auto grams = local_gram_symmetric(x, scrambled);
  for (std::size_t s = 0; s < scrambled.size(); ++s) {
    const Eigen::MatrixXd ref = naive_local_gram(x, x, scrambled[s]);
    EXPECT_LT((grams[s] - ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff()) << s;
  }
}

TEST(LocalKernel, PolynomialAndGaussianKernelsInOneCall) {
  const auto x = testing::random_atomic_features(30, 9, 31);
  const auto y = testing::random_atomic_features(17, 9, 32);
  const std::vector<AtomKernel> kernels{AtomKernel::polynomial(2, 1.5, 3.0), AtomKernel::gaussian(1.1),
                                        AtomKernel::polynomial(3, 0.5, 2.0), AtomKernel::gaussian(1.1 / std::sqrt(2.0))};
  const auto sym = local_gram_symmetric(x, kernels);
  const auto cross = local_gram(y, x, kernels);
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    Eigen::MatrixXd ref_sym = Eigen::MatrixXd::Zero(30, 30), ref_cross = Eigen::MatrixXd::Zero(17, 30);
    auto row = [](const chem::AtomicFeatures& f, std::size_t a) {
      return std::span<const double>(f.values.data() + a * f.dimension(), f.dimension());
    };
    for (std::size_t j = 0; j < 30; ++j)
      for (std::size_t b = x.offsets[j]; b < x.offsets[j + 1]; ++b) {
        for (std::size_t i = 0; i < 30; ++i)
          for (std::size_t a = x.offsets[i]; a < x.offsets[i + 1]; ++a)
            if (x.charges[a] == x.charges[b]) ref_sym(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) += kernels[k](row(x, a), row(x, b));
        for (std::size_t i = 0; i < 17; ++i)
          for (std::size_t a = y.offsets[i]; a < y.offsets[i + 1]; ++a)
            if (y.charges[a] == x.charges[b]) ref_cross(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) += kernels[k](row(y, a), row(x, b));
      }
    EXPECT_LT((sym[k] - ref_sym).cwiseAbs().maxCoeff(), 1e-11 * ref_sym.cwiseAbs().maxCoeff()) << k;
    EXPECT_LT((cross[k] - ref_cross).cwiseAbs().maxCoeff(), 1e-11 * ref_cross.cwiseAbs().maxCoeff()) << k;
  }
  EXPECT_THROW(AtomKernel::polynomial(0, 1, 1).validate(), ParameterError);
  EXPECT_THROW(AtomKernel::polynomial(2, 1, 0).validate(), ParameterError);
}

TEST(LocalKernel, RejectsBadSigmasAndMismatchedDimensions) {
  const auto x = testing::random_atomic_features(5, 4, 1);
  const auto y = testing::random_atomic_features(5, 3, 2);
  EXPECT_THROW(local_gram_symmetric(x, std::vector<double>{0.0}), ParameterError);
  EXPECT_THROW(local_gram_symmetric(x, std::vector<double>{}), ParameterError);
  EXPECT_THROW(local_gram(x, y, std::vector<double>{1.0}), ParameterError);
  EXPECT_GT(median_atomic_distance(x), 0.0);
}

}  // namespace
}  // namespace encmol::ml
