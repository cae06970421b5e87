// CKKS parameter sets: ring degree, the RNS chain of ciphertext primes Q, the
// special primes P of hybrid key switching and the number of key-switching
// digits, checked against the 128-bit bound of the Homomorphic Encryption
// Standard (ternary secret). A ParameterSet is plain data so that it can be
// serialized field by field; `hash()` identifies it inside keys, plaintexts and
// ciphertexts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace encmol::ckks {

using ParamHash = std::array<std::uint8_t, 32>;

/// Largest log2(P·Q) with 128-bit classical security for a ternary secret
/// (HE Standard v1.1 table; 2^16 extrapolated as 1747). 0 for unsupported N.
double max_log2_pq_128(int log_n);

struct ParameterSet {
  int log_n = 0;                    // ring degree N = 2^log_n, 12..16
  std::vector<std::uint64_t> q;     // q[0]: first prime (integer part), q[1..L]: scaling primes
  std::vector<std::uint64_t> p;     // special primes of key switching (count = alpha)
  std::size_t dnum = 1;             // number of key-switching digits over q[0..L]; must equal
                                    // ceil((L+1)/alpha) with alpha = ceil((L+1)/dnum)
  double default_scale = 0.0;       // scale used when the caller gives none (2^scale_bits)
  double sigma = 3.2;               // standard deviation of the discrete Gaussian error
  bool allow_insecure = false;      // TEST-ONLY opt-in: skips the 128-bit check (not hashed)

  std::size_t n() const { return std::size_t{1} << log_n; }
  std::size_t slots() const { return n() / 2; }
  std::size_t max_level() const { return q.size() - 1; }
  /// Number of ciphertext primes per key-switching digit, ceil((L+1)/dnum).
  std::size_t alpha() const { return (q.size() + dnum - 1) / dnum; }
  double log2_q() const;
  double log2_pq() const;
  /// Throws ParameterError (inconsistent) or SecurityError (below 128 bits
  /// without allow_insecure).
  void validate() const;
  /// BLAKE2b-256 of a canonical encoding of every field except allow_insecure.
  ParamHash hash() const;
  /// One line for logs and error messages.
  std::string describe() const;
};

/// Options of Parameters::for_circuit. Zero means "choose automatically".
struct CircuitOptions {
  int integer_bits = 10;      // bits of the first prime above the scale (holds |values| < 2^(integer_bits-1))
  int special_bits = 0;       // bits of each special prime; default max(first prime bits, 50)
  int min_log_n = 12;         // smallest ring degree considered
  int max_log_n = 16;
  bool extra_special_prime = true;  // add one special prime beyond alpha when the bound leaves room
  bool allow_insecure = false;  // TEST-ONLY: accept parameters above the 128-bit bound
  int insecure_log_n = 0;       // with allow_insecure: force this ring degree
};

class Parameters {
 public:
  /// Parameters for a circuit of multiplicative `depth` at scale 2^scale_bits
  /// with at least `slots` slots: q = first prime of (scale_bits+integer_bits)
  /// bits, `depth` primes near 2^scale_bits, special primes as large as the
  /// first prime (at least 50 bits, below 2^50 where possible so the IFMA NTT
  /// applies). Picks the smallest N whose 128-bit bound fits; `dnum` = 0 picks
  /// the smallest digit count that fits at that N; one extra special prime is
  /// added when the bound leaves room (precise key switching). Throws
  /// ParameterError when nothing fits up to N = 2^16.
  static ParameterSet for_circuit(int depth, int scale_bits, std::size_t slots, std::size_t dnum = 0,
                                  const CircuitOptions& options = {});

  /// Explicit bit sizes: q_bits[0] is the first prime, q_bits[1..] scaling
  /// primes (generated as close to 2^bits as possible), p_bits the special
  /// primes; p_bits.size() must equal ceil(q_bits.size()/dnum).
  static ParameterSet from_bit_sizes(int log_n, const std::vector<int>& q_bits, const std::vector<int>& p_bits,
                                     std::size_t dnum, int scale_bits, bool allow_insecure = false);
};

}  // namespace encmol::ckks
