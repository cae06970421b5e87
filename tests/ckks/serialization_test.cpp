// Serialization of CKKS objects: exact round trips, sizes (seeds, packing,
// zstd), parameter mismatches, checksum, and a fuzz loop that mutates the
// payload *under a valid checksum* so the decoders' own checks are exercised.
#include "encmol/ckks/serialization.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <typeinfo>

#include "ckks_test_util.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

using namespace encmol;
using namespace encmol::ckks;

namespace {

// ---- independent validators of decoded objects ----------------------------

bool residues_ok(const Context& ctx, const std::vector<std::uint64_t>& data, std::size_t polys,
                 std::size_t limbs) {
  if (data.size() != polys * limbs * ctx.n()) return false;
  for (std::size_t t = 0; t < polys; ++t)
    for (std::size_t k = 0; k < limbs; ++k) {
      const std::uint64_t q = ctx.modulus(k).value();
      const std::uint64_t* v = data.data() + (t * limbs + k) * ctx.n();
      for (std::size_t c = 0; c < ctx.n(); ++c)
        if (v[c] >= q) return false;
    }
  return true;
}

bool expanded_ok(const Context& ctx, const math::Seed& seed, std::size_t polys,
                 const std::vector<std::uint64_t>& a) {
  std::vector<std::uint64_t> want(polys * ctx.num_extended() * ctx.n());
  const auto limbs = extended_limbs(ctx);
  expand_uniform(ctx, seed, polys, limbs, want.data());
  return want == a;
}

void expect_valid(const Context& ctx, const Ciphertext& ct) {
  ASSERT_EQ(ct.params, ctx.hash());
  ASSERT_EQ(ct.n, ctx.n());
  ASSERT_LE(ct.level, ctx.max_level());
  ASSERT_TRUE(ct.size == 2 || ct.size == 3);
  ASSERT_TRUE(std::isfinite(ct.scale) && ct.scale > 0);
  ASSERT_TRUE(residues_ok(ctx, ct.data, ct.size, ct.limbs()));
  if (ct.c1_seed) {
    std::vector<std::uint64_t> c1(ct.limbs() * ct.n);
    expand_uniform(ctx, *ct.c1_seed, 1, level_limbs(ct.level), c1.data());
    ASSERT_TRUE(std::equal(c1.begin(), c1.end(), ct.poly(1)));
  }
}

void expect_valid(const Context& ctx, const Plaintext& pt) {
  ASSERT_EQ(pt.params, ctx.hash());
  ASSERT_EQ(pt.n, ctx.n());
  ASSERT_LE(pt.level, ctx.max_level());
  ASSERT_TRUE(std::isfinite(pt.scale) && pt.scale > 0);
  ASSERT_TRUE(residues_ok(ctx, pt.data, 1, pt.limbs()));
}

void expect_valid(const Context& ctx, const SecretKey& sk) {
  ASSERT_EQ(sk.params, ctx.hash());
  ASSERT_EQ(sk.coeffs.size(), ctx.n());
  for (auto c : sk.coeffs) ASSERT_TRUE(c >= -1 && c <= 1);
  ASSERT_TRUE(residues_ok(ctx, sk.ntt, 1, ctx.num_extended()));
}

void expect_valid(const Context& ctx, const KeySwitchKey& k) {
  ASSERT_EQ(k.digits, ctx.dnum());
  ASSERT_TRUE(residues_ok(ctx, k.b, k.digits, ctx.num_extended()));
  ASSERT_TRUE(expanded_ok(ctx, k.seed, k.digits, k.a));
}

void expect_valid(const Context& ctx, const PublicKey& pk) {
  ASSERT_EQ(pk.params, ctx.hash());
  ASSERT_TRUE(residues_ok(ctx, pk.b, 1, ctx.num_extended()));
  ASSERT_TRUE(expanded_ok(ctx, pk.seed, 1, pk.a));
}

void expect_valid(const Context& ctx, const RelinKey& rk) {
  ASSERT_EQ(rk.params, ctx.hash());
  expect_valid(ctx, rk.key);
}

void expect_valid(const Context& ctx, const GaloisKeys& gk) {
  ASSERT_EQ(gk.params, ctx.hash());
  ASSERT_LE(gk.keys.size(), ctx.n());
  for (const auto& [elt, key] : gk.keys) {
    ASSERT_EQ(elt % 2, 1u);
    ASSERT_LT(elt, 2 * ctx.n());
    expect_valid(ctx, key);
  }
}

// ---- helpers ---------------------------------------------------------------

/// The payload of a sealed object (checksum verified).
core::Bytes payload_of(const core::Bytes& sealed) {
  const core::Kind kind = core::peek_envelope_kind(sealed);
  const auto env = core::open_envelope(sealed, kind, kSerializationVersion, "test", "object");
  return core::Bytes(env.payload.begin(), env.payload.end());
}

core::Bytes reseal(const core::Bytes& original, const core::Bytes& payload) {
  return core::seal_envelope(core::peek_envelope_kind(original), kSerializationVersion, payload);
}

void put_u64(core::Bytes& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
}
void put_u32(core::Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
}
void put_f64(core::Bytes& b, std::size_t at, double v) {
  put_u64(b, at, std::bit_cast<std::uint64_t>(v));
}

template <class F>
std::string format_error_of(F&& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "<no FormatError>";
}

// Offsets inside a ciphertext payload: hash, flags, level, size, scale, seeded, [seed].
constexpr std::size_t kCtLevel = 33, kCtSize = 37, kCtScale = 38, kCtSeeded = 46, kCtBody = 47;

class SerializationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // N = 2^12, 3 ciphertext primes (50, 40, 40 bits), dnum = 2: two digits
    // and two 53-bit special primes. Insecure on purpose: the tests are about
    // the format and must be fast.
    s_ = std::make_unique<test::Suite>(test::test_params(12, 2, 2));
    sym_ = std::make_unique<Encryptor>(s_->ctx, s_->keygen.secret_key());
    pk_ = std::make_unique<PublicKey>(s_->keygen.create_public_key());
    const int steps[] = {1, -1, 5};
    gk_ = std::make_unique<GaloisKeys>(s_->keygen.create_galois_keys(steps, true));
  }
  static void TearDownTestSuite() {
    gk_.reset();
    pk_.reset();
    sym_.reset();
    s_.reset();
  }
  static const Context& ctx() { return *s_->ctx; }

  static std::unique_ptr<test::Suite> s_;
  static std::unique_ptr<Encryptor> sym_;
  static std::unique_ptr<PublicKey> pk_;
  static std::unique_ptr<GaloisKeys> gk_;
};

