// Local (atomic) kernel ridge regression:
//
//   correction(M) = sum_i alpha(i, :) * K(M, M_i),
//   K(M, M') = sum_{a in M} sum_{b in M', Z_a = Z_b} exp(-|x_a - x_b|^2 / (2 sigma^2))
//
// over per-atom vectors x (FCHL19-type; local_kernel.hpp). The stored
// training atoms are the model's support: like global KRR, the model file
// contains its training molecules' environments.
#pragma once

#include <string>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::ml {

struct LocalKrr {
  double sigma = 1.0;
  double lambda = 0.0;
  chem::AtomicFeatures training_atoms;  // one stack per training molecule
  Eigen::MatrixXd alpha;                // molecules x targets

  std::size_t training_size() const { return static_cast<std::size_t>(alpha.rows()); }
  Eigen::VectorXd sum_abs_alpha() const;

  /// Model part of the predictions for the molecules of `atoms`.
  Eigen::MatrixXd predict(const chem::AtomicFeatures& atoms) const;

  /// Throws ParameterError unless sizes agree with `atom_dimension`,
  /// `targets` and `elements` (every training atom's element), values finite.
  void validate(std::size_t atom_dimension, std::size_t targets, const std::vector<int>& elements) const;

  std::string describe() const;
  nlohmann::json describe_json() const;

  void write(core::ByteWriter& out) const;
  static LocalKrr read(core::ByteReader& in, std::size_t atom_dimension, std::size_t targets);
};

/// Stacked atomic vectors in model files: u64 molecules, u64 atoms,
/// (molecules + 1) x u64 offsets, atoms x u32 Z, atoms x d f64 values.
void write_atomic_features(core::ByteWriter& out, const chem::AtomicFeatures& f);
chem::AtomicFeatures read_atomic_features(core::ByteReader& in, std::size_t dimension, const char* what);

}  // namespace encmol::ml
