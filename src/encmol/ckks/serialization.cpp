#include "encmol/ckks/serialization.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "encmol/ckks/encryptor.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::ckks {

namespace {

using core::ByteReader;
using core::Bytes;
using core::ByteWriter;

constexpr std::uint8_t kFlagPacked = 1;
constexpr std::uint8_t kFlagZstd = 2;
constexpr std::uint8_t kKnownFlags = kFlagPacked | kFlagZstd;

// Limits of a parameter-set payload (ParameterSet::validate allows 64 + 64 primes).
constexpr std::uint32_t kMinLogN = 12, kMaxLogN = 16, kMaxPrimes = 64;

// Key bodies are uniform residues: even unpacked over 20-bit primes zstd cannot
// shrink them by more than ~3.2x. A larger claimed ratio is hostile (a tiny
// file asking for up to gigabytes of key material), so it is refused before
// decompressing. (Plaintexts and ciphertexts may legitimately compress well;
// their bodies are bounded by 3 polynomials at the top level.)
constexpr std::uint64_t kMaxKeyCompressionRatio = 8;

// ---- little-endian words --------------------------------------------------

void store_u64(std::uint8_t* p, std::uint64_t v) {
  for (int b = 0; b < 8; ++b) p[b] = static_cast<std::uint8_t>(v >> (8 * b));
}

std::uint64_t load_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int b = 0; b < 8; ++b) v |= std::uint64_t{p[b]} << (8 * b);
  return v;
}

/// Up to 8 bytes from [p, end), zero-extended; `got` receives the bit count.
std::uint64_t load_partial(const std::uint8_t* p, const std::uint8_t* end, int& got) {
  const auto avail = static_cast<std::size_t>(end - p);
  if (avail >= 8) {
    got = 64;
    return load_u64(p);
  }
  std::uint64_t v = 0;
  for (std::size_t b = 0; b < avail; ++b) v |= std::uint64_t{p[b]} << (8 * b);
  got = static_cast<int>(8 * avail);
  return v;
}

// ---- residues -------------------------------------------------------------

/// Bits per residue of extended limb k: bit_width(q_k), or 64 unpacked.
int residue_bits(const Context& ctx, std::size_t k, bool packed) {
  return packed ? ctx.modulus(k).bits() : 64;
}

/// Bytes of one limb (n residues; n is a multiple of 8, so packed limbs end on
/// a byte boundary).
std::uint64_t limb_bytes(const Context& ctx, std::size_t k, bool packed) {
  return static_cast<std::uint64_t>(ctx.n()) *
         static_cast<std::uint64_t>(residue_bits(ctx, k, packed)) / 8;
}

/// Bytes of one polynomial over extended limbs 0..count-1.
std::uint64_t poly_bytes(const Context& ctx, std::size_t count, bool packed) {
  std::uint64_t s = 0;
  for (std::size_t k = 0; k < count; ++k) s += limb_bytes(ctx, k, packed);
  return s;
}

/// Appends `polys` polynomials over extended limbs 0..count-1 (layout of
/// types.hpp / keys.hpp) to `out`. Residues are re-checked against their
/// modulus: a malformed object must not turn into a silently different one.
void write_residues(Bytes& out, const Context& ctx, const std::uint64_t* data, std::size_t polys,
                    std::size_t count, bool packed, const char* what) {
  const std::size_t n = ctx.n();
  for (std::size_t t = 0; t < polys; ++t) {
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t* v = data + (t * count + k) * n;
      const std::uint64_t q = ctx.modulus(k).value();
      for (std::size_t c = 0; c < n; ++c)
        if (v[c] >= q)
          throw ParameterError(std::string("CKKS serialization: the ") + what + " has a residue " +
                               std::to_string(v[c]) + " >= its modulus " + std::to_string(q) +
                               " (limb " + std::to_string(k) + "); it is corrupt");
      const std::size_t at = out.size();
      out.resize(at + static_cast<std::size_t>(limb_bytes(ctx, k, packed)));
      std::uint8_t* p = out.data() + at;
      if (!packed) {
        for (std::size_t c = 0; c < n; ++c) store_u64(p + 8 * c, v[c]);
        continue;
      }
      // LSB-first bit stream: residue c occupies bits [c*w, (c+1)*w).
      const int w = residue_bits(ctx, k, true);
      std::uint64_t acc = 0;
      int have = 0;
      for (std::size_t c = 0; c < n; ++c) {
        acc |= v[c] << have;
        if (have + w >= 64) {  // have >= 3 here since w <= 61
          store_u64(p, acc);
          p += 8;
          acc = v[c] >> (64 - have);
          have = have + w - 64;
        } else {
          have += w;
        }
      }
      for (int b = 0; b < have; b += 8) *p++ = static_cast<std::uint8_t>(acc >> b);
    }
  }
}

