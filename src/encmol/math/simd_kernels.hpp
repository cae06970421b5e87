// Internal: the per-ISA kernels behind ntt.hpp, poly_ops.hpp and rns.hpp.
// Each *_avx2 / *_ifma function is compiled with a target attribute in its own
// translation unit and must only be called after cpu_supports() said yes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "encmol/math/modarith.hpp"

namespace encmol::math {
class NttTables;
}

namespace encmol::math::detail {

void ntt_forward_portable(std::uint64_t* a, const NttTables& t);
void ntt_inverse_portable(std::uint64_t* a, const NttTables& t);
void ntt_forward_avx2(std::uint64_t* a, const NttTables& t);
void ntt_inverse_avx2(std::uint64_t* a, const NttTables& t);
void ntt_forward_avx512(std::uint64_t* a, const NttTables& t);  // n >= 16
void ntt_inverse_avx512(std::uint64_t* a, const NttTables& t);
void ntt_forward_ifma(std::uint64_t* a, const NttTables& t);  // q < 2^50, n >= 16
void ntt_inverse_ifma(std::uint64_t* a, const NttTables& t);

// out = a*b mod q (acc: out += a*b). IFMA variants need q < 2^50.
void mul_mod_ifma(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out,
                  std::size_t n, const Modulus& q, bool accumulate);
void mul_mod_avx512(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out,
                    std::size_t n, const Modulus& q, bool accumulate);
void mul_scalar_avx512(const std::uint64_t* a, std::uint64_t w, std::uint64_t* out, std::size_t n,
                       const Modulus& q);
void mul_scalar_ifma(const std::uint64_t* a, std::uint64_t w, std::uint64_t* out, std::size_t n,
                     const Modulus& q);

// Base conversion inner product on IFMA lanes (every modulus < 2^50):
// out[k*n + j] = sum_i y[i*y_stride + j] * c[k*L + i] mod p_k, with y < 2^50
// and c[k*L+i] < p_k; n a multiple of 8.
void base_convert_ifma(const std::uint64_t* y, std::size_t y_stride, std::size_t from_size,
                       const std::uint64_t* c, const Modulus* to, std::size_t to_size,
                       std::uint64_t* out, std::size_t n);

}  // namespace encmol::math::detail
