#include "encmol/secure/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <sstream>

#include "encmol/chem/elements.hpp"
#include "encmol/ckks/serialization.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/model_file.hpp"

namespace encmol::secure {
namespace {

constexpr std::uint32_t kPlanFormat = 2;  // 2: layout enforcement, weights in leaves
constexpr std::uint32_t kFamilyPlanFormat =
    3;  // 3: + circuit family and its fields (kernel plans stay 2)

}  // namespace

// ------------------------------------------------------------------ options

void PlanOptions::validate() const {
  if (!(std::isfinite(tolerance) && tolerance >= 0))
    throw ParameterError("plan: --encrypted-tolerance must be a finite number >= 0");
  if (tolerance == 0 &&
      !(std::isfinite(relative_tolerance) && relative_tolerance > 0 && relative_tolerance < 1))
    throw ParameterError("plan: the relative tolerance must lie in (0, 1)");
  if (!(std::isfinite(query_margin) && query_margin >= 0 && query_margin <= 10))
    throw ParameterError("plan: the query margin must lie in [0, 10]");
  if (min_scale_bits < 30 || max_scale_bits > 55 || min_scale_bits > max_scale_bits)
    throw ParameterError("plan: scale bits must satisfy 30 <= min <= max <= 55");
  if (min_flood_bits < 0 || max_flood_bits > 40 || min_flood_bits > max_flood_bits)
    throw ParameterError("plan: flood bits must satisfy 0 <= min <= max <= 40");
  if (max_batch > 4096) throw ParameterError("plan: max_batch must be at most 4096");
}

void PlanOptions::write(core::ByteWriter& out) const {
  out.f64(tolerance);
  out.f64(relative_tolerance);
  out.f64(query_margin);
  out.u32(max_batch);
  out.u32(static_cast<std::uint32_t>(min_scale_bits));
  out.u32(static_cast<std::uint32_t>(max_scale_bits));
  out.u32(static_cast<std::uint32_t>(min_flood_bits));
  out.u32(static_cast<std::uint32_t>(max_flood_bits));
}

PlanOptions PlanOptions::read(core::ByteReader& in) {
  PlanOptions o;
  o.tolerance = in.finite_f64("tolerance");
  o.relative_tolerance = in.finite_f64("relative tolerance");
  o.query_margin = in.finite_f64("query margin");
  o.max_batch = in.u32();
  o.min_scale_bits = static_cast<int>(in.u32());
  o.max_scale_bits = static_cast<int>(in.u32());
  o.min_flood_bits = static_cast<int>(in.u32());
  o.max_flood_bits = static_cast<int>(in.u32());
  try {
    o.validate();
  } catch (const Error& e) {
    throw FormatError(in.context() + ": plan options are invalid: " + e.what());
  }
  return o;
}

// ------------------------------------------------------------------ plan

he::ReplicationLayout Plan::replication() const {
  return he::plan_replication(rows + period - 1, period, windows_per_ciphertext(), slots);
}

he::MatVecPlan Plan::matvec_plan() const {
  he::MatVecOptions mo;
  mo.queries = windows_per_ciphertext();
  if (mo.queries > 1) mo.query_stride = replication().stride();
  mo.period = period;  // exact: the server rebuilds the replicas, nothing wraps around the slots
  // Baby step: a power of two near the time optimum sqrt(C / hoisted cost), so the giant step and
  // the small baby steps are rotations the slot sums need anyway: every Galois key is ~1/30 of the
  // bundle.
  mo.baby = std::bit_floor(
      static_cast<std::size_t>(std::sqrt(static_cast<double>(period) / mo.hoisted_cost)));
  mo.clean_output = true;
  mo.mask_allowed = false;
  mo.max_fold = 1;
  return he::plan_matvec(rows, period, slots, mo);
}

std::string Plan::describe() const {
  std::ostringstream s;
  // What is evaluated.
  if (family == PlanFamily::Features) {
    s << fmt::format(
        "random-feature model with public features: the client computes {} features of its "
        "molecule from the "
        "card's map (+ {} element counts); the server takes one inner product per target. A client "
        "with {} "
        "independent answers can solve for the weights exactly\n",
        features.features, features.count_elements.size(),
        features.features + features.count_elements.size());
  } else if (family == PlanFamily::Atomic) {
    s << fmt::format(
        "atomic model, u^{} per atom: {} hidden values from {} values per atom, atoms of",
        atomic.power, rows, dimension);
    for (std::size_t e = 0; e < atomic.elements.size(); ++e)
      s << fmt::format(" {}x{}", atomic.capacity[e], chem::element_symbol(atomic.elements[e]));
    s << " per molecule (padded; no approximation: exact up to CKKS noise)\n";
  } else {
    s << "kernel " << ml::to_string(kernel) << ", " << training_size << " training points, "
      << dimension << " features (" << period << " query values)";
    if (!count_elements.empty())
      s << ", baseline over " << count_elements.size() << " element counts";
    s << "\n";
  }
  s << fmt::format(
      "CKKS: N = 2^{}, {} slots, depth {}, scale 2^{}, log2(PQ) = {:.0f} (128-bit), {} Galois "
      "keys\n",
      params.log_n, slots, depth, scale_bits, params.log2_pq(), galois_steps.size());
  // How it is packed, and the kernel's polynomial.
  if (family == PlanFamily::Features) {
    s << fmt::format("packing: {} molecule{} per ciphertext ({} slots each)\n", queries,
                     queries == 1 ? "" : "s", query_stride);
  } else if (family == PlanFamily::Atomic) {
    s << fmt::format(
        "packing: {} molecule{} per ciphertext, {} atom windows of {} slots each; the server "
        "rebuilds the {} "
        "replicas of each atom itself\n",
        queries, queries == 1 ? "" : "s", atomic.windows, atomic.window_stride,
        replication().copies);
  } else {
    s << fmt::format(
        "packing: {} quer{} per ciphertext (stride {}), weighted sums over {} slots; the server "
        "rebuilds the {} "
        "replicas of each query itself\n",
        queries, queries == 1 ? "y" : "ies", query_stride, sum_block, replication().copies);
    if (kernel == ml::KernelKind::Gaussian) {
      s << fmt::format("exp(-t) on [0, {:.4g}]: degree {}, {} squaring(s), proven error {:.3g}\n",
                       T, exp_degree, exp_squarings, exp_error);
    } else if (degree > 1) {
      s << fmt::format("(gamma <x, x_i> + c)^{} exactly, |gamma <x, x_i> + c| <= {:.4g}\n", degree,
                       inner_bound);
    }
    s << fmt::format("queries accepted up to |x| <= {:.6g}; ", max_query_norm);
  }
  s << fmt::format("noise flooding 2^{} x noise bound (std {:.3g})\n", flood_bits, flood_sigma);
  for (std::size_t t = 0; t < budget.size(); ++t) {
    const auto& b = budget[t];
    s << fmt::format(
        "target {}: |enc - plain| <= {:.3g} (approximation {:.3g} + noise {:.3g} + flooding "
        "{:.3g}; "
        "tolerance {:.3g}, {} {:.3g}); results rounded to {:g}\n",
        t, b.bound, b.approximation, b.noise, b.flooding, b.tolerance,
        family == PlanFamily::Kernel ? "sum|alpha|" : "sum|weights|", b.sum_abs_alpha,
        b.rounding_step);
  }
  return s.str();
}

void Plan::write(core::ByteWriter& out) const {
  out.u32(family == PlanFamily::Kernel ? kPlanFormat : kFamilyPlanFormat);
  out.bytes(model_hash);
  options.write(out);
  out.u8(static_cast<std::uint8_t>(kernel));
  out.u64(training_size);
  out.u64(dimension);
  out.u64(count_elements.size());
  for (int z : count_elements) out.u32(static_cast<std::uint32_t>(z));
  out.u64(targets);
  out.f64(count_scale);
  out.f64(train_norm);
  out.f64(max_query_norm);
  out.f64(T);
  out.f64(gamma);
  out.f64(coef0);
  out.u32(static_cast<std::uint32_t>(degree));
  out.f64(inner_bound);
  out.f64_vector(weight_scale);
  out.u64(period);
  out.u64(rows);
  out.u64(slots);
  out.u64(queries);
  out.u64(query_stride);
  out.u64(sum_block);
  out.u8(weights_in_leaves ? 1 : 0);
  out.u32(static_cast<std::uint32_t>(exp_degree));
  out.u32(static_cast<std::uint32_t>(exp_squarings));
  out.f64(exp_error);
  out.f64(exp_target);
  out.u32(static_cast<std::uint32_t>(depth));
  out.u32(static_cast<std::uint32_t>(scale_bits));
  const core::Bytes pbytes = ckks::serialize(params);
  out.u64(pbytes.size());
  out.bytes(pbytes);
  out.u64(galois_steps.size());
  for (int g : galois_steps) out.u64(static_cast<std::uint64_t>(g));
  out.u32(static_cast<std::uint32_t>(flood_bits));
  out.f64(flood_sigma);
  out.u64(budget.size());
  for (const auto& b : budget) {
    out.f64(b.sum_abs_alpha);
    out.f64(b.tolerance);
    out.f64(b.approximation);
    out.f64(b.noise);
    out.f64(b.flooding);
    out.f64(b.bound);
    out.f64(b.rounding_step);
  }
  if (family != PlanFamily::Kernel) {
    out.u8(static_cast<std::uint8_t>(family));
    if (family == PlanFamily::Atomic) atomic.write(out);
    if (family == PlanFamily::Features) features.write(out);
  }
}

Plan Plan::read(core::ByteReader& in) {
  const std::string& ctx = in.context();
  const auto format = in.u32();
  if (format != kPlanFormat && format != kFamilyPlanFormat)
    throw FormatError(fmt::format(
        "{}: plan format {} (this encmol reads formats {} and {}): ask the model owner for "
        "a card made by this encmol version",
        ctx, format, kPlanFormat, kFamilyPlanFormat));
  Plan p;
  auto mh = in.bytes(32);
  std::copy(mh.begin(), mh.end(), p.model_hash.begin());
  p.options = PlanOptions::read(in);
  const auto k = in.u8();
  if (k < 1 || k > 4) throw FormatError(ctx + ": plan: unknown kernel kind " + std::to_string(k));
  p.kernel = static_cast<ml::KernelKind>(k);
  p.training_size = in.u64();
  p.dimension = in.u64();
  const std::size_t ne = in.count("element counts", 128, 4);
  for (std::size_t i = 0; i < ne; ++i) p.count_elements.push_back(static_cast<int>(in.u32()));
  p.targets = in.u64();
  p.count_scale = in.finite_f64("count scale");
  p.train_norm = in.finite_f64("train norm");
  p.max_query_norm = in.finite_f64("max query norm");
  p.T = in.finite_f64("T");
  p.gamma = in.finite_f64("gamma");
  p.coef0 = in.finite_f64("coef0");
  p.degree = static_cast<int>(in.u32());
  p.inner_bound = in.finite_f64("inner bound");
  p.weight_scale = in.f64_vector(1024);
  p.period = in.u64();
  p.rows = in.u64();
  p.slots = in.u64();
  p.queries = in.u64();
  p.query_stride = in.u64();
  p.sum_block = in.u64();
  const auto leaves = in.u8();
  if (leaves > 1) throw FormatError(ctx + ": plan: bad weights-in-leaves flag");
  p.weights_in_leaves = leaves == 1;
  p.exp_degree = static_cast<int>(in.u32());
  p.exp_squarings = static_cast<int>(in.u32());
  p.exp_error = in.finite_f64("exp error");
  p.exp_target = in.finite_f64("exp target");
  p.depth = static_cast<int>(in.u32());
  p.scale_bits = static_cast<int>(in.u32());
  const std::size_t plen = in.count("parameter set", 1 << 20);
  p.params = ckks::deserialize_parameters(in.bytes(plen), ctx);
  const std::size_t ng = in.count("Galois steps", 4096, 8);
  for (std::size_t i = 0; i < ng; ++i) {
    const std::uint64_t g = in.u64();
    if (g == 0 || g >= p.params.slots())
      in.fail("plan: Galois step " + std::to_string(g) + " is out of range");
    p.galois_steps.push_back(static_cast<int>(g));
  }
  p.flood_bits = static_cast<int>(in.u32());
  p.flood_sigma = in.finite_f64("flood sigma");
  const std::size_t nb = in.count("targets", 1024, 56);
  for (std::size_t i = 0; i < nb; ++i) {
    TargetBudget b;
    b.sum_abs_alpha = in.finite_f64("sum |alpha|");
    b.tolerance = in.finite_f64("tolerance");
    b.approximation = in.finite_f64("approximation bound");
    b.noise = in.finite_f64("noise bound");
    b.flooding = in.finite_f64("flooding bound");
    b.bound = in.finite_f64("bound");
    b.rounding_step = in.finite_f64("rounding step");
    // The client divides by the rounding step and trusts the bound it shows.
    if (!(b.rounding_step > 0.0 && b.tolerance > 0.0 && b.bound >= 0.0 && b.sum_abs_alpha >= 0.0))
      in.fail("error budget of target " + std::to_string(i) +
              " has a non-positive rounding step or tolerance, or a negative bound");
    p.budget.push_back(b);
  }
  if (format == kFamilyPlanFormat) {
    const auto fam = in.u8();
    if (fam == static_cast<std::uint8_t>(PlanFamily::Atomic)) {
      p.family = PlanFamily::Atomic;
      p.atomic = AtomicCircuit::read(in);
    } else if (fam == static_cast<std::uint8_t>(PlanFamily::Features)) {
      p.family = PlanFamily::Features;
      p.features = FeatureCircuit::read(in);
    } else {
      throw FormatError(ctx + ": plan: unknown circuit family " + std::to_string(fam));
    }
  }
  // Shape checks: everything a client indexes with must be consistent.
  const std::size_t slots = p.params.slots();
  const bool atomic = p.family == PlanFamily::Atomic;
  const bool feature_plan = p.family == PlanFamily::Features;
  const bool period_ok =
      feature_plan ? p.period == p.dimension &&
                         p.dimension == p.features.features + p.features.count_elements.size() &&
                         p.sum_block >= p.period && p.query_stride == p.sum_block
      : atomic ? p.period == p.dimension + 1 && p.atomic.window_stride <= slots &&
                     p.atomic.window_stride >= p.rows + p.period - 1 &&
                     p.query_stride == p.atomic.windows * p.atomic.window_stride &&
                     p.atomic.window_sum <= p.atomic.window_stride &&
                     p.atomic.window_sum >= std::max(p.rows, p.period)
               : p.period >= p.dimension + 2 + ne;
  const bool ok = period_ok && p.slots == slots && p.targets == nb && p.targets >= 1 &&
                  p.dimension >= 1 && p.dimension <= chem::kMaxRepresentationDimension &&
                  p.period <= slots && p.queries >= 1 && p.query_stride >= 1 &&
                  p.query_stride <= slots && p.queries <= slots / p.query_stride &&  // no overflow
                  p.targets <= p.query_stride &&
                  (atomic || feature_plan || p.rows >= p.training_size) && p.rows <= slots &&
                  p.training_size >= 1 && p.max_query_norm > 0 && p.count_scale >= 1 &&
                  p.weight_scale.size() == nb && p.depth >= 1 &&
                  static_cast<std::size_t>(p.depth) <= p.params.max_level() && p.flood_sigma >= 0 &&
                  p.sum_block >= 1 && p.sum_block <= slots && he::is_two_power_sum(p.sum_block);
  if (!ok) throw FormatError(ctx + ": plan fields are inconsistent (corrupt or hostile file)");
  // Feature plans have no replicas to rebuild: one vector per molecule.
  if (!feature_plan) try {
      const he::ReplicationLayout layout = p.replication();
      if (atomic ? layout.stride() != p.atomic.window_stride
                 : p.queries > 1 && p.query_stride != layout.stride())
        throw InputError("query stride");
    } catch (const InputError&) {
      throw FormatError(ctx +
                        ": plan: the query windows do not fit the slots (corrupt or hostile file)");
    }
  for (double w : p.weight_scale)
    if (!(std::isfinite(w) && w > 0)) throw FormatError(ctx + ": plan: bad weight scale");
  for (int g : p.galois_steps)
    if (g <= 0 || static_cast<std::size_t>(g) >= slots)
      throw FormatError(ctx + ": plan: bad Galois step");
  return p;
}

core::Bytes Plan::encode() const {
  core::ByteWriter w;
  write(w);
  return w.take();
}

core::Digest Plan::hash() const { return core::blake2b_256(encode()); }

core::Digest model_hash(const ml::Model& model) {
  return core::blake2b_256(ml::encode_model(model));
}

std::vector<double> query_vector(const Plan& plan, const std::vector<double>& features,
                                 const std::vector<double>& counts, const std::string& name) {
  if (features.size() != plan.dimension)
    throw InputError(name + ": the representation has " + std::to_string(features.size()) +
                     " values, the model card expects " + std::to_string(plan.dimension));
  if (counts.size() != plan.count_elements.size())
    throw InputError(name + ": wrong number of element counts for the model card");
  double norm2 = 0;
  for (double v : features) norm2 += v * v;
  const double norm = std::sqrt(norm2);
  if (!(norm <= plan.max_query_norm))
    throw InputError(
        fmt::format("{}: its representation norm {:.6g} exceeds {:.6g}, the largest the model "
                    "card's encrypted plan "
                    "covers (the kernel approximation would not hold); this molecule is too far "
                    "from the training set",
                    name, norm, plan.max_query_norm));
  std::vector<double> v(plan.period, 0.0);
  const double Q = plan.max_query_norm;
  for (std::size_t j = 0; j < features.size(); ++j) v[j] = features[j] / Q;
  v[plan.dimension] = norm2 / (Q * Q);
  v[plan.dimension + 1] = 1.0;
  for (std::size_t e = 0; e < counts.size(); ++e)
    v[plan.dimension + 2 + e] = counts[e] / plan.count_scale;
  return v;
}

}  // namespace encmol::secure
