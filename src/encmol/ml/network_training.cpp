#include "encmol/ml/network_training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/linalg.hpp"
#include "encmol/ml/network_batch.hpp"
#include "encmol/ml/network_init.hpp"
#include "encmol/ml/split.hpp"

namespace encmol::ml {
namespace {

constexpr double kAdamBeta1 = 0.9, kAdamBeta2 = 0.999, kAdamEpsilon = 1e-8;

Eigen::RowVectorXd checked_inverse_scale(const chem::AtomicFeatures& atoms, const Eigen::MatrixXd& labels,
                                         const std::vector<double>& label_scale) {
  if (labels.rows() != static_cast<Eigen::Index>(atoms.molecule_count())) {
    throw ParameterError("network training: " + std::to_string(labels.rows()) + " label rows for " +
                         std::to_string(atoms.molecule_count()) + " molecules");
  }
  if (labels.cols() < 1 || labels.cols() > static_cast<Eigen::Index>(kMaxNetworkTargets)) {
    throw ParameterError("network training needs 1.." + std::to_string(kMaxNetworkTargets) + " targets");
  }
  if (label_scale.size() != static_cast<std::size_t>(labels.cols())) {
    throw ParameterError("network training: one label scale per target needed");
  }
  Eigen::RowVectorXd inv(labels.cols());
  for (std::size_t t = 0; t < label_scale.size(); ++t) {
    if (!std::isfinite(label_scale[t]) || !(label_scale[t] > 0)) {
      throw ParameterError("network training: label scale of target " + std::to_string(t + 1) + " is not finite and > 0");
    }
    inv(static_cast<Eigen::Index>(t)) = 1.0 / label_scale[t];
  }
  for (Eigen::Index i = 0; i < labels.rows(); ++i) {
    if (!labels.row(i).allFinite()) {
      throw InputError("network training: molecule " + std::to_string(i + 1) + " has a non-finite label");
    }
  }
  return inv;
}

// weight_decay * sum of squared weight matrices, and its gradient added to `gradient`.
double decay_term(const AtomicNetwork& network, double weight_decay, std::vector<ElementNetwork>* gradient) {
  double sum = 0.0;
  for (std::size_t k = 0; k < network.networks.size(); ++k) {
    std::vector<double*> g;
    if (gradient != nullptr) (*gradient)[k].for_each_block([&](const char*, double* p, std::size_t, bool) { g.push_back(p); });
    std::size_t block = 0;
    network.networks[k].for_each_block([&](const char*, const double* p, std::size_t n, bool decayed) {
      double* gb = gradient != nullptr ? g[block] : nullptr;
      ++block;
      if (!decayed) return;
      for (std::size_t i = 0; i < n; ++i) {
        sum += p[i] * p[i];
        if (gb != nullptr) gb[i] += 2.0 * weight_decay * p[i];
      }
    });
  }
  return weight_decay * sum;
}

// Adam moments of every trainable value, per network in for_each_block order.
class Adam {
 public:
  explicit Adam(const AtomicNetwork& network) {
    for (const auto& e : network.networks) {
      std::size_t n = 0;
      e.for_each_block([&](const char*, const double*, std::size_t size, bool) { n += size; });
      m_.emplace_back(n, 0.0);
      v_.emplace_back(n, 0.0);
    }
  }

  void step(AtomicNetwork& network, const std::vector<ElementNetwork>& gradient, double learning_rate,
            double weight_decay) {
    ++t_;
    const double rate = learning_rate * std::sqrt(1.0 - std::pow(kAdamBeta2, static_cast<double>(t_))) /
                        (1.0 - std::pow(kAdamBeta1, static_cast<double>(t_)));
    core::parallel_for(network.networks.size(), [&](std::size_t k) {
      std::vector<const double*> g;
      gradient[k].for_each_block([&](const char*, const double* p, std::size_t, bool) { g.push_back(p); });
      std::size_t block = 0, offset = 0;
      network.networks[k].for_each_block([&](const char*, double* p, std::size_t n, bool decayed) {
        const double* gb = g[block++];
        double* m = m_[k].data() + offset;
        double* v = v_[k].data() + offset;
        for (std::size_t i = 0; i < n; ++i) {
          const double gi = gb[i] + (decayed ? 2.0 * weight_decay * p[i] : 0.0);
          m[i] = kAdamBeta1 * m[i] + (1.0 - kAdamBeta1) * gi;
          v[i] = kAdamBeta2 * v[i] + (1.0 - kAdamBeta2) * gi * gi;
          p[i] -= rate * m[i] / (std::sqrt(v[i]) + kAdamEpsilon);
        }
        offset += n;
      });
    });
  }

