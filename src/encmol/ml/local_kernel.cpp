#include "encmol/ml/local_kernel.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/linalg.hpp"
#include "encmol/ml/vector_exp.hpp"

namespace encmol::ml {
namespace {

// Atoms of one element, contiguous, in molecule order.
struct ElementAtoms {
  FeatureMatrix x;                    // m x d
  std::vector<double> norm2;          // |x_a|^2
  std::vector<std::size_t> molecule;  // non-decreasing
  // Runs of consecutive atoms of one molecule: run k is atoms [start[k], start[k+1]).
  std::vector<std::size_t> run_start;
  std::vector<std::size_t> run_molecule;
};

std::map<int, ElementAtoms> split_by_element(const chem::AtomicFeatures& f) {
  f.validate();
  std::map<int, std::vector<std::size_t>> rows;
  for (std::size_t a = 0; a < f.atom_count(); ++a) rows[f.charges[a]].push_back(a);
  std::vector<std::size_t> molecule_of(f.atom_count());
  for (std::size_t i = 0; i < f.molecule_count(); ++i)
    for (std::size_t a = f.offsets[i]; a < f.offsets[i + 1]; ++a) molecule_of[a] = i;
  std::map<int, ElementAtoms> out;
  for (auto& [z, r] : rows) {
    ElementAtoms& e = out[z];
    e.x.resize(static_cast<Eigen::Index>(r.size()), f.values.cols());
    e.norm2.resize(r.size());
    e.molecule.resize(r.size());
    for (std::size_t k = 0; k < r.size(); ++k) {
      e.x.row(static_cast<Eigen::Index>(k)) = f.values.row(static_cast<Eigen::Index>(r[k]));
      e.norm2[k] = e.x.row(static_cast<Eigen::Index>(k)).squaredNorm();
      e.molecule[k] = molecule_of[r[k]];
      if (k == 0 || e.molecule[k] != e.molecule[k - 1]) {
        e.run_start.push_back(k);
        e.run_molecule.push_back(e.molecule[k]);
      }
    }
    e.run_start.push_back(r.size());
  }
  return out;
}

constexpr std::size_t kRowBlockAtoms = 256;
constexpr std::size_t kColumnTileAtoms = 2048;  // a tile of dot products (4 MiB) stays in cache

// One row block (runs [first_run, last_run) of `rows`) against the column
// atoms of `cols`: adds the per-molecule sums of exp(-g_s |x_a - x_b|^2) into
// out[s](column molecule, row molecule) -- transposed, so one row molecule's
// sums land in one contiguous column (writing along a row would miss the cache
// on every entry). With `upper`, only column molecules >= the row molecule
// are visited (the symmetric case; it fills the lower triangle). Column tiles
// keep the dot products in cache between the BLAS product and their use.
// The kernels of one call, arranged for the inner loop: Gaussians by
// ascending gamma (so sqrt(2) ladders square), polynomials as they come.
struct KernelPlan {
  std::vector<std::size_t> gaussian;  // indices into the caller's kernels
  std::vector<double> gamma;          // 1 / (2 sigma^2) of each, same order
  std::vector<std::size_t> polynomial;
  std::vector<AtomKernel> kernels;

