#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "audit_test_util.hpp"
#include "encmol/audit/geometry.hpp"

namespace encmol::audit {
namespace {

Eigen::MatrixXd random_points(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  Eigen::MatrixXd x(n, 3);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) x(i, c) = u(rng);
  return x;
}

TEST(Geometry, MdsRecoversPointsFromExactDistances) {
  const Eigen::MatrixXd x = random_points(15, 1);
  const Eigen::MatrixXd d = distance_matrix(x);
  const Eigen::MatrixXd y = classical_mds(d);
  EXPECT_LT(superposed_rmsd(y, x), 1e-9);
  EXPECT_LT(distance_rms_residual(y, d), 1e-9);
}

TEST(Geometry, RefinementFixesNoisyStart) {
  const Eigen::MatrixXd x = random_points(12, 2);
  const Eigen::MatrixXd d = distance_matrix(x);
  Eigen::MatrixXd start = x + 0.3 * random_points(12, 3) / 3.0;
  ASSERT_GT(superposed_rmsd(start, x), 0.05);
  const RefineResult r = refine_to_distances(start, d);
  EXPECT_LT(r.rms_residual, 1e-9);
  EXPECT_LT(superposed_rmsd(r.coordinates, x), 1e-8);
}

TEST(Geometry, RmsdAllowsReflectionAndKnowsItsValue) {
  const Eigen::MatrixXd x = random_points(8, 4);
  Eigen::MatrixXd mirror = x;
  mirror.col(2) *= -1.0;
  EXPECT_LT(superposed_rmsd(mirror, x), 1e-12);
  // A pure translation of one atom by t (others fixed) has a known lower bound.
  Eigen::MatrixXd moved = x;
  moved(0, 0) += 1.0;
  const double r = superposed_rmsd(moved, x);
  EXPECT_GT(r, 0.1);
  EXPECT_LE(r, 1.0 / std::sqrt(8.0) + 1e-12);
}

TEST(Geometry, HungarianMatchesBruteForce) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.0, 10.0);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 1 + trial % 6;
    Eigen::MatrixXd c(n, n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) c(i, j) = u(rng);
    const auto a = min_cost_assignment(c);
    double got = 0;
    for (int i = 0; i < n; ++i) got += c(i, static_cast<Eigen::Index>(a[static_cast<std::size_t>(i)]));
    std::vector<int> p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    double best = 1e300;
    do {
      double s = 0;
      for (int i = 0; i < n; ++i) s += c(i, p[static_cast<std::size_t>(i)]);
      best = std::min(best, s);
    } while (std::next_permutation(p.begin(), p.end()));
    EXPECT_NEAR(got, best, 1e-9);
  }
}

TEST(Geometry, CompareFindsAtomCorrespondence) {
  using namespace testing;
  for (const auto& m : {methane(), benzene(), water(), acetylene(), qm7()[100], qm7()[2000]}) {
    const MatchResult same = compare_molecules(moved(m, true, 7), m);
    EXPECT_TRUE(same.same_composition) << m.name;
    EXPECT_LT(same.rmsd, 1e-9) << m.name;
    EXPECT_TRUE(same.exact());
  }
  chem::Molecule bent = water();
  bent.positions[1][1] += 0.5;
  EXPECT_FALSE(compare_molecules(bent, water()).exact());
  chem::Molecule other = water();
  other.charges[0] = 16;
  EXPECT_FALSE(compare_molecules(other, water()).same_composition);
}

TEST(Geometry, CompareHandlesHighlySymmetricMolecules) {
  // Ethane, ethylene and other small symmetric molecules: sorted distance
  // profiles of equivalent atoms tie, and ICP from a wrong pairing can stop in
  // a local minimum; the triple-alignment starts must still find RMSD 0.
  using namespace testing;
  int checked = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    const auto& m = qm7()[i];
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      chem::Molecule shuffled = moved(m, seed % 2 == 0, seed);
      std::mt19937_64 rng(seed);
      for (std::size_t k = shuffled.size(); k > 1; --k) {
        const std::size_t j = rng() % k;
        std::swap(shuffled.charges[k - 1], shuffled.charges[j]);
        std::swap(shuffled.positions[k - 1], shuffled.positions[j]);
      }
      // Rounding-level noise, as in a reconstructed structure: breaks the ties
      // between equivalent atoms at random.
      std::uniform_real_distribution<double> noise(-1e-7, 1e-7);
      for (auto& p : shuffled.positions)
        for (double& v : p) v += noise(rng);
      const MatchResult r = compare_molecules(shuffled, m);
      EXPECT_LT(r.rmsd, 1e-6) << m.name << " seed " << seed;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 240);
}

}  // namespace
}  // namespace encmol::audit
