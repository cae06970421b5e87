// Training of the local (atomic) dual families: local-krr and quadratic.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <utility>

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
    case ModelFamily::GlobalKrr:
      if (options.atom_pca > 0)
        throw InputError("--pca applies to the atomic families, not to global krr");
      return train_krr(molecules, options);
    case ModelFamily::LocalKrr:
      return train_local_krr(molecules, options);
    case ModelFamily::RandomFeatures:
      return train_random_features(molecules, options);
    case ModelFamily::Quadratic:
      return train_quadratic(molecules, options);
    case ModelFamily::Network:
      return train_network(molecules, options);
  }
  throw ParameterError("unknown model family");
}

namespace {

// What both local dual families share: an atomic representation, one Gram
// matrix per candidate atom kernel (one pass over the atom pairs), k-fold
// search over (kernel, lambda), and the final dual solve.
struct DualFit {
  chem::RepresentationSpec spec;
  AtomicPca pca;
  chem::AtomicFeatures atoms;  // projected when pca is active
  LabelSetup labels;
  std::size_t best_kernel = 0;
  double lambda = 0.0;
  Eigen::MatrixXd alpha;
  std::uint32_t folds = 0;
  double cv_score = 0.0;
};

// Candidate Gram matrices over the training molecules, with the grid value
// each stands for (sigma, coef0, block weight) in the report. `extend`, when
// set, makes the Gram matrix of a further value: the search then steps past
// an edge of a default grid that the best CV score lands on.
struct GramGrid {
  std::vector<Eigen::MatrixXd> grams;
  std::vector<double> values;
  std::function<Eigen::MatrixXd(double)> extend;
};

// Steps taken past the edges of default grids, in all (each costs one CV of
// one Gram matrix, or of one lambda over every Gram matrix).
constexpr int kMaxGridExtensions = 4;
// k-fold CV of one Gram matrix over the lambda grid (rows in lambda order).
using CvRunner = std::function<std::vector<CvRow>(const Eigen::MatrixXd&)>;
using GramProvider = std::function<GramGrid(const chem::RepresentationSpec&,
                                            const chem::AtomicFeatures&, const CvRunner&)>;

DualFit fit_local_dual(const std::vector<chem::Molecule>& molecules, const TrainOptions& options,
                       const char* family, const GramProvider& candidates, const char* grid_name,
                       const std::vector<double>& lambda_default, TrainResult& result) {
  if (!chem::is_atomic(options.representation)) {
    throw InputError(
        std::string("the ") + family +
        " family needs an atomic representation (-r fchl19, cmbdf or fchl19+cmbdf); '" +
        std::string(chem::to_string(options.representation)) + "' is global");
  }
  check_grid(options.lambdas, "lambda", false);
  DualFit fit;
  auto start = TrainClock::now();
  report(options.progress, "featurize", 0.0);
  fit.spec = chem::RepresentationSpec::fit(options.representation, molecules,
                                           options.representation_options);
  fit.atoms = fit.spec.featurize_atoms(molecules);
  if (options.atom_pca > 0) {
    // local-krr sums one Gaussian per part of a joined vector, which a projection would mix; the
    // quadratic model's kernel is one dot product of the whole vector, which PCA approximates.
    if (fit.spec.atom_blocks().size() > 1 && options.family == ModelFamily::LocalKrr) {
      throw InputError(
          "local-krr's --pca needs a single atomic representation (fchl19 or cmbdf), "
          "not " +
          std::string(chem::to_string(options.representation)) +
          " (quadratic and nn project the joined vector)");
    }
    // Unsupervised, so fitting it on every training molecule (the CV folds'
    // validation parts included) leaks no label into the CV scores.
    fit.pca = AtomicPca::fit(fit.atoms, options.atom_pca);
    fit.atoms = fit.pca.project(fit.atoms);
  }
  report(options.progress, "featurize", 1.0);
  result.featurize_seconds = seconds_since(start);

  fit.labels = prepare_labels(molecules, fit.spec.elements(), options);
  std::vector<double> lambdas = options.lambdas.empty() ? lambda_default : options.lambdas;
  if (options.folds < 2) throw ParameterError("cross-validation needs at least 2 folds");
  const auto folds =
      std::min<std::size_t>(static_cast<std::size_t>(options.folds), molecules.size());
  // A precomputed Gram matrix is a "linear kernel" on itself.
  const Kernel identity{KernelKind::Linear, 1.0, 1.0, 0.0, 1};
  double cv_seconds = 0.0;
  const auto cv_at = [&](const Eigen::MatrixXd& gram, const std::vector<double>& lams) {
    const auto t0 = TrainClock::now();
    auto rows = cross_validate(gram, identity, {0.0}, lams, fit.labels.labels, fit.labels.counts,
                               fit.spec.elements(), options.baseline, folds, options.seed,
                               fit.labels.scale);
    cv_seconds += seconds_since(t0);
    return rows;
  };
  const CvRunner run_cv = [&](const Eigen::MatrixXd& gram) { return cv_at(gram, lambdas); };

  start = TrainClock::now();
  report(options.progress, "distances", 0.0);
  GramGrid grid = candidates(fit.spec, fit.atoms, run_cv);
  report(options.progress, "distances", 1.0);
  result.distance_seconds = seconds_since(start) - cv_seconds;

  start = TrainClock::now();
  if (grid.grams.size() * lambdas.size() > 1) {
    std::vector<std::size_t> row_gram;  // the Gram matrix of each row of result.cv
    const auto add_rows = [&](std::size_t k, const std::vector<double>& lams) {
      for (auto& row : cv_at(grid.grams[k], lams)) {
        row.sigma = grid.values[k];
        result.cv.push_back(std::move(row));
        row_gram.push_back(k);
      }
    };
    for (std::size_t k = 0; k < grid.grams.size(); ++k) {
      add_rows(k, lambdas);
      report(options.progress, "cross-validation",
             static_cast<double>(k + 1) / static_cast<double>(grid.grams.size()));
    }
    // A default grid whose best point lies on an edge is extended one step
    // at a time past that edge (by the grid's own ratio) while it improves.
    const bool extend_lambda = options.lambdas.empty() && lambdas.size() > 1;
    const bool extend_values = static_cast<bool>(grid.extend) && grid.values.size() > 1;
    for (int step = 0; step < kMaxGridExtensions; ++step) {
      const CvRow& best = result.cv[best_cv_row(result.cv)];
      const auto [lo, hi] = std::minmax_element(lambdas.begin(), lambdas.end());
      const auto [vlo, vhi] = std::minmax_element(grid.values.begin(), grid.values.end());
      if (extend_lambda && (best.lambda == *hi || best.lambda == *lo)) {
        const double next = best.lambda == *hi ? *hi * 10 : *lo / 10;
        lambdas.push_back(next);
        for (std::size_t k = 0; k < grid.grams.size(); ++k) add_rows(k, {next});
      } else if (extend_values && (best.sigma == *vhi || best.sigma == *vlo)) {
        const bool up = best.sigma == *vhi;
        const double edge = up ? *vhi : *vlo;
        double inner = up ? *vlo : *vhi;  // the grid value next to the edge
        for (double v : grid.values)
          if (v != edge && (up ? v > inner : v < inner)) inner = v;
        const double next = edge * (edge / inner);
        grid.grams.push_back(grid.extend(next));
        grid.values.push_back(next);
        add_rows(grid.grams.size() - 1, lambdas);
      } else {
        break;
      }
      report(options.progress, "extending the grid", 1.0);
    }
    result.best = best_cv_row(result.cv);
    fit.best_kernel = row_gram[result.best];
    fit.folds = static_cast<std::uint32_t>(folds);
    fit.cv_score = result.cv[result.best].score;
    for (const auto& w : {grid_edge_warning(grid.values, grid.values[fit.best_kernel], grid_name),
                          grid_edge_warning(lambdas, result.cv[result.best].lambda, "lambda")}) {
      if (!w.empty()) result.warnings.push_back(w);
    }
  }
  result.grid_parameter = grid_name;
  result.cv_seconds = cv_seconds;

  start = TrainClock::now();
  report(options.progress, "fit", 0.0);
  fit.lambda = result.cv.empty() ? lambdas.front() : result.cv[result.best].lambda;
  fit.alpha = solve_krr(std::move(grid.grams[fit.best_kernel]), fit.lambda, fit.labels.residual);
  report(options.progress, "fit", 1.0);
  result.fit_seconds = seconds_since(start);
  result.sigma = grid.values[fit.best_kernel];
  result.lambda = fit.lambda;
  return fit;
}

// Mean |x|^2 over the atoms: the natural unit of x . y.
double mean_square_norm(const chem::AtomicFeatures& atoms) {
  const double m = atoms.values.rowwise().squaredNorm().mean();
  return m > 0 ? m : 1.0;
}

}  // namespace

