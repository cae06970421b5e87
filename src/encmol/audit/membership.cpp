#include "encmol/audit/membership.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>

#include "encmol/audit/krr_engine.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/split.hpp"

namespace encmol::audit {

AttackMetrics evaluate_attack(const std::string& name, const std::vector<double>& scores,
                              const std::vector<char>& is_member) {
  if (scores.size() != is_member.size()) {
    throw ParameterError("evaluate_attack: " + std::to_string(scores.size()) + " scores for " +
                         std::to_string(is_member.size()) + " labels");
  }
  const std::size_t n = scores.size();
  const std::size_t pos =
      static_cast<std::size_t>(std::count(is_member.begin(), is_member.end(), 1));
  const std::size_t neg = n - pos;
  if (pos == 0 || neg == 0) throw ParameterError("evaluate_attack: needs members and non-members");
  for (double s : scores) {
    if (std::isnan(s)) throw ParameterError("evaluate_attack: NaN score");
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  AttackMetrics m;
  m.attack = name;
  m.roc.push_back({0.0, 0.0});
  std::size_t tp = 0, fp = 0;
  double auc = 0.0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i, tp_group = 0, fp_group = 0;
    while (j < n && scores[order[j]] == scores[order[i]]) {
      (is_member[order[j]] ? tp_group : fp_group)++;
      ++j;
    }
    // A tied group adds a straight segment: trapezoid = ties count half.
    auc += static_cast<double>(fp_group) *
           (static_cast<double>(tp) + 0.5 * static_cast<double>(tp_group));
    tp += tp_group;
    fp += fp_group;
    m.roc.push_back({static_cast<double>(fp) / static_cast<double>(neg),
                     static_cast<double>(tp) / static_cast<double>(pos)});
    i = j;
  }
  m.auc = auc / (static_cast<double>(pos) * static_cast<double>(neg));
  for (const auto& p : m.roc) {
    if (p.fpr <= 0.001 + 1e-15) m.tpr_at_0_1pct = std::max(m.tpr_at_0_1pct, p.tpr);
    if (p.fpr <= 0.01 + 1e-15) m.tpr_at_1pct = std::max(m.tpr_at_1pct, p.tpr);
  }
  return m;
}

std::vector<char> random_membership(std::size_t population, std::size_t train_size,
                                    std::uint64_t seed) {
  if (train_size == 0) train_size = population / 2;
  if (train_size > population) {
    throw InputError("the target training size " + std::to_string(train_size) +
                     " exceeds the population of " + std::to_string(population) + " molecules");
  }
  const auto perm = ml::random_permutation(population, seed);
  std::vector<char> member(population, 0);
  for (std::size_t i = 0; i < train_size; ++i) member[perm[i]] = 1;
  return member;
}

namespace {

constexpr double kResidualFloor = 1e-9;

double statistic(double prediction, double label) {
  return -std::log(std::abs(prediction - label) + kResidualFloor);
}

double rounded(double value, double step) {
  return step > 0.0 ? std::round(value / step) * step : value;
}

struct Gaussian {
  double mean = 0.0, var = 1.0;
};

double log_normal(double x, const Gaussian& g) {
  return -0.5 * (x - g.mean) * (x - g.mean) / g.var - 0.5 * std::log(g.var);
}

/// Per-molecule IN / OUT sample statistics over the shadows.
struct ShadowStats {
  double n_in = 0, n_out = 0;
  double mean_in = 0, mean_out = 0;
  double ss_in = 0, ss_out = 0;  // sums of squared deviations
};

/// LiRA scores from shadow statistics (k x n, row = shadow) and memberships.
void lira_scores(const std::vector<std::vector<double>>& stats,
                 const std::vector<std::vector<char>>& in, const std::vector<double>& target_stat,
                 std::vector<double>& online, std::vector<double>& offline) {
  const std::size_t k = stats.size();
  const std::size_t n = target_stat.size();
  constexpr double kPrior = 4.0;  // shrinkage weight of the global variance, in samples
  std::vector<ShadowStats> st(n);
  double pooled_in = 0.0, pooled_out = 0.0, dof_in = 0.0, dof_out = 0.0, shift = 0.0,
         shift_count = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ShadowStats& p = st[i];
    for (std::size_t s = 0; s < k; ++s) {
      if (in[s][i]) {
        p.n_in += 1.0;
        p.mean_in += stats[s][i];
      } else {
        p.n_out += 1.0;
        p.mean_out += stats[s][i];
      }
    }
    if (p.n_in > 0) p.mean_in /= p.n_in;
    if (p.n_out > 0) p.mean_out /= p.n_out;
    for (std::size_t s = 0; s < k; ++s) {
      const double d = stats[s][i] - (in[s][i] ? p.mean_in : p.mean_out);
      (in[s][i] ? p.ss_in : p.ss_out) += d * d;
    }
    pooled_in += p.ss_in;
    pooled_out += p.ss_out;
    dof_in += std::max(0.0, p.n_in - 1.0);
    dof_out += std::max(0.0, p.n_out - 1.0);
    if (p.n_in > 0 && p.n_out > 0) {
      shift += p.mean_in - p.mean_out;
      shift_count += 1.0;
    }
  }
  const double global_in = dof_in > 0 ? std::max(pooled_in / dof_in, 1e-6) : 1.0;
  const double global_out = dof_out > 0 ? std::max(pooled_out / dof_out, 1e-6) : 1.0;
  const double mean_shift = shift_count > 0 ? shift / shift_count : 0.0;
  double global_out_mean = 0.0;
  for (double t : target_stat) global_out_mean += t;
  if (n) global_out_mean /= static_cast<double>(n);
  online.resize(n);
  offline.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const ShadowStats& p = st[i];
    Gaussian gin, gout;
    gin.var = (p.ss_in + kPrior * global_in) / (std::max(0.0, p.n_in - 1.0) + kPrior);
    gout.var = (p.ss_out + kPrior * global_out) / (std::max(0.0, p.n_out - 1.0) + kPrior);
    // Molecules never (or always) in a shadow borrow the average IN-OUT shift.
    gout.mean = p.n_out > 0 ? p.mean_out : (p.n_in > 0 ? p.mean_in - mean_shift : global_out_mean);
    gin.mean = p.n_in > 0 ? p.mean_in : gout.mean + mean_shift;
    online[i] = log_normal(target_stat[i], gin) - log_normal(target_stat[i], gout);
    offline[i] = (target_stat[i] - gout.mean) / std::sqrt(gout.var);
  }
}

}  // namespace

