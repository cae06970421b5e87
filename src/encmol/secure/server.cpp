// The server of the double-blind protocol (roles.hpp): plan, circuit, budget, flooding.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "encmol/ckks/encryptor.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/he/approx.hpp"
#include "encmol/he/chebyshev.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/math/random.hpp"
#include "encmol/secure/atomic_server.hpp"
#include "encmol/secure/budget_state.hpp"
#include "encmol/secure/feature_plan.hpp"
#include "encmol/secure/roles.hpp"
#include "encmol/secure/stage_timer.hpp"
#include "encmol/secure/wire.hpp"

namespace encmol::secure {

using namespace wire;

// ------------------------------------------------------------------ server

Server::Server(const ml::Model& model, const PlanOptions& options, ServerOptions server_options)
    : options_(std::move(server_options)) {
  card_ = ModelCard::from_model(model, options);
  plan_ = card_.plan;
  setup(model);
}

Server::Server(const ml::Model& model, const ModelCard& card, ServerOptions server_options)
    : options_(std::move(server_options)) {
  if (model_hash(model) != card.plan.model_hash)
    throw FormatError("the model card was made from a different model (model hash " +
                      short_hex(card.plan.model_hash) + ", this model's is " +
                      short_hex(model_hash(model)) + ")");
  card_ = ModelCard::from_model(model, card.plan.options);
  if (card_.plan_hash() != card.plan_hash())
    throw FormatError(
        "the model card's plan differs from the one this encmol compiles for the model "
        "(card from another encmol version?): publish a new card with encmol card");
  plan_ = card_.plan;
  setup(model);
}

Server::Server(const ml::Model& model, const EvalKeys& keys, ServerOptions server_options)
    : options_(std::move(server_options)) {
  card_ = ModelCard::from_model(model, keys.options);
  if (card_.plan_hash() != keys.plan_hash)
    throw FormatError("the evaluation keys were made for another model card (plan " +
                      short_hex(keys.plan_hash) + ", this model compiles to " +
                      short_hex(card_.plan_hash()) +
                      "): the client must run encmol keygen with this model's card");
  plan_ = card_.plan;
  setup(model);
}

Server::~Server() = default;
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;

void Server::setup(const ml::Model& model) {
  const Plan& p = plan_;
  ctx_ = ckks::Context::create(p.params);
  encoder_ = std::make_shared<const ckks::Encoder>(ctx_);
  ev_ = std::make_unique<ckks::Evaluator>(ctx_);
  if (p.family == PlanFamily::Atomic)
    atomic_ = std::make_unique<AtomicEvaluator>(model, p, encoder_, options_.plaintext_cache_bytes);
  else if (p.family == PlanFamily::Features)
    features_ = std::make_unique<FeatureEvaluator>(model, p, encoder_);
  else
    setup_kernel(model);
  open_budget_state();
}

void Server::setup_kernel(const ml::Model& model) {
  const Plan& p = plan_;
  const std::size_t n = p.training_size, d = p.dimension, C = p.period;
  const auto& X = model.global_krr().training_features;
  std::vector<double> M(p.rows * C, 0.0);
  const double Q = p.max_query_norm;
  for (std::size_t i = 0; i < n; ++i) {
    double* row = M.data() + i * C;
    const auto xi = X.row(static_cast<Eigen::Index>(i));
    if (p.kernel == ml::KernelKind::Gaussian) {
      const double s = 2.0 * p.gamma / p.T;
      for (std::size_t j = 0; j < d; ++j) row[j] = -2.0 * s * Q * xi(static_cast<Eigen::Index>(j));
      row[d] = s * Q * Q;
      row[d + 1] = s * xi.squaredNorm() - 1.0;
    } else {
      for (std::size_t j = 0; j < d; ++j)
        row[j] = p.gamma * Q * xi(static_cast<Eigen::Index>(j)) / p.inner_bound;
      row[d + 1] = p.coef0 / p.inner_bound;
    }
  }
  const he::MatVecPlan mv = p.matvec_plan();
  const double plaintext_bytes = static_cast<double>(mv.blocks * mv.diagonals) *
                                 static_cast<double>(ctx_->max_level() + 1) *
                                 static_cast<double>(ctx_->n()) * 8.0;
  const auto mode = plaintext_bytes <= static_cast<double>(options_.plaintext_cache_bytes)
                        ? he::DiagonalCache::plaintexts
                        : he::DiagonalCache::coefficients;
  // The top level's product is the layout mask, whose rescale the matrix-vector product takes over.
  op_ = std::make_unique<he::MatVecOperator>(encoder_, mv, M, ctx_->max_level(), mode,
                                             /*pending_input_rescale=*/true);
  layout_ = p.replication();
  // Features, |x|^2 / Q^2 and element counts as sent; the constant slot zeroed: the server
  // adds the constant's contributions (matrix column d + 1, the mean) as plaintexts, so a client
  // cannot drop the mean or shift every row's distance.
  layout_keep_.assign(C, 0.0);
  for (std::size_t j = 0; j < d + 2 + p.count_elements.size(); ++j) layout_keep_[j] = 1.0;
  layout_keep_[d + 1] = 0.0;
  constant_column_.assign(p.slots, 0.0);
  for (std::size_t q = 0; q < p.queries; ++q)
    for (std::size_t i = 0; i < n; ++i) constant_column_[q * p.query_stride + i] = M[i * C + d + 1];
  if (p.kernel == ml::KernelKind::Gaussian) {
    approx_ = plan_exp_approximation(p);
  } else if (p.degree > 1) {
    monomial_ = he::chebyshev_interpolate([deg = p.degree](double v) { return std::pow(v, deg); },
                                          -1.0, 1.0, static_cast<std::size_t>(p.degree));
  }
  const double upow =
      p.kernel == ml::KernelKind::Gaussian ? 1.0 : std::pow(p.inner_bound, p.degree);
  weights_.assign(p.targets, std::vector<double>(p.slots, 0.0));
  baseline_.assign(p.targets, std::vector<double>(p.slots, 0.0));
  mean_.assign(p.targets, std::vector<double>(p.slots, 0.0));
  mask_.assign(p.slots, 0.0);
  for (std::size_t q = 0; q < p.queries; ++q) {
    const std::size_t base = q * p.query_stride;
    mask_[base] = 1.0;
    for (std::size_t t = 0; t < p.targets; ++t) {
      const auto tt = static_cast<Eigen::Index>(t);
      for (std::size_t i = 0; i < n; ++i)
        weights_[t][base + i] =
            model.global_krr().alpha(static_cast<Eigen::Index>(i), tt) * upow / p.weight_scale[t];
      mean_[t][base] =
          (model.baseline.mean.size() > 0 ? model.baseline.mean(tt) : 0.0) / p.weight_scale[t];
      for (std::size_t e = 0; e < p.count_elements.size(); ++e)
        baseline_[t][base + d + 2 + e] =
            model.baseline.coefficients(static_cast<Eigen::Index>(e), tt) * p.count_scale /
            p.weight_scale[t];
    }
  }
}

void Server::open_budget_state() {
  if (options_.budget_state.empty()) return;
  // One server at a time per state file: two would each count from the same start and lose
  // molecules.
  budget_lock_ = std::make_unique<core::FileLock>(options_.budget_state.string() + ".lock",
                                                  "query-budget state");
  used_ = load_budget_state(options_.budget_state);
}

void Server::check_keys(const EvalKeys& keys) const {
  if (keys.plan_hash != card_.plan_hash())
    throw FormatError("the evaluation keys were made for another model card (plan " +
                      short_hex(keys.plan_hash) + ", this model's is " +
                      short_hex(card_.plan_hash()) + "): run encmol keygen with this card");
  for (int s : plan_.galois_steps)
    if (!keys.galois.has(ctx_->galois_element(s)))
      throw FormatError("the evaluation keys lack the Galois key for rotation " +
                        std::to_string(s));
}

std::uint64_t Server::used_budget(const core::Digest& key_id) const {
  auto it = used_.find(core::to_hex(key_id));
  return it == used_.end() ? 0 : it->second;
}

void Server::flood(ckks::Ciphertext& ct) const {
  const std::size_t n = ctx_->n();
  std::vector<std::int64_t> e(n);
  math::Prng prng(math::random_seed());
  math::sample_gaussian(prng, plan_.flood_sigma, e.data(), n);
  std::vector<std::uint64_t> limb(n);
  for (std::size_t i = 0; i <= ct.level; ++i) {
    const std::uint64_t q = ctx_->modulus(i).value();
    for (std::size_t j = 0; j < n; ++j)
      limb[j] = e[j] >= 0 ? static_cast<std::uint64_t>(e[j]) % q
                          : q - (static_cast<std::uint64_t>(-e[j]) % q);
    for (auto& v : limb)
      if (v == q) v = 0;
    ctx_->ntt(i).forward(limb.data());
    std::uint64_t* c0 = ct.limb(0, i);
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t s = c0[j] + limb[j];
      c0[j] = s >= q ? s - q : s;
    }
  }
  ct.c1_seed.reset();
}

