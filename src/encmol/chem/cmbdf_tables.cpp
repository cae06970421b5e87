#include "encmol/chem/cmbdf_tables.hpp"

#include <cmath>
#include <complex>
#include <mutex>
#include <numbers>
#include <string>

#include "encmol/chem/fft.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

using Spectrum = std::vector<std::complex<double>>;

// phi_m(x) of cmbdf.hpp, with the reference code's polynomial constants.
double kernel(std::size_t m, double x, double a) {
  const double sa = std::sqrt(a);
  const double y = sa * x;
  const double g = std::sqrt(a / std::numbers::pi) * std::exp(-a * x * x);
  double poly = 1.0;
  switch (m) {
    case 0:
      return g;
    case 1:
      poly = -2.0 * y;
      break;
    case 2:
      poly = 4.0 * y * y - 2.0 * sa;
      break;
    case 3:
      poly = -8.0 * y * y * y + 12.0 * y;
      break;
    default:
      poly = 16.0 * y * y * y * y - 48.0 * y * y + 12.0 * a;
      break;
  }
  return g * (-(a * a * sa)) * poly;  // (-sqrt(a))^5
}

struct DomainTables {
  std::vector<double> values;  // rows x (orders * weights)
  std::vector<double> scales;
};

// Spectra of real sequences (zero-padded to fft.size()), two per complex
// transform: with z = FFT(x + i y), X_q = (z_q + conj z_-q) / 2 and
// Y_q = (z_q - conj z_-q) / (2i).
std::vector<Spectrum> real_spectra(const Fft& fft, const std::vector<std::vector<double>>& seqs) {
  const std::size_t size = fft.size();
  std::vector<Spectrum> out(seqs.size());
  Spectrum z(size);
  for (std::size_t i = 0; i < seqs.size(); i += 2) {
    const bool pair = i + 1 < seqs.size();
    std::fill(z.begin(), z.end(), 0.0);
    for (std::size_t p = 0; p < seqs[i].size(); ++p) z[p].real(seqs[i][p]);
    if (pair) {
      for (std::size_t p = 0; p < seqs[i + 1].size(); ++p) z[p].imag(seqs[i + 1][p]);
    }
    fft.forward(z);
    if (!pair) {
      out[i] = z;
      continue;
    }
    out[i].resize(size);
    out[i + 1].resize(size);
    for (std::size_t q = 0; q < size; ++q) {
      const std::complex<double> a = z[q], b = std::conj(z[(size - q) & (size - 1)]);
      const std::complex<double> c = a - b;
      out[i][q] = 0.5 * (a + b);
      out[i + 1][q] = {0.5 * c.imag(), -0.5 * c.real()};
    }
  }
  return out;
}

// Tables of one domain [0, L) with N points: for each order m and weight w,
// raw[s] = h sum_{p<N} g_w(u_p) phi_m((s - shift - p) h), s < rows. This is
// entry s + N - 1 of the linear convolution of g_w with the kernel sampled at
// x_j = (j - (N - 1) - shift) h, j < N + rows - 1, computed by FFT of a size
// >= N + rows - 1 so the entries read are free of wrap-around.
DomainTables build_domain(double length, std::size_t n, bool reference, double a,
                          std::size_t orders, const std::vector<std::vector<double>>& weights) {
  const double h = length / static_cast<double>(n);
  const std::size_t rows = reference ? n : n + 1;
  const double shift = reference ? 1.0 : 0.0;
  const std::size_t kernel_length = n + rows - 1;
  const Fft fft(next_power_of_two(kernel_length));
  const std::size_t size = fft.size(), nw = weights.size(), width = orders * nw;

  std::vector<std::vector<double>> kernels(orders, std::vector<double>(kernel_length));
  for (std::size_t m = 0; m < orders; ++m) {
    for (std::size_t j = 0; j < kernel_length; ++j) {
      const double x = (static_cast<double>(j) - static_cast<double>(n - 1) - shift) * h;
      kernels[m][j] = kernel(m, x, a);
    }
  }
  const std::vector<Spectrum> kernel_spectra = real_spectra(fft, kernels);
  const std::vector<Spectrum> weight_spectra = real_spectra(fft, weights);

  DomainTables out;
  out.values.assign(rows * width, 0.0);
  out.scales.assign(width, 0.0);
  Spectrum product(size);
  std::vector<double> raw(rows);
  for (std::size_t m = 0; m < orders; ++m) {
    const Spectrum& k = kernel_spectra[m];
    // Two real convolutions per inverse transform: the inverse of
    // K G_w + i K G_{w+1} is c_w + i c_{w+1}, both real.
    for (std::size_t w = 0; w < nw; w += 2) {
      const bool pair = w + 1 < nw;
      const Spectrum& g = weight_spectra[w];
      for (std::size_t q = 0; q < size; ++q) {
        double re = k[q].real() * g[q].real() - k[q].imag() * g[q].imag();
        double im = k[q].real() * g[q].imag() + k[q].imag() * g[q].real();
        if (pair) {
          const std::complex<double> g2 = weight_spectra[w + 1][q];
          re -= k[q].real() * g2.imag() + k[q].imag() * g2.real();  // i (K G2): real part
          im += k[q].real() * g2.real() - k[q].imag() * g2.imag();
        }
        product[q] = {re, im};
      }
      fft.inverse(product);
      for (std::size_t which = 0; which < (pair ? 2u : 1u); ++which) {
        const std::size_t t = m * nw + w + which;
        double scale = 0.0;
        for (std::size_t s = 0; s < rows; ++s) {
          const std::complex<double> c = product[s + n - 1];
          raw[s] = h * (which == 0 ? c.real() : c.imag());
          scale = std::max(scale, std::abs(raw[s]));
        }
        if (!(scale > 0.0) || !std::isfinite(scale)) {
          throw ParameterError("cMBDF table " + std::to_string(t) +
                               " is zero or not finite; check the exponents and decays");
        }
        out.scales[t] = scale;
        for (std::size_t s = 0; s < rows; ++s) out.values[s * width + t] = raw[s] / scale;
      }
    }
  }
  return out;
}

}  // namespace

