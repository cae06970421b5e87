#include "encmol/ml/krr.hpp"

#include <cmath>
#include <cstdio>

#include "encmol/core/error.hpp"
#include "encmol/ml/linalg.hpp"

namespace encmol::ml {

bool try_solve_krr(Eigen::MatrixXd& k, double lambda, const Eigen::MatrixXd& y,
                   Eigen::MatrixXd& alpha) {
  if (k.rows() != k.cols() || k.rows() != y.rows()) {
    throw ParameterError("KRR: kernel matrix is " + std::to_string(k.rows()) + "x" +
                         std::to_string(k.cols()) + " but there are " + std::to_string(y.rows()) +
                         " labels");
  }
  if (!std::isfinite(lambda) || lambda < 0) {
    throw ParameterError("KRR: lambda must be finite and >= 0, got " + std::to_string(lambda));
  }
  k.diagonal().array() += lambda;
  if (cholesky_in_place(k) != 0) return false;
  alpha = y;
  cholesky_solve_in_place(k, alpha);
  return alpha.allFinite();
}

Eigen::MatrixXd solve_krr(Eigen::MatrixXd k, double lambda, const Eigen::MatrixXd& y) {
  Eigen::MatrixXd alpha;
  if (!try_solve_krr(k, lambda, y, alpha)) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3g", lambda);
    throw ParameterError(std::string("the kernel matrix plus lambda = ") + buf +
                         " is not numerically positive definite (duplicate molecules or a too "
                         "large sigma); use a larger lambda or a smaller sigma");
  }
  return alpha;
}

}  // namespace encmol::ml
