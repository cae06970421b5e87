// What every family's training does before fitting: validate options, build
// the label matrix, fit the baseline and measure the label spread; and the
// bookkeeping shared by the trainers (timing, progress, grid-edge warnings).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/molecule.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::ml {

struct LabelSetup {
  Eigen::MatrixXd labels;    // molecules x targets: as read, minus the Δ baseline if any
  Eigen::MatrixXd counts;    // molecules x elements (the representation's)
  Baseline baseline;         // fitted on all training molecules
  Eigen::MatrixXd residual;  // labels - baseline
  std::vector<double> scale;  // standard deviation of each residual column (> 0)
};

/// Checks targets/units/size, then fits the baseline over `elements`.
LabelSetup prepare_labels(const std::vector<chem::Molecule>& molecules, const std::vector<int>& elements,
                          const TrainOptions& options);

/// Throws ParameterError unless every value is finite and > 0 (positive) or >= 0.
void check_grid(const std::vector<double>& values, const char* what, bool positive);

/// "the chosen X = v is at the edge of the X grid" when v is the smallest or
/// largest of a grid of 3+ values; empty otherwise.
std::string grid_edge_warning(const std::vector<double>& grid, double value, const char* what);

using TrainClock = std::chrono::steady_clock;
double seconds_since(TrainClock::time_point start);
inline void report(const ProgressCallback& progress, std::string_view step, double fraction) {
  if (progress) progress(step, fraction);
}

/// Provenance fields every trainer fills the same way.
void fill_common_model_fields(Model& model, const chem::RepresentationSpec& spec, const LabelSetup& labels,
                              const TrainOptions& options, std::size_t molecules, std::uint32_t folds,
                              double cv_score);

}  // namespace encmol::ml
