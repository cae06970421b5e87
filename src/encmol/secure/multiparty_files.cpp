// The multi-party protocol's files (multiparty.hpp): every one a core
// envelope bound to its session; counts and sizes are checked against the
// session before anything is allocated.
#include <string>

#include "encmol/ckks/serialization.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/secure/multiparty.hpp"
#include "encmol/secure/wire.hpp"

namespace encmol::secure {
namespace {

using wire::read_blob;
using wire::read_digest;
using wire::write_blob;

constexpr std::uint64_t kMaxSessionBytes = std::uint64_t{64} << 20;
constexpr std::size_t kMaxTargets = 64;
constexpr std::size_t kMaxSessionFrequencyValues = std::size_t{1} << 20;

core::Bytes seal(core::Kind kind, const core::ByteWriter& w) {
  return core::seal_envelope(kind, kPartyFormatVersion, w.data());
}

// Opens an envelope of `kind` and checks the session digest it starts with.
core::ByteReader open(std::span<const std::uint8_t> bytes, core::Kind kind, const char* what,
                      const PartySession& session, const std::string& context) {
  const auto opened = core::open_envelope(bytes, kind, kPartyFormatVersion, context, what);
  core::ByteReader r(opened.payload, context);
  if (read_digest(r) != session.id) {
    throw FormatError(context + ": this " + std::string(what) +
                      " belongs to another multi-party session");
  }
  return r;
}

std::uint32_t read_index(core::ByteReader& r, const PartySession& session,
                         const std::string& context) {
  const std::uint32_t index = r.u32();
  if (index < 1 || index > session.parties) {
    throw FormatError(context + ": party index " + std::to_string(index) + " outside 1.." +
                      std::to_string(session.parties));
  }
  return index;
}

void write_ciphertexts(core::ByteWriter& w, const ckks::Context& ctx,
                       const std::vector<ckks::Ciphertext>& cts) {
  w.u64(cts.size());
  for (const auto& c : cts) write_blob(w, ckks::serialize(ctx, c));
}

std::vector<ckks::Ciphertext> read_ciphertexts(core::ByteReader& r, const ckks::Context& ctx,
                                               const PartySession& session,
                                               const std::string& context) {
  const std::size_t count = r.count("ciphertexts", wire::kMaxCiphertexts, 64);
  if (count != session.ciphertexts()) {
    throw FormatError(context + ": " + std::to_string(count) +
                      " ciphertexts, the session's statistics take " +
                      std::to_string(session.ciphertexts()));
  }
  const std::uint64_t cap = ckks::max_serialized_bytes(ckks::kKindCiphertext, ctx);
  std::vector<ckks::Ciphertext> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(ckks::deserialize_ciphertext(read_blob(r, "ciphertext", cap), ctx, context));
    if (out.back().size != 2 || out.back().level != ctx.max_level()) {
      throw FormatError(context + ": ciphertext " + std::to_string(i) + " has the wrong shape");
    }
  }
  return out;
}

std::uint64_t file_cap(const PartySession& session) {
  const auto ctx = session.context();
  return 4096 +
         session.ciphertexts() * (ckks::max_serialized_bytes(ckks::kKindCiphertext, *ctx) + 16);
}

core::Bytes read_file(const std::filesystem::path& path, std::uint64_t cap) {
  return core::read_file_bytes(path, cap);
}

}  // namespace

// ---- session

core::Bytes PartySession::encode() const {
  validate();
  core::ByteWriter w;
  w.bytes(id);
  w.u32(parties);
  write_blob(w, ckks::serialize(params));
  w.bytes(crs);
  representation.write(w);
  map.write(w);
  w.u64(targets.size());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    w.string(targets[t]);
    w.string(units[t]);
  }
  delta.write(w);
  w.f64_vector(lambdas);
  w.f64(privacy.epsilon);
  w.f64(privacy.delta);
  w.f64(privacy.label_bound);
  w.u32(privacy.max_atoms);
  for (Eigen::Index i = 0; i < label_offset.rows(); ++i) {
    for (Eigen::Index t = 0; t < label_offset.cols(); ++t) w.f64(label_offset(i, t));
  }
  w.string(description);
  return core::seal_envelope(kPartySessionKind, kPartyFormatVersion, w.data());
}

