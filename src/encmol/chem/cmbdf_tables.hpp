// The convolution tables of cMBDF (equations in cmbdf.hpp): one radial and one
// angular table per (derivative order, weight), stored interleaved so a lookup
// reads one contiguous row of all tables at a grid point.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "encmol/chem/cmbdf.hpp"

namespace encmol::chem {

class CmbdfTables {
 public:
  /// Builds the tables of `p` (validated; ParameterError otherwise). Uncached:
  /// use cmbdf_tables() to share them.
  explicit CmbdfTables(const CmbdfParameters& p);

  const CmbdfParameters& parameters() const { return params_; }

  /// Grid steps: rcut / radial_points and pi / angular_points.
  double radial_step() const { return radial_step_; }
  double angular_step() const { return angular_step_; }
  /// Tables per grid point: derivative_orders * radial weights (index m W + w)
  /// and derivative_orders * angular_orders (index m K + k - 1).
  std::size_t radial_width() const { return radial_width_; }
  std::size_t angular_width() const { return angular_width_; }
  /// Grid points: N (reference mode, t_s = (s - 1) h) or N + 1 (t_s = s h).
  std::size_t radial_rows() const { return radial_rows_; }
  std::size_t angular_rows() const { return angular_rows_; }

  /// Normalised values at grid point `row`: radial_width() / angular_width() values.
  std::span<const double> radial_row(std::size_t row) const {
    return {radial_.data() + row * radial_width_, radial_width_};
  }
  std::span<const double> angular_row(std::size_t row) const {
    return {angular_.data() + row * angular_width_, angular_width_};
  }
  /// max_s |raw[s]| of each table before normalisation (same order as a row).
  const std::vector<double>& radial_scales() const { return radial_scale_; }
  const std::vector<double>& angular_scales() const { return angular_scale_; }

 private:
  CmbdfParameters params_;
  double radial_step_ = 0, angular_step_ = 0;
  std::size_t radial_width_ = 0, angular_width_ = 0, radial_rows_ = 0, angular_rows_ = 0;
  std::vector<double> radial_, angular_;  // rows x width, row-major
  std::vector<double> radial_scale_, angular_scale_;
};

}  // namespace encmol::chem
