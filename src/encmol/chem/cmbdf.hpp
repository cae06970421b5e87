// cMBDF-type atomic representation: convolutional many-body distribution
// functionals (Khan & von Lilienfeld, arXiv:2409.20471, PNAS 2025), following
// the dkhan42/cMBDF reference code (energy path). Distances in Å, angles in
// radians, charges Z used as real numbers.
//
// Tables. For a domain [0, L) sampled at u_p = p h (p < N, h = L / N), a weight
// g and a Gaussian exponent a, the m-th kernel is
//   phi_0(x) = sqrt(a / pi) exp(-a x^2),  phi_m(x) = phi_0(x) (-sqrt(a))^5 P_m(sqrt(a) x),
//   P_1 = -2y, P_2 = 4y^2 - 2 sqrt(a), P_3 = -8y^3 + 12y, P_4 = 16y^4 - 48y^2 + 12a,
// and a table is the discrete convolution raw[s] = h sum_p g(u_p) phi_m(t_s - u_p),
// divided by its largest |raw[s]|. Radial tables (L = rcut, a = radial_exponent):
// g = exp(-alpha u) for each exponential decay, then (1 + u)^-n for each power
// decay. Angular tables (L = pi, a = angular_exponent): g = cos(k u), k = 1..K.
// (Computed by zero-padded FFT: within 2e-14 of the direct sum, relative to
// each table's maximum.)
//
// Atom i's vector, M = derivative_orders, W = number of radial weights:
//   two-body    X_i[m W + w]     += sqrt(Z_i Z_j) s(r_ij) T^r_{m,w}(r_ij)     over j != i
//   three-body  X_i[M W + m K + k - 1] += 2 (Z_i Z_j Z_k)^(1/3) S_ijk / (r_ij r_ik r_jk)^atm
//                                   * T^a_{m,k}(th_i) * (k == 1 ? cos th_j cos th_k : 1)
//               over unordered pairs {j, k} of other atoms, th_x the triangle's angle at x.
// Defaults: 5 x 4 two-body + 5 x 4 three-body = 40 values.
//
// Reference mode (`reference = true`) reproduces the reference code exactly:
//   - hard cutoff: s(r) = 1 for 0 < r < rcut, else 0; a triangle counts when
//     r_ij, r_ik < rcut for its smallest atom index i (r_jk untested; S_ijk = 1);
//   - tables sampled one step early, t_s = (s - 1) h, s < N;
//   - lookup by truncation, T(x) = table[floor(x / h)] (piecewise constant).
// Default mode ("cMBDF-type", our deviations, all chosen so the vector is a
// continuous function of the coordinates):
//   - smooth cutoff: s(r) = 1 below rcut - w, (1 + cos(pi (r - rcut + w) / w)) / 2
//     up to rcut, 0 beyond (w = switch_width); S_ijk = s(r_ij) s(r_ik) s(r_jk), which
//     is also independent of the atom order. It changes nothing for molecules
//     whose distances are all below rcut - w (9 Å by default);
//   - tables sampled at t_s = s h, s = 0..N (no shift; the end point L included);
//   - linear interpolation between table points.
//   The last two move values by ~1e-3 of their size (one or two grid steps).
// Kept in both modes: the P_2 / P_4 constants (they are not Hermite
// polynomials, so phi_2, phi_4 mix in some phi_0; the functionals remain smooth
// and this keeps the reference's published behaviour), the factor 2 on the
// three-body term, the cos th_j cos th_k factor on k = 1 only, the left
// rectangle rule with g = 0 outside [0, L), and the max-abs normalisation.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::chem {

struct CmbdfParameters {
  double rcut = 10.0;                                   // cutoff and radial table length (Å)
  std::size_t radial_points = 12500;                    // N_r: table step rcut / N_r = 0.0008 Å
  std::size_t angular_points = 15750;                   // N_a: table step pi / N_a
  double radial_exponent = 2.0;                         // a1 (1/Å^2)
  double angular_exponent = 2.0;                        // a2 (1/rad^2)
  std::size_t derivative_orders = 5;                    // m = 0 .. derivative_orders - 1 (<= 5)
  std::vector<double> exponential_decays = {1.5, 5.0};  // alpha (1/Å)
  std::vector<double> power_decays = {3.0, 5.0};        // n
  std::size_t angular_orders = 4;                       // K: cos(k th), k = 1..K (0: no three-body)
  double atm_exponent = 2.0;                            // power of 1/(r_ij r_ik r_jk)
  double switch_width = 1.0;                            // default mode: smooth cutoff width (Å)
  bool reference = false;                               // reproduce the reference code exactly

  /// Throws ParameterError naming the first value that is not finite or out of
  /// range (sizes are capped so a stored model cannot request huge tables).
  void validate() const;
  bool operator==(const CmbdfParameters&) const = default;

  void write(core::ByteWriter& out) const;
  /// Reads and validates; FormatError (through `in`) on bad values.
  static CmbdfParameters read(core::ByteReader& in);
};

/// Caps enforced by validate().
inline constexpr std::size_t kMaxCmbdfTablePoints = 65536;
inline constexpr std::size_t kMaxCmbdfDecays = 4;  // of each kind
inline constexpr std::size_t kMaxCmbdfAngularOrders = 8;
inline constexpr std::size_t kMaxCmbdfDerivativeOrders = 5;

/// Values per atom: derivative_orders * (radial weights + angular_orders).
std::size_t cmbdf_dimension(const CmbdfParameters& p);

class CmbdfTables;

/// The tables of `p`, built on first use and then shared: a small process-wide
/// cache keyed by the parameters, safe to call from several threads (the first
/// caller builds, the others wait). Throws ParameterError for invalid `p`.
std::shared_ptr<const CmbdfTables> cmbdf_tables(const CmbdfParameters& p);

/// cMBDF vectors of every atom of `m`: m.size() rows of cmbdf_dimension values,
/// row-major (row a = atom a), written to `out` (overwritten, exactly that size).
/// Throws InputError naming the molecule for coincident atoms or non-finite
/// coordinates; ParameterError for bad parameters or output size.
void cmbdf_atoms(const Molecule& m, const CmbdfParameters& p, std::span<double> out);
/// The same with tables the caller holds.
void cmbdf_atoms(const Molecule& m, const CmbdfTables& tables, std::span<double> out);

}  // namespace encmol::chem
