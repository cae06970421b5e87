// The client of the double-blind protocol (roles.hpp): keys, queries, decryption.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/serialization.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/secure/atomic_plan.hpp"
#include "encmol/secure/feature_plan.hpp"
#include "encmol/secure/roles.hpp"
#include "encmol/secure/wire.hpp"

namespace encmol::secure {

using namespace wire;

std::vector<double> element_counts(const Plan& plan, const chem::Molecule& molecule) {
  std::vector<double> c(plan.count_elements.size(), 0.0);
  for (int z : molecule.charges) {
    auto it = std::find(plan.count_elements.begin(), plan.count_elements.end(), z);
    if (it != plan.count_elements.end())
      c[static_cast<std::size_t>(it - plan.count_elements.begin())] += 1.0;
  }
  return c;
}

// ------------------------------------------------------------------ client

Client::Client(ModelCard card) : card_(std::move(card)) {
  ctx_ = ckks::Context::create(card_.plan.params);
  encoder_ = std::make_shared<const ckks::Encoder>(ctx_);
  keygen_ = std::make_unique<ckks::KeyGenerator>(ctx_);
  public_key_ = keygen_->create_public_key();
  key_id_ = core::blake2b_256(ckks::serialize(*ctx_, public_key_));
}

Client::Client(ModelCard card, ckks::SecretKey sk) : card_(std::move(card)) {
  ctx_ = ckks::Context::create(card_.plan.params);
  encoder_ = std::make_shared<const ckks::Encoder>(ctx_);
  keygen_ = std::make_unique<ckks::KeyGenerator>(ctx_, std::move(sk));
}

void Client::save_secret_key(const std::filesystem::path& path) const {
  core::ByteWriter w;
  write_blob(w, card_.encode());
  write_blob(w, ckks::serialize(*ctx_, public_key_));
  write_blob(w, ckks::serialize(*ctx_, keygen_->secret_key()));
  core::save_envelope_file(path, kSecretKeyKind, kSecureFormatVersion, w.data(),
                           core::Access::OwnerOnly);
}

Client Client::load(const std::filesystem::path& path) {
  return decode(core::read_file_bytes(path, kMaxSecretKeyFileBytes), path.string());
}

Client Client::decode(std::span<const std::uint8_t> file, const std::string& name) {
  const auto env =
      core::open_envelope(file, kSecretKeyKind, kSecureFormatVersion, name, "secret key file");
  core::ByteReader r(env.payload, name);
  ModelCard card = ModelCard::decode(read_blob(r, "model card", kMaxCardBytes), name);
  auto ctx = ckks::Context::create(card.plan.params);
  auto pkb = read_blob(r, "public key", ckks::max_serialized_bytes(ckks::kKindPublicKey, *ctx));
  core::Bytes pk_bytes(pkb.begin(), pkb.end());
  ckks::PublicKey pk = ckks::deserialize_public_key(pk_bytes, *ctx, name);
  ckks::SecretKey sk = ckks::deserialize_secret_key(
      read_blob(r, "secret key", ckks::max_serialized_bytes(ckks::kKindSecretKey, *ctx)), *ctx,
      name);
  r.expect_end();
  Client c(std::move(card), std::move(sk));
  c.public_key_ = std::move(pk);
  c.key_id_ = core::blake2b_256(pk_bytes);
  return c;
}

EvalKeys Client::make_eval_keys() const {
  EvalKeys k;
  k.plan_hash = card_.plan_hash();
  k.options = card_.plan.options;
  k.key_id = key_id_;
  k.public_key = public_key_;
  k.relin = keygen_->create_relin_key();
  k.galois = keygen_->create_galois_keys(card_.plan.galois_steps, false);
  return k;
}

namespace {

std::string display_name(const chem::Molecule& m, std::size_t i) {
  return m.name.empty() ? "molecule " + std::to_string(i + 1) : m.name;
}

// Atomic plans: per molecule, its windows (plan.atomic.windows x plan.period values) one after
// another.
std::vector<std::vector<double>> atomic_vectors(const ModelCard& card,
                                                const std::vector<chem::Molecule>& molecules) {
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    try {
      card.representation.check_atoms(molecules[i]);
    } catch (const InputError& e) {
      throw InputError(display_name(molecules[i], i) +
                       ": the model card's representation cannot hold it: " + e.what());
    }
  }
  const chem::AtomicFeatures atoms =
      card.projection.project(card.representation.featurize_atoms(molecules));
  std::vector<std::vector<double>> vectors(molecules.size());
  for (std::size_t i = 0; i < molecules.size(); ++i)
    for (auto& w :
         atomic_query_windows(card.plan, card.frame, atoms, i, display_name(molecules[i], i)))
      vectors[i].insert(vectors[i].end(), w.begin(), w.end());
  return vectors;
}

}  // namespace

std::vector<std::vector<double>> Client::query_vectors(
    const std::vector<chem::Molecule>& molecules) const {
  const Plan& plan = card_.plan;
  if (plan.family == PlanFamily::Atomic) return atomic_vectors(card_, molecules);
  if (plan.family == PlanFamily::Features)
    return feature_query_vectors(plan, card_.representation, card_.projection, *card_.feature_map,
                                 molecules);
  std::vector<std::vector<double>> vectors(molecules.size());
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    const auto& m = molecules[i];
    const std::string name = m.name.empty() ? "molecule " + std::to_string(i + 1) : m.name;
    try {
      card_.representation.check(m);
    } catch (const InputError& e) {
      throw InputError(name + ": the model card's representation cannot hold it: " + e.what());
    }
    vectors[i] =
        query_vector(plan, card_.representation.featurize(m), element_counts(plan, m), name);
  }
  return vectors;
}

