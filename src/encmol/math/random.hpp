// Cryptographic randomness and the samplers RLWE needs.
//
// Prng is the ChaCha20 (IETF) keystream of libsodium keyed with a 32-byte seed
// and an all-zero nonce: the same seed always gives the same stream, which is
// how the uniform half of keys and ciphertexts travels as a seed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "encmol/math/modarith.hpp"

namespace encmol::math {

using Seed = std::array<std::uint8_t, 32>;

/// 32 bytes from the operating system (libsodium randombytes_buf).
Seed random_seed();

class Prng {
 public:
  explicit Prng(const Seed& seed);
  Prng(const Prng&) = delete;
  Prng& operator=(const Prng&) = delete;
  ~Prng();

  void fill(std::span<std::uint8_t> out);
  std::uint64_t next_u64();
  /// Uniform in [0, bound), exact (rejection on the smallest covering power of
  /// two). bound >= 1.
  std::uint64_t uniform_below(std::uint64_t bound);

 private:
  void refill();
  static constexpr std::size_t kBufferBytes = 4096;  // 64 ChaCha20 blocks
  Seed key_;
  std::uint32_t block_counter_ = 0;
  std::uint32_t refills_ = 0;
  std::size_t pos_ = kBufferBytes;
  alignas(64) std::array<std::uint8_t, kBufferBytes> buffer_{};
};

/// Uniform in [0, q) by rejection on bits(q)-bit words.
void sample_uniform(Prng& prng, const Modulus& q, std::uint64_t* out, std::size_t n);
/// Uniform in {-1, 0, 1} by rejection on bytes (255 is rejected).
void sample_ternary(Prng& prng, std::int8_t* out, std::size_t n);
/// Discrete Gaussian D_{Z,sigma} (centered), tail cut at B = floor(6*sigma)
/// (|e| <= B always). For sigma <= kCdtMaxSigma it uses an inversion (CDT)
/// table scanned in full for every sample (no branch or memory access depends
/// on the sample) with 63-bit probabilities: the statistical distance to
/// D_{Z,sigma} is at most the tail mass beyond B (for sigma = 3.2, B = 19:
/// 9.5e-10, i.e. 2^-30) plus (B+1)*2^-63 from rounding the table. Larger sigma
/// (noise flooding) rounds a continuous Gaussian from 53-bit uniforms
/// (Box–Muller), tail cut by rejection; that branch is not constant time.
/// sigma in (0, 2^40], else ParameterError.
void sample_gaussian(Prng& prng, double sigma, std::int64_t* out, std::size_t n);

inline constexpr double kCdtMaxSigma = 256.0;

}  // namespace encmol::math
