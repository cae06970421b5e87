#include "encmol/chem/coulomb_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

std::string molecule_label(const Molecule& m) {
  return m.name.empty() ? std::string("molecule (unnamed)") : "molecule '" + m.name + "'";
}

}  // namespace

double coulomb_self_term(int z) { return 0.5 * std::pow(static_cast<double>(z), 2.4); }

std::vector<double> coulomb_matrix_full(const Molecule& molecule) {
  const std::size_t n = molecule.size();
  if (molecule.positions.size() != n) {
    throw InputError(molecule_label(molecule) + ": " + std::to_string(n) + " nuclear charges but " +
                     std::to_string(molecule.positions.size()) + " positions");
  }
  std::vector<double> m(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    const int zi = molecule.charges[i];
    if (zi < 1) {
      throw InputError(molecule_label(molecule) + ": atom " + std::to_string(i + 1) +
                       " has nuclear charge " + std::to_string(zi) + "; charges must be >= 1");
    }
    m[i * n + i] = coulomb_self_term(zi);
    for (std::size_t j = 0; j < i; ++j) {
      const auto& a = molecule.positions[i];
      const auto& b = molecule.positions[j];
      const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
      const double r = std::sqrt(dx * dx + dy * dy + dz * dz);
      if (!(r >= kMinInteratomicDistance) || !std::isfinite(r)) {
        throw InputError(molecule_label(molecule) + ": atoms " + std::to_string(j + 1) + " and " +
                         std::to_string(i + 1) + " are " + std::to_string(r) +
                         " Å apart (coincident or non-finite coordinates); the Coulomb matrix "
                         "needs distinct atoms");
      }
      const double v = static_cast<double>(zi) * molecule.charges[j] / r;
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  return m;
}

void sorted_coulomb_matrix(const Molecule& molecule, std::size_t max_atoms, std::span<double> out) {
  const std::size_t n = molecule.size();
  if (out.size() != coulomb_matrix_size(max_atoms)) {
    throw ParameterError("sorted_coulomb_matrix: output holds " + std::to_string(out.size()) +
                         " values, expected " + std::to_string(coulomb_matrix_size(max_atoms)));
  }
  if (n > max_atoms) {
    throw InputError(molecule_label(molecule) + " has " + std::to_string(n) +
                     " atoms; this Coulomb-matrix representation supports at most " +
                     std::to_string(max_atoms) +
                     " (the largest training molecule). Use a model trained on larger molecules.");
  }
  const std::vector<double> m = coulomb_matrix_full(molecule);
  // Row norms are summed over the row's values in sorted order, so the result
  // (and hence the atom order) is bit-identical for any input atom order.
  std::vector<double> norms(n);
  std::vector<double> row(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) row[j] = m[i * n + j] * m[i * n + j];
    std::sort(row.begin(), row.end());
    norms[i] = std::accumulate(row.begin(), row.end(), 0.0);
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (norms[a] != norms[b]) return norms[a] > norms[b];
    return molecule.charges[a] > molecule.charges[b];
  });
  std::fill(out.begin(), out.end(), 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t base = i * (i + 1) / 2;
    for (std::size_t j = 0; j <= i; ++j) out[base + j] = m[order[i] * n + order[j]];
  }
}

}  // namespace encmol::chem