/// Reads `polys` polynomials over extended limbs 0..count-1 into `out`
/// (already sized), checking every residue against its modulus.
void read_residues(ByteReader& r, const Context& ctx, std::uint64_t* out, std::size_t polys,
                   std::size_t count, bool packed, const std::string& field) {
  const std::size_t n = ctx.n();
  for (std::size_t t = 0; t < polys; ++t) {
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t q = ctx.modulus(k).value();
      const std::size_t start = r.offset();
      const auto bytes = r.bytes(static_cast<std::size_t>(limb_bytes(ctx, k, packed)));
      std::uint64_t* v = out + (t * count + k) * n;
      if (!packed) {
        for (std::size_t c = 0; c < n; ++c) v[c] = load_u64(bytes.data() + 8 * c);
      } else {
        const int w = residue_bits(ctx, k, true);
        const std::uint64_t mask = (std::uint64_t{1} << w) - 1;
        const std::uint8_t* p = bytes.data();
        const std::uint8_t* end = p + bytes.size();
        std::uint64_t acc = 0;
        int have = 0;
        for (std::size_t c = 0; c < n; ++c) {
          if (have >= w) {
            v[c] = acc & mask;
            acc >>= w;
            have -= w;
            continue;
          }
          int got = 0;
          const std::uint64_t next = load_partial(p, end, got);
          p += got / 8;
          // The limb length is exactly n*w bits, so got + have >= w always.
          v[c] = (acc | (next << have)) & mask;
          const int used = w - have;  // 1..61
          acc = next >> used;
          have = got - used;
        }
      }
      for (std::size_t c = 0; c < n; ++c)
        if (v[c] >= q) {
          r.fail(field + ": residue " + std::to_string(v[c]) + " of polynomial " +
                 std::to_string(t) + ", limb " + std::to_string(k) + ", coefficient " +
                 std::to_string(c) + " is not below its modulus " + std::to_string(q) +
                 " (limb starts at byte " + std::to_string(start) + ")");
        }
    }
  }
}

// ---- object framing -------------------------------------------------------

void check_object_hash(const Context& ctx, const ParamHash& h, const char* what) {
  if (h != ctx.hash())
    throw ParameterError(std::string("CKKS serialization: the ") + what +
                         " was made with other parameters than the context given (hash " +
                         core::to_hex(h).substr(0, 16) + "…, expected " +
                         core::to_hex(ctx.hash()).substr(0, 16) + "…)");
}

/// Starts a payload: parameter hash and flags.
ByteWriter begin_payload(const Context& ctx, const SerializeOptions& o) {
  if (o.compress && (o.compression_level < 1 || o.compression_level > 22))
    throw ParameterError("CKKS serialization: zstd compression level must lie in [1, 22]");
  ByteWriter w;
  w.bytes(ctx.hash());
  w.u8(static_cast<std::uint8_t>((o.pack ? kFlagPacked : 0) | (o.compress ? kFlagZstd : 0)));
  return w;
}

/// Appends the body (compressed if asked) and seals the envelope.
Bytes finish(ByteWriter& header, const Bytes& body, core::Kind kind, const SerializeOptions& o) {
  if (o.compress) {
    header.bytes(core::zstd_compress(body, o.compression_level));
  } else {
    header.bytes(body);
  }
  return core::seal_envelope(kind, kSerializationVersion, header.data());
}

/// A decoder positioned after hash and flags.
struct Opened {
  ByteReader reader;
  bool packed = false;
  bool zstd = false;
  std::string where;  // "<context_name>: CKKS ciphertext"
};