std::unique_ptr<test::Suite> SerializationTest::s_;
std::unique_ptr<Encryptor> SerializationTest::sym_;
std::unique_ptr<PublicKey> SerializationTest::pk_;
std::unique_ptr<GaloisKeys> SerializationTest::gk_;

const SerializeOptions kAllOptions[] = {
    {.pack = true, .compress = false},
    {.pack = false, .compress = false},
    {.pack = true, .compress = true},
    {.pack = false, .compress = true},
};

}  // namespace

// ---- round trips -----------------------------------------------------------

TEST_F(SerializationTest, ParameterSetRoundTripAndSecurityRecheck) {
  const ParameterSet& ps = ctx().params();
  const auto bytes = serialize(ps);
  // The test set is insecure: refused unless the caller opts out (the flag is not in the bytes).
  EXPECT_THROW(deserialize_parameters(bytes, "params.bin"), SecurityError);
  const ParameterSet back = deserialize_parameters(bytes, "params.bin", /*allow_insecure=*/true);
  EXPECT_EQ(back.log_n, ps.log_n);
  EXPECT_EQ(back.q, ps.q);
  EXPECT_EQ(back.p, ps.p);
  EXPECT_EQ(back.dnum, ps.dnum);
  EXPECT_EQ(back.default_scale, ps.default_scale);
  EXPECT_EQ(back.sigma, ps.sigma);
  EXPECT_EQ(back.hash(), ps.hash());

  // A 128-bit secure set (N = 2^14, log Q = 438 like the anchors) loads without opting out.
  const ParameterSet secure =
      Parameters::from_bit_sizes(14, {50, 40, 40, 40, 40, 40, 40, 40, 40}, {60}, 9, 40);
  const ParameterSet back2 = deserialize_parameters(serialize(secure), "secure.bin");
  EXPECT_EQ(back2.hash(), secure.hash());
}

TEST_F(SerializationTest, SecretKeyRoundTrip) {
  const SecretKey& sk = s_->keygen.secret_key();
  for (const auto& o : kAllOptions) {
    const auto bytes = serialize(ctx(), sk, o);
    const SecretKey back = deserialize_secret_key(bytes, ctx(), "sk.bin");
    EXPECT_EQ(back.params, sk.params);
    EXPECT_EQ(back.coeffs, sk.coeffs);
    EXPECT_EQ(back.ntt, sk.ntt);
  }
  // 2 bits per coefficient packed.
  EXPECT_EQ(serialize(ctx(), sk).size(), core::kEnvelopeOverheadBytes + 33 + ctx().n() / 4);
}

TEST_F(SerializationTest, PublicKeyRoundTripEncrypts) {
  for (const auto& o : kAllOptions) {
    const PublicKey back = deserialize_public_key(serialize(ctx(), *pk_, o), ctx(), "pk.bin");
    EXPECT_EQ(back.params, pk_->params);
    EXPECT_EQ(back.seed, pk_->seed);
    EXPECT_EQ(back.b, pk_->b);
    EXPECT_EQ(back.a, pk_->a);
  }
  const PublicKey back = deserialize_public_key(serialize(ctx(), *pk_), ctx(), "pk.bin");
  Encryptor enc(s_->ctx, back);
  const auto v = test::random_values(ctx().slots(), 1.0, 11);
  const auto got =
      s_->encoder.decode_complex(s_->decryptor.decrypt(enc.encrypt(s_->encoder.encode(v))));
  EXPECT_GE(test::precision_bits(got, v), 25.0);
}

