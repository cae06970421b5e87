#include "encmol/math/rns.hpp"

#include <gtest/gtest.h>

#include <random>

#include "encmol/core/error.hpp"
#include "math_test_util.hpp"

namespace encmol::math {
namespace {

using testing::supported_paths;

std::vector<Modulus> to_moduli(const std::vector<std::uint64_t>& v, std::size_t begin,
                               std::size_t count) {
  std::vector<Modulus> out;
  for (std::size_t i = 0; i < count; ++i) out.emplace_back(v[begin + i]);
  return out;
}

// Exact big-integer check: residue of the multi-word integer w modulo p.
std::uint64_t big_mod(const std::vector<std::uint64_t>& w, std::uint64_t p) {
  u128 r = 0;
  for (std::size_t k = w.size(); k-- > 0;) r = ((r << 64) | w[k]) % p;
  return static_cast<std::uint64_t>(r);
}

TEST(Rns, BaseRejectsNonCoprimeModuli) {
  EXPECT_THROW(RnsBase({Modulus(6), Modulus(9)}), ParameterError);
  EXPECT_THROW(RnsBase(std::vector<Modulus>{}), ParameterError);
  EXPECT_NO_THROW(RnsBase({Modulus(7), Modulus(9), Modulus(10007)}));
}

TEST(Rns, ComposeDecomposeRoundTrip) {
  std::mt19937_64 rng(41);
  const auto primes = generate_ntt_primes(60, 5, 1024);
  const RnsBase base(to_moduli(primes, 0, 5));
  EXPECT_NEAR(base.log2_product(), 5 * 60.0, 0.01);
  for (int t = 0; t < 200; ++t) {
    std::vector<std::uint64_t> x(5);
    for (auto& w : x) w = rng();
    x[4] &= (std::uint64_t{1} << 40) - 1;  // x < 2^(4*64+40) < Q ~ 2^300
    std::vector<std::uint64_t> r(5);
    base.decompose(x, r.data());
    for (std::size_t i = 0; i < 5; ++i) ASSERT_EQ(r[i], big_mod(x, primes[i]));
    ASSERT_EQ(base.compose(r.data()), x);
  }
  // Centered composition of small signed values, with a stride.
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1},
                         std::int64_t{123456789012345}, std::int64_t{-987654321098765}}) {
    std::vector<std::uint64_t> r(5 * 3);
    for (std::size_t i = 0; i < 5; ++i) {
      const std::uint64_t p = primes[i];
      const std::uint64_t m = static_cast<std::uint64_t>(v < 0 ? -v : v) % p;
      r[i * 3] = v < 0 ? (p - m) % p : m;
    }
    EXPECT_EQ(base.compose_centered(r.data(), 3), static_cast<long double>(v));
  }
}

// For random x < Q_from: convert(x) = x + u*Q_from mod p_k with 0 <= u < L,
// checked by exact CRT; and the same bits on every path.
void check_conversion(const std::vector<std::uint64_t>& from_p, const std::vector<std::uint64_t>& to_p,
                      std::size_t n, std::mt19937_64& rng) {
  const RnsBase from(to_moduli(from_p, 0, from_p.size()));
  const RnsBase to(to_moduli(to_p, 0, to_p.size()));
  const BaseConverter conv(from, to);
  const std::size_t L = from.size(), K = to.size();
  std::vector<std::uint64_t> in(L * n);
  for (std::size_t i = 0; i < L; ++i) {
    for (std::size_t j = 0; j < n; ++j) in[i * n + j] = rng() % from_p[i];
  }
  // Extreme coefficients: all residues q_i - 1 (x = Q - 1) and all zero.
  for (std::size_t i = 0; i < L; ++i) {
    in[i * n + 0] = from_p[i] - 1;
    in[i * n + 1] = 0;
  }
  std::vector<std::uint64_t> ref(K * n);
  conv.convert(in.data(), ref.data(), n, SimdPath::Portable);
  for (SimdPath path : supported_paths()) {
    std::vector<std::uint64_t> out(K * n);
    conv.convert(in.data(), out.data(), n, path);
    ASSERT_EQ(out, ref) << to_string(path);
  }
  for (std::size_t j = 0; j < n; ++j) {
    const auto x = from.compose(in.data() + j, n);
    // Find u with out ≡ x + u*Q (mod every p_k).
    bool found = false;
    for (std::size_t u = 0; u < L && !found; ++u) {
      bool all = true;
      for (std::size_t k = 0; k < K && all; ++k) {
        const Modulus& p = to[k];
        const std::uint64_t want =
            p.add(big_mod(x, p.value()), p.mul(u % p.value(), big_mod(from.product(), p.value())));
        all = ref[k * n + j] == want;
      }
      found = all;
    }
    ASSERT_TRUE(found) << "coefficient " << j;
  }
}

TEST(Rns, FastBaseConversionIsXPlusSmallMultipleOfQ) {
  std::mt19937_64 rng(43);
  const std::size_t n = 64;
  // IFMA-eligible (all < 2^50), mixed, and large moduli; sizes incl. 1 and > 16 (chunking).
  const auto p49 = generate_ntt_primes(49, 30, n);
  const auto p60 = generate_ntt_primes(60, 6, n);
  const auto p30 = generate_ntt_primes(30, 4, n);
  check_conversion({p49[0]}, {p49[1], p49[2]}, n, rng);
  check_conversion({p49[0], p49[1], p49[2]}, {p49[3], p49[4], p49[5], p49[6]}, n, rng);
  check_conversion({p30[0], p30[1]}, {p49[7], p60[0]}, n, rng);
  check_conversion({p60[0], p60[1], p60[2]}, {p60[3], p30[2]}, n, rng);
  std::vector<std::uint64_t> many(p49.begin(), p49.begin() + 20);
  check_conversion(many, {p49[25], p49[26], p30[3]}, n, rng);
  check_conversion({p49.begin(), p49.begin() + 17}, {p49[29]}, n, rng);
}

TEST(Rns, BaseConversionLargeDegreeAllPathsAgree) {
  std::mt19937_64 rng(47);
  const std::size_t n = 1 << 13;
  const auto p = generate_ntt_primes(49, 12, n);
  const RnsBase from(to_moduli(p, 0, 4)), to(to_moduli(p, 4, 8));
  const BaseConverter conv(from, to);
  std::vector<std::uint64_t> in(4 * n);
  for (std::size_t i = 0; i < 4; ++i) {
    for (std::size_t j = 0; j < n; ++j) in[i * n + j] = rng() % p[i];
  }
  std::vector<std::uint64_t> ref(8 * n), out(8 * n);
  conv.convert(in.data(), ref.data(), n, SimdPath::Portable);
  for (SimdPath path : supported_paths()) {
    conv.convert(in.data(), out.data(), n, path);
    ASSERT_EQ(out, ref);
  }
}

}  // namespace
}  // namespace encmol::math
