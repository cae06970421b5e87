// HE-friendly atomic networks (the ReActHE idea: residual blocks whose
// activations are scaled low-degree powers, so CKKS evaluates them exactly,
// with no approximation error). For every element e a separate network maps
// an atom's representation x (d values) to one value per target:
//
//   z   = (x - mean_e) / scale_e                 (training atoms of e)
//   h_0 = W_0 z + b_0                            (width w)
//   h_l = h_{l-1} + c_l ⊙ (W_l h_{l-1} + b_l)^p  (l = 1..L; p = 2 or 3)
//   out = V h_L + beta_e [+ S z]                 (V: targets x w; S: linear skip)
//
// and a molecule's correction is the sum of its atoms' outputs (the baseline
// is handled outside). L = 0 is a linear atomic model.
//
// Encrypted evaluation and its multiplicative depth: every map above except
// the powers is linear (affine), and a linear map of linear maps is one
// linear map, so the plaintext side folds the standardization, W_0, the
// scales c_l and V together (network_fold.hpp). With q_l = u_l^p,
//
//   u_l = A_l x + sum_{k<l} B_{l,k} q_k + a_l,   y = O x + sum_k C_k q_k + o,
//
// each u_l and y is ONE plaintext-matrix product of ciphertexts (1 level),
// and q_l costs ceil(log2 p) levels (p = 2: one square; p = 3: u^2 then u^2 u).
// q_l therefore sits at level l (1 + ceil(log2 p)) and y one level above q_L:
//
//   multiplicative_depth = 1 + L (1 + ceil(log2 p))    (p = 2: 1 + 2L, p = 3: 1 + 3L)
//
// (The unfolded circuit — W_0, then per block W_l, the power and c_l, then V —
// would need 2 + L (2 + ceil(log2 p)).) The sum over atoms and beta are
// additions and rotations, which cost no level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::ml {

/// Largest depth, width and targets a network (or a model file) may have.
inline constexpr std::size_t kMaxNetworkDepth = 16;
inline constexpr std::size_t kMaxNetworkWidth = 4096;
inline constexpr std::size_t kMaxNetworkTargets = 1024;

/// Called once per epoch (1-based) with the mean training loss of the epoch's
/// minibatches and the validation loss (NaN without validation molecules),
/// both mean squared errors of label / label_scale.
using NetworkProgress =
    std::function<void(std::size_t epoch, std::size_t epochs, double train_loss, double validation_loss)>;

struct NetworkOptions {
  std::size_t depth = 2;  // residual power blocks L (0 = linear atomic model)
  std::size_t width = 64;
  int power = 2;          // 2 or 3
  double learning_rate = 1e-3;  // Adam step size at the start
  double weight_decay = 1e-6;   // L2 penalty on the weight matrices (not biases or scales)
  std::size_t epochs = 2000;    // at most
  std::size_t batch_molecules = 32;
  /// Stop after this many epochs without a better validation loss; the
  /// learning rate halves after patience / 4 such epochs (network_training.hpp).
  std::size_t patience = 200;
  double validation_fraction = 0.1;  // of the training molecules, for early stopping; 0 = none
  std::uint64_t seed = 42;
  bool linear_skip = true;  // out += S z
  /// Start from the principal directions and a ridge fit of the output layer
  /// (network_training.hpp) instead of random weights.
  bool ridge_init = true;
  NetworkProgress progress;

  /// Throws ParameterError naming the option that is out of range.
  void validate() const;
};

/// The network of one element. Matrices are column-major; atoms are columns.
struct ElementNetwork {
  int element = 0;              // nuclear charge
  Eigen::VectorXd mean, scale;  // d: standardization (scale > 0)
  Eigen::MatrixXd w0;           // w x d
  Eigen::VectorXd b0;           // w
  std::vector<Eigen::MatrixXd> w;  // L blocks, w x w
  std::vector<Eigen::VectorXd> b, c;  // L blocks, w each
  Eigen::MatrixXd v;            // targets x w
  Eigen::VectorXd beta;         // targets
  Eigen::MatrixXd skip;         // targets x d, or 0 x 0 without the linear skip

  /// Calls f(name, data, size, decayed) for every trainable block in a fixed
  /// order: w0, b0, then per block w, b, c, then v, beta, skip. `decayed`
  /// marks the weight matrices that weight decay applies to.
  template <typename F>
  void for_each_block(F&& f);
  template <typename F>
  void for_each_block(F&& f) const;
};

struct AtomicNetwork {
  std::size_t depth = 0, width = 0;
  int power = 2;
  bool linear_skip = false;
  std::vector<ElementNetwork> networks;  // ascending element

  std::size_t atom_dimension() const { return networks.empty() ? 0 : static_cast<std::size_t>(networks[0].mean.size()); }
  std::size_t target_count() const { return networks.empty() ? 0 : static_cast<std::size_t>(networks[0].beta.size()); }
  std::vector<int> elements() const;
  /// Index into networks of element z, or -1.
  int find(int z) const;

  /// Model part of the predictions for the molecules of `atoms` (molecules x
  /// targets). Bit-identical for any thread count. Throws InputError naming
  /// the element when an atom's element has no network, ParameterError when
  /// the atoms' dimension is not the network's.
  Eigen::MatrixXd predict(const chem::AtomicFeatures& atoms) const;

  /// Throws ParameterError unless every size agrees with depth, width, power,
  /// `atom_dimension` and `targets`, every network's element is one of
  /// `elements` (ascending, no repeats), scales are > 0 and all values finite.
  void validate(std::size_t atom_dimension, std::size_t targets, const std::vector<int>& elements) const;

  /// Multiplicative depth of the folded encrypted evaluation (top of file).
  std::size_t multiplicative_depth() const;
  /// Trainable values over all elements (standardization excluded).
  std::size_t parameter_count() const;

  std::string describe() const;
  nlohmann::json describe_json() const;

  /// u32 depth, u32 width, u32 power, u8 skip, u64 networks, then per network
  /// u32 Z, mean, scale, w0, b0, per block (w, b, c), v, beta, [skip]: f64
  /// row-major.
  void write(core::ByteWriter& out) const;
  /// Reads and validates the layout written by write(); counts are bounded
  /// before anything is allocated. FormatError (via `in`) when malformed.
  static AtomicNetwork read(core::ByteReader& in, std::size_t atom_dimension, std::size_t targets);
};

template <typename F>
void ElementNetwork::for_each_block(F&& f) {
  f("w0", w0.data(), static_cast<std::size_t>(w0.size()), true);
  f("b0", b0.data(), static_cast<std::size_t>(b0.size()), false);
  for (std::size_t l = 0; l < w.size(); ++l) {
    f("w", w[l].data(), static_cast<std::size_t>(w[l].size()), true);
    f("b", b[l].data(), static_cast<std::size_t>(b[l].size()), false);
    f("c", c[l].data(), static_cast<std::size_t>(c[l].size()), false);
  }
  f("v", v.data(), static_cast<std::size_t>(v.size()), true);
  f("beta", beta.data(), static_cast<std::size_t>(beta.size()), false);
  if (skip.size() > 0) f("skip", skip.data(), static_cast<std::size_t>(skip.size()), true);
}

template <typename F>
void ElementNetwork::for_each_block(F&& f) const {
  const_cast<ElementNetwork*>(this)->for_each_block(
      [&](const char* name, double* data, std::size_t n, bool decayed) { f(name, static_cast<const double*>(data), n, decayed); });
}

}  // namespace encmol::ml
