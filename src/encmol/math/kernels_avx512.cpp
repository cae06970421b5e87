// AVX-512 (F + DQ) NTT kernels with full 64-bit Shoup products, for moduli
// from 2^50 up to 2^61 where the 52-bit IFMA lanes are too narrow. The low
// halves of products use vpmullq; the high half of a*w' is assembled from
// four 32x32-bit products (vpmuludq). Values stay below 4q < 2^63.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 AVX-512 header false positive
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "encmol/math/ntt.hpp"
#include "encmol/math/simd_kernels.hpp"

#define ENCMOL_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))

namespace encmol::math::detail {

namespace {

ENCMOL_AVX512 inline __m512i csub(__m512i x, __m512i m) {
  return _mm512_min_epu64(x, _mm512_sub_epi64(x, m));
}

// High 64 bits of a*b; b_hi = b >> 32 is passed in (twiddles are constants).
ENCMOL_AVX512 inline __m512i mulhi64(__m512i a, __m512i b, __m512i b_hi) {
  const __m512i lo32 = _mm512_set1_epi64(0xffffffffLL);
  const __m512i a_hi = _mm512_srli_epi64(a, 32);
  const __m512i ll = _mm512_mul_epu32(a, b);
  const __m512i lh = _mm512_mul_epu32(a, b_hi);
  const __m512i hl = _mm512_mul_epu32(a_hi, b);
  const __m512i hh = _mm512_mul_epu32(a_hi, b_hi);
  // mid = (ll >> 32) + lo32(lh) + lo32(hl) < 3 * 2^32: no overflow.
  const __m512i mid = _mm512_add_epi64(
      _mm512_add_epi64(_mm512_srli_epi64(ll, 32), _mm512_and_si512(lh, lo32)),
      _mm512_and_si512(hl, lo32));
  return _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(lh, 32)),
                          _mm512_add_epi64(_mm512_srli_epi64(hl, 32), _mm512_srli_epi64(mid, 32)));
}

struct Tw {
  __m512i w, ws, ws_hi;
};

ENCMOL_AVX512 inline Tw broadcast_tw(std::uint64_t w, std::uint64_t ws) {
  return {_mm512_set1_epi64(static_cast<long long>(w)), _mm512_set1_epi64(static_cast<long long>(ws)),
          _mm512_set1_epi64(static_cast<long long>(ws >> 32))};
}

// Lanes may carry different twiddles: load 8 consecutive entries through idx.
ENCMOL_AVX512 inline Tw gather_tw(const std::uint64_t* w, const std::uint64_t* ws, __m512i idx) {
  const __m512i wv = _mm512_permutexvar_epi64(idx, _mm512_loadu_si512(w));
  const __m512i wsv = _mm512_permutexvar_epi64(idx, _mm512_loadu_si512(ws));
  return {wv, wsv, _mm512_srli_epi64(wsv, 32)};
}

// a*w mod q in [0, 2q) for any 64-bit a (Shoup).
ENCMOL_AVX512 inline __m512i mul_shoup_lazy8(__m512i a, const Tw& t, __m512i q) {
  const __m512i qh = mulhi64(a, t.ws, t.ws_hi);
  return _mm512_sub_epi64(_mm512_mullo_epi64(a, t.w), _mm512_mullo_epi64(qh, q));
}

// X, Y in [0, 4q) -> [0, 4q).
ENCMOL_AVX512 inline void ct_bf(__m512i& x, __m512i& y, const Tw& t, __m512i q, __m512i two_q) {
  x = csub(x, two_q);
  const __m512i v = mul_shoup_lazy8(y, t, q);
  y = _mm512_sub_epi64(_mm512_add_epi64(x, two_q), v);
  x = _mm512_add_epi64(x, v);
}

// X, Y in [0, 2q) -> [0, 2q).
ENCMOL_AVX512 inline void gs_bf(__m512i& x, __m512i& y, const Tw& t, __m512i q, __m512i two_q) {
  const __m512i u = csub(_mm512_add_epi64(x, y), two_q);
  const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(x, two_q), y);
  x = u;
  y = mul_shoup_lazy8(d, t, q);
}

}  // namespace

