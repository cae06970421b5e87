// AVX-512 IFMA kernels (vpmadd52luq / vpmadd52huq): residues live in 52-bit
// lanes, so every modulus here is below 2^50 and lazy values below F*q <= 2^52
// (F = 4, or 8 / 16 for moduli below 2^49 / 2^48 in the forward NTT).
// Compiled with a target attribute so the library needs no global -mavx512
// flags; callers check cpu_supports(SimdPath::Avx512Ifma) first.
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized through their internal
// _mm512_undefined_* placeholders (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "encmol/math/ntt.hpp"
#include "encmol/math/simd_kernels.hpp"

#define ENCMOL_IFMA __attribute__((target("avx512f,avx512ifma,avx512vl,avx512dq")))

namespace encmol::math::detail {

namespace {

constexpr std::uint64_t kMask52 = (std::uint64_t{1} << 52) - 1;

// A fresh zero accumulator per product (IFMA overwrites its accumulator): a
// zeroing idiom, resolved at register rename, instead of letting the compiler
// copy one shared zero register.
ENCMOL_IFMA inline __m512i fresh_zero() {
  __m512i z;
  __asm__ volatile("vpxord %0, %0, %0" : "=v"(z));
  return z;
}

ENCMOL_IFMA inline __m512i csub(__m512i x, __m512i m) {
  // x - m if x >= m else x (values far below 2^63, so the wrap-around of
  // x - m is a huge unsigned number and min picks x).
  return _mm512_min_epu64(x, _mm512_sub_epi64(x, m));
}

// a*w mod q in [0, 2q) for a < 2^52, ws = floor(w*2^52/q), negq = 2^52 - q.
ENCMOL_IFMA inline __m512i mul_shoup52(__m512i a, __m512i w, __m512i ws, __m512i negq,
                                       __m512i mask) {
  const __m512i qh = _mm512_madd52hi_epu64(fresh_zero(), a, ws);
  __m512i t = _mm512_madd52lo_epu64(fresh_zero(), a, w);
  t = _mm512_madd52lo_epu64(t, qh, negq);
  return _mm512_and_si512(t, mask);
}

struct FwdConsts {
  __m512i two_q, negq, mask;
  __m512i red;  // forward: what a lazy reduction subtracts, (F/2)*q (see ntt_forward_ifma)
};

// Cooley–Tukey butterfly on lazy values, T = Y*W mod q in [0, 2q):
// X' = X + T, Y' = X + 2q - T, all below F*q. X' = X + T is formed by accumulating the two 52-bit product halves onto X
// (then masked: X + T < 2^52), and Y' = (2X + 2q) - X', which saves the
// separate computation of T. With kMaskX = false, X' is
// left unmasked (bits >= 52 may hold a carry): allowed only when both outputs
// are next used purely as multiplicands, whose bits >= 52 IFMA ignores.
// kReduce: first bring X down by (F/2)*q (the forward transform decides per
// stage whether the headroom below 2^52 still allows skipping that).
template <bool kMaskX = true, bool kReduce = true>
ENCMOL_IFMA inline void ct_butterfly(__m512i& x, __m512i& y, __m512i w, __m512i ws,
                                     const FwdConsts& c) {
  if constexpr (kReduce) x = csub(x, c.red);
  const __m512i qh = _mm512_madd52hi_epu64(fresh_zero(), y, ws);
  const __m512i x2 = _mm512_add_epi64(_mm512_add_epi64(x, x), c.two_q);
  __m512i p = _mm512_madd52lo_epu64(x, y, w);                     // X + lo(YW)
  p = _mm512_madd52lo_epu64(p, qh, c.negq);                       // X + T (+2^52)
  if constexpr (kMaskX) p = _mm512_and_si512(p, c.mask);
  y = _mm512_sub_epi64(x2, p);
  x = p;
}

// Gentleman–Sande butterfly: X, Y in [0, 2q) -> [0, 2q).
ENCMOL_IFMA inline void gs_butterfly(__m512i& x, __m512i& y, __m512i w, __m512i ws,
                                     const FwdConsts& c) {
  const __m512i u = csub(_mm512_add_epi64(x, y), c.two_q);
  const __m512i v = _mm512_sub_epi64(_mm512_add_epi64(x, c.two_q), y);
  x = u;
  y = mul_shoup52(v, w, ws, c.negq, c.mask);
}

// Twiddles for the three in-register stages of a 16-element block. The X
// vector of stage gap=4 holds elements {0..3, 8..11}, of gap=2 {0,1,4,5,8,9,
// 12,13}, of gap=1 {0,8,2,10,4,12,6,14}; these index vectors pick each lane's
// group twiddle out of the block's consecutive twiddles.
ENCMOL_IFMA inline __m512i tw4(const std::uint64_t* p) {
  const __m512i idx = _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0);
  return _mm512_permutexvar_epi64(idx, _mm512_castsi128_si512(_mm_loadu_si128(
                                           reinterpret_cast<const __m128i*>(p))));
}
ENCMOL_IFMA inline __m512i tw2(const std::uint64_t* p) {
  const __m512i idx = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
  return _mm512_permutexvar_epi64(idx, _mm512_castsi256_si512(_mm256_loadu_si256(
                                           reinterpret_cast<const __m256i*>(p))));
}
ENCMOL_IFMA inline __m512i tw1(const std::uint64_t* p) {
  const __m512i idx = _mm512_set_epi64(7, 3, 6, 2, 5, 1, 4, 0);
  return _mm512_permutexvar_epi64(idx, _mm512_loadu_si512(p));
}

// K consecutive forward stages (radix 2^K) in registers: first stage m with
// gap `gap`, then 2m, ..., each pass reading and writing the array once
// (fewer loads and stores; measured, the kernel is bound by its vector
// instruction count rather than by cache bandwidth up to N = 2^16).
template <int K, unsigned kRed>
ENCMOL_IFMA void ct_pass(std::uint64_t* a, std::size_t m, std::size_t gap, const std::uint64_t* w,
                         const std::uint64_t* ws, const FwdConsts& c) {
  constexpr int R = 1 << K;
  const std::size_t sub = gap >> (K - 1);  // gap of the last stage in this pass
  for (std::size_t i = 0; i < m; ++i) {
    __m512i tw[R - 1], tws[R - 1];  // stage s uses entries [2^s - 1, 2^(s+1) - 1)
#pragma GCC unroll 8
    for (int s = 0; s < K; ++s) {
#pragma GCC unroll 8
      for (int g = 0; g < (1 << s); ++g) {
        const std::size_t idx = (m << s) + (i << s) + static_cast<std::size_t>(g);
        tw[(1 << s) - 1 + g] = _mm512_set1_epi64(static_cast<long long>(w[idx]));
        tws[(1 << s) - 1 + g] = _mm512_set1_epi64(static_cast<long long>(ws[idx]));
      }
    }
    std::uint64_t* base = a + 2 * i * gap;
    for (std::size_t j = 0; j < sub; j += 8) {
      __m512i v[R];
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) v[k] = _mm512_loadu_si512(base + k * sub + j);
#pragma GCC unroll 8
      for (int s = 0; s < K; ++s) {
        const int h = R >> (s + 1);
        constexpr unsigned one = 1;
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k) {
          if ((k & h) != 0) continue;
          const int t = (1 << s) - 1 + k / (2 * h);
          // Outputs that the next stage of this pass uses only as
          // multiplicands may keep a carry above bit 52.
          const bool unmasked = s < K - 1 && (k & (h >> 1)) != 0;
          if (((kRed >> s) & one) != 0) {
            if (unmasked) {
              ct_butterfly<false, true>(v[k], v[k + h], tw[t], tws[t], c);
            } else {
              ct_butterfly<true, true>(v[k], v[k + h], tw[t], tws[t], c);
            }
          } else {
            if (unmasked) {
              ct_butterfly<false, false>(v[k], v[k + h], tw[t], tws[t], c);
            } else {
              ct_butterfly<true, false>(v[k], v[k + h], tw[t], tws[t], c);
            }
          }
        }
      }
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) _mm512_storeu_si512(base + k * sub + j, v[k]);
    }
  }
}

