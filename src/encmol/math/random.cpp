#include "encmol/math/random.hpp"

#include <sodium.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "encmol/core/error.hpp"

namespace encmol::math {

namespace {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw Error("libsodium failed to initialise; no secure randomness");
  });
}

// Cumulative distribution of |X| for X ~ D_{Z,sigma} restricted to [-B, B],
// scaled to 2^63: table[k] = P(|X| <= k) * 2^63 for k < B.
std::vector<std::uint64_t> build_cdt(double sigma, int bound) {
  std::vector<long double> rho(static_cast<std::size_t>(bound) + 1);
  long double total = 0;
  for (int k = 0; k <= bound; ++k) {
    const long double x = static_cast<long double>(k);
    rho[k] = std::exp(-(x * x) / (2.0L * sigma * sigma)) * (k == 0 ? 1.0L : 2.0L);
    total += rho[k];
  }
  std::vector<std::uint64_t> table(static_cast<std::size_t>(bound));
  long double cum = 0;
  const long double scale = 9223372036854775808.0L;  // 2^63
  for (int k = 0; k < bound; ++k) {
    cum += rho[k];
    const long double v = cum / total * scale;
    table[k] = v >= scale ? (std::uint64_t{1} << 63) : static_cast<std::uint64_t>(v);
  }
  return table;
}

}  // namespace

Seed random_seed() {
  ensure_sodium();
  Seed s;
  randombytes_buf(s.data(), s.size());
  return s;
}

Prng::Prng(const Seed& seed) : key_(seed) { ensure_sodium(); }

Prng::~Prng() {
  sodium_memzero(key_.data(), key_.size());
  sodium_memzero(buffer_.data(), buffer_.size());
}

void Prng::refill() {
  // Keystream blocks [block_counter_, block_counter_ + 64) under a zero nonce.
  // The IETF counter is 32 bits: 2^32 blocks = 256 GiB per seed, far beyond
  // any object derived from one seed.
  static const std::array<std::uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  constexpr std::uint32_t kBlocks = kBufferBytes / 64;
  if (block_counter_ > 0xFFFFFFFFu - kBlocks) {
    throw Error("PRNG stream exhausted (256 GiB drawn from one seed)");
  }
  std::memset(buffer_.data(), 0, buffer_.size());
  crypto_stream_chacha20_ietf_xor_ic(buffer_.data(), buffer_.data(), buffer_.size(), nonce.data(),
                                     block_counter_, key_.data());
  block_counter_ += kBlocks;
  pos_ = 0;
}

void Prng::fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    if (pos_ == kBufferBytes) refill();
    const std::size_t take = std::min(out.size() - done, kBufferBytes - pos_);
    std::memcpy(out.data() + done, buffer_.data() + pos_, take);
    pos_ += take;
    done += take;
  }
}

std::uint64_t Prng::next_u64() {
  if (kBufferBytes - pos_ < 8) {
    // Keep reads aligned to whole words: drop the tail (never happens with
    // word-only use; fill() of odd sizes can leave one).
    pos_ = kBufferBytes;
  }
  if (pos_ == kBufferBytes) refill();
  std::uint64_t v;
  std::memcpy(&v, buffer_.data() + pos_, 8);
  pos_ += 8;
  return v;
}

std::uint64_t Prng::uniform_below(std::uint64_t bound) {
  if (bound == 0) throw ParameterError("uniform_below: the bound must be at least 1");
  if (bound == 1) return 0;
  const int bits = 64 - __builtin_clzll(bound - 1);
  const std::uint64_t mask = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  for (;;) {
    const std::uint64_t v = next_u64() & mask;
    if (v < bound) return v;
  }
}

void sample_uniform(Prng& prng, const Modulus& q, std::uint64_t* out, std::size_t n) {
  const std::uint64_t qq = q.value();
  const int bits = 64 - __builtin_clzll(qq - 1);
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  for (std::size_t j = 0; j < n; ++j) {
    std::uint64_t v;
    do {
      v = prng.next_u64() & mask;
    } while (v >= qq);
    out[j] = v;
  }
}

void sample_ternary(Prng& prng, std::int8_t* out, std::size_t n) {
  std::array<std::uint8_t, 256> buf;
  std::size_t avail = 0, pos = 0;
  for (std::size_t j = 0; j < n;) {
    if (pos == avail) {
      prng.fill(buf);
      avail = buf.size();
      pos = 0;
    }
    const std::uint8_t b = buf[pos++];
    if (b == 255) continue;  // 255 = 3*85: reject so that b mod 3 is uniform
    out[j++] = static_cast<std::int8_t>(static_cast<int>(b % 3) - 1);
  }
  sodium_memzero(buf.data(), buf.size());
}

void sample_gaussian(Prng& prng, double sigma, std::int64_t* out, std::size_t n) {
  if (!(sigma > 0) || !(sigma <= 1099511627776.0)) {
    throw ParameterError("Gaussian sigma " + std::to_string(sigma) + " must be in (0, 2^40]");
  }
  const auto bound = static_cast<std::int64_t>(std::floor(6.0 * sigma));
  if (bound == 0) {
    for (std::size_t j = 0; j < n; ++j) out[j] = 0;
    return;
  }
  if (sigma <= kCdtMaxSigma) {
    thread_local double cached_sigma = -1;
    thread_local std::vector<std::uint64_t> table;
    if (cached_sigma != sigma) {
      table = build_cdt(sigma, static_cast<int>(bound));
      cached_sigma = sigma;
    }
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t r = prng.next_u64();
      const std::uint64_t u = r >> 1;  // 63-bit uniform
      const std::uint64_t sign = r & 1;
      // |x| = number of table entries <= u; the whole table is always scanned.
      std::int64_t mag = 0;
      for (const std::uint64_t t : table) mag += static_cast<std::int64_t>(u >= t);
      // Branch-free conditional negation.
      const std::int64_t s = -static_cast<std::int64_t>(sign);
      out[j] = (mag ^ s) - s;
    }
    return;
  }
  // Large sigma (noise flooding): round a continuous Gaussian (Box–Muller on
  // 53-bit uniforms in (0,1]); reject beyond the tail cut.
  const double two_pi = 6.283185307179586476925286766559;
  for (std::size_t j = 0; j < n;) {
    const double u1 = (static_cast<double>(prng.next_u64() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(prng.next_u64() >> 11) * 0x1.0p-53;
    const double rad = std::sqrt(-2.0 * std::log(u1)) * sigma;
    const double z[2] = {rad * std::cos(two_pi * u2), rad * std::sin(two_pi * u2)};
    for (double v : z) {
      const auto x = static_cast<std::int64_t>(std::llround(v));
      if (x > bound || x < -bound) continue;
      if (j < n) out[j++] = x;
    }
  }
}

}  // namespace encmol::math
