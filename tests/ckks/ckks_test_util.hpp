// Shared helpers of the ckks tests.
#pragma once

#include <cmath>
#include <complex>
#include <memory>
#include <random>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/params.hpp"

namespace encmol::ckks::test {

using cvec = std::vector<std::complex<double>>;

inline cvec random_values(std::size_t n, double bound, unsigned seed, bool complex_values = true) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-bound, bound);
  cvec v(n);
  for (auto& x : v) x = {u(rng), complex_values ? u(rng) : 0.0};
  return v;
}

/// -log2 of the largest slot error (over the first want.size() slots, and
/// all remaining slots against zero).
inline double precision_bits(const cvec& got, const cvec& want) {
  double err = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const std::complex<double> w = k < want.size() ? want[k] : std::complex<double>{};
    err = std::max(err, std::abs(got[k] - w));
  }
  return err == 0 ? 100.0 : -std::log2(err);
}

/// -log2 of the mean slot error (the "mean precision" of Lattigo-style reports).
inline double mean_precision_bits(const cvec& got, const cvec& want) {
  double err = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const std::complex<double> w = k < want.size() ? want[k] : std::complex<double>{};
    err += std::abs(got[k] - w);
  }
  err /= static_cast<double>(got.size());
  return err == 0 ? 100.0 : -std::log2(err);
}

inline cvec rotate_left(const cvec& v, long long step) {
  const auto n = static_cast<long long>(v.size());
  cvec r(v.size());
  for (long long k = 0; k < n; ++k) r[static_cast<std::size_t>(k)] = v[static_cast<std::size_t>((((k + step) % n) + n) % n)];
  return r;
}

/// Insecure-but-fast parameters for correctness tests: N = 2^log_n, first
/// prime 50 bits, `depth` primes of 40 bits, special primes of 53 bits (above
/// the IFMA bound, so the scalar key-switching path is exercised too; the
/// 128-bit tests use IFMA-sized primes).
inline ParameterSet test_params(int log_n, int depth, std::size_t dnum, int scale_bits = 40) {
  std::vector<int> qb(static_cast<std::size_t>(depth) + 1, scale_bits);
  qb[0] = scale_bits + 10;
  const std::size_t alpha = (qb.size() + dnum - 1) / dnum;
  return Parameters::from_bit_sizes(log_n, qb, std::vector<int>(alpha, scale_bits + 13), dnum,
                                    scale_bits, /*allow_insecure=*/true);
}

/// Everything a test needs for one parameter set.
struct Suite {
  std::shared_ptr<const Context> ctx;
  KeyGenerator keygen;
  Encoder encoder;
  Encryptor encryptor;
  Decryptor decryptor;
  Evaluator evaluator;
  RelinKey relin;

  explicit Suite(const ParameterSet& ps)
      : ctx(Context::create(ps)),
        keygen(ctx),
        encoder(ctx),
        encryptor(ctx, keygen.create_public_key()),
        decryptor(ctx, keygen.secret_key()),
        evaluator(ctx),
        relin(keygen.create_relin_key()) {}

  Ciphertext encrypt(const cvec& v, std::size_t level, double scale) const {
    return encryptor.encrypt(encoder.encode(v, scale, level));
  }
  Ciphertext encrypt(const cvec& v) const {
    return encrypt(v, ctx->max_level(), ctx->params().default_scale);
  }
  cvec decrypt(const Ciphertext& ct) const { return encoder.decode_complex(decryptor.decrypt(ct)); }
};

}  // namespace encmol::ckks::test
