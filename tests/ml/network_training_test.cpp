// Network training: hand-written gradients against central finite
// differences, recovery of a target that is itself a square network,
// determinism across thread counts, input checks.
#include "encmol/ml/network_training.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "ml_test_util.hpp"
#include "network_test_util.hpp"

namespace encmol::ml {
namespace {

using testing::random_atomic_features;
using testing::random_network;

std::vector<double*> blocks_of(ElementNetwork& e) {
  std::vector<double*> out;
  e.for_each_block([&](const char*, double* p, std::size_t, bool) { out.push_back(p); });
  return out;
}

TEST(NetworkTraining, GradientMatchesCentralDifferences) {
  const auto atoms = random_atomic_features(12, 5, 31, {1, 6, 8}, 5);
  Eigen::MatrixXd labels(12, 2);
  for (Eigen::Index i = 0; i < 12; ++i) labels.row(i) << std::sin(static_cast<double>(i)), 0.3 * static_cast<double>(i % 4);
  const std::vector<double> scale = {0.7, 1.3};
  const double decay = 1e-2;
  for (int power : {2, 3}) {
    for (std::size_t depth : {0, 1, 2, 3}) {
      for (bool skip : {false, true}) {
        AtomicNetwork net = random_network(5, 2, {1, 6, 8}, depth, 4, power, skip, 40 + depth);
        std::vector<ElementNetwork> grad;
        (void)network_loss(net, atoms, labels, scale, decay, &grad);
        ASSERT_EQ(grad.size(), 3u);
        double worst = 0.0;
        std::size_t checked = 0;
        for (std::size_t k = 0; k < net.networks.size(); ++k) {
          const auto g = blocks_of(grad[k]);
          std::size_t block = 0;
          net.networks[k].for_each_block([&](const char* name, double* p, std::size_t n, bool) {
            for (std::size_t i = 0; i < n; ++i) {
              const double saved = p[i], h = 1e-5 * std::max(1.0, std::fabs(saved));
              p[i] = saved + h;
              const double up = network_loss(net, atoms, labels, scale, decay);
              p[i] = saved - h;
              const double down = network_loss(net, atoms, labels, scale, decay);
              p[i] = saved;
              const double numeric = (up - down) / (2 * h), analytic = g[block][i];
              const double err = std::fabs(numeric - analytic) / std::max(1e-3, std::fabs(numeric) + std::fabs(analytic));
              worst = std::max(worst, err);
              EXPECT_LT(err, 1e-5) << name << "[" << i << "] of network " << k << " p=" << power << " L=" << depth
                                   << " skip=" << skip << ": " << analytic << " vs " << numeric;
              ++checked;
            }
            ++block;
          });
        }
        EXPECT_GT(checked, 100u);
      }
    }
  }
}

TEST(NetworkTraining, RecoversATargetThatIsADepthOneSquareNetwork) {
  // Labels from a random depth-1, width-6, power-2 network with large block
  // scales (strongly nonlinear); a linear model cannot fit them, the same
  // architecture can, to a loss near 0.
  const auto atoms = random_atomic_features(600, 4, 50, {1, 6}, 6);
  AtomicNetwork teacher = random_network(4, 1, {1, 6}, 1, 6, 2, false, 51, 0.6);
  for (auto& e : teacher.networks) e.c[0].setConstant(0.8);
  const Eigen::MatrixXd labels = teacher.predict(atoms);
  const double mean = labels.mean();
  const double sd = std::sqrt((labels.array() - mean).square().mean());
  ASSERT_GT(sd, 0.1);

  NetworkOptions o;
  o.depth = 1;
  o.width = 12;
  o.power = 2;
  o.linear_skip = false;
  o.learning_rate = 3e-3;
  o.weight_decay = 0;
  o.epochs = 600;
  o.patience = 600;
  o.batch_molecules = 32;
  o.seed = 3;
  const NetworkFit fit = train_atomic_network(atoms, labels, {sd}, o);
  NetworkOptions linear = o;
  linear.depth = 0;
  linear.epochs = 200;
  const NetworkFit lin = train_atomic_network(atoms, labels, {sd}, linear);
  const double best_val = fit.validation_loss[fit.best_epoch - 1];
  const double lin_val = lin.validation_loss[lin.best_epoch - 1];
  EXPECT_LT(best_val, 1e-3) << "nonlinear fit: validation MSE / sd^2";
  EXPECT_GT(lin_val, 0.05) << "the linear model should not fit a square network";
  EXPECT_LT(network_loss(fit.network, atoms, labels, {sd}, 0.0), 1e-3);
  EXPECT_EQ(fit.network.multiplicative_depth(), 3u);
}

NetworkFit small_fit(unsigned threads, std::uint64_t seed) {
  core::set_thread_count(threads);
  const auto atoms = random_atomic_features(300, 6, 60, {1, 6, 8}, 12);
  AtomicNetwork teacher = random_network(6, 2, {1, 6, 8}, 1, 4, 2, true, 61);
  const Eigen::MatrixXd labels = teacher.predict(atoms);
  NetworkOptions o;
  o.depth = 2;
  o.width = 8;
  o.epochs = 8;
  o.batch_molecules = 16;
  o.seed = seed;
  NetworkFit fit = train_atomic_network(atoms, labels, {1.0, 2.0}, o);
  core::set_thread_count(0);
  return fit;
}

bool same_weights(const AtomicNetwork& a, const AtomicNetwork& b) {
  if (a.networks.size() != b.networks.size()) return false;
  for (std::size_t k = 0; k < a.networks.size(); ++k) {
    std::vector<std::pair<const double*, std::size_t>> x, y;
    a.networks[k].for_each_block([&](const char*, const double* p, std::size_t n, bool) { x.emplace_back(p, n); });
    b.networks[k].for_each_block([&](const char*, const double* p, std::size_t n, bool) { y.emplace_back(p, n); });
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i].second != y[i].second || std::memcmp(x[i].first, y[i].first, 8 * x[i].second) != 0) return false;
    }
  }
  return true;
}

