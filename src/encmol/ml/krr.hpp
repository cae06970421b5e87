// Kernel ridge regression solve: (K + lambda I) alpha = Y by Cholesky, for
// several targets at once.
#pragma once

#include <Eigen/Core>

namespace encmol::ml {

/// Solves (K + lambda I) alpha = y by Cholesky (LAPACK dpotrf/dpotrs); K is
/// consumed (overwritten by the factor). Throws ParameterError when K + lambda I
/// is not numerically positive definite, suggesting a larger lambda.
Eigen::MatrixXd solve_krr(Eigen::MatrixXd k, double lambda, const Eigen::MatrixXd& y);

/// Like solve_krr but returns false instead of throwing when the matrix is not
/// positive definite (used by the grid search).
bool try_solve_krr(Eigen::MatrixXd& k, double lambda, const Eigen::MatrixXd& y,
                   Eigen::MatrixXd& alpha);

}  // namespace encmol::ml