PartySession PartySession::decode(std::span<const std::uint8_t> envelope,
                                  const std::string& context) {
  const auto opened = core::open_envelope(envelope, kPartySessionKind, kPartyFormatVersion, context,
                                          "multi-party session");
  core::ByteReader r(opened.payload, context);
  PartySession s;
  s.id = read_digest(r);
  s.parties = r.u32();
  if (s.parties < 1 || s.parties > kMaxParties)
    throw FormatError(context + ": implausible number of parties");
  s.params = ckks::deserialize_parameters(read_blob(r, "CKKS parameters", 1 << 20), context);
  const auto crs = r.bytes(32);
  std::copy(crs.begin(), crs.end(), s.crs.begin());
  s.representation = chem::RepresentationSpec::read(r);
  if (!s.representation.is_atomic())
    throw FormatError(context + ": the session's representation is not atomic");
  // Nothing after the map bounds its size, so the session caps it (found by fuzzing): 2^20
  // frequency values (26,000 features of cMBDF, 1,456 of FCHL19) regenerate in milliseconds,
  // and within the fuzzers' 2 s even instrumented.
  s.map = ml::RandomFeatureMap::read(r, s.representation.atom_dimension(), 0,
                                     kMaxSessionFrequencyValues);
  const std::size_t t = r.count("targets", kMaxTargets, 16);
  for (std::size_t i = 0; i < t; ++i) {
    s.targets.push_back(r.string(256));
    s.units.push_back(r.string(64));
  }
  s.delta = ml::DeltaBaseline::read(r, t);
  s.lambdas = r.f64_vector(64);
  s.privacy.epsilon = r.finite_f64("DP epsilon");
  s.privacy.delta = r.finite_f64("DP delta");
  s.privacy.label_bound = r.finite_f64("DP label bound");
  s.privacy.max_atoms = r.u32();
  s.label_offset.resize(static_cast<Eigen::Index>(s.representation.elements().size()),
                        static_cast<Eigen::Index>(t));
  for (Eigen::Index i = 0; i < s.label_offset.rows(); ++i) {
    for (Eigen::Index k = 0; k < s.label_offset.cols(); ++k)
      s.label_offset(i, k) = r.finite_f64("label offset");
  }
  s.description = r.string(4096);
  r.expect_end();
  try {
    s.validate();
  } catch (const ParameterError& e) {
    throw FormatError(context + ": " + e.what());
  }
  s.context_ = ckks::Context::create(s.params);
  return s;
}

core::Digest PartySession::hash() const { return core::blake2b_256(encode()); }

void PartySession::save(const std::filesystem::path& path) const {
  core::write_file_atomic(path, encode());
}

PartySession PartySession::load(const std::filesystem::path& path) {
  return decode(read_file(path, kMaxSessionBytes), path.string());
}

// ---- key shares

void PartySecret::save(const std::filesystem::path& path, const PartySession& session) const {
  core::ByteWriter w;
  w.bytes(session.id);
  w.u32(index);
  write_blob(w, ckks::serialize(*session.context(), key));
  core::write_file_atomic(path, seal(kPartySecretKind, w), core::Access::OwnerOnly);
}

PartySecret PartySecret::decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                                const std::string& context) {
  const auto ctx = session.context();
  auto r = open(bytes, kPartySecretKind, "secret key share", session, context);
  PartySecret s{session.id, read_index(r, session, context), {}};
  s.key = ckks::deserialize_secret_key(read_blob(r, "secret key", bytes.size()), *ctx, context);
  r.expect_end();
  return s;
}

PartySecret PartySecret::load(const std::filesystem::path& path, const PartySession& session) {
  const auto cap = ckks::max_serialized_bytes(ckks::kKindSecretKey, *session.context()) + 4096;
  return decode(read_file(path, cap), session, path.string());
}

void PartyPublicShare::save(const std::filesystem::path& path, const PartySession& session) const {
  core::ByteWriter w;
  w.bytes(session.id);
  w.u32(index);
  write_blob(w, ckks::serialize(*session.context(), key));
  core::write_file_atomic(path, seal(kPartyPublicKind, w));
}

PartyPublicShare PartyPublicShare::decode(std::span<const std::uint8_t> bytes,
                                          const PartySession& session, const std::string& context) {
  const auto ctx = session.context();
  auto r = open(bytes, kPartyPublicKind, "public key share", session, context);
  PartyPublicShare s{session.id, read_index(r, session, context), {}};
  s.key = ckks::deserialize_public_key(read_blob(r, "public key", bytes.size()), *ctx, context);
  r.expect_end();
  if (s.key.seed != session.crs) {
    throw FormatError(context +
                      ": the public key share was not made from the session's reference seed");
  }
  return s;
}

