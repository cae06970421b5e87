#include "encmol/math/primes.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "encmol/core/error.hpp"

namespace encmol::math {

namespace {

std::uint64_t mulmod(std::uint64_t a, std::uint64_t b, std::uint64_t m) {
  return static_cast<std::uint64_t>(static_cast<u128>(a) * b % m);
}

std::uint64_t powmod(std::uint64_t a, std::uint64_t e, std::uint64_t m) {
  std::uint64_t r = 1 % m;
  a %= m;
  while (e != 0) {
    if (e & 1) r = mulmod(r, a, m);
    a = mulmod(a, a, m);
    e >>= 1;
  }
  return r;
}

bool contains(std::span<const std::uint64_t> v, std::uint64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void check_ring_degree(std::size_t ring_degree) {
  if (ring_degree == 0 || (ring_degree & (ring_degree - 1)) != 0 || ring_degree > (1u << 20)) {
    throw ParameterError("ring degree " + std::to_string(ring_degree) +
                         " must be a power of two no larger than 2^20");
  }
}

std::string not_enough(int bits, std::size_t count, std::size_t ring_degree, std::size_t found) {
  return "only " + std::to_string(found) + " of the " + std::to_string(count) + " requested " +
         std::to_string(bits) + "-bit primes congruent to 1 mod " + std::to_string(2 * ring_degree) +
         " exist; use more bits per prime or fewer primes";
}

}  // namespace

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  static constexpr std::uint64_t kBases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  for (std::uint64_t p : kBases) {
    if (n % p == 0) return n == p;
  }
  std::uint64_t d = n - 1;
  int s = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    ++s;
  }
  // These 12 bases are a deterministic witness set for all n < 3.3e24.
  for (std::uint64_t a : kBases) {
    std::uint64_t x = powmod(a, d, n);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int r = 1; r < s; ++r) {
      x = mulmod(x, x, n);
      if (x == n - 1) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

namespace {
void check_prime_bits(int bits) {
  if (bits < 2 || bits > kMaxModulusBits) {
    throw ParameterError("prime size of " + std::to_string(bits) + " bits is out of range [2, " +
                         std::to_string(kMaxModulusBits) + "]");
  }
}
}  // namespace

std::vector<std::uint64_t> generate_ntt_primes(int bits, std::size_t count, std::size_t ring_degree,
                                               std::span<const std::uint64_t> exclude) {
  check_ring_degree(ring_degree);
  check_prime_bits(bits);
  const std::uint64_t step = 2 * static_cast<std::uint64_t>(ring_degree);
  const std::uint64_t top = std::uint64_t{1} << bits;
  const std::uint64_t bottom = std::uint64_t{1} << (bits - 1);
  std::vector<std::uint64_t> out;
  if (count == 0) return out;
  // Largest candidate < 2^bits with c ≡ 1 (mod step).
  if (top <= step) throw ParameterError(not_enough(bits, count, ring_degree, 0));
  std::uint64_t c = ((top - 1 - 1) / step) * step + 1;
  while (c > bottom) {
    if (is_prime(c) && !contains(exclude, c)) {
      out.push_back(c);
      if (out.size() == count) return out;
    }
    if (c < step + bottom) break;
    c -= step;
  }
  throw ParameterError(not_enough(bits, count, ring_degree, out.size()));
}

std::vector<std::uint64_t> generate_ntt_primes_near(int bits, std::size_t count,
                                                    std::size_t ring_degree,
                                                    std::span<const std::uint64_t> exclude) {
  check_ring_degree(ring_degree);
  check_prime_bits(bits);
  const std::uint64_t step = 2 * static_cast<std::uint64_t>(ring_degree);
  const std::uint64_t target = std::uint64_t{1} << bits;
  const std::uint64_t limit = std::uint64_t{1} << kMaxModulusBits;
  std::vector<std::uint64_t> out;
  if (count == 0) return out;
  // Candidates ≡ 1 mod step on each side of 2^bits; walk outward, always taking
  // the closer one next.
  const std::uint64_t base = (target / step) * step + 1;  // first candidate > or near 2^bits
  std::uint64_t up = base > target ? base : base + step;
  std::uint64_t down = up - step;  // < target
  bool up_ok = up < limit;
  bool down_ok = down > target / 2 && down >= 2;
  while (up_ok || down_ok) {
    bool take_up;
    if (up_ok && down_ok) {
      take_up = (up - target) <= (target - down);
    } else {
      take_up = up_ok;
    }
    std::uint64_t c;
    if (take_up) {
      c = up;
      if (up >= limit - step) {
        up_ok = false;
      } else {
        up += step;
      }
    } else {
      c = down;
      if (down <= target / 2 + step) {
        down_ok = false;
      } else {
        down -= step;
      }
    }
    if (c < limit && is_prime(c) && !contains(exclude, c) && !contains(out, c)) {
      out.push_back(c);
      if (out.size() == count) return out;
    }
  }
  throw ParameterError(not_enough(bits, count, ring_degree, out.size()));
}

std::uint64_t minimal_primitive_root(std::uint64_t order, const Modulus& q) {
  const std::uint64_t p = q.value();
  if (order == 0 || (p - 1) % order != 0 || !is_prime(p)) {
    throw ParameterError("no primitive " + std::to_string(order) + "-th root of unity modulo " +
                         std::to_string(p) + ": the modulus must be a prime congruent to 1 mod " +
                         std::to_string(order));
  }
  if (order == 1) return 1;
  // Prime factors of order.
  std::vector<std::uint64_t> factors;
  {
    std::uint64_t m = order;
    for (std::uint64_t f = 2; f * f <= m; ++f) {
      if (m % f == 0) {
        factors.push_back(f);
        while (m % f == 0) m /= f;
      }
    }
    if (m > 1) factors.push_back(m);
  }
  auto is_primitive = [&](std::uint64_t g) {
    if (q.pow(g, order) != 1) return false;
    for (std::uint64_t f : factors) {
      if (q.pow(g, order / f) == 1) return false;
    }
    return true;
  };
  // A generator of the order-subgroup: x^((p-1)/order) for some x.
  std::uint64_t g = 0;
  for (std::uint64_t x = 2; x < p; ++x) {
    const std::uint64_t cand = q.pow(x, (p - 1) / order);
    if (is_primitive(cand)) {
      g = cand;
      break;
    }
  }
  if (g == 0) throw ParameterError("no primitive root found modulo " + std::to_string(p));
  // Every primitive root is g^k with gcd(k, order) = 1; take the smallest.
  if (order > (std::uint64_t{1} << 22)) return g;  // keep setup time bounded
  std::uint64_t best = g;
  std::uint64_t cur = g;  // g^k
  for (std::uint64_t k = 1; k < order; ++k) {
    if (std::gcd(k, order) == 1 && cur < best) best = cur;
    cur = q.mul(cur, g);
  }
  return best;
}

}  // namespace encmol::math
