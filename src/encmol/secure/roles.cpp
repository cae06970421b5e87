#include "encmol/secure/roles.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/serialization.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/he/approx.hpp"
#include "encmol/he/chebyshev.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/math/random.hpp"

namespace encmol::secure {
namespace {

constexpr std::uint64_t kMaxCardBytes = std::uint64_t{64} << 20;
constexpr std::size_t kMaxCiphertexts = 1 << 16;
constexpr std::size_t kMaxNameLength = 4096;

void write_blob(core::ByteWriter& w, const core::Bytes& b) {
  w.u64(b.size());
  w.bytes(b);
}
std::span<const std::uint8_t> read_blob(core::ByteReader& r, const char* what, std::size_t max) {
  const std::size_t n = r.count(what, max);
  return r.bytes(n);
}
core::Digest read_digest(core::ByteReader& r) {
  core::Digest d{};
  auto b = r.bytes(32);
  std::copy(b.begin(), b.end(), d.begin());
  return d;
}
std::string short_hex(const core::Digest& d) { return core::to_hex(std::span(d.data(), 8)); }

std::uint64_t max_ct_bytes(const ckks::Context& ctx) {
  return ckks::max_serialized_bytes(ckks::kKindCiphertext, ctx);
}

/// Largest query or result file read: 4,096 full-size ciphertexts plus 16 MiB of names and headers.
std::uint64_t max_message_bytes(const ckks::Context& ctx) { return max_ct_bytes(ctx) * 4096 + (1 << 24); }

// Query and Result share their layout.
core::Bytes encode_cts(core::Kind kind, const core::Digest& plan_hash, const core::Digest& key_id,
                       std::size_t molecules, const core::Bytes& sealed, const std::vector<ckks::Ciphertext>& cts,
                       double seconds, const ckks::Context& ctx) {
  core::ByteWriter w;
  w.bytes(plan_hash);
  w.bytes(key_id);
  w.u64(molecules);
  w.u64(sealed.size());
  w.bytes(sealed);
  w.u64(cts.size());
  for (const auto& c : cts) write_blob(w, ckks::serialize(ctx, c));
  w.f64(seconds);
  return core::seal_envelope(kind, kSecureFormatVersion, w.data());
}

template <class T>
T decode_cts(core::Kind kind, const char* what, std::span<const std::uint8_t> envelope, const ckks::Context& ctx,
             std::size_t queries_per_ct, const std::string& context) {
  const auto opened = core::open_envelope(envelope, kind, kSecureFormatVersion, context, what);
  core::ByteReader r(opened.payload, context);
  T out;
  out.plan_hash = read_digest(r);
  out.key_id = read_digest(r);
  const std::size_t nn = r.u64();
  if (nn > kMaxCiphertexts * 4096) throw FormatError(context + ": " + what + ": implausible molecule count");
  out.molecules = nn;
  const auto sealed = read_blob(r, "sealed names", kMaxCiphertexts * 4096 * 64);
  out.sealed_names.assign(sealed.begin(), sealed.end());
  const std::size_t nc = r.count("ciphertexts", kMaxCiphertexts, 64);
  const std::size_t expect = (nn + queries_per_ct - 1) / std::max<std::size_t>(queries_per_ct, 1);
  if (nn == 0 || nc != expect)
    throw FormatError(fmt::format("{}: {} holds {} molecules in {} ciphertexts, the card packs {} per ciphertext",
                                  context, what, nn, nc, queries_per_ct));
  const std::uint64_t cap = max_ct_bytes(ctx);
  for (std::size_t i = 0; i < nc; ++i) {
    auto blob = read_blob(r, "ciphertext", cap);
    out.ciphertexts.push_back(ckks::deserialize_ciphertext(blob, ctx, context));
    if (out.ciphertexts.back().size != 2)
      throw FormatError(context + ": " + what + " ciphertext " + std::to_string(i) + " is not relinearized");
  }
  const double s = r.finite_f64("seconds");
  if constexpr (requires { out.server_seconds; }) out.server_seconds = s;
  r.expect_end();
  return out;
}

// Key of the name seal: BLAKE2b-256 of a domain string and the secret key's coefficients.
std::array<std::uint8_t, crypto_secretbox_KEYBYTES> names_key(const ckks::SecretKey& sk) {
  core::Bytes material = {'e', 'n', 'c', 'm', 'o', 'l', '-', 'n', 'a', 'm', 'e', 's'};
  for (std::int8_t c : sk.coeffs) material.push_back(static_cast<std::uint8_t>(c));
  const core::Digest d = core::blake2b_256(material);
  std::array<std::uint8_t, crypto_secretbox_KEYBYTES> k{};
  static_assert(crypto_secretbox_KEYBYTES == 32);
  std::copy(d.begin(), d.end(), k.begin());
  return k;
}

core::Bytes seal_names(const ckks::SecretKey& sk, const std::vector<std::string>& names) {
  core::ByteWriter w;
  w.u64(names.size());
  for (const auto& n : names) w.string(n);
  const core::Bytes& plain = w.data();
  core::Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  const auto key = names_key(sk);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plain.data(), plain.size(), out.data(), key.data());
  return out;
}

std::vector<std::string> open_names(const ckks::SecretKey& sk, const core::Bytes& sealed, std::size_t expected) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    throw FormatError("result: the sealed molecule names are truncated");
  core::Bytes plain(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES);
  const auto key = names_key(sk);
  if (crypto_secretbox_open_easy(plain.data(), sealed.data() + crypto_secretbox_NONCEBYTES,
                                 sealed.size() - crypto_secretbox_NONCEBYTES, sealed.data(), key.data()) != 0)
    throw FormatError("result: the molecule names were not sealed with this secret key (or were altered)");
  core::ByteReader r(plain, "sealed molecule names");
  const std::size_t n = r.count("names", expected, 8);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back(r.string(kMaxNameLength));
  r.expect_end();
  if (n != expected) throw FormatError("result: the sealed names do not match the molecule count");
  return names;
}

}  // namespace

