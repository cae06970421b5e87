// Helpers shared by the audit tests: bundled QM7 (read once), hand-made
// symmetric molecules, small trained models.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::audit::testing {

inline const std::vector<chem::Molecule>& qm7() {
  static const std::vector<chem::Molecule> molecules =
      chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  return molecules;
}

/// Molecules [begin, end) of QM7 in file order.
inline std::vector<chem::Molecule> qm7_range(std::size_t begin, std::size_t end) {
  return {qm7().begin() + static_cast<std::ptrdiff_t>(begin), qm7().begin() + static_cast<std::ptrdiff_t>(end)};
}

inline chem::Molecule methane() {
  const double a = 1.089 / std::sqrt(3.0);
  return {"methane", {6, 1, 1, 1, 1}, {{0, 0, 0}, {a, a, a}, {a, -a, -a}, {-a, a, -a}, {-a, -a, a}}, {}};
}

/// Benzene (D6h): C-C 1.39 Å, C-H 1.09 Å, planar.
inline chem::Molecule benzene() {
  chem::Molecule m{"benzene", {}, {}, {}};
  for (int k = 0; k < 6; ++k) {
    const double t = k * M_PI / 3.0;
    m.charges.push_back(6);
    m.positions.push_back({1.39 * std::cos(t), 1.39 * std::sin(t), 0.0});
  }
  for (int k = 0; k < 6; ++k) {
    const double t = k * M_PI / 3.0;
    m.charges.push_back(1);
    m.positions.push_back({2.48 * std::cos(t), 2.48 * std::sin(t), 0.0});
  }
  return m;
}

/// Acetylene H-C≡C-H (linear).
inline chem::Molecule acetylene() {
  return {"acetylene", {1, 6, 6, 1}, {{-1.665, 0, 0}, {-0.6, 0, 0}, {0.6, 0, 0}, {1.665, 0, 0}}, {}};
}

inline chem::Molecule water() {
  return {"water", {8, 1, 1}, {{0, 0, 0.1173}, {0, 0.7572, -0.4692}, {0, -0.7572, -0.4692}}, {}};
}

/// Rotates, translates and (optionally) mirrors a molecule, and reverses its atom order.
inline chem::Molecule moved(const chem::Molecule& m, bool mirror, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const double a = 3 * u(rng), b = 3 * u(rng), c = 3 * u(rng);
  const double ca = std::cos(a), sa = std::sin(a), cb = std::cos(b), sb = std::sin(b), cc = std::cos(c), sc = std::sin(c);
  const double r[3][3] = {{cb * cc, -cb * sc, sb},
                          {sa * sb * cc + ca * sc, -sa * sb * sc + ca * cc, -sa * cb},
                          {-ca * sb * cc + sa * sc, ca * sb * sc + sa * cc, ca * cb}};
  chem::Molecule out = m;
  out.charges.assign(m.charges.rbegin(), m.charges.rend());
  out.positions.clear();
  for (auto it = m.positions.rbegin(); it != m.positions.rend(); ++it) {
    chem::Vec3 p{};
    for (int i = 0; i < 3; ++i) p[i] = r[i][0] * (*it)[0] + r[i][1] * (*it)[1] + r[i][2] * (*it)[2] + 5.0 * i;
    if (mirror) p[0] = -p[0];
    out.positions.push_back(p);
  }
  return out;
}

/// Laplacian KRR with the QM7 anchor sigmas (tests/ml/qm7_anchor_test.cpp), no CV.
inline ml::Model train_small(const std::vector<chem::Molecule>& molecules, chem::RepresentationKind kind,
                             double lambda = 1e-10,
                             const std::vector<chem::Molecule>& capacity_for = {}) {
  ml::TrainOptions o;
  o.representation = kind;
  o.kernel = ml::KernelKind::Laplacian;
  o.sigmas = {kind == chem::RepresentationKind::CoulombMatrix ? std::pow(10.0, 4.2) : 26214.4};
  o.lambdas = {lambda};
  o.targets = {"ae_pbe0"};
  if (!capacity_for.empty()) o.representation_options = chem::capacity_for(capacity_for);
  return ml::train_krr(molecules, o).model;
}

}  // namespace encmol::audit::testing
