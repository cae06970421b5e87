// Random atomic networks and a plain-loop reference forward pass for the
// network tests.
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/ml/atomic_network.hpp"

namespace encmol::ml::testing {

/// A network with random weights of size ~`weight` (so powers stay tame).
inline AtomicNetwork random_network(std::size_t d, std::size_t targets, const std::vector<int>& elements,
                                    std::size_t depth, std::size_t width, int power, bool skip,
                                    std::uint64_t seed, double weight = 0.3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-weight, weight), positive(0.5, 2.0);
  auto mat = [&](std::size_t r, std::size_t c) {
    Eigen::MatrixXd m(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c));
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      for (Eigen::Index i = 0; i < m.rows(); ++i) m(i, j) = u(rng);
    return m;
  };
  auto vec = [&](std::size_t r) { return Eigen::VectorXd(mat(r, 1)); };
  AtomicNetwork net;
  net.depth = depth;
  net.width = width;
  net.power = power;
  net.linear_skip = skip;
  for (int z : elements) {
    ElementNetwork e;
    e.element = z;
    e.mean = vec(d);
    e.scale = Eigen::VectorXd(static_cast<Eigen::Index>(d));
    for (auto& s : e.scale) s = positive(rng);
    e.w0 = mat(width, d);
    e.b0 = vec(width);
    for (std::size_t l = 0; l < depth; ++l) {
      e.w.push_back(mat(width, width));
      e.b.push_back(vec(width));
      e.c.push_back(vec(width));
    }
    e.v = mat(targets, width);
    e.beta = vec(targets);
    if (skip) e.skip = mat(targets, d);
    net.networks.push_back(std::move(e));
  }
  return net;
}

/// The network's definition written as plain loops, molecule by molecule.
inline Eigen::MatrixXd reference_predict(const AtomicNetwork& net, const chem::AtomicFeatures& atoms) {
  const std::size_t d = atoms.dimension(), w = net.width, t = net.target_count();
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(atoms.molecule_count()), static_cast<Eigen::Index>(t));
  for (std::size_t m = 0; m < atoms.molecule_count(); ++m) {
    for (std::size_t a = atoms.offsets[m]; a < atoms.offsets[m + 1]; ++a) {
      const ElementNetwork& e = net.networks[static_cast<std::size_t>(net.find(atoms.charges[a]))];
      std::vector<double> z(d), h(w, 0.0);
      for (std::size_t j = 0; j < d; ++j) z[j] = (atoms.values(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(j)) - e.mean(j)) / e.scale(j);
      for (std::size_t i = 0; i < w; ++i) {
        h[i] = e.b0(i);
        for (std::size_t j = 0; j < d; ++j) h[i] += e.w0(i, j) * z[j];
      }
      for (std::size_t l = 0; l < net.depth; ++l) {
        std::vector<double> next = h;
        for (std::size_t i = 0; i < w; ++i) {
          double u = e.b[l](i);
          for (std::size_t j = 0; j < w; ++j) u += e.w[l](i, j) * h[j];
          next[i] += e.c[l](i) * std::pow(u, net.power);
        }
        h = next;
      }
      for (std::size_t k = 0; k < t; ++k) {
        double y = e.beta(k);
        for (std::size_t i = 0; i < w; ++i) y += e.v(k, i) * h[i];
        if (net.linear_skip)
          for (std::size_t j = 0; j < d; ++j) y += e.skip(k, j) * z[j];
        out(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(k)) += y;
      }
    }
  }
  return out;
}

}  // namespace encmol::ml::testing
