// Compiling a quadratic or one-block network model into the atomic circuit's
// plan (atomic_plan.hpp): window layout, CKKS parameters and the error budget.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "encmol/core/error.hpp"
#include "encmol/secure/atomic_plan.hpp"
#include "encmol/secure/error_budget.hpp"

namespace encmol::secure {
namespace {

using namespace budget_math;

struct AtomicNoise {
  // Per element and target, in target units per unit of the per-slot noise (see atomic_plan.hpp).
  std::vector<std::vector<double>> coherent;  // p sum_i |c_ti| |A'_i|        (times s_in)
  std::vector<std::vector<double>>
      independent;                          // sqrt(sum_i c_ti^2)           (times (2p + 3) s_op)
  std::vector<std::vector<double>> linear;  // |o_t|                        (times s_in)
};

AtomicNoise noise_factors(const Plan& p, const AtomicWeights& w) {
  AtomicNoise f;
  const std::size_t ne = w.elements.size(), nt = p.targets, H = p.rows, C = p.period;
  f.coherent.assign(ne, std::vector<double>(nt, 0.0));
  f.independent = f.coherent;
  f.linear = f.coherent;
  for (std::size_t e = 0; e < ne; ++e) {
    const auto& el = w.elements[e];
    std::vector<double> row_norm(H, 0.0);  // |A'_i|
    for (std::size_t i = 0; i < H; ++i) {
      for (std::size_t j = 0; j < C; ++j)
        row_norm[i] += el.hidden[i * C + j] * el.hidden[i * C + j];
      row_norm[i] = std::sqrt(row_norm[i]);
    }
    for (std::size_t t = 0; t < nt; ++t) {
      double coh = 0, ind = 0, lin = 0;
      for (std::size_t i = 0; i < H; ++i) {
        coh += std::fabs(el.output[t][i]) * row_norm[i];
        ind += el.output[t][i] * el.output[t][i];
      }
      for (double v : el.linear[t]) lin += v * v;
      f.coherent[e][t] = p.atomic.power * coh;
      f.independent[e][t] = std::sqrt(ind);
      f.linear[e][t] = std::sqrt(lin);
    }
  }
  return f;
}

struct Candidate {
  Plan plan;
  bool ok = false;
  double worst_ratio = 0;
  std::string why;
};

Candidate try_scale(Plan p, const PlanOptions& opt, int scale_bits,
                    const std::vector<double>& magnitude, const AtomicNoise& f) {
  Candidate c;
  p.scale_bits = scale_bits;
  const std::size_t nt = p.targets;
  const AtomicCircuit& a = p.atomic;
  const std::size_t M = a.windows * a.window_stride;
  ckks::CircuitOptions co;
  co.integer_bits = integer_bits(scale_bits);
  try {
    p.params = ckks::Parameters::for_circuit(p.depth, scale_bits, std::bit_ceil(M), 0, co);
  } catch (const ParameterError& e) {
    c.why = std::string("no 128-bit CKKS parameters fit: ") + e.what();
    return c;
  }
  p.slots = p.params.slots();
  p.queries = p.slots / M;
  if (opt.max_batch > 0) p.queries = std::min<std::size_t>(p.queries, opt.max_batch);
  p.query_stride = M;
  choose_weight_scales(p, magnitude);
  const he::ReplicationLayout layout = p.replication();
  const he::MatVecPlan mv = p.matvec_plan();
  std::vector<int> back;
  for (std::size_t t = 1; t < nt; ++t) back.push_back(static_cast<int>(p.slots - t));
  p.galois_steps = he::merge_steps(
      {layout.galois_steps(), mv.galois_steps(), he::strided_sum_steps(a.window_sum, 1, p.slots),
       he::strided_sum_steps(a.windows, static_cast<long long>(a.window_stride), p.slots), back},
      p.slots);
  const double delta = std::ldexp(1.0, scale_bits);
  const double so = op_sigma(p.params.n(), p.params.dnum, delta);
  const double sin = fresh_sigma(p.params.n(), delta);
  // Operations after the weights: the two strided sums, the mask, the rotation to the target's
  // slot, the mean.
  const double after_ops = std::log2(static_cast<double>(a.window_sum)) +
                           std::log2(static_cast<double>(a.windows)) + static_cast<double>(nt) +
                           4.0;
  std::vector<double> noise(nt), approximation(nt, 0.0);
  for (std::size_t t = 0; t < nt; ++t) {
    double var = 0;  // windows are independent slots
    for (std::size_t e = 0; e < a.elements.size(); ++e) {
      const double one = f.coherent[e][t] * (sin + 2.0 * so) +
                         f.independent[e][t] * (2.0 * a.power + 3.0) * so + f.linear[e][t] * sin;
      var += static_cast<double>(a.capacity[e]) * one * one;
    }
    noise[t] = kTail * std::sqrt(var) +
               p.weight_scale[t] *
                   (kTail * std::sqrt(after_ops) * so + static_cast<double>(a.windows + 8) / delta);
  }
  bool ok = false;
  c.worst_ratio = finish_budget(p, opt, approximation, noise, ok);
  c.ok = ok;
  if (!ok) c.why = over_budget_message(p, c.worst_ratio, "sum|weights|");
  c.plan = std::move(p);
  return c;
}

}  // namespace

Plan compile_atomic_plan(const ml::Model& model, const PlanOptions& options) {
  options.validate();
  model.validate();
  const ml::FoldedNetwork stages = atomic_stages(model);
  if (model.atom_frame.empty())
    throw ParameterError(
        "encrypted plan: the model file does not record its training atoms' frame (written before "
        "model format 4); "
        "retrain it with this encmol to serve it encrypted");
  Plan p = plan_skeleton(model, options, PlanFamily::Atomic);
  p.dimension = model.atom_input_dimension();
  p.period = p.dimension + 1;
  std::size_t hidden = 1;
  for (const auto& f : stages.networks)
    hidden = std::max(hidden, static_cast<std::size_t>(f.input[0].rows()));
  p.rows = hidden;
  AtomicCircuit& a = p.atomic;
  a.power = stages.power;
  a.elements = model.representation.elements();
  a.capacity = model.representation.element_capacity();
  std::size_t total = 0;
  for (std::size_t e = 0; e < a.elements.size(); ++e) total += a.capacity[e];
  if (total == 0 || total > kMaxAtomWindows)
    throw ParameterError(fmt::format("encrypted plan: {} atom windows per molecule (at most {})",
                                     total, kMaxAtomWindows));
  a.windows = he::two_power_sum_ceil(total);
  a.window_sum = he::two_power_sum_ceil(std::max(p.rows, p.period));
  p.sum_block = a.window_sum;
  a.window_stride = he::plan_replication(std::max(p.rows + p.period - 1, a.window_sum), p.period, 1,
                                         std::size_t{1} << 30)
                        .stride();
  // layout mask and product (two rescales), the power, the weights, the result mask
  p.depth = 2 + (a.power == 2 ? 1 : 2) + 1 + 1;

  p.budget.resize(p.targets);
  for (std::size_t t = 0; t < p.targets; ++t)
    p.budget[t].tolerance = target_tolerance(model, options, t);
  // The frame (ellipsoid or ball, ml/atom_frame.hpp) whose weights are smaller relative to the
  // tolerances: every noise term of the budget is proportional to them.
  std::vector<double> magnitude(p.targets, 0.0);
  AtomicWeights w;
  double best_size = 0;
  for (const bool ball : {false, true}) {
    Plan candidate = p;
    candidate.atomic.ball_frame = ball;
    const ml::AtomFrame frame = plan_frame(model, candidate);
    candidate.atomic.input_norm.clear();
    for (const auto& fe : frame.elements)
      candidate.atomic.input_norm.push_back((1.0 + options.query_margin) *
                                            (fe.radius > 0 ? fe.radius : 1.0));
    AtomicWeights weights = atomic_weights(model, candidate);
    std::vector<double> sums(p.targets, 0.0);
    double size = 0;
    for (std::size_t t = 0; t < p.targets; ++t) {
      for (std::size_t e = 0; e < a.elements.size(); ++e) {
        double window = 0;
        for (double v : weights.elements[e].output[t]) window += std::fabs(v);
        for (double v : weights.elements[e].linear[t]) window += std::fabs(v);
        sums[t] += static_cast<double>(a.capacity[e]) * window;
      }
      size += sums[t] / p.budget[t].tolerance;
    }
    if (!ball || size < best_size) {
      best_size = size;
      a.ball_frame = ball;
      a.input_norm = candidate.atomic.input_norm;
      w = std::move(weights);
      for (std::size_t t = 0; t < p.targets; ++t) {
        p.budget[t].sum_abs_alpha = sums[t];
        const auto tt = static_cast<Eigen::Index>(t);
        magnitude[t] =
            sums[t] + std::fabs(model.baseline.mean.size() > 0 ? model.baseline.mean(tt) : 0.0);
      }
    }
  }
  p.max_query_norm = *std::max_element(a.input_norm.begin(), a.input_norm.end());
  p.train_norm = p.max_query_norm / (1.0 + options.query_margin);
  const AtomicNoise f = noise_factors(p, w);
  Candidate best;
  std::string why;
  for (int sb = options.min_scale_bits; sb <= options.max_scale_bits; ++sb) {
    Candidate c = try_scale(p, options, sb, magnitude, f);
    if (c.ok) {
      if (!best.ok || preferred_plan(c.plan, best.plan)) best = std::move(c);
      continue;
    }
    if (!c.why.empty()) why = c.why;
  }
  if (best.ok) return best.plan;
  throw ParameterError(
      fmt::format("encrypted plan: the atomic model cannot be evaluated within the tolerance ({}); "
                  "loosen it with encmol card "
                  "--tolerance X (in the target's units)",
                  why));
}

}  // namespace encmol::secure
