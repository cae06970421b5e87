// Local (atomic) kernel ridge regression:
//
//   correction(M) = sum_i alpha(i, :) * K(M, M_i),
//   K(M, M') = sum_{a in M} sum_{b in M', Z_a = Z_b} k(x_a, x_b),
//   k(x, y)  = sum_blocks w_j exp(-|x_j - y_j|^2 / (2 sigma_j^2))
//
// where x_j are consecutive column blocks of the atom vector (one block = the
// whole vector, w = 1; fchl19+cmbdf: an FCHL19 and a cMBDF block, so the
// kernel sums one Gaussian per representation, each with its own width)
// over per-atom vectors x (FCHL19-type; local_kernel.hpp). The stored
// training atoms are the model's support: like global KRR, the model file
// contains its training molecules' environments.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::ml {

struct LocalKrr {
  struct Block {
    std::size_t begin = 0, end = 0;  // columns [begin, end) of the atom vector
    double sigma = 1.0;
    double weight = 1.0;
    bool operator==(const Block&) const = default;
  };
  std::vector<Block> blocks;  // consecutive, covering the atom vector
  double lambda = 0.0;
  chem::AtomicFeatures training_atoms;  // one stack per training molecule
  Eigen::MatrixXd alpha;                // molecules x targets

  std::size_t training_size() const { return static_cast<std::size_t>(alpha.rows()); }
  Eigen::VectorXd sum_abs_alpha() const;

  /// Model part of the predictions for the molecules of `atoms`.
  Eigen::MatrixXd predict(const chem::AtomicFeatures& atoms) const;

  /// Throws ParameterError unless sizes agree with `atom_dimension`,
  /// `targets` and `elements` (every training atom's element), values finite.
  void validate(std::size_t atom_dimension, std::size_t targets,
                const std::vector<int>& elements) const;

  std::string describe() const;
  nlohmann::json describe_json() const;

  void write(core::ByteWriter& out) const;
  /// Format 2 stored one sigma (one block); format 3 the blocks.
  static LocalKrr read(core::ByteReader& in, std::size_t atom_dimension, std::size_t targets,
                       std::uint32_t format_version);
};

/// Sum over `blocks` of weight * the local Gaussian Gram matrix of that block
/// between the molecules of `x` (rows) and `y` (columns); symmetric when
/// `y` is null (x against itself).
Eigen::MatrixXd local_block_gram(const chem::AtomicFeatures& x, const chem::AtomicFeatures* y,
                                 std::span<const LocalKrr::Block> blocks);

/// Stacked atomic vectors in model files: u64 molecules, u64 atoms,
/// (molecules + 1) x u64 offsets, atoms x u32 Z, atoms x d f64 values.
void write_atomic_features(core::ByteWriter& out, const chem::AtomicFeatures& f);
chem::AtomicFeatures read_atomic_features(core::ByteReader& in, std::size_t dimension,
                                          const char* what);

}  // namespace encmol::ml
