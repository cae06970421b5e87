#include "encmol/cli/model_options.hpp"

#include <charconv>
#include <cmath>

#include "encmol/cli/common.hpp"
#include "encmol/core/error.hpp"

namespace encmol::cli {
namespace {

// Whole numbers >= `min` from a comma list; InputError naming `option`.
std::vector<std::size_t> parse_counts(const std::vector<std::string>& items, std::string_view option,
                                      std::size_t min) {
  std::vector<std::size_t> out;
  for (const auto& text : split_list(items)) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min) {
      throw InputError(std::string(option) + ": '" + text + "' is not a whole number >= " + std::to_string(min));
    }
    out.push_back(static_cast<std::size_t>(value));
  }
  return out;
}

}  // namespace

void ModelOptions::add_to(CLI::App& command, bool targets_required) {
  auto* target = command.add_option("-t,--target", targets,
                                    "Properties to learn, comma separated (e.g. ae_pbe0 or "
                                    "U0,homo,lumo,gap,mu); all share one kernel");
  if (targets_required) target->required();
  command.add_option("--units", units, "Units of the targets, comma separated (recorded in the model)");
  command.add_option("-f,--family", family,
                     "Model family: krr (global kernel ridge regression), local-krr (local atomic "
                     "kernel), rf (random features of the local kernel, ridge in feature space), "
                     "quadratic (quadratic atomic model, HE-friendly) or nn (HE-friendly atomic network: "
                     "residual blocks h + c*(W h + b)^p per element); all but krr need an atomic "
                     "representation")
      ->capture_default_str();
  command.add_option("-r,--representation", representation,
                     "Representation: cm (sorted Coulomb matrix), bob (Bag of Bonds), or the atomic "
                     "fchl19, cmbdf and fchl19+cmbdf (both per atom; local-krr sums one Gaussian per part) "
                     "(with krr: their global form, atom vectors bagged per element)")
      ->capture_default_str();
  command.add_option("-k,--kernel", kernel, "Kernel of the krr family: gaussian, laplacian, linear or polynomial")
      ->capture_default_str();
  command.add_option("--sigma", sigmas,
                     "Kernel width(s) to cross-validate, comma separated (default krr: the median "
                     "pairwise distance times 2^k, k = -3..4; local-krr: 9 values 1/sqrt(2) apart "
                     "from 16x the median atomic distance down; rf: that median times 1, 2, 4, 8, 16, 32)");
  command.add_option("--lambda", lambdas,
                     "Regularization(s) to cross-validate, comma separated (default: "
                     "1e-10,1e-7,1e-4,1e-1; local-krr: 1e-8..1e-4 by decades; rf: "
                     "1e-11,1e-9,1e-7,1e-5,1e-3). local-krr and quadratic step past an edge of "
                     "a default grid that the best score lands on");
  command.add_option("--gamma", gamma, "Polynomial kernel gamma (0 = 1 / mean squared norm)");
  command.add_option("--coef0", coef0s,
                     "Polynomial kernel coef0 (krr: one value, default 1); quadratic family: the grid "
                     "to cross-validate, comma separated (default 0.5,1,2,4,8)");
  command.add_option(
      "--features", feature_counts,
      "rf family: total random features D to cross-validate, comma separated, split among "
      "the elements (default 2048 minus the elements of the per-element baseline, so that an "
      "encrypted query packs two molecules per ciphertext: D + elements <= 2048 packs two, "
      "<= 1280 three); the fit solves a D x D system");
  command.add_option("--pca", pca_dimensions,
                     "Atomic families: project each element's atom vectors onto this many principal "
                     "components (fitted on the training atoms, stored in the model); 0 = none (default). "
                     "rf: comma separated to cross-validate. Not for local-krr on fchl19+cmbdf (it "
                     "sums one Gaussian per part)");
  command.add_option("--rf-kind", feature_kind,
                     "rf family: random features: orthogonal (structured orthogonal) or fourier (i.i.d. "
                     "Gaussian frequencies)")
      ->capture_default_str();
  command.add_option("--feature-seed", feature_seed,
                     "rf family: seed of the random frequencies (recorded in the model)")
      ->capture_default_str();
  command.add_option("--degree", degree, "Polynomial kernel degree")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  command.add_option("--weights", weights,
                     "local-krr on fchl19+cmbdf: weights of the cMBDF Gaussian relative to the FCHL19 one "
                     "to cross-validate, comma separated (default 0.3,1,3,10,30; each block's sigma is chosen by "
                     "its own CV first)");
  const ml::NetworkOptions nn;
  command.add_option("--depth", depths,
                     "nn: residual power blocks per network (0 = linear atomic model); a comma list is a grid "
                     "chosen on the validation split (default " + std::to_string(nn.depth) + ")");
  command.add_option("--width", widths,
                     "nn: hidden width; a comma list is a grid (default " + std::to_string(nn.width) + ")");
  command.add_option("--power", powers,
                     "nn: activation power, 2 or 3; a comma list is a grid (default " + std::to_string(nn.power) +
                         "). Encrypted depth: 1 + depth * (1 + ceil(log2 power))");
  command.add_option("--epochs", epochs,
                     "nn: at most this many epochs of Adam (default " + std::to_string(nn.epochs) + ")");
  command.add_option("--learning-rate", learning_rate, "nn: Adam step size at the start (default 1e-3)");
  command.add_option("--patience", patience,
                     "nn: stop after this many epochs without a better validation loss (default " +
                         std::to_string(nn.patience) + ")");
  command.add_option("--batch-size", batch,
                     "nn: molecules per minibatch (default " + std::to_string(nn.batch_molecules) + ")");
  command.add_option("--folds", folds, "Cross-validation folds")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  command.add_flag("--no-baseline", no_baseline,
                   "Subtract only the mean, not the per-element (dressed-atom) baseline");
  command.add_option("--delta", delta,
                     "Delta-learning: learn target - xTB quantity, one for all targets or one per target: "
                     "xtb (= xtb-energy, the GFN2-xTB total energy), xtb-gap, xtb-dipole, none. Needs --units; "
                     "the baseline is recomputed (or read from xtb_* properties) at every prediction");
  command.add_option("--seed", seed, "Seed of every random split and fold")->capture_default_str();
  command.add_option("--embedding-seed", embedding_seed,
                     "Seed of the 3-D embedding of SMILES input")
      ->capture_default_str();
}

