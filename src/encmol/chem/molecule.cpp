#include "encmol/chem/molecule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

std::string format_position(const Vec3& p) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "(%.6g, %.6g, %.6g)", p[0], p[1], p[2]);
  return buf;
}

}  // namespace

void validate_molecule(const Molecule& molecule, const std::string& context) {
  const std::string where =
      molecule.name.empty() ? context : context + " (molecule '" + molecule.name + "')";
  if (molecule.charges.empty()) {
    throw InputError(where + ": molecule has no atoms");
  }
  if (molecule.charges.size() != molecule.positions.size()) {
    throw InputError(where + ": " + std::to_string(molecule.charges.size()) +
                     " nuclear charges but " + std::to_string(molecule.positions.size()) +
                     " positions");
  }
  if (molecule.size() > kMaxAtomsPerMolecule) {
    throw InputError(where + ": molecule has " + std::to_string(molecule.size()) +
                     " atoms, more than the limit of " + std::to_string(kMaxAtomsPerMolecule));
  }
  for (std::size_t i = 0; i < molecule.size(); ++i) {
    if (!is_known_element(molecule.charges[i])) {
      throw InputError(where + ": atom " + std::to_string(i + 1) + " has nuclear charge " +
                       std::to_string(molecule.charges[i]) + ", which is not an element (1 to " +
                       std::to_string(kMaxAtomicNumber) + ")");
    }
    for (double x : molecule.positions[i]) {
      if (!std::isfinite(x)) {
        throw InputError(where + ": atom " + std::to_string(i + 1) +
                         " has a non-finite coordinate " + format_position(molecule.positions[i]));
      }
    }
  }
  // Sort by x so only pairs within the threshold along x are compared: O(n log n)
  // for ordinary geometries instead of all n^2 pairs.
  std::vector<std::size_t> order(molecule.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return molecule.positions[a][0] < molecule.positions[b][0];
  });
  const double limit2 = kMinInteratomicDistance * kMinInteratomicDistance;
  for (std::size_t a = 0; a < order.size(); ++a) {
    const Vec3& p = molecule.positions[order[a]];
    for (std::size_t b = a + 1; b < order.size(); ++b) {
      const Vec3& q = molecule.positions[order[b]];
      const double dx = q[0] - p[0];
      if (dx >= kMinInteratomicDistance) break;
      const double dy = q[1] - p[1];
      const double dz = q[2] - p[2];
      const double d2 = dx * dx + dy * dy + dz * dz;
      if (d2 < limit2) {
        const std::size_t i = std::min(order[a], order[b]);
        const std::size_t j = std::max(order[a], order[b]);
        char dist[96];
        std::snprintf(dist, sizeof(dist),
                      "%.4g Å apart (coincident atoms; the minimum allowed distance is %g",
                      std::sqrt(d2), kMinInteratomicDistance);
        throw InputError(where + ": atoms " + std::to_string(i + 1) + " and " +
                         std::to_string(j + 1) + " are " + dist +
                         " Å); check the coordinates and their units");
      }
    }
  }
}

std::string molecular_formula(const Molecule& molecule) {
  std::map<int, std::size_t> counts;
  for (int z : molecule.charges) ++counts[z];
  std::vector<std::pair<std::string, std::size_t>> parts;
  const bool has_carbon = counts.count(6) > 0;
  for (const auto& [z, n] : counts) {
    if (has_carbon && (z == 6 || z == 1)) continue;
    std::string symbol;
    if (is_known_element(z)) {
      symbol = element_symbol(z);
    } else {
      symbol = "Z";
      symbol += std::to_string(z);
    }
    parts.emplace_back(std::move(symbol), n);
  }
  std::sort(parts.begin(), parts.end());
  if (has_carbon) {
    if (counts.count(1)) parts.insert(parts.begin(), {"H", counts[1]});
    parts.insert(parts.begin(), {"C", counts[6]});
  }
  std::string out;
  for (const auto& [symbol, n] : parts) {
    out += symbol;
    if (n > 1) out += std::to_string(n);
  }
  return out;
}

}  // namespace encmol::chem
