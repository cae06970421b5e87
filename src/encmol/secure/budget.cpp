#include "encmol/secure/budget.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "encmol/core/error.hpp"

namespace encmol::secure {

BudgetSearchResult choose_hyperparameters_for_budget(const std::vector<chem::Molecule>& molecules,
                                                     const BudgetSearchOptions& options) {
  options.plan.validate();
  ml::TrainOptions cv_options = options.train;
  const ml::TrainResult full = ml::train_krr(molecules, cv_options);
  std::vector<ml::CvRow> rows = full.cv;
  if (rows.empty()) {  // a single grid point: nothing to choose
    BudgetSearchResult r;
    r.plan = compile_plan(full.model, options.plan);
    r.train = full;
    r.candidates = 1;
    return r;
  }
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (rows[a].ok != rows[b].ok) return rows[a].ok;
    return rows[a].score < rows[b].score;
  });
  std::size_t tried = 0;
  std::string last;
  std::vector<std::string> skipped;
  for (std::size_t idx : order) {
    const ml::CvRow& row = rows[idx];
    if (!row.ok) continue;
    ++tried;
    ml::TrainResult fit;
    if (idx == full.best) {
      fit = full;  // the grid's own pick is already fitted on all molecules
    } else {
      ml::TrainOptions one = options.train;
      if (row.sigma > 0) one.sigmas = {row.sigma};
      one.lambdas = {row.lambda};
      one.progress = {};
      try {
        fit = ml::train_krr(molecules, one);
      } catch (const ParameterError& e) {
        last = e.what();
        skipped.push_back(fmt::format("sigma {:.6g}, lambda {:.3g}: {}", row.sigma, row.lambda, last));
        continue;
      }
    }
    try {
      Plan plan = compile_plan(fit.model, options.plan);
      BudgetSearchResult r;
      fit.cv = rows;
      fit.best = idx;
      fit.model.info.folds = full.model.info.folds;  // the pair was chosen by this cross-validation
      fit.model.info.cv_score = row.score;
      fit.cv_seconds = full.cv_seconds;
      r.train = std::move(fit);
      r.plan = std::move(plan);
      r.candidates = tried;
      r.cv = rows;
      r.skipped = std::move(skipped);
      return r;
    } catch (const ParameterError& e) {
      last = e.what();
      skipped.push_back(fmt::format("sigma {:.6g}, lambda {:.3g}: {}", row.sigma, row.lambda, last));
    }
  }
  throw ParameterError(fmt::format(
      "no (sigma, lambda) of the grid gives a model whose encrypted evaluation stays within the tolerance "
      "({} grid points tried; last reason: {}); add larger lambdas or smaller sigmas to the grid, or loosen "
      "--encrypted-tolerance",
      tried, last));
}

}  // namespace encmol::secure