ENCMOL_AVX512 void ntt_forward_avx512(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t qs = t.modulus().value();
  const std::uint64_t* w = t.root_powers();
  const std::uint64_t* ws = t.root_shoup();
  const __m512i q = _mm512_set1_epi64(static_cast<long long>(qs));
  const __m512i two_q = _mm512_set1_epi64(static_cast<long long>(2 * qs));
  std::size_t m = 1, gap = n >> 1;
  // Pairs of stages per pass while the inner gap stays >= 8, then one
  // radix-2 stage if needed, then gaps 4, 2, 1 inside 16-element blocks.
  for (; gap >= 16; m <<= 2, gap >>= 2) {
    const std::size_t h = gap >> 1;
    for (std::size_t i = 0; i < m; ++i) {
      const Tw t0 = broadcast_tw(w[m + i], ws[m + i]);
      const Tw t1 = broadcast_tw(w[2 * m + 2 * i], ws[2 * m + 2 * i]);
      const Tw t2 = broadcast_tw(w[2 * m + 2 * i + 1], ws[2 * m + 2 * i + 1]);
      std::uint64_t* p0 = a + 2 * i * gap;
      std::uint64_t* p1 = p0 + h;
      std::uint64_t* p2 = p0 + gap;
      std::uint64_t* p3 = p2 + h;
      for (std::size_t j = 0; j < h; j += 8) {
        __m512i x0 = _mm512_loadu_si512(p0 + j), x1 = _mm512_loadu_si512(p1 + j);
        __m512i x2 = _mm512_loadu_si512(p2 + j), x3 = _mm512_loadu_si512(p3 + j);
        ct_bf(x0, x2, t0, q, two_q);
        ct_bf(x1, x3, t0, q, two_q);
        ct_bf(x0, x1, t1, q, two_q);
        ct_bf(x2, x3, t2, q, two_q);
        _mm512_storeu_si512(p0 + j, x0);
        _mm512_storeu_si512(p1 + j, x1);
        _mm512_storeu_si512(p2 + j, x2);
        _mm512_storeu_si512(p3 + j, x3);
      }
    }
  }
  for (; gap >= 8; m <<= 1, gap >>= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const Tw tw = broadcast_tw(w[m + i], ws[m + i]);
      std::uint64_t* x = a + 2 * i * gap;
      std::uint64_t* y = x + gap;
      for (std::size_t j = 0; j < gap; j += 8) {
        __m512i xv = _mm512_loadu_si512(x + j), yv = _mm512_loadu_si512(y + j);
        ct_bf(xv, yv, tw, q, two_q);
        _mm512_storeu_si512(x + j, xv);
        _mm512_storeu_si512(y + j, yv);
      }
    }
  }
  // In-register stages; layouts as in the IFMA kernel (X of gap 4: elements
  // {0..3, 8..11}; of gap 2: {0,1,4,5,8,9,12,13}; of gap 1: {0,8,2,10,...}).
  const __m512i i4 = _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0);
  const __m512i i2 = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i i1 = _mm512_set_epi64(7, 3, 6, 2, 5, 1, 4, 0);
  const __m512i f2x = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
  const __m512i f2y = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
  const __m512i f1x = _mm512_set_epi64(14, 10, 6, 2, 12, 8, 4, 0);
  const __m512i f1y = _mm512_set_epi64(15, 11, 7, 3, 13, 9, 5, 1);
  const std::size_t m4 = n >> 3, m2 = n >> 2, m1 = n >> 1;
  for (std::size_t b = 0; b < n / 16; ++b) {
    std::uint64_t* p = a + 16 * b;
    const __m512i v0 = _mm512_loadu_si512(p);
    const __m512i v1 = _mm512_loadu_si512(p + 8);
    __m512i x = _mm512_shuffle_i64x2(v0, v1, 0x44);
    __m512i y = _mm512_shuffle_i64x2(v0, v1, 0xEE);
    // Masked loads read only the 2 (gap 4) or 4 (gap 2) entries the block uses.
    const __m512i w4 = _mm512_permutexvar_epi64(i4, _mm512_maskz_loadu_epi64(0x3, w + m4 + 2 * b));
    const __m512i ws4 = _mm512_permutexvar_epi64(i4, _mm512_maskz_loadu_epi64(0x3, ws + m4 + 2 * b));
    ct_bf(x, y, Tw{w4, ws4, _mm512_srli_epi64(ws4, 32)}, q, two_q);
    __m512i nx = _mm512_permutex2var_epi64(x, f2x, y);
    __m512i ny = _mm512_permutex2var_epi64(x, f2y, y);
    const __m512i w2 = _mm512_permutexvar_epi64(i2, _mm512_maskz_loadu_epi64(0xF, w + m2 + 4 * b));
    const __m512i ws2 = _mm512_permutexvar_epi64(i2, _mm512_maskz_loadu_epi64(0xF, ws + m2 + 4 * b));
    ct_bf(nx, ny, Tw{w2, ws2, _mm512_srli_epi64(ws2, 32)}, q, two_q);
    x = _mm512_permutex2var_epi64(nx, f1x, ny);
    y = _mm512_permutex2var_epi64(nx, f1y, ny);
    ct_bf(x, y, gather_tw(w + m1 + 8 * b, ws + m1 + 8 * b, i1), q, two_q);
    x = csub(csub(x, two_q), q);
    y = csub(csub(y, two_q), q);
    _mm512_storeu_si512(p, _mm512_unpacklo_epi64(x, y));
    _mm512_storeu_si512(p + 8, _mm512_unpackhi_epi64(x, y));
  }
}

