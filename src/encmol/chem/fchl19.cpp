#include "encmol/chem/fchl19.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "encmol/chem/elements.hpp"
#include "encmol/chem/neighbor_list.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

std::string molecule_label(const Molecule& m) {
  return m.name.empty() ? std::string("molecule (unnamed)") : "molecule '" + m.name + "'";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

void check_count(std::size_t v, std::size_t hi, const char* what) {
  if (v < 1 || v > hi) {
    throw ParameterError(std::string("FCHL19 ") + what + " = " + std::to_string(v) +
                         " is outside 1.." + std::to_string(hi));
  }
}

// lo < v <= hi when `open_low`, else lo <= v <= hi; NaN fails both.
void check_real(double v, double lo, double hi, bool open_low, const char* what) {
  const bool ok = (open_low ? v > lo : v >= lo) && v <= hi;
  if (!ok) {
    throw ParameterError(std::string("FCHL19 ") + what + " = " + number(v) + " is outside " +
                         (open_low ? "(" : "[") + number(lo) + ", " + number(hi) + "]");
  }
}

void check_elements(std::span<const int> elements) {
  if (elements.empty()) throw ParameterError("FCHL19 needs at least one element");
  for (std::size_t e = 0; e < elements.size(); ++e) {
    if (!is_known_element(elements[e])) {
      throw ParameterError("FCHL19 element list holds " + std::to_string(elements[e]) +
                           ", which is not an element");
    }
    if (e > 0 && elements[e] <= elements[e - 1]) {
      throw ParameterError("FCHL19 element list is not strictly ascending");
    }
  }
}

std::string element_list(std::span<const int> elements) {
  std::string s;
  for (int z : elements) s += (s.empty() ? "" : " ") + std::string(element_symbol(z));
  return s;
}

double cutoff_function(double r, double c) {
  return 0.5 * (std::cos(std::numbers::pi * r / c) + 1.0);
}

// exp(-eta (x - S_l)^2) on the grid S_l = step (l + 1), l < count, from three
// exponentials instead of `count`: start at the grid point nearest x and walk
// outwards. With d = x - S_l, the ratio to the next point up is
// exp(2 eta step d - eta step^2) and to the next one down exp(-2 eta step d -
// eta step^2); both shrink by q = exp(-2 eta step^2) per step and are <= 1, so
// values only decrease (an underflow to 0 is where the true value is below
// the smallest double anyway). Relative error: a few ulp per step.
class GaussianGrid {
 public:
  GaussianGrid(double eta, double step, std::size_t count)
      : eta_(eta), step_(step), count_(count), q_(std::exp(-2.0 * eta * step * step)) {}

  void evaluate(double x, double scale, double* out) const {
    const double nearest = std::round(x / step_) - 1.0;
    const std::size_t l0 =
        static_cast<std::size_t>(std::clamp(nearest, 0.0, static_cast<double>(count_ - 1)));
    const double d = x - step_ * static_cast<double>(l0 + 1);
    const double g0 = scale * std::exp(-eta_ * d * d);
    const double e2 = eta_ * step_ * step_;
    out[l0] = g0;
    double g = g0, ratio = std::exp(2.0 * eta_ * step_ * d - e2);
    for (std::size_t l = l0 + 1; l < count_; ++l) {
      g *= ratio;
      ratio *= q_;
      out[l] = g;
    }
    g = g0;
    ratio = std::exp(-2.0 * eta_ * step_ * d - e2);
    for (std::size_t l = l0; l-- > 0;) {
      g *= ratio;
      ratio *= q_;
      out[l] = g;
    }
  }

 private:
  double eta_, step_;
  std::size_t count_;
  double q_;
};

}  // namespace

void Fchl19Parameters::validate() const {
  check_count(n2, kMaxFchl19GridPoints, "n2 (two-body grid points)");
  check_count(n3, kMaxFchl19GridPoints, "n3 (three-body grid points)");
  check_count(fourier_orders, kMaxFchl19FourierOrders, "Fourier orders");
  check_real(eta2, 0, 100, true, "eta2 (two-body variance, Å^2)");
  check_real(eta3, 0, 1000, true, "eta3 (three-body exponent, 1/Å^2)");
  check_real(zeta, 0, 100, false, "zeta (angular width)");
  check_real(rcut, 0, 100, true, "two-body cutoff (Å)");
  check_real(acut, 0, 100, true, "three-body cutoff (Å)");
  check_real(two_body_decay, 0, 16, false, "two-body decay");
  check_real(three_body_decay, 0, 16, false, "three-body decay");
  check_real(three_body_weight, 0, 1e6, false, "three-body weight");
}

void Fchl19Parameters::write(core::ByteWriter& out) const {
  out.u64(n2);
  out.u64(n3);
  out.u64(fourier_orders);
  for (double v :
       {eta2, eta3, zeta, rcut, acut, two_body_decay, three_body_decay, three_body_weight}) {
    out.f64(v);
  }
}