Opened open_payload(std::span<const std::uint8_t> bytes, core::Kind kind, const Context& ctx,
                    const std::string& context_name, const char* what) {
  const auto env = core::open_envelope(bytes, kind, kSerializationVersion, context_name,
                                       std::string("CKKS ") + what);
  Opened o{ByteReader(env.payload, context_name + ": CKKS " + what), false, false,
           context_name + ": CKKS " + what};
  const auto h = o.reader.bytes(32);
  if (std::memcmp(h.data(), ctx.hash().data(), 32) != 0)
    throw FormatError(o.where + " was made for different CKKS parameters (parameter hash " +
                      core::to_hex(h).substr(0, 16) + "…, this context has " +
                      core::to_hex(ctx.hash()).substr(0, 16) +
                      "…); load it with the parameters it was made with");
  const std::uint8_t flags = o.reader.u8();
  if (flags & ~kKnownFlags) o.reader.fail("unknown encoding flags " + std::to_string(flags));
  o.packed = (flags & kFlagPacked) != 0;
  o.zstd = (flags & kFlagZstd) != 0;
  return o;
}

/// The body of exactly `body_bytes` bytes that follows the shape fields:
/// either the rest of the payload, or its zstd decompression (bounded by
/// body_bytes, which the caller derived from checked shape fields).
/// `storage` keeps decompressed bytes alive.
std::span<const std::uint8_t> read_body(Opened& o, std::uint64_t body_bytes, Bytes& storage,
                                        std::uint64_t max_ratio = 0) {
  const std::size_t rest = o.reader.remaining();
  if (!o.zstd) {
    if (rest != body_bytes)
      o.reader.fail("body holds " + std::to_string(rest) + " bytes, the shape fields require " +
                    std::to_string(body_bytes));
    return o.reader.bytes(rest);
  }
  if (max_ratio != 0 && body_bytes > max_ratio * rest + 4096)
    o.reader.fail("compressed body of " + std::to_string(rest) + " bytes claims to expand to " +
                  std::to_string(body_bytes) + " bytes, more than uniform residues can compress");
  const auto compressed = o.reader.bytes(rest);
  storage = core::zstd_decompress(compressed, body_bytes, o.where + " (compressed body)");
  if (storage.size() != body_bytes)
    throw FormatError(o.where + ": compressed body expands to " + std::to_string(storage.size()) +
                      " bytes, the shape fields require " + std::to_string(body_bytes));
  return storage;
}

math::Seed read_seed(ByteReader& r) {
  math::Seed s{};
  const auto b = r.bytes(32);
  std::memcpy(s.data(), b.data(), 32);
  return s;
}

std::uint32_t checked_u32(std::size_t v, const char* what) {
  if (v > 0xffffffffu)
    throw ParameterError(std::string("CKKS serialization: ") + what + " is too large");
  return static_cast<std::uint32_t>(v);
}

/// Sane range of a scale: positive, finite, not absurdly small, and not above
/// 2^64 * Q (the largest that can carry a meaningful value).
void check_scale(ByteReader& r, double scale, const Context& ctx) {
  const double hi = std::ldexp(1.0, static_cast<int>(std::ceil(ctx.params().log2_q())) + 64);
  if (!(scale >= std::ldexp(1.0, -64) && scale <= hi))
    r.fail("scale " + std::to_string(scale) +
           " is outside the sane range [2^-64, 2^(log2 Q + 64)]");
}

// ---- key-switching keys ---------------------------------------------------

std::uint64_t ksk_body_bytes(const Context& ctx, bool packed) {
  return static_cast<std::uint64_t>(ctx.dnum()) * poly_bytes(ctx, ctx.num_extended(), packed);
}

void check_ksk(const Context& ctx, const KeySwitchKey& k, const char* what) {
  if (k.digits != ctx.dnum() || k.b.size() != k.digits * ctx.num_extended() * ctx.n())
    throw ParameterError(std::string("CKKS serialization: the ") + what +
                         " does not have the shape of these parameters (" +
                         std::to_string(k.digits) + " digits, dnum=" + std::to_string(ctx.dnum()) +
                         ")");
}

void read_ksk_body(ByteReader& r, const Context& ctx, KeySwitchKey& key, bool packed,
                   const std::string& field) {
  key.digits = ctx.dnum();
  key.b.assign(key.digits * ctx.num_extended() * ctx.n(), 0);
  read_residues(r, ctx, key.b.data(), key.digits, ctx.num_extended(), packed, field);
  key.expand(ctx);
}

