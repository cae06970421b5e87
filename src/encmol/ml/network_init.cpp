#include "encmol/ml/network_init.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "encmol/core/error.hpp"
#include "encmol/ml/atom_frame.hpp"
#include "encmol/ml/linalg.hpp"
#include "encmol/ml/network_training.hpp"

namespace encmol::ml {
namespace {

// The network starts near linear: each block adds c u^p with c = 0.1.
constexpr double kInitialBlockScale = 0.1;
// Standardization floor, relative to the element's RMS feature deviation.
constexpr double kScaleFloor = 0.01;
// Atoms per element used for the principal directions.
constexpr std::size_t kPrincipalSample = 20000;

}  // namespace

double NormalSampler::operator()() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  auto uniform = [&] { return (static_cast<double>(rng_() >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
  const double r = std::sqrt(-2.0 * std::log(uniform())),
               theta = 2.0 * std::numbers::pi * uniform();
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

AtomicNetwork initial_network(const chem::AtomicFeatures& atoms, std::size_t targets,
                              const NetworkOptions& options) {
  options.validate();
  atoms.validate();
  if (atoms.atom_count() == 0) throw ParameterError("network training: no atoms");
  if (targets < 1 || targets > kMaxNetworkTargets) {
    throw ParameterError("network training needs 1.." + std::to_string(kMaxNetworkTargets) +
                         " targets");
  }
  AtomicNetwork net;
  net.depth = options.depth;
  net.width = options.width;
  net.power = options.power;
  net.linear_skip = options.linear_skip;
  std::vector<int> elements = atoms.charges;
  std::sort(elements.begin(), elements.end());
  elements.erase(std::unique(elements.begin(), elements.end()), elements.end());

  const auto d = static_cast<Eigen::Index>(atoms.dimension()),
             w = static_cast<Eigen::Index>(options.width), t = static_cast<Eigen::Index>(targets);
  NormalSampler normal(options.seed);
  auto random = [&](Eigen::Index rows, Eigen::Index cols, double sd) {
    Eigen::MatrixXd m(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = sd * normal();
    return m;
  };
  // Two-pass mean and standard deviation over each element's atoms, in atom order.
  const AtomFrame standardization = AtomFrame::fit(atoms, elements, kScaleFloor);
  for (std::size_t k = 0; k < elements.size(); ++k) {
    const int z = elements[k];
    ElementNetwork e;
    e.element = z;
    e.mean = standardization.elements[k].center;
    e.scale = standardization.elements[k].scale;

    e.w0 = random(w, d, 1.0 / std::sqrt(static_cast<double>(std::max<Eigen::Index>(d, 1))));
    e.b0 = Eigen::VectorXd::Zero(w);
    for (std::size_t l = 0; l < options.depth; ++l) {
      e.w.push_back(random(w, w, 1.0 / std::sqrt(static_cast<double>(w))));
      e.b.push_back(Eigen::VectorXd::Zero(w));
      e.c.push_back(Eigen::VectorXd::Constant(w, kInitialBlockScale));
    }
    e.v = random(t, w, 0.1 / std::sqrt(static_cast<double>(w)));
    e.beta = Eigen::VectorXd::Zero(t);
    if (options.linear_skip) e.skip = Eigen::MatrixXd::Zero(t, d);
    net.networks.push_back(std::move(e));
  }
  return net;
}

void principal_first_layer(AtomicNetwork& network, const NetworkData& data) {
  for (std::size_t k = 0; k < network.networks.size(); ++k) {
    ElementNetwork& e = network.networks[k];
    const Eigen::MatrixXd& z = data.z[k];
    const auto n = static_cast<std::size_t>(z.cols());
    if (n < 2 || z.rows() == 0) continue;
    const std::size_t stride = (n + kPrincipalSample - 1) / kPrincipalSample;
    Eigen::MatrixXd sample(z.rows(), static_cast<Eigen::Index>((n + stride - 1) / stride));
    for (Eigen::Index j = 0; j < sample.cols(); ++j)
      sample.col(j) = z.col(j * static_cast<Eigen::Index>(stride));
    const Eigen::VectorXd mean = sample.rowwise().mean();
    sample.colwise() -= mean;
    Eigen::MatrixXd cov(z.rows(), z.rows());
    gemm_into(sample, false, sample, true, 0.0, cov);
    cov /= static_cast<double>(sample.cols());
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
    if (eig.info() != Eigen::Success) continue;  // keep the random rows
    const Eigen::Index d = z.rows(), rows = std::min<Eigen::Index>(e.w0.rows(), d);
    const double largest = eig.eigenvalues()(d - 1);
    for (Eigen::Index r = 0; r < rows; ++r) {
      const double lambda = eig.eigenvalues()(d - 1 - r);
      if (!(lambda > 1e-9 * largest)) break;
      e.w0.row(r) = eig.eigenvectors().col(d - 1 - r).transpose() / std::sqrt(lambda);
    }
    e.b0 = -e.w0 * mean;
  }
}

double ridge_output_layer(AtomicNetwork& network, const NetworkData& data,
                          const std::vector<std::size_t>& train,
                          const std::vector<std::size_t>& validation, const Eigen::MatrixXd& labels,
                          const Eigen::RowVectorXd& inv_scale, BatchEvaluator& evaluator) {
  auto gather = [&](const std::vector<std::size_t>& rows) {
    Eigen::MatrixXd y(static_cast<Eigen::Index>(rows.size()), labels.cols());
    for (std::size_t i = 0; i < rows.size(); ++i)
      y.row(static_cast<Eigen::Index>(i)) = labels.row(static_cast<Eigen::Index>(rows[i]));
    return y;
  };
  // The skip is still 0 here, so the labels are all V and beta have to fit.
  const Eigen::MatrixXd x = evaluator.hidden_sums(network, data, train);
  const Eigen::MatrixXd y = gather(train);
  const auto f = x.cols();
  Eigen::MatrixXd gram(f, f), rhs(f, y.cols());
  gemm_into(x, true, x, false, 0.0, gram);
  gemm_into(x, true, y, false, 0.0, rhs);
  const double diagonal =
      std::max(gram.trace() / static_cast<double>(f), std::numeric_limits<double>::min());

  Eigen::MatrixXd x_val, y_val;
  if (!validation.empty()) {
    x_val = evaluator.hidden_sums(network, data, validation);
    y_val = gather(validation);
  }
  const double grid[] = {1e-8, 1e-6, 1e-4, 1e-2, 1.0};
  double best_score = std::numeric_limits<double>::infinity(), best_lambda = 0.0;
  Eigen::MatrixXd best;
  for (double relative : grid) {
    if (validation.empty() && relative != 1e-6) continue;
    Eigen::MatrixXd a = gram;
    a.diagonal().array() += relative * diagonal;
    const Eigen::LLT<Eigen::MatrixXd> llt(a);
    if (llt.info() != Eigen::Success) continue;
    Eigen::MatrixXd coef = llt.solve(rhs);
    const double score =
        validation.empty() ? 0.0 : ((x_val * coef - y_val) * inv_scale.asDiagonal()).squaredNorm();
    if (!std::isfinite(score) || !coef.allFinite()) continue;
    if (score < best_score) {
      best_score = score;
      best_lambda = relative;
      best = std::move(coef);
    }
  }
  if (best.size() == 0) return 0.0;  // no grid point solved: keep the random output layer
  const auto w = static_cast<Eigen::Index>(network.width);
  for (std::size_t k = 0; k < network.networks.size(); ++k) {
    const auto base = static_cast<Eigen::Index>(k) * (w + 1);
    network.networks[k].v = best.middleRows(base, w).transpose();
    network.networks[k].beta = best.row(base + w).transpose();
  }
  return best_lambda;
}

}  // namespace encmol::ml
