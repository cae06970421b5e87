// Per-atom representation vectors of many molecules, stacked: what local
// kernels, random-feature models and atomic networks consume.
#pragma once

#include <cstddef>
#include <vector>

#include <Eigen/Core>

namespace encmol::chem {

/// One row per atom (row-major, contiguous), molecules one after another.
struct AtomicFeatures {
  using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Matrix values;                     // atoms x dimension
  std::vector<int> charges;          // nuclear charge of each row
  std::vector<std::size_t> offsets;  // molecules + 1: molecule i is rows [offsets[i], offsets[i+1])

  std::size_t molecule_count() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::size_t atom_count() const { return charges.size(); }
  std::size_t dimension() const { return static_cast<std::size_t>(values.cols()); }

  /// The molecules `indices` (in that order), as a new stack.
  AtomicFeatures select(const std::vector<std::size_t>& indices) const;
  /// The same atoms with only the values in columns [begin, end).
  AtomicFeatures columns(std::size_t begin, std::size_t end) const;
  /// Throws ParameterError unless offsets, charges and values agree and every
  /// value is finite.
  void validate() const;
};

}  // namespace encmol::chem