ENCMOL_AVX512 void ntt_inverse_avx512(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t qs = t.modulus().value();
  const std::uint64_t* w = t.inv_root_powers();
  const std::uint64_t* ws = t.inv_root_shoup();
  const __m512i q = _mm512_set1_epi64(static_cast<long long>(qs));
  const __m512i two_q = _mm512_set1_epi64(static_cast<long long>(2 * qs));
  const __m512i i4 = _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0);
  const __m512i i2 = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i i1 = _mm512_set_epi64(7, 3, 6, 2, 5, 1, 4, 0);
  const __m512i g2x = _mm512_set_epi64(13, 5, 9, 1, 12, 4, 8, 0);
  const __m512i g2y = _mm512_set_epi64(15, 7, 11, 3, 14, 6, 10, 2);
  const __m512i g4x = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
  const __m512i g4y = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
  const std::size_t m4 = n >> 3, m2 = n >> 2, m1 = n >> 1;
  for (std::size_t b = 0; b < n / 16; ++b) {
    std::uint64_t* p = a + 16 * b;
    const __m512i v0 = _mm512_loadu_si512(p);
    const __m512i v1 = _mm512_loadu_si512(p + 8);
    __m512i x = _mm512_unpacklo_epi64(v0, v1);
    __m512i y = _mm512_unpackhi_epi64(v0, v1);
    gs_bf(x, y, gather_tw(w + m1 + 8 * b, ws + m1 + 8 * b, i1), q, two_q);
    __m512i nx = _mm512_permutex2var_epi64(x, g2x, y);
    __m512i ny = _mm512_permutex2var_epi64(x, g2y, y);
    const __m512i w2 = _mm512_permutexvar_epi64(i2, _mm512_maskz_loadu_epi64(0xF, w + m2 + 4 * b));
    const __m512i ws2 = _mm512_permutexvar_epi64(i2, _mm512_maskz_loadu_epi64(0xF, ws + m2 + 4 * b));
    gs_bf(nx, ny, Tw{w2, ws2, _mm512_srli_epi64(ws2, 32)}, q, two_q);
    x = _mm512_permutex2var_epi64(nx, g4x, ny);
    y = _mm512_permutex2var_epi64(nx, g4y, ny);
    const __m512i w4 = _mm512_permutexvar_epi64(i4, _mm512_maskz_loadu_epi64(0x3, w + m4 + 2 * b));
    const __m512i ws4 = _mm512_permutexvar_epi64(i4, _mm512_maskz_loadu_epi64(0x3, ws + m4 + 2 * b));
    gs_bf(x, y, Tw{w4, ws4, _mm512_srli_epi64(ws4, 32)}, q, two_q);
    _mm512_storeu_si512(p, _mm512_shuffle_i64x2(x, y, 0x44));
    _mm512_storeu_si512(p + 8, _mm512_shuffle_i64x2(x, y, 0xEE));
  }
  std::size_t m = n >> 4, gap = 8;
  for (; m >= 4; m >>= 2, gap <<= 2) {
    const std::size_t mh = m >> 1;
    for (std::size_t i = 0; i < mh; ++i) {
      const Tw t1 = broadcast_tw(w[m + 2 * i], ws[m + 2 * i]);
      const Tw t2 = broadcast_tw(w[m + 2 * i + 1], ws[m + 2 * i + 1]);
      const Tw t0 = broadcast_tw(w[mh + i], ws[mh + i]);
      std::uint64_t* p0 = a + 4 * i * gap;
      std::uint64_t* p1 = p0 + gap;
      std::uint64_t* p2 = p1 + gap;
      std::uint64_t* p3 = p2 + gap;
      for (std::size_t j = 0; j < gap; j += 8) {
        __m512i x0 = _mm512_loadu_si512(p0 + j), x1 = _mm512_loadu_si512(p1 + j);
        __m512i x2 = _mm512_loadu_si512(p2 + j), x3 = _mm512_loadu_si512(p3 + j);
        gs_bf(x0, x1, t1, q, two_q);
        gs_bf(x2, x3, t2, q, two_q);
        gs_bf(x0, x2, t0, q, two_q);
        gs_bf(x1, x3, t0, q, two_q);
        _mm512_storeu_si512(p0 + j, x0);
        _mm512_storeu_si512(p1 + j, x1);
        _mm512_storeu_si512(p2 + j, x2);
        _mm512_storeu_si512(p3 + j, x3);
      }
    }
  }
  for (; m >= 2; m >>= 1, gap <<= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const Tw tw = broadcast_tw(w[m + i], ws[m + i]);
      std::uint64_t* x = a + 2 * i * gap;
      std::uint64_t* y = x + gap;
      for (std::size_t j = 0; j < gap; j += 8) {
        __m512i xv = _mm512_loadu_si512(x + j), yv = _mm512_loadu_si512(y + j);
        gs_bf(xv, yv, tw, q, two_q);
        _mm512_storeu_si512(x + j, xv);
        _mm512_storeu_si512(y + j, yv);
      }
    }
  }
  // Last stage (gap = n/2) with n^-1 folded in, and the final correction.
  const Tw ni = broadcast_tw(t.n_inv(), t.n_inv_shoup());
  const Tw nw = broadcast_tw(t.n_inv_w(), t.n_inv_w_shoup());
  std::uint64_t* x = a;
  std::uint64_t* y = a + gap;
  for (std::size_t j = 0; j < gap; j += 8) {
    const __m512i xv = _mm512_loadu_si512(x + j), yv = _mm512_loadu_si512(y + j);
    const __m512i u = _mm512_add_epi64(xv, yv);
    const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(xv, two_q), yv);
    _mm512_storeu_si512(x + j, csub(mul_shoup_lazy8(u, ni, q), q));
    _mm512_storeu_si512(y + j, csub(mul_shoup_lazy8(d, nw, q), q));
  }
}