std::vector<double> element_counts(const Plan& plan, const chem::Molecule& molecule) {
  std::vector<double> c(plan.count_elements.size(), 0.0);
  for (int z : molecule.charges) {
    auto it = std::find(plan.count_elements.begin(), plan.count_elements.end(), z);
    if (it != plan.count_elements.end()) c[static_cast<std::size_t>(it - plan.count_elements.begin())] += 1.0;
  }
  return c;
}

// ------------------------------------------------------------------ card

ModelCard ModelCard::from_model(const ml::Model& model, const PlanOptions& options) {
  ModelCard c;
  c.plan = compile_plan(model, options);
  c.representation = model.representation;
  c.targets = model.targets;
  c.units = model.units;
  c.description = model.info.dataset;
  return c;
}

core::Bytes ModelCard::encode() const {
  core::ByteWriter w;
  plan.write(w);
  representation.write(w);
  w.u64(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    w.string(targets[t]);
    w.string(t < units.size() ? units[t] : "");
  }
  w.string(description);
  return core::seal_envelope(kCardKind, kSecureFormatVersion, w.data());
}

ModelCard ModelCard::decode(std::span<const std::uint8_t> envelope, const std::string& context) {
  const auto opened = core::open_envelope(envelope, kCardKind, kSecureFormatVersion, context, "model card");
  core::ByteReader r(opened.payload, context);
  ModelCard c;
  c.plan = Plan::read(r);
  c.representation = chem::RepresentationSpec::read(r);
  const std::size_t nt = r.count("targets", 1024, 16);
  for (std::size_t t = 0; t < nt; ++t) {
    c.targets.push_back(r.string(kMaxNameLength));
    c.units.push_back(r.string(kMaxNameLength));
  }
  c.description = r.string(1 << 16);
  r.expect_end();
  if (nt != c.plan.targets || c.representation.dimension() != c.plan.dimension)
    throw FormatError(context + ": model card: the plan does not match the representation or targets");
  return c;
}

