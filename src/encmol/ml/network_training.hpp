// Training of HE-friendly atomic networks (atomic_network.hpp) in C++ with a
// hand-written backward pass (network_pass.hpp) and Adam.
//
// Loss: mean over molecules and targets of ((sum of atom outputs - label) /
// label_scale)^2, plus weight_decay * (sum of squares of every weight matrix:
// W0, the block weights, V and the linear skip; biases and scales are not
// decayed).
//
// Procedure (train_atomic_network):
//  1. A seeded split (split.hpp, options.seed) holds back
//     validation_fraction of the molecules for early stopping.
//  2. Standardization per element from all given atoms of that element
//     (scale = standard deviation, floored at 1% of the element's RMS
//     standard deviation so nearly constant features are not blown up).
//  3. Initialisation (ridge_init, the default): W0's rows are the element's
//     leading principal directions, whitened, so h_0 starts as decorrelated
//     unit-variance inputs (random rows beyond the input rank); block weights
//     are random N(0, 1/w), biases 0, scales c = 0.1 (a near-linear start);
//     then V and beta are the ridge fit of the labels on the molecule sums of
//     the initial h_L (ridge lambda picked on the validation molecules), and
//     the skip S starts at 0. The network thus starts as the best linear
//     model in its initial features. Without ridge_init, W0 is N(0, 1/d) and
//     V is N(0, 0.01/w), beta 0.
//  4. Adam (beta1 0.9, beta2 0.999, eps 1e-8) on minibatches of
//     batch_molecules molecules in a fresh seeded order every epoch.
//  5. After every epoch, the validation loss; the weights with the lowest
//     one are kept. Learning rate schedule: halved after max(1, patience / 4)
//     epochs without a new best (at most once per such stretch), and
//     training stops after `patience` epochs without one. Without validation
//     molecules the epoch's mean training loss takes its place. A
//     non-finite loss stops training with the best weights so far.
//
// Determinism: all randomness is std::mt19937_64 from options.seed with our
// own normal sampler; the work is chunked by data (network_pass.hpp) and
// every reduction runs in a fixed order, so a seed gives bit-identical
// networks for any thread count.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/ml/atomic_network.hpp"

namespace encmol::ml {

struct NetworkFit {
  AtomicNetwork network;
  std::vector<double> train_loss, validation_loss;  // per epoch run
  std::size_t best_epoch = 0;                       // 1-based epoch of the kept weights (0: initial)
  double best_loss = 0.0;  // validation loss of the kept weights (without validation: their epoch's training loss)
  double seconds = 0.0;
  std::string stop_reason;  // "epochs", "no better validation loss for N epochs", "diverged ..."
  std::vector<std::size_t> validation;              // molecules held back for early stopping (ascending)
};

/// Trains a network on the molecules of `atoms` (see the top of the file).
/// `residual_labels`: molecules x targets (labels minus the baseline);
/// `label_scale`: per target, > 0. Throws ParameterError for bad options or
/// sizes, InputError for non-finite labels.
NetworkFit train_atomic_network(const chem::AtomicFeatures& atoms, const Eigen::MatrixXd& residual_labels,
                                const std::vector<double>& label_scale, const NetworkOptions& options);

/// The training loss of `network` on all molecules of `atoms` (data term plus
/// weight decay) and, when `gradient` is given, its gradient (one
/// ElementNetwork per network, same shapes). For tests and diagnostics.
double network_loss(const AtomicNetwork& network, const chem::AtomicFeatures& atoms,
                    const Eigen::MatrixXd& residual_labels, const std::vector<double>& label_scale,
                    double weight_decay, std::vector<ElementNetwork>* gradient = nullptr);

/// A network of the options' shape for `atoms` with standardization and
/// random weights only (step 2 and the random part of step 3), for tests.
AtomicNetwork initial_network(const chem::AtomicFeatures& atoms, std::size_t targets, const NetworkOptions& options);

}  // namespace encmol::ml