// The last three forward stages (gaps 4, 2, 1) in 16-element blocks, then the
// correction from [0, F*q) to [0, q) by csubs of fin[0..nfin).
template <unsigned kRed>
ENCMOL_IFMA void ct_block(std::uint64_t* a, std::size_t n, const std::uint64_t* w,
                          const std::uint64_t* ws, const FwdConsts& c,
                          const std::uint64_t* fin_values, int nfin) {
  __m512i fin[4];
  for (int k = 0; k < nfin; ++k) fin[k] = _mm512_set1_epi64(static_cast<long long>(fin_values[k]));
  const __m512i f2x = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
  const __m512i f2y = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
  const __m512i f1x = _mm512_set_epi64(14, 10, 6, 2, 12, 8, 4, 0);
  const __m512i f1y = _mm512_set_epi64(15, 11, 7, 3, 13, 9, 5, 1);
  const std::size_t m4 = n >> 3, m2 = n >> 2, m1 = n >> 1;
  for (std::size_t b = 0; b < n / 16; ++b) {
    std::uint64_t* p = a + 16 * b;
    const __m512i v0 = _mm512_loadu_si512(p);
    const __m512i v1 = _mm512_loadu_si512(p + 8);
    // gap 4: X = elements {0..3, 8..11}, Y = {4..7, 12..15}
    __m512i x = _mm512_shuffle_i64x2(v0, v1, 0x44);
    __m512i y = _mm512_shuffle_i64x2(v0, v1, 0xEE);
    ct_butterfly<true, (kRed & 1u) != 0>(x, y, tw4(w + m4 + 2 * b), tw4(ws + m4 + 2 * b), c);
    // gap 2: X = {0,1,4,5,8,9,12,13}, Y = {2,3,6,7,10,11,14,15}
    __m512i nx = _mm512_permutex2var_epi64(x, f2x, y);
    __m512i ny = _mm512_permutex2var_epi64(x, f2y, y);
    ct_butterfly<true, (kRed & 2u) != 0>(nx, ny, tw2(w + m2 + 4 * b), tw2(ws + m2 + 4 * b), c);
    // gap 1: X = {0,8,2,10,4,12,6,14}, Y = X + 1
    x = _mm512_permutex2var_epi64(nx, f1x, ny);
    y = _mm512_permutex2var_epi64(nx, f1y, ny);
    ct_butterfly<true, (kRed & 4u) != 0>(x, y, tw1(w + m1 + 8 * b), tw1(ws + m1 + 8 * b), c);
    for (int k = 0; k < nfin; ++k) {
      x = csub(x, fin[k]);
      y = csub(y, fin[k]);
    }
    _mm512_storeu_si512(p, _mm512_unpacklo_epi64(x, y));
    _mm512_storeu_si512(p + 8, _mm512_unpackhi_epi64(x, y));
  }
}

