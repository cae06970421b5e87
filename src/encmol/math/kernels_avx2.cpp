// AVX2 kernels. AVX2 has no 64x64-bit multiply, so the Shoup products are
// assembled from 32x32->64 multiplies (vpmuludq); this path exists for x86-64
// CPUs without IFMA and is correct for every q < 2^61.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "encmol/math/ntt.hpp"
#include "encmol/math/simd_kernels.hpp"

#define ENCMOL_AVX2 __attribute__((target("avx2")))

namespace encmol::math::detail {

namespace {

// x - m if x >= m else x, for x, m < 2^63 (sign of x - m selects).
ENCMOL_AVX2 inline __m256i csub(__m256i x, __m256i m) {
  const __m256i d = _mm256_sub_epi64(x, m);
  return _mm256_castpd_si256(
      _mm256_blendv_pd(_mm256_castsi256_pd(d), _mm256_castsi256_pd(x), _mm256_castsi256_pd(d)));
}

// High 64 bits of the 128-bit products a*b (unsigned).
ENCMOL_AVX2 inline __m256i mulhi64(__m256i a, __m256i b) {
  const __m256i lo32 = _mm256_set1_epi64x(0xffffffffLL);
  const __m256i ah = _mm256_srli_epi64(a, 32);
  const __m256i bh = _mm256_srli_epi64(b, 32);
  const __m256i ll = _mm256_mul_epu32(a, b);
  const __m256i lh = _mm256_mul_epu32(a, bh);
  const __m256i hl = _mm256_mul_epu32(ah, b);
  const __m256i hh = _mm256_mul_epu32(ah, bh);
  const __m256i mid = _mm256_add_epi64(_mm256_add_epi64(_mm256_srli_epi64(ll, 32),
                                                        _mm256_and_si256(lh, lo32)),
                                       _mm256_and_si256(hl, lo32));
  return _mm256_add_epi64(
      _mm256_add_epi64(hh, _mm256_srli_epi64(lh, 32)),
      _mm256_add_epi64(_mm256_srli_epi64(hl, 32), _mm256_srli_epi64(mid, 32)));
}

// Low 64 bits of a*b.
ENCMOL_AVX2 inline __m256i mullo64(__m256i a, __m256i b) {
  const __m256i ll = _mm256_mul_epu32(a, b);
  const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)),
                                         _mm256_mul_epu32(_mm256_srli_epi64(a, 32), b));
  return _mm256_add_epi64(ll, _mm256_slli_epi64(cross, 32));
}

// a*w mod q in [0, 2q) (64-bit Shoup).
ENCMOL_AVX2 inline __m256i mul_shoup_lazy4(__m256i a, __m256i w, __m256i ws, __m256i q) {
  const __m256i qh = mulhi64(a, ws);
  return _mm256_sub_epi64(mullo64(a, w), mullo64(qh, q));
}

}  // namespace

ENCMOL_AVX2 void ntt_forward_avx2(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t q = t.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const std::uint64_t* w = t.root_powers();
  const std::uint64_t* ws = t.root_shoup();
  const __m256i qv = _mm256_set1_epi64x(static_cast<long long>(q));
  const __m256i tq = _mm256_set1_epi64x(static_cast<long long>(two_q));
  std::size_t m = 1, gap = n >> 1;
  for (; gap >= 4; m <<= 1, gap >>= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const __m256i wv = _mm256_set1_epi64x(static_cast<long long>(w[m + i]));
      const __m256i wsv = _mm256_set1_epi64x(static_cast<long long>(ws[m + i]));
      std::uint64_t* x = a + 2 * i * gap;
      std::uint64_t* y = x + gap;
      for (std::size_t j = 0; j < gap; j += 4) {
        __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j));
        const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + j));
        xv = csub(xv, tq);
        const __m256i tv = mul_shoup_lazy4(yv, wv, wsv, qv);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + j), _mm256_add_epi64(xv, tv));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + j),
                            _mm256_sub_epi64(_mm256_add_epi64(xv, tq), tv));
      }
    }
  }
  // Stages with gap 2 and 1 inside 8-element blocks, then the final
  // correction. Gap 2: X = elements {0,1,4,5}, Y = {2,3,6,7}; gap 1:
  // X = {0,4,2,6}, Y = {1,5,3,7}.
  const std::size_t m2 = n >> 2, m1 = n >> 1;
  for (std::size_t b = 0; b < n / 8; ++b) {
    std::uint64_t* p = a + 8 * b;
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 4));
    __m256i x = _mm256_permute2x128_si256(v0, v1, 0x20);
    __m256i y = _mm256_permute2x128_si256(v0, v1, 0x31);
    {
      const __m256i wv = _mm256_permute4x64_epi64(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + m2 + 2 * b))), 0x50);
      const __m256i wsv = _mm256_permute4x64_epi64(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ws + m2 + 2 * b))), 0x50);
      x = csub(x, tq);
      const __m256i tv = mul_shoup_lazy4(y, wv, wsv, qv);
      y = _mm256_sub_epi64(_mm256_add_epi64(x, tq), tv);
      x = _mm256_add_epi64(x, tv);
    }
    const __m256i u0 = _mm256_permute2x128_si256(x, y, 0x20);
    const __m256i u1 = _mm256_permute2x128_si256(x, y, 0x31);
    x = _mm256_unpacklo_epi64(u0, u1);
    y = _mm256_unpackhi_epi64(u0, u1);
    {
      const __m256i wv = _mm256_permute4x64_epi64(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + m1 + 4 * b)), 0xD8);
      const __m256i wsv = _mm256_permute4x64_epi64(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ws + m1 + 4 * b)), 0xD8);
      x = csub(x, tq);
      const __m256i tv = mul_shoup_lazy4(y, wv, wsv, qv);
      y = _mm256_sub_epi64(_mm256_add_epi64(x, tq), tv);
      x = _mm256_add_epi64(x, tv);
    }
    x = csub(csub(x, tq), qv);
    y = csub(csub(y, tq), qv);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_unpacklo_epi64(x, y));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 4), _mm256_unpackhi_epi64(x, y));
  }
}