void ModelCard::save(const std::filesystem::path& path) const { core::write_file_atomic(path, encode()); }

ModelCard ModelCard::load(const std::filesystem::path& path) {
  return decode(core::read_file_bytes(path, kMaxCardBytes), path.string());
}

// ------------------------------------------------------------------ eval keys

core::Bytes EvalKeys::encode(const ckks::Context& ctx) const {
  core::ByteWriter w;
  w.bytes(plan_hash);
  options.write(w);
  w.bytes(key_id);
  write_blob(w, ckks::serialize(ctx, public_key));
  write_blob(w, ckks::serialize(ctx, relin));
  write_blob(w, ckks::serialize(ctx, galois));
  return core::seal_envelope(kEvalKeysKind, kSecureFormatVersion, w.data());
}

EvalKeys EvalKeys::decode(std::span<const std::uint8_t> envelope, const ckks::Context& ctx,
                          const std::string& context) {
  const auto opened = core::open_envelope(envelope, kEvalKeysKind, kSecureFormatVersion, context, "evaluation keys");
  core::ByteReader r(opened.payload, context);
  EvalKeys k;
  k.plan_hash = read_digest(r);
  k.options = PlanOptions::read(r);
  k.key_id = read_digest(r);
  auto pk = read_blob(r, "public key", ckks::max_serialized_bytes(ckks::kKindPublicKey, ctx));
  if (core::blake2b_256(pk) != k.key_id)
    throw FormatError(context + ": evaluation keys: the key id does not match the public key");
  k.public_key = ckks::deserialize_public_key(pk, ctx, context);
  k.relin = ckks::deserialize_relin_key(read_blob(r, "relinearization key",
                                                  ckks::max_serialized_bytes(ckks::kKindRelinKey, ctx)),
                                        ctx, context);
  k.galois = ckks::deserialize_galois_keys(
      read_blob(r, "Galois keys", ckks::max_serialized_bytes(ckks::kKindGaloisKeys, ctx)), ctx, context);
  r.expect_end();
  return k;
}

EvalKeys EvalKeys::peek(std::span<const std::uint8_t> envelope, const std::string& context) {
  const auto opened = core::open_envelope(envelope, kEvalKeysKind, kSecureFormatVersion, context, "evaluation keys");
  core::ByteReader r(opened.payload, context);
  EvalKeys k;
  k.plan_hash = read_digest(r);
  k.options = PlanOptions::read(r);
  k.key_id = read_digest(r);
  return k;
}

void EvalKeys::save(const std::filesystem::path& path, const ckks::Context& ctx) const {
  core::write_file_atomic(path, encode(ctx));
}

EvalKeys EvalKeys::load(const std::filesystem::path& path, const ckks::Context& ctx) {
  const std::uint64_t cap = ckks::max_serialized_bytes(ckks::kKindGaloisKeys, ctx) +
                            ckks::max_serialized_bytes(ckks::kKindRelinKey, ctx) +
                            ckks::max_serialized_bytes(ckks::kKindPublicKey, ctx) + 4096;
  return decode(core::read_file_bytes(path, cap), ctx, path.string());
}

// ------------------------------------------------------------------ query / result

core::Bytes Query::encode(const ckks::Context& ctx) const {
  return encode_cts(kQueryKind, plan_hash, key_id, molecules, sealed_names, ciphertexts, 0.0, ctx);
}
Query Query::decode(std::span<const std::uint8_t> envelope, const ckks::Context& ctx, std::size_t q,
                    const std::string& context) {
  return decode_cts<Query>(kQueryKind, "query", envelope, ctx, q, context);
}
void Query::save(const std::filesystem::path& path, const ckks::Context& ctx) const {
  core::write_file_atomic(path, encode(ctx));
}
Query Query::load(const std::filesystem::path& path, const ckks::Context& ctx, std::size_t q) {
  return decode(core::read_file_bytes(path, max_message_bytes(ctx)), ctx, q, path.string());
}

