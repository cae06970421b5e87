// The files of the double-blind protocol: model card, evaluation keys, query and result
// (roles.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <variant>

#include "encmol/ckks/serialization.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/secure/atomic_plan.hpp"
#include "encmol/secure/roles.hpp"
#include "encmol/secure/wire.hpp"

namespace encmol::secure {
namespace {

using namespace wire;

std::uint64_t max_ct_bytes(const ckks::Context& ctx) {
  return ckks::max_serialized_bytes(ckks::kKindCiphertext, ctx);
}

/// Largest query or result file read: 4,096 full-size ciphertexts plus 16 MiB of names and headers.
std::uint64_t max_message_bytes(const ckks::Context& ctx) {
  return max_ct_bytes(ctx) * 4096 + (1 << 24);
}

// Query and Result share their layout.
core::Bytes encode_cts(core::Kind kind, const core::Digest& plan_hash, const core::Digest& key_id,
                       std::size_t molecules, const core::Bytes& sealed,
                       const std::vector<ckks::Ciphertext>& cts, double seconds,
                       const ckks::Context& ctx) {
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
T decode_cts(core::Kind kind, const char* what, std::span<const std::uint8_t> envelope,
             const ckks::Context& ctx, std::size_t queries_per_ct, const std::string& context) {
  const auto opened = core::open_envelope(envelope, kind, kSecureFormatVersion, context, what);
  core::ByteReader r(opened.payload, context);
  T out;
  out.plan_hash = read_digest(r);
  out.key_id = read_digest(r);
  const std::size_t nn = r.u64();
  if (nn > kMaxCiphertexts * 4096)
    throw FormatError(context + ": " + what + ": implausible molecule count");
  out.molecules = nn;
  const auto sealed = read_blob(r, "sealed names", kMaxCiphertexts * 4096 * 64);
  out.sealed_names.assign(sealed.begin(), sealed.end());
  const std::size_t nc = r.count("ciphertexts", kMaxCiphertexts, 64);
  const std::size_t expect = (nn + queries_per_ct - 1) / std::max<std::size_t>(queries_per_ct, 1);
  if (nn == 0 || nc != expect)
    throw FormatError(
        fmt::format("{}: {} holds {} molecules in {} ciphertexts, the card packs {} per ciphertext",
                    context, what, nn, nc, queries_per_ct));
  const std::uint64_t cap = max_ct_bytes(ctx);
  for (std::size_t i = 0; i < nc; ++i) {
    auto blob = read_blob(r, "ciphertext", cap);
    out.ciphertexts.push_back(ckks::deserialize_ciphertext(blob, ctx, context));
    if (out.ciphertexts.back().size != 2)
      throw FormatError(context + ": " + what + " ciphertext " + std::to_string(i) +
                        " is not relinearized");
  }
  const double s = r.finite_f64("seconds");
  if constexpr (requires { out.server_seconds; }) out.server_seconds = s;
  r.expect_end();
  return out;
}

}  // namespace

// ------------------------------------------------------------------ card

ModelCard ModelCard::from_model(const ml::Model& model, const PlanOptions& options) {
  ModelCard c;
  c.plan = compile_plan(model, options);
  c.representation = model.representation;
  c.targets = model.targets;
  c.units = model.units;
  c.description = model.info.dataset;
  c.delta = model.baseline.delta;
  if (c.plan.family == PlanFamily::Atomic) {
    c.projection = model.atom_projection;
    c.frame = plan_frame(model, c.plan);
  }
  if (c.plan.family == PlanFamily::Features) {
    c.projection = model.atom_projection;
    c.feature_map = std::get<ml::RandomFeatureModel>(model.body).map;
  }
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
  delta.write(w);
  projection.write(w);
  frame.write(w);
  w.u8(feature_map ? 1 : 0);
  if (feature_map) feature_map->write(w);
  return core::seal_envelope(kCardKind, kCardFormatVersion, w.data());
}

ModelCard ModelCard::decode(std::span<const std::uint8_t> envelope, const std::string& context) {
  const auto opened =
      core::open_envelope(envelope, kCardKind, kCardFormatVersion, context, "model card");
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
  if (opened.version >= 2) {
    c.delta = ml::DeltaBaseline::read(r, nt);
    c.projection = ml::AtomicPca::read(
        r, c.representation.is_atomic() ? c.representation.atom_dimension() : 0);
    c.frame = ml::AtomFrame::read(
        r, c.representation.is_atomic()
               ? c.projection.output_dimension(c.representation.atom_dimension())
               : 0);
    const auto has_map = r.u8();
    if (has_map > 1) r.fail("model card: bad feature-map flag");
    if (has_map == 1) {
      if (!c.representation.is_atomic())
        r.fail("model card: a feature map needs an atomic representation");
      c.feature_map = ml::RandomFeatureMap::read(
          r, c.projection.output_dimension(c.representation.atom_dimension()), 0);
    }
  }
  r.expect_end();
  const bool atomic = c.plan.family == PlanFamily::Atomic;
  const bool features = c.plan.family == PlanFamily::Features;
  const std::size_t dimension =
      atomic ? c.projection.output_dimension(c.representation.atom_dimension())
      : features
          ? (c.feature_map ? c.feature_map->feature_count() + c.plan.features.count_elements.size()
                           : 0)
          : c.representation.dimension();
  bool ok =
      nt == c.plan.targets && dimension == c.plan.dimension &&
      (atomic || features || !c.projection.active()) && features == c.feature_map.has_value() &&
      (atomic || c.frame.empty()) &&
      (!features || c.feature_map->feature_count() == c.plan.features.features) &&
      (!atomic || (c.representation.is_atomic() &&
                   c.representation.elements() == c.plan.atomic.elements && !c.frame.empty()));
  try {
    c.delta.validate(nt);
    if (c.projection.active()) c.projection.validate(c.representation.elements());
    if (atomic) c.frame.validate(dimension, c.representation.elements());
  } catch (const Error&) {
    ok = false;
  }
  if (!ok)
    throw FormatError(context +
                      ": model card: the plan does not match the representation or targets");
  return c;
}

void ModelCard::save(const std::filesystem::path& path) const {
  core::write_file_atomic(path, encode());
}

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
  const auto opened = core::open_envelope(envelope, kEvalKeysKind, kSecureFormatVersion, context,
                                          "evaluation keys");
  core::ByteReader r(opened.payload, context);
  EvalKeys k;
  k.plan_hash = read_digest(r);
  k.options = PlanOptions::read(r);
  k.key_id = read_digest(r);
  auto pk = read_blob(r, "public key", ckks::max_serialized_bytes(ckks::kKindPublicKey, ctx));
  if (core::blake2b_256(pk) != k.key_id)
    throw FormatError(context + ": evaluation keys: the key id does not match the public key");
  k.public_key = ckks::deserialize_public_key(pk, ctx, context);
  k.relin = ckks::deserialize_relin_key(
      read_blob(r, "relinearization key", ckks::max_serialized_bytes(ckks::kKindRelinKey, ctx)),
      ctx, context);
  k.galois = ckks::deserialize_galois_keys(
      read_blob(r, "Galois keys", ckks::max_serialized_bytes(ckks::kKindGaloisKeys, ctx)), ctx,
      context);
  r.expect_end();
  return k;
}

EvalKeys EvalKeys::peek(std::span<const std::uint8_t> envelope, const std::string& context) {
  const auto opened = core::open_envelope(envelope, kEvalKeysKind, kSecureFormatVersion, context,
                                          "evaluation keys");
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
  return encode_cts(kResultKind, plan_hash, key_id, molecules, sealed_names, ciphertexts,
                    server_seconds, ctx);
}
Result Result::decode(std::span<const std::uint8_t> envelope, const ckks::Context& ctx,
                      std::size_t q, const std::string& context) {
  return decode_cts<Result>(kResultKind, "result", envelope, ctx, q, context);
}
void Result::save(const std::filesystem::path& path, const ckks::Context& ctx) const {
  core::write_file_atomic(path, encode(ctx));
}
Result Result::load(const std::filesystem::path& path, const ckks::Context& ctx, std::size_t q) {
  return decode(core::read_file_bytes(path, max_message_bytes(ctx)), ctx, q, path.string());
}

}  // namespace encmol::secure
