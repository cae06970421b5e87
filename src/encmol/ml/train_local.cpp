// Training of the local (atomic) kernel family.
#include <cmath>

#include "encmol/core/error.hpp"
#include "encmol/ml/krr.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/ml/train_setup.hpp"

namespace encmol::ml {
namespace {

// Default local-kernel sigmas: a ladder of 9 values 1/sqrt(2) apart from
// 16 m down to m, m = the median same-element atomic distance. FCHL19 models
// of QM7 choose sigma near 4 m (about 5 Å-free units): atom kernels far
// flatter than the atom spread, so fine structure comes from a small lambda.
std::vector<double> default_local_sigmas(const chem::AtomicFeatures& atoms) {
  return sigma_ladder(16.0 * median_atomic_distance(atoms), 9);
}

}  // namespace

TrainResult train(const std::vector<chem::Molecule>& molecules, const TrainOptions& options) {
  switch (options.family) {
    case ModelFamily::GlobalKrr: return train_krr(molecules, options);
    case ModelFamily::LocalKrr: return train_local_krr(molecules, options);
  }
  throw ParameterError("unknown model family");
}

TrainResult train_local_krr(const std::vector<chem::Molecule>& molecules, const TrainOptions& options) {
  if (!chem::is_atomic(options.representation)) {
    throw InputError("the local-krr family needs an atomic representation (-r fchl19); '" +
                     std::string(chem::to_string(options.representation)) + "' is global");
  }
  check_grid(options.sigmas, "sigma", true);
  check_grid(options.lambdas, "lambda", false);
  TrainResult result;
  auto start = TrainClock::now();
  report(options.progress, "featurize", 0.0);
  const chem::RepresentationSpec spec =
      chem::RepresentationSpec::fit(options.representation, molecules, options.representation_options);
  const chem::AtomicFeatures atoms = spec.featurize_atoms(molecules);
  report(options.progress, "featurize", 1.0);
  result.featurize_seconds = seconds_since(start);

  const LabelSetup labels = prepare_labels(molecules, spec.elements(), options);
  const std::vector<double> sigmas = options.sigmas.empty() ? default_local_sigmas(atoms) : options.sigmas;
  const std::vector<double> lambdas = options.lambdas.empty() ? default_lambdas() : options.lambdas;

  start = TrainClock::now();
  report(options.progress, "distances", 0.0);
  std::vector<Eigen::MatrixXd> grams = local_gram_symmetric(atoms, sigmas);
  report(options.progress, "distances", 1.0);
  result.distance_seconds = seconds_since(start);

  start = TrainClock::now();
  std::size_t best_sigma = 0, best_lambda = 0;
  std::uint32_t folds_used = 0;
  double cv_score = 0.0;
  if (sigmas.size() * lambdas.size() > 1) {
    if (options.folds < 2) throw ParameterError("cross-validation needs at least 2 folds");
    const auto folds = std::min<std::size_t>(static_cast<std::size_t>(options.folds), molecules.size());
    // A precomputed Gram matrix is a "linear kernel" on itself.
    const Kernel identity{KernelKind::Linear, 1.0, 1.0, 0.0, 1};
    for (std::size_t s = 0; s < sigmas.size(); ++s) {
      auto rows = cross_validate(grams[s], identity, {0.0}, lambdas, labels.labels, labels.counts, spec.elements(),
                                 options.baseline, folds, options.seed, labels.scale);
      for (auto& row : rows) {
        row.sigma = sigmas[s];
        result.cv.push_back(std::move(row));
      }
      report(options.progress, "cross-validation", static_cast<double>(s + 1) / static_cast<double>(sigmas.size()));
    }
    result.best = best_cv_row(result.cv);
    best_sigma = result.best / lambdas.size();
    best_lambda = result.best % lambdas.size();
    folds_used = static_cast<std::uint32_t>(folds);
    cv_score = result.cv[result.best].score;
    for (const auto& w : {grid_edge_warning(sigmas, sigmas[best_sigma], "sigma"),
                          grid_edge_warning(lambdas, lambdas[best_lambda], "lambda")}) {
      if (!w.empty()) result.warnings.push_back(w);
    }
  }
  result.cv_seconds = seconds_since(start);

  start = TrainClock::now();
  report(options.progress, "fit", 0.0);
  LocalKrr body;
  body.sigma = sigmas[best_sigma];
  body.lambda = lambdas[best_lambda];
  body.alpha = solve_krr(std::move(grams[best_sigma]), body.lambda, labels.residual);
  grams.clear();
  body.training_atoms = atoms;
  report(options.progress, "fit", 1.0);
  result.fit_seconds = seconds_since(start);

  Model& model = result.model;
  fill_common_model_fields(model, spec, labels, options, molecules.size(), folds_used, cv_score);
  model.body = std::move(body);
  model.validate();
  result.sigma = sigmas[best_sigma];
  result.lambda = lambdas[best_lambda];
  return result;
}

}  // namespace encmol::ml
