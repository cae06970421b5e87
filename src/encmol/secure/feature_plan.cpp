#include "encmol/secure/feature_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <variant>

#include "encmol/core/error.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/secure/error_budget.hpp"

namespace encmol::secure {
namespace {

using namespace budget_math;

// Per target: the molecule block's weights (D + E values) in units of v, before dividing by W_t.
std::vector<std::vector<double>> block_weights(const ml::Model& model, const Plan& p) {
  const auto& rf = std::get<ml::RandomFeatureModel>(model.body);
  const FeatureCircuit& f = p.features;
  std::vector<std::vector<double>> w(p.targets, std::vector<double>(p.period, 0.0));
  for (std::size_t t = 0; t < p.targets; ++t) {
    const auto tt = static_cast<Eigen::Index>(t);
    for (std::size_t j = 0; j < f.features; ++j)
      w[t][j] = rf.weights(static_cast<Eigen::Index>(j), tt) * f.amplitude;
    for (std::size_t e = 0; e < f.count_elements.size(); ++e)
      w[t][f.features + e] =
          model.baseline.coefficients(static_cast<Eigen::Index>(e), tt) * f.count_scale;
  }
  return w;
}

}  // namespace

void FeatureCircuit::write(core::ByteWriter& out) const {
  out.u64(features);
  out.u64(count_elements.size());
  for (int z : count_elements) out.u32(static_cast<std::uint32_t>(z));
  out.f64(amplitude);
  out.f64(count_scale);
}

FeatureCircuit FeatureCircuit::read(core::ByteReader& in) {
  FeatureCircuit f;
  f.features = in.u64();
  const std::size_t ne = in.count("element counts", 128, 4);
  for (std::size_t e = 0; e < ne; ++e) f.count_elements.push_back(static_cast<int>(in.u32()));
  f.amplitude = in.finite_f64("feature amplitude");
  f.count_scale = in.finite_f64("count scale");
  if (f.features == 0 || f.features > (std::size_t{1} << 16) || !(f.amplitude > 0) ||
      !(f.count_scale >= 1))
    in.fail("feature plan: inconsistent sizes or scales (corrupt or hostile file)");
  return f;
}

Plan compile_feature_plan(const ml::Model& model, const PlanOptions& options) {
  options.validate();
  model.validate();
  const auto& rf = std::get<ml::RandomFeatureModel>(model.body);
  Plan p = plan_skeleton(model, options, PlanFamily::Features);
  FeatureCircuit& f = p.features;
  f.features = rf.map.feature_count();
  if (model.baseline.per_element) f.count_elements = model.baseline.elements;
  const auto& spec = model.representation;
  double amplitude = 0;
  std::size_t max_capacity = 1;
  for (std::size_t e = 0; e < rf.map.elements.size(); ++e) {
    const auto it = std::find(spec.elements().begin(), spec.elements().end(), rf.map.elements[e]);
    const std::size_t cap =
        it == spec.elements().end()
            ? 0
            : spec.element_capacity()[static_cast<std::size_t>(it - spec.elements().begin())];
    if (rf.map.counts[e] > 0)
      amplitude = std::max(amplitude, static_cast<double>(cap) *
                                          std::sqrt(2.0 / static_cast<double>(rf.map.counts[e])));
  }
  for (std::size_t c : spec.element_capacity()) max_capacity = std::max(max_capacity, c);
  f.amplitude = amplitude > 0 ? amplitude : 1.0;
  f.count_scale = static_cast<double>(max_capacity);
  p.dimension = p.period = f.features + f.count_elements.size();
  p.rows = 1;
  p.sum_block = p.query_stride = he::two_power_sum_ceil(p.period);
  p.max_query_norm = p.train_norm = 1.0;
  p.depth = 2;  // the weights, the result mask
  p.budget.resize(p.targets);
  const auto weights = block_weights(model, p);
  std::vector<double> magnitude(p.targets), l2(p.targets);
  for (std::size_t t = 0; t < p.targets; ++t) {
    double sum = 0, sq = 0;
    for (double v : weights[t]) sum += std::fabs(v), sq += v * v;
    p.budget[t].sum_abs_alpha = sum;
    l2[t] = std::sqrt(sq);
    const auto tt = static_cast<Eigen::Index>(t);
    magnitude[t] = sum + std::fabs(model.baseline.mean.size() > 0 ? model.baseline.mean(tt) : 0.0);
    p.budget[t].tolerance = target_tolerance(model, options, t);
  }
  Plan best;
  bool found = false;
  std::string why;
  for (int sb = options.min_scale_bits; sb <= options.max_scale_bits; ++sb) {
    Plan c = p;
    c.scale_bits = sb;
    ckks::CircuitOptions co;
    co.integer_bits = integer_bits(sb);
    try {
      c.params = ckks::Parameters::for_circuit(c.depth, sb, std::bit_ceil(c.sum_block), 0, co);
    } catch (const ParameterError& e) {
      why = std::string("no 128-bit CKKS parameters fit: ") + e.what();
      continue;
    }
    c.slots = c.params.slots();
    c.queries = c.slots / c.query_stride;
    if (options.max_batch > 0) c.queries = std::min<std::size_t>(c.queries, options.max_batch);
    choose_weight_scales(c, magnitude);
    std::vector<int> back;
    for (std::size_t t = 1; t < c.targets; ++t) back.push_back(static_cast<int>(c.slots - t));
    c.galois_steps = he::merge_steps({he::sum_slots_steps(c.sum_block, c.slots), back}, c.slots);
    const double delta = std::ldexp(1.0, sb);
    const double so = op_sigma(c.params.n(), c.params.dnum, delta);
    const double sin = fresh_sigma(c.params.n(), delta);
    const double ops =
        std::log2(static_cast<double>(c.sum_block)) + static_cast<double>(c.targets) + 4.0;
    std::vector<double> noise(c.targets), approximation(c.targets, 0.0);
    for (std::size_t t = 0; t < c.targets; ++t)
      noise[t] = kTail * (l2[t] * sin + 2.0 * so * l2[t]) +
                 c.weight_scale[t] *
                     (kTail * std::sqrt(ops) * so + static_cast<double>(c.sum_block + 8) / delta);
    bool ok = false;
    const double worst = finish_budget(c, options, approximation, noise, ok);
    if (!ok) {
      why = over_budget_message(c, worst, "sum|weights|");
      continue;
    }
    if (!found || preferred_plan(c, best)) {
      best = std::move(c);
      found = true;
    }
  }
  if (found) return best;
  throw ParameterError(
      fmt::format("encrypted plan: the random-feature model cannot be evaluated within the "
                  "tolerance ({}); loosen it with "
                  "encmol card --tolerance X (in the target's units)",
                  why));
}

std::vector<std::vector<double>> feature_query_vectors(
    const Plan& plan, const chem::RepresentationSpec& spec, const ml::AtomicPca& projection,
    const ml::RandomFeatureMap& map, const std::vector<chem::Molecule>& molecules) {
  const FeatureCircuit& f = plan.features;
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    try {
      spec.check(molecules[i]);  // element capacities: what keeps |Phi_j| <= A
    } catch (const InputError& e) {
      const std::string name =
          molecules[i].name.empty() ? "molecule " + std::to_string(i + 1) : molecules[i].name;
      throw InputError(name + ": the model card's representation cannot hold it: " + e.what());
    }
  }
  const Eigen::MatrixXd phi = map.features(projection.project(spec.featurize_atoms(molecules)));
  if (static_cast<std::size_t>(phi.cols()) != f.features)
    throw InputError("the card's feature map gives " + std::to_string(phi.cols()) +
                     " features, its plan expects " + std::to_string(f.features));
  std::vector<std::vector<double>> out(molecules.size(), std::vector<double>(plan.period, 0.0));
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    for (std::size_t j = 0; j < f.features; ++j)
      out[i][j] = phi(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) / f.amplitude;
    for (int z : molecules[i].charges) {
      const auto it = std::find(f.count_elements.begin(), f.count_elements.end(), z);
      if (it != f.count_elements.end())
        out[i][f.features + static_cast<std::size_t>(it - f.count_elements.begin())] +=
            1.0 / f.count_scale;
    }
  }
  return out;
}

