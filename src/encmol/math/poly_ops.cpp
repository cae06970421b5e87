#include "encmol/math/poly_ops.hpp"

#include <string>

#include "encmol/core/error.hpp"
#include "encmol/math/simd_kernels.hpp"

namespace encmol::math {

// The additive operations are plain loops the compiler vectorizes well
// (branch-free conditional subtraction); only the multiplications get
// hand-written IFMA kernels.

void add_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q) {
  const std::uint64_t qq = q.value();
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t s = a[j] + b[j];
    out[j] = s >= qq ? s - qq : s;
  }
}

void sub_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q) {
  const std::uint64_t qq = q.value();
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t d = a[j] + qq - b[j];
    out[j] = d >= qq ? d - qq : d;
  }
}

void neg_mod(const std::uint64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qq = q.value();
  for (std::size_t j = 0; j < n; ++j) {
    out[j] = a[j] == 0 ? 0 : qq - a[j];
  }
}

void mul_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q) {
  mul_mod(a, b, out, n, q, default_simd_path());
}

void mul_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q, SimdPath path) {
  const SimdPath eff = effective_simd_path(path, q.value());
  if (eff == SimdPath::Avx512Ifma) {
    detail::mul_mod_ifma(a, b, out, n, q, false);
    return;
  }
  if (eff == SimdPath::Avx512) {
    detail::mul_mod_avx512(a, b, out, n, q, false);
    return;
  }
  const Modulus m = q;  // a local copy: stores to out cannot alias its constants
  for (std::size_t j = 0; j < n; ++j) out[j] = m.mul(a[j], b[j]);
}

void mul_add_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* acc, std::size_t n,
                 const Modulus& q) {
  mul_add_mod(a, b, acc, n, q, default_simd_path());
}

void mul_add_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* acc, std::size_t n,
                 const Modulus& q, SimdPath path) {
  const SimdPath eff = effective_simd_path(path, q.value());
  if (eff == SimdPath::Avx512Ifma) {
    detail::mul_mod_ifma(a, b, acc, n, q, true);
    return;
  }
  if (eff == SimdPath::Avx512) {
    detail::mul_mod_avx512(a, b, acc, n, q, true);
    return;
  }
  // a*b + acc <= q^2 + q - 2 < 2^(2k): one Barrett reduction.
  const Modulus m = q;  // a local copy: stores to acc cannot alias its constants
  for (std::size_t j = 0; j < n; ++j) {
    acc[j] = m.reduce_product(static_cast<u128>(a[j]) * b[j] + acc[j]);
  }
}

void mul_scalar_mod(const std::uint64_t* a, std::uint64_t scalar, std::uint64_t* out,
                    std::size_t n, const Modulus& q) {
  mul_scalar_mod(a, scalar, out, n, q, default_simd_path());
}

void mul_scalar_mod(const std::uint64_t* a, std::uint64_t scalar, std::uint64_t* out,
                    std::size_t n, const Modulus& q, SimdPath path) {
  const std::uint64_t w = q.reduce(scalar);
  const SimdPath eff = effective_simd_path(path, q.value());
  if (eff == SimdPath::Avx512Ifma) {
    detail::mul_scalar_ifma(a, w, out, n, q);
    return;
  }
  if (eff == SimdPath::Avx512) {
    detail::mul_scalar_avx512(a, w, out, n, q);
    return;
  }
  const std::uint64_t qq = q.value();
  const std::uint64_t ws = shoup_precompute(w, qq);
  for (std::size_t j = 0; j < n; ++j) out[j] = mul_shoup(a[j], w, ws, qq);
}

void automorphism_coeff(const std::uint64_t* a, std::uint64_t galois_elt, std::uint64_t* out,
                        std::size_t n, const Modulus& q) {
  const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(n);
  if (n == 0 || (n & (n - 1)) != 0) {
    throw ParameterError("automorphism: ring degree " + std::to_string(n) +
                         " is not a power of two");
  }
  if ((galois_elt & 1) == 0 || galois_elt >= two_n) {
    throw ParameterError("Galois element " + std::to_string(galois_elt) +
                         " must be odd and below 2n = " + std::to_string(two_n));
  }
  // X^j -> X^(j*g mod 2n) and X^n = -1.
  const std::uint64_t qq = q.value();
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t e = (j * galois_elt) & (two_n - 1);
    const std::uint64_t v = a[j];
    if (e < n) {
      out[e] = v;
    } else {
      out[e - n] = v == 0 ? 0 : qq - v;
    }
  }
}

void permute(const std::uint64_t* a, const std::uint32_t* perm, std::uint64_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = a[perm[i]];
}

void reduce_mod(const std::uint64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q) {
  for (std::size_t j = 0; j < n; ++j) out[j] = q.reduce(a[j]);
}

void sub_mul_scalar_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t scalar,
                        std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qq = q.value();
  const std::uint64_t w = q.reduce(scalar);
  const std::uint64_t ws = shoup_precompute(w, qq);
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t d = a[j] + qq - q.reduce(b[j]);  // (0, 2q)
    out[j] = mul_shoup(d, w, ws, qq);
  }
}

void add_scalar_mod(const std::uint64_t* a, std::uint64_t scalar, std::uint64_t* out,
                    std::size_t n, const Modulus& q) {
  const std::uint64_t qq = q.value();
  const std::uint64_t s = q.reduce(scalar);
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t v = a[j] + s;
    out[j] = v >= qq ? v - qq : v;
  }
}

void embed_signed(const std::int64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qq = q.value();
  for (std::size_t j = 0; j < n; ++j) {
    const std::int64_t v = a[j];
    // |v| may exceed q: reduce the magnitude, then negate if needed.
    const std::uint64_t mag = q.reduce(v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v)
                                             : static_cast<std::uint64_t>(v));
    out[j] = (v < 0 && mag != 0) ? qq - mag : mag;
  }
}

void embed_signed(const std::int8_t* a, std::uint64_t* out, std::size_t n, const Modulus& q) {
  const std::uint64_t qq = q.value();
  for (std::size_t j = 0; j < n; ++j) {
    const std::int64_t v = a[j];
    const std::uint64_t mag = q.reduce(static_cast<std::uint64_t>(v < 0 ? -v : v));
    out[j] = (v < 0 && mag != 0) ? qq - mag : mag;
  }
}

void mul_accumulate_wide(const std::uint64_t* a, const std::uint64_t* b, u128* acc,
                         std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) acc[j] += static_cast<u128>(a[j]) * b[j];
}

void reduce_wide(const u128* acc, std::uint64_t* out, std::size_t n, const Modulus& q) {
  for (std::size_t j = 0; j < n; ++j) out[j] = q.reduce_any(acc[j]);
}

}  // namespace encmol::math