ml::TrainOptions ModelOptions::to_train_options() const {
  ml::TrainOptions options;
  options.family = ml::parse_model_family(family);
  options.representation = chem::parse_representation_kind(representation);
  options.kernel = ml::parse_kernel_kind(kernel);
  options.sigmas = parse_numbers(sigmas, "--sigma", true);
  options.lambdas = parse_numbers(lambdas, "--lambda", true);
  if (gamma < 0.0) throw InputError("--gamma must be positive (or 0 for automatic)");
  options.gamma = gamma;
  const std::vector<double> coef0 = parse_numbers(coef0s, "--coef0", false);
  if (options.family == ml::ModelFamily::Quadratic) {
    options.coef0s = coef0;
  } else if (coef0.size() > 1) {
    throw InputError("--coef0 takes one value for the " + family + " family (a grid only for quadratic)");
  } else if (!coef0.empty()) {
    options.coef0 = coef0.front();
  }
  const bool rf = options.family == ml::ModelFamily::RandomFeatures;
  if (!rf && !feature_counts.empty()) {
    throw InputError("--features applies to the rf family only (got -f " + family + ")");
  }
  options.feature_counts = parse_counts(feature_counts, "--features", 1);
  const std::vector<std::size_t> pca = parse_counts(pca_dimensions, "--pca", 0);
  if (rf) {
    options.pca_dimensions = pca;
  } else if (pca.size() > 1) {
    throw InputError("--pca takes one value for the " + family + " family (a grid only for rf)");
  } else if (!pca.empty()) {
    options.atom_pca = pca.front();
  }
  options.feature_kind = ml::parse_random_feature_kind(feature_kind);
  options.feature_seed = feature_seed;
  const bool nn = options.family == ml::ModelFamily::Network;
  auto counts = [&](const std::vector<std::string>& items, const char* option) {
    std::vector<std::size_t> out;
    for (double v : parse_numbers(items, option, false)) {
      if (v != std::floor(v) || v > 1e6) throw InputError(std::string(option) + " takes whole numbers, got " + format_number(v));
      out.push_back(static_cast<std::size_t>(v));
    }
    if (!out.empty() && !nn) throw InputError(std::string(option) + " applies to the nn family only (-f nn)");
    return out;
  };
  options.network_depths = counts(depths, "--depth");
  options.network_widths = counts(widths, "--width");
  for (std::size_t p : counts(powers, "--power")) options.network_powers.push_back(static_cast<int>(p));
  if (!nn && (epochs != 0 || learning_rate != 0.0 || patience != 0 || batch != 0)) {
    throw InputError("--epochs, --learning-rate, --patience and --batch-size apply to the nn family only (-f nn)");
  }
  if (learning_rate < 0.0) throw InputError("--learning-rate must be > 0");
  if (epochs != 0) options.network.epochs = epochs;
  if (learning_rate != 0.0) options.network.learning_rate = learning_rate;
  if (patience != 0) options.network.patience = patience;
  if (batch != 0) options.network.batch_molecules = batch;
  // Names the CLI option rather than the library field when a value is out of range.
  for (std::size_t w : options.network_widths) {
    if (w < 1 || w > ml::kMaxNetworkWidth) throw InputError("--width must lie in 1.." + std::to_string(ml::kMaxNetworkWidth));
  }
  for (std::size_t d : options.network_depths) {
    if (d > ml::kMaxNetworkDepth) throw InputError("--depth must lie in 0.." + std::to_string(ml::kMaxNetworkDepth));
  }
  for (int p : options.network_powers) {
    if (p != 2 && p != 3) throw InputError("--power must be 2 or 3, got " + std::to_string(p));
  }
  options.degree = degree;
  options.block_weights = parse_numbers(weights, "--weights", true);
  options.folds = folds;
  options.baseline = !no_baseline;
  options.seed = seed;
  for (const auto& d : split_list(delta)) options.delta.push_back(ml::parse_delta_source(d));
  options.targets = split_list(targets);
  options.units = split_list(units);
  if (!options.units.empty() && options.units.size() != options.targets.size()) {
    throw InputError("--units gives " + std::to_string(options.units.size()) +
                     " units for " + std::to_string(options.targets.size()) + " targets");
  }
  return options;
}

}  // namespace encmol::cli
