// CKKS encoder: slot vectors <-> plaintext polynomials via the canonical
// embedding. Slot k is the evaluation of the polynomial at zeta^(5^k) with
// zeta = exp(i*pi/N), so rotating slots left by r is the Galois map
// X -> X^(5^r) and conjugating every slot is X -> X^(2N-1).
//
// With m(X) = sum_j Re(w_j) X^j + Im(w_j) X^(j+N/2) (j < N/2) and
// zeta_k^(N/2) = i for every slot point, m(zeta_k) = W(zeta_k) for the complex
// polynomial W = sum_j w_j X^j; the slot points are zeta^(1+4t), t < N/2, so
// decoding is a twist by zeta^j followed by a length-N/2 complex FFT and a
// fixed permutation (and encoding the inverse).
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/types.hpp"

namespace encmol::ckks {

class Encoder {
 public:
  explicit Encoder(std::shared_ptr<const Context> ctx);

  std::size_t slots() const { return ctx_->slots(); }
  const Context& context() const { return *ctx_; }

  /// Encodes up to slots() values (the rest are zero) at `scale` for a
  /// ciphertext at `level`. Throws InputError for too many or non-finite
  /// values, ParameterError when value*scale does not fit q_0..q_level.
  Plaintext encode(std::span<const double> values, double scale, std::size_t level) const;
  Plaintext encode(std::span<const std::complex<double>> values, double scale, std::size_t level) const;
  /// At the default scale and the top level.
  Plaintext encode(std::span<const double> values) const;
  Plaintext encode(std::span<const std::complex<double>> values) const;
  /// The same value in every slot (a constant polynomial; no FFT).
  Plaintext encode_constant(std::complex<double> value, double scale, std::size_t level) const;

  /// All slots() slot values.
  std::vector<std::complex<double>> decode_complex(const Plaintext& pt) const;
  /// Real parts of all slots() slots.
  std::vector<double> decode(const Plaintext& pt) const;

  // ---- building blocks (public for tests and the he layer) ----
  /// Real coefficients (length N, unscaled) of the polynomial whose slots are `values` (length <= slots()).
  std::vector<double> slots_to_coeffs(std::span<const std::complex<double>> values) const;
  /// Slot values of the real polynomial with coefficients `coeffs` (length N).
  std::vector<std::complex<double>> coeffs_to_slots(std::span<const long double> coeffs) const;
  /// Rounds coeff*scale (long double) into residues mod q_0..q_level and NTTs them.
  Plaintext from_scaled_coeffs(std::span<const long double> scaled, double scale, std::size_t level) const;

 private:
  void fft(std::vector<std::complex<double>>& a, bool inverse) const;

  std::shared_ptr<const Context> ctx_;
  std::size_t half_ = 0;                        // N/2
  std::vector<std::complex<double>> roots_;     // exp(2 pi i k / (N/2)), k < N/2
  std::vector<std::complex<double>> twist_;     // zeta^j, j < N/2
  std::vector<std::uint32_t> slot_index_;       // slot k -> FFT output index t, 5^k = 1 + 4t mod 2N
  std::vector<std::uint32_t> bitrev_;
};

}  // namespace encmol::ckks
