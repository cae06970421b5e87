// Radix-2 complex FFT, used to build the cMBDF convolution tables (a few
// 2^15-point transforms; no FFT library needed at that size).
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

namespace encmol::chem {

class Fft {
 public:
  /// `size` must be a power of two >= 2 (ParameterError otherwise).
  explicit Fft(std::size_t size);
  std::size_t size() const { return size_; }

  /// In place: a_k <- sum_j a_j exp(-2 pi i j k / size). `a` must hold size() values.
  void forward(std::vector<std::complex<double>>& a) const { transform(a, false); }
  /// In place, the inverse including the 1/size factor.
  void inverse(std::vector<std::complex<double>>& a) const { transform(a, true); }

 private:
  void transform(std::vector<std::complex<double>>& a, bool inverse) const;
  std::size_t size_;
  std::vector<std::complex<double>> twiddle_;  // per stage, see the constructor
  std::vector<std::size_t> swap_;              // bit-reversal pairs (i < j), flattened
};

/// Smallest power of two >= n (n >= 1).
std::size_t next_power_of_two(std::size_t n);

}  // namespace encmol::chem
