// Thin wrappers over the BLAS/LAPACK routines the ml layer needs (OpenBLAS on
// Debian). They set OpenBLAS's thread count to core::thread_count() first so
// `--threads` governs BLAS as well. Never call them from inside a
// core::parallel_for body.
#pragma once

#include <cstddef>

#include <Eigen/Core>

#include "encmol/chem/representation.hpp"

namespace encmol::ml {

using chem::FeatureMatrix;

/// C = X * Y^T for row-major X (n x d) and Y (m x d); C is n x m (dgemm).
Eigen::MatrixXd gemm_xyt(const FeatureMatrix& x, const FeatureMatrix& y);

/// The same on raw row-major arrays: c (n x m, column-major, leading
/// dimension n) = x (n x d) * y (m x d)^T. Sizes must fit BLAS ints. Uses
/// BLAS's current thread count (no sync_blas_threads), so it may be called
/// from core::parallel_for bodies inside a SingleThreadedBlas scope.
void gemm_rows_into(const double* x, std::size_t n, const double* y, std::size_t m, std::size_t d,
                    double* c);

/// c = op(a) * op(b) + beta * c for column-major matrices or column blocks
/// (op = transpose when the flag is set; dgemm). With beta == 0, c need not
/// be initialised. Throws ParameterError when the sizes do not agree. Uses
/// BLAS's current thread count, like gemm_rows_into.
void gemm_into(const Eigen::Ref<const Eigen::MatrixXd>& a, bool transpose_a,
               const Eigen::Ref<const Eigen::MatrixXd>& b, bool transpose_b, double beta,
               Eigen::Ref<Eigen::MatrixXd> c);

/// C = X * X^T, full symmetric n x n (dsyrk, then mirrored).
Eigen::MatrixXd syrk_xxt(const FeatureMatrix& x);

/// X^T X for row-major X (n x d): full symmetric d x d (dsyrk, then mirrored).
Eigen::MatrixXd syrk_xtx(const FeatureMatrix& x);

/// Lower triangle of C <- alpha X^T X + beta C for column-major X (n x d) and
/// C (d x d); the strict upper triangle of C is left as it was (dsyrk). With
/// alpha = -1, beta = 1 it removes rows' contributions from a Gram matrix.
void syrk_tn_update(Eigen::MatrixXd& c, const Eigen::MatrixXd& x, double alpha, double beta);

/// In-place lower Cholesky factor of the symmetric positive definite `a`
/// (dpotrf). Returns 0 on success, else the LAPACK info (the order of the
/// first non-positive leading minor).
int cholesky_in_place(Eigen::MatrixXd& a);

/// Solves L L^T X = B given the factor from cholesky_in_place (dpotrs);
/// B (n x k) is overwritten with X.
void cholesky_solve_in_place(const Eigen::MatrixXd& factor, Eigen::MatrixXd& b);

/// Eigen-decomposition of the symmetric `a` (its lower triangle is read;
/// dsyevd): eigenvalues ascending into `values`, eigenvectors into the
/// columns of `a`.
void symmetric_eigen_in_place(Eigen::MatrixXd& a, Eigen::VectorXd& values);

/// While alive, BLAS runs single-threaded, so core::parallel_for bodies may
/// call gemm_rows_into concurrently; the destructor restores
/// core::thread_count() threads.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

/// The most threads BLAS may use: ENCMOL_BLAS_THREADS when it is a positive
/// integer (read once), else 0 (no cap). `make tsan` sets it to 1, because
/// TSan cannot see OpenBLAS's uninstrumented hand-over between its threads.
unsigned blas_thread_cap();

/// Makes BLAS use core::thread_count() threads, at most blas_thread_cap()
/// (no-op for a BLAS without the OpenBLAS control function).
void sync_blas_threads();

}  // namespace encmol::ml
