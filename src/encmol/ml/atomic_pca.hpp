// Per-element principal-component projection of atomic vectors.
//
// FCHL19-type vectors have 720 values per atom, but the atoms of one element
// span far fewer directions (most three-body channels of rare element pairs
// are zero, the rest are strongly correlated). Projecting each element's
// atoms onto the leading eigenvectors of that element's covariance keeps
// distances between same-element atoms -- all a local kernel, a quadratic
// model or a network sees -- up to the discarded variance, and makes every
// atom-pair operation proportionally cheaper (and an encrypted evaluation
// smaller). Fitted on training atoms only (no labels); the model stores it and
// applies it to every molecule it predicts.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::ml {

struct AtomicPca {
  struct Element {
    int z = 0;
    Eigen::RowVectorXd mean;  // input dimension
    Eigen::MatrixXd basis;    // input dimension x components, orthonormal columns
    double retained = 1.0;    // fraction of the element's variance the basis keeps
  };
  std::size_t input_dimension = 0;
  std::size_t components = 0;     // 0 = no projection
  std::vector<Element> elements;  // ascending z

  bool active() const { return components > 0; }
  /// Output dimension: components when active, else `input`.
  std::size_t output_dimension(std::size_t input) const { return active() ? components : input; }

  /// Fits `components` leading directions per element of `atoms`
  /// (1 <= components < dimension; ParameterError otherwise). Deterministic:
  /// each direction's largest entry is positive.
  static AtomicPca fit(const chem::AtomicFeatures& atoms, std::size_t components);

  /// The projected stack (same molecules, offsets and charges). Throws
  /// InputError for an element the projection was not fitted on and
  /// ParameterError for a dimension mismatch.
  chem::AtomicFeatures project(const chem::AtomicFeatures& atoms) const;

  /// Throws ParameterError unless sizes agree, values are finite, elements
  /// ascend and every element of `spec_elements` has a projection.
  void validate(const std::vector<int>& spec_elements) const;
  std::string describe() const;
  nlohmann::json describe_json() const;
  /// u64 components (0 = none); if > 0: u64 elements, per element u32 Z,
  /// f64 retained, d x f64 mean, d x components f64 basis (row-major).
  void write(core::ByteWriter& out) const;
  static AtomicPca read(core::ByteReader& in, std::size_t input_dimension);
};

}  // namespace encmol::ml
