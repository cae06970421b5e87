// Internal helpers of the ckks layer (not part of the public API).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/types.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/math/random.hpp"

namespace encmol::ckks::detail {

/// Throws ParameterError unless `got` equals the context's hash.
void check_hash(const Context& ctx, const ParamHash& got, const char* what);

/// A zero ciphertext of `size` polynomials at `level` with `scale`, made for `ctx`.
Ciphertext zero_ciphertext(const Context& ctx, std::size_t size, std::size_t level, double scale);

/// Runs body(i) for i in [0, count) across the core thread pool (one limb or
/// one polynomial-limb per task; the split is static, so results do not depend
/// on the thread count).
template <class F>
void for_limbs(std::size_t count, F&& body) {
  core::parallel_for(count, [&](std::size_t i) { body(i); });
}

/// A per-thread reusable buffer of `count` words (contents unspecified; it
/// never shrinks). Slots let one function hold several buffers at once; a
/// buffer stays valid until the same thread asks for the same slot again.
/// Slots 0-5 belong to the calling thread's top-level operation, slots 6 and 7
/// to per-task temporaries inside for_limbs bodies.
std::uint64_t* thread_buffer(std::size_t slot, std::size_t count);
inline constexpr std::size_t kTaskSlot = 6;

/// Whether the IFMA kernels of math serve modulus q (pointwise products).
bool ifma_serves(const math::Modulus& q);

/// Embeds signed small coefficients (|x| < 2^20, e.g. errors and ternary
/// values) into the given extended limbs and NTTs them.
void small_to_ntt(const Context& ctx, const std::int64_t* coeffs, std::span<const std::size_t> limbs,
                  std::uint64_t* out);
void small_to_ntt(const Context& ctx, const std::int8_t* coeffs, std::span<const std::size_t> limbs,
                  std::uint64_t* out);
/// A fresh discrete-Gaussian error polynomial in NTT form over `limbs`.
void sample_error_ntt(const Context& ctx, math::Prng& prng, std::span<const std::size_t> limbs,
                      std::uint64_t* out);

/// ModDown (divide by P with rounding) of `polys` polynomials given over
/// q_0..q_level followed by p_0..p_{k-1} in NTT form, stored one after the
/// other in `acc` ((level+1+k) limbs each; the P limbs are overwritten).
/// Polynomial t goes to outs[t] (level+1 limbs, NTT form).
void mod_down(const Context& ctx, std::uint64_t* acc, std::size_t polys, std::size_t level,
              std::uint64_t* const* outs);

}  // namespace encmol::ckks::detail
