#include "encmol/chem/fft.hpp"

#include <cmath>
#include <numbers>
#include <string>
#include <utility>

#include "encmol/core/error.hpp"

namespace encmol::chem {

std::size_t next_power_of_two(std::size_t n) {
  std::size_t m = 1;
  while (m < n) m <<= 1;
  return m;
}

Fft::Fft(std::size_t size) : size_(size) {
  if (size < 2 || (size & (size - 1)) != 0) {
    throw ParameterError("FFT size " + std::to_string(size) + " is not a power of two >= 2");
  }
  // Twiddles stage by stage, so each stage reads them contiguously: stage
  // `len` uses exp(-2 pi i k / len), k < len / 2, stored from offset len/2 - 1.
  // Each is computed from its own cos/sin, so rounding does not accumulate.
  twiddle_.resize(size - 1);
  for (std::size_t len = 2; len <= size; len <<= 1) {
    for (std::size_t k = 0; k < len / 2; ++k) {
      const double angle =
          -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(len);
      twiddle_[len / 2 - 1 + k] = {std::cos(angle), std::sin(angle)};
    }
  }
  std::size_t bits = 0;
  while ((std::size_t{1} << bits) < size) ++bits;
  for (std::size_t i = 0; i < size; ++i) {
    std::size_t r = 0;
    for (std::size_t b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    if (i < r) {
      swap_.push_back(i);
      swap_.push_back(r);
    }
  }
}

void Fft::transform(std::vector<std::complex<double>>& a, bool inverse) const {
  if (a.size() != size_) {
    throw ParameterError("FFT input has " + std::to_string(a.size()) + " values, expected " +
                         std::to_string(size_));
  }
  for (std::size_t s = 0; s < swap_.size(); s += 2) std::swap(a[swap_[s]], a[swap_[s + 1]]);
  // Iterative Cooley-Tukey, decimation in time, on the interleaved doubles
  // (std::complex's operator* checks for NaN/inf through a library call, which
  // would dominate). The inverse uses conjugate twiddles.
  double* x = reinterpret_cast<double*>(a.data());
  const double sign = inverse ? -1.0 : 1.0;
  // The first two stages have trivial twiddles (1 and -+i); done together they
  // avoid the loop overhead of their one- and two-element inner loops.
  std::size_t first = 2;
  if (size_ >= 4) {
    for (std::size_t start = 0; start < 2 * size_; start += 8) {
      double* q = x + start;
      const double ar = q[0] + q[2], ai = q[1] + q[3], br = q[0] - q[2], bi = q[1] - q[3];
      const double cr = q[4] + q[6], ci = q[5] + q[7], dr = q[4] - q[6], di = q[5] - q[7];
      // d * w with w = -i (forward) or +i (inverse).
      const double er = sign * di, ei = -sign * dr;
      q[0] = ar + cr;
      q[1] = ai + ci;
      q[4] = ar - cr;
      q[5] = ai - ci;
      q[2] = br + er;
      q[3] = bi + ei;
      q[6] = br - er;
      q[7] = bi - ei;
    }
    first = 8;
  }
  for (std::size_t len = first; len <= size_; len <<= 1) {
    const std::size_t half = len / 2;
    const std::complex<double>* tw = twiddle_.data() + half - 1;
    for (std::size_t start = 0; start < size_; start += len) {
      double* lo = x + 2 * start;
      double* hi = lo + 2 * half;
      for (std::size_t k = 0; k < half; ++k) {
        const double wr = tw[k].real(), wi = sign * tw[k].imag();
        const double vr = hi[2 * k] * wr - hi[2 * k + 1] * wi;
        const double vi = hi[2 * k] * wi + hi[2 * k + 1] * wr;
        const double ur = lo[2 * k], ui = lo[2 * k + 1];
        lo[2 * k] = ur + vr;
        lo[2 * k + 1] = ui + vi;
        hi[2 * k] = ur - vr;
        hi[2 * k + 1] = ui - vi;
      }
    }
  }
  if (inverse) {
    const double scale = 1.0 / static_cast<double>(size_);
    for (std::size_t i = 0; i < 2 * size_; ++i) x[i] *= scale;
  }
}

}  // namespace encmol::chem