Fchl19Parameters Fchl19Parameters::read(core::ByteReader& in) {
  Fchl19Parameters p;
  // Sizes are range-checked by validate() below; reading them as u64 first
  // keeps a huge stored value from wrapping on narrowing.
  const std::uint64_t n2 = in.u64(), n3 = in.u64(), nf = in.u64();
  if (n2 > kMaxFchl19GridPoints || n3 > kMaxFchl19GridPoints || nf > kMaxFchl19FourierOrders) {
    in.fail("FCHL19 grid sizes " + std::to_string(n2) + ", " + std::to_string(n3) + ", " +
            std::to_string(nf) + " exceed the limits (" + std::to_string(kMaxFchl19GridPoints) +
            ", " + std::to_string(kMaxFchl19GridPoints) + ", " +
            std::to_string(kMaxFchl19FourierOrders) + ")");
  }
  p.n2 = static_cast<std::size_t>(n2);
  p.n3 = static_cast<std::size_t>(n3);
  p.fourier_orders = static_cast<std::size_t>(nf);
  for (double* v : {&p.eta2, &p.eta3, &p.zeta, &p.rcut, &p.acut, &p.two_body_decay,
                    &p.three_body_decay, &p.three_body_weight}) {
    *v = in.f64();
  }
  try {
    p.validate();
  } catch (const ParameterError& e) {
    in.fail(e.what());
  }
  return p;
}

std::size_t fchl19_dimension(const Fchl19Parameters& p, std::size_t element_count) {
  p.validate();
  if (element_count < 1 || element_count > static_cast<std::size_t>(kMaxAtomicNumber)) {
    throw ParameterError("FCHL19 element count " + std::to_string(element_count) +
                         " is outside 1.." + std::to_string(kMaxAtomicNumber));
  }
  const std::size_t pairs = element_count * (element_count + 1) / 2;
  const std::size_t d = element_count * p.n2 + pairs * p.n3 * 2 * p.fourier_orders;
  if (d > kMaxFchl19Dimension) {
    throw ParameterError("FCHL19 with " + std::to_string(element_count) + " elements has " +
                         std::to_string(d) + " values per atom, more than the limit of " +
                         std::to_string(kMaxFchl19Dimension));
  }
  return d;
}

