// An independent slow cMBDF for the tests: tables by the direct sum of their
// definition (no FFT), normalised by their largest value, and features by plain
// loops over every centre and every pair of other atoms (cmbdf.hpp has the
// equations).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <vector>

#include "encmol/chem/cmbdf.hpp"
#include "encmol/chem/molecule.hpp"

namespace encmol::chem::testing {

// phi_m(x): Gaussian times the reference polynomials, coefficients listed by power of y.
inline double slow_kernel(std::size_t m, double x, double a) {
  const double coefficients[5][5] = {{1, 0, 0, 0, 0},
                                     {0, -2, 0, 0, 0},
                                     {-2 * std::sqrt(a), 0, 4, 0, 0},
                                     {0, 12, 0, -8, 0},
                                     {12 * a, 0, -48, 0, 16}};
  const double y = std::sqrt(a) * x;
  double poly = 0;
  for (int d = 4; d >= 0; --d) poly = poly * y + coefficients[m][d];
  const double factor = m == 0 ? 1.0 : std::pow(-std::sqrt(a), 5);
  return std::sqrt(a / std::numbers::pi) * std::exp(-a * x * x) * factor * poly;
}

struct SlowTable {
  double step = 0;
  bool reference = false;
  std::vector<std::vector<double>> values;  // [table][row]
  std::vector<double> scales;

