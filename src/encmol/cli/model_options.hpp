// The model options shared by `train`, `learning-curve` and `demo`
// (representation, kernel, hyper-parameter grids, baseline, seed).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "encmol/ml/train.hpp"

namespace encmol::cli {

struct ModelOptions {
  std::vector<std::string> targets;
  std::vector<std::string> units;
  std::string family = "krr";
  std::string representation = "cm";
  std::string kernel = "gaussian";
  std::vector<std::string> sigmas;
  std::vector<std::string> lambdas;
  double gamma = 0.0;
  std::vector<std::string> coef0s;
  int degree = 2;
  std::vector<std::string> weights;
  std::vector<std::string> feature_counts;
  std::vector<std::string> pca_dimensions;
  std::string feature_kind = "orthogonal";
  std::uint64_t feature_seed = 42;
  // nn family: architecture grids (comma lists) and training.
  std::vector<std::string> depths, widths, powers;
  std::size_t epochs = 0;  // 0: the library default
  double learning_rate = 0.0;
  std::size_t patience = 0;
  std::size_t batch = 0;
  int folds = 4;
  bool no_baseline = false;
  std::vector<std::string> delta;
  std::uint64_t seed = 42;
  std::uint64_t embedding_seed = 42;

  /// Adds the options to `command`; `targets_required` makes --target mandatory.
  void add_to(CLI::App& command, bool targets_required);
  /// Converts to ml::TrainOptions, validating names and numbers (InputError).
  ml::TrainOptions to_train_options() const;
};

}  // namespace encmol::cli
