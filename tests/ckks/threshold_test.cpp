// Threshold CKKS (ckks/threshold.hpp): k parties, one joint key, exact
// integer sums, slot values against single-key CKKS, and corrupt or missing
// shares detected.
#include "encmol/ckks/threshold.hpp"

#include <gtest/gtest.h>

#include <random>

#include "ckks_test_util.hpp"
#include "encmol/core/error.hpp"

namespace encmol::ckks {
namespace {

using math::i128;

struct Parties {
  std::shared_ptr<const Context> ctx;
  std::vector<SecretKey> shares;
  PublicKey joint;

  Parties(const ParameterSet& ps, std::size_t k) : ctx(Context::create(ps)) {
    const math::Seed crs = math::random_seed();
    std::vector<PublicKey> pk;
    for (std::size_t i = 0; i < k; ++i) {
      shares.push_back(KeyGenerator(ctx).secret_key());
      pk.push_back(public_key_share(*ctx, shares.back(), crs));
    }
    joint = combine_public_key_shares(*ctx, pk);
  }
  std::vector<DecryptionShare> decryption_shares(const Ciphertext& ct, double sigma) const {
    std::vector<DecryptionShare> out;
    for (const auto& s : shares) out.push_back(partial_decrypt(*ctx, ct, s, sigma));
    return out;
  }
};

// The protocol's parameters: N = 2^14, three 60-bit primes, 128-bit secure.
ParameterSet protocol_params() { return Parameters::from_bit_sizes(14, {60, 60, 60}, {60}, 3, 40); }

// Random integers below 2^84 in magnitude, either sign.
std::vector<i128> random_integers(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<i128> v(n);
  for (auto& x : v) {
    x = (static_cast<i128>(rng() >> 20) << 40) |
        static_cast<i128>(rng() & ((std::uint64_t{1} << 40) - 1));
    if (rng() & 1) x = -x;
  }
  return v;
}

TEST(Threshold, ExactSumsOfLargeIntegersAcrossThreeParties) {
  const Parties p(protocol_params(), 3);
  const Context& ctx = *p.ctx;
  const Encryptor enc(p.ctx, p.joint);
  const Evaluator ev(p.ctx);
  const unsigned shift = 60;
  std::vector<i128> want(1000, 0);
  Ciphertext sum;
  for (unsigned party = 0; party < 3; ++party) {
    auto values = random_integers(want.size(), party + 1);
    values[0] = -1;
    values[1] = 0;
    for (std::size_t j = 0; j < want.size(); ++j) want[j] += values[j];
    const Ciphertext ct = enc.encrypt(encode_integers(ctx, values, shift, ctx.max_level()));
    sum = party == 0 ? ct : ev.add(sum, ct);
  }
  const double sigma = std::ldexp(1.0, 40);
  const Plaintext pt = combine_decryption_shares(ctx, sum, p.decryption_shares(sum, sigma));
  const auto got = decode_integers(ctx, pt, shift, want.size(), std::uint64_t{1} << 50);
  for (std::size_t j = 0; j < want.size(); ++j)
    ASSERT_TRUE(got[j] == want[j]) << "coefficient " << j;
}

TEST(Threshold, SlotValuesMatchSingleKeyCkks) {
  // The joint key is a CKKS public key like any other: slot values encrypted
  // under it decrypt jointly to what a single-key round trip gives.
  const auto ps = test::test_params(12, 1, 1);
  const Parties p(ps, 3);
  test::Suite single(ps);
  const Encoder encoder(p.ctx);
  const auto values = test::random_values(p.ctx->slots(), 10.0, 7);
  const double scale = std::ldexp(1.0, 40);
  const Ciphertext ct = Encryptor(p.ctx, p.joint).encrypt(encoder.encode(values, scale, 1));
  const auto joint = encoder.decode_complex(
      combine_decryption_shares(*p.ctx, ct, p.decryption_shares(ct, 1 << 10)));
  const auto alone =
      single.encoder.decode_complex(single.decryptor.decrypt(single.encrypt(values, 1, scale)));
  EXPECT_GT(test::precision_bits(joint, values), 15.0);  // smudging 2^10 at scale 2^40
  EXPECT_GT(test::precision_bits(alone, values), 25.0);
  // One party alone decrypts with its share only: noise, not the message.
  const std::vector<DecryptionShare> one{partial_decrypt(*p.ctx, ct, p.shares[0], 3.2)};
  EXPECT_LT(test::precision_bits(encoder.decode_complex(combine_decryption_shares(*p.ctx, ct, one)),
                                 values),
            0.0);
}

TEST(Threshold, MissingForeignOrCorruptSharesAreDetected) {
  const Parties p(protocol_params(), 3);
  const Context& ctx = *p.ctx;
  const std::vector<i128> values(500, 12345);
  const Ciphertext ct =
      Encryptor(p.ctx, p.joint).encrypt(encode_integers(ctx, values, 60, ctx.max_level()));
  auto shares = p.decryption_shares(ct, 1e9);
  const std::uint64_t bound = std::uint64_t{1} << 50;
  EXPECT_EQ(decode_integers(ctx, combine_decryption_shares(ctx, ct, shares), 60, 500, bound)[7],
            12345);
  // A party that withholds its share.
  auto missing = shares;
  missing.pop_back();
  EXPECT_THROW(decode_integers(ctx, combine_decryption_shares(ctx, ct, missing), 60, 500, bound),
               FormatError);
  // A share made with another secret key.
  auto foreign = shares;
  foreign[1] = partial_decrypt(ctx, ct, KeyGenerator(p.ctx).secret_key(), 1e9);
  EXPECT_THROW(decode_integers(ctx, combine_decryption_shares(ctx, ct, foreign), 60, 500, bound),
               FormatError);
  // One flipped residue.
  auto corrupt = shares;
  corrupt[2].data[12345] ^= 1;
  EXPECT_THROW(decode_integers(ctx, combine_decryption_shares(ctx, ct, corrupt), 60, 500, bound),
               FormatError);
  // Shares of the wrong shape.
  auto shape = shares;
  shape[0].level = 0;
  EXPECT_THROW(combine_decryption_shares(ctx, ct, shape), ParameterError);
  EXPECT_THROW(combine_public_key_shares(ctx, {}), ParameterError);
}

TEST(Threshold, PublicKeySharesMustShareTheReferenceSeed) {
  const auto ps = test::test_params(12, 1, 1);
  const auto ctx = Context::create(ps);
  const SecretKey a = KeyGenerator(ctx).secret_key(), b = KeyGenerator(ctx).secret_key();
  const std::vector<PublicKey> mixed{public_key_share(*ctx, a, math::random_seed()),
                                     public_key_share(*ctx, b, math::random_seed())};
  EXPECT_THROW(combine_public_key_shares(*ctx, mixed), ParameterError);
}

}  // namespace
}  // namespace encmol::ckks
