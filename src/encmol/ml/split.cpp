#include "encmol/ml/split.hpp"

#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "encmol/core/error.hpp"

namespace encmol::ml {
namespace {

// Uniform integer in [0, bound) by rejection: x - x % bound is the start of
// x's block of `bound` values; a block that would run past 2^64 is incomplete
// and rejected, so every residue is equally likely.
std::uint64_t bounded(std::mt19937_64& rng, std::uint64_t bound) {
  constexpr std::uint64_t kMax = ~std::uint64_t{0};
  for (;;) {
    const std::uint64_t x = rng();
    const std::uint64_t r = x % bound;
    if (x - r <= kMax - (bound - 1)) return r;
  }
}

}  // namespace

std::vector<std::size_t> random_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(bounded(rng, i));
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

Split random_split(std::size_t n, std::size_t n_train, std::uint64_t seed) {
  if (n_train > n) {
    throw InputError("cannot take " + std::to_string(n_train) + " training molecules from " +
                     std::to_string(n));
  }
  const auto p = random_permutation(n, seed);
  Split s;
  s.train.assign(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n_train));
  s.test.assign(p.begin() + static_cast<std::ptrdiff_t>(n_train), p.end());
  return s;
}

Split random_split_fraction(std::size_t n, double test_fraction, std::uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    throw InputError("test fraction must be between 0 and 1 (exclusive), got " +
                     std::to_string(test_fraction));
  }
  const auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  return random_split(n, n - std::min(n, n_test), seed);
}

std::vector<chem::Molecule> select(const std::vector<chem::Molecule>& molecules,
                                   const std::vector<std::size_t>& indices) {
  std::vector<chem::Molecule> out;
  out.reserve(indices.size());
  for (std::size_t i : indices) {
    if (i >= molecules.size()) {
      throw ParameterError("select: index " + std::to_string(i) + " out of range (" +
                           std::to_string(molecules.size()) + " molecules)");
    }
    out.push_back(molecules[i]);
  }
  return out;
}

std::vector<std::size_t> fold_assignment(std::size_t n, std::size_t k, std::uint64_t seed) {
  if (k < 2 || k > n) {
    throw ParameterError("cross-validation needs 2 <= folds <= molecules; got " + std::to_string(k) +
                         " folds for " + std::to_string(n) + " molecules");
  }
  const auto p = random_permutation(n, seed);
  std::vector<std::size_t> fold(n);
  for (std::size_t pos = 0; pos < n; ++pos) fold[p[pos]] = pos % k;
  return fold;
}

}  // namespace encmol::ml