  explicit KernelPlan(std::span<const AtomKernel> ks) : kernels(ks.begin(), ks.end()) {
    if (ks.empty()) throw ParameterError("local kernel: no atom kernel given");
    for (std::size_t k = 0; k < ks.size(); ++k) {
      ks[k].validate();
      (ks[k].kind == AtomKernel::Kind::Gaussian ? gaussian : polynomial).push_back(k);
    }
    auto g = [&](std::size_t k) { return 1.0 / (2.0 * ks[k].sigma * ks[k].sigma); };
    std::stable_sort(gaussian.begin(), gaussian.end(), [&](std::size_t a, std::size_t b) { return g(a) < g(b); });
    for (std::size_t k : gaussian) gamma.push_back(g(k));
  }
};

void accumulate_block(const ElementAtoms& rows, std::size_t first_run, std::size_t last_run,
                      const ElementAtoms& cols, const KernelPlan& plan, bool upper,
                      std::vector<Eigen::MatrixXd>& out) {
  const std::size_t r0 = rows.run_start[first_run], r1 = rows.run_start[last_run], nr = r1 - r0;
  const std::size_t d = static_cast<std::size_t>(rows.x.cols());
  const std::size_t m = cols.molecule.size();
  // Column atoms before c_begin are never needed by this block.
  std::size_t c_begin = 0;
  if (upper) {
    c_begin = cols.run_start[static_cast<std::size_t>(
        std::lower_bound(cols.run_molecule.begin(), cols.run_molecule.end(), rows.run_molecule[first_run]) -
        cols.run_molecule.begin())];
  }
  // Per-thread scratch, reused across calls (allocating ~4 MiB per call and
  // zero-filling it showed up as 14% of the instructions).
  thread_local std::vector<double> dots, dist, e;
  for (std::size_t c0 = c_begin; c0 < m; c0 += kColumnTileAtoms) {
    const std::size_t c1 = std::min(m, c0 + kColumnTileAtoms), nc = c1 - c0;
    dots.resize(nc * nr);
    dist.resize(nc);
    e.resize(nc);
    // dots column (a - r0) = x_a . x_b for the tile's column atoms b, contiguous.
    gemm_rows_into(cols.x.data() + c0 * d, nc, rows.x.data() + r0 * d, nr, d, dots.data());
    for (std::size_t run = first_run; run < last_run; ++run) {
      const auto mi = static_cast<Eigen::Index>(rows.run_molecule[run]);
      std::size_t b_first = c0;
      if (upper) {
        const std::size_t own = cols.run_start[static_cast<std::size_t>(
            std::lower_bound(cols.run_molecule.begin(), cols.run_molecule.end(), rows.run_molecule[run]) -
            cols.run_molecule.begin())];
        b_first = std::max(b_first, own);
      }
      if (b_first >= c1) continue;
      const std::size_t len = c1 - b_first;
      // First column run intersecting [b_first, c1).
      const std::size_t cr_first = static_cast<std::size_t>(
          std::upper_bound(cols.run_start.begin(), cols.run_start.end(), b_first) - cols.run_start.begin()) - 1;
      for (std::size_t a = rows.run_start[run]; a < rows.run_start[run + 1]; ++a) {
        const double* dot = dots.data() + (a - r0) * nc + (b_first - c0);
        // Adds the run sums of e[] into out[k]'s column of the row molecule.
        auto add_runs = [&](std::size_t k) {
          double* column = out[k].col(mi).data();
          for (std::size_t cr = cr_first; cr + 1 < cols.run_start.size() && cols.run_start[cr] < c1; ++cr) {
            const std::size_t lo = std::max(cols.run_start[cr], b_first), hi = std::min(cols.run_start[cr + 1], c1);
            double sum = 0.0;
            for (std::size_t b = lo; b < hi; ++b) sum += e[b - b_first];
            column[cols.run_molecule[cr]] += sum;
          }
        };
        if (!plan.gaussian.empty()) {
          const double na = rows.norm2[a];
          for (std::size_t b = 0; b < len; ++b) dist[b] = (na + cols.norm2[b_first + b]) - 2.0 * dot[b];
        }
        // Ascending gamma: when one is twice the previous to within a few
        // ulps (sigma / sqrt(2), as on sigma_ladder grids), exp(-2 g d^2) =
        // exp(-g d^2)^2 costs a multiply instead of an exp; the kernel
        // values then differ from a direct exp by < 1e-12 relative.
        for (std::size_t k = 0; k < plan.gaussian.size(); ++k) {
          if (k > 0 && std::fabs(plan.gamma[k] - 2.0 * plan.gamma[k - 1]) <= 4e-16 * plan.gamma[k]) {
            for (std::size_t b = 0; b < len; ++b) e[b] *= e[b];
          } else {
            exp_negative_scaled(dist.data(), plan.gamma[k], e.data(), len);
          }
          add_runs(plan.gaussian[k]);
        }
        for (std::size_t k : plan.polynomial) {
          const AtomKernel& p = plan.kernels[k];
          const double inv = 1.0 / p.scale;
          for (std::size_t b = 0; b < len; ++b) {
            const double t = p.coef0 + dot[b] * inv;
            double v = t;
            for (int q = 1; q < p.degree; ++q) v *= t;
            e[b] = v;
          }
          add_runs(k);
        }
      }
    }
  }
}

// Runs of `e` whose molecules lie in [m0, m1).
std::pair<std::size_t, std::size_t> runs_of_molecules(const ElementAtoms& e, std::size_t m0, std::size_t m1) {
  const auto lo = std::lower_bound(e.run_molecule.begin(), e.run_molecule.end(), m0);
  const auto hi = std::lower_bound(e.run_molecule.begin(), e.run_molecule.end(), m1);
  return {static_cast<std::size_t>(lo - e.run_molecule.begin()), static_cast<std::size_t>(hi - e.run_molecule.begin())};
}

// Every element shared by `x` and `y`, in parallel over blocks of row
// molecules of ~kRowBlockAtoms atoms. A task owns its row molecules' columns
// of `out` for every element, so no two tasks write one entry, and each entry
// receives its additions in one fixed order (elements, tiles, atoms) for any
// thread count.
void accumulate_all(const chem::AtomicFeatures& xf, const std::map<int, ElementAtoms>& x,
                    const std::map<int, ElementAtoms>& y, const KernelPlan& plan, bool upper,
                    std::vector<Eigen::MatrixXd>& out) {
  std::vector<std::pair<std::size_t, std::size_t>> blocks;  // molecule ranges
  for (std::size_t m0 = 0; m0 < xf.molecule_count();) {
    std::size_t m1 = m0 + 1;
    while (m1 < xf.molecule_count() && xf.offsets[m1 + 1] - xf.offsets[m0] <= kRowBlockAtoms) ++m1;
    blocks.emplace_back(m0, m1);
    m0 = m1;
  }
  // In the symmetric case early blocks have the most columns: the pool hands
  // tasks out in order, so it ends with the small ones.
  const SingleThreadedBlas single;
  core::parallel_for(blocks.size(), [&](std::size_t k) {
    for (const auto& [z, rows] : x) {
      const auto it = y.find(z);
      if (it == y.end()) continue;  // no partner atoms: contributes 0
      const auto [first, last] = runs_of_molecules(rows, blocks[k].first, blocks[k].second);
      if (first < last) accumulate_block(rows, first, last, it->second, plan, upper, out);
    }
  });
}

}  // namespace

void AtomKernel::validate() const {
  if (kind == Kind::Gaussian) {
    if (!std::isfinite(sigma) || !(sigma > 0)) {
      throw ParameterError("local kernel: sigma must be finite and > 0, got " + std::to_string(sigma));
    }
  } else if (kind == Kind::Polynomial) {
    if (degree < 1 || degree > 8) throw ParameterError("local kernel: degree must be 1..8, got " + std::to_string(degree));
    if (!std::isfinite(coef0)) throw ParameterError("local kernel: coef0 must be finite");
    if (!std::isfinite(scale) || !(scale > 0)) throw ParameterError("local kernel: scale must be finite and > 0");
  } else {
    throw ParameterError("local kernel: unknown atom kernel kind");
  }
}

double AtomKernel::operator()(std::span<const double> x, std::span<const double> y) const {
  double dot = 0, d2 = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    dot += x[k] * y[k];
    d2 += (x[k] - y[k]) * (x[k] - y[k]);
  }
  if (kind == Kind::Gaussian) return std::exp(-d2 / (2 * sigma * sigma));
  return std::pow(coef0 + dot / scale, degree);
}

