// Sorted Coulomb matrix (Rupp et al., PRL 108, 058301, 2012).
//
// Convention (the one the reference QM7 toolkits use): distances in Å, charges
// in units of e, so
//   M_ii = 0.5 * Z_i^2.4            (fit of the free-atom energy)
//   M_ij = Z_i * Z_j / |R_i - R_j|  (|R| in Å; no conversion to bohr)
// Atoms are reordered by descending Euclidean row norm of M (ties: larger Z
// first, then input order), and the lower triangle including the diagonal is
// flattened row by row: entry (i, j), j <= i, goes to index i*(i+1)/2 + j. The
// vector is zero-padded to the triangle of a max_atoms x max_atoms matrix, so
// padding never changes L1 or L2 distances between molecules.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "encmol/chem/molecule.hpp"

namespace encmol::chem {

/// Number of values of a flattened sorted Coulomb matrix for `max_atoms` atoms.
constexpr std::size_t coulomb_matrix_size(std::size_t max_atoms) {
  return max_atoms * (max_atoms + 1) / 2;
}

/// Diagonal self-interaction term 0.5 * Z^2.4.
double coulomb_self_term(int z);

/// The full (unsorted, symmetric) n x n Coulomb matrix of a molecule, row-major.
/// Throws InputError if two atoms are closer than kMinInteratomicDistance or a
/// value is not finite.
std::vector<double> coulomb_matrix_full(const Molecule& molecule);

/// Writes the sorted, flattened, zero-padded Coulomb matrix of `molecule` into
/// `out`, which must hold coulomb_matrix_size(max_atoms) values. Throws
/// InputError naming the molecule if it has more than max_atoms atoms.
void sorted_coulomb_matrix(const Molecule& molecule, std::size_t max_atoms, std::span<double> out);

}  // namespace encmol::chem