Bytes read_all(const std::filesystem::path& path, core::Kind kind, const Context& ctx) {
  return core::read_file_bytes(path, max_serialized_bytes(kind, ctx));
}

// ---- payload builders (shared by serialize and save) ----------------------

Bytes params_payload(const ParameterSet& ps) {
  ps.validate();
  ByteWriter w;
  w.u32(static_cast<std::uint32_t>(ps.log_n));
  w.u32(checked_u32(ps.q.size(), "prime count"));
  for (auto x : ps.q) w.u64(x);
  w.u32(checked_u32(ps.p.size(), "prime count"));
  for (auto x : ps.p) w.u64(x);
  w.u64(ps.dnum);
  w.f64(ps.default_scale);
  w.f64(ps.sigma);
  return w.take();
}

}  // namespace

// ---- ParameterSet ---------------------------------------------------------

core::Bytes serialize(const ParameterSet& params) {
  return core::seal_envelope(kKindParameters, kSerializationVersion, params_payload(params));
}

ParameterSet deserialize_parameters(std::span<const std::uint8_t> bytes,
                                    const std::string& context_name, bool allow_insecure) {
  const auto env = core::open_envelope(bytes, kKindParameters, kSerializationVersion, context_name,
                                       "CKKS parameter set");
  const std::string where = context_name + ": CKKS parameter set";
  ByteReader r(env.payload, where);
  ParameterSet ps;
  const std::uint32_t log_n = r.u32();
  if (log_n < kMinLogN || log_n > kMaxLogN)
    r.fail("log_n " + std::to_string(log_n) + " is outside [12, 16]");
  ps.log_n = static_cast<int>(log_n);
  for (int which = 0; which < 2; ++which) {
    const char* name = which == 0 ? "ciphertext prime (q)" : "special prime (p)";
    const std::uint32_t count = r.u32();
    if (count < 1 || count > kMaxPrimes)
      r.fail(std::string(name) + " count " + std::to_string(count) + " is outside [1, 64]");
    if (count > r.remaining() / 8)
      r.fail(std::string(name) + " count " + std::to_string(count) + " exceeds the data");
    auto& v = which == 0 ? ps.q : ps.p;
    v.resize(count);
    for (auto& x : v) x = r.u64();
  }
  const std::uint64_t dnum = r.u64();
  if (dnum < 1 || dnum > ps.q.size())
    r.fail("dnum " + std::to_string(dnum) + " is outside [1, number of ciphertext primes]");
  ps.dnum = static_cast<std::size_t>(dnum);
  ps.default_scale = r.finite_f64("default scale");
  ps.sigma = r.finite_f64("sigma");
  r.expect_end();
  ps.allow_insecure = allow_insecure;
  // validate() checks primality, 1 mod 2N, distinctness, the scale and sigma
  // ranges and the 128-bit bound; keep its error type, add the source.
  try {
    ps.validate();
  } catch (const SecurityError& e) {
    throw SecurityError(where + ": " + e.what());
  } catch (const ParameterError& e) {
    throw ParameterError(where + ": " + e.what());
  }
  return ps;
}

// ---- SecretKey ------------------------------------------------------------

core::Bytes serialize(const Context& ctx, const SecretKey& sk, const SerializeOptions& o) {
  check_object_hash(ctx, sk.params, "secret key");
  const std::size_t n = ctx.n();
  if (sk.coeffs.size() != n)
    throw ParameterError("CKKS serialization: the secret key has " +
                         std::to_string(sk.coeffs.size()) + " coefficients, the parameters need " +
                         std::to_string(n));
  Bytes body(o.pack ? n / 4 : n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int8_t c = sk.coeffs[i];
    if (c < -1 || c > 1) throw ParameterError("CKKS serialization: the secret key is not ternary");
    const std::uint8_t code = c == 0 ? 0 : (c == 1 ? 1 : 2);
    if (o.pack)
      body[i / 4] = static_cast<std::uint8_t>(body[i / 4] | (code << (2 * (i % 4))));
    else
      body[i] = static_cast<std::uint8_t>(c);
  }
  ByteWriter w = begin_payload(ctx, o);
  return finish(w, body, kKindSecretKey, o);
}