TEST_F(SerializationTest, RelinKeyRoundTripIsBitIdenticalInUse) {
  const auto a = s_->encrypt(test::random_values(ctx().slots(), 1.0, 1));
  const auto b = s_->encrypt(test::random_values(ctx().slots(), 1.0, 2));
  const Ciphertext want = s_->evaluator.multiply_relin(a, b, s_->relin);
  for (const auto& o : kAllOptions) {
    const RelinKey back = deserialize_relin_key(serialize(ctx(), s_->relin, o), ctx(), "rk.bin");
    EXPECT_EQ(back.params, s_->relin.params);
    EXPECT_EQ(back.key.seed, s_->relin.key.seed);
    EXPECT_EQ(back.key.digits, s_->relin.key.digits);
    EXPECT_EQ(back.key.b, s_->relin.key.b);
    EXPECT_EQ(back.key.a, s_->relin.key.a);
    EXPECT_EQ(s_->evaluator.multiply_relin(a, b, back).data, want.data);
  }
}

TEST_F(SerializationTest, GaloisKeysRoundTripRotateIdentically) {
  const auto v = test::random_values(ctx().slots(), 1.0, 3);
  const auto ct = s_->encrypt(v);
  for (const auto& o : kAllOptions) {
    const GaloisKeys back = deserialize_galois_keys(serialize(ctx(), *gk_, o), ctx(), "gk.bin");
    ASSERT_EQ(back.keys.size(), gk_->keys.size());
    for (const auto& [elt, key] : gk_->keys) {
      ASSERT_TRUE(back.has(elt));
      const auto& k2 = back.keys.at(elt);
      EXPECT_EQ(k2.seed, key.seed);
      EXPECT_EQ(k2.b, key.b);
      EXPECT_EQ(k2.a, key.a);
    }
    for (int step : {1, -1, 5})
      EXPECT_EQ(s_->evaluator.rotate(ct, step, back).data,
                s_->evaluator.rotate(ct, step, *gk_).data);
    EXPECT_EQ(s_->evaluator.conjugate(ct, back).data, s_->evaluator.conjugate(ct, *gk_).data);
  }
  const auto got = s_->decrypt(
      s_->evaluator.rotate(ct, 5, deserialize_galois_keys(serialize(ctx(), *gk_), ctx(), "gk")));
  EXPECT_GE(test::precision_bits(got, test::rotate_left(v, 5)), 20.0);
}

TEST_F(SerializationTest, PlaintextRoundTrip) {
  const auto v = test::random_values(ctx().slots(), 3.0, 4);
  for (std::size_t level : {std::size_t{0}, ctx().max_level()}) {
    const Plaintext pt = s_->encoder.encode(v, ctx().params().default_scale, level);
    for (const auto& o : kAllOptions) {
      const Plaintext back = deserialize_plaintext(serialize(ctx(), pt, o), ctx(), "pt.bin");
      EXPECT_EQ(back.n, pt.n);
      EXPECT_EQ(back.level, pt.level);
      EXPECT_EQ(back.scale, pt.scale);
      EXPECT_EQ(back.params, pt.params);
      EXPECT_EQ(back.data, pt.data);
    }
  }
}

TEST_F(SerializationTest, CiphertextRoundTripsOfEveryShape) {
  const auto v = test::random_values(ctx().slots(), 1.0, 5);
  const auto w = test::random_values(ctx().slots(), 1.0, 6);
  const Ciphertext fresh_pk = s_->encrypt(v);
  const Ciphertext fresh_sk = sym_->encrypt(s_->encoder.encode(v));
  ASSERT_TRUE(fresh_sk.c1_seed.has_value());
  const Ciphertext size3 = s_->evaluator.multiply(fresh_pk, s_->encrypt(w));
  ASSERT_EQ(size3.size, 3u);
  const Ciphertext lower = s_->evaluator.rescale(s_->evaluator.relinearize(size3, s_->relin));
  ASSERT_LT(lower.level, ctx().max_level());

  for (const Ciphertext* ct : {&fresh_pk, &fresh_sk, &size3, &lower}) {
    for (const auto& o : kAllOptions) {
      for (bool use_seed : {true, false}) {
        SerializeOptions opt = o;
        opt.use_seed = use_seed;
        const Ciphertext back = deserialize_ciphertext(serialize(ctx(), *ct, opt), ctx(), "ct.bin");
        EXPECT_EQ(back.n, ct->n);
        EXPECT_EQ(back.size, ct->size);
        EXPECT_EQ(back.level, ct->level);
        EXPECT_EQ(back.scale, ct->scale);
        EXPECT_EQ(back.params, ct->params);
        EXPECT_EQ(back.data, ct->data);
        EXPECT_EQ(back.c1_seed.has_value(), use_seed && ct->c1_seed.has_value());
        if (back.c1_seed) {
          EXPECT_EQ(*back.c1_seed, *ct->c1_seed);
        }
      }
    }
  }
  // And they decrypt to the same values.
  const auto back_sk = deserialize_ciphertext(serialize(ctx(), fresh_sk), ctx(), "ct.bin");
  EXPECT_GE(test::precision_bits(s_->decrypt(back_sk), v), 25.0);
  const auto back3 = deserialize_ciphertext(serialize(ctx(), size3), ctx(), "ct.bin");
  EXPECT_EQ(s_->decryptor.decrypt(back3).data, s_->decryptor.decrypt(size3).data);
}

