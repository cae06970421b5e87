// The plaintext-folded form of an AtomicNetwork, which an encrypted
// evaluation uses (atomic_network.hpp, "Encrypted evaluation"): per element,
// stage l = 0..L-1 computes u_{l+1} and stage L the outputs y, each as
//
//   stage_l = input[l] x + sum_{k<l} mix[l][k] q_k + bias[l],   q_k = u_k^p,
//
// on the raw atom vector x. The standardization, W0, the block scales c_k
// and V are folded into input, mix and bias:
//
//   P = W0 diag(1/scale), p0 = b0 - P mean,
//   input[l] = W_{l+1} P,  mix[l][k] = W_{l+1} diag(c_k),  bias[l] = W_{l+1} p0 + b_{l+1},
//   input[L] = V P + S diag(1/scale),  mix[L][k] = V diag(c_k),
//   bias[L] = V p0 + beta - S diag(1/scale) mean.
//
// Each stage is one plaintext-matrix product (one level) of ciphertexts that
// are all at level <= l (1 + ceil(log2 p)), which gives
// AtomicNetwork::multiplicative_depth().
#pragma once

#include <vector>

#include <Eigen/Core>

#include "encmol/ml/atomic_network.hpp"

namespace encmol::ml {

struct FoldedElementNetwork {
  int element = 0;
  std::vector<Eigen::MatrixXd> input;             // L + 1: rows x d (w rows, then targets rows)
  std::vector<std::vector<Eigen::MatrixXd>> mix;  // L + 1: mix[l] has l matrices rows x w
  std::vector<Eigen::VectorXd> bias;              // L + 1
};

struct FoldedNetwork {
  int power = 2;
  std::vector<FoldedElementNetwork> networks;  // ascending element, as in the network

  /// One atom's outputs (targets) through the folded stages; equal to the
  /// network's up to rounding. ParameterError for an unknown element.
  Eigen::VectorXd evaluate_atom(int element, const Eigen::VectorXd& x) const;
};

FoldedNetwork fold(const AtomicNetwork& network);

}  // namespace encmol::ml
