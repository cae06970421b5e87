// Black-box model extraction (model stealing) through the prediction
// interface.
//
// The attacker owns molecules of its own (disjoint from the victim's training
// set: any molecule whose representation equals a training row is removed),
// sends Q of them as queries, and trains a surrogate KRR on the answers. The
// representation is public in encmol (clients featurize their own molecules),
// and by Kerckhoffs' principle the attacker also knows the kernel and its
// hyper-parameters, so by default the surrogate uses the victim's kernel,
// sigma, lambda and baseline kind — the strongest black-box attacker short of
// knowing the training molecules. (ExtractionOptions::surrogate_cv instead
// cross-validates sigma and lambda on the answers, as an attacker who does not
// know them would.)
//
// A victim of another family (local-krr, rf, quadratic, nn) stores no
// training rows to match, so no attacker molecule is excluded, and the
// surrogate is the victim's own family, representation, projection size, Δ
// baseline and fitted hyper-parameters, trained on the answers.
//
// For each budget Q (nested query sets, so larger budgets extend smaller ones)
// the surrogate is evaluated on separate held-out attacker molecules: MAE
// against the victim's answers (how well the model was stolen) and against
// the true labels when the molecules carry them. The smallest Q whose MAE
// against the victim is within the tolerance is the extraction cost; a
// per-client budget below it keeps every surrogate worse than the tolerance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::audit {

struct ExtractionOptions {
  /// Largest number of queries (the attacker's budget).
  std::size_t max_budget = 1024;
  /// Budgets evaluated; empty = 16, 24, 32, 48, 64, ... up to max_budget, and max_budget.
  std::vector<std::size_t> budgets;
  /// Held-out attacker molecules for evaluating the surrogate.
  std::size_t eval_size = 500;
  /// Surrogate within this MAE of the victim's answers counts as extracted.
  double tolerance = 1.0;
  /// The interface rounds its answers to this step (0 = exact answers).
  double round_step = 0.0;
  /// Extra queries made by perturbing the attacker's molecules: each molecule
  /// yields this many copies with every coordinate displaced by N(0, sigma^2) Å.
  std::size_t perturbed_copies = 0;
  double perturbation_sigma = 0.05;
  /// Cross-validate the surrogate's sigma and lambda instead of using the victim's.
  bool surrogate_cv = false;
  /// Which target of the victim to attack (index into model.targets).
  std::size_t target = 0;
  std::uint64_t seed = 42;
  ml::ProgressCallback progress;
};

struct ExtractionPoint {
  std::size_t queries = 0;
  double mae_vs_victim = 0.0;
  double rmse_vs_victim = 0.0;
  std::optional<double> mae_vs_truth;  // when the evaluation molecules carry the label
  double seconds = 0.0;                // surrogate training + evaluation
};

struct ExtractionReport {
  std::string target;
  std::size_t pool = 0;               // usable attacker molecules
  std::size_t excluded_training = 0;  // attacker molecules found in the training set
  std::size_t excluded_unfit = 0;     // molecules the interface would refuse
  std::size_t eval_size = 0;
  std::size_t available_queries = 0;  // query molecules available (incl. perturbed copies)
  double tolerance = 0.0;
  double round_step = 0.0;
  std::optional<double> victim_mae_vs_truth;  // the victim's own error on the evaluation set
  std::vector<ExtractionPoint> points;
  /// Smallest evaluated budget within the tolerance (none if never reached).
  std::optional<std::size_t> queries_to_tolerance;
  /// Largest evaluated budget whose surrogate is still worse than the tolerance.
  std::size_t largest_safe_budget = 0;
  double seconds = 0.0;
};

/// Runs the attack (see the top of this file). Deterministic for a seed.
/// Throws InputError when the attacker has too few usable molecules, the
/// options are invalid or the target index is out of range.
ExtractionReport audit_extraction(const ml::Model& victim,
                                  const std::vector<chem::Molecule>& attacker,
                                  const ExtractionOptions& options);

/// Default budget grid (see ExtractionOptions::budgets).
std::vector<std::size_t> default_budgets(std::size_t max_budget);

}  // namespace encmol::audit