CmbdfTables::CmbdfTables(const CmbdfParameters& p) : params_(p) {
  p.validate();
  const std::size_t orders = p.derivative_orders;
  const std::size_t nr = p.radial_points, na = p.angular_points;
  radial_step_ = p.rcut / static_cast<double>(nr);
  angular_step_ = std::numbers::pi / static_cast<double>(na);
  radial_rows_ = p.reference ? nr : nr + 1;
  angular_rows_ = p.reference ? na : na + 1;

  std::vector<std::vector<double>> radial_weights;
  for (double alpha : p.exponential_decays) {
    std::vector<double> g(nr);
    for (std::size_t i = 0; i < nr; ++i)
      g[i] = std::exp(-alpha * static_cast<double>(i) * radial_step_);
    radial_weights.push_back(std::move(g));
  }
  for (double power : p.power_decays) {
    std::vector<double> g(nr);
    for (std::size_t i = 0; i < nr; ++i) {
      g[i] = std::pow(1.0 + static_cast<double>(i) * radial_step_, -power);
    }
    radial_weights.push_back(std::move(g));
  }
  radial_width_ = orders * radial_weights.size();
  auto radial = build_domain(p.rcut, nr, p.reference, p.radial_exponent, orders, radial_weights);
  radial_ = std::move(radial.values);
  radial_scale_ = std::move(radial.scales);

  angular_width_ = orders * p.angular_orders;
  if (p.angular_orders > 0) {
    std::vector<std::vector<double>> angular_weights;
    for (std::size_t k = 1; k <= p.angular_orders; ++k) {
      std::vector<double> g(na);
      for (std::size_t i = 0; i < na; ++i) {
        g[i] = std::cos(static_cast<double>(k) * static_cast<double>(i) * angular_step_);
      }
      angular_weights.push_back(std::move(g));
    }
    auto angular = build_domain(std::numbers::pi, na, p.reference, p.angular_exponent, orders,
                                angular_weights);
    angular_ = std::move(angular.values);
    angular_scale_ = std::move(angular.scales);
  }
}

std::shared_ptr<const CmbdfTables> cmbdf_tables(const CmbdfParameters& p) {
  // A handful of parameter sets per process at most (one per loaded model);
  // the oldest is dropped beyond that, its users keep their shared_ptr.
  constexpr std::size_t kCacheEntries = 4;
  static std::mutex mutex;
  static std::vector<std::shared_ptr<const CmbdfTables>> cache;
  p.validate();
  const std::lock_guard lock(mutex);
  for (const auto& t : cache) {
    if (t->parameters() == p) return t;
  }
  auto tables = std::make_shared<const CmbdfTables>(p);
  if (cache.size() >= kCacheEntries) cache.erase(cache.begin());
  cache.push_back(tables);
  return tables;
}

}  // namespace encmol::chem