// ---- sizes -------------------------------------------------------------------

TEST_F(SerializationTest, SeededObjectsTravelAtHalfSize) {
  const Ciphertext ct =
      sym_->encrypt(s_->encoder.encode(test::random_values(ctx().slots(), 1.0, 7)));
  for (bool pack : {true, false}) {
    SerializeOptions seeded{.pack = pack}, full{.pack = pack, .use_seed = false};
    const double ratio = static_cast<double>(serialize(ctx(), ct, seeded).size()) /
                         static_cast<double>(serialize(ctx(), ct, full).size());
    EXPECT_GT(ratio, 0.49);
    EXPECT_LT(ratio, 0.51);
  }
  // Keys: b only; a full key would hold a as well (same residue widths).
  auto poly_bytes = [&](bool pack) {
    std::size_t s = 0;
    for (std::size_t k = 0; k < ctx().num_extended(); ++k)
      s += ctx().n() * static_cast<std::size_t>(pack ? ctx().modulus(k).bits() : 64) / 8;
    return s;
  };
  for (bool pack : {true, false}) {
    const double pk_ratio = static_cast<double>(serialize(ctx(), *pk_, {.pack = pack}).size()) /
                            (2.0 * poly_bytes(pack));
    EXPECT_GT(pk_ratio, 0.5);
    EXPECT_LT(pk_ratio, 0.51);
    const double rk_ratio =
        static_cast<double>(serialize(ctx(), s_->relin, {.pack = pack}).size()) /
        (2.0 * static_cast<double>(ctx().dnum() * poly_bytes(pack)));
    EXPECT_GT(rk_ratio, 0.5);
    EXPECT_LT(rk_ratio, 0.51);
  }
}

TEST_F(SerializationTest, SizesFollowTheDocumentedFormulas) {
  // docs/formats.md: B(m) bytes per polynomial over m limbs, envelope 56 bytes.
  const Context& c = ctx();
  auto B = [&](std::size_t m, bool pack) {
    std::size_t s = 0;
    for (std::size_t k = 0; k < m; ++k)
      s += c.n() * static_cast<std::size_t>(pack ? std::bit_width(c.modulus(k).value()) : 64) / 8;
    return s;
  };
  const std::size_t E = c.num_extended(), L1 = c.num_q(), d = c.dnum();
  const Ciphertext full = s_->encrypt(test::random_values(c.slots(), 1.0, 16));
  const Ciphertext seeded =
      sym_->encrypt(s_->encoder.encode(test::random_values(c.slots(), 1.0, 17)));
  for (bool pack : {true, false}) {
    const SerializeOptions o{.pack = pack};
    EXPECT_EQ(serialize(c, full, o).size(), 56 + 47 + 2 * B(L1, pack));
    EXPECT_EQ(serialize(c, seeded, o).size(), 56 + 79 + B(L1, pack));
    EXPECT_EQ(serialize(c, s_->encoder.encode(test::random_values(c.slots(), 1.0, 18)), o).size(),
              56 + 45 + B(L1, pack));
    EXPECT_EQ(serialize(c, s_->keygen.secret_key(), o).size(),
              56 + 33 + (pack ? c.n() / 4 : c.n()));
    EXPECT_EQ(serialize(c, *pk_, o).size(), 56 + 65 + B(E, pack));
    EXPECT_EQ(serialize(c, s_->relin, o).size(), 56 + 69 + d * B(E, pack));
    EXPECT_EQ(serialize(c, *gk_, o).size(), 56 + 45 + gk_->keys.size() * (40 + d * B(E, pack)));
  }
  EXPECT_EQ(serialize(c.params()).size(), 56 + 36 + 8 * (L1 + c.num_p()));
}

TEST_F(SerializationTest, PackingAndCompressionSizes) {
  const Ciphertext ct = s_->encrypt(test::random_values(ctx().slots(), 1.0, 8));
  const auto packed = serialize(ctx(), ct, {.pack = true});
  const auto unpacked = serialize(ctx(), ct, {.pack = false});
  // Primes of 50, 40, 40 bits: 130 bits instead of 192 per coefficient.
  const double ratio = static_cast<double>(packed.size()) / static_cast<double>(unpacked.size());
  EXPECT_NEAR(ratio, 130.0 / 192.0, 0.01);
  // zstd recovers most of the zero high bits of unpacked residues...
  const auto unpacked_z = serialize(ctx(), ct, {.pack = false, .compress = true});
  EXPECT_LT(unpacked_z.size(), unpacked.size() * 85 / 100);
  // ... and a structured plaintext (a constant) shrinks to almost nothing.
  const Plaintext constant =
      s_->encoder.encode_constant({0.5, 0.0}, ctx().params().default_scale, ctx().max_level());
  const auto pz = serialize(ctx(), constant, {.pack = true, .compress = true});
  EXPECT_LT(pz.size() * 20, serialize(ctx(), constant).size());
  EXPECT_EQ(deserialize_plaintext(pz, ctx(), "pt").data, constant.data);
}

