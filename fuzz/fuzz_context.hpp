// The small CKKS context the fuzz targets decode keys, plaintexts and
// ciphertexts against (N = 2^12, two primes: fast, deliberately insecure —
// the decoders' checks do not depend on the security level), and the secure
// layer's query packing at that size; and the multi-party session options the
// party-file target and its seeds share.
#pragma once

#include <memory>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/params.hpp"
#include "encmol/secure/multiparty.hpp"

namespace encmol::fuzz {

inline ckks::ParameterSet small_parameters() {
  return ckks::Parameters::from_bit_sizes(12, {50, 40}, {53}, 2, 40, /*allow_insecure=*/true);
}

inline const std::shared_ptr<const ckks::Context>& small_context() {
  static const auto ctx = ckks::Context::create(small_parameters());
  return ctx;
}

/// Three parties, a 13-feature map over QM7's elements, one target.
inline secure::PartySessionOptions party_session_options() {
  secure::PartySessionOptions o;
  o.parties = 3;
  o.elements = {1, 6, 7, 8, 16};
  o.feature_counts = {4, 4, 2, 2, 1};
  o.sigma = 4;
  o.targets = {"ae_pbe0"};
  o.units = {"kcal/mol"};
  return o;
}

}  // namespace encmol::fuzz
