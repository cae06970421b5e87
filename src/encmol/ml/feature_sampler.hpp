// Portable generation of random-feature frequencies and phases.
//
// A random-feature model's map must be regenerated bit for bit by a client on
// another machine ("public features": the client computes the features from
// the seed). Library normal distributions and libm (log, cos) are not
// specified to the bit, so everything here uses only std::mt19937_64 (its
// output is fixed by the C++ standard) and IEEE-754 operations that are
// correctly rounded everywhere (+ - * / sqrt, frexp/ldexp), in a fixed order;
// the file is compiled with -ffp-contract=off so no compiler fuses a multiply
// and an add. The algorithm is part of the model file format: changing any
// step changes the frequencies of existing models (model files carry a digest
// of their frequencies to catch that).
//
// Per element Z the stream is std::mt19937_64(feature_stream_seed(seed, Z)),
// and features are generated one after another, so the first D features of a
// map with more are those of a map with D (blocks of the orthogonal kind are
// generated whole). Frequencies are for sigma = 1; a map divides them by sigma.
//
//   uniform()      (rng() >> 11) * 2^-53, in [0, 1)
//   normal()       Marsaglia's polar form of Box-Muller: u, v = 2 uniform() - 1
//                  until 0 < s = u^2 + v^2 < 1; returns u f, keeps v f for the
//                  next call, f = sqrt(-2 portable_log(s) / s)
//   sign()         rng() >> 63 ? -1 : +1
//   chi(n)         sqrt(-2 (sum of logs of n/2 values 1 - uniform())), computed
//                  as one log of their product (renormalized by frexp)
//
// Fourier (Rahimi & Recht 2007): feature i has frequency w_i = dim normals,
// then phase b_i = 2 pi uniform().
//
// Orthogonal (structured orthogonal random features, Yu et al. 2016): blocks
// of n = max(2, next power of two >= dim) features. A block draws signs d1,
// d2, d3 (n each, in that order), then per row r: chi_r = chi(n) and phase
// b_r = 2 pi uniform(). Its frequencies are the first dim columns of
//   diag(chi / n^(3/2)) * H diag(d1) H diag(d2) H diag(d3)
// with H the n x n Sylvester-Hadamard matrix of +-1 (entries of the product
// are integers, so exact). Rows are orthogonal within a block, with the norms
// of Gaussian vectors in n dimensions; the zero-padded input dimensions do not
// change distances, so the map approximates the same Gaussian kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>

#include <Eigen/Core>

namespace encmol::ml {

enum class RandomFeatureKind : std::uint8_t {
  Fourier = 1,     // i.i.d. Gaussian frequencies
  Orthogonal = 2,  // structured orthogonal blocks (HD1 HD2 HD3)
};

/// "fourier" / "orthogonal".
std::string_view to_string(RandomFeatureKind kind);
/// Accepts "fourier", "rff", "orthogonal", "sorf" (any case); InputError otherwise.
RandomFeatureKind parse_random_feature_kind(std::string_view name);

/// Seed of the stream of element z: SplitMix64 finalizer of seed + (z + 1) * golden ratio.
std::uint64_t feature_stream_seed(std::uint64_t seed, int z);

/// Natural logarithm of a finite x > 0 from + - * / and frexp only (within a
/// few ulps of libm's); the same bits on every IEEE-754 platform.
double portable_log(double x);

/// The samplers described at the top of this file.
class PortableSampler {
 public:
  explicit PortableSampler(std::uint64_t seed) : rng_(seed) {}
  double uniform();
  double normal();
  double sign();
  double chi(std::size_t n);  // n even

 private:
  std::mt19937_64 rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

using FrequencyMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Frequencies (count x dim, for sigma = 1) and phases (count) of element z.
void sample_frequencies(RandomFeatureKind kind, std::uint64_t seed, int z, std::size_t count,
                        std::size_t dim, FrequencyMatrix& frequencies, Eigen::VectorXd& phases);

}  // namespace encmol::ml