void fchl19_atoms(const Molecule& m, std::span<const int> elements, const Fchl19Parameters& p,
                  std::span<double> out) {
  check_elements(elements);
  const std::size_t ne = elements.size();
  const std::size_t dim = fchl19_dimension(p, ne);
  validate_molecule(m, "FCHL19");
  const std::size_t n = m.size();
  if (out.size() != n * dim) {
    throw ParameterError("fchl19_atoms: output holds " + std::to_string(out.size()) +
                         " values, expected " + std::to_string(n) + " atoms x " +
                         std::to_string(dim));
  }
  std::array<int, kMaxAtomicNumber + 1> slot;
  slot.fill(-1);
  for (std::size_t e = 0; e < ne; ++e)
    slot[static_cast<std::size_t>(elements[e])] = static_cast<int>(e);
  std::vector<std::size_t> elem(n);
  for (std::size_t a = 0; a < n; ++a) {
    const int z = m.charges[a];
    if (slot[static_cast<std::size_t>(z)] < 0) {
      throw InputError(molecule_label(m) + ": atom " + std::to_string(a + 1) + " is " +
                       std::string(element_symbol(z)) +
                       ", which this FCHL19 representation does not cover (elements " +
                       element_list(elements) + "); use a model trained with " +
                       std::string(element_symbol(z)) + " in its element list");
    }
    elem[a] = static_cast<std::size_t>(slot[static_cast<std::size_t>(z)]);
  }
  std::fill(out.begin(), out.end(), 0.0);

  // Two-body: each unordered pair once, the same values added to both atoms.
  const std::size_t n2 = p.n2;
  std::vector<double> log_r(n2), inv_r(n2), values(n2);
  for (std::size_t k = 0; k < n2; ++k) {
    const double rk = p.rcut * static_cast<double>(k + 1) / static_cast<double>(n2);
    log_r[k] = std::log(rk);
    inv_r[k] = 1.0 / rk;
  }
  const double inv_sqrt_2pi = 1.0 / std::sqrt(2.0 * std::numbers::pi);
  const NeighborList near2(m, p.rcut);
  for (std::size_t i = 0; i < n; ++i) {
    for (const Neighbor& nb : near2.neighbors(i)) {
      const std::size_t j = nb.index;
      if (j < i) continue;
      const double r = nb.distance;
      const double s2 = std::log1p(p.eta2 / (r * r));
      const double mu = std::log(r) - 0.5 * s2;
      const double scale =
          inv_sqrt_2pi / std::sqrt(s2) * cutoff_function(r, p.rcut) / std::pow(r, p.two_body_decay);
      const double inv_2s2 = 0.5 / s2;
      for (std::size_t k = 0; k < n2; ++k) {
        const double d = log_r[k] - mu;
        values[k] = scale * inv_r[k] * std::exp(-d * d * inv_2s2);
      }
      double* xi = out.data() + i * dim + elem[j] * n2;
      double* xj = out.data() + j * dim + elem[i] * n2;
      for (std::size_t k = 0; k < n2; ++k) {
        xi[k] += values[k];
        xj[k] += values[k];
      }
    }
  }

  // Three-body: for centre i, every unordered pair of neighbours within acut.
  const std::size_t n3 = p.n3, nf = p.fourier_orders, width = 2 * nf;
  const double c3 = p.three_body_weight * std::sqrt(p.eta3 / std::numbers::pi);
  const GaussianGrid gaussians(p.eta3, p.acut / static_cast<double>(n3), n3);
  std::vector<double> radial(n3), angular(width), damp(nf), fc;
  for (std::size_t f = 0; f < nf; ++f) {
    const double o = static_cast<double>(2 * f + 1);
    damp[f] = 2.0 * std::exp(-0.5 * (p.zeta * o) * (p.zeta * o));
  }
  const NeighborList near3(m, p.acut);
  const std::size_t two_body = ne * n2;
  for (std::size_t i = 0; i < n; ++i) {
    const auto nbrs = near3.neighbors(i);
    fc.resize(nbrs.size());
    for (std::size_t a = 0; a < nbrs.size(); ++a) fc[a] = cutoff_function(nbrs[a].distance, p.acut);
    for (std::size_t a = 0; a < nbrs.size(); ++a) {
      const Neighbor& nj = nbrs[a];
      for (std::size_t b = a + 1; b < nbrs.size(); ++b) {
        const Neighbor& nk = nbrs[b];
        const double rij = nj.distance, rik = nk.distance;
        const Vec3& dj = nj.delta;                                    // r_j - r_i
        const Vec3& dk = nk.delta;                                    // r_k - r_i
        const Vec3 djk{dk[0] - dj[0], dk[1] - dj[1], dk[2] - dj[2]};  // r_k - r_j
        const double rjk = distance(m.positions[nj.index], m.positions[nk.index]);
        const double dot_i = dj[0] * dk[0] + dj[1] * dk[1] + dj[2] * dk[2];
        const double dot_j = -(dj[0] * djk[0] + dj[1] * djk[1] + dj[2] * djk[2]);
        const double dot_k = dk[0] * djk[0] + dk[1] * djk[1] + dk[2] * djk[2];
        const double cos_i = std::clamp(dot_i / (rij * rik), -1.0, 1.0);
        const double cos_j = dot_j / (rij * rjk);
        const double cos_k = dot_k / (rik * rjk);
        const double weight = c3 * (1.0 + 3.0 * cos_i * cos_j * cos_k) /
                              std::pow(rij * rik * rjk, p.three_body_decay);
        gaussians.evaluate(0.5 * (rij + rik), weight * fc[a] * fc[b], radial.data());
        // cos(o th), sin(o th) for odd o as powers of e^{i th}; th is in [0, pi],
        // so sin th = sqrt((1 - cos th)(1 + cos th)) >= 0.
        const double sin_i = std::sqrt(std::max(0.0, (1.0 - cos_i) * (1.0 + cos_i)));
        const double z2r = cos_i * cos_i - sin_i * sin_i, z2i = 2.0 * cos_i * sin_i;
        double zr = cos_i, zi = sin_i;
        for (std::size_t f = 0; f < nf; ++f) {
          angular[2 * f] = damp[f] * zr;
          angular[2 * f + 1] = damp[f] * zi;
          const double next_r = zr * z2r - zi * z2i;
          zi = zr * z2i + zi * z2r;
          zr = next_r;
        }
        const std::size_t ej = elem[nj.index], ek = elem[nk.index];
        const std::size_t lo = std::min(ej, ek), hi = std::max(ej, ek);
        const std::size_t pair = lo * ne - lo * (lo + 1) / 2 + hi;
        double* x = out.data() + i * dim + two_body + pair * n3 * width;
        if (width == 2) {  // the default (one Fourier order): a loop the compiler vectorises
          const double a0 = angular[0], a1 = angular[1];
          for (std::size_t l = 0; l < n3; ++l) {
            x[2 * l] += radial[l] * a0;
            x[2 * l + 1] += radial[l] * a1;
          }
        } else {
          for (std::size_t l = 0; l < n3; ++l) {
            for (std::size_t c = 0; c < width; ++c) x[l * width + c] += radial[l] * angular[c];
          }
        }
      }
    }
  }
}

}  // namespace encmol::chem
