#include "encmol/chem/cmbdf.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>

#include "encmol/chem/cmbdf_tables.hpp"
#include "encmol/chem/neighbor_list.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

void check_count(std::size_t v, std::size_t lo, std::size_t hi, const std::string& what) {
  if (v < lo || v > hi) {
    throw ParameterError("cMBDF " + what + " = " + std::to_string(v) + " is outside " +
                         std::to_string(lo) + ".." + std::to_string(hi));
  }
}

// lo < v <= hi when `open_low`, else lo <= v <= hi; NaN fails both.
void check_real(double v, double lo, double hi, bool open_low, const std::string& what) {
  const bool ok = (open_low ? v > lo : v >= lo) && v <= hi;
  if (!ok) {
    throw ParameterError("cMBDF " + what + " = " + number(v) + " is outside " +
                         (open_low ? "(" : "[") + number(lo) + ", " + number(hi) + "]");
  }
}

// Adds weight[t] * T_t(x) for every table t of one domain to out[t]:
// piecewise-linear interpolation (default) or truncation to the grid point
// below (reference).
void add_lookup(const double* __restrict table, std::size_t rows, std::size_t width, double step,
                bool reference, double x, const double* __restrict weight, double* __restrict out) {
  const double pos = x / step;
  if (reference) {
    const auto s = std::min(static_cast<std::size_t>(pos), rows - 1);
    const double* row = table + s * width;
    for (std::size_t t = 0; t < width; ++t) out[t] += weight[t] * row[t];
    return;
  }
  const auto s = std::min(static_cast<std::size_t>(pos), rows - 2);
  const double f = std::clamp(pos - static_cast<double>(s), 0.0, 1.0), g = 1.0 - f;
  const double* lo = table + s * width;
  const double* hi = lo + width;
  for (std::size_t t = 0; t < width; ++t) out[t] += weight[t] * (g * lo[t] + f * hi[t]);
}

// x^-e, by multiplication when e is a small whole number (the default 2):
// std::pow costs more than the rest of a three-body term.
class InversePower {
 public:
  explicit InversePower(double e)
      : e_(e), whole_(e == std::floor(e) && e <= 16 ? static_cast<int>(e) : -1) {}
  double operator()(double x) const {
    if (whole_ < 0) return std::pow(x, -e_);
    double v = 1.0;
    for (int k = 0; k < whole_; ++k) v *= x;
    return 1.0 / v;
  }

 private:
  double e_;
  int whole_;
};

}  // namespace

void CmbdfParameters::validate() const {
  check_real(rcut, 0, 100, true, "cutoff (Å)");
  check_count(radial_points, 64, kMaxCmbdfTablePoints, "radial table points");
  check_count(angular_points, 64, kMaxCmbdfTablePoints, "angular table points");
  check_real(radial_exponent, 1e-3, 1e3, false, "radial exponent (1/Å^2)");
  check_real(angular_exponent, 1e-3, 1e3, false, "angular exponent (1/rad^2)");
  check_count(derivative_orders, 1, kMaxCmbdfDerivativeOrders, "derivative orders");
  check_count(exponential_decays.size(), 0, kMaxCmbdfDecays, "number of exponential decays");
  check_count(power_decays.size(), 0, kMaxCmbdfDecays, "number of power decays");
  if (exponential_decays.empty() && power_decays.empty()) {
    throw ParameterError("cMBDF needs at least one radial weight (exponential or power decay)");
  }
  for (double v : exponential_decays) check_real(v, 0, 100, false, "exponential decay (1/Å)");
  for (double v : power_decays) check_real(v, 0, 100, false, "power decay");
  check_count(angular_orders, 0, kMaxCmbdfAngularOrders, "angular orders");
  check_real(atm_exponent, 0, 16, false, "three-body (ATM) exponent");
  check_real(switch_width, 0, rcut, true, "cutoff switching width (Å)");
}

