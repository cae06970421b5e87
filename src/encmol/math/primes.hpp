// NTT-friendly primes: q ≡ 1 (mod 2N) so that Z_q holds a primitive 2N-th root
// of unity and X^N + 1 splits completely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "encmol/math/modarith.hpp"

namespace encmol::math {

/// Deterministic Miller–Rabin, exact for every 64-bit n (first 12 prime bases).
bool is_prime(std::uint64_t n);

/// `count` distinct primes q ≡ 1 (mod 2*ring_degree) with exactly `bits` bits
/// (2^(bits-1) < q < 2^bits), searched downward from 2^bits, skipping any in
/// `exclude`. bits in [2, 61]; ring_degree a power of two. Throws
/// ParameterError if not enough exist.
std::vector<std::uint64_t> generate_ntt_primes(int bits, std::size_t count, std::size_t ring_degree,
                                               std::span<const std::uint64_t> exclude = {});

/// Primes ≡ 1 (mod 2*ring_degree) as close as possible to 2^bits on both sides
/// (ordered by distance, i.e. alternating above/below), for CKKS scaling primes
/// whose ratio to the scale must stay close to 1. Always q < 2^61.
std::vector<std::uint64_t> generate_ntt_primes_near(int bits, std::size_t count,
                                                    std::size_t ring_degree,
                                                    std::span<const std::uint64_t> exclude = {});

/// Smallest primitive `order`-th root of unity mod q (q prime, order | q-1).
/// Throws ParameterError if none exists.
std::uint64_t minimal_primitive_root(std::uint64_t order, const Modulus& q);

}  // namespace encmol::math
