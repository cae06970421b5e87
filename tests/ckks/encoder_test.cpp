#include <gtest/gtest.h>

#include <cmath>

#include "ckks_test_util.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::ckks {
namespace {

using test::cvec;
using test::precision_bits;

class EncoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ctx_ = Context::create(test::test_params(13, 4, 2)); }
  static void TearDownTestSuite() { ctx_.reset(); }
  static std::shared_ptr<const Context> ctx_;
};
std::shared_ptr<const Context> EncoderTest::ctx_;

TEST_F(EncoderTest, RoundTripComplexAtEveryLevel) {
  Encoder enc(ctx_);
  const cvec v = test::random_values(enc.slots(), 1.0, 1);
  double worst = 100;
  for (std::size_t level = 0; level <= ctx_->max_level(); ++level) {
    const auto got = enc.decode_complex(enc.encode(v, std::ldexp(1.0, 40), level));
    // Rounding of N coefficients at scale 2^40: about 2^-40 * sqrt(N) per slot.
    const double bits = precision_bits(got, v);
    EXPECT_GE(bits, 32.0) << "level " << level;
    worst = std::min(worst, bits);
  }
  std::printf("[precision] encode/decode round trip at 2^40, N=2^13: %.1f bits (max error)\n", worst);
}

TEST_F(EncoderTest, RoundTripRealAndShortVectors) {
  Encoder enc(ctx_);
  std::vector<double> v = {1.5, -2.25, 3.0, 0.0, 1e-3};
  const auto got = enc.decode(enc.encode(v, std::ldexp(1.0, 45), 2));
  ASSERT_EQ(got.size(), enc.slots());
  for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], k < v.size() ? v[k] : 0.0, 1e-9);
}

TEST_F(EncoderTest, LargeScaleUsesExactRounding) {
  // values up to 2^8 at scale 2^60: coefficients beyond 2^63 go through the
  // exact long-double path, and decoding composes all primes with CRT.
  Encoder enc(ctx_);
  const cvec v = test::random_values(enc.slots(), 256.0, 2);
  const auto pt = enc.encode(v, std::ldexp(1.0, 60), ctx_->max_level());
  EXPECT_GE(precision_bits(enc.decode_complex(pt), v), 40.0);
}

TEST_F(EncoderTest, ConstantInEverySlot) {
  Encoder enc(ctx_);
  const std::complex<double> c(0.75, -1.25);
  const auto got = enc.decode_complex(enc.encode_constant(c, std::ldexp(1.0, 40), 1));
  for (const auto& z : got) EXPECT_LT(std::abs(z - c), 1e-9);
}

TEST_F(EncoderTest, GaloisPermutationRotatesSlots) {
  // Checks the slot order independently of keys: X -> X^(5^k) on an encoded
  // plaintext rotates its slots left by k; X -> X^(2N-1) conjugates them.
  Encoder enc(ctx_);
  const cvec v = test::random_values(enc.slots(), 1.0, 3);
  auto pt = enc.encode(v, std::ldexp(1.0, 40), 0);
  for (int step : {1, 3, -1, 100}) {
    const auto& perm = ctx_->galois_permutation(ctx_->galois_element(step));
    Plaintext r = pt;
    math::permute(pt.data.data(), perm.data(), r.data.data(), pt.n);
    EXPECT_GE(precision_bits(enc.decode_complex(r), test::rotate_left(v, step)), 30.0) << step;
  }
  const auto& perm = ctx_->galois_permutation(ctx_->conjugation_element());
  Plaintext r = pt;
  math::permute(pt.data.data(), perm.data(), r.data.data(), pt.n);
  cvec conj(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) conj[k] = std::conj(v[k]);
  EXPECT_GE(precision_bits(enc.decode_complex(r), conj), 30.0);
}

TEST_F(EncoderTest, BadInputIsRefused) {
  Encoder enc(ctx_);
  EXPECT_THROW(enc.encode(cvec(enc.slots() + 1), 1e6, 0), InputError);
  EXPECT_THROW(enc.encode(std::vector<double>{std::nan("")}, 1e6, 0), InputError);
  EXPECT_THROW(enc.encode(std::vector<double>{1.0}, 1e6, ctx_->max_level() + 1), ParameterError);
  // 2^20 * 2^40 does not fit the 50-bit prime at level 0.
  EXPECT_THROW(enc.encode(std::vector<double>(enc.slots(), 1048576.0), std::ldexp(1.0, 40), 0), ParameterError);
  EXPECT_THROW(enc.encode(std::vector<double>{1.0}, -1.0, 0), ParameterError);
}

}  // namespace
}  // namespace encmol::ckks
