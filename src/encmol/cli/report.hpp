// Human-readable and JSON reports of a training run, shared by `train` and
// `demo`.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "encmol/ml/train.hpp"

namespace encmol::cli {

/// Held-out evaluation of a model.
struct HeldOut {
  std::size_t molecules = 0;
  ml::Errors errors;
  double predict_seconds = 0.0;
};

/// Text block: chosen hyper-parameters, best CV rows, held-out errors, timings.
std::string training_report_text(const ml::TrainResult& result, const HeldOut* held_out,
                                 std::size_t cv_rows_shown);
nlohmann::json training_report_json(const ml::TrainResult& result, const HeldOut* held_out);
/// CSV of the full cross-validation table (sigma, lambda, ok, score, mae_*, rmse_*).
std::string cv_table_csv(const ml::TrainResult& result);

}  // namespace encmol::cli
