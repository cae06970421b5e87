// Compiling a model into an encrypted evaluation plan: CKKS parameters, packing
// and the error budget (noise bounds, flooding) chosen by trying scales.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <sstream>
#include <variant>

#include "encmol/core/error.hpp"
#include "encmol/secure/atomic_plan.hpp"
#include "encmol/secure/error_budget.hpp"
#include "encmol/secure/feature_plan.hpp"
#include "encmol/secure/plan.hpp"

namespace encmol::secure {
namespace {

using namespace budget_math;

struct Candidate {
  Plan plan;
  bool ok = false;
  double worst_ratio = 0;  // max_t bound_t / tol_t
  std::string why;
};

// Slots of one query window as the server rebuilds it (at least rows + C - 1), whatever the ring.
std::size_t window_slots(std::size_t rows, std::size_t period) {
  return he::plan_replication(rows + period - 1, period, 1, std::size_t{1} << 30).stride();
}

// mt_alpha[t] = || |M|^T |alpha_t| ||_2 and alpha_l2[t] =
// ||alpha_t||_2 (both times U^deg): the noise of the encrypted input enters every kernel value
// through the same slots (correlated), the noise each later operation adds is independent from slot
// to slot.
Candidate try_scale(const ml::Model& model, const PlanOptions& opt, Plan base, int scale_bits,
                    const std::vector<double>& mt_alpha, const std::vector<double>& alpha_l2,
                    double max_count) {
  Candidate c;
  Plan& p = base;
  p.scale_bits = scale_bits;
  const std::size_t nt = p.targets;
  const std::size_t n = p.training_size;
  const int ibits = integer_bits(scale_bits);
  std::vector<double> magnitude(nt);
  for (std::size_t t = 0; t < nt; ++t) {
    double s = std::fabs(
        model.baseline.mean.size() > 0 ? model.baseline.mean(static_cast<Eigen::Index>(t)) : 0.0);
    if (model.baseline.per_element)
      for (Eigen::Index e = 0; e < model.baseline.coefficients.rows(); ++e)
        s += std::fabs(model.baseline.coefficients(e, static_cast<Eigen::Index>(t))) * max_count;
    magnitude[t] = p.budget[t].sum_abs_alpha + s;
  }
  choose_weight_scales(p, magnitude);
  // Kernel stage depth.
  int kdepth = 0;
  he::ExpApproximation approx;
  double min_ratio = 1e300;  // min_t tol_t / A_t
  for (const auto& b : p.budget)
    min_ratio = std::min(min_ratio, b.tolerance / std::max(b.sum_abs_alpha, 1e-300));
  if (p.kernel == ml::KernelKind::Gaussian) {
    p.exp_target = std::min(0.25 * min_ratio, 0.5);
    if (!(p.exp_target > 1e-15)) {
      c.why = fmt::format(
          "the kernel would need an approximation error of {:.3g} (sum|alpha| = {:.3g} against a "
          "tolerance of {:.3g})",
          p.exp_target, p.budget.front().sum_abs_alpha, p.budget.front().tolerance);
      return c;
    }
    he::ExpApproxOptions eo;
    eo.affine_in_polynomial = false;
    eo.max_depth = 24;
    eo.weighted = nt == 1;
    try {
      approx = he::choose_exp_approximation(p.T, p.exp_target, eo);
    } catch (const ParameterError& e) {
      c.why = std::string("no exp approximation fits: ") + e.what();
      return c;
    }
    p.exp_degree = static_cast<int>(approx.poly.degree());
    p.exp_squarings = approx.squarings;
    p.exp_error = approx.error_bound;
    // One target: the weights ride in the polynomial's leaves (no level of their own without
    // squarings).
    p.weights_in_leaves = nt == 1;
    kdepth = p.weights_in_leaves ? he::exp_weighted_depth(approx) : approx.depth + 1;
  } else if (p.degree > 1) {
    he::ChebyshevPoly mono =
        he::chebyshev_interpolate([d = p.degree](double v) { return std::pow(v, d); }, -1.0, 1.0,
                                  static_cast<std::size_t>(p.degree));
    p.weights_in_leaves = nt == 1;
    kdepth = he::chebyshev_depth(mono) + (p.weights_in_leaves ? 0 : 1);
  } else {
    kdepth = 1;  // linear: k = y, the weights cost their own level
  }
  // layout mask and matrix-vector product (two rescales) + kernel and weights + result mask
  p.depth = 2 + kdepth + 1;

  const std::size_t stride_min = window_slots(p.rows, p.period);
  ckks::CircuitOptions co;
  co.integer_bits = ibits;
  try {
    p.params = ckks::Parameters::for_circuit(p.depth, scale_bits, std::bit_ceil(stride_min), 0, co);
  } catch (const ParameterError& e) {
    c.why = std::string("no 128-bit CKKS parameters fit: ") + e.what();
    return c;
  }
  p.slots = p.params.slots();
  // Batching: rows padded so that each query's stride covers a whole sum block.
  std::size_t rows_b = std::max(n, p.sum_block > p.period - 1 ? p.sum_block - (p.period - 1) : n);
  std::size_t q = p.slots / window_slots(rows_b, p.period);
  if (opt.max_batch > 0) q = std::min<std::size_t>(q, opt.max_batch);
  if (q >= 2) {
    p.rows = rows_b;
    p.queries = q;
  } else {
    p.rows = n;
    p.queries = 1;
  }
  const he::ReplicationLayout layout = p.replication();
  const he::MatVecPlan mv = p.matvec_plan();
  p.query_stride = mv.query_stride;
  if (p.query_stride < p.sum_block && p.queries > 1) {
    c.why = "internal: query stride below the sum block";
    return c;
  }
  std::vector<int> back;
  for (std::size_t t = 1; t < nt; ++t) back.push_back(static_cast<int>(p.slots - t));
  p.galois_steps = he::merge_steps(
      {layout.galois_steps(), mv.galois_steps(), he::sum_slots_steps(p.sum_block, p.slots), back},
      p.slots);

  // ---- noise (see the top of plan.hpp)
  const double delta = std::ldexp(1.0, scale_bits);
  const double so = op_sigma(p.params.n(), p.params.dnum, delta);
  // The query's encryption and encoding noise (every replica carries the same: the correlated
  // term). The layout mask is not rescaled before the product, so its rounding and the
  // replication's key switching add noise ~q times below this (Server::evaluate_one).
  const double sfresh = fresh_sigma(p.params.n(), delta);
  // Independent per-slot noise of y. The layout mask is rescaled only after the product, so the
  // replication, the baby and giant rotations and the first rescale all act at scale ~Delta q^2 or
  // Delta q, where their noise is ~2^-50 of a rescale's at Delta: what is left is the last rescale
  // (counted twice, for margin).
  const double sy = 2.0 * so;
  double slope = 1.0;  // |dk/dy|
  double sk = 0;       // independent per-slot noise of one kernel value
  if (p.kernel == ml::KernelKind::Gaussian) {
    const double deg = static_cast<double>(p.exp_degree);
    const double amp = std::ldexp(1.0, p.exp_squarings);
    slope = 0.5 * p.T;
    sk = slope * sy +
         so * amp * deg * std::sqrt(static_cast<double>(approx.nonscalar_mults) + deg + 2.0);
  } else if (p.degree > 1) {
    const double deg = static_cast<double>(p.degree);
    slope = deg;
    sk = deg * sy + so * deg * std::sqrt(2.0 * deg + 2.0);
  } else {
    sk = sy;
  }
  const double sum_ops =
      std::log2(static_cast<double>(p.sum_block)) + static_cast<double>(nt) + 3.0;
  const double q_low = std::ldexp(1.0, scale_bits);  // primes near the scale
  std::vector<double> noise(nt), approx_err(nt);
  for (std::size_t t = 0; t < nt; ++t) {
    auto& b = p.budget[t];
    double base_abs = 0;  // |baseline term| per unit noise of xh
    base_abs += std::fabs(
        model.baseline.mean.size() > 0 ? model.baseline.mean(static_cast<Eigen::Index>(t)) : 0.0);
    if (model.baseline.per_element)
      for (Eigen::Index e = 0; e < model.baseline.coefficients.rows(); ++e)
        base_abs +=
            std::fabs(model.baseline.coefficients(e, static_cast<Eigen::Index>(t))) * max_count;
    approx_err[t] = b.sum_abs_alpha * p.exp_error;
    const double correlated = slope * mt_alpha[t] * sfresh;
    const double independent = alpha_l2[t] * sk;
    noise[t] =
        kTail * (std::hypot(correlated, independent) + base_abs * sfresh) +
        p.weight_scale[t] * (kTail * std::sqrt(sum_ops) * so + static_cast<double>(n + 8) / q_low);
  }
  bool ok = false;
  const double worst = finish_budget(p, opt, approx_err, noise, ok);
  c.worst_ratio = worst;
  c.plan = p;
  c.ok = ok;
  if (!c.ok) c.why = over_budget_message(p, worst, "sum|alpha|");
  return c;
}

}  // namespace

Plan compile_plan(const ml::Model& model, const PlanOptions& options) {
  options.validate();
  model.validate();
  if (model.family() == ml::ModelFamily::RandomFeatures)
    return compile_feature_plan(model, options);
  if (model.family() != ml::ModelFamily::GlobalKrr) return compile_atomic_plan(model, options);
  if (model.global_krr().kernel.kind == ml::KernelKind::Laplacian)
    throw ParameterError(
        "encrypted plan: the Laplacian kernel exp(-|x - x_i|_1 / sigma) needs the L1 distance, "
        "which is not a "
        "polynomial of the encrypted features (|.| has no low-degree approximation with a useful "
        "error bound over "
        "the feature range); retrain with --kernel gaussian (same representation), linear or "
        "polynomial");
  Plan p;
  p.model_hash = model_hash(model);
  p.options = options;
  p.kernel = model.global_krr().kernel.kind;
  const auto& X = model.global_krr().training_features;
  const std::size_t n = static_cast<std::size_t>(X.rows()), d = static_cast<std::size_t>(X.cols());
  p.training_size = n;
  p.dimension = d;
  p.targets = model.target_count();
  if (model.baseline.per_element) p.count_elements = model.baseline.elements;
  // No padding to a power of two: C diagonals, and the server's replication makes the windows.
  p.period = d + 2 + p.count_elements.size();
  p.sum_block = he::two_power_sum_ceil(std::max(n, d + 2 + p.count_elements.size()));
  double R = 0;
  std::vector<double> norms(n);
  for (std::size_t i = 0; i < n; ++i) {
    norms[i] = X.row(static_cast<Eigen::Index>(i)).norm();
    R = std::max(R, norms[i]);
  }
  if (!(R > 0)) R = 1.0;
  p.train_norm = R;
  p.max_query_norm = (1.0 + options.query_margin) * R;
  const double Q = p.max_query_norm;
  // Rows of the server matrix (only |M|^T |alpha| enters the noise bound).
  const std::size_t C = p.period;
  auto matrix_row = [&](std::size_t i, std::vector<double>& row) {
    std::fill(row.begin(), row.end(), 0.0);
    const auto xi = X.row(static_cast<Eigen::Index>(i));
    if (p.kernel == ml::KernelKind::Gaussian) {
      const double s = 2.0 * p.gamma / p.T;
      for (std::size_t j = 0; j < d; ++j) row[j] = -2.0 * s * Q * xi(static_cast<Eigen::Index>(j));
      row[d] = s * Q * Q;
      row[d + 1] = s * norms[i] * norms[i] - 1.0;
    } else {
      for (std::size_t j = 0; j < d; ++j)
        row[j] = p.gamma * Q * xi(static_cast<Eigen::Index>(j)) / p.inner_bound;
      row[d + 1] = p.coef0 / p.inner_bound;
    }
  };
  if (p.kernel == ml::KernelKind::Gaussian) {
    p.degree = 0;
    p.gamma = 1.0 / (2.0 * model.global_krr().kernel.sigma * model.global_krr().kernel.sigma);
    p.T = p.gamma * (Q + R) * (Q + R);
    if (!(p.T <= 1e6))
      throw ParameterError(
          fmt::format("encrypted plan: gamma |x - x_i|^2 may reach {:.3g} (sigma = {:.4g} is tiny "
                      "against feature norms up to "
                      "{:.4g}); retrain with a larger sigma",
                      p.T, model.global_krr().kernel.sigma, R));
  } else {
    const bool linear = p.kernel == ml::KernelKind::Linear;
    p.gamma = linear ? 1.0 : model.global_krr().kernel.gamma;
    p.coef0 = linear ? 0.0 : model.global_krr().kernel.coef0;
    p.degree = linear ? 1 : model.global_krr().kernel.degree;
    p.inner_bound = p.gamma * Q * R + std::fabs(p.coef0);
  }
  const double upow = std::pow(p.inner_bound, p.kernel == ml::KernelKind::Gaussian ? 0 : p.degree);
  const Eigen::VectorXd sa = model.global_krr().sum_abs_alpha();
  p.budget.resize(p.targets);
  for (std::size_t t = 0; t < p.targets; ++t) {
    auto& b = p.budget[t];
    b.sum_abs_alpha = sa(static_cast<Eigen::Index>(t)) * upow;
    b.tolerance =
        options.tolerance > 0
            ? options.tolerance
            : options.relative_tolerance * (t < model.label_scale.size() && model.label_scale[t] > 0
                                                ? model.label_scale[t]
                                                : 1.0);
  }
  // Largest element count a query can have: the representation's capacity.
  double max_count =
      static_cast<double>(std::max<std::size_t>(1, model.representation.max_atoms()));
  p.count_scale = max_count;
  p.rows = n;
  std::vector<double> alpha_l2(p.targets), mt_alpha(p.targets);
  {
    std::vector<double> row(C);
    Eigen::MatrixXd mta =
        Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(C), static_cast<Eigen::Index>(p.targets));
    for (std::size_t i = 0; i < n; ++i) {
      matrix_row(i, row);
      for (std::size_t t = 0; t < p.targets; ++t) {
        const double a = std::fabs(model.global_krr().alpha(static_cast<Eigen::Index>(i),
                                                            static_cast<Eigen::Index>(t))) *
                         upow;
        for (std::size_t j = 0; j < C; ++j)
          mta(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(t)) += std::fabs(row[j]) * a;
      }
    }
    for (std::size_t t = 0; t < p.targets; ++t) {
      alpha_l2[t] = model.global_krr().alpha.col(static_cast<Eigen::Index>(t)).norm() * upow;
      mt_alpha[t] = mta.col(static_cast<Eigen::Index>(t)).norm();
    }
  }