 private:
  std::vector<std::vector<double>> m_, v_;
  std::uint64_t t_ = 0;
};

}  // namespace

double network_loss(const AtomicNetwork& network, const chem::AtomicFeatures& atoms, const Eigen::MatrixXd& residual_labels,
                    const std::vector<double>& label_scale, double weight_decay, std::vector<ElementNetwork>* gradient) {
  const Eigen::RowVectorXd inv_scale = checked_inverse_scale(atoms, residual_labels, label_scale);
  if (static_cast<std::size_t>(residual_labels.cols()) != network.target_count()) {
    throw ParameterError("network_loss: the labels do not have one column per network target");
  }
  const NetworkData data = prepare_network_data(network, atoms);
  std::vector<std::size_t> all(atoms.molecule_count());
  std::iota(all.begin(), all.end(), std::size_t{0});
  SingleThreadedBlas single;
  BatchEvaluator evaluator;
  const double value = evaluator.loss(network, data, all, residual_labels, inv_scale, gradient);
  return value + decay_term(network, weight_decay, gradient);
}

NetworkFit train_atomic_network(const chem::AtomicFeatures& atoms, const Eigen::MatrixXd& residual_labels,
                                const std::vector<double>& label_scale, const NetworkOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  options.validate();
  atoms.validate();
  const Eigen::RowVectorXd inv_scale = checked_inverse_scale(atoms, residual_labels, label_scale);
  const std::size_t n = atoms.molecule_count();
  if (n < 2) throw InputError("network training needs at least 2 molecules, got " + std::to_string(n));

  std::vector<std::size_t> train, validation;
  if (options.validation_fraction > 0) {
    const auto wanted = static_cast<std::size_t>(std::llround(options.validation_fraction * static_cast<double>(n)));
    const std::size_t n_validation = std::min(n - 1, std::max<std::size_t>(1, wanted));
    Split split = random_split(n, n - n_validation, options.seed);
    train = std::move(split.train);
    validation = std::move(split.test);
  } else {
    train.resize(n);
    std::iota(train.begin(), train.end(), std::size_t{0});
  }

  NetworkFit fit;
  fit.validation = validation;
  std::sort(fit.validation.begin(), fit.validation.end());
  AtomicNetwork net = initial_network(atoms, static_cast<std::size_t>(residual_labels.cols()), options);
  SingleThreadedBlas single;
  BatchEvaluator evaluator;
  if (options.ridge_init) {
    // W0 only changes h, so the standardized inputs are computed once, before.
    const NetworkData data = prepare_network_data(net, atoms);
    principal_first_layer(net, data);
    ridge_output_layer(net, data, train, validation, residual_labels, inv_scale, evaluator);
  }
  const NetworkData data = prepare_network_data(net, atoms);
  auto validation_loss = [&] {
    return validation.empty() ? std::numeric_limits<double>::quiet_NaN()
                              : evaluator.loss(net, data, validation, residual_labels, inv_scale, nullptr);
  };

  Adam adam(net);
  AtomicNetwork best_net = net;
  double best = validation.empty() ? std::numeric_limits<double>::infinity() : validation_loss();
  fit.best_epoch = 0;
  double rate = options.learning_rate;
  const std::size_t plateau = std::max<std::size_t>(1, options.patience / 4);
  std::size_t since_best = 0, since_drop = 0;
  std::mt19937_64 order(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<ElementNetwork> gradient;
  std::vector<std::size_t> batch;
  fit.stop_reason = "epochs";
  for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const std::vector<std::size_t> perm = random_permutation(train.size(), order());
    double sum = 0.0;
    std::size_t batches = 0;
    bool finite = true;
    for (std::size_t b = 0; b < train.size() && finite; b += options.batch_molecules) {
      batch.clear();
      for (std::size_t i = b; i < std::min(train.size(), b + options.batch_molecules); ++i) batch.push_back(train[perm[i]]);
      const double value = evaluator.loss(net, data, batch, residual_labels, inv_scale, &gradient);
      finite = std::isfinite(value);
      if (finite) adam.step(net, gradient, rate, options.weight_decay);
      sum += value;
      ++batches;
    }
    const double train_loss = sum / static_cast<double>(batches);
    const double val = validation_loss();
    if (!std::isfinite(train_loss) || (!validation.empty() && !std::isfinite(val))) {
      fit.stop_reason = "diverged (non-finite loss) in epoch " + std::to_string(epoch) + "; kept the best weights";
      break;
    }
    fit.train_loss.push_back(train_loss);
    fit.validation_loss.push_back(val);
    const double monitored = validation.empty() ? train_loss : val;
    if (monitored < best) {
      best = monitored;
      fit.best_epoch = epoch;
      since_best = since_drop = 0;
      best_net = net;
    } else {
      ++since_best;
      if (++since_drop >= plateau) {
        rate *= 0.5;
        since_drop = 0;
      }
    }
    if (options.progress) options.progress(epoch, options.epochs, train_loss, val);
    if (since_best >= options.patience) {
      fit.stop_reason = "no better validation loss for " + std::to_string(options.patience) + " epochs";
      break;
    }
  }
  fit.network = std::move(best_net);
  fit.best_loss = best;
  fit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return fit;
}

}  // namespace encmol::ml