ENCMOL_AVX512 void mul_mod_avx512(const std::uint64_t* a, const std::uint64_t* b,
                                  std::uint64_t* out, std::size_t n, const Modulus& q,
                                  bool accumulate) {
  // Barrett as Modulus::reduce_product: x = a*b (+ acc) < 2^(2k), top =
  // floor(x / 2^(k-1)), qhat = floor(top * mu / 2^(k+1)) (at most 2 short).
  const int k = q.bits();
  const std::uint64_t qs = q.value();
  const std::uint64_t mu = static_cast<std::uint64_t>((static_cast<u128>(1) << (2 * k)) / qs);
  const __m512i qv = _mm512_set1_epi64(static_cast<long long>(qs));
  const __m512i muv = _mm512_set1_epi64(static_cast<long long>(mu));
  const __m512i mu_hi = _mm512_set1_epi64(static_cast<long long>(mu >> 32));
  const __m128i sh_a = _mm_cvtsi64_si128(65 - k), sh_b = _mm_cvtsi64_si128(k - 1);
  const __m128i sh_c = _mm_cvtsi64_si128(63 - k), sh_d = _mm_cvtsi64_si128(k + 1);
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512i av = _mm512_loadu_si512(a + j);
    const __m512i bv = _mm512_loadu_si512(b + j);
    __m512i lo = _mm512_mullo_epi64(av, bv);
    __m512i hi = mulhi64(av, bv, _mm512_srli_epi64(bv, 32));
    if (accumulate) {
      const __m512i c = _mm512_loadu_si512(out + j);
      const __m512i s = _mm512_add_epi64(lo, c);
      // carry when the unsigned sum wrapped
      hi = _mm512_mask_add_epi64(hi, _mm512_cmplt_epu64_mask(s, lo), hi, _mm512_set1_epi64(1));
      lo = s;
    }
    const __m512i top = _mm512_or_si512(_mm512_sll_epi64(hi, sh_a), _mm512_srl_epi64(lo, sh_b));
    const __m512i ph = mulhi64(top, muv, mu_hi);
    const __m512i pl = _mm512_mullo_epi64(top, muv);
    const __m512i qhat = _mm512_or_si512(_mm512_sll_epi64(ph, sh_c), _mm512_srl_epi64(pl, sh_d));
    __m512i r = _mm512_sub_epi64(lo, _mm512_mullo_epi64(qhat, qv));  // < 3q
    r = csub(csub(r, qv), qv);
    _mm512_storeu_si512(out + j, r);
  }
  const Modulus m = q;
  for (; j < n; ++j) {
    const u128 x = static_cast<u128>(a[j]) * b[j] + (accumulate ? out[j] : 0);
    out[j] = m.reduce_product(x);
  }
}

ENCMOL_AVX512 void mul_scalar_avx512(const std::uint64_t* a, std::uint64_t w, std::uint64_t* out,
                                     std::size_t n, const Modulus& q) {
  const std::uint64_t qs = q.value();
  const std::uint64_t ws = shoup_precompute(w, qs);
  const Tw t = broadcast_tw(w, ws);
  const __m512i qv = _mm512_set1_epi64(static_cast<long long>(qs));
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512i r = mul_shoup_lazy8(_mm512_loadu_si512(a + j), t, qv);
    _mm512_storeu_si512(out + j, csub(r, qv));
  }
  for (; j < n; ++j) out[j] = mul_shoup(a[j], w, ws, qs);
}

}  // namespace encmol::math::detail
