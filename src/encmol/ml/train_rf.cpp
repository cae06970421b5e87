// Training of the random-feature family (rf): the atomic representation, the
// labels (baseline and Δ through prepare_labels), and a loop over the maps of
// the (PCA dimension, feature count) grid around fit_random_features, whose
// k-fold search covers sigma and lambda. The best CV score over all maps wins.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "encmol/core/error.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/random_feature_training.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/ml/train_setup.hpp"

namespace encmol::ml {

// The 4-fold search costs 20 D x D Cholesky factorizations per sigma: at
// about 2,048 features a 5,700-molecule search stays well under a minute on
// 2 cores; 4,096 costs 8 times as much (give --features for more accuracy).
// The encrypted query holds D features and the element counts of the
// per-element baseline in a block of slots; D + counts = 2,048 fills a
// 2,048-slot block exactly, two molecules per N = 2^13 ciphertext, where
// 2,048 features and 5 counts took a whole ciphertext per molecule.
std::vector<std::size_t> default_random_feature_counts(std::size_t count_values) {
  constexpr std::size_t kQueryBlock = 2048;
  return {count_values < kQueryBlock ? kQueryBlock - count_values : kQueryBlock};
}

namespace {

std::vector<std::size_t> checked_feature_counts(const TrainOptions& options, std::size_t elements,
                                                std::size_t count_values) {
  std::vector<std::size_t> counts = options.feature_counts.empty()
                                        ? default_random_feature_counts(count_values)
                                        : options.feature_counts;
  for (std::size_t d : counts) {
    if (d < elements || d > kMaxRandomFeatures) {
      throw ParameterError("feature count " + std::to_string(d) + " is invalid: give between " +
                           std::to_string(elements) + " (one per element of the training set) and " +
                           std::to_string(kMaxRandomFeatures) + " features");
    }
  }
  return counts;
}

std::vector<std::size_t> checked_pca_dimensions(const TrainOptions& options, std::size_t atom_dimension) {
  std::vector<std::size_t> pcas = options.pca_dimensions.empty() ? std::vector<std::size_t>{0} : options.pca_dimensions;
  for (std::size_t p : pcas) {
    if (p > atom_dimension) {
      throw ParameterError("PCA dimension " + std::to_string(p) + " exceeds the " + std::to_string(atom_dimension) +
                           " values per atom of the representation (0 = no projection)");
    }
  }
  return pcas;
}

}  // namespace

TrainResult train_random_features(const std::vector<chem::Molecule>& molecules, const TrainOptions& options) {
  if (!chem::is_atomic(options.representation)) {
    throw InputError("the rf family needs an atomic representation (-r fchl19 or -r cmbdf); '" +
                     std::string(chem::to_string(options.representation)) + "' is global");
  }
  check_grid(options.sigmas, "sigma", true);
  check_grid(options.lambdas, "lambda", false);
  if (options.folds < 2) throw ParameterError("cross-validation needs at least 2 folds");
  TrainResult result;
  auto start = TrainClock::now();
  report(options.progress, "featurize", 0.0);
  const chem::RepresentationSpec spec =
      chem::RepresentationSpec::fit(options.representation, molecules, options.representation_options);
  if (options.atom_pca > 0) throw InputError("the rf family takes its PCA grid in pca_dimensions (--pca)");
  const chem::AtomicFeatures atoms = spec.featurize_atoms(molecules);
  report(options.progress, "featurize", 1.0);
  result.featurize_seconds = seconds_since(start);

  const LabelSetup labels = prepare_labels(molecules, spec.elements(), options);
  std::size_t present = 0;  // elements with atoms in the training set: each needs a feature
  for (Eigen::Index e = 0; e < labels.counts.cols(); ++e) present += labels.counts.col(e).sum() > 0 ? 1 : 0;
  const std::vector<std::size_t> feature_counts = checked_feature_counts(
      options, std::max<std::size_t>(present, 1), options.baseline ? spec.elements().size() : 0);
  const std::vector<std::size_t> pcas = checked_pca_dimensions(options, spec.atom_dimension());
  const bool compare_maps = feature_counts.size() * pcas.size() > 1;

  RandomFeatureSearch search;
  search.sigmas = options.sigmas;
  search.lambdas = options.lambdas;
  search.folds = static_cast<std::size_t>(options.folds);
  search.seed = options.seed;
  search.always_cross_validate = compare_maps;
  const std::size_t maps = feature_counts.size() * pcas.size();
  std::size_t done = 0;
  search.progress = [&](std::string_view step, double fraction) {
    if (step == "cross-validation") {
      report(options.progress, step, (static_cast<double>(done) + fraction) / static_cast<double>(maps));
    }
  };

  std::optional<RandomFeatureFit> best;
  std::size_t best_map = 0;
  std::vector<std::pair<std::size_t, std::size_t>> map_of_row;  // (pca, D) per CV row
  for (std::size_t p : pcas) {
    for (std::size_t d : feature_counts) {
      RandomFeatureOptions map_options;
      map_options.features = d;
      map_options.pca = p;
      map_options.kind = options.feature_kind;
      map_options.seed = options.feature_seed;
      RandomFeatureFit fit = fit_random_features(atoms, labels.labels, labels.counts, spec.elements(),
                                                 options.baseline, labels.scale, map_options, search);
      result.distance_seconds += fit.setup_seconds + fit.feature_seconds + fit.gram_seconds;
      result.cv_seconds += fit.cv_seconds;
      const std::size_t first_row = result.cv.size();
      for (auto& row : fit.cv) {
        row.features = d;
        row.pca = p;
        result.cv.push_back(std::move(row));
      }
      // Ties keep the first (smaller, cheaper) map.
      const bool better = !best || (!fit.cv.empty() && result.cv[first_row + fit.best].score <
                                                           result.cv[best_map].score);
      if (better) {
        if (best) result.cv_seconds += best->fit_seconds;  // a final fit that was not kept
        best_map = first_row + fit.best;
        best = std::move(fit);
      } else {
        result.cv_seconds += fit.fit_seconds;
      }
      ++done;
    }
  }
  report(options.progress, "fit", 1.0);

  result.grid_parameter = "sigma";
  result.sigma = best->sigma;
  result.lambda = best->lambda;
  result.fit_seconds = best->fit_seconds;
  if (!result.cv.empty()) {
    result.best = best_map;
    result.warnings = best->warnings;
    const CvRow& chosen = result.cv[best_map];
    std::vector<double> counts_grid(feature_counts.begin(), feature_counts.end());
    const std::string w = grid_edge_warning(counts_grid, static_cast<double>(chosen.features), "feature count");
    if (!w.empty() && chosen.features == feature_counts.back()) result.warnings.push_back(w);
  }
  Model& model = result.model;
  fill_common_model_fields(model, spec, labels, options, molecules.size(), best->folds,
                           result.cv.empty() ? 0.0 : result.cv[best_map].score);
  model.body = std::move(best->model);
  model.validate();
  return result;
}

}  // namespace encmol::ml
