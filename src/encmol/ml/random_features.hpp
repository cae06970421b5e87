// Random-feature models of the elemental local Gaussian kernel:
//
//   correction(M) = sum_{a in M} w_{Z_a} . phi_{Z_a}(P x_a) = Phi(M) . w
//
// (random_feature_map.hpp for phi and Phi), weights fitted by ridge
// regression in feature space (random_feature_training.hpp). The model holds
// no training molecule: its map is (seed, sizes, sigma, PCA projections) and
// its weights one D x targets matrix, so an encrypted evaluation can either
// let the client compute Phi(M) itself ("public features") or apply P, W and
// cos to the client's encrypted atom vectors ("private features").
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"
#include "encmol/ml/random_feature_map.hpp"

namespace encmol::ml {

struct RandomFeatureModel {
  RandomFeatureMap map;
  double lambda = 0.0;
  Eigen::MatrixXd weights;  // map.feature_count() x targets, rows in the map's element blocks

  /// Molecules x map.feature_count() (RandomFeatureMap::features).
  Eigen::MatrixXd features(const chem::AtomicFeatures& atoms) const { return map.features(atoms); }
  /// Model part of the predictions (molecules x targets). InputError naming
  /// the atom and element when an element has no features.
  Eigen::MatrixXd predict(const chem::AtomicFeatures& atoms) const;

  /// sum_j |w(j, t)| per target: an error eps in every feature of an encrypted
  /// evaluation moves the prediction by at most sum|w| * eps.
  Eigen::VectorXd sum_abs_weights() const;

  /// Throws ParameterError unless the map is consistent with `atom_dimension`,
  /// its elements are among `elements` (the representation's), the weights
  /// have one row per feature and one column per target, all finite.
  void validate(std::size_t atom_dimension, std::size_t targets,
                const std::vector<int>& elements) const;

  std::string describe() const;
  nlohmann::json describe_json() const;

  /// Map (RandomFeatureMap::write), lambda, weights (row-major f64).
  void write(core::ByteWriter& out) const;
  /// Bounded, finite, and the map regenerated and checked against its digest;
  /// FormatError via `in` otherwise.
  static RandomFeatureModel read(core::ByteReader& in, std::size_t atom_dimension,
                                 std::size_t targets);
};

}  // namespace encmol::ml
