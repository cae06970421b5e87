// Initialisation steps of network training (network_training.hpp, steps 2-3).
// Internal to the ml layer.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <Eigen/Core>

#include "encmol/ml/atomic_network.hpp"
#include "encmol/ml/network_batch.hpp"

namespace encmol::ml {

/// Standard normal numbers from std::mt19937_64 by Box-Muller on our own
/// 53-bit uniforms (std::normal_distribution differs between libraries).
class NormalSampler {
 public:
  explicit NormalSampler(std::uint64_t seed) : rng_(seed) {}
  double operator()();
  std::mt19937_64& engine() { return rng_; }

 private:
  std::mt19937_64 rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// Whitened principal directions of each element's standardized atoms (at
/// most 20,000 of them, evenly strided) as the rows of W0, b0 = -W0 mean(z).
/// Rows beyond the numerical rank keep their random values.
void principal_first_layer(AtomicNetwork& network, const NetworkData& data);

/// V and beta of every network by ridge regression of the scaled labels of
/// `train` on the molecule sums of [h_L, 1] (the skip stays as it is); lambda
/// from a grid by the loss on `validation` (when not empty). Returns the
/// chosen lambda relative to the mean diagonal of the normal matrix.
double ridge_output_layer(AtomicNetwork& network, const NetworkData& data, const std::vector<std::size_t>& train,
                          const std::vector<std::size_t>& validation, const Eigen::MatrixXd& labels,
                          const Eigen::RowVectorXd& inv_scale, BatchEvaluator& evaluator);

}  // namespace encmol::ml
