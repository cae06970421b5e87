// The small CKKS context the fuzz targets decode keys, plaintexts and
// ciphertexts against (N = 2^12, two primes: fast, deliberately insecure —
// the decoders' checks do not depend on the security level), and the secure
// layer's query packing at that size.
#pragma once

#include <memory>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/params.hpp"

namespace encmol::fuzz {

inline ckks::ParameterSet small_parameters() {
  return ckks::Parameters::from_bit_sizes(12, {50, 40}, {53}, 2, 40, /*allow_insecure=*/true);
}

inline const std::shared_ptr<const ckks::Context>& small_context() {
  static const auto ctx = ckks::Context::create(small_parameters());
  return ctx;
}

}  // namespace encmol::fuzz