SecretKey deserialize_secret_key(std::span<const std::uint8_t> bytes, const Context& ctx,
                                 const std::string& context_name) {
  Opened o = open_payload(bytes, kKindSecretKey, ctx, context_name, "secret key");
  const std::size_t n = ctx.n();
  Bytes storage;
  const auto body = read_body(o, o.packed ? n / 4 : n, storage);
  SecretKey sk;
  sk.params = ctx.hash();
  sk.coeffs.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    int c;
    if (o.packed) {
      const int code = (body[i / 4] >> (2 * (i % 4))) & 3;
      if (code == 3)
        o.reader.fail("secret-key coefficient " + std::to_string(i) + " has the invalid code 3");
      c = code == 2 ? -1 : code;
    } else {
      c = static_cast<std::int8_t>(body[i]);
      if (c < -1 || c > 1)
        o.reader.fail("secret-key coefficient " + std::to_string(i) + " is " + std::to_string(c) +
                      ", not -1, 0 or 1");
    }
    sk.coeffs[i] = static_cast<std::int8_t>(c);
  }
  sk.expand(ctx);
  return sk;
}

// ---- PublicKey ------------------------------------------------------------

core::Bytes serialize(const Context& ctx, const PublicKey& pk, const SerializeOptions& o) {
  check_object_hash(ctx, pk.params, "public key");
  const std::size_t ext = ctx.num_extended();
  if (pk.b.size() != ext * ctx.n())
    throw ParameterError(
        "CKKS serialization: the public key does not have the shape of these parameters");
  ByteWriter w = begin_payload(ctx, o);
  w.bytes(pk.seed);
  Bytes body;
  body.reserve(static_cast<std::size_t>(poly_bytes(ctx, ext, o.pack)));
  write_residues(body, ctx, pk.b.data(), 1, ext, o.pack, "public key");
  return finish(w, body, kKindPublicKey, o);
}

PublicKey deserialize_public_key(std::span<const std::uint8_t> bytes, const Context& ctx,
                                 const std::string& context_name) {
  Opened o = open_payload(bytes, kKindPublicKey, ctx, context_name, "public key");
  PublicKey pk;
  pk.params = ctx.hash();
  pk.seed = read_seed(o.reader);
  const std::size_t ext = ctx.num_extended();
  Bytes storage;
  ByteReader body(read_body(o, poly_bytes(ctx, ext, o.packed), storage, kMaxKeyCompressionRatio),
                  o.where + " body");
  pk.b.assign(ext * ctx.n(), 0);
  read_residues(body, ctx, pk.b.data(), 1, ext, o.packed, "polynomial b");
  body.expect_end();
  pk.expand(ctx);
  return pk;
}

// ---- RelinKey -------------------------------------------------------------

core::Bytes serialize(const Context& ctx, const RelinKey& rk, const SerializeOptions& o) {
  check_object_hash(ctx, rk.params, "relinearization key");
  check_ksk(ctx, rk.key, "relinearization key");
  ByteWriter w = begin_payload(ctx, o);
  w.u32(checked_u32(rk.key.digits, "digit count"));
  w.bytes(rk.key.seed);
  Bytes body;
  body.reserve(static_cast<std::size_t>(ksk_body_bytes(ctx, o.pack)));
  write_residues(body, ctx, rk.key.b.data(), rk.key.digits, ctx.num_extended(), o.pack,
                 "relinearization key");
  return finish(w, body, kKindRelinKey, o);
}

RelinKey deserialize_relin_key(std::span<const std::uint8_t> bytes, const Context& ctx,
                               const std::string& context_name) {
  Opened o = open_payload(bytes, kKindRelinKey, ctx, context_name, "relinearization key");
  const std::uint32_t digits = o.reader.u32();
  if (digits != ctx.dnum())
    o.reader.fail("digit count " + std::to_string(digits) +
                  " differs from dnum=" + std::to_string(ctx.dnum()) + " of the parameters");
  RelinKey rk;
  rk.params = ctx.hash();
  rk.key.seed = read_seed(o.reader);
  Bytes storage;
  ByteReader body(read_body(o, ksk_body_bytes(ctx, o.packed), storage, kMaxKeyCompressionRatio),
                  o.where + " body");
  read_ksk_body(body, ctx, rk.key, o.packed, "key-switching polynomials b");
  body.expect_end();
  return rk;
}

// ---- GaloisKeys -----------------------------------------------------------

