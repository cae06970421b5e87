#include "encmol/ml/kernels.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/core/target_clones.hpp"
#include "encmol/ml/linalg.hpp"

namespace encmol::ml {
namespace {

// L1 distances between one row `a` and four rows b0..b3. Eight independent
// partial sums per pair in a fixed order, held in GCC vector-extension
// registers: one AVX-512 register, two AVX2 or four SSE2 registers per sum,
// with the same lane-wise arithmetic (so the same result) on each of them.
using V8d = double __attribute__((vector_size(64)));
using V8i = long long __attribute__((vector_size(64)));

ENCMOL_TARGET_CLONES void l1_1x4(
    const double* a, const double* b0, const double* b1, const double* b2, const double* b3,
    std::size_t d, double* out) {
  const V8i abs_mask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                        0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL,
                        0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
  V8d s0 = {}, s1 = {}, s2 = {}, s3 = {};
  V8d va, vb, diff;
  std::size_t k = 0;
  for (; k + 8 <= d; k += 8) {
    std::memcpy(&va, a + k, sizeof(va));
    std::memcpy(&vb, b0 + k, sizeof(vb));
    diff = va - vb;
    s0 += reinterpret_cast<V8d>(reinterpret_cast<V8i>(diff) & abs_mask);
    std::memcpy(&vb, b1 + k, sizeof(vb));
    diff = va - vb;
    s1 += reinterpret_cast<V8d>(reinterpret_cast<V8i>(diff) & abs_mask);
    std::memcpy(&vb, b2 + k, sizeof(vb));
    diff = va - vb;
    s2 += reinterpret_cast<V8d>(reinterpret_cast<V8i>(diff) & abs_mask);
    std::memcpy(&vb, b3 + k, sizeof(vb));
    diff = va - vb;
    s3 += reinterpret_cast<V8d>(reinterpret_cast<V8i>(diff) & abs_mask);
  }
  double t[4] = {};
  for (; k < d; ++k) {
    t[0] += std::fabs(a[k] - b0[k]);
    t[1] += std::fabs(a[k] - b1[k]);
    t[2] += std::fabs(a[k] - b2[k]);
    t[3] += std::fabs(a[k] - b3[k]);
  }
  const V8d* s[4] = {&s0, &s1, &s2, &s3};
  for (int r = 0; r < 4; ++r) {
    const V8d& p = *s[r];
    out[r] = (((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))) + t[r];
  }
}

double l1_1x1(const double* a, const double* b, std::size_t d) {
  double out[4];
  l1_1x4(a, b, b, b, b, d, out);
  return out[0];
}

// Rows [i_begin, i_end) of x against rows [j_begin, j_end) of y, written to
// out(i, j). Same per-pair arithmetic regardless of how ranges are chosen.
void l1_block(const FeatureMatrix& x, const FeatureMatrix& y, std::size_t i_begin,
              std::size_t i_end, std::size_t j_begin, std::size_t j_end, Eigen::MatrixXd& out) {
  const std::size_t d = static_cast<std::size_t>(x.cols());
  for (std::size_t i = i_begin; i < i_end; ++i) {
    const double* a = x.data() + i * d;
    std::size_t j = j_begin;
    double r[4];
    for (; j + 4 <= j_end; j += 4) {
      const double* b = y.data() + j * d;
      l1_1x4(a, b, b + d, b + 2 * d, b + 3 * d, d, r);
      for (int q = 0; q < 4; ++q) out(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j + q)) = r[q];
    }
    for (; j < j_end; ++j) {
      out(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = l1_1x1(a, y.data() + j * d, d);
    }
  }
}

// Tiles keep a block of y rows in cache while every row of the x block passes.
constexpr std::size_t kTile = 64;

Eigen::MatrixXd l1_distances(const FeatureMatrix& x, const FeatureMatrix& y) {
  const std::size_t n = static_cast<std::size_t>(x.rows()), m = static_cast<std::size_t>(y.rows());
  Eigen::MatrixXd out(x.rows(), y.rows());
  const std::size_t row_tiles = (n + kTile - 1) / kTile;
  core::parallel_for(row_tiles, [&](std::size_t t) {
    const std::size_t i0 = t * kTile, i1 = std::min(n, i0 + kTile);
    for (std::size_t j0 = 0; j0 < m; j0 += kTile) {
      l1_block(x, y, i0, i1, j0, std::min(m, j0 + kTile), out);
    }
  });
  return out;
}

Eigen::MatrixXd l1_distances_symmetric(const FeatureMatrix& x) {
  const std::size_t n = static_cast<std::size_t>(x.rows());
  Eigen::MatrixXd out(x.rows(), x.rows());
  const std::size_t tiles = (n + kTile - 1) / kTile;
  // Lower-triangle tiles (ti >= tj); tile row ti costs ti + 1 tiles, so rows
  // are dealt round-robin to the threads to balance the triangle.
  const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(core::thread_count(), tiles));
  core::parallel_for(workers, [&](std::size_t w) {
    for (std::size_t ti = w; ti < tiles; ti += workers) {
      const std::size_t i0 = ti * kTile, i1 = std::min(n, i0 + kTile);
      for (std::size_t tj = 0; tj <= ti; ++tj) {
        const std::size_t j0 = tj * kTile, j1 = std::min(n, j0 + kTile);
        l1_block(x, x, i0, i1, j0, j1, out);
      }
    }
  });
  // Mirror the lower triangle (tiles on the diagonal were computed in full).
  for (Eigen::Index j = 0; j < out.cols(); ++j) {
    out(j, j) = 0.0;
    for (Eigen::Index i = j + 1; i < out.rows(); ++i) out(j, i) = out(i, j);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

std::string_view to_string(KernelKind kind) {
  switch (kind) {
    case KernelKind::Gaussian: return "gaussian";
    case KernelKind::Laplacian: return "laplacian";
    case KernelKind::Linear: return "linear";
    case KernelKind::Polynomial: return "polynomial";
  }
  return "unknown";
}

KernelKind parse_kernel_kind(std::string_view name) {
  const std::string n = lower(name);
  if (n == "gaussian" || n == "rbf") return KernelKind::Gaussian;
  if (n == "laplacian") return KernelKind::Laplacian;
  if (n == "linear") return KernelKind::Linear;
  if (n == "polynomial" || n == "poly") return KernelKind::Polynomial;
  throw InputError("unknown kernel '" + std::string(name) +
                   "': use gaussian, laplacian, linear or polynomial");
}

PairwiseMeasure measure_of(KernelKind kind) {
  switch (kind) {
    case KernelKind::Gaussian: return PairwiseMeasure::SquaredEuclidean;
    case KernelKind::Laplacian: return PairwiseMeasure::Manhattan;
    case KernelKind::Linear:
    case KernelKind::Polynomial: return PairwiseMeasure::Dot;
  }
  throw ParameterError("unknown kernel kind " + std::to_string(static_cast<int>(kind)));
}

void Kernel::validate() const {
  switch (kind) {
    case KernelKind::Gaussian:
    case KernelKind::Laplacian:
      if (!std::isfinite(sigma) || !(sigma > 0)) {
        throw ParameterError(std::string(to_string(kind)) + " kernel needs a finite sigma > 0, got " +
                             std::to_string(sigma));
      }
      return;
    case KernelKind::Linear: return;
    case KernelKind::Polynomial:
      if (!std::isfinite(gamma) || !(gamma > 0)) {
        throw ParameterError("polynomial kernel needs a finite gamma > 0, got " + std::to_string(gamma));
      }
      if (!std::isfinite(coef0)) throw ParameterError("polynomial kernel needs a finite coef0");
      if (degree < 1 || degree > 16) {
        throw ParameterError("polynomial kernel degree must be 1..16, got " + std::to_string(degree));
      }
      return;
  }
  throw ParameterError("unknown kernel kind " + std::to_string(static_cast<int>(kind)));
}

double Kernel::from_measure(double t) const {
  switch (kind) {
    case KernelKind::Gaussian: return std::exp(-t / (2.0 * sigma * sigma));
    case KernelKind::Laplacian: return std::exp(-t / sigma);
    case KernelKind::Linear: return t;
    case KernelKind::Polynomial: {
      const double base = gamma * t + coef0;
      double r = 1.0;
      for (int k = 0; k < degree; ++k) r *= base;  // exact for small integer degrees
      return r;
    }
  }
  return 0.0;
}

double Kernel::operator()(std::span<const double> x, std::span<const double> y) const {
  if (x.size() != y.size()) throw ParameterError("kernel: vectors of different lengths");
  double t = 0.0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    switch (measure_of(kind)) {
      case PairwiseMeasure::SquaredEuclidean: t += (x[k] - y[k]) * (x[k] - y[k]); break;
      case PairwiseMeasure::Manhattan: t += std::fabs(x[k] - y[k]); break;
      case PairwiseMeasure::Dot: t += x[k] * y[k]; break;
    }
  }
  return from_measure(t);
}

std::string Kernel::describe() const {
  char buf[160];
  switch (kind) {
    case KernelKind::Gaussian:
    case KernelKind::Laplacian:
      std::snprintf(buf, sizeof(buf), "%s (sigma = %.6g)", std::string(to_string(kind)).c_str(), sigma);
      return buf;
    case KernelKind::Linear: return "linear";
    case KernelKind::Polynomial:
      std::snprintf(buf, sizeof(buf), "polynomial (gamma = %.6g, coef0 = %.6g, degree = %d)", gamma,
                    coef0, degree);
      return buf;
  }
  return "unknown";
}

Eigen::MatrixXd pairwise(PairwiseMeasure measure, const FeatureMatrix& x, const FeatureMatrix& y) {
  if (x.cols() != y.cols()) {
    throw ParameterError("feature dimensions differ: " + std::to_string(x.cols()) + " vs " +
                         std::to_string(y.cols()));
  }
  switch (measure) {
    case PairwiseMeasure::Dot: return gemm_xyt(x, y);
    case PairwiseMeasure::Manhattan: return l1_distances(x, y);
    case PairwiseMeasure::SquaredEuclidean: {
      Eigen::MatrixXd g = gemm_xyt(x, y);
      const Eigen::VectorXd xn = x.rowwise().squaredNorm();
      const Eigen::VectorXd yn = y.rowwise().squaredNorm();
      core::parallel_for(static_cast<std::size_t>(g.cols()), [&](std::size_t jj) {
        const auto j = static_cast<Eigen::Index>(jj);
        for (Eigen::Index i = 0; i < g.rows(); ++i) {
          g(i, j) = std::max(0.0, xn(i) + yn(j) - 2.0 * g(i, j));
        }
      }, 64);
      return g;
    }
  }
  throw ParameterError("unknown pairwise measure");
}

Eigen::MatrixXd pairwise_symmetric(PairwiseMeasure measure, const FeatureMatrix& x) {
  switch (measure) {
    case PairwiseMeasure::Dot: return syrk_xxt(x);
    case PairwiseMeasure::Manhattan: return l1_distances_symmetric(x);
    case PairwiseMeasure::SquaredEuclidean: {
      Eigen::MatrixXd g = syrk_xxt(x);
      const Eigen::VectorXd xn = g.diagonal();
      core::parallel_for(static_cast<std::size_t>(g.cols()), [&](std::size_t jj) {
        const auto j = static_cast<Eigen::Index>(jj);
        for (Eigen::Index i = 0; i < g.rows(); ++i) {
          g(i, j) = i == j ? 0.0 : std::max(0.0, xn(i) + xn(j) - 2.0 * g(i, j));
        }
      }, 64);
      return g;
    }
  }
  throw ParameterError("unknown pairwise measure");
}

void apply_kernel(const Kernel& kernel, Eigen::Ref<Eigen::MatrixXd> values) {
  kernel.validate();
  core::parallel_for(static_cast<std::size_t>(values.cols()), [&](std::size_t jj) {
    const auto j = static_cast<Eigen::Index>(jj);
    for (Eigen::Index i = 0; i < values.rows(); ++i) values(i, j) = kernel.from_measure(values(i, j));
  }, 16);
}

Eigen::MatrixXd gram(const Kernel& kernel, const FeatureMatrix& x, const FeatureMatrix& y) {
  kernel.validate();
  Eigen::MatrixXd k = pairwise(measure_of(kernel.kind), x, y);
  apply_kernel(kernel, k);
  return k;
}

Eigen::MatrixXd gram_symmetric(const Kernel& kernel, const FeatureMatrix& x) {
  kernel.validate();
  Eigen::MatrixXd k = pairwise_symmetric(measure_of(kernel.kind), x);
  apply_kernel(kernel, k);
  return k;
}

}  // namespace encmol::ml