ckks::Ciphertext Server::evaluate_one(const ckks::Ciphertext& query, const EvalKeys& keys,
                                      std::size_t live_queries,
                                      const ckks::Encryptor& rerandomizer) const {
  const Plan& p = plan_;
  const ckks::Evaluator& ev = *ev_;
  if (query.level != ctx_->max_level())
    throw FormatError("query ciphertext is at level " + std::to_string(query.level) +
                      ", the plan expects " + std::to_string(ctx_->max_level()));
  if (query.size != 2 || !(std::fabs(query.scale / p.params.default_scale - 1.0) < 1e-9))
    throw FormatError(
        "query ciphertext has an unexpected size or scale (not made by encmol encrypt for this "
        "card)");
  StageTimer timer;
  ckks::Ciphertext acc = atomic_
                             ? atomic_->evaluate(ev, query, keys.relin, keys.galois, live_queries)
                         : features_ ? features_->evaluate(ev, query, keys.galois, live_queries)
                                     : evaluate_kernel(query, keys, live_queries);
  timer.lap("circuit");
  // Re-randomize: c1 of the result is otherwise a deterministic function of
  // the client's c1, its keys and the model's plaintexts, from which a client
  // could solve for model data. Adding a fresh public-key encryption of zero
  // makes (c0, c1) a fresh-looking encryption of the masked result.
  acc = ev.add(acc, rerandomizer.encrypt_zero(acc.level, acc.scale));
  flood(acc);
  timer.lap("flood");
  return acc;
}