core::Bytes serialize(const Context& ctx, const GaloisKeys& gk, const SerializeOptions& o) {
  check_object_hash(ctx, gk.params, "Galois key set");
  const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(ctx.n());
  ByteWriter w = begin_payload(ctx, o);
  w.u32(checked_u32(ctx.dnum(), "digit count"));
  w.u64(gk.keys.size());
  for (const auto& [elt, key] : gk.keys) {  // std::map: strictly increasing elements
    if (elt % 2 == 0 || elt >= two_n)
      throw ParameterError("CKKS serialization: Galois element " + std::to_string(elt) +
                           " is not odd and below 2N");
    check_ksk(ctx, key, "Galois key");
    w.u64(elt);
    w.bytes(key.seed);
  }
  Bytes body;
  body.reserve(static_cast<std::size_t>(gk.keys.size() * ksk_body_bytes(ctx, o.pack)));
  for (const auto& [elt, key] : gk.keys)
    write_residues(body, ctx, key.b.data(), key.digits, ctx.num_extended(), o.pack, "Galois key");
  return finish(w, body, kKindGaloisKeys, o);
}

GaloisKeys deserialize_galois_keys(std::span<const std::uint8_t> bytes, const Context& ctx,
                                   const std::string& context_name) {
  Opened o = open_payload(bytes, kKindGaloisKeys, ctx, context_name, "Galois key set");
  const std::uint32_t digits = o.reader.u32();
  if (digits != ctx.dnum())
    o.reader.fail("digit count " + std::to_string(digits) +
                  " differs from dnum=" + std::to_string(ctx.dnum()) + " of the parameters");
  // There are N odd elements below 2N; each header entry is 8 + 32 bytes.
  const std::size_t count = o.reader.count("Galois key", ctx.n(), 40);
  const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(ctx.n());
  std::vector<std::pair<std::uint64_t, math::Seed>> entries(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t elt = o.reader.u64();
    if (elt % 2 == 0 || elt >= two_n)
      o.reader.fail("Galois element " + std::to_string(elt) + " (entry " + std::to_string(i) +
                    ") is not an odd number below 2N=" + std::to_string(two_n));
    if (i > 0 && elt <= entries[i - 1].first)
      o.reader.fail("Galois elements are not strictly increasing at entry " + std::to_string(i));
    entries[i] = {elt, read_seed(o.reader)};
  }
  Bytes storage;
  ByteReader body(
      read_body(o, count * ksk_body_bytes(ctx, o.packed), storage, kMaxKeyCompressionRatio),
      o.where + " body");
  GaloisKeys gk;
  gk.params = ctx.hash();
  for (const auto& [elt, seed] : entries) {
    KeySwitchKey key;
    key.seed = seed;
    read_ksk_body(body, ctx, key, o.packed, "key for Galois element " + std::to_string(elt));
    gk.keys.emplace(elt, std::move(key));
  }
  body.expect_end();
  return gk;
}

// ---- Plaintext ------------------------------------------------------------

core::Bytes serialize(const Context& ctx, const Plaintext& pt, const SerializeOptions& o) {
  check_object_hash(ctx, pt.params, "plaintext");
  if (pt.n != ctx.n() || pt.level > ctx.max_level() || pt.data.size() != pt.limbs() * pt.n)
    throw ParameterError(
        "CKKS serialization: the plaintext does not have the shape of these parameters");
  if (!(std::isfinite(pt.scale) && pt.scale > 0))
    throw ParameterError("CKKS serialization: the plaintext has an invalid scale");
  ByteWriter w = begin_payload(ctx, o);
  w.u32(static_cast<std::uint32_t>(pt.level));
  w.f64(pt.scale);
  Bytes body;
  body.reserve(static_cast<std::size_t>(poly_bytes(ctx, pt.limbs(), o.pack)));
  write_residues(body, ctx, pt.data.data(), 1, pt.limbs(), o.pack, "plaintext");
  return finish(w, body, kKindPlaintext, o);
}

