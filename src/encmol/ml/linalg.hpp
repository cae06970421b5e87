// Thin wrappers over the BLAS/LAPACK routines the ml layer needs (OpenBLAS on
// Debian). They set OpenBLAS's thread count to core::thread_count() first so
// `--threads` governs BLAS as well. Never call them from inside a
// core::parallel_for body.
#pragma once

#include <Eigen/Core>

#include "encmol/chem/representation.hpp"

namespace encmol::ml {

using chem::FeatureMatrix;

/// C = X * Y^T for row-major X (n x d) and Y (m x d); C is n x m (dgemm).
Eigen::MatrixXd gemm_xyt(const FeatureMatrix& x, const FeatureMatrix& y);

/// C = X * X^T, full symmetric n x n (dsyrk, then mirrored).
Eigen::MatrixXd syrk_xxt(const FeatureMatrix& x);

/// In-place lower Cholesky factor of the symmetric positive definite `a`
/// (dpotrf). Returns 0 on success, else the LAPACK info (the order of the
/// first non-positive leading minor).
int cholesky_in_place(Eigen::MatrixXd& a);

/// Solves L L^T X = B given the factor from cholesky_in_place (dpotrs);
/// B (n x k) is overwritten with X.
void cholesky_solve_in_place(const Eigen::MatrixXd& factor, Eigen::MatrixXd& b);

/// Makes BLAS use core::thread_count() threads (no-op for a BLAS without the
/// OpenBLAS control function).
void sync_blas_threads();

}  // namespace encmol::ml
