#include "encmol/audit/extraction.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <variant>

#include "encmol/audit/krr_engine.hpp"
#include "encmol/audit/reconstruct.hpp"
#include "encmol/audit/refit_options.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/split.hpp"

namespace encmol::audit {

std::vector<std::size_t> default_budgets(std::size_t max_budget) {
  std::vector<std::size_t> out;
  // 16, 24, 32, 48, 64, 96, ...: two points per doubling.
  for (std::size_t b = 16; b < max_budget; b *= 2) {
    out.push_back(b);
    if (b + b / 2 < max_budget) out.push_back(b + b / 2);
  }
  out.push_back(max_budget);
  return out;
}

namespace {

/// Standard normal from a 64-bit generator (Box–Muller on 53-bit uniforms),
/// identical on every platform unlike std::normal_distribution.
double normal(std::mt19937_64& rng) {
  constexpr double kTwoPi = 6.283185307179586;
  const double u1 = (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

ExtractionReport audit_extraction(const ml::Model& victim,
                                  const std::vector<chem::Molecule>& attacker,
                                  const ExtractionOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.target >= victim.target_count()) {
    throw InputError("target index " + std::to_string(options.target) + " but the model has " +
                     std::to_string(victim.target_count()) + " target(s)");
  }
  if (options.max_budget < 4) throw InputError("the query budget must be at least 4");
  if (options.eval_size < 10) throw InputError("the evaluation set needs at least 10 molecules");
  if (!(options.tolerance > 0.0) || !std::isfinite(options.tolerance)) {
    throw InputError("the tolerance must be a positive number");
  }
  if (!(options.round_step >= 0.0) || !std::isfinite(options.round_step)) {
    throw InputError("the rounding step must be >= 0");
  }
  if (options.perturbed_copies > 1000)
    throw InputError("at most 1000 perturbed copies per molecule");
  if (options.perturbed_copies &&
      (!(options.perturbation_sigma > 0.0) || !(options.perturbation_sigma <= 1.0))) {
    throw InputError("the perturbation sigma must be in (0, 1] Å");
  }
  for (std::size_t b : options.budgets) {
    if (b < 2) throw InputError("every budget must be at least 2 queries");
  }
  const std::string target = victim.targets[options.target];
  ExtractionReport report;
  report.target = target;
  report.tolerance = options.tolerance;
  report.round_step = options.round_step;

  // Usable attacker molecules: accepted by the interface, not training molecules.
  std::vector<char> usable(attacker.size(), 1);
  for (std::size_t i = 0; i < attacker.size(); ++i) {
    try {
      victim.representation.check(attacker[i]);
    } catch (const InputError&) {
      usable[i] = 0;
      ++report.excluded_unfit;
    }
  }
  // Only a global kernel model stores its training rows to match against; the other families store
  // none.
  const bool kernel_victim = victim.family() == ml::ModelFamily::GlobalKrr;
  if (kernel_victim) {
    for (const auto& match : match_training_rows(victim, attacker)) {
      if (match && usable[*match]) {
        usable[*match] = 0;
        ++report.excluded_training;
      }
    }
  }
  std::vector<std::size_t> pool;
  for (std::size_t i : ml::random_permutation(attacker.size(), options.seed)) {
    if (usable[i]) pool.push_back(i);
  }
  report.pool = pool.size();
  if (pool.size() < options.eval_size + 4) {
    throw InputError("the attacker has " + std::to_string(pool.size()) +
                     " usable molecules (not in the training set, accepted by the model); it needs "
                     "the evaluation set (" +
                     std::to_string(options.eval_size) +
                     ") plus at least 4 queries. Give more data or a smaller --eval-size");
  }
  std::vector<chem::Molecule> eval, queries;
  for (std::size_t k = 0; k < pool.size(); ++k) {
    (k < options.eval_size ? eval : queries).push_back(attacker[pool[k]]);
  }
  const std::size_t originals = queries.size();
  std::mt19937_64 rng(options.seed ^ 0x5bd1e9955bd1e995ull);
  for (std::size_t c = 0; c < options.perturbed_copies && queries.size() < options.max_budget;
       ++c) {
    for (std::size_t i = 0; i < originals && queries.size() < options.max_budget; ++i) {
      chem::Molecule m = queries[i];
      m.name.append(1, '~').append(std::to_string(c + 1));
      for (auto& p : m.positions) {
        for (double& v : p) v += options.perturbation_sigma * normal(rng);
      }
      try {
        chem::validate_molecule(m, m.name);
      } catch (const InputError&) {
        continue;  // two atoms pushed together: not a molecule worth asking about
      }
      queries.push_back(std::move(m));
    }
  }
  report.available_queries = queries.size();
  const std::size_t max_q = std::min(options.max_budget, queries.size());
  queries.resize(max_q);
  std::vector<std::size_t> budgets =
      options.budgets.empty() ? default_budgets(max_q) : options.budgets;
  std::sort(budgets.begin(), budgets.end());
  budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
  budgets.erase(
      std::remove_if(budgets.begin(), budgets.end(), [&](std::size_t b) { return b > max_q; }),
      budgets.end());
  if (budgets.empty())
    throw InputError("no budget fits the " + std::to_string(max_q) + " available queries");
  report.eval_size = eval.size();

  // The interface's answers, and the victim's exact predictions on the evaluation set.
  const Eigen::MatrixXd answers_m = victim.predict(queries);
  std::vector<double> answers(max_q);
  for (std::size_t i = 0; i < max_q; ++i) {
    const double a =
        answers_m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(options.target));
    answers[i] =
        options.round_step > 0.0 ? std::round(a / options.round_step) * options.round_step : a;
  }
  const Eigen::VectorXd victim_eval =
      victim.predict(eval).col(static_cast<Eigen::Index>(options.target));
  const bool have_truth = std::all_of(eval.begin(), eval.end(), [&](const chem::Molecule& m) {
    return m.properties.count(target) != 0;
  });
  std::vector<double> truth;
  if (have_truth) {
    double mae = 0.0;
    for (std::size_t i = 0; i < eval.size(); ++i) {
      truth.push_back(eval[i].properties.at(target));
      mae += std::abs(victim_eval(static_cast<Eigen::Index>(i)) - truth.back());
    }
    report.victim_mae_vs_truth = mae / static_cast<double>(eval.size());
  }

  auto score = [&](const std::vector<double>& predicted, ExtractionPoint& point) {
    double mae = 0.0, mse = 0.0, mae_t = 0.0;
    for (std::size_t i = 0; i < eval.size(); ++i) {
      const double d = predicted[i] - victim_eval(static_cast<Eigen::Index>(i));
      mae += std::abs(d);
      mse += d * d;
      if (have_truth) mae_t += std::abs(predicted[i] - truth[i]);
    }
    const auto n = static_cast<double>(eval.size());
    point.mae_vs_victim = mae / n;
    point.rmse_vs_victim = std::sqrt(mse / n);
    if (have_truth) point.mae_vs_truth = mae_t / n;
  };

  // The surrogate's predictions on the evaluation molecules after the first q answers.
  std::function<std::vector<double>(std::size_t)> surrogate;
  std::unique_ptr<KrrEngine> engine;
  std::vector<std::size_t> eval_idx;
  const std::string key = "victim_answer";
  std::vector<chem::Molecule> labelled = queries;
  for (std::size_t i = 0; i < max_q; ++i) labelled[i].properties[key] = answers[i];
  if (kernel_victim && !options.surrogate_cv) {
    // The victim's own kernel and lambda: one Gram matrix serves every budget.
    std::vector<chem::Molecule> all = queries;
    all.insert(all.end(), eval.begin(), eval.end());
    std::vector<double> labels = answers;
    labels.resize(all.size(), 0.0);  // evaluation molecules are never trained on
    engine = std::make_unique<KrrEngine>(all, victim.representation, victim.global_krr().kernel,
                                         std::move(labels), victim.baseline.per_element);
    for (std::size_t i = 0; i < eval.size(); ++i) eval_idx.push_back(max_q + i);
    surrogate = [&](std::size_t q) {
      std::vector<std::size_t> train(q);
      std::iota(train.begin(), train.end(), std::size_t{0});
      return engine->fit_predict(train, {victim.global_krr().lambda}, eval_idx)[0];
    };
  } else {
    surrogate = [&](std::size_t q) {
      const std::vector<chem::Molecule> train(labelled.begin(),
                                              labelled.begin() + static_cast<std::ptrdiff_t>(q));
      ml::TrainOptions to;
      if (kernel_victim) {  // cross-validated sigma and lambda, the victim's kernel kind and
                            // baseline
        to.representation = victim.representation.kind();
        to.representation_options = chem::capacity_for(eval);
        to.kernel = victim.global_krr().kernel.kind;
        to.baseline = victim.baseline.per_element;
        to.seed = options.seed;
        to.folds = static_cast<int>(std::min<std::size_t>(4, q));
      } else {
        to = refit_options(victim, options.target, eval, options.seed);
        // A projection needs more atoms than components; below that the surrogate uses the raw
        // vectors.
        std::size_t atoms = 0;
        for (const auto& m : train) atoms += m.size();
        if (to.atom_pca >= atoms / 2) to.atom_pca = 0;
      }
      to.targets = {key};
      const Eigen::VectorXd p = ml::train(train, to).model.predict(eval).col(0);
      return std::vector<double>(p.data(), p.data() + p.size());
    };
  }
  for (std::size_t b = 0; b < budgets.size(); ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    ExtractionPoint point;
    point.queries = budgets[b];
    score(surrogate(budgets[b]), point);
    point.seconds = seconds_since(t0);
    report.points.push_back(point);
    if (options.progress)
      options.progress("extraction",
                       static_cast<double>(b + 1) / static_cast<double>(budgets.size()));
  }
  for (const auto& p : report.points) {
    if (p.mae_vs_victim <= options.tolerance) {
      if (!report.queries_to_tolerance) report.queries_to_tolerance = p.queries;
    } else if (!report.queries_to_tolerance) {
      report.largest_safe_budget = p.queries;
    }
  }
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace encmol::audit