ENCMOL_AVX2 void ntt_inverse_avx2(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t q = t.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const std::uint64_t* w = t.inv_root_powers();
  const std::uint64_t* ws = t.inv_root_shoup();
  const __m256i qv = _mm256_set1_epi64x(static_cast<long long>(q));
  const __m256i tq = _mm256_set1_epi64x(static_cast<long long>(two_q));
  // Stages with gap 1 and 2 inside 8-element blocks (layouts as in the forward).
  const std::size_t m2 = n >> 2, m1 = n >> 1;
  for (std::size_t b = 0; b < n / 8; ++b) {
    std::uint64_t* p = a + 8 * b;
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 4));
    __m256i x = _mm256_unpacklo_epi64(v0, v1);
    __m256i y = _mm256_unpackhi_epi64(v0, v1);
    {
      const __m256i wv = _mm256_permute4x64_epi64(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + m1 + 4 * b)), 0xD8);
      const __m256i wsv = _mm256_permute4x64_epi64(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ws + m1 + 4 * b)), 0xD8);
      const __m256i u = csub(_mm256_add_epi64(x, y), tq);
      const __m256i d = _mm256_sub_epi64(_mm256_add_epi64(x, tq), y);
      x = u;
      y = mul_shoup_lazy4(d, wv, wsv, qv);
    }
    const __m256i u0 = _mm256_unpacklo_epi64(x, y);
    const __m256i u1 = _mm256_unpackhi_epi64(x, y);
    x = _mm256_permute2x128_si256(u0, u1, 0x20);
    y = _mm256_permute2x128_si256(u0, u1, 0x31);
    {
      const __m256i wv = _mm256_permute4x64_epi64(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + m2 + 2 * b))), 0x50);
      const __m256i wsv = _mm256_permute4x64_epi64(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ws + m2 + 2 * b))), 0x50);
      const __m256i u = csub(_mm256_add_epi64(x, y), tq);
      const __m256i d = _mm256_sub_epi64(_mm256_add_epi64(x, tq), y);
      x = u;
      y = mul_shoup_lazy4(d, wv, wsv, qv);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_permute2x128_si256(x, y, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 4), _mm256_permute2x128_si256(x, y, 0x31));
  }
  std::size_t m = n >> 3, gap = 4;
  for (; m > 1; m >>= 1, gap <<= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const __m256i wv = _mm256_set1_epi64x(static_cast<long long>(w[m + i]));
      const __m256i wsv = _mm256_set1_epi64x(static_cast<long long>(ws[m + i]));
      std::uint64_t* x = a + 2 * i * gap;
      std::uint64_t* y = x + gap;
      for (std::size_t j = 0; j < gap; j += 4) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j));
        const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + j));
        const __m256i u = csub(_mm256_add_epi64(xv, yv), tq);
        const __m256i v = _mm256_sub_epi64(_mm256_add_epi64(xv, tq), yv);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + j), u);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + j), mul_shoup_lazy4(v, wv, wsv, qv));
      }
    }
  }
  // Last stage (gap = n/2 >= 4) with n^-1 folded in.
  const __m256i ni = _mm256_set1_epi64x(static_cast<long long>(t.n_inv()));
  const __m256i nis = _mm256_set1_epi64x(static_cast<long long>(t.n_inv_shoup()));
  const __m256i nw = _mm256_set1_epi64x(static_cast<long long>(t.n_inv_w()));
  const __m256i nws = _mm256_set1_epi64x(static_cast<long long>(t.n_inv_w_shoup()));
  std::uint64_t* x = a;
  std::uint64_t* y = a + gap;
  for (std::size_t j = 0; j < gap; j += 4) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j));
    const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + j));
    const __m256i u = _mm256_add_epi64(xv, yv);
    const __m256i v = _mm256_sub_epi64(_mm256_add_epi64(xv, tq), yv);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + j), csub(mul_shoup_lazy4(u, ni, nis, qv), qv));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + j), csub(mul_shoup_lazy4(v, nw, nws, qv), qv));
  }
}

}  // namespace encmol::math::detail