TrainResult train_local_krr(const std::vector<chem::Molecule>& molecules,
                            const TrainOptions& options) {
  check_grid(options.sigmas, "sigma", true);
  check_grid(options.block_weights, "block weight", true);
  TrainResult result;
  std::vector<LocalKrr::Block> blocks;
  const GramProvider provider = [&](const chem::RepresentationSpec& spec,
                                    const chem::AtomicFeatures& atoms, const CvRunner& run_cv) {
    const std::vector<std::size_t> sizes = spec.atom_blocks();
    if (sizes.size() == 1) {
      blocks = {{0, atoms.dimension(), 1.0, 1.0}};
      const std::vector<double> sigmas =
          options.sigmas.empty() ? default_local_sigmas(atoms) : options.sigmas;
      GramGrid grid{local_gram_symmetric(atoms, sigmas), sigmas, {}};
      if (options.sigmas.empty()) {
        grid.extend = [&atoms](double sigma) {
          return std::move(local_gram_symmetric(atoms, std::vector<double>{sigma}).front());
        };
      }
      return grid;
    }
    if (!options.sigmas.empty()) {
      throw InputError("--sigma takes one grid for one representation; " +
                       std::string(chem::to_string(options.representation)) +
                       " chooses one sigma per block from its own grid");
    }
    // A sum of one Gaussian per representation block. Each block's sigma is
    // chosen by CV of that block alone (its Gram matrices share one pass over
    // the atom pairs), then the weight of each further block relative to the
    // first by CV of the sums.
    Eigen::MatrixXd first;
    std::vector<Eigen::MatrixXd> rest;
    std::size_t begin = 0;
    for (std::size_t size : sizes) {
      const chem::AtomicFeatures part = atoms.columns(begin, begin + size);
      const std::vector<double> sigmas = sigma_ladder(8.0 * median_atomic_distance(part), 5);
      std::vector<Eigen::MatrixXd> grams = local_gram_symmetric(part, sigmas);
      std::size_t best = 0;
      double best_score = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < grams.size(); ++k) {
        const auto rows = run_cv(grams[k]);
        const CvRow& r = rows[best_cv_row(rows)];
        if (r.ok && r.score < best_score) best_score = r.score, best = k;
      }
      blocks.push_back({begin, begin + size, sigmas[best], 1.0});
      (blocks.size() == 1 ? first : rest.emplace_back()) = std::move(grams[best]);
      begin += size;
    }
    const std::vector<double> weights = options.block_weights.empty()
                                            ? std::vector<double>{0.3, 1, 3, 10, 30}
                                            : options.block_weights;
    auto parts = std::make_shared<std::pair<Eigen::MatrixXd, std::vector<Eigen::MatrixXd>>>(
        std::move(first), std::move(rest));
    const auto weighted_sum = [parts](double w) {
      Eigen::MatrixXd k = parts->first;
      for (const auto& r : parts->second) k += w * r;
      return k;
    };
    GramGrid grid;
    grid.values = weights;
    for (double w : weights) grid.grams.push_back(weighted_sum(w));
    if (options.block_weights.empty()) grid.extend = weighted_sum;
    return grid;
  };
  const std::vector<double> lambda_default{1e-8, 1e-7, 1e-6, 1e-5, 1e-4};
  DualFit fit = fit_local_dual(
      molecules, options, "local-krr", provider,
      options.representation == chem::RepresentationKind::Fchl19Cmbdf ? "weight" : "sigma",
      lambda_default, result);
  if (blocks.size() == 1) {
    blocks[0].sigma = result.sigma;
  } else {
    for (std::size_t k = 1; k < blocks.size(); ++k) blocks[k].weight = result.sigma;
  }
  LocalKrr body;
  body.blocks = std::move(blocks);
  body.lambda = fit.lambda;
  body.alpha = std::move(fit.alpha);
  body.training_atoms = std::move(fit.atoms);
  Model& model = result.model;
  fill_common_model_fields(model, fit.spec, fit.labels, options, molecules.size(), fit.folds,
                           fit.cv_score);
  model.atom_projection = std::move(fit.pca);
  model.atom_frame = AtomFrame::fit(body.training_atoms, fit.spec.elements());
  model.body = std::move(body);
  model.validate();
  return result;
}

