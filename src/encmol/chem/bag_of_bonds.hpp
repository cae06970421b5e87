// Bag of Bonds (Hansen et al., J. Phys. Chem. Lett. 6, 2326, 2015).
//
// Uses the Coulomb-matrix values (same convention as coulomb_matrix.hpp: Å,
// M_ii = 0.5 Z^2.4, M_ij = Z_i Z_j / r_ij) grouped into bags:
//   - one "self" bag per element holding 0.5 Z^2.4 for each atom of it;
//   - one bag per element pair (a <= b) holding Z_a Z_b / r for every atom pair.
// Each bag is sorted in descending order and zero-padded to its fixed size.
// Bag sizes come from per-element capacities c_e (the most atoms of element e
// in any training molecule): self bag c_e, pair bag c_a * c_b, same-element
// bag c_a (c_a - 1) / 2, so every molecule with at most c_e atoms of each
// element fits. Bags are laid out self bags first (ascending Z), then pair
// bags in ascending (a, b) order; empty bags are omitted.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "encmol/chem/molecule.hpp"

namespace encmol::chem {

/// One bag of the Bag-of-Bonds vector. A self bag has z_a == z_b and
/// self == true; a pair bag of two atoms of the same element has z_a == z_b
/// and self == false.
struct Bag {
  int z_a = 0;
  int z_b = 0;
  bool self = false;
  std::size_t offset = 0;  // first index in the feature vector
  std::size_t size = 0;    // values, zero-padded
  bool operator==(const Bag&) const = default;
};

/// Layout of a Bag-of-Bonds vector: elements (ascending Z), their capacities,
/// and the bags derived from them.
struct BagLayout {
  std::vector<int> elements;
  std::vector<std::size_t> capacity;  // same length as elements
  std::vector<Bag> bags;
  std::size_t dimension = 0;

  /// Builds the bags from elements + capacities (both validated: elements
  /// strictly ascending and in 1..118, capacities >= 1). Throws ParameterError.
  static BagLayout from_capacities(std::vector<int> elements, std::vector<std::size_t> capacity);
  bool operator==(const BagLayout&) const = default;
};

/// Writes the Bag-of-Bonds vector of `molecule` into `out` (layout.dimension
/// values). Throws InputError naming the molecule if it holds an element the
/// layout lacks or more atoms of an element than its capacity.
void bag_of_bonds(const Molecule& molecule, const BagLayout& layout, std::span<double> out);

}  // namespace encmol::chem
