// Plaintexts and ciphertexts: plain data (vectors of u64 residues, level,
// scale, parameter hash) so that serialization is field by field.
//
// Layout: polynomial t, limb i (prime q_i), coefficient c at
//   data[(t * (level + 1) + i) * n + c]
// always in NTT (evaluation) form, every residue in [0, q_i).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "encmol/ckks/params.hpp"
#include "encmol/math/random.hpp"

namespace encmol::ckks {

struct Plaintext {
  std::size_t n = 0;       // ring degree
  std::size_t level = 0;   // uses q_0..q_level
  double scale = 1.0;      // slot value = polynomial / scale
  ParamHash params{};      // ParameterSet::hash() of the parameters it was made with
  std::vector<std::uint64_t> data;  // (level+1) * n residues, NTT form

  std::size_t limbs() const { return level + 1; }
  std::uint64_t* limb(std::size_t i) { return data.data() + i * n; }
  const std::uint64_t* limb(std::size_t i) const { return data.data() + i * n; }
};

struct Ciphertext {
  std::size_t n = 0;
  std::size_t size = 2;    // number of polynomials: 2, or 3 after a multiplication without relinearization
  std::size_t level = 0;
  double scale = 1.0;
  ParamHash params{};
  std::vector<std::uint64_t> data;  // size * (level+1) * n residues, NTT form
  // Set while polynomial 1 is exactly the expansion of this seed at this level
  // (fresh secret-key encryption): serialization may send the seed instead.
  // mod_drop_to keeps it (the expansion is limb by limb, so a prefix stays
  // valid); every other operation that changes the ciphertext clears it.
  std::optional<math::Seed> c1_seed;

  std::size_t limbs() const { return level + 1; }
  std::uint64_t* poly(std::size_t t) { return data.data() + t * limbs() * n; }
  const std::uint64_t* poly(std::size_t t) const { return data.data() + t * limbs() * n; }
  std::uint64_t* limb(std::size_t t, std::size_t i) { return poly(t) + i * n; }
  const std::uint64_t* limb(std::size_t t, std::size_t i) const { return poly(t) + i * n; }
};

}  // namespace encmol::ckks