void CmbdfParameters::write(core::ByteWriter& out) const {
  out.f64(rcut);
  out.u64(radial_points);
  out.u64(angular_points);
  out.f64(radial_exponent);
  out.f64(angular_exponent);
  out.u64(derivative_orders);
  out.f64_vector(exponential_decays);
  out.f64_vector(power_decays);
  out.u64(angular_orders);
  out.f64(atm_exponent);
  out.f64(switch_width);
  out.u8(reference ? 1 : 0);
}

CmbdfParameters CmbdfParameters::read(core::ByteReader& in) {
  CmbdfParameters p;
  // Counts are checked against the caps here, before the narrowing casts and
  // before the vectors are allocated (f64_vector checks its own length).
  auto count = [&](const char* what, std::size_t max) {
    const std::uint64_t v = in.u64();
    if (v > max) {
      in.fail(std::string("cMBDF ") + what + " " + std::to_string(v) + " exceeds the limit of " +
              std::to_string(max));
    }
    return static_cast<std::size_t>(v);
  };
  p.rcut = in.f64();
  p.radial_points = count("radial table points", kMaxCmbdfTablePoints);
  p.angular_points = count("angular table points", kMaxCmbdfTablePoints);
  p.radial_exponent = in.f64();
  p.angular_exponent = in.f64();
  p.derivative_orders = count("derivative orders", kMaxCmbdfDerivativeOrders);
  p.exponential_decays = in.f64_vector(kMaxCmbdfDecays);
  p.power_decays = in.f64_vector(kMaxCmbdfDecays);
  p.angular_orders = count("angular orders", kMaxCmbdfAngularOrders);
  p.atm_exponent = in.f64();
  p.switch_width = in.f64();
  const std::uint8_t mode = in.u8();
  if (mode > 1) in.fail("cMBDF mode flag " + std::to_string(mode) + " is not 0 or 1");
  p.reference = mode == 1;
  try {
    p.validate();
  } catch (const ParameterError& e) {
    in.fail(e.what());
  }
  return p;
}

std::size_t cmbdf_dimension(const CmbdfParameters& p) {
  p.validate();
  return p.derivative_orders *
         (p.exponential_decays.size() + p.power_decays.size() + p.angular_orders);
}

void cmbdf_atoms(const Molecule& m, const CmbdfParameters& p, std::span<double> out) {
  cmbdf_atoms(m, *cmbdf_tables(p), out);
}

