// Fused key-switching inner product (ckks-private). For one extended limb:
//   out_b[c] = sum_j x_j[perm ? perm[c] : c] * kb_j[c]  mod q
//   out_a[c] = sum_j x_j[...] * ka_j[c]                mod q
// reading every digit once for both key halves and reducing once per
// coefficient. The AVX-512 IFMA version (q < 2^50) accumulates the low and
// high 52-bit halves of the products separately; the portable version sums
// exact 128-bit products. Both return the unique residue in [0, q).
#pragma once

#include <cstddef>
#include <cstdint>

#include "encmol/math/modarith.hpp"

namespace encmol::ckks::detail {

struct InnerProductArgs {
  const std::uint64_t* const* x;   // beta digit limbs
  const std::uint64_t* const* kb;  // beta key limbs (b part)
  const std::uint64_t* const* ka;  // beta key limbs (a part)
  std::size_t beta;
  const std::uint32_t* perm;       // NTT-domain Galois permutation or null
  std::uint64_t* out_b;
  std::uint64_t* out_a;
  std::size_t n;
};

/// Whether the IFMA kernel can run here (CPU) for modulus q (< 2^50) and beta digits.
bool inner_product_ifma_ok(const math::Modulus& q, std::size_t beta);
void inner_product_ifma(const InnerProductArgs& args, const math::Modulus& q);
void inner_product_portable(const InnerProductArgs& args, const math::Modulus& q);

}  // namespace encmol::ckks::detail