  double lookup(std::size_t t, double x) const {
    const auto& v = values[t];
    if (reference) return v[std::min(static_cast<std::size_t>(std::floor(x / step)), v.size() - 1)];
    const double pos = x / step;
    const std::size_t s = std::min(static_cast<std::size_t>(std::floor(pos)), v.size() - 2);
    const double f = pos - static_cast<double>(s);
    return v[s] * (1 - f) + v[s + 1] * f;
  }
};

inline double direct_raw(double length, std::size_t n, bool reference, double a, std::size_t m,
                         const std::function<double(double)>& g, std::size_t s) {
  const double h = length / static_cast<double>(n);
  const double t = (static_cast<double>(s) - (reference ? 1.0 : 0.0)) * h;
  double sum = 0;
  for (std::size_t p = 0; p < n; ++p) {
    const double u = static_cast<double>(p) * h;
    sum += g(u) * slow_kernel(m, t - u, a);
  }
  return h * sum;
}

inline std::vector<std::function<double(double)>> radial_weights(const CmbdfParameters& p) {
  std::vector<std::function<double(double)>> w;
  for (double alpha : p.exponential_decays)
    w.push_back([alpha](double u) { return std::exp(-alpha * u); });
  for (double n : p.power_decays) w.push_back([n](double u) { return 1 / std::pow(1 + u, n); });
  return w;
}

inline std::vector<std::function<double(double)>> angular_weights(const CmbdfParameters& p) {
  std::vector<std::function<double(double)>> w;
  for (std::size_t k = 1; k <= p.angular_orders; ++k) {
    w.push_back([k](double u) { return std::cos(static_cast<double>(k) * u); });
  }
  return w;
}

inline SlowTable slow_table(double length, std::size_t n, const CmbdfParameters& p, double a,
                            const std::vector<std::function<double(double)>>& weights) {
  SlowTable table;
  const double h = length / static_cast<double>(n);
  table.step = h;
  table.reference = p.reference;
  const std::size_t rows = p.reference ? n : n + 1;
  const double shift = p.reference ? 1.0 : 0.0;
  for (std::size_t m = 0; m < p.derivative_orders; ++m) {
    // The same direct sum as direct_raw, with phi_m sampled once per offset s - p.
    std::vector<double> phi(n + rows);
    for (std::size_t q = 0; q < phi.size(); ++q) {
      phi[q] = slow_kernel(m, (static_cast<double>(q) - static_cast<double>(n) - shift) * h, a);
    }
    for (const auto& g : weights) {
      std::vector<double> gu(n);
      for (std::size_t q = 0; q < n; ++q) gu[q] = g(static_cast<double>(q) * h);
      std::vector<double> v(rows);
      double scale = 0;
      for (std::size_t s = 0; s < rows; ++s) {
        double sum = 0;
        for (std::size_t q = 0; q < n; ++q) sum += gu[q] * phi[s + n - q];
        v[s] = h * sum;
        scale = std::max(scale, std::abs(v[s]));
      }
      for (double& x : v) x /= scale;
      table.values.push_back(std::move(v));
      table.scales.push_back(scale);
    }
  }
  return table;
}

struct SlowTables {
  SlowTable radial, angular;
};

inline SlowTables slow_tables(const CmbdfParameters& p) {
  return {
      slow_table(p.rcut, p.radial_points, p, p.radial_exponent, radial_weights(p)),
      slow_table(std::numbers::pi, p.angular_points, p, p.angular_exponent, angular_weights(p))};
}

inline std::vector<double> slow_cmbdf(const Molecule& mol, const CmbdfParameters& p,
                                      const SlowTables& tables) {
  const SlowTable& radial = tables.radial;
  const SlowTable& angular = tables.angular;
  const std::size_t n = mol.size(), nw = radial_weights(p).size(), nk = p.angular_orders;
  const std::size_t d = p.derivative_orders * (nw + nk);
  auto dist = [&](std::size_t a, std::size_t b) {
    double s = 0;
    for (int c = 0; c < 3; ++c) s += std::pow(mol.positions[a][c] - mol.positions[b][c], 2);
    return std::sqrt(s);
  };
  auto cosine = [&](std::size_t at, std::size_t a, std::size_t b) {
    double dot = 0;
    for (int c = 0; c < 3; ++c) {
      dot += (mol.positions[a][c] - mol.positions[at][c]) *
             (mol.positions[b][c] - mol.positions[at][c]);
    }
    return std::max(-1.0, std::min(1.0, dot / (dist(at, a) * dist(at, b))));
  };
  auto cut = [&](double r) {
    if (r >= p.rcut) return 0.0;
    if (p.reference || r <= p.rcut - p.switch_width) return 1.0;
    return 0.5 * (1 + std::cos(std::numbers::pi * (r - p.rcut + p.switch_width) / p.switch_width));
  };
  std::vector<double> x(n * d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double zi = mol.charges[i];
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double r = dist(i, j), zj = mol.charges[j];
      for (std::size_t t = 0; t < p.derivative_orders * nw; ++t) {
        x[i * d + t] += std::sqrt(zi * zj) * cut(r) * radial.lookup(t, r);
      }
    }
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t k = j + 1; k < n; ++k) {
        if (j == i || k == i) continue;
        double weight;
        if (p.reference) {  // the triangle's smallest index tests its two distances
          const std::size_t lo = std::min({i, j, k});
          std::vector<std::size_t> others;
          for (std::size_t q : {i, j, k}) {
            if (q != lo) others.push_back(q);
          }
          weight = dist(lo, others[0]) < p.rcut && dist(lo, others[1]) < p.rcut ? 1.0 : 0.0;
        } else {
          weight = cut(dist(i, j)) * cut(dist(i, k)) * cut(dist(j, k));
        }
        const double zj = mol.charges[j], zk = mol.charges[k];
        const double pref = 2 * weight * std::cbrt(zi * zj * zk) /
                            std::pow(dist(i, j) * dist(i, k) * dist(j, k), p.atm_exponent);
        const double theta = std::acos(cosine(i, j, k));
        for (std::size_t m = 0; m < p.derivative_orders; ++m) {
          for (std::size_t q = 0; q < nk; ++q) {
            const double atm = q == 0 ? cosine(j, i, k) * cosine(k, i, j) : 1.0;
            x[i * d + p.derivative_orders * nw + m * nk + q] +=
                pref * atm * angular.lookup(m * nk + q, theta);
          }
        }
      }
    }
  }
  return x;
}

}  // namespace encmol::chem::testing