void cmbdf_atoms(const Molecule& m, const CmbdfTables& tables, std::span<double> out) {
  const CmbdfParameters& p = tables.parameters();
  const std::size_t dim = cmbdf_dimension(p);
  validate_molecule(m, "cMBDF");
  const std::size_t n = m.size();
  if (out.size() != n * dim) {
    throw ParameterError("cmbdf_atoms: output holds " + std::to_string(out.size()) +
                         " values, expected " + std::to_string(n) + " atoms x " +
                         std::to_string(dim));
  }
  std::fill(out.begin(), out.end(), 0.0);
  const bool ref = p.reference;
  const double rc = p.rcut, width = p.switch_width;
  // Weight of a distance: the hard cutoff (reference) or the smooth switch.
  auto cutoff = [&](double r) {
    if (!(r < rc)) return 0.0;
    if (ref || r <= rc - width) return 1.0;
    return 0.5 * (1.0 + std::cos(std::numbers::pi * (r - (rc - width)) / width));
  };
  const NeighborList near(m, rc);
  std::vector<double> z(n), cbrt_z(n);
  for (std::size_t a = 0; a < n; ++a) {
    z[a] = static_cast<double>(m.charges[a]);
    cbrt_z[a] = std::cbrt(z[a]);
  }

  const std::size_t rw = tables.radial_width();
  const double* radial = tables.radial_row(0).data();
  double weight[kMaxCmbdfDerivativeOrders * 2 * kMaxCmbdfDecays];
  double increment[kMaxCmbdfDerivativeOrders * 2 * kMaxCmbdfDecays];
  for (std::size_t i = 0; i < n; ++i) {
    for (const Neighbor& nb : near.neighbors(i)) {
      const std::size_t j = nb.index;
      const double s = cutoff(nb.distance);
      if (j < i || s == 0.0) continue;
      // One lookup per pair; the same increment goes to both atoms.
      std::fill(weight, weight + rw, std::sqrt(z[i] * z[j]) * s);
      std::fill(increment, increment + rw, 0.0);
      add_lookup(radial, tables.radial_rows(), rw, tables.radial_step(), ref, nb.distance, weight,
                 increment);
      double* xi = out.data() + i * dim;
      double* xj = out.data() + j * dim;
      for (std::size_t t = 0; t < rw; ++t) {
        xi[t] += increment[t];
        xj[t] += increment[t];
      }
    }
  }
  if (p.angular_orders == 0) return;

  // Three-body: each triangle once, from its smallest atom index i (the
  // reference tests r_ij and r_ik only; the default mode weights by all three).
  const std::size_t aw = tables.angular_width(), k_count = p.angular_orders;
  const double* angular = tables.angular_row(0).data();
  const InversePower inverse_power(p.atm_exponent);
  double column[kMaxCmbdfDerivativeOrders * kMaxCmbdfAngularOrders];
  for (std::size_t i = 0; i < n; ++i) {
    const auto nbrs = near.neighbors(i);
    for (std::size_t a = 0; a < nbrs.size(); ++a) {
      const Neighbor& nj = nbrs[a];
      const double sj = cutoff(nj.distance);
      if (nj.index < i || sj == 0.0) continue;
      for (std::size_t b = a + 1; b < nbrs.size(); ++b) {
        const Neighbor& nk = nbrs[b];
        const double sk = cutoff(nk.distance);
        if (sk == 0.0) continue;
        const std::size_t j = nj.index, k = nk.index;
        const double rij = nj.distance, rik = nk.distance;
        const double rjk = distance(m.positions[j], m.positions[k]);
        const double sjk = ref ? 1.0 : cutoff(rjk);
        if (sjk == 0.0) continue;
        const Vec3& dj = nj.delta;                                    // r_j - r_i
        const Vec3& dk = nk.delta;                                    // r_k - r_i
        const Vec3 djk{dk[0] - dj[0], dk[1] - dj[1], dk[2] - dj[2]};  // r_k - r_j
        const double cosines[3] = {
            std::clamp((dj[0] * dk[0] + dj[1] * dk[1] + dj[2] * dk[2]) / (rij * rik), -1.0, 1.0),
            std::clamp(-(dj[0] * djk[0] + dj[1] * djk[1] + dj[2] * djk[2]) / (rij * rjk), -1.0,
                       1.0),
            std::clamp((dk[0] * djk[0] + dk[1] * djk[1] + dk[2] * djk[2]) / (rik * rjk), -1.0,
                       1.0)};
        const double pref = 2.0 * cbrt_z[i] * cbrt_z[j] * cbrt_z[k] * sj * sk * sjk *
                            inverse_power(rij * rik * rjk);
        // Column weights: pref everywhere, times cos th_c' cos th_c'' on k = 1.
        std::fill(column, column + aw, pref);
        const std::size_t centres[3] = {i, j, k};
        for (std::size_t c = 0; c < 3; ++c) {
          const double atm = pref * cosines[(c + 1) % 3] * cosines[(c + 2) % 3];
          for (std::size_t t = 0; t < aw; t += k_count) column[t] = atm;
          add_lookup(angular, tables.angular_rows(), aw, tables.angular_step(), ref,
                     std::acos(cosines[c]), column, out.data() + centres[c] * dim + rw);
        }
      }
    }
  }
}

}  // namespace encmol::chem