using CtPassFn = void (*)(std::uint64_t*, std::size_t, std::size_t, const std::uint64_t*,
                          const std::uint64_t*, const FwdConsts&);
using CtBlockFn = void (*)(std::uint64_t*, std::size_t, const std::uint64_t*, const std::uint64_t*,
                           const FwdConsts&, const std::uint64_t*, int);

template <int K, unsigned... M>
constexpr std::array<CtPassFn, sizeof...(M)> ct_pass_table(std::integer_sequence<unsigned, M...>) {
  return {&ct_pass<K, M>...};
}
template <unsigned... M>
constexpr std::array<CtBlockFn, sizeof...(M)> ct_block_table(std::integer_sequence<unsigned, M...>) {
  return {&ct_block<M>...};
}

struct LastConsts {
  __m512i q, ni, nis, nw, nws;
};

// K consecutive inverse stages m, m/2, ..., m/2^(K-1) (gaps gap, 2gap, ...).
// kLast: the final one is the m = 1 stage, with n^-1 folded in and the result
// corrected to [0, q).
template <int K, bool kLast>
ENCMOL_IFMA void gs_pass(std::uint64_t* a, std::size_t m, std::size_t gap, const std::uint64_t* w,
                         const std::uint64_t* ws, const FwdConsts& c, const LastConsts& lc) {
  constexpr int R = 1 << K;
  const std::size_t top = m >> (K - 1);  // groups of the last stage in this pass
  for (std::size_t i = 0; i < top; ++i) {
    __m512i tw[R - 1], tws[R - 1];  // stage s: R >> (s+1) twiddles at offset R - (R >> s)
#pragma GCC unroll 8
    for (int s = 0; s < K; ++s) {
      const int cnt = R >> (s + 1);
#pragma GCC unroll 8
      for (int g = 0; g < cnt; ++g) {
        const std::size_t idx = (m >> s) + i * static_cast<std::size_t>(cnt) +
                                static_cast<std::size_t>(g);
        tw[R - (R >> s) + g] = _mm512_set1_epi64(static_cast<long long>(w[idx]));
        tws[R - (R >> s) + g] = _mm512_set1_epi64(static_cast<long long>(ws[idx]));
      }
    }
    std::uint64_t* base = a + static_cast<std::size_t>(R) * i * gap;
    for (std::size_t j = 0; j < gap; j += 8) {
      __m512i v[R];
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) v[k] = _mm512_loadu_si512(base + k * gap + j);
#pragma GCC unroll 8
      for (int s = 0; s < K; ++s) {
        const int h = 1 << s;
#pragma GCC unroll 8
        for (int k = 0; k < R; ++k) {
          if ((k & h) != 0) continue;
          if (kLast && s == K - 1) {
            const __m512i u = _mm512_add_epi64(v[k], v[k + h]);
            const __m512i d = _mm512_sub_epi64(_mm512_add_epi64(v[k], c.two_q), v[k + h]);
            v[k] = csub(mul_shoup52(u, lc.ni, lc.nis, c.negq, c.mask), lc.q);
            v[k + h] = csub(mul_shoup52(d, lc.nw, lc.nws, c.negq, c.mask), lc.q);
          } else {
            const int t = R - (R >> s) + k / (2 * h);
            gs_butterfly(v[k], v[k + h], tw[t], tws[t], c);
          }
        }
      }
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) _mm512_storeu_si512(base + k * gap + j, v[k]);
    }
  }
}

}  // namespace

