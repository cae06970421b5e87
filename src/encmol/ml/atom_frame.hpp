// Per-element affine frame of the atom vectors a body sees (after the
// projection): a center, a scale per value, and the radius of the training
// atoms in the standardized coordinates z = (x - center) / scale.
//
// The encrypted atomic circuit (secure/atomic_plan.hpp) needs a bound on every
// hidden value u = A x + a over the atoms it may receive. A ball |x| <= R is
// enforceable by the client but loose: values with a small spread (and large
// weights after a network's own standardization) make |A| |x| many orders of
// magnitude larger than any u of a real atom. The ellipsoid |z| <= radius
// follows the training atoms: the client sends z / radius and refuses atoms
// outside, and the bound |u| <= radius |A diag(scale)| + |A center + a| is
// then close to the real range. Scales are floored at kScaleFloor x the
// element's RMS scale, so a value that barely varied in training (few atoms
// of a rare element) does not make every new atom an outlier.
//
// The frame is fitted on training atoms without labels; the model card
// publishes it (like the representation and the projection).
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::ml {

struct AtomFrame {
  struct Element {
    int z = 0;
    Eigen::VectorXd center, scale;  // dimension values each, scale > 0
    double radius = 0;              // largest |z| of a training atom (0: no training atom)
    double ball_radius = 0;  // largest |x - center| of a training atom (the unscaled alternative)
  };
  static constexpr double kScaleFloor = 0.05;
  std::vector<Element> elements;  // ascending z; empty = unknown (models before format 4)

  bool empty() const { return elements.empty(); }
  /// Fits one element per entry of `elements` (ascending) on `atoms` (two
  /// passes in atom order: mean, then standard deviation, floored at
  /// scale_floor x its RMS over the values); an element without atoms gets
  /// center 0, scale 1, radius 0.
  static AtomFrame fit(const chem::AtomicFeatures& atoms, const std::vector<int>& elements,
                       double scale_floor = kScaleFloor);
  /// Index of element z, or -1.
  int find(int z) const;
  /// (x - center) / scale of element index e.
  Eigen::VectorXd standardize(std::size_t e, const Eigen::Ref<const Eigen::RowVectorXd>& x) const;
  /// The same centers with unit scales and ball_radius as radius: a ball
  /// instead of the ellipsoid. Tighter for models whose weights already
  /// follow the spread of the values (a PCA-projected quadratic model); the
  /// encrypted plan compiles both and keeps the one with the smaller bounds.
  AtomFrame ball() const;

  /// Throws ParameterError unless the elements are `spec_elements`, sizes are
  /// `dimension`, scales > 0 and every value finite.
  void validate(std::size_t dimension, const std::vector<int>& spec_elements) const;
  nlohmann::json describe_json() const;
  /// u64 elements; per element u32 Z, f64 radius, f64 ball radius, dimension x f64 center,
  /// dimension x f64 scale.
  void write(core::ByteWriter& out) const;
  static AtomFrame read(core::ByteReader& in, std::size_t dimension);
};

}  // namespace encmol::ml