core::Bytes Result::encode(const ckks::Context& ctx) const {
  return encode_cts(kResultKind, plan_hash, key_id, molecules, sealed_names, ciphertexts, server_seconds, ctx);
}
Result Result::decode(std::span<const std::uint8_t> envelope, const ckks::Context& ctx, std::size_t q,
                      const std::string& context) {
  return decode_cts<Result>(kResultKind, "result", envelope, ctx, q, context);
}
void Result::save(const std::filesystem::path& path, const ckks::Context& ctx) const {
  core::write_file_atomic(path, encode(ctx));
}
Result Result::load(const std::filesystem::path& path, const ckks::Context& ctx, std::size_t q) {
  return decode(core::read_file_bytes(path, max_message_bytes(ctx)), ctx, q, path.string());
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
  core::save_envelope_file(path, kSecretKeyKind, kSecureFormatVersion, w.data(), core::Access::OwnerOnly);
}

Client Client::load(const std::filesystem::path& path) {
  const auto env = core::load_envelope_file(path, kSecretKeyKind, kSecureFormatVersion, "secret key file",
                                            std::uint64_t{1} << 30);
  const std::string name = path.string();
  core::ByteReader r(env.payload, name);
  ModelCard card = ModelCard::decode(read_blob(r, "model card", kMaxCardBytes), name);
  auto ctx = ckks::Context::create(card.plan.params);
  auto pkb = read_blob(r, "public key", ckks::max_serialized_bytes(ckks::kKindPublicKey, *ctx));
  core::Bytes pk_bytes(pkb.begin(), pkb.end());
  ckks::PublicKey pk = ckks::deserialize_public_key(pk_bytes, *ctx, name);
  ckks::SecretKey sk = ckks::deserialize_secret_key(
      read_blob(r, "secret key", ckks::max_serialized_bytes(ckks::kKindSecretKey, *ctx)), *ctx, name);
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

std::vector<std::vector<double>> Client::query_vectors(const std::vector<chem::Molecule>& molecules) const {
  const Plan& plan = card_.plan;
  std::vector<std::vector<double>> vectors(molecules.size());
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    const auto& m = molecules[i];
    const std::string name = m.name.empty() ? "molecule " + std::to_string(i + 1) : m.name;
    try {
      card_.representation.check(m);
    } catch (const InputError& e) {
      throw InputError(name + ": the model card's representation cannot hold it: " + e.what());
    }
    vectors[i] = query_vector(plan, card_.representation.featurize(m), element_counts(plan, m), name);
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
  const he::MatVecPlan mv = plan.matvec_plan();
  Query q;
  q.plan_hash = card_.plan_hash();
  q.key_id = key_id_;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < molecules.size(); ++i)
    names.push_back(molecules[i].name.empty() ? "molecule " + std::to_string(i + 1) : molecules[i].name);
  q.molecules = molecules.size();
  q.sealed_names = seal_names(keygen_->secret_key(), names);
  for (std::size_t b = 0; b < molecules.size(); b += plan.queries) {
    const std::size_t e = std::min(molecules.size(), b + plan.queries);
    std::vector<std::vector<double>> group(vectors.begin() + static_cast<std::ptrdiff_t>(b),
                                           vectors.begin() + static_cast<std::ptrdiff_t>(e));
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

Predictions Client::decrypt(const Result& result) const {
  const Plan& plan = card_.plan;
  if (result.plan_hash != card_.plan_hash())
    throw FormatError("result was computed for another model card (plan " + short_hex(result.plan_hash) +
                      ", this key's card is " + short_hex(card_.plan_hash()) + ")");
  if (result.key_id != key_id_)
    throw FormatError("result was encrypted under key " + short_hex(result.key_id) + ", this secret key is " +
                      short_hex(key_id_) + ": use the key the query was made with");
  const std::size_t m = result.molecules;
  if (result.ciphertexts.size() != (m + plan.queries - 1) / plan.queries)
    throw FormatError("result: molecule and ciphertext counts disagree");
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
        p.values(i, static_cast<Eigen::Index>(t)) = std::round(v / step) * step;
      }
    }
  }
  return p;
}

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
                      short_hex(card.plan.model_hash) + ", this model's is " + short_hex(model_hash(model)) + ")");
  card_ = ModelCard::from_model(model, card.plan.options);
  if (card_.plan_hash() != card.plan_hash())
    throw FormatError("the model card's plan differs from the one this encmol compiles for the model "
                      "(card from another encmol version?): publish a new card with encmol card");
  plan_ = card_.plan;
  setup(model);
}