Plaintext deserialize_plaintext(std::span<const std::uint8_t> bytes, const Context& ctx,
                                const std::string& context_name) {
  Opened o = open_payload(bytes, kKindPlaintext, ctx, context_name, "plaintext");
  const std::uint32_t level = o.reader.u32();
  if (level > ctx.max_level())
    o.reader.fail("level " + std::to_string(level) + " exceeds the maximum level " +
                  std::to_string(ctx.max_level()) + " of these parameters");
  const double scale = o.reader.finite_f64("scale");
  check_scale(o.reader, scale, ctx);
  Plaintext pt;
  pt.n = ctx.n();
  pt.level = level;
  pt.scale = scale;
  pt.params = ctx.hash();
  Bytes storage;
  ByteReader body(read_body(o, poly_bytes(ctx, pt.limbs(), o.packed), storage), o.where + " body");
  pt.data.assign(pt.limbs() * pt.n, 0);
  read_residues(body, ctx, pt.data.data(), 1, pt.limbs(), o.packed, "plaintext polynomial");
  body.expect_end();
  return pt;
}

// ---- Ciphertext -----------------------------------------------------------

core::Bytes serialize(const Context& ctx, const Ciphertext& ct, const SerializeOptions& o) {
  check_object_hash(ctx, ct.params, "ciphertext");
  if (ct.n != ctx.n() || ct.level > ctx.max_level() || (ct.size != 2 && ct.size != 3) ||
      ct.data.size() != ct.size * ct.limbs() * ct.n)
    throw ParameterError(
        "CKKS serialization: the ciphertext does not have the shape of these parameters");
  if (!(std::isfinite(ct.scale) && ct.scale > 0))
    throw ParameterError("CKKS serialization: the ciphertext has an invalid scale");
  const bool seeded = o.use_seed && ct.c1_seed.has_value() && ct.size == 2;
  ByteWriter w = begin_payload(ctx, o);
  w.u32(static_cast<std::uint32_t>(ct.level));
  w.u8(static_cast<std::uint8_t>(ct.size));
  w.f64(ct.scale);
  w.u8(seeded ? 1 : 0);
  if (seeded) w.bytes(*ct.c1_seed);
  const std::size_t polys = seeded ? 1 : ct.size;
  Bytes body;
  body.reserve(static_cast<std::size_t>(polys * poly_bytes(ctx, ct.limbs(), o.pack)));
  write_residues(body, ctx, ct.data.data(), polys, ct.limbs(), o.pack, "ciphertext");
  return finish(w, body, kKindCiphertext, o);
}

Ciphertext deserialize_ciphertext(std::span<const std::uint8_t> bytes, const Context& ctx,
                                  const std::string& context_name) {
  Opened o = open_payload(bytes, kKindCiphertext, ctx, context_name, "ciphertext");
  const std::uint32_t level = o.reader.u32();
  if (level > ctx.max_level())
    o.reader.fail("level " + std::to_string(level) + " exceeds the maximum level " +
                  std::to_string(ctx.max_level()) + " of these parameters");
  const std::uint8_t size = o.reader.u8();
  if (size != 2 && size != 3)
    o.reader.fail("size " + std::to_string(size) + " is not 2 or 3 polynomials");
  const double scale = o.reader.finite_f64("scale");
  check_scale(o.reader, scale, ctx);
  const std::uint8_t seeded = o.reader.u8();
  if (seeded > 1) o.reader.fail("seed flag " + std::to_string(seeded) + " is not 0 or 1");
  if (seeded && size != 2)
    o.reader.fail("a seeded ciphertext must have 2 polynomials, not " + std::to_string(size));
  Ciphertext ct;
  ct.n = ctx.n();
  ct.size = size;
  ct.level = level;
  ct.scale = scale;
  ct.params = ctx.hash();
  if (seeded) ct.c1_seed = read_seed(o.reader);
  const std::size_t polys = seeded ? 1 : size;
  Bytes storage;
  // Ciphertext residues are uniform, so they compress no better than keys.
  ByteReader body(read_body(o, polys * poly_bytes(ctx, ct.limbs(), o.packed), storage,
                            kMaxKeyCompressionRatio),
                  o.where + " body");
  ct.data.assign(ct.size * ct.limbs() * ct.n, 0);
  read_residues(body, ctx, ct.data.data(), polys, ct.limbs(), o.packed, "ciphertext polynomials");
  body.expect_end();
  if (seeded) expand_seeded_ciphertext(ctx, ct);  // the encryptor's own expansion
  return ct;
}

// ---- sizes and files ------------------------------------------------------

