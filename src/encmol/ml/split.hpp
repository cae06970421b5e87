// Deterministic random permutations and data splits.
//
// All randomness in the ml layer comes from std::mt19937_64 seeded with the
// user's seed; its output sequence is fixed by the C++ standard. Shuffles use
// our own Fisher-Yates with unbiased bounded integers (not std::shuffle or
// std::uniform_int_distribution, whose algorithms differ between standard
// libraries), so a seed gives the same split on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "encmol/chem/molecule.hpp"

namespace encmol::ml {

/// A permutation of 0..n-1 determined by `seed`.
std::vector<std::size_t> random_permutation(std::size_t n, std::uint64_t seed);

struct Split {
  std::vector<std::size_t> train;  // indices into the original list
  std::vector<std::size_t> test;
};

/// Random train/test split: the first n_train entries of
/// random_permutation(n, seed) train, the rest test. Throws InputError when
/// n_train > n.
Split random_split(std::size_t n, std::size_t n_train, std::uint64_t seed);
/// Same with the test size given as a fraction in (0, 1) (rounded to nearest).
Split random_split_fraction(std::size_t n, double test_fraction, std::uint64_t seed);

/// molecules[indices[0]], molecules[indices[1]], ...
std::vector<chem::Molecule> select(const std::vector<chem::Molecule>& molecules,
                                   const std::vector<std::size_t>& indices);

/// Fold of every index for k-fold cross-validation: the positions of
/// random_permutation(n, seed) are dealt to folds 0, 1, ..., k-1 in turn, so
/// fold sizes differ by at most one. Throws ParameterError unless 2 <= k <= n.
std::vector<std::size_t> fold_assignment(std::size_t n, std::size_t k, std::uint64_t seed);

}  // namespace encmol::ml
