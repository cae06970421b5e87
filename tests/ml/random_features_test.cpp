#include "encmol/ml/random_features.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

// A map over `atoms` with the same number of features for every element.
RandomFeatureMap equal_map(const chem::AtomicFeatures& atoms, RandomFeatureKind kind,
                           std::size_t per_element, double sigma, std::uint64_t seed,
                           std::size_t pca = 0) {
  RandomFeatureOptions o;
  o.kind = kind;
  o.features = 64;
  o.sigma = sigma;
  o.seed = seed;
  o.pca = pca;
  RandomFeatureMap m = RandomFeatureMap::make(o, atoms);
  m.counts.assign(m.elements.size(), per_element);
  m.generate();
  return m;
}

double relative_error(const Eigen::MatrixXd& approx, const Eigen::MatrixXd& exact) {
  return (approx - exact).norm() / exact.norm();
}

TEST(FeatureSampler, PortableLogMatchesLibm) {
  std::mt19937_64 rng(1);
  double worst = 0;
  for (int i = 0; i < 100000; ++i) {
    const double x = std::ldexp(static_cast<double>(rng() >> 11) * 0x1p-53 + 0x1p-60,
                                static_cast<int>(rng() % 200) - 100);
    const double ref = std::log(x);
    worst = std::max(worst, std::fabs(portable_log(x) - ref) / std::max(std::fabs(ref), 1e-300));
  }
  EXPECT_LT(worst, 1e-15);
  EXPECT_EQ(portable_log(1.0), 0.0);
  EXPECT_NEAR(portable_log(0x1p-1074), -744.4400719213812, 1e-12);
}

TEST(FeatureSampler, FollowsTheDocumentedAlgorithm) {
  // The polar method spelled out again with std::log: the sampler must agree
  // to rounding (it differs only in using portable_log).
  PortableSampler s(99);
  std::mt19937_64 rng(99);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1p-53; };
  for (int i = 0; i < 50; ++i) {
    double u, v, q;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      q = u * u + v * v;
    } while (q >= 1 || q == 0);
    const double f = std::sqrt(-2 * std::log(q) / q);
    EXPECT_NEAR(s.normal(), u * f, 1e-14 * std::fabs(u * f) + 1e-300);
    EXPECT_NEAR(s.normal(), v * f, 1e-14 * std::fabs(v * f) + 1e-300);
  }
  EXPECT_EQ(s.uniform(), uniform());
  EXPECT_EQ(s.sign(), (rng() >> 63) ? -1.0 : 1.0);
}

TEST(FeatureSampler, NormalAndChiHaveTheRightMoments) {
  PortableSampler s(5);
  double sum = 0, sum2 = 0, sum4 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = s.normal();
    sum += z;
    sum2 += z * z;
    sum4 += z * z * z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.015);
  EXPECT_NEAR(sum4 / n, 3.0, 0.08);
  double chi2 = 0;
  for (int i = 0; i < 20000; ++i) {
    const double c = s.chi(64);
    chi2 += c * c;
  }
  EXPECT_NEAR(chi2 / 20000, 64.0, 0.5);  // E[chi_64^2] = 64, sd of the mean ~0.08
}

TEST(FeatureSampler, PinnedDigestOfASmallMap) {
  // Pins the generator (part of the model file format): a change here changes
  // the features of every saved model.
  RandomFeatureMap m;
  m.input_dimension = 7;
  m.elements = {1, 6};
  m.counts = {5, 40};
  m.sigma = 0.75;
  for (auto kind : {RandomFeatureKind::Fourier, RandomFeatureKind::Orthogonal}) {
    m.kind = kind;
    m.generate();
    const std::string hex = core::to_hex(m.digest());
    if (kind == RandomFeatureKind::Fourier) {
      EXPECT_EQ(hex, "8d35b8896b95e35e3f948f7971953b425ea24d4f13672802aca7ac80c61bca25");
    } else {
      EXPECT_EQ(hex, "d0d5e5bc426ed60264d67ffe36b08669ea93669a42211362dd54e9606f848ed2");
    }
  }
}

