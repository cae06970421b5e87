// Training of the nn family (train.hpp: train_network): featurize, labels and
// baseline as for every family (train_setup.hpp), then one network per point
// of the (depth, width, power) grid on the residual labels; the network with
// the lowest validation loss is kept. Every grid point uses the same seeded
// validation split, so their losses compare like with like.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "encmol/core/error.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/network_training.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/ml/train_setup.hpp"

namespace encmol::ml {
namespace {

std::string g4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::string architecture(std::size_t depth, std::size_t width, int power) {
  return "nn depth " + std::to_string(depth) + ", width " + std::to_string(width) + ", power " +
         std::to_string(power);
}

struct GridPoint {
  std::size_t depth, width;
  int power;
};

std::vector<GridPoint> network_grid(const TrainOptions& options) {
  const std::vector<std::size_t> depths = options.network_depths.empty()
                                              ? std::vector<std::size_t>{options.network.depth}
                                              : options.network_depths;
  const std::vector<std::size_t> widths = options.network_widths.empty()
                                              ? std::vector<std::size_t>{options.network.width}
                                              : options.network_widths;
  const std::vector<int> powers = options.network_powers.empty()
                                      ? std::vector<int>{options.network.power}
                                      : options.network_powers;
  constexpr std::size_t kMaxGrid = 64;
  if (depths.size() * widths.size() * powers.size() > kMaxGrid) {
    throw ParameterError("the nn architecture grid has " +
                         std::to_string(depths.size() * widths.size() * powers.size()) +
                         " points (depths x widths x powers); at most " + std::to_string(kMaxGrid) +
                         " are allowed");
  }
  std::vector<GridPoint> grid;
  for (std::size_t d : depths) {
    for (std::size_t w : widths) {
      for (int p : powers) grid.push_back({d, w, p});
    }
  }
  return grid;
}

// Mean absolute error per target (label units) of the network on `molecules`.
std::vector<double> subset_mae(const AtomicNetwork& network, const chem::AtomicFeatures& atoms,
                               const Eigen::MatrixXd& residual,
                               const std::vector<std::size_t>& molecules) {
  std::vector<double> mae(static_cast<std::size_t>(residual.cols()), 0.0);
  if (molecules.empty()) return mae;
  const Eigen::MatrixXd predicted = network.predict(atoms.select(molecules));
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    for (Eigen::Index t = 0; t < residual.cols(); ++t) {
      mae[static_cast<std::size_t>(t)] +=
          std::fabs(predicted(static_cast<Eigen::Index>(i), t) -
                    residual(static_cast<Eigen::Index>(molecules[i]), t));
    }
  }
  for (double& v : mae) v /= static_cast<double>(molecules.size());
  return mae;
}

}  // namespace

TrainResult train_network(const std::vector<chem::Molecule>& molecules,
                          const TrainOptions& options) {
  if (!chem::is_atomic(options.representation)) {
    throw InputError("the nn family needs an atomic representation (-r fchl19 or -r cmbdf); '" +
                     std::string(chem::to_string(options.representation)) + "' is global");
  }
  const std::vector<GridPoint> grid = network_grid(options);
  for (const auto& g : grid) {  // every grid point is valid before any work
    NetworkOptions o = options.network;
    o.depth = g.depth;
    o.width = g.width;
    o.power = g.power;
    o.validate();
  }
  if (grid.size() > 1 && !(options.network.validation_fraction > 0)) {
    throw ParameterError(
        "choosing among several network architectures needs a validation fraction > 0");
  }

  TrainResult result;
  auto start = TrainClock::now();
  report(options.progress, "featurize", 0.0);
  const chem::RepresentationSpec spec = chem::RepresentationSpec::fit(
      options.representation, molecules, options.representation_options);
  chem::AtomicFeatures atoms = spec.featurize_atoms(molecules);
  AtomicPca pca;
  if (options.atom_pca > 0) {  // unsupervised: fitted on all training atoms
    pca = AtomicPca::fit(atoms, options.atom_pca);
    atoms = pca.project(atoms);
  }
  report(options.progress, "featurize", 1.0);
  result.featurize_seconds = seconds_since(start);

  const LabelSetup labels = prepare_labels(molecules, spec.elements(), options);

  start = TrainClock::now();
  std::size_t best = 0;
  double best_loss = std::numeric_limits<double>::infinity();
  AtomicNetwork best_network;
  std::vector<double> best_mae;
  for (std::size_t k = 0; k < grid.size(); ++k) {
    NetworkOptions o = options.network;
    o.depth = grid[k].depth;
    o.width = grid[k].width;
    o.power = grid[k].power;
    o.seed = options.seed;
    o.progress = [&](std::size_t epoch, std::size_t epochs, double, double) {
      report(options.progress, "fit",
             (static_cast<double>(k) + static_cast<double>(epoch) / static_cast<double>(epochs)) /
                 static_cast<double>(grid.size()));
    };
    NetworkFit fit = train_atomic_network(atoms, labels.residual, labels.scale, o);
    const double loss = fit.best_loss;  // of the kept weights: validation, else training
    const std::vector<double> mae = subset_mae(fit.network, atoms, labels.residual, fit.validation);
    std::string line = architecture(o.depth, o.width, o.power) + " (encrypted depth " +
                       std::to_string(fit.network.multiplicative_depth()) + "): ";
    if (!fit.validation.empty()) {
      line += "validation MAE";
      for (double v : mae) line += " " + g4(v);
      line += " (" + std::to_string(fit.validation.size()) + " molecules), ";
    }
    line += "best epoch " + std::to_string(fit.best_epoch) + " of " +
            std::to_string(fit.train_loss.size()) + " run, stopped: " + fit.stop_reason + ", " +
            g4(fit.seconds) + " s";
    result.notes.push_back(line);
    if (fit.best_epoch == 0) {
      result.warnings.push_back(
          architecture(o.depth, o.width, o.power) +
          ": training never improved on the initial weights (try a smaller --learning-rate)");
    }
    if (loss < best_loss || k == 0) {
      best = k;
      best_loss = loss;
      best_network = std::move(fit.network);
      best_mae = mae;
    }
  }
  if (grid.size() > 1) {
    result.notes.push_back("chosen by validation loss: " +
                           architecture(grid[best].depth, grid[best].width, grid[best].power));
  }
  report(options.progress, "fit", 1.0);
  result.fit_seconds = seconds_since(start);
  result.grid_parameter = "depth";
  result.sigma = static_cast<double>(grid[best].depth);

  // The validation score in the place of a CV score: mean over targets of
  // MAE / label_scale on the validation molecules (0 without them).
  double score = 0.0;
  for (std::size_t t = 0; t < best_mae.size(); ++t) score += best_mae[t] / labels.scale[t];
  score /= static_cast<double>(std::max<std::size_t>(1, best_mae.size()));
  Model& model = result.model;
  fill_common_model_fields(model, spec, labels, options, molecules.size(), 0, score);
  model.atom_projection = std::move(pca);
  model.atom_frame = AtomFrame::fit(atoms, spec.elements());
  model.body = std::move(best_network);
  model.validate();
  return result;
}

}  // namespace encmol::ml