TEST(NetworkTraining, BitIdenticalForAnyThreadCountAndSeeded) {
  const NetworkFit one = small_fit(1, 7), two = small_fit(2, 7), three = small_fit(3, 7), other = small_fit(2, 8);
  EXPECT_TRUE(same_weights(one.network, two.network));
  EXPECT_TRUE(same_weights(one.network, three.network));
  EXPECT_EQ(one.train_loss, two.train_loss);
  EXPECT_EQ(one.best_epoch, two.best_epoch);
  EXPECT_FALSE(same_weights(one.network, other.network));
  // Training improved on the ridge start.
  ASSERT_EQ(one.validation_loss.size(), 8u);
  EXPECT_LT(one.validation_loss.back(), one.validation_loss.front());
}

TEST(NetworkTraining, RejectsBadInput) {
  const auto atoms = random_atomic_features(20, 3, 70, {1, 6}, 4);
  const Eigen::MatrixXd labels = Eigen::MatrixXd::Ones(20, 1);
  NetworkOptions o;
  o.epochs = 2;
  EXPECT_THROW((void)train_atomic_network(atoms, Eigen::MatrixXd::Ones(19, 1), {1.0}, o), ParameterError);
  EXPECT_THROW((void)train_atomic_network(atoms, labels, {1.0, 1.0}, o), ParameterError);
  EXPECT_THROW((void)train_atomic_network(atoms, labels, {0.0}, o), ParameterError);
  Eigen::MatrixXd nan_labels = labels;
  nan_labels(4, 0) = std::nan("");
  try {
    (void)train_atomic_network(atoms, nan_labels, {1.0}, o);
    FAIL() << "accepted a NaN label";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("molecule 5"), std::string::npos) << e.what();
  }
  o.power = 5;
  EXPECT_THROW((void)train_atomic_network(atoms, labels, {1.0}, o), ParameterError);
}

TEST(NetworkTraining, WithoutValidationKeepsTheBestTrainingEpoch) {
  const auto atoms = random_atomic_features(60, 4, 80, {1, 6}, 5);
  const Eigen::MatrixXd labels = random_network(4, 1, {1, 6}, 1, 3, 2, false, 81).predict(atoms);
  NetworkOptions o;
  o.depth = 1;
  o.width = 6;
  o.epochs = 20;
  o.validation_fraction = 0;
  const NetworkFit fit = train_atomic_network(atoms, labels, {1.0}, o);
  ASSERT_EQ(fit.train_loss.size(), 20u);
  for (double v : fit.validation_loss) EXPECT_TRUE(std::isnan(v));
  ASSERT_GE(fit.best_epoch, 1u);
  const double best = fit.train_loss[fit.best_epoch - 1];
  for (double v : fit.train_loss) EXPECT_GE(v, best);
}

}  // namespace
}  // namespace encmol::ml