FeatureEvaluator::FeatureEvaluator(const ml::Model& model, const Plan& plan,
                                   std::shared_ptr<const ckks::Encoder> encoder)
    : plan_(plan), encoder_(std::move(encoder)) {
  const Plan& p = plan_;
  const auto w = block_weights(model, p);
  weights_.assign(p.targets, std::vector<double>(p.slots, 0.0));
  mean_ = weights_;
  for (std::size_t t = 0; t < p.targets; ++t) {
    const double W = p.weight_scale[t];
    const double mean =
        model.baseline.mean.size() > 0 ? model.baseline.mean(static_cast<Eigen::Index>(t)) : 0.0;
    for (std::size_t g = 0; g < p.queries; ++g) {
      for (std::size_t j = 0; j < p.period; ++j) weights_[t][g * p.query_stride + j] = w[t][j] / W;
      mean_[t][g * p.query_stride] = mean / W;
    }
  }
}

ckks::Ciphertext FeatureEvaluator::evaluate(const ckks::Evaluator& ev,
                                            const ckks::Ciphertext& query,
                                            const ckks::GaloisKeys& galois,
                                            std::size_t live) const {
  const Plan& p = plan_;
  std::vector<double> mask(p.slots, 0.0);
  for (std::size_t g = 0; g < live && g < p.queries; ++g) mask[g * p.query_stride] = 1.0;
  ckks::Ciphertext acc;
  for (std::size_t t = 0; t < p.targets; ++t) {
    ckks::Ciphertext s = he::multiply_vector(ev, *encoder_, query, weights_[t]);
    s = he::sum_slots(ev, s, p.sum_block, galois);
    s = ev.add_plain(s, encoder_->encode(mean_[t], s.scale, s.level));
    s = he::multiply_vector(ev, *encoder_, s, mask);
    if (t > 0) s = ev.rotate(s, -static_cast<int>(t), galois);
    acc = t == 0 ? std::move(s) : ev.add(acc, s);
  }
  return acc;
}

}  // namespace encmol::secure
