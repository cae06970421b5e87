#include "encmol/ml/vector_exp.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "encmol/core/target_clones.hpp"

namespace encmol::ml {
namespace {

using V8d = double __attribute__((vector_size(64)));
using V8l = long long __attribute__((vector_size(64)));

// exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2 / 2 (two-part ln2 so
// n ln2 is exact), e^r by its Taylor series to r^12 (remainder < 2e-16
// relative), times 2^n built in the exponent bits. x < -708 gives 0.
// Always inlined into each target clone below, so the 64-byte vector never
// crosses a call boundary (GCC's -Wpsabi warns about such an ABI otherwise).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
__attribute__((always_inline)) inline V8d exp_nonpositive(V8d x) {
  const V8d log2e = V8d{} + 1.4426950408889634;
  const V8d ln2_hi = V8d{} + 0.693145751953125;        // 21 significant bits: n * ln2_hi is exact
  const V8d ln2_lo = V8d{} + 1.4286068203094172321e-6;  // ln2 - ln2_hi
  const V8d magic = V8d{} + 6755399441055744.0;         // 1.5 * 2^52: adding it rounds to an integer
  const V8d floor_x = V8d{} - 708.0;
  const V8l keep = x >= floor_x;
  x = keep ? x : floor_x;
  const V8d n = (x * log2e + magic) - magic;
  const V8d r = (x - n * ln2_hi) - n * ln2_lo;
  V8d p = V8d{} + 1.0 / 479001600.0;  // 1/12!
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const V8l bits = (__builtin_convertvector(n, V8l) + 1023) << 52;
  V8d scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  const V8d result = p * scale;
  V8l out_bits;
  std::memcpy(&out_bits, &result, sizeof(out_bits));
  out_bits &= keep;
  V8d out;
  std::memcpy(&out, &out_bits, sizeof(out));
  return out;
}

}  // namespace

ENCMOL_TARGET_CLONES void exp_negative_scaled(
    const double* d, double g, double* out, std::size_t n) {
  const V8d zero = V8d{};
  const V8d vg = V8d{} + g;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V8d v;
    std::memcpy(&v, d + i, sizeof(v));
    v = v > zero ? v : zero;
    const V8d e = exp_nonpositive(zero - vg * v);
    std::memcpy(out + i, &e, sizeof(e));
  }
  if (i < n) {  // tail through the same lane arithmetic
    V8d v = zero;
    std::memcpy(&v, d + i, (n - i) * sizeof(double));
    v = v > zero ? v : zero;
    const V8d e = exp_nonpositive(zero - vg * v);
    std::memcpy(out + i, &e, (n - i) * sizeof(double));
  }
}
#pragma GCC diagnostic pop

}  // namespace encmol::ml
