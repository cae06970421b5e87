// Compiled with -ffp-contract=off (see CMakeLists.txt): see the header for why
// every operation here is spelled out.
#include "encmol/ml/feature_sampler.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "encmol/core/error.hpp"

namespace encmol::ml {
namespace {

constexpr double kLn2 = 0.6931471805599453094;
constexpr double kTwoPi = 6.283185307179586477;

// Unnormalized fast Walsh-Hadamard transform (v <- H v); integer inputs stay exact.
void hadamard_in_place(std::vector<double>& values) {
  const std::size_t n = values.size();
  double* v = values.data();
  for (std::size_t len = 1; len < n; len *= 2) {
    for (std::size_t i = 0; i < n; i += 2 * len) {
      for (std::size_t j = i; j < i + len; ++j) {
        const double a = v[j], b = v[j + len];
        v[j] = a + b;
        v[j + len] = a - b;
      }
    }
  }
}

std::size_t block_size(std::size_t dim) {
  std::size_t n = 2;
  while (n < dim) n *= 2;
  return n;
}

void sample_fourier(PortableSampler& s, std::size_t count, std::size_t dim, FrequencyMatrix& w,
                    Eigen::VectorXd& b) {
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t j = 0; j < dim; ++j)
      w(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = s.normal();
    b(static_cast<Eigen::Index>(i)) = kTwoPi * s.uniform();
  }
}

void sample_orthogonal(PortableSampler& s, std::size_t count, std::size_t dim, FrequencyMatrix& w,
                       Eigen::VectorXd& b) {
  const std::size_t n = block_size(dim);
  const double norm =
      static_cast<double>(n) * std::sqrt(static_cast<double>(n));  // n^(3/2), exact scaling
  std::vector<double> d1(n), d2(n), d3(n), chi(n), v(n);
  for (std::size_t first = 0; first < count; first += n) {
    for (auto* d : {&d1, &d2, &d3})
      for (auto& x : *d) x = s.sign();
    std::vector<double> phase(n);
    for (std::size_t r = 0; r < n; ++r) {
      chi[r] = s.chi(n);
      phase[r] = kTwoPi * s.uniform();
    }
    // H D1 H is a dyadic convolution: (H D1 H)(k, r) = h1[k xor r] with
    // h1 = H d1, because H(i, j) = (-1)^popcount(i & j). So each row needs
    // one transform instead of three; every value is an integer below 2^53,
    // so the result is bit for bit that of the three transforms.
    std::vector<double> h1 = d1;
    hadamard_in_place(h1);
    const std::size_t rows = std::min(n, count - first);
    for (std::size_t r = 0; r < rows; ++r) {
      // Row r of H D1 H D2 H D3 = ((D3 H D2 H D1 H) e_r)^T (H is symmetric).
      for (std::size_t j = 0; j < n; ++j) v[j] = h1[j ^ r] * d2[j];
      hadamard_in_place(v);
      const double scale = chi[r] / norm;
      const auto row = static_cast<Eigen::Index>(first + r);
      for (std::size_t j = 0; j < dim; ++j)
        w(row, static_cast<Eigen::Index>(j)) = (v[j] * d3[j]) * scale;
      b(row) = phase[r];
    }
  }
}

}  // namespace

std::string_view to_string(RandomFeatureKind kind) {
  switch (kind) {
    case RandomFeatureKind::Fourier:
      return "fourier";
    case RandomFeatureKind::Orthogonal:
      return "orthogonal";
  }
  return "unknown";
}

RandomFeatureKind parse_random_feature_kind(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "fourier" || n == "rff") return RandomFeatureKind::Fourier;
  if (n == "orthogonal" || n == "sorf") return RandomFeatureKind::Orthogonal;
  throw InputError("unknown random-feature kind '" + std::string(name) +
                   "': use 'fourier' (i.i.d. Gaussian frequencies) or 'orthogonal' (structured "
                   "orthogonal blocks)");
}

std::uint64_t feature_stream_seed(std::uint64_t seed, int z) {
  std::uint64_t x = seed + (static_cast<std::uint64_t>(z) + 1) * 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double portable_log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // x = m 2^e, m in [1/2, 1): exact
  if (m < 0.70710678118654752440) {
    m = m * 2.0;
    e = e - 1;
  }
  // m in [sqrt(1/2), sqrt(2)): log m = 2 atanh(s) = 2 sum_k s^(2k+1) / (2k+1),
  // |s| <= 0.1716, so 13 terms leave < 1e-21.
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double p = 0.0;
  for (int k = 12; k >= 0; --k) p = p * s2 + 1.0 / static_cast<double>(2 * k + 1);
  return static_cast<double>(e) * kLn2 + 2.0 * s * p;
}

double PortableSampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1p-53; }

double PortableSampler::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  for (;;) {
    const double u = 2.0 * uniform() - 1.0, v = 2.0 * uniform() - 1.0;
    const double s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    const double f = std::sqrt(-2.0 * portable_log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
}

double PortableSampler::sign() { return (rng_() >> 63) != 0 ? -1.0 : 1.0; }

double PortableSampler::chi(std::size_t n) {
  // -2 log U ~ chi^2 with 2 degrees of freedom; n / 2 of them sum to chi^2_n.
  double product = 1.0;
  long exponent = 0;
  for (std::size_t k = 0; k < n / 2; ++k) {
    int e = 0;
    product = std::frexp(product * (1.0 - uniform()), &e);
    exponent += e;
  }
  const double log_sum = portable_log(product) + static_cast<double>(exponent) * kLn2;
  return std::sqrt(std::max(0.0, -2.0 * log_sum));
}

void sample_frequencies(RandomFeatureKind kind, std::uint64_t seed, int z, std::size_t count,
                        std::size_t dim, FrequencyMatrix& frequencies, Eigen::VectorXd& phases) {
  frequencies.resize(static_cast<Eigen::Index>(count), static_cast<Eigen::Index>(dim));
  phases.resize(static_cast<Eigen::Index>(count));
  PortableSampler sampler(feature_stream_seed(seed, z));
  switch (kind) {
    case RandomFeatureKind::Fourier:
      sample_fourier(sampler, count, dim, frequencies, phases);
      return;
    case RandomFeatureKind::Orthogonal:
      sample_orthogonal(sampler, count, dim, frequencies, phases);
      return;
  }
  throw ParameterError("unknown random-feature kind");
}

}  // namespace encmol::ml
