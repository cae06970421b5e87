// AtomicNetwork: forward pass against plain loops, permutation invariance,
// errors, the folded encrypted-evaluation form and its depth, serialization.
#include "encmol/ml/atomic_network.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/network_fold.hpp"
#include "ml_test_util.hpp"
#include "network_test_util.hpp"

namespace encmol::ml {
namespace {

using testing::random_atomic_features;
using testing::random_network;
using testing::reference_predict;

TEST(AtomicNetwork, ForwardMatchesPlainLoops) {
  const auto atoms = random_atomic_features(40, 7, 11, {1, 6, 8}, 9);
  for (int power : {2, 3}) {
    for (std::size_t depth : {0, 1, 2, 3}) {
      for (bool skip : {false, true}) {
        const auto net = random_network(7, 2, {1, 6, 8}, depth, 5, power, skip, 100 + depth);
        net.validate(7, 2, {1, 6, 7, 8});
        const Eigen::MatrixXd got = net.predict(atoms), want = reference_predict(net, atoms);
        ASSERT_EQ(got.rows(), 40);
        ASSERT_EQ(got.cols(), 2);
        const double tol = 1e-12 * std::max(1.0, want.cwiseAbs().maxCoeff());
        EXPECT_LE((got - want).cwiseAbs().maxCoeff(), tol) << "p=" << power << " L=" << depth << " skip=" << skip;
      }
    }
  }
}

TEST(AtomicNetwork, ManyAtomsSpanSeveralChunks) {
  // More atoms of one element than one chunk holds (network_pass.hpp).
  const auto atoms = random_atomic_features(300, 4, 12, {6}, 3);
  const auto net = random_network(4, 1, {6}, 2, 6, 2, true, 5);
  ASSERT_GT(atoms.atom_count(), 256u);
  const Eigen::MatrixXd got = net.predict(atoms), want = reference_predict(net, atoms);
  EXPECT_LE((got - want).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, want.cwiseAbs().maxCoeff()));
}

TEST(AtomicNetwork, PermutingAtomsInsideAMoleculeChangesNothing) {
  const auto atoms = random_atomic_features(25, 6, 13, {1, 6, 7, 8}, 8);
  const auto net = random_network(6, 3, {1, 6, 7, 8}, 2, 8, 3, true, 14);
  chem::AtomicFeatures reversed = atoms;
  for (std::size_t m = 0; m < atoms.molecule_count(); ++m) {
    const std::size_t begin = atoms.offsets[m], end = atoms.offsets[m + 1];
    for (std::size_t a = begin; a < end; ++a) {
      const std::size_t b = begin + (end - 1 - a);
      reversed.values.row(static_cast<Eigen::Index>(b)) = atoms.values.row(static_cast<Eigen::Index>(a));
      reversed.charges[b] = atoms.charges[a];
    }
  }
  const Eigen::MatrixXd p = net.predict(atoms), q = net.predict(reversed);
  EXPECT_LE((p - q).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, p.cwiseAbs().maxCoeff()));
}

TEST(AtomicNetwork, PredictIsIdenticalForAnyThreadCount) {
  const auto atoms = random_atomic_features(200, 5, 15, {1, 6}, 12);
  const auto net = random_network(5, 2, {1, 6}, 2, 7, 2, true, 16);
  core::set_thread_count(1);
  const Eigen::MatrixXd one = net.predict(atoms);
  core::set_thread_count(2);
  const Eigen::MatrixXd two = net.predict(atoms);
  core::set_thread_count(0);
  EXPECT_EQ(std::memcmp(one.data(), two.data(), sizeof(double) * static_cast<std::size_t>(one.size())), 0);
}

TEST(AtomicNetwork, AtomOfAnElementWithoutNetworkIsNamed) {
  const auto atoms = random_atomic_features(10, 4, 17, {1, 7}, 4);
  const auto net = random_network(4, 1, {1, 6}, 1, 3, 2, false, 18);
  try {
    (void)net.predict(atoms);
    FAIL() << "accepted an N atom";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("element N"), std::string::npos) << e.what();
  }
  const auto wrong_dimension = random_atomic_features(3, 5, 19, {1}, 2);
  EXPECT_THROW((void)net.predict(wrong_dimension), ParameterError);
}

TEST(AtomicNetwork, ValidateRejectsInconsistentNetworks) {
  const auto good = random_network(4, 2, {1, 6}, 2, 3, 2, true, 20);
  EXPECT_NO_THROW(good.validate(4, 2, {1, 6, 8}));
  EXPECT_THROW(good.validate(5, 2, {1, 6, 8}), ParameterError);  // dimension
  EXPECT_THROW(good.validate(4, 3, {1, 6, 8}), ParameterError);  // targets
  EXPECT_THROW(good.validate(4, 2, {1, 8}), ParameterError);     // C not in the representation
  auto bad = good;
  bad.networks[1].w[1].resize(3, 2);
  EXPECT_THROW(bad.validate(4, 2, {1, 6}), ParameterError);
  bad = good;
  bad.networks[0].scale(2) = 0.0;
  EXPECT_THROW(bad.validate(4, 2, {1, 6}), ParameterError);
  bad = good;
  bad.networks[0].v(0, 0) = std::nan("");
  EXPECT_THROW(bad.validate(4, 2, {1, 6}), ParameterError);
  bad = good;
  std::swap(bad.networks[0], bad.networks[1]);
  EXPECT_THROW(bad.validate(4, 2, {1, 6}), ParameterError);
  bad = good;
  bad.linear_skip = false;
  EXPECT_THROW(bad.validate(4, 2, {1, 6}), ParameterError);
  bad = good;
  bad.power = 4;
  EXPECT_THROW(bad.validate(4, 2, {1, 6}), ParameterError);
}

