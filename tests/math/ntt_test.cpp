#include "encmol/math/ntt.hpp"

#include <gtest/gtest.h>

#include <random>

#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"
#include "encmol/math/primes.hpp"
#include "math_test_util.hpp"

namespace encmol::math {
namespace {

using testing::negacyclic_schoolbook;
using testing::random_residues;
using testing::supported_paths;

// Prime sizes around every kernel boundary: IFMA needs q < 2^50.
const int kBits[] = {30, 40, 49, 50, 51, 55, 60, 61};

TEST(Ntt, CpuDetectionIsConsistent) {
  EXPECT_TRUE(cpu_supports(SimdPath::Portable));
  EXPECT_TRUE(cpu_supports(default_simd_path()));
  EXPECT_EQ(simd_path_from_string("avx2"), SimdPath::Avx2);
  EXPECT_THROW(simd_path_from_string("sse"), ParameterError);
  EXPECT_EQ(effective_simd_path(SimdPath::Avx512Ifma, (1ull << 50) + 1) == SimdPath::Avx512Ifma,
            false);
  std::printf("SIMD paths on this CPU:");
  for (auto p : supported_paths()) std::printf(" %s", to_string(p));
  std::printf(" (default %s)\n", to_string(default_simd_path()));
}

TEST(Ntt, RejectsBadParameters) {
  const std::uint64_t p = generate_ntt_primes(40, 1, 1024)[0];
  EXPECT_THROW(NttTables(1000, Modulus(p)), ParameterError);
  EXPECT_THROW(NttTables(1, Modulus(p)), ParameterError);
  EXPECT_THROW(NttTables(std::size_t{1} << 18, Modulus(p)), ParameterError);
  EXPECT_THROW(NttTables(1 << 12, Modulus(p)), ParameterError);  // p ≢ 1 mod 2^13 (probably)
  EXPECT_THROW(NttTables(16, Modulus(1ull << 40)), ParameterError);
  EXPECT_THROW(NttTables(16, Modulus(97ull * 193ull)), ParameterError);  // ≡ 1 mod 32 but composite
  const NttTables t(1024, Modulus(p));
  EXPECT_THROW(t.ntt_domain_automorphism(4), ParameterError);
  EXPECT_THROW(t.ntt_domain_automorphism(2049), ParameterError);
}

TEST(Ntt, OutputIsBitReversedEvaluation) {
  const std::size_t n = 32;
  const std::uint64_t p = generate_ntt_primes(40, 1, n)[0];
  const Modulus q(p);
  const NttTables t(n, q);
  std::mt19937_64 rng(5);
  auto a = random_residues(rng, n, p);
  for (SimdPath path : supported_paths()) {
    auto f = a;
    t.forward(f.data(), path);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t x = q.pow(t.psi(), 2 * bit_reverse(static_cast<std::uint32_t>(i), 5) + 1);
      std::uint64_t v = 0;
      for (std::size_t k = n; k-- > 0;) v = q.add(q.mul(v, x), a[k]);  // Horner
      ASSERT_EQ(f[i], v) << to_string(path) << " i=" << i;
    }
  }
}

TEST(Ntt, ProductMatchesSchoolbookOnEveryPath) {
  std::mt19937_64 rng(7);
  for (int bits : kBits) {
    for (std::size_t n : {2u, 4u, 8u, 16u, 32u, 64u, 256u, 1024u}) {
      const std::uint64_t p = generate_ntt_primes(bits, 1, n)[0];
      const NttTables t(n, Modulus(p));
      auto a = random_residues(rng, n, p);
      auto b = random_residues(rng, n, p);
      if (n == 64) {  // extreme inputs stress the lazy bounds
        std::fill(a.begin(), a.end(), p - 1);
      }
      const auto expected = negacyclic_schoolbook(a, b, p);
      for (SimdPath path : supported_paths()) {
        auto fa = a, fb = b;
        t.forward(fa.data(), path);
        t.forward(fb.data(), path);
        for (std::uint64_t v : fa) ASSERT_LT(v, p);
        std::vector<std::uint64_t> c(n);
        mul_mod(fa.data(), fb.data(), c.data(), n, t.modulus(), path);
        t.inverse(c.data(), path);
        ASSERT_EQ(c, expected) << "bits=" << bits << " n=" << n << " path=" << to_string(path);
      }
    }
  }
}

TEST(Ntt, AllPathsBitIdenticalToPortable) {
  std::mt19937_64 rng(11);
  for (int bits : kBits) {
    for (std::size_t n : {std::size_t{1} << 12, std::size_t{1} << 14, std::size_t{1} << 16}) {
      const std::uint64_t p = generate_ntt_primes(bits, 1, n)[0];
      const NttTables t(n, Modulus(p));
      for (int trial = 0; trial < 2; ++trial) {
        auto a = random_residues(rng, n, p);
        if (trial == 1) {
          for (std::size_t j = 0; j < n; j += 3) a[j] = p - 1;
        }
        auto ref_f = a;
        t.forward(ref_f.data(), SimdPath::Portable);
        auto ref_i = a;
        t.inverse(ref_i.data(), SimdPath::Portable);
        for (SimdPath path : supported_paths()) {
          auto f = a;
          t.forward(f.data(), path);
          ASSERT_EQ(f, ref_f) << "forward bits=" << bits << " n=" << n << " " << to_string(path);
          auto i = a;
          t.inverse(i.data(), path);
          ASSERT_EQ(i, ref_i) << "inverse bits=" << bits << " n=" << n << " " << to_string(path);
          t.inverse(f.data(), path);
          ASSERT_EQ(f, a) << "round trip bits=" << bits << " n=" << n << " " << to_string(path);
        }
      }
    }
  }
}

TEST(Ntt, RoundTripAndLinearityAtLargeSizes) {
  std::mt19937_64 rng(13);
  for (int bits : {49, 60}) {
    const std::size_t n = std::size_t{1} << 17;
    const std::uint64_t p = generate_ntt_primes(bits, 1, n)[0];
    const Modulus q(p);
    const NttTables t(n, q);
    const auto a = random_residues(rng, n, p);
    const auto b = random_residues(rng, n, p);
    std::vector<std::uint64_t> s(n);
    add_mod(a.data(), b.data(), s.data(), n, q);
    auto fa = a, fb = b;
    t.forward(fa.data());
    t.forward(fb.data());
    t.forward(s.data());
    std::vector<std::uint64_t> fs(n);
    add_mod(fa.data(), fb.data(), fs.data(), n, q);
    EXPECT_EQ(s, fs);
    t.inverse(fa.data());
    EXPECT_EQ(fa, a);
  }
}

TEST(Ntt, MonomialTimesXIsNegacyclicShift) {
  const std::size_t n = 1 << 12;
  const std::uint64_t p = generate_ntt_primes(50, 1, n)[0];
  const Modulus q(p);
  const NttTables t(n, q);
  std::mt19937_64 rng(17);
  auto a = random_residues(rng, n, p);
  std::vector<std::uint64_t> x(n, 0);
  x[1] = 1;
  for (SimdPath path : supported_paths()) {
    auto fa = a, fx = x;
    t.forward(fa.data(), path);
    t.forward(fx.data(), path);
    mul_mod(fa.data(), fx.data(), fa.data(), n, q, path);
    t.inverse(fa.data(), path);
    ASSERT_EQ(fa[0], q.neg(a[n - 1]));
    for (std::size_t j = 1; j < n; ++j) ASSERT_EQ(fa[j], a[j - 1]);
  }
}

TEST(Ntt, AutomorphismInNttDomainMatchesCoefficientDomain) {
  std::mt19937_64 rng(19);
  for (std::size_t n : {16u, 256u, 4096u}) {
    const std::uint64_t p = generate_ntt_primes(45, 1, n)[0];
    const Modulus q(p);
    const NttTables t(n, q);
    const auto a = random_residues(rng, n, p);
    std::vector<std::uint64_t> gs = {1, 3, 5, 25, 2 * n - 1, n + 1};
    for (int i = 0; i < 5; ++i) gs.push_back((rng() % n) * 2 + 1);
    for (std::uint64_t g : gs) {
      std::vector<std::uint64_t> ac(n);
      automorphism_coeff(a.data(), g, ac.data(), n, q);
      t.forward(ac.data());
      auto fa = a;
      t.forward(fa.data());
      const auto perm = t.ntt_domain_automorphism(g);
      std::vector<std::uint64_t> fp(n);
      permute(fa.data(), perm.data(), fp.data(), n);
      ASSERT_EQ(fp, ac) << "n=" << n << " g=" << g;
    }
  }
}

}  // namespace
}  // namespace encmol::math