TEST(FeatureSampler, PinnedDigestOfAFchl19SizedOrthogonalMap) {
  // Blocks of 1,024 rows over 720 inputs (FCHL19): pins the one-transform-per-row
  // generation to the three transforms it replaced (same digest, bit for bit).
  RandomFeatureMap m;
  m.input_dimension = 720;
  m.elements = {1, 6};
  m.counts = {1100, 300};
  m.sigma = 2.5;
  m.kind = RandomFeatureKind::Orthogonal;
  m.generate();
  EXPECT_EQ(core::to_hex(m.digest()), "e4320a480d6ac9430188d9eeb4bd5f097e1aaf51d5083564ace191d5be078927");
}

TEST(FeatureSampler, OrthogonalBlocksHaveOrthogonalRowsWithChiNorms) {
  FrequencyMatrix w;
  Eigen::VectorXd b;
  sample_frequencies(RandomFeatureKind::Orthogonal, 3, 6, 40, 16, w, b);  // blocks of 16 rows
  ASSERT_EQ(w.rows(), 40);
  for (Eigen::Index i = 0; i < w.rows(); ++i) {
    EXPECT_GT(w.row(i).norm(), 0.5);
    EXPECT_GE(b(i), 0.0);
    EXPECT_LT(b(i), 2 * M_PI);
    for (Eigen::Index j = i + 1; j < w.rows() && j / 16 == i / 16; ++j) {
      EXPECT_LT(std::fabs(w.row(i).dot(w.row(j))), 1e-12 * w.row(i).norm() * w.row(j).norm())
          << i << " " << j;
    }
  }
  // Norms of Gaussian vectors in 16 dimensions: mean square 16.
  FrequencyMatrix big;
  sample_frequencies(RandomFeatureKind::Orthogonal, 4, 6, 4096, 16, big, b);
  EXPECT_NEAR(big.rowwise().squaredNorm().mean(), 16.0, 0.5);
}

TEST(FeatureSampler, FeaturesArePrefixStable) {
  for (auto kind : {RandomFeatureKind::Fourier, RandomFeatureKind::Orthogonal}) {
    FrequencyMatrix a, b;
    Eigen::VectorXd pa, pb;
    sample_frequencies(kind, 11, 8, 70, 9, a, pa);
    sample_frequencies(kind, 11, 8, 300, 9, b, pb);
    EXPECT_TRUE(a == b.topRows(70));
    EXPECT_TRUE(pa == pb.head(70));
  }
}

TEST(AllocateFeatures, SumsToTheTotalAndFavoursCommonElements) {
  const auto c = allocate_features(1000, {5000, 3000, 400, 400, 10});
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0] + c[1] + c[2] + c[3] + c[4], 1000u);
  EXPECT_GT(c[0], c[1]);
  EXPECT_GT(c[1], c[2]);
  EXPECT_LE(c[2] > c[3] ? c[2] - c[3] : c[3] - c[2], 1u);
  EXPECT_GE(c[4], 1u);
  EXPECT_EQ(allocate_features(3, {1, 1, 100}), (std::vector<std::size_t>{1, 1, 1}));
  EXPECT_THROW(allocate_features(2, {1, 1, 1}), ParameterError);
}

TEST(RandomFeatureMap, OptionsAreValidated) {
  const auto x = testing::random_atomic_features(10, 4, 1);
  RandomFeatureOptions o;
  o.features = 0;
  EXPECT_THROW(RandomFeatureMap::make(o, x), ParameterError);
  o.features = 64;
  o.sigma = -1;
  EXPECT_THROW(RandomFeatureMap::make(o, x), ParameterError);
  o.sigma = 1;
  o.pca = 5;  // more than the 4 values per atom
  EXPECT_THROW(RandomFeatureMap::make(o, x), ParameterError);
}

// Inner products of the features approximate the exact local kernel, and the
// error falls like 1 / sqrt(D).
TEST(RandomFeatureMap, InnerProductsApproximateTheLocalKernel) {
  const auto x = testing::random_atomic_features(25, 6, 21);
  const double sigma = 1.4;
  const double sigmas[] = {sigma};
  const Eigen::MatrixXd exact = local_gram_symmetric(x, sigmas).front();
  for (auto kind : {RandomFeatureKind::Fourier, RandomFeatureKind::Orthogonal}) {
    std::vector<double> err;
    for (std::size_t d : {128, 2048}) {
      double mean = 0;
      for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        const Eigen::MatrixXd phi = equal_map(x, kind, d, sigma, seed).features(x);
        mean += relative_error(phi * phi.transpose(), exact) / 4;
      }
      err.push_back(mean);
    }
    // 16x the features: 4x smaller error expected.
    EXPECT_GT(err[0] / err[1], 2.5) << to_string(kind) << " " << err[0] << " " << err[1];
    EXPECT_LT(err[0] / err[1], 6.5) << to_string(kind) << " " << err[0] << " " << err[1];
    EXPECT_LT(err[1], 0.05) << to_string(kind);
  }
}

