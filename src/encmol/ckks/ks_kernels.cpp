#include "encmol/ckks/ks_kernels.hpp"

// GCC 12 reports false "may be used uninitialized" inside its own AVX-512
// intrinsic headers (the pass-through operand of masked builtins).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "encmol/math/ntt.hpp"

#define ENCMOL_CKKS_IFMA __attribute__((target("avx512f,avx512ifma,avx512vl,avx512dq")))

namespace encmol::ckks::detail {

using math::u128;

bool inner_product_ifma_ok(const math::Modulus& q, std::size_t beta) {
  // Low halves sum below beta * 2^52 < 2^64 and high halves plus carries stay
  // below 2^52 for beta <= 15 (q < 2^50, so each high half is < 2^48).
  return beta >= 1 && beta <= 15 && q.value() < math::kIfmaModulusBound &&
         math::effective_simd_path(math::default_simd_path(), q.value()) == math::SimdPath::Avx512Ifma;
}

void inner_product_portable(const InnerProductArgs& a, const math::Modulus& q) {
  for (std::size_t c = 0; c < a.n; ++c) {
    const std::size_t src = a.perm ? a.perm[c] : c;
    u128 s0 = 0, s1 = 0;
    for (std::size_t j = 0; j < a.beta; ++j) {
      const std::uint64_t x = a.x[j][src];
      s0 += static_cast<u128>(x) * a.kb[j][c];
      s1 += static_cast<u128>(x) * a.ka[j][c];
    }
    a.out_b[c] = q.reduce_any(s0);
    a.out_a[c] = q.reduce_any(s1);
  }
}

namespace {

// S = hi * 2^52 + lo  ->  S mod q, all lanes; q < 2^50, hi + (lo >> 52) < 2^52.
ENCMOL_CKKS_IFMA inline __m512i reduce_split(__m512i lo, __m512i hi, __m512i vq, __m512i v2q, __m512i w52,
                                             __m512i w52s, __m512i one_s, __m512i mask52) {
  const __m512i zero = _mm512_setzero_si512();
  hi = _mm512_add_epi64(hi, _mm512_srli_epi64(lo, 52));
  lo = _mm512_and_si512(lo, mask52);
  // hi * (2^52 mod q) mod q with a 52-bit Shoup quotient: result in [0, 2q).
  __m512i qt = _mm512_madd52hi_epu64(zero, hi, w52s);
  __m512i r = _mm512_madd52lo_epu64(zero, hi, w52);
  r = _mm512_sub_epi64(r, _mm512_madd52lo_epu64(zero, qt, vq));
  r = _mm512_and_si512(r, mask52);
  // lo mod q, also in [0, 2q).
  qt = _mm512_madd52hi_epu64(zero, lo, one_s);
  __m512i r2 = _mm512_sub_epi64(lo, _mm512_madd52lo_epu64(zero, qt, vq));
  r2 = _mm512_and_si512(r2, mask52);
  r = _mm512_add_epi64(r, r2);  // [0, 4q)
  r = _mm512_min_epu64(r, _mm512_sub_epi64(r, v2q));
  r = _mm512_min_epu64(r, _mm512_sub_epi64(r, vq));
  return r;
}

}  // namespace

ENCMOL_CKKS_IFMA void inner_product_ifma(const InnerProductArgs& a, const math::Modulus& q) {
  const std::uint64_t qv = q.value();
  const std::uint64_t w = static_cast<std::uint64_t>((static_cast<u128>(1) << 52) % qv);
  const __m512i vq = _mm512_set1_epi64(static_cast<long long>(qv));
  const __m512i v2q = _mm512_set1_epi64(static_cast<long long>(2 * qv));
  const __m512i w52 = _mm512_set1_epi64(static_cast<long long>(w));
  const __m512i w52s = _mm512_set1_epi64(static_cast<long long>(math::shoup_precompute52(w, qv)));
  const __m512i one_s = _mm512_set1_epi64(static_cast<long long>((static_cast<u128>(1) << 52) / qv));
  const __m512i mask52 = _mm512_set1_epi64(static_cast<long long>((std::uint64_t{1} << 52) - 1));
  std::size_t c = 0;
  for (; c + 8 <= a.n; c += 8) {
    __m512i lo0 = _mm512_setzero_si512(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
    __m256i idx = _mm256_setzero_si256();
    if (a.perm) idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.perm + c));
    for (std::size_t j = 0; j < a.beta; ++j) {
      const __m512i x = a.perm ? _mm512_i32gather_epi64(idx, reinterpret_cast<const long long*>(a.x[j]), 8)
                               : _mm512_loadu_si512(a.x[j] + c);
      const __m512i b = _mm512_loadu_si512(a.kb[j] + c);
      const __m512i k = _mm512_loadu_si512(a.ka[j] + c);
      lo0 = _mm512_madd52lo_epu64(lo0, x, b);
      hi0 = _mm512_madd52hi_epu64(hi0, x, b);
      lo1 = _mm512_madd52lo_epu64(lo1, x, k);
      hi1 = _mm512_madd52hi_epu64(hi1, x, k);
    }
    _mm512_storeu_si512(a.out_b + c, reduce_split(lo0, hi0, vq, v2q, w52, w52s, one_s, mask52));
    _mm512_storeu_si512(a.out_a + c, reduce_split(lo1, hi1, vq, v2q, w52, w52s, one_s, mask52));
  }
  if (c < a.n) {
    InnerProductArgs rest = a;
    // Tail (n < 8 never happens for N >= 2^12, kept for completeness).
    for (; c < a.n; ++c) {
      const std::size_t src = a.perm ? a.perm[c] : c;
      u128 s0 = 0, s1 = 0;
      for (std::size_t j = 0; j < a.beta; ++j) {
        s0 += static_cast<u128>(a.x[j][src]) * a.kb[j][c];
        s1 += static_cast<u128>(a.x[j][src]) * a.ka[j][c];
      }
      rest.out_b[c] = q.reduce_any(s0);
      rest.out_a[c] = q.reduce_any(s1);
    }
  }
}

}  // namespace encmol::ckks::detail
