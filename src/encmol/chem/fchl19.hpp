// FCHL19 atomic representation (Christensen, Bratholm, Faber, von Lilienfeld,
// J. Chem. Phys. 152, 044107, 2020), defaults and conventions of the qmllib
// reference code. Distances in Å, angles in radians.
//
// Cutoff function: fc(r; c) = (cos(pi r / c) + 1) / 2 for r <= c; pairs farther
// than c are skipped, so every term goes to 0 continuously at the cutoff.
//
// Two-body part of atom i: for every other atom j with r = r_ij <= rcut, a
// log-normal density over the grid R_k = rcut k / n2 (k = 1..n2) whose mean is r
// and whose variance is eta2:
//   s^2 = ln(1 + eta2 / r^2),  mu = ln r - s^2 / 2,
//   LN(R) = exp(-(ln R - mu)^2 / (2 s^2)) / (R s sqrt(2 pi)),
// added with weight fc(r; rcut) / r^two_body_decay to the block of j's element.
//
// Three-body part of atom i: for every unordered pair {j, k} of other atoms with
// r_ij <= acut and r_ik <= acut (r_jk is not tested, as in the reference),
//   W = c3 (1 + 3 cos(th_i) cos(th_j) cos(th_k)) / (r_ij r_ik r_jk)^three_body_decay
// with c3 = three_body_weight * sqrt(eta3 / pi) and th_x the triangle's angle at x;
//   G_l = exp(-eta3 ((r_ij + r_ik)/2 - S_l)^2) fc(r_ij; acut) fc(r_ik; acut),
//   S_l = acut l / n3 (l = 1..n3);
// and, for the odd orders o = 1, 3, .., 2 fourier_orders - 1,
//   A_cos,o = 2 exp(-(zeta o)^2 / 2) cos(o th_i),  A_sin,o = likewise with sin;
// W G_l A is added to the block of the element pair {Z_j, Z_k}.
//
// Output layout of one atom (ne = number of elements, nf = fourier_orders):
//   [0, ne n2)                     two-body: element e, grid point k -> e n2 + (k - 1)
//   [ne n2, ne n2 + P n3 2 nf)     three-body, P = ne (ne + 1) / 2 element pairs
//       pair (p <= q) has index P(p, q) = p ne - p (p + 1) / 2 + q and block
//       ne n2 + P(p, q) n3 2nf; inside it radial point l (slow index), then
//       [cos o=1, sin o=1, cos o=3, sin o=3, ...]
// The centre atom's own element does not appear (the local kernel compares only
// atoms of the same element). Defaults with elements H C N O S: 720 values.
#pragma once

#include <cstddef>
#include <numbers>
#include <span>

#include "encmol/chem/molecule.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::chem {

struct Fchl19Parameters {
  std::size_t n2 = 24;              // two-body radial grid points
  std::size_t n3 = 20;              // three-body radial grid points
  std::size_t fourier_orders = 1;   // angular terms: odd orders 1 .. 2 fourier_orders - 1
  double eta2 = 0.32;               // variance of the two-body log-normal (Å^2)
  double eta3 = 2.7;                // exponent of the three-body radial Gaussian (Å^-2)
  double zeta = std::numbers::pi;   // width of the angular Gaussian
  double rcut = 8.0;                // two-body cutoff (Å)
  double acut = 8.0;                // three-body cutoff (Å)
  double two_body_decay = 1.8;      // power of 1/r in the two-body weight
  double three_body_decay = 0.57;   // power of 1/(r_ij r_ik r_jk) in the three-body weight
  double three_body_weight = 13.4;  // c3 before the sqrt(eta3/pi) factor

  /// Throws ParameterError naming the first value that is not finite or out of
  /// range (grid sizes are capped so a stored model cannot request huge vectors).
  void validate() const;
  bool operator==(const Fchl19Parameters&) const = default;

  void write(core::ByteWriter& out) const;
  /// Reads and validates; FormatError (through `in`) on bad values.
  static Fchl19Parameters read(core::ByteReader& in);
};

/// Caps enforced by validate().
inline constexpr std::size_t kMaxFchl19GridPoints = 128;
inline constexpr std::size_t kMaxFchl19FourierOrders = 4;
/// Largest per-atom vector fchl19_dimension accepts.
inline constexpr std::size_t kMaxFchl19Dimension = std::size_t{1} << 20;

/// Values per atom for `element_count` elements. Throws ParameterError for
/// invalid parameters, no elements, or a dimension above kMaxFchl19Dimension.
std::size_t fchl19_dimension(const Fchl19Parameters& p, std::size_t element_count);

/// FCHL19 vectors of every atom of `m`: m.size() rows of fchl19_dimension values,
/// row-major (row a = atom a), written to `out` (overwritten, must have exactly
/// that size). `elements` is the strictly ascending list of nuclear charges that
/// defines the blocks (e.g. the training set's elements). Throws InputError naming
/// the molecule for an atom whose element is not in `elements`, coincident atoms
/// or non-finite coordinates; ParameterError for bad parameters, elements or size.
void fchl19_atoms(const Molecule& m, std::span<const int> elements, const Fchl19Parameters& p,
                  std::span<double> out);

}  // namespace encmol::chem