ckks::Ciphertext Server::evaluate_kernel(const ckks::Ciphertext& query, const EvalKeys& keys,
                                         std::size_t live_queries) const {
  const Plan& p = plan_;
  const ckks::Evaluator& ev = *ev_;
  StageTimer timer;
  // Only the C values of one block per query window survive; the server makes the replicas itself,
  // so a client cannot feed different training rows different vectors (see plan.hpp, step 0). Its
  // mask is not rescaled: the product below does that, so the mask's rounding and the replication's
  // key-switching noise stay ~2^50 below the message instead of entering every replica.
  const ckks::Ciphertext xh = he::enforce_replication(ev, *encoder_, query, layout_, layout_keep_,
                                                      keys.galois, /*rescale=*/false);
  timer.lap("layout");
  auto blocks = op_->apply(ev, xh, keys.galois);
  blocks[0] =
      ev.add_plain(blocks[0], encoder_->encode(constant_column_, blocks[0].scale, blocks[0].level));
  timer.lap("matvec");
  // k: the kernel values, already times the weights of target 0 when they ride in the polynomial's
  // leaves.
  ckks::Ciphertext k;
  if (p.kernel == ml::KernelKind::Gaussian) {
    k = p.weights_in_leaves
            ? he::evaluate_exp_weighted(ev, *encoder_, blocks[0], approx_, weights_[0], keys.relin)
            : he::evaluate_exp(ev, blocks[0], approx_, keys.relin);
  } else if (p.degree > 1) {
    k = p.weights_in_leaves ? he::evaluate_chebyshev_weighted(ev, *encoder_, blocks[0], monomial_,
                                                              weights_[0], keys.relin)
                            : he::evaluate_chebyshev(ev, blocks[0], monomial_, keys.relin);
  } else {
    k = std::move(blocks[0]);
  }
  timer.lap("kernel");
  // Keep result slots only for the molecules the client declared (and pays
  // budget for); extra vectors packed into the last ciphertext get nothing.
  std::vector<double> partial_mask;
  if (live_queries < p.queries) {
    partial_mask = mask_;
    for (std::size_t q = live_queries; q < p.queries; ++q) partial_mask[q * p.query_stride] = 0.0;
  }
  const std::vector<double>& result_mask = live_queries < p.queries ? partial_mask : mask_;
  ckks::Ciphertext acc;
  const std::size_t weighted_level = p.weights_in_leaves ? k.level : k.level - 1;
  ckks::Ciphertext xr;  // the query's values at its own scale, for the per-element baseline
  if (!p.count_elements.empty()) {
    xr = ev.rescale(xh);
    xr.scale = query.scale;
  }
  for (std::size_t t = 0; t < p.targets; ++t) {
    ckks::Ciphertext s =
        p.weights_in_leaves ? k : he::multiply_vector(ev, *encoder_, k, weights_[t]);
    // The baseline is linear in xh: one plaintext product near the top, dropped to the kernel's
    // level.
    if (!p.count_elements.empty()) {
      const ckks::Ciphertext base = he::multiply_vector(ev, *encoder_, xr, baseline_[t]);
      s = ev.add(s, he::bring_to(ev, base, weighted_level, s.scale));
    }
    s = ev.add_plain(s, encoder_->encode(mean_[t], s.scale, s.level));
    s = he::sum_slots(ev, s, p.sum_block, keys.galois);
    s = he::multiply_vector(ev, *encoder_, s, result_mask);
    if (t > 0) s = ev.rotate(s, -static_cast<int>(t), keys.galois);
    acc = t == 0 ? std::move(s) : ev.add(acc, s);
  }
  timer.lap("sums+mask");
  return acc;
}

