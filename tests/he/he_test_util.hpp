// Shared helpers of the he tests: small insecure parameter sets (correctness only).
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

namespace encmol::he::test {

/// N = 2^log_n, first prime scale_bits+10 bits, `depth` primes of scale_bits,
/// special primes of 50 bits; allow_insecure (these tests are about correctness).
inline ckks::ParameterSet params(int log_n, int depth, std::size_t dnum = 2, int scale_bits = 40) {
  std::vector<int> qb(static_cast<std::size_t>(depth) + 1, scale_bits);
  qb[0] = scale_bits + 10;
  const std::size_t alpha = (qb.size() + dnum - 1) / dnum;
  return ckks::Parameters::from_bit_sizes(log_n, qb, std::vector<int>(alpha, 50), dnum, scale_bits,
                                          /*allow_insecure=*/true);
}

struct Suite {
  std::shared_ptr<const ckks::Context> ctx;
  ckks::KeyGenerator keygen;
  std::shared_ptr<const ckks::Encoder> encoder;
  ckks::Encryptor encryptor;
  ckks::Decryptor decryptor;
  ckks::Evaluator evaluator;
  ckks::RelinKey relin;

  explicit Suite(const ckks::ParameterSet& ps)
      : ctx(ckks::Context::create(ps)),
        keygen(ctx),
        encoder(std::make_shared<const ckks::Encoder>(ctx)),
        encryptor(ctx, keygen.create_public_key()),
        decryptor(ctx, keygen.secret_key()),
        evaluator(ctx),
        relin(keygen.create_relin_key()) {}

  std::size_t slots() const { return ctx->slots(); }
  ckks::Ciphertext encrypt(const std::vector<double>& v) const {
    return encryptor.encrypt(encoder->encode(std::span<const double>(v)));
  }
  std::vector<double> decrypt(const ckks::Ciphertext& ct) const {
    return encoder->decode(decryptor.decrypt(ct));
  }
  ckks::GaloisKeys galois(const std::vector<int>& steps) const {
    return keygen.create_galois_keys(steps, /*conjugation=*/false);
  }
};

inline std::vector<double> uniform(std::size_t n, double lo, double hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b,
                           std::size_t count) {
  double e = 0;
  for (std::size_t i = 0; i < count; ++i) e = std::max(e, std::fabs(a[i] - b[i]));
  return e;
}

}  // namespace encmol::he::test