TrainResult train_quadratic(const std::vector<chem::Molecule>& molecules,
                            const TrainOptions& options) {
  check_grid(options.coef0s, "coef0", true);
  TrainResult result;
  double scale = 1.0;
  DualFit fit = fit_local_dual(
      molecules, options, "quadratic",
      [&](const chem::RepresentationSpec&, const chem::AtomicFeatures& atoms, const CvRunner&) {
        // (coef0 + x.y / scale)^2 with scale = mean |x|^2: coef0 sets how much
        // the constant and linear terms weigh against the quadratic one.
        scale = mean_square_norm(atoms);
        const std::vector<double> coef0s =
            options.coef0s.empty() ? std::vector<double>{0.5, 1, 2, 4, 8} : options.coef0s;
        std::vector<AtomKernel> kernels;
        for (double c : coef0s) kernels.push_back(AtomKernel::polynomial(2, c, scale));
        GramGrid grid{local_gram_symmetric(atoms, kernels), coef0s, {}};
        if (options.coef0s.empty()) {
          grid.extend = [&atoms, scale](double c) {
            const AtomKernel k[] = {AtomKernel::polynomial(2, c, scale)};
            return std::move(local_gram_symmetric(atoms, k).front());
          };
        }
        return grid;
      },
      "coef0", default_lambdas(), result);
  Model& model = result.model;
  fill_common_model_fields(model, fit.spec, fit.labels, options, molecules.size(), fit.folds,
                           fit.cv_score);
  model.atom_projection = std::move(fit.pca);
  model.atom_frame = AtomFrame::fit(fit.atoms, fit.spec.elements());
  model.body =
      QuadraticAtomicModel::from_dual(fit.atoms, fit.alpha, result.sigma, scale, fit.lambda);
  model.validate();
  return result;
}

}  // namespace encmol::ml
