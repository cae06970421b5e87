#include "encmol/cli/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <sstream>

#include "encmol/cli/common.hpp"

namespace encmol::cli {
namespace {

std::string unit_of(const ml::Model& model, std::size_t t) {
  return t < model.units.size() && !model.units[t].empty() ? " " + model.units[t] : "";
}

// "kernel: gaussian (sigma = 30.1), lambda = 1e-10" and the like, from the
// family's own description.
std::string body_summary(const ml::Model& model) {
  const nlohmann::json j = model.describe_json();
  std::string s;
  if (j.contains("kernel")) {
    s = "kernel: " + (j["kernel"].contains("description") ? j["kernel"]["description"].get<std::string>()
                                                           : j["kernel"]["kind"].get<std::string>());
    if (j["kernel"].contains("sigma") && !j["kernel"].contains("description")) {
      s += " (sigma = " + format_number(j["kernel"]["sigma"].get<double>()) + ")";
    }
  }
  if (j.contains("random_features")) {
    const auto& f = j["random_features"];
    s = "random features: " + f["kind"].get<std::string>() + " " + std::to_string(f["features"].get<std::size_t>()) +
        " (sigma = " + format_number(f["sigma"].get<double>()) + ", PCA " +
        (f["pca"].get<std::size_t>() == 0 ? std::string("none") : std::to_string(f["pca"].get<std::size_t>())) + ")";
  }
  if (j.contains("multiplicative_depth")) {
    s = "network: depth " + std::to_string(j["depth"].get<std::size_t>()) + ", width " +
        std::to_string(j["width"].get<std::size_t>()) + ", power " + std::to_string(j["power"].get<int>()) +
        ", encrypted depth " + std::to_string(j["multiplicative_depth"].get<std::size_t>());
  }
  if (j.contains("lambda")) s += (s.empty() ? "" : ", ") + std::string("lambda = ") + format_number(j["lambda"].get<double>());
  return s;
}

// The random-feature family's CV rows also vary the map (features, PCA).
bool has_map_columns(const ml::TrainResult& result) {
  return std::any_of(result.cv.begin(), result.cv.end(), [](const ml::CvRow& r) { return r.features > 0; });
}

// What TrainResult::distance_seconds measured.
const char* distance_step(const ml::Model& model) {
  return model.family() == ml::ModelFamily::RandomFeatures ? "random features + Gram" : "distances";
}

}  // namespace

std::string training_report_text(const ml::TrainResult& result, const HeldOut* held_out,
                                 std::size_t cv_rows_shown) {
  const ml::Model& model = result.model;
  std::ostringstream out;
  out << "model: " << ml::to_string(model.family()) << " on " << model.representation.describe() << "\n";
  out << body_summary(model) << ", trained on " << model.training_size() << " molecules\n";
  if (!result.cv.empty()) {
    std::vector<std::size_t> order(result.cv.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const auto& ra = result.cv[a];
      const auto& rb = result.cv[b];
      if (ra.ok != rb.ok) return ra.ok;
      return ra.score < rb.score;
    });
    out << fmt::format("cross-validation ({} folds, {} grid points), best first:\n",
                       model.info.folds, result.cv.size());
    const bool maps = has_map_columns(result);
    if (maps) out << fmt::format("  {:>8} {:>5}", "features", "pca");
    out << fmt::format("{}{:>12} {:>10}", maps ? " " : "  ", result.grid_parameter, "lambda");
    for (const auto& t : model.targets) out << fmt::format(" {:>14}", "MAE " + t);
    out << "\n";
    for (std::size_t k = 0; k < std::min(cv_rows_shown, order.size()); ++k) {
      const auto& row = result.cv[order[k]];
      if (maps) out << fmt::format("  {:>8} {:>5}", row.features, row.pca);
      out << fmt::format("{}{:>12.6g} {:>10.3g}", maps ? " " : "  ", row.sigma, row.lambda);
      for (std::size_t t = 0; t < model.targets.size(); ++t) {
        out << (row.ok ? fmt::format(" {:>14.4f}", row.mae[t]) : fmt::format(" {:>14}", "not PD"));
      }
      out << (order[k] == result.best ? "  <- chosen" : "") << "\n";
    }
  }
  for (const auto& note : result.notes) out << note << "\n";
  for (const auto& warning : result.warnings) out << "warning: " << warning << "\n";
  const nlohmann::json body = model.describe_json();
  for (std::size_t t = 0; t < model.targets.size(); ++t) {
    std::vector<std::string> parts;
    if (body.contains("sum_abs_alpha")) parts.push_back(fmt::format("sum|alpha| = {:.4g}", body["sum_abs_alpha"][t].get<double>()));
    if (held_out != nullptr) {
      parts.push_back(fmt::format("held-out MAE = {:.4f}{}, RMSE = {:.4f}{} ({} molecules)",
                         held_out->errors.mae[t], unit_of(model, t), held_out->errors.rmse[t],
                         unit_of(model, t), held_out->molecules));
    }
    out << "target " << model.targets[t] << ":";
    for (std::size_t k = 0; k < parts.size(); ++k) out << (k ? ", " : " ") << parts[k];
    out << "\n";
  }
  out << fmt::format("time: featurize {:.2f} s, {} {:.2f} s, cross-validation {:.2f} s, fit {:.2f} s",
                     result.featurize_seconds, distance_step(model), result.distance_seconds, result.cv_seconds,
                     result.fit_seconds);
  if (held_out != nullptr) out << fmt::format(", predict {:.2f} s", held_out->predict_seconds);
  out << fmt::format("; peak memory {:.0f} MiB\n", peak_memory_mib());
  return out.str();
}