Server::Server(const ml::Model& model, const EvalKeys& keys, ServerOptions server_options)
    : options_(std::move(server_options)) {
  card_ = ModelCard::from_model(model, keys.options);
  if (card_.plan_hash() != keys.plan_hash)
    throw FormatError("the evaluation keys were made for another model card (plan " + short_hex(keys.plan_hash) +
                      ", this model compiles to " + short_hex(card_.plan_hash()) +
                      "): the client must run encmol keygen with this model's card");
  plan_ = card_.plan;
  setup(model);
}

void Server::setup(const ml::Model& model) {
  const Plan& p = plan_;
  ctx_ = ckks::Context::create(p.params);
  encoder_ = std::make_shared<const ckks::Encoder>(ctx_);
  ev_ = std::make_unique<ckks::Evaluator>(ctx_);
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
      for (std::size_t j = 0; j < d; ++j) row[j] = p.gamma * Q * xi(static_cast<Eigen::Index>(j)) / p.inner_bound;
      row[d + 1] = p.coef0 / p.inner_bound;
    }
  }
  const he::MatVecPlan mv = p.matvec_plan();
  const double plaintext_bytes = static_cast<double>(mv.blocks * mv.diagonals) *
                                 static_cast<double>(ctx_->max_level() + 1) * static_cast<double>(ctx_->n()) * 8.0;
  const auto mode = plaintext_bytes <= static_cast<double>(options_.plaintext_cache_bytes)
                        ? he::DiagonalCache::plaintexts
                        : he::DiagonalCache::coefficients;
  // The top level's product is the layout mask, whose rescale the matrix-vector product takes over.
  op_ = std::make_unique<he::MatVecOperator>(encoder_, mv, M, ctx_->max_level(), mode, /*pending_input_rescale=*/true);
  layout_ = p.replication();
  // Features, |x|^2 / Q^2 and element counts as sent; the constant slot zeroed: the server
  // adds the constant's contributions (matrix column d + 1, the mean) as plaintexts, so a client cannot
  // drop the mean or shift every row's distance.
  layout_keep_.assign(C, 0.0);
  for (std::size_t j = 0; j < d + 2 + p.count_elements.size(); ++j) layout_keep_[j] = 1.0;
  layout_keep_[d + 1] = 0.0;
  constant_column_.assign(p.slots, 0.0);
  for (std::size_t q = 0; q < p.queries; ++q)
    for (std::size_t i = 0; i < n; ++i) constant_column_[q * p.query_stride + i] = M[i * C + d + 1];
  if (p.kernel == ml::KernelKind::Gaussian) {
    approx_ = plan_exp_approximation(p);
  } else if (p.degree > 1) {
    monomial_ = he::chebyshev_interpolate([deg = p.degree](double v) { return std::pow(v, deg); }, -1.0, 1.0,
                                          static_cast<std::size_t>(p.degree));
  }
  const double upow = p.kernel == ml::KernelKind::Gaussian ? 1.0 : std::pow(p.inner_bound, p.degree);
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
        weights_[t][base + i] = model.global_krr().alpha(static_cast<Eigen::Index>(i), tt) * upow / p.weight_scale[t];
      mean_[t][base] = (model.baseline.mean.size() > 0 ? model.baseline.mean(tt) : 0.0) / p.weight_scale[t];
      for (std::size_t e = 0; e < p.count_elements.size(); ++e)
        baseline_[t][base + d + 2 + e] =
            model.baseline.coefficients(static_cast<Eigen::Index>(e), tt) * p.count_scale / p.weight_scale[t];
    }
  }
  // One server at a time per state file: two would each count from the same start and lose molecules.
  if (!options_.budget_state.empty())
    budget_lock_ = std::make_unique<core::FileLock>(options_.budget_state.string() + ".lock", "query-budget state");
  if (!options_.budget_state.empty() && std::filesystem::exists(options_.budget_state)) {
    const std::string text = core::read_file_text(options_.budget_state, 1 << 24);
    try {
      const auto j = nlohmann::json::parse(text);
      if (!j.is_object()) throw std::runtime_error("not a JSON object");
      for (auto it = j.begin(); it != j.end(); ++it) {
        const bool hex_id = it.key().size() == 64 &&
                            it.key().find_first_not_of("0123456789abcdef") == std::string::npos;
        if (!hex_id || !it.value().is_number_unsigned())
          throw std::runtime_error("entry \"" + it.key().substr(0, 80) +
                                   "\" is not a key id with a molecule count");
        used_[it.key()] = it.value().get<std::uint64_t>();
      }
    } catch (const std::exception& e) {
      throw FormatError(options_.budget_state.string() + ": not a query-budget state file (" + e.what() + ")");
    }
  }
}