TEST(RandomFeatureMap, WithPcaApproximatesTheKernelOfProjectedAtoms) {
  const auto x = testing::random_atomic_features(25, 10, 22);
  for (bool shared : {false, true}) {
    RandomFeatureOptions o;
    o.features = 3 * 4096;
    o.sigma = 1.2;
    o.pca = 4;
    o.shared_pca = shared;
    const RandomFeatureMap m = RandomFeatureMap::make(o, x);
    ASSERT_EQ(m.projections.size(), shared ? 1u : 3u);
    for (const auto& p : m.projections) {  // orthonormal rows
      EXPECT_LT((p * p.transpose() - Eigen::MatrixXd::Identity(4, 4)).cwiseAbs().maxCoeff(), 1e-12);
    }
    const chem::AtomicFeatures projected = m.project(x);
    ASSERT_EQ(projected.dimension(), 4u);
    const double sigmas[] = {1.2};
    const Eigen::MatrixXd exact = local_gram_symmetric(projected, sigmas).front();
    const Eigen::MatrixXd phi = m.features(x);
    EXPECT_LT(relative_error(phi * phi.transpose(), exact), 0.05);
    // The projection changes the kernel: projected distances are shorter.
    EXPECT_GT(relative_error(exact, local_gram_symmetric(x, sigmas).front()), 0.05);
  }
}

TEST(RandomFeatureMap, DeterministicForAnyThreadCountAndSeedDependent) {
  const auto x =
      testing::random_atomic_features(300, 12, 31, {1, 6, 7, 8}, 12);  // several chunks per element
  RandomFeatureOptions o;
  o.features = 1000;
  o.sigma = 2.0;
  o.pca = 8;
  const unsigned before = core::thread_count();
  core::set_thread_count(1);
  const RandomFeatureMap m = RandomFeatureMap::make(o, x);
  const Eigen::MatrixXd one = m.features(x);
  for (unsigned t : {2u, 3u, 8u}) {
    core::set_thread_count(t);
    EXPECT_TRUE(m.features(x) == one) << t << " threads";
    const RandomFeatureMap again = RandomFeatureMap::make(o, x);
    EXPECT_TRUE(again.frequencies == m.frequencies);
    EXPECT_TRUE(again.phases == m.phases);
  }
  core::set_thread_count(before);
  o.seed = 43;
  const RandomFeatureMap other = RandomFeatureMap::make(o, x);
  EXPECT_GT((other.features(x) - one).cwiseAbs().maxCoeff(), 0.1);
  // A map made with another sigma and moved to this one is the same map.
  o.seed = 42;
  o.sigma = 5.0;
  EXPECT_TRUE(RandomFeatureMap::make(o, x).with_sigma(2.0).frequencies == m.frequencies);
}

TEST(RandomFeatureMap, UnknownElementIsAnInputErrorNamingIt) {
  const auto train = testing::random_atomic_features(10, 5, 41, {1, 6, 8});
  const auto query = testing::random_atomic_features(10, 5, 42, {1, 16});
  RandomFeatureModel model;
  RandomFeatureOptions o;
  o.features = 30;
  model.map = RandomFeatureMap::make(o, train);
  model.weights = Eigen::MatrixXd::Ones(30, 1);
  try {
    (void)model.predict(query);
    FAIL() << "accepted an unknown element";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("element S"), std::string::npos) << msg;
    EXPECT_NE(msg.find("H C O"), std::string::npos) << msg;
  }
  const auto wrong_dimension = testing::random_atomic_features(3, 6, 43, {1});
  EXPECT_THROW((void)model.predict(wrong_dimension), InputError);
}

class RandomFeatureModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    atoms_ = testing::random_atomic_features(20, 6, 51);
    RandomFeatureOptions o;
    o.features = 90;
    o.sigma = 1.3;
    o.pca = 3;
    o.kind = RandomFeatureKind::Fourier;
    o.seed = 7;
    model_.map = RandomFeatureMap::make(o, atoms_);
    model_.lambda = 1e-4;
    model_.weights = testing::random_features(90, 2, 52);
    core::ByteWriter w;
    model_.write(w);
    bytes_ = w.take();
  }
  RandomFeatureModel read(const core::Bytes& bytes) const {
    core::ByteReader r(bytes, "test.model");
    RandomFeatureModel m = RandomFeatureModel::read(r, 6, 2);
    r.expect_end();
    return m;
  }
  chem::AtomicFeatures atoms_;
  RandomFeatureModel model_;
  core::Bytes bytes_;
};

TEST_F(RandomFeatureModelFile, RoundTripGivesBitIdenticalPredictions) {
  const RandomFeatureModel back = read(bytes_);
  back.validate(6, 2, {1, 6, 8});
  EXPECT_TRUE(back.weights == model_.weights);
  EXPECT_TRUE(back.map.frequencies == model_.map.frequencies);
  EXPECT_TRUE(back.map.projections == model_.map.projections);
  EXPECT_TRUE(back.predict(atoms_) == model_.predict(atoms_));
  EXPECT_EQ(back.map.counts, model_.map.counts);
  EXPECT_NE(model_.describe().find("fourier, 90"), std::string::npos) << model_.describe();
  EXPECT_EQ(model_.describe_json()["random_features"]["pca"], 3);
  EXPECT_THROW(back.validate(6, 2, {1, 6}),
               ParameterError);  // O has features but the representation lacks it
  EXPECT_THROW(back.validate(6, 3, {1, 6, 8}), ParameterError);
}

TEST_F(RandomFeatureModelFile, TruncationAndWrongSizesAreFormatErrors) {
  for (std::size_t cut = 0; cut < bytes_.size(); cut += 7) {
    const core::Bytes part(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(read(part), FormatError) << cut;
  }
  core::ByteReader r(bytes_, "test.model");
  EXPECT_THROW(RandomFeatureModel::read(r, 5, 2), FormatError);  // another atom dimension
}

TEST_F(RandomFeatureModelFile, HostileFieldsAreFormatErrors) {
  // Layout: u8 kind, f64 sigma, u64 seed, u64 dim, u64 elements, (u32 Z, u64 count) x elements, ...
  auto patched = [&](std::size_t offset, std::uint64_t value, int bytes) {
    core::Bytes b = bytes_;
    for (int i = 0; i < bytes; ++i)
      b[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
    return b;
  };
  const std::size_t elements_at = 1 + 8 + 8 + 8, first_count = elements_at + 8 + 4;
  EXPECT_THROW(read(patched(0, 9, 1)), FormatError);                      // kind
  EXPECT_THROW(read(patched(1, 0x7FF8000000000000ULL, 8)), FormatError);  // sigma NaN
  EXPECT_THROW(read(patched(1, 0xBFF0000000000000ULL, 8)), FormatError);  // sigma -1
  EXPECT_THROW(read(patched(9, 8, 8)), FormatError);  // another seed: digest differs
  EXPECT_THROW(read(patched(elements_at, 1ULL << 40, 8)), FormatError);  // element count
  EXPECT_THROW(read(patched(elements_at + 8, 200, 4)), FormatError);     // not an element
  EXPECT_THROW(read(patched(first_count, 1ULL << 62, 8)), FormatError);  // huge feature count
  EXPECT_THROW(read(patched(first_count, 60000, 8)), FormatError);       // large map, short data
  EXPECT_THROW(read(patched(first_count, 17, 8)), FormatError);          // digest differs
  EXPECT_THROW(read(patched(bytes_.size() - 8, 0x7FF0000000000000ULL, 8)),
               FormatError);  // weight +inf
  core::Bytes flipped = bytes_;
  flipped[bytes_.size() - 90 * 2 * 8 - 8 - 5] ^= 1;  // inside the digest
  EXPECT_THROW(read(flipped), FormatError);
}

}  // namespace
}  // namespace encmol::ml
