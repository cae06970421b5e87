// Element-wise operations on one RNS limb (n residues mod q). Inputs are in
// [0, q) unless stated otherwise, outputs always in [0, q). `out` may alias an
// input unless stated otherwise. The multiplying functions have an overload
// taking a SimdPath (the tests check that all paths agree bit for bit; the
// plain overload uses default_simd_path()): AVX-512 IFMA kernels for q < 2^50,
// AVX-512 (64-bit products) kernels for any q, scalar code on the AVX2 and
// portable paths. The additive operations are plain loops that the compiler
// vectorizes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "encmol/math/modarith.hpp"
#include "encmol/math/ntt.hpp"

namespace encmol::math {

void add_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q);
void sub_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q);
void neg_mod(const std::uint64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = a * b (pointwise).
void mul_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q);
void mul_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out, std::size_t n,
             const Modulus& q, SimdPath path);
/// acc += a * b (pointwise).
void mul_add_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* acc, std::size_t n,
                 const Modulus& q);
void mul_add_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* acc, std::size_t n,
                 const Modulus& q, SimdPath path);
/// out = a * scalar; scalar any 64-bit value (reduced first).
void mul_scalar_mod(const std::uint64_t* a, std::uint64_t scalar, std::uint64_t* out,
                    std::size_t n, const Modulus& q);
void mul_scalar_mod(const std::uint64_t* a, std::uint64_t scalar, std::uint64_t* out,
                    std::size_t n, const Modulus& q, SimdPath path);
/// X -> X^galois_elt in the coefficient domain (galois_elt odd, in [1, 2n));
/// out must not alias a.
void automorphism_coeff(const std::uint64_t* a, std::uint64_t galois_elt, std::uint64_t* out,
                        std::size_t n, const Modulus& q);
/// out[i] = a[perm[i]] (NTT-domain automorphism, see NttTables); out must not alias a.
void permute(const std::uint64_t* a, const std::uint32_t* perm, std::uint64_t* out, std::size_t n);

// ---- extras for rescaling, base extension and embedding small polynomials ----

/// out = a mod q for arbitrary 64-bit a (e.g. residues of another prime).
void reduce_mod(const std::uint64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = (a - (b mod q)) * scalar mod q; a in [0,q), b any 64-bit value, scalar
/// any 64-bit value (reduced first). The core of rescale and ModDown.
void sub_mul_scalar_mod(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t scalar,
                        std::uint64_t* out, std::size_t n, const Modulus& q);
/// out = a + scalar mod q.
void add_scalar_mod(const std::uint64_t* a, std::uint64_t scalar, std::uint64_t* out,
                    std::size_t n, const Modulus& q);
/// Signed small integers to residues mod q.
void embed_signed(const std::int64_t* a, std::uint64_t* out, std::size_t n, const Modulus& q);
void embed_signed(const std::int8_t* a, std::uint64_t* out, std::size_t n, const Modulus& q);

// ---- lazy accumulation (key switching inner products) ----
// acc[j] += a[j] * b[j] as an exact 128-bit integer, no reduction. The caller
// bounds the number of terms so acc cannot overflow: with a, b < 2^61 at
// least 2^6 terms fit, with 50-bit residues 2^28 terms.
void mul_accumulate_wide(const std::uint64_t* a, const std::uint64_t* b, u128* acc, std::size_t n);
/// out[j] = acc[j] mod q for any 128-bit acc[j].
void reduce_wide(const u128* acc, std::uint64_t* out, std::size_t n, const Modulus& q);

}  // namespace encmol::math