void Server::check_keys(const EvalKeys& keys) const {
  if (keys.plan_hash != card_.plan_hash())
    throw FormatError("the evaluation keys were made for another model card (plan " + short_hex(keys.plan_hash) +
                      ", this model's is " + short_hex(card_.plan_hash()) + "): run encmol keygen with this card");
  for (int s : plan_.galois_steps)
    if (!keys.galois.has(ctx_->galois_element(s)))
      throw FormatError("the evaluation keys lack the Galois key for rotation " + std::to_string(s));
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
      limb[j] = e[j] >= 0 ? static_cast<std::uint64_t>(e[j]) % q : q - (static_cast<std::uint64_t>(-e[j]) % q);
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
                                      std::size_t live_queries, const ckks::Encryptor& rerandomizer) const {
  const Plan& p = plan_;
  const ckks::Evaluator& ev = *ev_;
  if (query.level != ctx_->max_level())
    throw FormatError("query ciphertext is at level " + std::to_string(query.level) + ", the plan expects " +
                      std::to_string(ctx_->max_level()));
  if (query.size != 2 || !(std::fabs(query.scale / p.params.default_scale - 1.0) < 1e-9))
    throw FormatError("query ciphertext has an unexpected size or scale (not made by encmol encrypt for this card)");
  // ENCMOL_SECURE_PROFILE=1 prints the time of each stage to stderr (for the benchmark notes).
  static const bool profile = std::getenv("ENCMOL_SECURE_PROFILE") != nullptr;
  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    if (!profile) return;
    const auto t1 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "secure profile: %-12s %.3f s\n", what, std::chrono::duration<double>(t1 - t0).count());
    t0 = t1;
  };
  // Only the C values of one block per query window survive; the server makes the replicas itself, so a
  // client cannot feed different training rows different vectors (see plan.hpp, step 0).
  // Its mask is not rescaled: the product below does that, so the mask's rounding and the replication's
  // key-switching noise stay ~2^50 below the message instead of entering every replica.
  const ckks::Ciphertext xh =
      he::enforce_replication(ev, *encoder_, query, layout_, layout_keep_, keys.galois, /*rescale=*/false);
  lap("layout");
  auto blocks = op_->apply(ev, xh, keys.galois);
  blocks[0] = ev.add_plain(blocks[0], encoder_->encode(constant_column_, blocks[0].scale, blocks[0].level));
  lap("matvec");
  // k: the kernel values, already times the weights of target 0 when they ride in the polynomial's leaves.
  ckks::Ciphertext k;
  if (p.kernel == ml::KernelKind::Gaussian) {
    k = p.weights_in_leaves ? he::evaluate_exp_weighted(ev, *encoder_, blocks[0], approx_, weights_[0], keys.relin)
                            : he::evaluate_exp(ev, blocks[0], approx_, keys.relin);
  } else if (p.degree > 1) {
    k = p.weights_in_leaves
            ? he::evaluate_chebyshev_weighted(ev, *encoder_, blocks[0], monomial_, weights_[0], keys.relin)
            : he::evaluate_chebyshev(ev, blocks[0], monomial_, keys.relin);
  } else {
    k = std::move(blocks[0]);
  }
  lap("kernel");
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
    ckks::Ciphertext s = p.weights_in_leaves ? k : he::multiply_vector(ev, *encoder_, k, weights_[t]);
    // The baseline is linear in xh: one plaintext product near the top, dropped to the kernel's level.
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
  lap("sums+mask");
  // Re-randomize: c1 of the result is otherwise a deterministic function of
  // the client's c1, its keys and the model's plaintexts, from which a client
  // could solve for model data. Adding a fresh public-key encryption of zero
  // makes (c0, c1) a fresh-looking encryption of the masked result.
  acc = ev.add(acc, rerandomizer.encrypt_zero(acc.level, acc.scale));
  flood(acc);
  lap("flood");
  return acc;
}

