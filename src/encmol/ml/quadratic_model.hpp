// Quadratic atomic model: per element Z and target t,
//
//   correction(M)_t = sum_{a in M} c_{Z_a,t} + g_{Z_a,t} . x_a + x_a^T H_{Z_a,t} x_a
//
// over per-atom vectors x (FCHL19 / cMBDF). It is the one-hidden-layer
// network with a square activation in closed form, and the simplest model
// CKKS evaluates exactly (depth 2: one plaintext matrix product, one
// ciphertext product). It is fitted as kernel ridge regression with the local
// polynomial kernel (coef0 + x . y / scale)^2 (local_kernel.hpp) -- ridge
// regression in the quadratic feature space, solved in its n x n dual form --
// and the dual weights alpha are then folded into the primal c, g, H:
//
//   c_Z = coef0^2 sum_i alpha_i n_{i,Z},   g_Z = (2 coef0 / scale) sum_i alpha_i sum_{b in i, Z_b =
//   Z} x_b, H_Z = (1 / scale^2) sum_i alpha_i sum_{b in i, Z_b = Z} x_b x_b^T.
//
// The model file keeps only c, g, H: no training molecule is stored.
#pragma once

#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"
#include "encmol/ml/network_fold.hpp"

namespace encmol::ml {

struct QuadraticAtomicModel {
  struct ElementTerms {
    int z = 0;
    Eigen::RowVectorXd constant;             // targets
    Eigen::MatrixXd linear;                  // d x targets
    std::vector<Eigen::MatrixXd> quadratic;  // per target, d x d symmetric
  };
  double coef0 = 1.0, scale = 1.0, lambda = 0.0;  // how it was fitted (for `info`)
  std::vector<ElementTerms> elements;             // ascending Z

  /// Folds dual weights (molecules x targets) of the local polynomial kernel
  /// (coef0 + x.y/scale)^2 on `training` into the primal terms.
  static QuadraticAtomicModel from_dual(const chem::AtomicFeatures& training,
                                        const Eigen::MatrixXd& alpha, double coef0, double scale,
                                        double lambda);

  /// Model part of the predictions (molecules x targets). An atom of an
  /// element the model has no terms for contributes nothing (the
  /// representation spec refuses unknown elements before this).
  Eigen::MatrixXd predict(const chem::AtomicFeatures& atoms) const;

  /// The same function as a one-hidden-layer square network (what the
  /// encrypted evaluation runs): per target, H = V diag(lambda) V^T gives
  /// x^T H x = sum_i lambda_i (v_i . x)^2, so input[0] stacks every target's
  /// V^T (targets x d rows), mix[1][0] holds the lambdas, input[1] = g^T and
  /// bias[1] = c. Exact up to the eigensolver's rounding.
  FoldedNetwork folded() const;

  std::size_t targets() const {
    return elements.empty() ? 0 : static_cast<std::size_t>(elements.front().constant.size());
  }
  void validate(std::size_t atom_dimension, std::size_t targets,
                const std::vector<int>& spec_elements) const;
  std::string describe() const;
  nlohmann::json describe_json() const;
  /// H is stored as its upper triangle (it is symmetric by construction).
  void write(core::ByteWriter& out) const;
  static QuadraticAtomicModel read(core::ByteReader& in, std::size_t atom_dimension,
                                   std::size_t targets);
};

}  // namespace encmol::ml
