// Minibatch evaluation for network training: the standardized inputs of every
// training atom grouped by element, and the loss, gradient and molecule sums
// of a batch of molecules (chunked as in network_pass.hpp, so bit-identical
// for any thread count). Internal to network_training / network_init.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/ml/atomic_network.hpp"
#include "encmol/ml/network_pass.hpp"

namespace encmol::ml {

struct NetworkData {
  std::vector<Eigen::MatrixXd> z;  // per network: d x (its atoms), standardized by that network
  /// Per molecule: (network, column of z[network]) of each atom.
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> atoms;

  std::size_t molecule_count() const { return atoms.size(); }
};

/// Groups and standardizes the atoms of `features` with `network`'s
/// standardization. Throws InputError naming an element without a network.
NetworkData prepare_network_data(const AtomicNetwork& network, const chem::AtomicFeatures& features);

/// Zero gradient with the shapes of `net`.
ElementNetwork zero_like(const ElementNetwork& net);

class BatchEvaluator {
 public:
  /// Data part of the loss over the molecules `batch`: mean over molecules
  /// and targets of ((sum of atom outputs - label) * inv_scale)^2. With
  /// `gradient`, also its gradient (one per network; zero for networks
  /// without atoms in the batch). Runs single-threaded BLAS inside
  /// core::parallel_for; the caller holds a SingleThreadedBlas.
  double loss(const AtomicNetwork& network, const NetworkData& data, const std::vector<std::size_t>& batch,
              const Eigen::MatrixXd& labels, const Eigen::RowVectorXd& inv_scale,
              std::vector<ElementNetwork>* gradient);

  /// Per molecule of `batch` (rows), the sums over its atoms of [h_L, 1] of
  /// each network, network blocks side by side: batch x networks (w + 1).
  Eigen::MatrixXd hidden_sums(const AtomicNetwork& network, const NetworkData& data,
                              const std::vector<std::size_t>& batch);

 private:
  void forward_batch(const AtomicNetwork& network, const NetworkData& data, const std::vector<std::size_t>& batch);

  std::vector<std::vector<std::uint32_t>> columns_, slots_;  // per network: z column and batch slot per atom
  std::vector<AtomChunk> chunks_;
  std::vector<BlockPass> passes_;
  std::vector<ElementNetwork> partial_;
};

}  // namespace encmol::ml
