#include "encmol/secure/error_budget.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace encmol::secure::budget_math {

double op_sigma(std::size_t n, std::size_t dnum, double delta) {
  return static_cast<double>(n) * (0.25 + 2.0 * std::sqrt(static_cast<double>(dnum))) / delta;
}

double fresh_sigma(std::size_t n, double delta) {
  return 3.3 * std::sqrt(static_cast<double>(n)) / delta;
}

double rounding_step(double bound) {
  if (!(bound > 0)) return 1e-12;
  const double decade = std::pow(10.0, std::floor(std::log10(bound)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * decade >= bound) return m * decade;
  return 10.0 * decade;
}

// Scales above 2^50 leave fewer integer bits in the 60-bit first prime (and lose the IFMA NTT).
int integer_bits(int scale_bits) { return scale_bits <= 50 ? 10 : 60 - scale_bits; }

void choose_weight_scales(Plan& p, const std::vector<double>& magnitude) {
  const double out_bound = std::ldexp(1.0, integer_bits(p.scale_bits) - 3);
  const std::size_t nt = p.targets;
  p.weight_scale.assign(nt, 1.0);
  double tol_min = 1e300;
  for (const auto& b : p.budget) tol_min = std::min(tol_min, b.tolerance);
  double shift = 0;  // common factor
  for (std::size_t t = 0; t < nt; ++t) {
    p.weight_scale[t] = std::exp2(std::round(std::log2(p.budget[t].tolerance / tol_min)));
    shift = std::max(shift, magnitude[t] / (out_bound * p.weight_scale[t]));
  }
  const double common = shift > 1.0 ? std::exp2(std::ceil(std::log2(shift))) : 1.0;
  for (double& w : p.weight_scale) w *= common;
}

double finish_budget(Plan& p, const PlanOptions& options, const std::vector<double>& approximation,
                     const std::vector<double>& noise, bool& ok) {
  const std::size_t nt = p.targets;
  const double delta = std::ldexp(1.0, p.scale_bits);
  double worst_noise_raw = 0;  // ciphertext units (before multiplying by W)
  for (std::size_t t = 0; t < nt; ++t)
    worst_noise_raw = std::max(worst_noise_raw, noise[t] / p.weight_scale[t]);
  // The flood's coefficient std is 2^bits x the reply's coefficient noise bound.
  const double nn = static_cast<double>(p.params.n());
  const double coeff_noise = worst_noise_raw * delta * std::sqrt(2.0 / nn);
  // Flood slot bound per 2^bits, in ciphertext units (times W_t for target t).
  const double flood_unit = kTail * coeff_noise * std::sqrt(nn / 2.0) / delta;
  int bits = -1;
  for (int fb = options.max_flood_bits; fb >= options.min_flood_bits; --fb) {
    bool fits = true;
    for (std::size_t t = 0; t < nt; ++t)
      if (approximation[t] + noise[t] + p.weight_scale[t] * std::ldexp(flood_unit, fb) >
          p.budget[t].tolerance)
        fits = false;
    if (fits && std::ldexp(coeff_noise, fb) <= std::ldexp(1.0, 40)) {
      bits = fb;
      break;
    }
  }
  const int use_bits = bits >= 0 ? bits : options.min_flood_bits;
  p.flood_bits = use_bits;
  p.flood_sigma = std::max(1.0, std::ldexp(coeff_noise, use_bits));
  const double flood = kTail * p.flood_sigma * std::sqrt(nn / 2.0) / delta;
  double worst = 0;
  for (std::size_t t = 0; t < nt; ++t) {
    auto& b = p.budget[t];
    b.approximation = approximation[t];
    b.noise = noise[t];
    b.flooding = p.weight_scale[t] * flood;
    b.bound = b.approximation + b.noise + b.flooding;
    b.rounding_step = rounding_step(b.bound);
    worst = std::max(worst, b.bound / b.tolerance);
  }
  ok = bits >= 0 && worst <= 1.0;
  return worst;
}

Plan plan_skeleton(const ml::Model& model, const PlanOptions& options, PlanFamily family) {
  Plan p;
  p.family = family;
  p.model_hash = model_hash(model);
  p.options = options;
  p.targets = model.target_count();
  p.training_size = std::max<std::size_t>(1, model.training_size());
  return p;
}

double target_tolerance(const ml::Model& model, const PlanOptions& options, std::size_t t) {
  if (options.tolerance > 0) return options.tolerance;
  const bool spread = t < model.label_scale.size() && model.label_scale[t] > 0;
  return options.relative_tolerance * (spread ? model.label_scale[t] : 1.0);
}

bool preferred_plan(const Plan& candidate, const Plan& best) {
  if (candidate.params.log_n != best.params.log_n)
    return candidate.params.log_n < best.params.log_n;
  const bool fast = candidate.scale_bits <= 50, best_fast = best.scale_bits <= 50;
  if (fast != best_fast) return fast;
  return candidate.flood_bits > best.flood_bits;
}

std::string over_budget_message(const Plan& p, double worst, const char* weights_name) {
  std::size_t wt = 0;
  for (std::size_t t = 0; t < p.targets; ++t)
    if (p.budget[t].bound / p.budget[t].tolerance > p.budget[wt].bound / p.budget[wt].tolerance)
      wt = t;
  const auto& b = p.budget[wt];
  return fmt::format(
      "at scale 2^{} the bound of target {} is {:.3g} x its tolerance {:.3g}: approximation {:.3g} "
      "+ noise {:.3g} + "
      "flooding {:.3g} (2^{}), {} {:.3g}",
      p.scale_bits, wt, worst, b.tolerance, b.approximation, b.noise, b.flooding, p.flood_bits,
      weights_name, b.sum_abs_alpha);
}

}  // namespace encmol::secure::budget_math