Result Server::evaluate(const Query& query, const EvalKeys& keys) {
  check_keys(keys);
  if (query.plan_hash != card_.plan_hash())
    throw FormatError("the query was made for another model card (plan " + short_hex(query.plan_hash) +
                      ", this model's is " + short_hex(card_.plan_hash()) + ")");
  if (query.key_id != keys.key_id)
    throw FormatError("the query was encrypted under key " + short_hex(query.key_id) +
                      ", the evaluation keys are for key " + short_hex(keys.key_id) +
                      ": send the evaluation keys of the client that made the query");
  if (query.molecules == 0 || query.ciphertexts.size() != (query.molecules + plan_.queries - 1) / plan_.queries)
    throw FormatError("query: molecule and ciphertext counts disagree");
  const std::string id = core::to_hex(keys.key_id);
  const std::uint64_t used = used_[id];
  if (options_.query_budget > 0 && used + query.molecules > options_.query_budget)
    throw SecurityError(fmt::format("query budget exhausted for key {}: {} of {} molecules used, this query asks "
                                    "for {} more (the budget bounds model extraction)",
                                    short_hex(keys.key_id), used, options_.query_budget, query.molecules));
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  r.plan_hash = query.plan_hash;
  r.key_id = query.key_id;
  r.molecules = query.molecules;
  r.sealed_names = query.sealed_names;
  const ckks::Encryptor rerandomizer(ctx_, keys.public_key);
  for (std::size_t c = 0; c < query.ciphertexts.size(); ++c) {
    const auto& ct = query.ciphertexts[c];
    if (ct.params != ctx_->hash()) throw FormatError("query ciphertext has foreign CKKS parameters");
    const std::size_t live = std::min(plan_.queries, query.molecules - c * plan_.queries);
    r.ciphertexts.push_back(evaluate_one(ct, keys, live, rerandomizer));
  }
  r.server_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  used_[id] = used + query.molecules;
  if (!options_.budget_state.empty()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : used_) j[k] = v;
    core::write_file_atomic(options_.budget_state, j.dump(2) + "\n");
  }
  return r;
}

}  // namespace encmol::secure
