// Global kernel ridge regression: one fixed-length vector per molecule.
//
//   correction(m) = sum_i alpha(i, :) * k(x(m), x_i)
//
// x(m) = representation.featurize(m); x_i are the stored training vectors
// (exactly, in double precision). This is the family the encrypted pipeline
// (secure layer) evaluates today, and the one the privacy audit inverts: the
// stored x_i *are* the training molecules for a sorted Coulomb matrix.
#pragma once

#include <string>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "encmol/chem/representation.hpp"
#include "encmol/core/binary.hpp"
#include "encmol/ml/kernels.hpp"

namespace encmol::ml {

struct GlobalKrr {
  Kernel kernel;
  double lambda = 0.0;
  chem::FeatureMatrix training_features;  // n x dimension
  Eigen::MatrixXd alpha;                  // n x targets

  std::size_t training_size() const { return static_cast<std::size_t>(alpha.rows()); }

  /// sum_i |alpha(i, t)| for each target t: with the kernel approximation error
  /// eps of an encrypted evaluation, the prediction error is at most
  /// sum|alpha| * eps (ANCHORS.md §4), so this sizes encrypted error budgets.
  Eigen::VectorXd sum_abs_alpha() const;

  /// Model part of the predictions (no baseline): features x targets.
  Eigen::MatrixXd predict(const chem::FeatureMatrix& features) const;

  /// Throws ParameterError unless sizes agree with `dimension` and `targets`
  /// and every value is finite.
  void validate(std::size_t dimension, std::size_t targets) const;

  /// Family-specific lines for `encmol info` and its JSON.
  std::string describe() const;
  nlohmann::json describe_json() const;

  /// Body of a model file (see model_file.hpp); read() checks every size
  /// against `dimension` / `targets` before allocating.
  void write(core::ByteWriter& out) const;
  static GlobalKrr read(core::ByteReader& in, std::size_t dimension, std::size_t targets);
};

}  // namespace encmol::ml
