// Forward and backward passes of one element's network over a block of its
// atoms (columns), with BLAS matrix products, and the chunked evaluation of
// whole stacks of molecules. Shared by AtomicNetwork::predict and training.
//
// Determinism: work is split into chunks of at most kNetworkChunkAtoms atoms
// of one element, fixed by the data alone; each chunk's products run on one
// thread with single-threaded BLAS, and chunk results are combined in chunk
// order. Results are therefore bit-identical for any thread count.
#pragma once

#include <cstddef>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/ml/atomic_network.hpp"

namespace encmol::ml {

inline constexpr std::size_t kNetworkChunkAtoms = 256;

/// Activations of one block of atoms (n columns).
struct BlockPass {
  Eigen::MatrixXd z;               // d x n standardized inputs
  std::vector<Eigen::MatrixXd> h;  // L + 1 matrices w x n: h_0 .. h_L
  std::vector<Eigen::MatrixXd> u;  // L matrices w x n: pre-activations of the blocks
  Eigen::MatrixXd out;             // targets x n
};

/// z = (x - mean) / scale for the atoms row_index[begin, end) of the
/// row-major atoms x d matrix `x`, one column each.
void standardize_rows_into(const ElementNetwork& net, const chem::AtomicFeatures::Matrix& x,
                           const std::vector<std::size_t>& row_index, std::size_t begin, std::size_t end,
                           Eigen::MatrixXd& z);

/// Fills pass.h, pass.u and pass.out from pass.z (BLAS's current threads).
void forward(const ElementNetwork& net, int power, BlockPass& pass);

/// Gradient of sum(d_out ⊙ out) with respect to every trainable block of
/// `net`, written into `grad` (resized to net's shapes; standardization is
/// copied, not differentiated).
void backward(const ElementNetwork& net, int power, const BlockPass& pass, const Eigen::MatrixXd& d_out,
              ElementNetwork& grad);

/// A chunk of atoms of one element: rows `rows[begin, end)` of a stack.
struct AtomChunk {
  std::size_t network = 0;  // index into AtomicNetwork::networks
  std::size_t begin = 0, end = 0;
};

/// Rows of `charges` grouped by network (ascending row within each), and the
/// chunks covering them. Throws InputError naming the element (and the
/// molecule, via `offsets`) of an atom without a network.
struct AtomGroups {
  std::vector<std::vector<std::size_t>> rows;  // per network
  std::vector<AtomChunk> chunks;
};
AtomGroups group_atoms(const AtomicNetwork& network, const std::vector<int>& charges,
                       const std::vector<std::size_t>& offsets);

}  // namespace encmol::ml
