#include <gtest/gtest.h>

#include <random>

#include "encmol/ckks/ks_kernels.hpp"
#include "encmol/math/modarith.hpp"
#include "encmol/math/primes.hpp"

namespace encmol::ckks {
namespace {

using math::u128;

// The fused IFMA inner product must agree bit for bit with exact arithmetic,
// with and without a permutation, for every digit count it accepts.
TEST(KeySwitchKernel, IfmaMatchesExactArithmetic) {
  const std::size_t n = 1024;
  for (int bits : {30, 45, 49, 50}) {
    const math::Modulus q(math::generate_ntt_primes(bits, 1, n)[0]);
    for (std::size_t beta : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{15}}) {
      std::mt19937_64 rng(bits * 100 + beta);
      std::vector<std::vector<std::uint64_t>> x(beta), kb(beta), ka(beta);
      std::vector<const std::uint64_t*> px(beta), pb(beta), pa(beta);
      for (std::size_t j = 0; j < beta; ++j) {
        for (auto* v : {&x[j], &kb[j], &ka[j]}) {
          v->resize(n);
          for (auto& e : *v) e = rng() % q.value();
          // extremes: q-1 everywhere in a few positions
          (*v)[0] = q.value() - 1;
        }
        px[j] = x[j].data();
        pb[j] = kb[j].data();
        pa[j] = ka[j].data();
      }
      std::vector<std::uint32_t> perm(n);
      for (std::size_t c = 0; c < n; ++c) perm[c] = static_cast<std::uint32_t>((c * 5 + 3) % n);
      for (const std::uint32_t* pp : {static_cast<const std::uint32_t*>(nullptr), static_cast<const std::uint32_t*>(perm.data())}) {
        std::vector<std::uint64_t> ob(n), oa(n), eb(n), ea(n);
        const detail::InnerProductArgs args{px.data(), pb.data(), pa.data(), beta, pp, ob.data(), oa.data(), n};
        if (detail::inner_product_ifma_ok(q, beta))
          detail::inner_product_ifma(args, q);
        else
          detail::inner_product_portable(args, q);
        for (std::size_t c = 0; c < n; ++c) {
          const std::size_t src = pp ? pp[c] : c;
          std::uint64_t sb = 0, sa = 0;
          for (std::size_t j = 0; j < beta; ++j) {
            sb = (sb + static_cast<std::uint64_t>(static_cast<u128>(x[j][src]) * kb[j][c] % q.value())) % q.value();
            sa = (sa + static_cast<std::uint64_t>(static_cast<u128>(x[j][src]) * ka[j][c] % q.value())) % q.value();
          }
          eb[c] = sb;
          ea[c] = sa;
        }
        EXPECT_EQ(ob, eb) << "bits " << bits << " beta " << beta;
        EXPECT_EQ(oa, ea) << "bits " << bits << " beta " << beta;
        // The portable kernel agrees as well.
        std::vector<std::uint64_t> pb2(n), pa2(n);
        detail::inner_product_portable({px.data(), pb.data(), pa.data(), beta, pp, pb2.data(), pa2.data(), n}, q);
        EXPECT_EQ(pb2, eb);
        EXPECT_EQ(pa2, ea);
      }
    }
  }
}

}  // namespace
}  // namespace encmol::ckks