MembershipReport audit_membership(const MembershipSetup& setup, const MembershipOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t n = setup.population.size();
  if (setup.member.size() != n) {
    throw InputError("membership flags (" + std::to_string(setup.member.size()) +
                     ") do not match the population (" + std::to_string(n) + ")");
  }
  const std::size_t members =
      static_cast<std::size_t>(std::count(setup.member.begin(), setup.member.end(), 1));
  if (members < 4 || n - members < 4) {
    throw InputError("membership inference needs at least 4 members and 4 non-members; got " +
                     std::to_string(members) + " and " + std::to_string(n - members));
  }
  if (options.shadows < 2 || options.shadows > 1024) {
    throw InputError("--shadows must be between 2 and 1024 (got " +
                     std::to_string(options.shadows) + ")");
  }
  if (!(options.round_step > 0.0) || !std::isfinite(options.round_step)) {
    throw InputError("the rounding step must be a positive number (got " +
                     std::to_string(options.round_step) + ")");
  }
  if (!(setup.lambda > 0.0) || !std::isfinite(setup.lambda)) {
    throw InputError("lambda must be a positive number (got " + std::to_string(setup.lambda) + ")");
  }
  const double lambda_b = options.regularized_lambda > 0.0 ? options.regularized_lambda
                                                           : std::max(1e-2, 100.0 * setup.lambda);
  if (!std::isfinite(lambda_b)) throw InputError("the regularized lambda must be finite");
  auto progress = [&](double f) {
    if (options.progress) options.progress("membership", f);
  };

  std::vector<chem::Molecule> all = setup.population;
  all.insert(all.end(), setup.target_training_override.begin(),
             setup.target_training_override.end());
  // fit_predict(train, lambdas, eval): per lambda, the predictions for `eval` of a model trained on
  // `train`.
  std::unique_ptr<KrrEngine> engine;
  std::vector<double> y;
  std::function<std::vector<std::vector<double>>(
      const std::vector<std::size_t>&, const std::vector<double>&, const std::vector<std::size_t>&)>
      fit_predict;
  if (!setup.family_training) {
    engine = std::make_unique<KrrEngine>(all, setup.representation, setup.kernel, setup.target,
                                         setup.per_element_baseline);
    y = engine->labels();
    fit_predict = [&](const auto& train, const auto& lambdas, const auto& eval) {
      return engine->fit_predict(train, lambdas, eval);
    };
  } else {
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto it = all[i].properties.find(setup.target);
      if (it == all[i].properties.end())
        throw InputError("molecule " + std::to_string(i + 1) + " has no label '" + setup.target +
                         "'");
      y.push_back(it->second);
    }
    fit_predict = [&](const auto& train, const auto& lambdas, const auto& eval) {
      const std::vector<chem::Molecule> eval_set = ml::select(all, eval);
      std::vector<std::vector<double>> out;
      for (double lambda : lambdas) {
        ml::TrainOptions o = *setup.family_training;
        o.targets = {setup.target};
        o.lambdas = {lambda};
        o.progress = nullptr;
        const Eigen::VectorXd p =
            ml::train(ml::select(all, train), o).model.predict(eval_set).col(0);
        out.emplace_back(p.data(), p.data() + p.size());
      }
      return out;
    };
  }
  progress(0.05);

  std::vector<std::size_t> eval(n);
  std::iota(eval.begin(), eval.end(), std::size_t{0});
  std::vector<std::size_t> target_train;
  if (setup.target_training_override.empty()) {
    for (std::size_t i = 0; i < n; ++i) {
      if (setup.member[i]) target_train.push_back(i);
    }
  } else {
    for (std::size_t i = 0; i < setup.target_training_override.size(); ++i)
      target_train.push_back(n + i);
  }
  const std::vector<double> lambdas{setup.lambda, lambda_b};
  const auto target_pred = fit_predict(target_train, lambdas, eval);

  // Shadow models: the same training size as the target, random subsets of the population.
  const std::size_t k = options.shadows;
  const std::size_t shadow_size = target_train.size() <= n ? target_train.size() : n / 2;
  std::vector<std::vector<char>> in(k, std::vector<char>(n, 0));
  std::vector<std::vector<std::vector<double>>> shadow_pred(k);  // [shadow][lambda][molecule]
  for (std::size_t s = 0; s < k; ++s) {
    const auto perm = ml::random_permutation(n, options.seed ^ (0x9e3779b97f4a7c15ull * (s + 1)));
    std::vector<std::size_t> train(perm.begin(),
                                   perm.begin() + static_cast<std::ptrdiff_t>(shadow_size));
    std::sort(train.begin(), train.end());
    for (std::size_t i : train) in[s][i] = 1;
    shadow_pred[s] = fit_predict(train, lambdas, eval);
    progress(0.05 + 0.9 * static_cast<double>(s + 1) / static_cast<double>(k));
  }

  MembershipReport report;
  report.population = n;
  report.members = members;
  report.shadows = k;
  report.target = setup.target;
  report.kernel = setup.kernel;
  report.model = setup.family_training
                     ? std::string(ml::to_string(setup.family_training->family)) + " on " +
                           std::string(chem::to_string(setup.representation.kind()))
                     : setup.kernel.describe();
  struct Spec {
    std::string name, description;
    std::size_t lambda_index;
    double step;
  };
  const std::vector<Spec> specs{
      {"a-default", "the model as trained", 0, 0.0},
      {"b-regularized", "ridge lambda raised", 1, 0.0},
      {"c-rounded", "answers rounded", 0, options.round_step},
  };
  for (const auto& spec : specs) {
    MembershipConfig c;
    c.name = spec.name;
    c.description = spec.description;
    c.lambda = lambdas[spec.lambda_index];
    c.round_step = spec.step;
    std::vector<double> target_stat(n);
    double mae_in = 0.0, mae_out = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double p = rounded(target_pred[spec.lambda_index][i], spec.step);
      target_stat[i] = statistic(p, y[i]);
      (setup.member[i] ? mae_in : mae_out) += std::abs(p - y[i]);
    }
    c.member_mae = mae_in / static_cast<double>(members);
    c.non_member_mae = mae_out / static_cast<double>(n - members);
    std::vector<std::vector<double>> stats(k, std::vector<double>(n));
    for (std::size_t s = 0; s < k; ++s) {
      for (std::size_t i = 0; i < n; ++i) {
        stats[s][i] = statistic(rounded(shadow_pred[s][spec.lambda_index][i], spec.step), y[i]);
      }
    }
    std::vector<double> online, offline;
    lira_scores(stats, in, target_stat, online, offline);
    c.loss = evaluate_attack("loss threshold", target_stat, setup.member);
    c.lira_online = evaluate_attack("LiRA online", online, setup.member);
    c.lira_offline = evaluate_attack("LiRA offline", offline, setup.member);
    report.configs.push_back(std::move(c));
  }
  progress(1.0);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace encmol::audit
