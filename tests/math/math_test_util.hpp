// Helpers shared by the math tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "encmol/math/modarith.hpp"
#include "encmol/math/ntt.hpp"
#include "encmol/math/primes.hpp"

namespace encmol::math::testing {

inline std::vector<SimdPath> supported_paths() {
  std::vector<SimdPath> out{SimdPath::Portable};
  if (cpu_supports(SimdPath::Avx2)) out.push_back(SimdPath::Avx2);
  if (cpu_supports(SimdPath::Avx512)) out.push_back(SimdPath::Avx512);
  if (cpu_supports(SimdPath::Avx512Ifma)) out.push_back(SimdPath::Avx512Ifma);
  return out;
}

inline std::vector<std::uint64_t> random_residues(std::mt19937_64& rng, std::size_t n,
                                                  std::uint64_t q) {
  std::vector<std::uint64_t> v(n);
  std::uniform_int_distribution<std::uint64_t> d(0, q - 1);
  for (auto& x : v) x = d(rng);
  return v;
}

// Schoolbook product mod (X^n + 1, q).
inline std::vector<std::uint64_t> negacyclic_schoolbook(const std::vector<std::uint64_t>& a,
                                                        const std::vector<std::uint64_t>& b,
                                                        std::uint64_t q) {
  const std::size_t n = a.size();
  std::vector<std::uint64_t> c(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t p = mul_mod_naive(a[i], b[j], q);
      const std::size_t k = i + j;
      if (k < n) {
        c[k] = (c[k] + p) % q;
      } else {
        c[k - n] = (c[k - n] + q - p) % q;
      }
    }
  }
  return c;
}

}  // namespace encmol::math::testing
