#include "encmol/math/ntt.hpp"

#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "encmol/core/error.hpp"
#include "encmol/math/primes.hpp"
#include "encmol/math/simd_kernels.hpp"

namespace encmol::math {

namespace {

bool os_saves_zmm() {
  // OSXSAVE + XCR0 must enable SSE, AVX and the three AVX-512 state components.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  if ((ecx & (1u << 27)) == 0) return false;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xE6u) == 0xE6u;
}

bool detect_ifma() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl") ||
      !__builtin_cpu_supports("avx512dq")) {
    return false;
  }
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool ifma = (ebx & (1u << 21)) != 0;
  return ifma && os_saves_zmm();
}

bool detect_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && os_saves_zmm();
}

bool detect_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}

SimdPath best_supported() {
  if (cpu_supports(SimdPath::Avx512Ifma)) return SimdPath::Avx512Ifma;
  if (cpu_supports(SimdPath::Avx512)) return SimdPath::Avx512;
  if (cpu_supports(SimdPath::Avx2)) return SimdPath::Avx2;
  return SimdPath::Portable;
}

}  // namespace

const char* to_string(SimdPath path) {
  switch (path) {
    case SimdPath::Portable: return "portable";
    case SimdPath::Avx2: return "avx2";
    case SimdPath::Avx512Ifma: return "avx512ifma";
    case SimdPath::Avx512: return "avx512";
  }
  return "unknown";
}

SimdPath simd_path_from_string(const char* name) {
  const std::string s = name == nullptr ? "" : name;
  if (s == "portable") return SimdPath::Portable;
  if (s == "avx2") return SimdPath::Avx2;
  if (s == "avx512ifma") return SimdPath::Avx512Ifma;
  if (s == "avx512") return SimdPath::Avx512;
  throw ParameterError("unknown SIMD path '" + s + "': use portable, avx2, avx512 or avx512ifma");
}

bool cpu_supports(SimdPath path) {
  static const bool avx2 = detect_avx2();
  static const bool ifma = detect_ifma();
  static const bool avx512 = detect_avx512();
  switch (path) {
    case SimdPath::Portable: return true;
    case SimdPath::Avx2: return avx2;
    case SimdPath::Avx512Ifma: return ifma;
    case SimdPath::Avx512: return avx512;
  }
  return false;
}

SimdPath default_simd_path() {
  static const SimdPath path = [] {
    const char* env = std::getenv("ENCMOL_SIMD");
    if (env != nullptr && *env != '\0') {
      try {
        const SimdPath p = simd_path_from_string(env);
        if (cpu_supports(p)) return p;
      } catch (const ParameterError&) {
        // An unknown value is ignored: the best path is always correct.
      }
    }
    return best_supported();
  }();
  return path;
}

SimdPath effective_simd_path(SimdPath requested, std::uint64_t q) {
  if (requested == SimdPath::Avx512Ifma && (q >= kIfmaModulusBound || !cpu_supports(requested))) {
    requested = SimdPath::Avx512;
  }
  // Measured: the vector NTTs with emulated 64-bit products beat scalar mulx,
  // so the fallbacks go AVX-512 -> AVX2 -> portable.
  if (requested == SimdPath::Avx512 && !cpu_supports(requested)) requested = SimdPath::Avx2;
  if (requested == SimdPath::Avx2 && !cpu_supports(requested)) requested = SimdPath::Portable;
  return requested;
}

NttTables::NttTables(std::size_t n, const Modulus& q) : n_(n), log_n_(0), q_(q) {
  if (n < 2 || n > (std::size_t{1} << 17) || (n & (n - 1)) != 0) {
    throw ParameterError("NTT size " + std::to_string(n) +
                         " must be a power of two between 2 and 2^17");
  }
  while ((std::size_t{1} << log_n_) < n) ++log_n_;
  const std::uint64_t p = q.value();
  if ((p - 1) % (2 * n) != 0 || !is_prime(p)) {
    throw ParameterError("modulus " + std::to_string(p) + " does not support an NTT of size " +
                         std::to_string(n) + ": it must be a prime congruent to 1 mod " +
                         std::to_string(2 * n));
  }
  psi_ = minimal_primitive_root(2 * n, q);
  const std::uint64_t psi_inv = q.inverse(psi_);
  // Powers in natural order first, then bit-reversed placement.
  std::vector<std::uint64_t> pw(n), ipw(n);
  pw[0] = 1;
  ipw[0] = 1;
  for (std::size_t i = 1; i < n; ++i) {
    pw[i] = q.mul(pw[i - 1], psi_);
    ipw[i] = q.mul(ipw[i - 1], psi_inv);
  }
  root_.assign(n, 0);
  root_shoup_.assign(n, 0);
  inv_root_.assign(n, 0);
  inv_root_shoup_.assign(n, 0);
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t r = bit_reverse(static_cast<std::uint32_t>(k), log_n_);
    root_[k] = pw[r];
    root_shoup_[k] = shoup_precompute(root_[k], p);
    inv_root_[k] = ipw[r];
    inv_root_shoup_[k] = shoup_precompute(inv_root_[k], p);
  }
  n_inv_ = q.inverse(static_cast<std::uint64_t>(n) % p);
  n_inv_shoup_ = shoup_precompute(n_inv_, p);
  n_inv_w_ = q.mul(n_inv_, inv_root_[1]);
  n_inv_w_shoup_ = shoup_precompute(n_inv_w_, p);
  if (p < kIfmaModulusBound) {
    // [0, n): 52-bit Shoup of root_, [n, 2n): of inv_root_, then n_inv, n_inv_w companions.
    ifma_.assign(2 * n + 2, 0);
    for (std::size_t k = 0; k < n; ++k) {
      ifma_[k] = shoup_precompute52(root_[k], p);
      ifma_[n + k] = shoup_precompute52(inv_root_[k], p);
    }
    ifma_[2 * n] = shoup_precompute52(n_inv_, p);
    ifma_[2 * n + 1] = shoup_precompute52(n_inv_w_, p);
  }
}