std::vector<AtomKernel> gaussian_kernels(std::span<const double> sigmas) {
  std::vector<AtomKernel> out;
  for (double s : sigmas) out.push_back(AtomKernel::gaussian(s));
  return out;
}

std::vector<Eigen::MatrixXd> local_gram_symmetric(const chem::AtomicFeatures& x, std::span<const AtomKernel> kernels) {
  const KernelPlan plan(kernels);
  const auto n = static_cast<Eigen::Index>(x.molecule_count());
  std::vector<Eigen::MatrixXd> out(kernels.size(), Eigen::MatrixXd::Zero(n, n));
  const auto elements = split_by_element(x);
  accumulate_all(x, elements, elements, plan, true, out);
  for (auto& k : out) k.triangularView<Eigen::StrictlyUpper>() = k.transpose();
  return out;
}

std::vector<Eigen::MatrixXd> local_gram(const chem::AtomicFeatures& x, const chem::AtomicFeatures& y,
                                        std::span<const AtomKernel> kernels) {
  if (x.dimension() != y.dimension()) {
    throw ParameterError("local kernel: atomic vectors of " + std::to_string(x.dimension()) + " and " +
                         std::to_string(y.dimension()) + " values");
  }
  const KernelPlan plan(kernels);
  // Built transposed (see accumulate_block), returned the right way round.
  std::vector<Eigen::MatrixXd> out(
      kernels.size(), Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(y.molecule_count()),
                                            static_cast<Eigen::Index>(x.molecule_count())));
  accumulate_all(x, split_by_element(x), split_by_element(y), plan, false, out);
  for (auto& k : out) k.transposeInPlace();
  return out;
}

std::vector<Eigen::MatrixXd> local_gram_symmetric(const chem::AtomicFeatures& x, std::span<const double> sigmas) {
  const auto kernels = gaussian_kernels(sigmas);
  if (kernels.empty()) throw ParameterError("local kernel: no sigma given");
  return local_gram_symmetric(x, std::span<const AtomKernel>(kernels));
}

std::vector<Eigen::MatrixXd> local_gram(const chem::AtomicFeatures& x, const chem::AtomicFeatures& y,
                                        std::span<const double> sigmas) {
  const auto kernels = gaussian_kernels(sigmas);
  if (kernels.empty()) throw ParameterError("local kernel: no sigma given");
  return local_gram(x, y, std::span<const AtomKernel>(kernels));
}

std::vector<double> sigma_ladder(double largest, std::size_t count) {
  if (!std::isfinite(largest) || !(largest > 0)) throw ParameterError("sigma ladder: largest sigma must be finite and > 0");
  std::vector<double> out;
  for (std::size_t k = 0; k < count; ++k) out.push_back(largest * std::pow(0.5, 0.5 * static_cast<double>(k)));
  return out;
}

double median_atomic_distance(const chem::AtomicFeatures& x) {
  std::vector<double> sample;
  for (const auto& [z, e] : split_by_element(x)) {
    const std::size_t m = e.molecule.size();
    const std::size_t stride = std::max<std::size_t>(1, m / 600);
    for (std::size_t a = 0; a < m; a += stride)
      for (std::size_t b = a + stride; b < m; b += stride)
        sample.push_back((e.x.row(static_cast<Eigen::Index>(a)) - e.x.row(static_cast<Eigen::Index>(b))).norm());
  }
  if (sample.empty()) return 1.0;
  auto mid = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
  std::nth_element(sample.begin(), mid, sample.end());
  return *mid > 0 ? *mid : 1.0;
}

}  // namespace encmol::ml