ckks::Ciphertext Client::encrypt_slots(std::span<const double> slots) const {
  if (slots.size() > ctx_->slots()) throw InputError("encrypt: more values than slots");
  return ckks::Encryptor(ctx_, keygen_->secret_key()).encrypt(encoder_->encode(slots));
}

Query Client::encrypt(const std::vector<chem::Molecule>& molecules) const {
  if (molecules.empty()) throw InputError("encrypt: no molecules given");
  const Plan& plan = card_.plan;
  const std::vector<std::vector<double>> vectors = query_vectors(molecules);
  const bool feature_plan = plan.family == PlanFamily::Features;
  const he::MatVecPlan mv = feature_plan ? he::MatVecPlan{} : plan.matvec_plan();
  Query q;
  q.plan_hash = card_.plan_hash();
  q.key_id = key_id_;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < molecules.size(); ++i) names.push_back(display_name(molecules[i], i));
  q.molecules = molecules.size();
  q.sealed_names = seal_names(keygen_->secret_key(), names);
  for (std::size_t b = 0; b < molecules.size(); b += plan.queries) {
    const std::size_t e = std::min(molecules.size(), b + plan.queries);
    if (feature_plan) {  // molecule g's vector at slots [g B, g B + D + E): no replicas
      std::vector<double> slots(plan.slots, 0.0);
      for (std::size_t i = b; i < e; ++i)
        std::copy(vectors[i].begin(), vectors[i].end(),
                  slots.begin() + static_cast<std::ptrdiff_t>((i - b) * plan.query_stride));
      q.ciphertexts.push_back(encrypt_slots(slots));
      continue;
    }
    std::vector<std::vector<double>> group;
    for (std::size_t i = b; i < e; ++i) {
      if (plan.family != PlanFamily::Atomic) {
        group.push_back(vectors[i]);
        continue;
      }
      for (std::size_t w = 0; w < plan.atomic.windows;
           ++w)  // one matrix-vector window per atom window
        group.emplace_back(vectors[i].begin() + static_cast<std::ptrdiff_t>(w * plan.period),
                           vectors[i].begin() + static_cast<std::ptrdiff_t>((w + 1) * plan.period));
    }
    q.ciphertexts.push_back(encrypt_slots(he::matvec_input_layout(mv, group)));
  }
  return q;
}

std::vector<double> Client::decrypt_slots(const ckks::Ciphertext& ct) const {
  ckks::Decryptor dec(ctx_, keygen_->secret_key());
  auto v = encoder_->decode(dec.decrypt(ct));
  const Plan& p = card_.plan;
  const double wmax = *std::max_element(p.weight_scale.begin(), p.weight_scale.end());
  for (std::size_t s = 0; s < v.size(); ++s) {
    const std::size_t r = s % p.query_stride;
    v[s] *= r < p.targets ? p.weight_scale[r] : wmax;
  }
  return v;
}

void Client::check_result(const Result& result) const {
  if (result.plan_hash != card_.plan_hash())
    throw FormatError("result was computed for another model card (plan " +
                      short_hex(result.plan_hash) + ", this key's card is " +
                      short_hex(card_.plan_hash()) + ")");
  if (result.key_id != key_id_)
    throw FormatError("result was encrypted under key " + short_hex(result.key_id) +
                      ", this secret key is " + short_hex(key_id_) +
                      ": use the key the query was made with");
  if (result.ciphertexts.size() != (result.molecules + card_.plan.queries - 1) / card_.plan.queries)
    throw FormatError("result: molecule and ciphertext counts disagree");
}

Predictions Client::decrypt(const Result& result,
                            const std::vector<chem::Molecule>& molecules) const {
  if (!card_.delta.active()) return decrypt_with_baseline(result, {});
  check_result(result);  // before running xTB for a result that cannot be decrypted anyway
  // The client's own Δ baseline, never sent.
  if (molecules.size() != result.molecules)
    throw InputError(
        fmt::format("decrypt: the model learns a difference to an xTB baseline that the client "
                    "adds itself; give the {} "
                    "molecules of the query (got {})",
                    result.molecules, molecules.size()));
  return decrypt_with_baseline(result, card_.delta.evaluate(molecules));
}

Predictions Client::decrypt_with_baseline(const Result& result,
                                          const Eigen::MatrixXd& baseline) const {
  const Plan& plan = card_.plan;
  check_result(result);
  const std::size_t m = result.molecules;
  if (card_.delta.active() && (baseline.rows() != static_cast<Eigen::Index>(m) ||
                               baseline.cols() != static_cast<Eigen::Index>(plan.targets)))
    throw InputError(
        fmt::format("decrypt: the client's Δ baseline has {} x {} values, the result {} x {}",
                    baseline.rows(), baseline.cols(), m, plan.targets));
  Predictions p;
  p.names = open_names(keygen_->secret_key(), result.sealed_names, m);
  p.values.resize(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(plan.targets));
  p.raw.resizeLike(p.values);
  for (std::size_t c = 0; c < result.ciphertexts.size(); ++c) {
    const auto slots = decrypt_slots(result.ciphertexts[c]);
    for (std::size_t q = 0; q < plan.queries && c * plan.queries + q < m; ++q) {
      for (std::size_t t = 0; t < plan.targets; ++t) {
        const double v = slots[plan.output_slot(q, t)];
        const double step = plan.budget[t].rounding_step;
        const auto i = static_cast<Eigen::Index>(c * plan.queries + q);
        p.raw(i, static_cast<Eigen::Index>(t)) = v;
        p.values(i, static_cast<Eigen::Index>(t)) =
            std::round(v / step) * step +
            (card_.delta.active() ? baseline(i, static_cast<Eigen::Index>(t)) : 0.0);
      }
    }
  }
  return p;
}

}  // namespace encmol::secure