// ---- rejection ----------------------------------------------------------------

TEST_F(SerializationTest, WrongParameterSetIsRejected) {
  test::Suite other(test::test_params(12, 2, 1));  // same primes, different dnum -> different hash
  const Ciphertext ct = s_->encrypt(test::random_values(ctx().slots(), 1.0, 9));
  const auto bytes = serialize(ctx(), ct);
  const std::string msg =
      format_error_of([&] { deserialize_ciphertext(bytes, *other.ctx, "query.bin"); });
  EXPECT_NE(msg.find("query.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("was made for different CKKS parameters"), std::string::npos) << msg;
  EXPECT_THROW(deserialize_relin_key(serialize(ctx(), s_->relin), *other.ctx, "rk"), FormatError);
  EXPECT_THROW(deserialize_secret_key(serialize(ctx(), s_->keygen.secret_key()), *other.ctx, "sk"),
               FormatError);
  // Serializing with the wrong context is a programming error.
  EXPECT_THROW(serialize(*other.ctx, ct), ParameterError);
  // Wrong kind.
  const std::string kind_msg =
      format_error_of([&] { deserialize_plaintext(bytes, ctx(), "x.bin"); });
  EXPECT_NE(kind_msg.find("CKCT"), std::string::npos) << kind_msg;
}

TEST_F(SerializationTest, EverySingleByteFlipIsRejectedByTheChecksum) {
  // A small ciphertext: level 0, seeded, packed: ~25.7 KB.
  Ciphertext ct = sym_->encrypt(s_->encoder.encode(test::random_values(ctx().slots(), 1.0, 10),
                                                   ctx().params().default_scale, 0));
  const auto bytes = serialize(ctx(), ct);
  ASSERT_LT(bytes.size(), 26000u);
  std::mt19937 rng(1);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    EXPECT_THROW(deserialize_ciphertext(bad, ctx(), "ct.bin"), FormatError) << "byte " << i;
  }
}

TEST_F(SerializationTest, HostileFieldsGiveClearErrors) {
  const Ciphertext ct = s_->encrypt(test::random_values(ctx().slots(), 1.0, 12));
  const auto sealed = serialize(ctx(), ct, {.pack = false});
  const auto base = payload_of(sealed);
  auto try_ct = [&](const std::function<void(core::Bytes&)>& edit) {
    auto p = base;
    edit(p);
    return format_error_of([&] { deserialize_ciphertext(reseal(sealed, p), ctx(), "evil.ct"); });
  };
  auto has = [](const std::string& msg, const char* what) {
    return msg.find("evil.ct") != std::string::npos && msg.find(what) != std::string::npos;
  };
  EXPECT_TRUE(
      has(try_ct([](core::Bytes& p) { put_u32(p, kCtLevel, 1000); }), "level 1000 exceeds"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p[kCtSize] = 4; }), "size 4"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p[kCtSize] = 3; }), "body holds"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { put_f64(p, kCtScale, std::nan("")); }), "scale"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { put_f64(p, kCtScale, -1.0); }), "scale"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { put_f64(p, kCtScale, 0.0); }), "scale"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { put_f64(p, kCtScale, 1e300); }), "scale"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p[kCtSeeded] = 7; }), "seed flag"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p[32] = 0x80; }), "flags"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p[32] = 3; }), "zstd"));  // claims compression
  EXPECT_TRUE(has(try_ct([&](core::Bytes& p) { put_u64(p, kCtBody, ctx().modulus(0).value()); }),
                  "not below its modulus"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p.pop_back(); }), "body holds"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p.push_back(0); }), "body holds"));
  EXPECT_TRUE(has(try_ct([](core::Bytes& p) { p.resize(20); }), "truncated"));

  // Packed residues are checked as well (all-ones bits exceed every prime).
  const auto sealed_packed = serialize(ctx(), ct);
  auto pp = payload_of(sealed_packed);
  for (std::size_t i = 0; i < 16; ++i) pp[kCtBody + i] = 0xff;
  EXPECT_NE(format_error_of([&] {
              deserialize_ciphertext(reseal(sealed_packed, pp), ctx(), "evil.ct");
            }).find("not below its modulus"),
            std::string::npos);

  // Secret key: non-ternary values, packed and unpacked.
  const SecretKey& sk = s_->keygen.secret_key();
  const auto sk_packed = serialize(ctx(), sk);
  auto skp = payload_of(sk_packed);
  skp[33] = 0xff;  // code 3
  EXPECT_NE(format_error_of([&] {
              deserialize_secret_key(reseal(sk_packed, skp), ctx(), "sk");
            }).find("code 3"),
            std::string::npos);
  const auto sk_raw = serialize(ctx(), sk, {.pack = false});
  auto skr = payload_of(sk_raw);
  skr[40] = 5;
  EXPECT_NE(format_error_of([&] {
              deserialize_secret_key(reseal(sk_raw, skr), ctx(), "sk");
            }).find("not -1, 0 or 1"),
            std::string::npos);

  // Galois keys: absurd count, bad element, non-increasing elements, a zstd bomb.
  const auto gk_sealed = serialize(ctx(), *gk_);
  const auto gp = payload_of(gk_sealed);
  auto try_gk = [&](const core::Bytes& p) {
    return format_error_of([&] { deserialize_galois_keys(reseal(gk_sealed, p), ctx(), "gk.bin"); });
  };
  auto g1 = gp;
  put_u64(g1, 37, std::uint64_t{1} << 40);
  EXPECT_NE(try_gk(g1).find("exceeds the maximum"), std::string::npos);
  auto g2 = gp;
  put_u64(g2, 37, ctx().n());  // allowed count, but the data cannot hold the entries
  g2.resize(45 + 40 * 10);
  EXPECT_NE(try_gk(g2).find("remaining data"), std::string::npos);
  auto g3 = gp;
  put_u64(g3, 45, 4);  // even element
  EXPECT_NE(try_gk(g3).find("not an odd number"), std::string::npos);
  auto g4 = gp;
  put_u64(g4, 45 + 40, 1);  // second element <= first
  EXPECT_NE(try_gk(g4).find("strictly increasing"), std::string::npos);
  auto g5 = gp;
  put_u32(g5, 33, 7);
  EXPECT_NE(try_gk(g5).find("dnum"), std::string::npos);
  {
    // N entries claimed, body = a tiny zstd frame that declares a huge size.
    core::ByteWriter w;
    w.bytes(ctx().hash());
    w.u8(3);  // packed + zstd
    w.u32(static_cast<std::uint32_t>(ctx().dnum()));
    const std::size_t count = 64;
    w.u64(count);
    for (std::size_t i = 0; i < count; ++i) {
      w.u64(2 * i + 3);
      w.bytes(math::Seed{});
    }
    w.bytes(core::zstd_compress(core::Bytes(1 << 20, 0)));
    const std::string msg = try_gk(w.data());
    EXPECT_NE(msg.find("more than uniform residues can compress"), std::string::npos) << msg;
  }

  {
    // The same for a relinearization key: a 1 MiB zero frame is ~50 bytes.
    core::ByteWriter w;
    w.bytes(ctx().hash());
    w.u8(3);
    w.u32(static_cast<std::uint32_t>(ctx().dnum()));
    w.bytes(math::Seed{});
    w.bytes(core::zstd_compress(core::Bytes(1 << 20, 0)));
    const auto sealed_rk = core::seal_envelope(kKindRelinKey, kSerializationVersion, w.data());
    const std::string msg =
        format_error_of([&] { deserialize_relin_key(sealed_rk, ctx(), "rk.bin"); });
    EXPECT_NE(msg.find("more than uniform residues can compress"), std::string::npos) << msg;
  }

  {
    // A ciphertext whose body is all zeros compresses to almost nothing; a
    // query file of many of them must not make a server allocate gigabytes.
    Ciphertext zero = s_->encrypt(test::random_values(ctx().slots(), 1.0, 5));
    std::fill(zero.data.begin(), zero.data.end(), 0);
    zero.c1_seed.reset();
    SerializeOptions opt;
    opt.compress = true;
    const auto bomb = serialize(ctx(), zero, opt);
    EXPECT_LT(bomb.size(), 4096u);
    const std::string msg =
        format_error_of([&] { deserialize_ciphertext(bomb, ctx(), "ct.bin"); });
    EXPECT_NE(msg.find("more than uniform residues can compress"), std::string::npos) << msg;
  }

  // Parameter sets: hostile sizes and values are refused before anything big happens.
  const auto ps_sealed = serialize(ctx().params());
  const auto psp = payload_of(ps_sealed);
  auto try_ps = [&](const std::function<void(core::Bytes&)>& edit) -> std::string {
    auto p = psp;
    edit(p);
    try {
      deserialize_parameters(reseal(ps_sealed, p), "p.bin", true);
    } catch (const Error& e) {
      return e.what();
    }
    return "<accepted>";
  };
  EXPECT_NE(try_ps([](core::Bytes& p) { put_u32(p, 0, 30); }).find("log_n 30"), std::string::npos);
  EXPECT_NE(try_ps([](core::Bytes& p) { put_u32(p, 4, 1000000); }).find("count 1000000"),
            std::string::npos);
  EXPECT_NE(
      try_ps([](core::Bytes& p) { put_u64(p, 8, (std::uint64_t{1} << 40) + 1); }).find("p.bin"),
      std::string::npos);
  EXPECT_NE(try_ps([](core::Bytes& p) { put_u64(p, p.size() - 24, 0); }).find("dnum 0"),
            std::string::npos);
  EXPECT_NE(try_ps([](core::Bytes& p) { put_f64(p, p.size() - 8, std::nan("")); }).find("sigma"),
            std::string::npos);
}

