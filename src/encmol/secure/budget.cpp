#include "encmol/secure/budget.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "encmol/core/error.hpp"

namespace encmol::secure {

namespace {

std::string baseline_name(bool per_element) { return per_element ? "per-element baseline" : "mean baseline"; }

// One grid point of one baseline's cross-validation (row == npos: a single point, not cross-validated).
struct Candidate {
  std::size_t variant = 0;
  std::size_t row = std::numeric_limits<std::size_t>::max();
};

}  // namespace

BudgetSearchResult choose_hyperparameters_for_budget(const std::vector<chem::Molecule>& molecules,
                                                     const BudgetSearchOptions& options) {
  options.plan.validate();
  std::vector<bool> baselines{options.train.baseline};
  if (options.choose_baseline) baselines.push_back(!options.train.baseline);
  std::vector<std::string> skipped;
  std::string last;
  // Cross-validation (and the fit at its best point) per baseline.
  std::vector<ml::TrainResult> full;
  for (bool per_element : baselines) {
    ml::TrainOptions o = options.train;
    o.baseline = per_element;
    try {
      full.push_back(ml::train_krr(molecules, o));
    } catch (const ParameterError& e) {
      if (baselines.size() == 1) throw;
      last = e.what();
      skipped.push_back(fmt::format("{}: {}", baseline_name(per_element), last));
    }
  }
  if (full.empty())
    throw ParameterError("no baseline can be fitted to these molecules (last reason: " + last + ")");
  std::vector<Candidate> order;
  for (std::size_t v = 0; v < full.size(); ++v) {
    if (full[v].cv.empty()) {
      order.push_back({v});
      continue;
    }
    for (std::size_t r = 0; r < full[v].cv.size(); ++r)
      if (full[v].cv[r].ok) order.push_back({v, r});
  }
  // Best CV score first; a stable sort keeps the preferred baseline first on ties and single points. CvRow::score
  // divides each MAE by its grid's label scale, which depends on the baseline (the spread of the residuals):
  // across baselines the MAEs are compared on the first grid's scales.
  const std::vector<double>& scales = full.front().model.label_scale;
  auto score = [&](const Candidate& c) {
    if (c.row >= full[c.variant].cv.size()) return 0.0;
    const ml::CvRow& row = full[c.variant].cv[c.row];
    if (full.size() == 1 || row.mae.size() != scales.size()) return row.score;
    double s = 0;
    for (std::size_t t = 0; t < scales.size(); ++t) s += row.mae[t] / (scales[t] > 0 ? scales[t] : 1.0);
    return s / static_cast<double>(scales.size());
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const Candidate& a, const Candidate& b) { return score(a) < score(b); });
  std::size_t tried = 0;
  for (const Candidate& c : order) {
    ++tried;
    const ml::TrainResult& grid = full[c.variant];
    const bool per_element = grid.model.baseline.per_element;
    const bool single = c.row >= grid.cv.size();
    const std::string point =
        single ? baseline_name(per_element)
               : fmt::format("sigma {:.6g}, lambda {:.3g}, {}", grid.cv[c.row].sigma, grid.cv[c.row].lambda,
                             baseline_name(per_element));
    ml::TrainResult fit;
    if (single || c.row == grid.best) {
      fit = grid;  // the grid's own pick is already fitted on all molecules
    } else {
      const ml::CvRow& row = grid.cv[c.row];
      ml::TrainOptions one = options.train;
      one.baseline = per_element;
      if (row.sigma > 0) one.sigmas = {row.sigma};
      one.lambdas = {row.lambda};
      one.progress = {};
      try {
        fit = ml::train_krr(molecules, one);
      } catch (const ParameterError& e) {
        last = e.what();
        skipped.push_back(point + ": " + last);
        continue;
      }
    }
    try {
      Plan plan = compile_plan(fit.model, options.plan);
      BudgetSearchResult r;
      if (!single) {
        fit.cv = grid.cv;
        fit.best = c.row;
        fit.model.info.folds = grid.model.info.folds;  // the point was chosen by this cross-validation
        fit.model.info.cv_score = grid.cv[c.row].score;
      }
      double cv_seconds = 0;
      for (const auto& g : full) cv_seconds += g.cv_seconds;
      fit.cv_seconds = cv_seconds;
      r.train = std::move(fit);
      r.plan = std::move(plan);
      r.candidates = tried;
      r.cv = grid.cv;
      r.skipped = std::move(skipped);
      return r;
    } catch (const ParameterError& e) {
      last = e.what();
      skipped.push_back(point + ": " + last);
    }
  }
  throw ParameterError(fmt::format(
      "no (sigma, lambda{}) of the grid gives a model whose encrypted evaluation stays within the tolerance "
      "({} grid points tried; last reason: {}); add larger lambdas or smaller sigmas to the grid, or loosen "
      "--encrypted-tolerance",
      options.choose_baseline ? ", baseline" : "", tried, last));
}

}  // namespace encmol::secure