ENCMOL_IFMA void ntt_forward_ifma(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t q = t.modulus().value();
  const std::uint64_t* w = t.root_powers();
  const std::uint64_t* ws = t.ifma_data().data();
  // Lazy bound F: every value stays below F*q <= 2^52 (F = 4, 8 or 16 for q
  // below 2^50, 2^49, 2^48). A butterfly adds at most 2q to the bound of its X
  // input, so X is reduced by (F/2)*q only when its bound would otherwise pass
  // F*q: every stage for F = 4, every second for F = 8, every fourth for
  // F = 16. The reductions compete with IFMA for the same execution pipes, so
  // skipping them is a direct gain.
  const int log_f = q < (std::uint64_t{1} << 48) ? 4 : q < (std::uint64_t{1} << 49) ? 3 : 2;
  const unsigned f = 1u << log_f;
  FwdConsts c{_mm512_set1_epi64(static_cast<long long>(2 * q)),
              _mm512_set1_epi64(static_cast<long long>((std::uint64_t{1} << 52) - q)),
              _mm512_set1_epi64(static_cast<long long>(kMask52)),
              _mm512_set1_epi64(static_cast<long long>((f / 2) * q))};
  unsigned bound = 1;  // current bound of all values, in units of q
  auto plan = [&](int stages) {
    unsigned mask = 0;
    for (int s = 0; s < stages; ++s) {
      if (bound + 2 > f) {
        mask |= 1u << s;
        bound = f / 2;
      }
      bound += 2;
    }
    return mask;
  };
  static constexpr auto pass1 = ct_pass_table<1>(std::make_integer_sequence<unsigned, 2>{});
  static constexpr auto pass2 = ct_pass_table<2>(std::make_integer_sequence<unsigned, 4>{});
  static constexpr auto pass3 = ct_pass_table<3>(std::make_integer_sequence<unsigned, 8>{});
  static constexpr auto block = ct_block_table(std::make_integer_sequence<unsigned, 8>{});
  // Stages with gap >= 8 in passes of up to three stages (the first pass
  // takes the remainder so that every later pass is radix 8).
  const int outer = t.log_n() - 3;
  std::size_t m = 1, gap = n >> 1;
  const int first = outer % 3;
  if (first == 1) pass1[plan(1)](a, m, gap, w, ws, c);
  if (first == 2) pass2[plan(2)](a, m, gap, w, ws, c);
  m <<= first;
  gap >>= first;
  for (int done = first; done < outer; done += 3, m <<= 3, gap >>= 3) {
    pass3[plan(3)](a, m, gap, w, ws, c);
  }
  const unsigned block_mask = plan(3);
  // Final correction from [0, bound*q) to [0, q): subtract (F/2)q, ..., 2q, q.
  std::uint64_t fin[4];
  int nfin = 0;
  for (unsigned k = f / 2; k >= 1; k /= 2) fin[nfin++] = k * q;
  block[block_mask](a, n, w, ws, c, fin, nfin);
}