// ---- fuzzing the decoders under a valid checksum -------------------------------

namespace {

enum class Mutation { kFlip, kTruncate, kExtend, kField, kSplice };

core::Bytes mutate(const core::Bytes& payload, std::mt19937_64& rng) {
  core::Bytes p = payload;
  auto pick = [&](std::size_t n) {
    return n == 0 ? std::size_t{0} : static_cast<std::size_t>(rng() % n);
  };
  // Positions are biased to the first 128 bytes, where the shape fields live.
  auto position = [&]() {
    return rng() % 2 ? pick(std::min<std::size_t>(p.size(), 128)) : pick(p.size());
  };
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int r = 0; r < rounds; ++r) {
    switch (static_cast<Mutation>(rng() % 5)) {
      case Mutation::kFlip:
        if (!p.empty()) p[position()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case Mutation::kTruncate:
        p.resize(pick(p.size() + 1));
        break;
      case Mutation::kExtend: {
        const std::size_t extra = 1 + pick(64);
        for (std::size_t i = 0; i < extra; ++i) p.push_back(static_cast<std::uint8_t>(rng()));
        break;
      }
      case Mutation::kField: {
        // Overwrite a little-endian 1/4/8-byte field with an interesting value.
        static const std::uint64_t values[] = {0,
                                               1,
                                               2,
                                               3,
                                               4,
                                               0x7f,
                                               0xff,
                                               0xffff,
                                               0xffffffffull,
                                               0x100000000ull,
                                               std::uint64_t{1} << 62,
                                               ~std::uint64_t{0},
                                               0x7ff0000000000000ull,
                                               0x4000000000000000ull,
                                               4096,
                                               8192,
                                               8191};
        const std::uint64_t v = values[pick(std::size(values))];
        const std::size_t width = std::size_t{1} << pick(4);  // 1, 2, 4, 8
        if (p.size() < width) break;
        const std::size_t at = std::min(position(), p.size() - width);
        for (std::size_t i = 0; i < width; ++i) p[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
        break;
      }
      case Mutation::kSplice: {
        // Duplicate or delete a range (shifts every later field).
        if (p.empty()) break;
        const std::size_t at = position();
        const std::size_t len = std::min(1 + pick(48), p.size() - at);
        if (rng() % 2)
          p.erase(p.begin() + static_cast<std::ptrdiff_t>(at),
                  p.begin() + static_cast<std::ptrdiff_t>(at + len));
        else
          p.insert(p.begin() + static_cast<std::ptrdiff_t>(at),
                   p.begin() + static_cast<std::ptrdiff_t>(at),
                   p.begin() + static_cast<std::ptrdiff_t>(at + len));
        break;
      }
    }
  }
  return p;
}

struct FuzzStats {
  int rejected = 0;
  int accepted = 0;
};

/// Mutates the payload of `sealed` `cases` times, reseals it with a valid
/// checksum and runs `decode`; every case must throw FormatError (or one of
/// `also_ok`) or decode to a valid object (checked by `decode` itself).
template <class Decode>
FuzzStats fuzz(const core::Bytes& sealed, int cases, std::uint64_t seed, Decode&& decode,
               bool params = false) {
  std::mt19937_64 rng(seed);
  const core::Bytes payload = payload_of(sealed);
  FuzzStats st;
  for (int i = 0; i < cases; ++i) {
    const core::Bytes bytes = reseal(sealed, mutate(payload, rng));
    try {
      decode(bytes);
      ++st.accepted;
    } catch (const FormatError&) {
      ++st.rejected;
    } catch (const ParameterError& e) {
      if (!params)
        ADD_FAILURE() << "case " << i << ": ParameterError instead of FormatError: " << e.what();
      ++st.rejected;
    } catch (const SecurityError& e) {
      if (!params)
        ADD_FAILURE() << "case " << i << ": SecurityError instead of FormatError: " << e.what();
      ++st.rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "case " << i << ": unexpected exception " << typeid(e).name() << ": "
                    << e.what();
    }
    if (::testing::Test::HasFatalFailure()) break;
  }
  return st;
}

}  // namespace

TEST_F(SerializationTest, FuzzedPayloadsAreRejectedOrDecodeSafely) {
  const Context& c = ctx();
  // Small objects keep the loop fast: level-0 ciphertexts / plaintexts.
  const auto v = test::random_values(c.slots(), 1.0, 13);
  const Ciphertext ct0 = s_->encrypt(v, 0, c.params().default_scale);
  const Ciphertext seeded0 = sym_->encrypt(s_->encoder.encode(v, c.params().default_scale, 0));
  const Ciphertext size3 = s_->evaluator.multiply(s_->encrypt(v, 0, c.params().default_scale),
                                                  s_->encrypt(v, 0, c.params().default_scale));
  const Plaintext pt0 = s_->encoder.encode(v, c.params().default_scale, 0);

  auto ct_decode = [&](const core::Bytes& b) {
    const Ciphertext x = deserialize_ciphertext(b, c, "fuzz.ct");
    expect_valid(c, x);
    (void)s_->decryptor.decrypt(x);  // must be usable without crashing
  };
  int total = 0, accepted = 0;
  // ENCMOL_SERIALIZATION_FUZZ=k runs k times as many cases with other seeds
  // (for longer runs under sanitizers); the default keeps the suite fast.
  const char* env = std::getenv("ENCMOL_SERIALIZATION_FUZZ");
  const int scale = env ? std::clamp(std::atoi(env), 1, 1000) : 1;
  auto run = [&](const core::Bytes& sealed, int cases, std::uint64_t seed, auto&& decode,
                 bool params = false) {
    const FuzzStats st = fuzz(sealed, cases * scale, seed + 1000 * (scale - 1), decode, params);
    total += st.rejected + st.accepted;
    accepted += st.accepted;
  };
  run(serialize(c, ct0), 600, 1, ct_decode);
  run(serialize(c, ct0, {.pack = false}), 300, 2, ct_decode);
  run(serialize(c, seeded0), 600, 3, ct_decode);
  run(serialize(c, seeded0, {.pack = true, .compress = true}), 300, 4, ct_decode);
  run(serialize(c, size3, {.pack = false, .compress = true}), 200, 5, ct_decode);
  run(serialize(c, pt0), 300, 6,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_plaintext(b, c, "fuzz.pt")); });
  run(serialize(c, pt0, {.pack = false, .compress = true}), 200, 7,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_plaintext(b, c, "fuzz.pt")); });
  run(serialize(c, s_->keygen.secret_key()), 300, 8,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_secret_key(b, c, "fuzz.sk")); });
  run(serialize(c, s_->keygen.secret_key(), {.pack = false, .compress = true}), 200, 9,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_secret_key(b, c, "fuzz.sk")); });
  run(serialize(c, *pk_), 200, 10,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_public_key(b, c, "fuzz.pk")); });
  run(serialize(c, s_->relin), 150, 11,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_relin_key(b, c, "fuzz.rk")); });
  run(serialize(c, *gk_), 150, 12,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_galois_keys(b, c, "fuzz.gk")); });
  run(serialize(c, *gk_, {.pack = false, .compress = true}), 100, 13,
      [&](const core::Bytes& b) { expect_valid(c, deserialize_galois_keys(b, c, "fuzz.gk")); });
  run(
      serialize(c.params()), 600, 14,
      [&](const core::Bytes& b) {
        const ParameterSet ps = deserialize_parameters(b, "fuzz.ps", /*allow_insecure=*/true);
        ps.validate();
      },
      true);
  EXPECT_GE(total, 4000 * scale);
  // Most mutations must be caught; a few (e.g. a flipped residue bit that stays
  // below the modulus) legitimately decode to a different valid object.
  EXPECT_LT(accepted, total / 2);
  std::printf("[ fuzz     ] %d mutated payloads: %d rejected, %d decoded to valid objects\n", total,
              total - accepted, accepted);
}