void NttTables::forward(std::uint64_t* a, SimdPath path) const {
  path = effective_simd_path(path, q_.value());
  if (path == SimdPath::Avx512Ifma && n_ >= 16) {
    detail::ntt_forward_ifma(a, *this);
  } else if (path == SimdPath::Avx512 && n_ >= 16) {
    detail::ntt_forward_avx512(a, *this);
  } else if (path != SimdPath::Portable && n_ >= 8 && cpu_supports(SimdPath::Avx2)) {
    detail::ntt_forward_avx2(a, *this);
  } else {
    detail::ntt_forward_portable(a, *this);
  }
}

void NttTables::inverse(std::uint64_t* a, SimdPath path) const {
  path = effective_simd_path(path, q_.value());
  if (path == SimdPath::Avx512Ifma && n_ >= 16) {
    detail::ntt_inverse_ifma(a, *this);
  } else if (path == SimdPath::Avx512 && n_ >= 16) {
    detail::ntt_inverse_avx512(a, *this);
  } else if (path != SimdPath::Portable && n_ >= 8 && cpu_supports(SimdPath::Avx2)) {
    detail::ntt_inverse_avx2(a, *this);
  } else {
    detail::ntt_inverse_portable(a, *this);
  }
}

std::vector<std::uint32_t> NttTables::ntt_domain_automorphism(std::uint64_t galois_elt) const {
  const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(n_);
  if ((galois_elt & 1) == 0 || galois_elt >= two_n) {
    throw ParameterError("Galois element " + std::to_string(galois_elt) +
                         " must be odd and below 2n = " + std::to_string(two_n));
  }
  // out[i] holds a(psi^(2*brv(i)+1)); a(X^g) there is a at psi^((2*brv(i)+1)*g).
  std::vector<std::uint32_t> perm(n_);
  for (std::size_t i = 0; i < n_; ++i) {
    const std::uint64_t e = (2 * bit_reverse(static_cast<std::uint32_t>(i), log_n_) + 1);
    const std::uint64_t img = (e * galois_elt) & (two_n - 1);
    perm[i] = bit_reverse(static_cast<std::uint32_t>((img - 1) / 2), log_n_);
  }
  return perm;
}

namespace detail {

void ntt_forward_portable(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t q = t.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const std::uint64_t* w = t.root_powers();
  const std::uint64_t* ws = t.root_shoup();
  std::size_t gap = n;
  for (std::size_t m = 1; m < n; m <<= 1) {
    gap >>= 1;
    for (std::size_t i = 0; i < m; ++i) {
      const std::uint64_t wi = w[m + i], wsi = ws[m + i];
      std::uint64_t* x = a + 2 * i * gap;
      std::uint64_t* y = x + gap;
      for (std::size_t j = 0; j < gap; ++j) {
        std::uint64_t u = x[j];
        u = u >= two_q ? u - two_q : u;                           // [0, 2q)
        const std::uint64_t v = mul_shoup_lazy(y[j], wi, wsi, q);  // [0, 2q)
        x[j] = u + v;                                              // [0, 4q)
        y[j] = u + two_q - v;                                      // [0, 4q)
      }
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    std::uint64_t u = a[j];
    u = u >= two_q ? u - two_q : u;
    a[j] = u >= q ? u - q : u;
  }
}

void ntt_inverse_portable(std::uint64_t* a, const NttTables& t) {
  const std::size_t n = t.n();
  const std::uint64_t q = t.modulus().value();
  const std::uint64_t two_q = 2 * q;
  const std::uint64_t* w = t.inv_root_powers();
  const std::uint64_t* ws = t.inv_root_shoup();
  std::size_t gap = 1;
  for (std::size_t m = n >> 1; m > 1; m >>= 1) {
    for (std::size_t i = 0; i < m; ++i) {
      const std::uint64_t wi = w[m + i], wsi = ws[m + i];
      std::uint64_t* x = a + 2 * i * gap;
      std::uint64_t* y = x + gap;
      for (std::size_t j = 0; j < gap; ++j) {
        const std::uint64_t u = x[j], v = y[j];  // [0, 2q)
        std::uint64_t s = u + v;
        x[j] = s >= two_q ? s - two_q : s;
        y[j] = mul_shoup_lazy(u + two_q - v, wi, wsi, q);
      }
    }
    gap <<= 1;
  }
  // Last stage with n^-1 folded in, then the final correction.
  const std::uint64_t ni = t.n_inv(), nis = t.n_inv_shoup();
  const std::uint64_t nw = t.n_inv_w(), nws = t.n_inv_w_shoup();
  std::uint64_t* x = a;
  std::uint64_t* y = a + gap;
  for (std::size_t j = 0; j < gap; ++j) {
    const std::uint64_t u = x[j], v = y[j];
    x[j] = mul_shoup(u + v, ni, nis, q);
    y[j] = mul_shoup(u + two_q - v, nw, nws, q);
  }
}

}  // namespace detail

}  // namespace encmol::math