ENCMOL_IFMA void ntt_inverse_ifma(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t q = t.modulus().value();
  const std::uint64_t* w = t.inv_root_powers();
  const std::uint64_t* ws = t.ifma_data().data() + n;
  FwdConsts c{_mm512_set1_epi64(static_cast<long long>(2 * q)),
              _mm512_set1_epi64(static_cast<long long>((std::uint64_t{1} << 52) - q)),
              _mm512_set1_epi64(static_cast<long long>(kMask52)),
              _mm512_set1_epi64(static_cast<long long>(2 * q))};
  // Lane maps between consecutive in-register stages (inverse of the forward ones).
  const __m512i g2x = _mm512_set_epi64(13, 5, 9, 1, 12, 4, 8, 0);
  const __m512i g2y = _mm512_set_epi64(15, 7, 11, 3, 14, 6, 10, 2);
  const __m512i g4x = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
  const __m512i g4y = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
  const std::size_t m4 = n >> 3, m2 = n >> 2, m1 = n >> 1;
  for (std::size_t b = 0; b < n / 16; ++b) {
    std::uint64_t* p = a + 16 * b;
    const __m512i v0 = _mm512_loadu_si512(p);
    const __m512i v1 = _mm512_loadu_si512(p + 8);
    // gap 1: X = elements {0,8,2,10,4,12,6,14}, Y = X + 1
    __m512i x = _mm512_unpacklo_epi64(v0, v1);
    __m512i y = _mm512_unpackhi_epi64(v0, v1);
    gs_butterfly(x, y, tw1(w + m1 + 8 * b), tw1(ws + m1 + 8 * b), c);
    // gap 2: X = {0,1,4,5,8,9,12,13}, Y = X + 2
    __m512i nx = _mm512_permutex2var_epi64(x, g2x, y);
    __m512i ny = _mm512_permutex2var_epi64(x, g2y, y);
    gs_butterfly(nx, ny, tw2(w + m2 + 4 * b), tw2(ws + m2 + 4 * b), c);
    // gap 4: X = {0..3, 8..11}, Y = X + 4
    x = _mm512_permutex2var_epi64(nx, g4x, ny);
    y = _mm512_permutex2var_epi64(nx, g4y, ny);
    gs_butterfly(x, y, tw4(w + m4 + 2 * b), tw4(ws + m4 + 2 * b), c);
    _mm512_storeu_si512(p, _mm512_shuffle_i64x2(x, y, 0x44));
    _mm512_storeu_si512(p + 8, _mm512_shuffle_i64x2(x, y, 0xEE));
  }
  // Remaining stages (gap 8 .. n/2) in passes of up to three; the last pass
  // ends with the m = 1 stage carrying n^-1.
  const LastConsts lc{_mm512_set1_epi64(static_cast<long long>(q)),
                      _mm512_set1_epi64(static_cast<long long>(t.n_inv())),
                      _mm512_set1_epi64(static_cast<long long>(t.ifma_data()[2 * n])),
                      _mm512_set1_epi64(static_cast<long long>(t.n_inv_w())),
                      _mm512_set1_epi64(static_cast<long long>(t.ifma_data()[2 * n + 1]))};
  int left = t.log_n() - 3;
  std::size_t m = n >> 4, gap = 8;
  const int first = left > 3 ? left % 3 : 0;
  if (first == 1) gs_pass<1, false>(a, m, gap, w, ws, c, lc);
  if (first == 2) gs_pass<2, false>(a, m, gap, w, ws, c, lc);
  m >>= first;
  gap <<= first;
  left -= first;
  for (; left > 3; left -= 3, m >>= 3, gap <<= 3) gs_pass<3, false>(a, m, gap, w, ws, c, lc);
  if (left == 3) gs_pass<3, true>(a, m, gap, w, ws, c, lc);
  if (left == 2) gs_pass<2, true>(a, m, gap, w, ws, c, lc);
  if (left == 1) gs_pass<1, true>(a, m, gap, w, ws, c, lc);
}

