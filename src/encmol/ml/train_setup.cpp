#include "encmol/ml/train_setup.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "encmol/core/error.hpp"
#include "encmol/ml/model.hpp"

#ifndef ENCMOL_VERSION
#define ENCMOL_VERSION "unknown"
#endif

namespace encmol::ml {

LabelSetup prepare_labels(const std::vector<chem::Molecule>& molecules, const std::vector<int>& elements,
                          const TrainOptions& options) {
  if (molecules.size() < 2) {
    throw InputError("training needs at least 2 molecules, got " + std::to_string(molecules.size()));
  }
  if (options.targets.empty()) throw InputError("no target property to train on was given");
  if (!options.units.empty() && options.units.size() != options.targets.size()) {
    throw InputError("give one unit per target (" + std::to_string(options.targets.size()) + " targets, " +
                     std::to_string(options.units.size()) + " units)");
  }
  LabelSetup s;
  s.labels = label_matrix(molecules, options.targets);
  DeltaBaseline delta = DeltaBaseline::make(options.delta, options.units, options.targets.size());
  delta.xtb = options.xtb;
  if (delta.active()) s.labels -= delta.evaluate(molecules);
  s.counts = element_count_matrix(molecules, elements);
  s.baseline = Baseline::fit(s.counts, elements, s.labels, options.baseline);
  s.baseline.delta = std::move(delta);
  s.residual = s.labels - s.baseline.evaluate(s.counts);
  for (Eigen::Index t = 0; t < s.residual.cols(); ++t) {
    const double mean = s.residual.col(t).mean();
    const double var = (s.residual.col(t).array() - mean).square().mean();
    s.scale.push_back(var > 0 ? std::sqrt(var) : 1.0);
  }
  return s;
}

void check_grid(const std::vector<double>& values, const char* what, bool positive) {
  for (double v : values) {
    if (!std::isfinite(v) || (positive ? !(v > 0) : v < 0)) {
      throw ParameterError(std::string(what) + " value " + std::to_string(v) + " is invalid (must be finite and " +
                           (positive ? "> 0" : ">= 0") + ")");
    }
  }
}

std::string grid_edge_warning(const std::vector<double>& grid, double value, const char* what) {
  if (grid.size() < 3) return {};
  if (value != *std::min_element(grid.begin(), grid.end()) && value != *std::max_element(grid.begin(), grid.end())) {
    return {};
  }
  char buf[200];
  std::snprintf(buf, sizeof(buf), "the chosen %s = %.6g is at the edge of the %s grid; the best value may lie beyond it",
                what, value, what);
  return buf;
}

double seconds_since(TrainClock::time_point start) {
  return std::chrono::duration<double>(TrainClock::now() - start).count();
}

void fill_common_model_fields(Model& model, const chem::RepresentationSpec& spec, const LabelSetup& labels,
                              const TrainOptions& options, std::size_t molecules, std::uint32_t folds,
                              double cv_score) {
  model.representation = spec;
  model.targets = options.targets;
  model.units = options.units.empty() ? std::vector<std::string>(options.targets.size()) : options.units;
  model.baseline = labels.baseline;
  model.label_scale = labels.scale;
  model.info.dataset = options.dataset;
  model.info.seed = options.seed;
  model.info.folds = folds;
  model.info.cv_score = cv_score;
  model.info.encmol_version = ENCMOL_VERSION;
  model.info.training_size = molecules;
}

}  // namespace encmol::ml