  Candidate best;
  std::string why;
  for (int sb = options.min_scale_bits; sb <= options.max_scale_bits; ++sb) {
    Candidate c = try_scale(model, options, p, sb, mt_alpha, alpha_l2, max_count);
    if (c.ok) {
      // Scales are tried in increasing order, so among equals the smallest scale stays.
      if (!best.ok || preferred_plan(c.plan, best.plan)) best = c;
      continue;
    }
    if (!c.plan.budget.empty() && (best.worst_ratio == 0 || c.worst_ratio < best.worst_ratio) &&
        !best.ok) {
      best.worst_ratio = c.worst_ratio;
      best.plan = c.plan;
    }
    why = c.why;
  }
  if (best.ok) return best.plan;
  std::string advice =
      "retrain for the encrypted budget (encmol train --encrypted-tolerance X chooses sigma and "
      "lambda under "
      "it; a larger lambda, a smaller sigma and the per-element baseline shrink sum|alpha|), or "
      "loosen the tolerance (encmol card --tolerance X, in the target's units)";
  throw ParameterError(
      fmt::format("encrypted plan: the model cannot be evaluated within the tolerance ({}); "
                  "sum|alpha| = {:.3g}, tolerance {:.3g}; {}",
                  why, p.budget.front().sum_abs_alpha, p.budget.front().tolerance, advice));
}