// ---- files ----------------------------------------------------------------------

TEST_F(SerializationTest, FilesRoundTripAndAreBounded) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("encmol_ser_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const Ciphertext ct =
      sym_->encrypt(s_->encoder.encode(test::random_values(ctx().slots(), 1.0, 14)));
  save(dir / "params.bin", ctx().params());
  save(dir / "ct.bin", ctx(), ct);
  save(dir / "pk.bin", ctx(), *pk_, {.pack = true, .compress = true});
  save(dir / "rk.bin", ctx(), s_->relin);
  save(dir / "gk.bin", ctx(), *gk_);
  save(dir / "sk.bin", ctx(), s_->keygen.secret_key());
  save(dir / "pt.bin", ctx(), s_->encoder.encode(test::random_values(ctx().slots(), 1.0, 15)));
  EXPECT_EQ(load_parameters(dir / "params.bin", true).hash(), ctx().hash());
  EXPECT_EQ(load_ciphertext(dir / "ct.bin", ctx()).data, ct.data);
  EXPECT_EQ(load_public_key(dir / "pk.bin", ctx()).b, pk_->b);
  EXPECT_EQ(load_relin_key(dir / "rk.bin", ctx()).key.b, s_->relin.key.b);
  EXPECT_EQ(load_galois_keys(dir / "gk.bin", ctx()).keys.size(), gk_->keys.size());
  EXPECT_EQ(load_secret_key(dir / "sk.bin", ctx()).coeffs, s_->keygen.secret_key().coeffs);
  EXPECT_EQ(load_plaintext(dir / "pt.bin", ctx()).level, ctx().max_level());

  // A truncated file names itself.
  auto bytes = core::read_file_bytes(dir / "ct.bin");
  bytes.resize(bytes.size() - 10);
  core::write_file_atomic(dir / "ct.bin", bytes);
  const std::string msg = format_error_of([&] { load_ciphertext(dir / "ct.bin", ctx()); });
  EXPECT_NE(msg.find("ct.bin"), std::string::npos) << msg;
  // A file larger than any ciphertext of these parameters is refused before reading.
  core::write_file_atomic(dir / "big.bin",
                          core::Bytes(max_serialized_bytes(kKindCiphertext, ctx()) + 1, 0));
  EXPECT_THROW(load_ciphertext(dir / "big.bin", ctx()), FormatError);
  std::filesystem::remove_all(dir);
}