std::uint64_t max_serialized_bytes(core::Kind kind, const Context& ctx) {
  // Largest header (hash, flags, shape fields) + largest body (unpacked),
  // with room for zstd's worst-case expansion.
  const std::uint64_t head = 32 + 1 + 64;
  const std::uint64_t full = poly_bytes(ctx, ctx.num_q(), false);
  std::uint64_t body = 0, extra = 0;
  if (kind == kKindParameters)
    return core::kEnvelopeOverheadBytes + 4 + 2 * (4 + 8 * kMaxPrimes) + 24;
  if (kind == kKindSecretKey)
    body = ctx.n();
  else if (kind == kKindPublicKey)
    body = poly_bytes(ctx, ctx.num_extended(), false);
  else if (kind == kKindRelinKey)
    body = ksk_body_bytes(ctx, false);
  else if (kind == kKindGaloisKeys) {
    body = static_cast<std::uint64_t>(ctx.n()) * ksk_body_bytes(ctx, false);
    extra = static_cast<std::uint64_t>(ctx.n()) * 40;
  } else if (kind == kKindPlaintext)
    body = full;
  else if (kind == kKindCiphertext)
    body = 3 * full;
  else
    throw ParameterError("CKKS serialization: unknown object kind");
  return core::kEnvelopeOverheadBytes + head + extra + body + body / 128 + 4096;
}

void save(const std::filesystem::path& path, const ParameterSet& params) {
  core::save_envelope_file(path, kKindParameters, kSerializationVersion, params_payload(params));
}

namespace {
// serialize() already sealed the envelope; the file write is the same atomic one.
void write_sealed(const std::filesystem::path& path, const Bytes& sealed,
                  core::Access access = core::Access::Public) {
  core::write_file_atomic(path, sealed, access);
}
}  // namespace

void save(const std::filesystem::path& path, const Context& ctx, const SecretKey& sk,
          const SerializeOptions& o) {
  write_sealed(path, serialize(ctx, sk, o), core::Access::OwnerOnly);
}
void save(const std::filesystem::path& path, const Context& ctx, const PublicKey& pk,
          const SerializeOptions& o) {
  write_sealed(path, serialize(ctx, pk, o));
}
void save(const std::filesystem::path& path, const Context& ctx, const RelinKey& rk,
          const SerializeOptions& o) {
  write_sealed(path, serialize(ctx, rk, o));
}
void save(const std::filesystem::path& path, const Context& ctx, const GaloisKeys& gk,
          const SerializeOptions& o) {
  write_sealed(path, serialize(ctx, gk, o));
}
void save(const std::filesystem::path& path, const Context& ctx, const Plaintext& pt,
          const SerializeOptions& o) {
  write_sealed(path, serialize(ctx, pt, o));
}
void save(const std::filesystem::path& path, const Context& ctx, const Ciphertext& ct,
          const SerializeOptions& o) {
  write_sealed(path, serialize(ctx, ct, o));
}

ParameterSet load_parameters(const std::filesystem::path& path, bool allow_insecure) {
  const Bytes bytes =
      core::read_file_bytes(path, core::kEnvelopeOverheadBytes + 4 + 2 * (4 + 8 * kMaxPrimes) + 24);
  return deserialize_parameters(bytes, path.string(), allow_insecure);
}
SecretKey load_secret_key(const std::filesystem::path& path, const Context& ctx) {
  return deserialize_secret_key(read_all(path, kKindSecretKey, ctx), ctx, path.string());
}
PublicKey load_public_key(const std::filesystem::path& path, const Context& ctx) {
  return deserialize_public_key(read_all(path, kKindPublicKey, ctx), ctx, path.string());
}
RelinKey load_relin_key(const std::filesystem::path& path, const Context& ctx) {
  return deserialize_relin_key(read_all(path, kKindRelinKey, ctx), ctx, path.string());
}
GaloisKeys load_galois_keys(const std::filesystem::path& path, const Context& ctx) {
  return deserialize_galois_keys(read_all(path, kKindGaloisKeys, ctx), ctx, path.string());
}
Plaintext load_plaintext(const std::filesystem::path& path, const Context& ctx) {
  return deserialize_plaintext(read_all(path, kKindPlaintext, ctx), ctx, path.string());
}
Ciphertext load_ciphertext(const std::filesystem::path& path, const Context& ctx) {
  return deserialize_ciphertext(read_all(path, kKindCiphertext, ctx), ctx, path.string());
}

}  // namespace encmol::ckks