nlohmann::json training_report_json(const ml::TrainResult& result, const HeldOut* held_out) {
  const ml::Model& model = result.model;
  nlohmann::json j;
  j["family"] = std::string(ml::to_string(model.family()));
  j["representation"] = model.representation.describe();
  const nlohmann::json body = model.describe_json();
  if (body.contains("kernel")) j["kernel"] = body["kernel"]["kind"];
  j["grid_parameter"] = result.grid_parameter;
  j[result.grid_parameter] = result.sigma;
  j["lambda"] = result.lambda;
  j["training_size"] = model.training_size();
  j["targets"] = model.targets;
  j["units"] = model.units;
  if (body.contains("sum_abs_alpha")) j["sum_abs_alpha"] = body["sum_abs_alpha"];
  nlohmann::json cv = nlohmann::json::array();
  for (const auto& row : result.cv) {
    cv.push_back({{result.grid_parameter, row.sigma}, {"lambda", row.lambda}, {"ok", row.ok},
                  {"score", row.score}, {"mae", row.mae}, {"rmse", row.rmse}});
    if (row.features > 0) {
      cv.back()["features"] = row.features;
      cv.back()["pca"] = row.pca;
    }
  }
  j["cross_validation"] = cv;
  j["warnings"] = result.warnings;
  j["notes"] = result.notes;
  if (held_out != nullptr) {
    j["held_out"] = {{"molecules", held_out->molecules},
                     {"mae", held_out->errors.mae},
                     {"rmse", held_out->errors.rmse},
                     {"predict_seconds", held_out->predict_seconds}};
  }
  j["seconds"] = {{"featurize", result.featurize_seconds},
                  {"distances", result.distance_seconds},
                  {"cross_validation", result.cv_seconds},
                  {"fit", result.fit_seconds}};
  j["peak_memory_mib"] = peak_memory_mib();
  return j;
}

std::string cv_table_csv(const ml::TrainResult& result) {
  const auto& targets = result.model.targets;
  std::ostringstream out;
  const bool maps = has_map_columns(result);
  if (maps) out << "features,pca,";
  out << result.grid_parameter << ",lambda,ok,score";
  for (const auto& t : targets) out << ",mae_" << t;
  for (const auto& t : targets) out << ",rmse_" << t;
  out << "\n";
  for (const auto& row : result.cv) {
    if (maps) out << row.features << "," << row.pca << ",";
    out << format_number(row.sigma) << "," << format_number(row.lambda) << ","
        << (row.ok ? 1 : 0) << "," << format_number(row.score);
    for (std::size_t t = 0; t < targets.size(); ++t) {
      out << "," << (row.ok ? format_number(row.mae[t]) : "");
    }
    for (std::size_t t = 0; t < targets.size(); ++t) {
      out << "," << (row.ok ? format_number(row.rmse[t]) : "");
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace encmol::cli