std::uint64_t default_query_budget(const ml::Model& model) {
  const std::uint64_t kernel =
      4 * static_cast<std::uint64_t>(std::max<std::size_t>(1, model.training_size()));
  if (const auto* rf = std::get_if<ml::RandomFeatureModel>(&model.body)) {
    // Public features: the answers are linear in the client's own D + E values, so that many
    // answers give the weights exactly; stay a factor 4 below, and below N / 8.
    const std::size_t unknowns =
        rf->map.feature_count() + (model.baseline.per_element ? model.baseline.elements.size() : 0);
    return std::max<std::uint64_t>(
        1, std::min({kernel, static_cast<std::uint64_t>(model.training_size() / 8),
                     static_cast<std::uint64_t>(unknowns / 4)}));
  }
  int power = 0;
  if (model.family() == ml::ModelFamily::Quadratic) power = 2;
  if (const auto* n = std::get_if<ml::AtomicNetwork>(&model.body))
    power = n->depth == 1 ? n->power : 0;
  if (power == 0) return kernel;
  // C(d + p, p) monomials of degree <= p in d variables, per element.
  const double d = static_cast<double>(model.atom_input_dimension());
  double monomials = 1;
  for (int k = 1; k <= power; ++k) monomials = monomials * (d + k) / k;
  const double unknowns = monomials * static_cast<double>(model.representation.elements().size());
  // A surrogate of the same family trained on the answers is cheaper still: on QM7 (quadratic,
  // FCHL19 projected to 63 values, Δ-xTB, N = 5,700) it comes within 1 kcal/mol after 768 answers,
  // 0.13 N (docs/privacy.md).
  const std::uint64_t surrogate = std::max<std::uint64_t>(1, model.training_size() / 8);
  return std::max<std::uint64_t>(
      1, std::min({kernel, surrogate, static_cast<std::uint64_t>(unknowns / 4)}));
}

he::ExpApproximation plan_exp_approximation(const Plan& plan) {
  he::ExpApproxOptions eo;
  eo.affine_in_polynomial = false;
  eo.max_depth = 24;
  eo.weighted = plan.targets == 1;
  he::ExpApproximation a = he::choose_exp_approximation(plan.T, plan.exp_target, eo);
  if (static_cast<int>(a.poly.degree()) != plan.exp_degree || a.squarings != plan.exp_squarings)
    throw FormatError(
        "plan: the exp approximation does not match the plan (different encmol version?)");
  return a;
}

}  // namespace encmol::secure