TEST(AtomicNetwork, OptionsValidateNameTheProblem) {
  NetworkOptions o;
  EXPECT_NO_THROW(o.validate());
  auto expect_bad = [](NetworkOptions opt, const char* word) {
    try {
      opt.validate();
      ADD_FAILURE() << "accepted bad " << word;
    } catch (const ParameterError& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  o = {};
  o.power = 4;
  expect_bad(o, "power");
  o = {};
  o.width = 0;
  expect_bad(o, "width");
  o = {};
  o.depth = 17;
  expect_bad(o, "depth");
  o = {};
  o.learning_rate = -1;
  expect_bad(o, "learning rate");
  o = {};
  o.weight_decay = std::nan("");
  expect_bad(o, "weight decay");
  o = {};
  o.validation_fraction = 0.7;
  expect_bad(o, "validation fraction");
  o = {};
  o.batch_molecules = 0;
  expect_bad(o, "batch");
  o = {};
  o.epochs = 0;
  expect_bad(o, "epochs");
}

TEST(AtomicNetwork, MultiplicativeDepthByHand) {
  // 1 level for the output stage + per block 1 (its linear stage) + ceil(log2 p).
  const struct {
    std::size_t depth;
    int power;
    std::size_t levels;
  } cases[] = {{0, 2, 1}, {1, 2, 3}, {2, 2, 5}, {3, 2, 7}, {0, 3, 1}, {1, 3, 4}, {2, 3, 7}, {3, 3, 10}};
  for (const auto& c : cases) {
    const auto net = random_network(3, 1, {1}, c.depth, 2, c.power, true, 21);
    EXPECT_EQ(net.multiplicative_depth(), c.levels) << "L=" << c.depth << " p=" << c.power;
  }
}

// A value with the CKKS level it would sit at: a plaintext-matrix product
// adds one level to the highest input, a ciphertext product one to the higher
// factor, additions none.
struct Leveled {
  Eigen::VectorXd value;
  std::size_t level = 0;
};

TEST(AtomicNetwork, FoldedStagesReproducePredictAtTheClaimedDepth) {
  const auto atoms = random_atomic_features(15, 6, 22, {1, 6, 8}, 5);
  for (int power : {2, 3}) {
    for (std::size_t depth : {0, 1, 2, 3}) {
      for (bool skip : {false, true}) {
        const auto net = random_network(6, 2, {1, 6, 8}, depth, 4, power, skip, 23 + depth);
        const FoldedNetwork folded = fold(net);
        const Eigen::MatrixXd want = net.predict(atoms);
        Eigen::MatrixXd got = Eigen::MatrixXd::Zero(want.rows(), want.cols());
        std::size_t deepest = 0;
        for (std::size_t m = 0; m < atoms.molecule_count(); ++m) {
          for (std::size_t a = atoms.offsets[m]; a < atoms.offsets[m + 1]; ++a) {
            const Eigen::VectorXd x = atoms.values.row(static_cast<Eigen::Index>(a)).transpose();
            const auto& f = folded.networks[static_cast<std::size_t>(net.find(atoms.charges[a]))];
            std::vector<Leveled> q;
            for (std::size_t l = 0; l <= depth; ++l) {
              Leveled s{f.input[l] * x + f.bias[l], 1};
              for (std::size_t k = 0; k < l; ++k) {
                s.value += f.mix[l][k] * q[k].value;
                s.level = std::max(s.level, q[k].level + 1);
              }
              if (l == depth) {
                got.row(static_cast<Eigen::Index>(m)) += s.value.transpose();
                deepest = std::max(deepest, s.level);
                break;
              }
              Leveled sq{s.value.array().square().matrix(), s.level + 1};
              if (power == 3) sq = {sq.value.cwiseProduct(s.value), std::max(sq.level, s.level) + 1};
              q.push_back(sq);
            }
          }
        }
        EXPECT_LE((got - want).cwiseAbs().maxCoeff(), 1e-10 * std::max(1.0, want.cwiseAbs().maxCoeff()))
            << "p=" << power << " L=" << depth << " skip=" << skip;
        EXPECT_EQ(deepest, net.multiplicative_depth()) << "p=" << power << " L=" << depth;
      }
    }
  }
}

TEST(AtomicNetwork, FoldedEvaluateAtomMatchesOneAtomMolecules) {
  auto atoms = random_atomic_features(12, 5, 24, {1, 6}, 1);  // one atom per molecule
  const auto net = random_network(5, 2, {1, 6}, 2, 4, 3, true, 25);
  const FoldedNetwork folded = fold(net);
  const Eigen::MatrixXd want = net.predict(atoms);
  for (std::size_t m = 0; m < atoms.molecule_count(); ++m) {
    const Eigen::VectorXd got = folded.evaluate_atom(atoms.charges[m], atoms.values.row(static_cast<Eigen::Index>(m)).transpose());
    EXPECT_LE((got.transpose() - want.row(static_cast<Eigen::Index>(m))).cwiseAbs().maxCoeff(), 1e-10);
  }
  EXPECT_THROW((void)folded.evaluate_atom(8, Eigen::VectorXd::Zero(5)), ParameterError);
}

core::Bytes serialized(const AtomicNetwork& net) {
  core::ByteWriter w;
  net.write(w);
  return w.take();
}

AtomicNetwork parsed(const core::Bytes& bytes, std::size_t d, std::size_t t) {
  core::ByteReader r(bytes, "net.model");
  AtomicNetwork net = AtomicNetwork::read(r, d, t);
  r.expect_end();
  return net;
}

TEST(AtomicNetwork, SerializationRoundTrip) {
  const auto atoms = random_atomic_features(20, 6, 26, {1, 6, 8}, 6);
  for (bool skip : {false, true}) {
    const auto net = random_network(6, 2, {1, 6, 8}, 2, 5, 3, skip, 27);
    const core::Bytes bytes = serialized(net);
    const AtomicNetwork back = parsed(bytes, 6, 2);
    back.validate(6, 2, {1, 6, 8});
    EXPECT_EQ(serialized(back), bytes);
    const Eigen::MatrixXd p = net.predict(atoms), q = back.predict(atoms);
    EXPECT_EQ(std::memcmp(p.data(), q.data(), sizeof(double) * static_cast<std::size_t>(p.size())), 0);
    EXPECT_EQ(back.describe(), net.describe());
    EXPECT_EQ(back.describe_json(), net.describe_json());
  }
}

TEST(AtomicNetwork, HostileBytesAreRejected) {
  const auto net = random_network(4, 1, {1, 6}, 1, 3, 2, true, 28);
  const core::Bytes good = serialized(net);
  // Every truncation.
  for (std::size_t n = 0; n < good.size(); ++n) {
    const core::Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW((void)parsed(cut, 4, 1), FormatError) << "truncated to " << n;
  }
  // Wrong expectations of the caller.
  EXPECT_THROW((void)parsed(good, 5, 1), FormatError);
  auto patched = [&](std::size_t offset, const void* data, std::size_t n) {
    core::Bytes b = good;
    std::memcpy(b.data() + offset, data, n);
    return b;
  };
  const std::uint32_t huge32 = 0xFFFFFFFFu, four = 4, two = 2, zero32 = 0;
  const std::uint64_t huge64 = ~std::uint64_t{0}, hundred = 100;
  const std::uint8_t flag2 = 2;
  EXPECT_THROW((void)parsed(patched(0, &huge32, 4), 4, 1), FormatError);   // depth
  EXPECT_THROW((void)parsed(patched(4, &huge32, 4), 4, 1), FormatError);   // width
  EXPECT_THROW((void)parsed(patched(4, &zero32, 4), 4, 1), FormatError);   // width 0
  EXPECT_THROW((void)parsed(patched(8, &four, 4), 4, 1), FormatError);     // power
  EXPECT_THROW((void)parsed(patched(12, &flag2, 1), 4, 1), FormatError);   // skip flag
  EXPECT_THROW((void)parsed(patched(13, &huge64, 8), 4, 1), FormatError);  // network count
  EXPECT_THROW((void)parsed(patched(13, &hundred, 8), 4, 1), FormatError);
  EXPECT_THROW((void)parsed(patched(21, &zero32, 4), 4, 1), FormatError);  // element 0
  EXPECT_THROW((void)parsed(patched(4, &two, 4), 4, 1), FormatError);      // width 2: sizes no longer add up
  // Second network's element equal to the first (not ascending): networks of
  // 4 + 8 (2d + wd + w + L (w^2 + 2w) + tw + t + td) bytes after the 21-byte header.
  const std::size_t second = 21 + 4 + 8 * (2 * 4 + 3 * 4 + 3 + (9 + 6) + 3 + 1 + 4);
  ASSERT_EQ(good.size(), 21 + 2 * (second - 21));
  const std::uint32_t h = 1;
  EXPECT_THROW((void)parsed(patched(second, &h, 4), 4, 1), FormatError);
  // A non-finite value and a zero scale.
  const double nan = std::nan(""), zero = 0.0;
  EXPECT_THROW((void)parsed(patched(25, &nan, 8), 4, 1), FormatError);       // mean[0]
  EXPECT_THROW((void)parsed(patched(25 + 32, &zero, 8), 4, 1), FormatError);  // scale[0]
}

}  // namespace
}  // namespace encmol::ml