PartyPublicShare PartyPublicShare::load(const std::filesystem::path& path,
                                        const PartySession& session) {
  const auto cap = ckks::max_serialized_bytes(ckks::kKindPublicKey, *session.context()) + 4096;
  return decode(read_file(path, cap), session, path.string());
}

// ---- contributions and the aggregate

void Contribution::save(const std::filesystem::path& path, const PartySession& session) const {
  core::ByteWriter w;
  w.bytes(session.id);
  w.bytes(joint_key);
  w.u32(index);
  write_ciphertexts(w, *session.context(), ciphertexts);
  core::write_file_atomic(path, seal(kContributionKind, w));
}

Contribution Contribution::decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                                  const std::string& context) {
  auto r = open(bytes, kContributionKind, "contribution", session, context);
  Contribution c;
  c.session = session.id;
  c.joint_key = read_digest(r);
  c.index = read_index(r, session, context);
  c.ciphertexts = read_ciphertexts(r, *session.context(), session, context);
  r.expect_end();
  return c;
}

Contribution Contribution::load(const std::filesystem::path& path, const PartySession& session) {
  return decode(read_file(path, file_cap(session)), session, path.string());
}

namespace {

// What an aggregate file holds after its envelope header; also what decryption shares bind to.
core::Bytes aggregate_payload(const Aggregate& a, const PartySession& session) {
  core::ByteWriter w;
  w.bytes(session.id);
  w.bytes(a.joint_key);
  w.u32(a.parties);
  write_ciphertexts(w, *session.context(), a.ciphertexts);
  return w.take();
}

}  // namespace

core::Digest Aggregate::digest(const PartySession& session) const {
  return core::blake2b_256(aggregate_payload(*this, session));
}

void Aggregate::save(const std::filesystem::path& path, const PartySession& session) const {
  core::write_file_atomic(path, core::seal_envelope(kAggregateKind, kPartyFormatVersion,
                                                    aggregate_payload(*this, session)));
}

Aggregate Aggregate::decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                            const std::string& context) {
  auto r = open(bytes, kAggregateKind, "aggregate", session, context);
  Aggregate a;
  a.session = session.id;
  a.joint_key = read_digest(r);
  a.parties = r.u32();
  if (a.parties != session.parties)
    throw FormatError(context + ": the aggregate does not sum every party");
  a.ciphertexts = read_ciphertexts(r, *session.context(), session, context);
  r.expect_end();
  return a;
}

Aggregate Aggregate::load(const std::filesystem::path& path, const PartySession& session) {
  return decode(read_file(path, file_cap(session)), session, path.string());
}

// ---- decryption shares (each one a polynomial per aggregate ciphertext, stored as a plaintext)

void PartyDecryption::save(const std::filesystem::path& path, const PartySession& session) const {
  const auto ctx = session.context();
  core::ByteWriter w;
  w.bytes(session.id);
  w.bytes(aggregate);
  w.u32(index);
  w.u64(shares.size());
  for (const auto& s : shares) {
    ckks::Plaintext pt{ctx->n(), s.level, 1.0, s.params, s.data};
    write_blob(w, ckks::serialize(*ctx, pt));
  }
  core::write_file_atomic(path, seal(kDecryptionShareKind, w));
}

PartyDecryption PartyDecryption::decode(std::span<const std::uint8_t> bytes,
                                        const PartySession& session, const std::string& context) {
  const auto ctx = session.context();
  auto r = open(bytes, kDecryptionShareKind, "decryption share", session, context);
  PartyDecryption d;
  d.session = session.id;
  d.aggregate = read_digest(r);
  d.index = read_index(r, session, context);
  const std::size_t count = r.count("shares", wire::kMaxCiphertexts, 64);
  if (count != session.ciphertexts())
    throw FormatError(context + ": wrong number of decryption shares");
  const std::uint64_t cap = ckks::max_serialized_bytes(ckks::kKindPlaintext, *ctx);
  for (std::size_t i = 0; i < count; ++i) {
    ckks::Plaintext pt =
        ckks::deserialize_plaintext(read_blob(r, "decryption share", cap), *ctx, context);
    if (pt.level != ctx->max_level())
      throw FormatError(context + ": a decryption share has the wrong level");
    d.shares.push_back({pt.params, pt.level, std::move(pt.data)});
  }
  r.expect_end();
  return d;
}

PartyDecryption PartyDecryption::load(const std::filesystem::path& path,
                                      const PartySession& session) {
  return decode(read_file(path, file_cap(session)), session, path.string());
}

}  // namespace encmol::secure