ENCMOL_IFMA void mul_mod_ifma(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out,
                              std::size_t n, const Modulus& q, bool accumulate) {
  // Barrett on 52-bit limbs: x = a*b < q^2 < 2^(2k) (k = bits of q <= 50).
  // x' = floor(x / 2^s) < 2^52 with s = max(0, 2k-52), mu = floor(2^(s+52)/q)
  // < 2^52; qhat = floor(x' * mu / 2^52) is at most 2 below floor(x/q), so
  // x - qhat*q < 3q < 2^52 is exact in 52-bit arithmetic.
  const int k = q.bits();
  const int s = 2 * k > 52 ? 2 * k - 52 : 0;
  const std::uint64_t qq = q.value();
  const std::uint64_t mu = static_cast<std::uint64_t>((static_cast<u128>(1) << (s + 52)) / qq);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i qv = _mm512_set1_epi64(static_cast<long long>(qq));
  const __m512i negq = _mm512_set1_epi64(static_cast<long long>((std::uint64_t{1} << 52) - qq));
  const __m512i muv = _mm512_set1_epi64(static_cast<long long>(mu));
  const __m512i mask = _mm512_set1_epi64(static_cast<long long>(kMask52));
  const __m512i sh_hi = _mm512_set1_epi64(52 - s);
  const __m512i sh_lo = _mm512_set1_epi64(s);
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512i av = _mm512_loadu_si512(a + j);
    const __m512i bv = _mm512_loadu_si512(b + j);
    const __m512i lo = _mm512_madd52lo_epu64(zero, av, bv);
    const __m512i hi = _mm512_madd52hi_epu64(zero, av, bv);
    const __m512i xs = _mm512_or_si512(_mm512_sllv_epi64(hi, sh_hi), _mm512_srlv_epi64(lo, sh_lo));
    const __m512i qh = _mm512_madd52hi_epu64(zero, _mm512_and_si512(xs, mask), muv);
    __m512i r = _mm512_and_si512(_mm512_madd52lo_epu64(lo, qh, negq), mask);
    r = csub(csub(r, qv), qv);
    if (accumulate) {
      r = csub(_mm512_add_epi64(r, _mm512_loadu_si512(out + j)), qv);
    }
    _mm512_storeu_si512(out + j, r);
  }
  for (; j < n; ++j) {
    const std::uint64_t r = q.mul(a[j], b[j]);
    out[j] = accumulate ? q.add(out[j], r) : r;
  }
}

ENCMOL_IFMA void mul_scalar_ifma(const std::uint64_t* a, std::uint64_t w, std::uint64_t* out,
                                 std::size_t n, const Modulus& q) {
  const std::uint64_t qq = q.value();
  const __m512i qv = _mm512_set1_epi64(static_cast<long long>(qq));
  const __m512i negq = _mm512_set1_epi64(static_cast<long long>((std::uint64_t{1} << 52) - qq));
  const __m512i mask = _mm512_set1_epi64(static_cast<long long>(kMask52));
  const __m512i wv = _mm512_set1_epi64(static_cast<long long>(w));
  const __m512i wsv = _mm512_set1_epi64(static_cast<long long>(shoup_precompute52(w, qq)));
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512i r = mul_shoup52(_mm512_loadu_si512(a + j), wv, wsv, negq, mask);
    _mm512_storeu_si512(out + j, csub(r, qv));
  }
  const std::uint64_t ws64 = shoup_precompute(w, qq);
  for (; j < n; ++j) out[j] = mul_shoup(a[j], w, ws64, qq);
}

