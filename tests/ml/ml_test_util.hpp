// Helpers shared by the ml tests: random features and synthetic molecules.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::ml::testing {

inline chem::FeatureMatrix random_features(int rows, int cols, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  chem::FeatureMatrix x(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) x(i, j) = u(rng);
  return x;
}

/// `molecules` random stacks of 1..max_atoms atoms of elements `elements`,
/// d values each in [-scale, scale].
inline chem::AtomicFeatures random_atomic_features(int molecules, int d, std::uint64_t seed,
                                                   std::vector<int> elements = {1, 6, 8},
                                                   int max_atoms = 6, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> atoms(1, max_atoms);
  std::uniform_int_distribution<std::size_t> element(0, elements.size() - 1);
  std::uniform_real_distribution<double> u(-scale, scale);
  chem::AtomicFeatures f;
  f.offsets.push_back(0);
  std::vector<double> values;
  for (int i = 0; i < molecules; ++i) {
    const int n = atoms(rng);
    for (int a = 0; a < n; ++a) {
      f.charges.push_back(elements[element(rng)]);
      for (int k = 0; k < d; ++k) values.push_back(u(rng));
    }
    f.offsets.push_back(f.charges.size());
  }
  f.values = Eigen::Map<chem::FeatureMatrix>(values.data(), static_cast<Eigen::Index>(f.charges.size()), d);
  return f;
}

/// Random small molecules of H, C, N, O on a jittered grid (atoms >= 1.2 Å
/// apart), with property "energy" = sum of per-element energies + a smooth
/// geometry-dependent term, and "second" = a different function.
inline std::vector<chem::Molecule> synthetic_molecules(int count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> natoms(2, 8);
  std::uniform_int_distribution<int> element(0, 3);
  std::uniform_real_distribution<double> jitter(-0.2, 0.2);
  const int z_of[4] = {1, 6, 7, 8};
  const double e_of[4] = {-0.5, -37.8, -54.6, -75.0};
  std::vector<chem::Molecule> out;
  for (int k = 0; k < count; ++k) {
    chem::Molecule m;
    m.name = "syn" + std::to_string(k);
    const int n = natoms(rng);
    double energy = 0, second = 0;
    for (int a = 0; a < n; ++a) {
      const int e = element(rng);
      m.charges.push_back(z_of[e]);
      m.positions.push_back({1.5 * (a % 3) + jitter(rng), 1.5 * ((a / 3) % 3) + jitter(rng), 1.5 * (a / 9) + jitter(rng)});
      energy += e_of[e];
    }
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < a; ++b) {
        const auto& p = m.positions[a];
        const auto& q = m.positions[b];
        const double r = std::sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2]));
        energy += 0.3 * m.charges[a] * m.charges[b] / (r * r * 10);
        second += std::exp(-r);
      }
    m.properties["energy"] = energy;
    m.properties["second"] = second;
    out.push_back(std::move(m));
  }
  return out;
}

/// Options for `family` on `rep` that learn both labels of
/// synthetic_molecules ("energy" in Ha, "second" without unit).
inline TrainOptions synthetic_options(ModelFamily family, chem::RepresentationKind rep) {
  TrainOptions opt;
  opt.family = family;
  opt.representation = rep;
  opt.targets = {"energy", "second"};
  opt.units = {"Ha", ""};
  return opt;
}

}  // namespace encmol::ml::testing
