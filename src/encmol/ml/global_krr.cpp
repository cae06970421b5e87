#include "encmol/ml/global_krr.hpp"

#include <cmath>
#include <cstdio>

#include "encmol/core/error.hpp"
#include "encmol/ml/matrix_io.hpp"

namespace encmol::ml {

Eigen::VectorXd GlobalKrr::sum_abs_alpha() const { return alpha.cwiseAbs().colwise().sum().transpose(); }

Eigen::MatrixXd GlobalKrr::predict(const chem::FeatureMatrix& features) const {
  if (features.cols() != training_features.cols()) {
    throw ParameterError("predict: features have " + std::to_string(features.cols()) +
                         " values, the model expects " + std::to_string(training_features.cols()));
  }
  return gram(kernel, features, training_features) * alpha;
}

void GlobalKrr::validate(std::size_t dimension, std::size_t targets) const {
  kernel.validate();
  auto fail = [](const std::string& what) { throw ParameterError("invalid model: " + what); };
  const auto n = alpha.rows();
  if (n == 0) fail("no training molecules");
  if (alpha.cols() != static_cast<Eigen::Index>(targets)) {
    fail("alpha has " + std::to_string(alpha.cols()) + " columns for " + std::to_string(targets) + " targets");
  }
  if (training_features.rows() != n) fail("training features and alpha differ in rows");
  if (static_cast<std::size_t>(training_features.cols()) != dimension) {
    fail("training features do not match the representation dimension");
  }
  if (!std::isfinite(lambda) || lambda < 0) fail("lambda is not finite and >= 0");
  if (!alpha.allFinite() || !training_features.allFinite()) fail("non-finite weights or features");
}

std::string GlobalKrr::describe() const {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "kernel: %s\nlambda: %.6g\n", kernel.describe().c_str(), lambda);
  return buf;
}

nlohmann::json GlobalKrr::describe_json() const {
  nlohmann::json j;
  j["kernel"] = {{"kind", std::string(to_string(kernel.kind))}, {"description", kernel.describe()}};
  if (kernel.has_sigma()) j["kernel"]["sigma"] = kernel.sigma;
  if (kernel.kind == KernelKind::Polynomial) {
    j["kernel"]["gamma"] = kernel.gamma;
    j["kernel"]["coef0"] = kernel.coef0;
    j["kernel"]["degree"] = kernel.degree;
  }
  j["lambda"] = lambda;
  const Eigen::VectorXd sa = sum_abs_alpha();
  j["sum_abs_alpha"] = std::vector<double>(sa.data(), sa.data() + sa.size());
  return j;
}

void GlobalKrr::write(core::ByteWriter& w) const {
  w.u8(static_cast<std::uint8_t>(kernel.kind));
  w.f64(kernel.sigma);
  w.f64(kernel.gamma);
  w.f64(kernel.coef0);
  w.u32(static_cast<std::uint32_t>(kernel.degree));
  w.f64(lambda);
  w.u64(static_cast<std::uint64_t>(training_features.rows()));
  w.u64(static_cast<std::uint64_t>(training_features.cols()));
  write_matrix_rows(w, training_features);
  write_matrix_rows(w, alpha);
  const Eigen::VectorXd sa = sum_abs_alpha();
  for (Eigen::Index t = 0; t < sa.size(); ++t) w.f64(sa(t));
}

GlobalKrr GlobalKrr::read(core::ByteReader& r, std::size_t dimension, std::size_t targets) {
  GlobalKrr m;
  const std::uint8_t kind = r.u8();
  if (kind < 1 || kind > 4) r.fail("unknown kernel kind " + std::to_string(kind));
  m.kernel.kind = static_cast<KernelKind>(kind);
  m.kernel.sigma = r.finite_f64("kernel sigma");
  m.kernel.gamma = r.finite_f64("kernel gamma");
  m.kernel.coef0 = r.finite_f64("kernel coef0");
  const std::uint32_t degree = r.u32();
  if (degree < 1 || degree > 16) r.fail("kernel degree " + std::to_string(degree) + " outside 1..16");
  m.kernel.degree = static_cast<int>(degree);
  try {
    m.kernel.validate();
  } catch (const ParameterError& e) {
    r.fail(e.what());
  }
  m.lambda = r.finite_f64("lambda");
  if (m.lambda < 0) r.fail("lambda is negative");
  const std::size_t n = r.count("training molecule", std::size_t{1} << 40, 8);
  const std::uint64_t d = r.u64();
  if (d != dimension) {
    r.fail("training representations have " + std::to_string(d) +
           " values each but the representation spec has " + std::to_string(dimension));
  }
  if (n == 0) r.fail("model has no training molecules");
  read_matrix_rows(r, m.training_features, n, dimension, "training representation");
  read_matrix_rows(r, m.alpha, n, targets, "alpha");
  const Eigen::VectorXd sa = m.sum_abs_alpha();
  for (std::size_t t = 0; t < targets; ++t) {
    const double stored = r.finite_f64("sum|alpha|");
    const double a = sa(static_cast<Eigen::Index>(t));
    if (std::fabs(a - stored) > 1e-9 * std::max(1.0, std::fabs(a))) {
      r.fail("stored sum|alpha| of target " + std::to_string(t + 1) + " does not match its weights");
    }
  }
  return m;
}

}  // namespace encmol::ml