ENCMOL_IFMA void base_convert_ifma(const std::uint64_t* y, std::size_t y_stride,
                                   std::size_t from_size, const std::uint64_t* c,
                                   const Modulus* to, std::size_t to_size, std::uint64_t* out,
                                   std::size_t n) {
  // Sum of up to 16 products y*c (each < 2^100) split as hi*2^52 + lo with
  // hi < 2^52 after carrying lo's top bits: hi*2^52 and lo are then reduced
  // by 52-bit Shoup multiplications by (2^52 mod p) and by 1.
  // Loop order: 8 coefficients at a time, all target moduli for them, so the
  // from_size input vectors stay in L1 while every output limb is produced.
  constexpr std::size_t kChunk = 16;
  struct PerTarget {
    std::uint64_t p, two_p, negp, r52, r52s, ones;
  };
  std::vector<PerTarget> pt(to_size);
  for (std::size_t k = 0; k < to_size; ++k) {
    const std::uint64_t p = to[k].value();
    const std::uint64_t r52 = (std::uint64_t{1} << 52) % p;
    pt[k] = {p, 2 * p, (std::uint64_t{1} << 52) - p, r52, shoup_precompute52(r52, p),
             shoup_precompute52(1 % p, p)};
  }
  const __m512i mask = _mm512_set1_epi64(static_cast<long long>(kMask52));
  const __m512i zero = _mm512_setzero_si512();
  for (std::size_t j = 0; j < n; j += 8) {
    for (std::size_t k = 0; k < to_size; ++k) {
      const PerTarget& t = pt[k];
      const std::uint64_t* ck = c + k * from_size;
      const __m512i pv = _mm512_set1_epi64(static_cast<long long>(t.p));
      const __m512i negp = _mm512_set1_epi64(static_cast<long long>(t.negp));
      __m512i sum = zero;
      for (std::size_t i0 = 0; i0 < from_size; i0 += kChunk) {
        const std::size_t i1 = i0 + kChunk < from_size ? i0 + kChunk : from_size;
        __m512i lo = zero, hi = zero;
        for (std::size_t i = i0; i < i1; ++i) {
          const __m512i yv = _mm512_loadu_si512(y + i * y_stride + j);
          const __m512i cv = _mm512_set1_epi64(static_cast<long long>(ck[i]));
          lo = _mm512_madd52lo_epu64(lo, yv, cv);
          hi = _mm512_madd52hi_epu64(hi, yv, cv);
        }
        hi = _mm512_add_epi64(hi, _mm512_srli_epi64(lo, 52));
        lo = _mm512_and_si512(lo, mask);
        // hi*2^52 + lo ≡ hi*r52 + lo; the two Shoup quotients are summed so a
        // single correction hi*r52 + lo - (qh1 + qh2)*p in [0, 4p) remains.
        __m512i qh = _mm512_madd52hi_epu64(
            zero, hi, _mm512_set1_epi64(static_cast<long long>(t.r52s)));
        qh = _mm512_madd52hi_epu64(qh, lo, _mm512_set1_epi64(static_cast<long long>(t.ones)));
        __m512i r = _mm512_madd52lo_epu64(lo, hi, _mm512_set1_epi64(static_cast<long long>(t.r52)));
        r = _mm512_and_si512(_mm512_madd52lo_epu64(r, qh, negp), mask);
        r = csub(csub(r, _mm512_set1_epi64(static_cast<long long>(t.two_p))), pv);
        sum = i0 == 0 ? r : csub(_mm512_add_epi64(sum, r), pv);
      }
      _mm512_storeu_si512(out + k * n + j, sum);
    }
  }
}

}  // namespace encmol::math::detail
