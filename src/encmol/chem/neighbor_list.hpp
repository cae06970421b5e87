// Neighbour lists for the atomic representations: for every atom, the other
// atoms within a cutoff, with distance and displacement, in ascending index.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "encmol/chem/molecule.hpp"

namespace encmol::chem {

struct Neighbor {
  std::size_t index = 0;  // the neighbour's atom index
  double distance = 0;    // |r_j - r_i| (Å)
  Vec3 delta{};           // r_j - r_i
};

/// Compressed lists: neighbors(i) are the atoms j != i with r_ij <= cutoff.
class NeighborList {
 public:
  /// O(n^2) over all pairs (molecules are small); the distance of a pair is
  /// computed once, so r_ij == r_ji bit for bit.
  NeighborList(const Molecule& m, double cutoff);

  std::span<const Neighbor> neighbors(std::size_t atom) const {
    return {items_.data() + start_[atom], start_[atom + 1] - start_[atom]};
  }

 private:
  std::vector<std::size_t> start_;
  std::vector<Neighbor> items_;
};

/// Euclidean distance between two positions.
double distance(const Vec3& a, const Vec3& b);

}  // namespace encmol::chem