Result Server::answer(const Query& query, const EvalKeys& keys) const {
  check_keys(keys);
  if (query.plan_hash != card_.plan_hash())
    throw FormatError("the query was made for another model card (plan " +
                      short_hex(query.plan_hash) + ", this model's is " +
                      short_hex(card_.plan_hash()) + ")");
  if (query.key_id != keys.key_id)
    throw FormatError("the query was encrypted under key " + short_hex(query.key_id) +
                      ", the evaluation keys are for key " + short_hex(keys.key_id) +
                      ": send the evaluation keys of the client that made the query");
  if (query.molecules == 0 ||
      query.ciphertexts.size() != (query.molecules + plan_.queries - 1) / plan_.queries)
    throw FormatError("query: molecule and ciphertext counts disagree");
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  r.plan_hash = query.plan_hash;
  r.key_id = query.key_id;
  r.molecules = query.molecules;
  r.sealed_names = query.sealed_names;
  const ckks::Encryptor rerandomizer(ctx_, keys.public_key);
  for (std::size_t c = 0; c < query.ciphertexts.size(); ++c) {
    const auto& ct = query.ciphertexts[c];
    if (ct.params != ctx_->hash())
      throw FormatError("query ciphertext has foreign CKKS parameters");
    const std::size_t live = std::min(plan_.queries, query.molecules - c * plan_.queries);
    r.ciphertexts.push_back(evaluate_one(ct, keys, live, rerandomizer));
  }
  r.server_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Result Server::evaluate(const Query& query, const EvalKeys& keys) {
  const std::string id = core::to_hex(keys.key_id);
  const std::uint64_t used = used_[id];
  if (options_.query_budget > 0 && used + query.molecules > options_.query_budget)
    throw SecurityError(
        fmt::format("query budget exhausted for key {}: {} of {} molecules used, this query asks "
                    "for {} more (the budget bounds model extraction)",
                    short_hex(keys.key_id), used, options_.query_budget, query.molecules));
  Result r = answer(query, keys);
  used_[id] = used + query.molecules;
  if (!options_.budget_state.empty()) save_budget_state(options_.budget_state, used_);
  return r;
}

}  // namespace encmol::secure
