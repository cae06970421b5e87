#include "encmol/ml/linalg.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

// Fortran BLAS/LAPACK entry points (column-major, arguments by pointer).
extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             double* b, const int* ldb, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
// OpenBLAS extension; weak so another BLAS still links (then it is skipped).
void openblas_set_num_threads(int) __attribute__((weak));
}

namespace encmol::ml {
namespace {

int checked_int(Eigen::Index v, const char* what) {
  if (v < 0 || v > 2'000'000'000) {
    throw ParameterError(std::string("matrix dimension too large for BLAS (") + what + " = " +
                         std::to_string(v) + ")");
  }
  return static_cast<int>(v);
}

}  // namespace

unsigned blas_thread_cap() {
  static const unsigned cap = [] {
    const char* env = std::getenv("ENCMOL_BLAS_THREADS");
    const std::string_view text = env == nullptr ? "" : env;
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    // Anything but a whole positive integer leaves BLAS uncapped: the cap
    // changes speed only, never a result.
    if (error != std::errc() || end != text.data() + text.size() || value > 4096) return 0U;
    return value;
  }();
  return cap;
}

void sync_blas_threads() {
  if (openblas_set_num_threads != nullptr) {
    const unsigned cap = blas_thread_cap();
    const unsigned threads = cap == 0 ? core::thread_count() : std::min(cap, core::thread_count());
    openblas_set_num_threads(static_cast<int>(threads));
  }
}

SingleThreadedBlas::SingleThreadedBlas() {
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
}

SingleThreadedBlas::~SingleThreadedBlas() { sync_blas_threads(); }

Eigen::MatrixXd gemm_xyt(const FeatureMatrix& x, const FeatureMatrix& y) {
  if (x.cols() != y.cols()) {
    throw ParameterError("feature dimensions differ: " + std::to_string(x.cols()) + " vs " +
                         std::to_string(y.cols()));
  }
  Eigen::MatrixXd c(x.rows(), y.rows());
  if (x.rows() == 0 || y.rows() == 0) return c;
  if (x.cols() == 0) {
    c.setZero();
    return c;
  }
  sync_blas_threads();
  gemm_rows_into(x.data(), static_cast<std::size_t>(x.rows()), y.data(), static_cast<std::size_t>(y.rows()),
                 static_cast<std::size_t>(x.cols()), c.data());
  return c;
}

void gemm_rows_into(const double* x, std::size_t n, const double* y, std::size_t m, std::size_t d, double* c) {
  if (n == 0 || m == 0) return;
  if (d == 0) {
    std::fill(c, c + n * m, 0.0);
    return;
  }
  // Row-major X (n x d) is column-major X^T (d x n) with leading dimension d.
  const int ni = checked_int(static_cast<Eigen::Index>(n), "rows"), mi = checked_int(static_cast<Eigen::Index>(m), "rows"),
            di = checked_int(static_cast<Eigen::Index>(d), "columns");
  const double one = 1.0, zero = 0.0;
  dgemm_("T", "N", &ni, &mi, &di, &one, x, &di, y, &di, &zero, c, &ni);
}

void gemm_into(const Eigen::Ref<const Eigen::MatrixXd>& a, bool transpose_a,
               const Eigen::Ref<const Eigen::MatrixXd>& b, bool transpose_b, double beta,
               Eigen::Ref<Eigen::MatrixXd> c) {
  const Eigen::Index m = transpose_a ? a.cols() : a.rows(), k = transpose_a ? a.rows() : a.cols();
  const Eigen::Index kb = transpose_b ? b.cols() : b.rows(), n = transpose_b ? b.rows() : b.cols();
  if (k != kb || c.rows() != m || c.cols() != n) {
    throw ParameterError("gemm: sizes do not agree (" + std::to_string(m) + " x " + std::to_string(k) + " times " +
                         std::to_string(kb) + " x " + std::to_string(n) + " into " + std::to_string(c.rows()) +
                         " x " + std::to_string(c.cols()) + ")");
  }
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0) {
      c.setZero();
    } else {
      c *= beta;
    }
    return;
  }
  const int mi = checked_int(m, "rows"), ni = checked_int(n, "columns"), ki = checked_int(k, "inner dimension");
  // Leading dimensions: the column stride of each (possibly block) operand, >= 1.
  const int lda = checked_int(std::max<Eigen::Index>(1, a.outerStride()), "leading dimension");
  const int ldb = checked_int(std::max<Eigen::Index>(1, b.outerStride()), "leading dimension");
  const int ldc = checked_int(std::max<Eigen::Index>(1, c.outerStride()), "leading dimension");
  const double one = 1.0;
  dgemm_(transpose_a ? "T" : "N", transpose_b ? "T" : "N", &mi, &ni, &ki, &one, a.data(), &lda, b.data(), &ldb, &beta,
         c.data(), &ldc);
}

Eigen::MatrixXd syrk_xxt(const FeatureMatrix& x) {
  Eigen::MatrixXd c(x.rows(), x.rows());
  if (x.rows() == 0) return c;
  if (x.cols() == 0) {
    c.setZero();
    return c;
  }
  sync_blas_threads();
  const int n = checked_int(x.rows(), "rows"), d = checked_int(x.cols(), "columns");
  const double one = 1.0, zero = 0.0;
  dsyrk_("L", "T", &n, &d, &one, x.data(), &d, &zero, c.data(), &n);
  c.triangularView<Eigen::StrictlyUpper>() = c.transpose();
  return c;
}

Eigen::MatrixXd syrk_xtx(const FeatureMatrix& x) {
  Eigen::MatrixXd c(x.cols(), x.cols());
  if (x.cols() == 0) return c;
  if (x.rows() == 0) {
    c.setZero();
    return c;
  }
  sync_blas_threads();
  // Row-major X (n x d) is column-major X^T (d x n): C = (X^T)(X^T)^T.
  const int n = checked_int(x.rows(), "rows"), d = checked_int(x.cols(), "columns");
  const double one = 1.0, zero = 0.0;
  dsyrk_("L", "N", &d, &n, &one, x.data(), &d, &zero, c.data(), &d);
  c.triangularView<Eigen::StrictlyUpper>() = c.transpose();
  return c;
}

void syrk_tn_update(Eigen::MatrixXd& c, const Eigen::MatrixXd& x, double alpha, double beta) {
  if (c.rows() != c.cols() || c.rows() != x.cols())
    throw ParameterError("syrk_tn_update: dimension mismatch");
  if (c.rows() == 0) return;
  if (x.rows() == 0) {
    if (beta == 0.0) {
      c.triangularView<Eigen::Lower>().setZero();
    } else {
      c.triangularView<Eigen::Lower>() *= beta;
    }
    return;
  }
  sync_blas_threads();
  const int d = checked_int(x.cols(), "columns"), n = checked_int(x.rows(), "rows");
  dsyrk_("L", "T", &d, &n, &alpha, x.data(), &n, &beta, c.data(), &d);
}

int cholesky_in_place(Eigen::MatrixXd& a) {
  if (a.rows() != a.cols()) throw ParameterError("Cholesky of a non-square matrix");
  if (a.rows() == 0) return 0;
  sync_blas_threads();
  const int n = checked_int(a.rows(), "rows");
  int info = 0;
  dpotrf_("L", &n, a.data(), &n, &info);
  if (info < 0) throw ParameterError("dpotrf: invalid argument " + std::to_string(-info));
  return info;
}

void cholesky_solve_in_place(const Eigen::MatrixXd& factor, Eigen::MatrixXd& b) {
  if (factor.rows() != b.rows()) throw ParameterError("Cholesky solve: dimension mismatch");
  if (b.rows() == 0 || b.cols() == 0) return;
  sync_blas_threads();
  const int n = checked_int(factor.rows(), "rows"), k = checked_int(b.cols(), "columns");
  int info = 0;
  dpotrs_("L", &n, &k, factor.data(), &n, b.data(), &n, &info);
  if (info != 0) throw ParameterError("dpotrs failed with info " + std::to_string(info));
}

void symmetric_eigen_in_place(Eigen::MatrixXd& a, Eigen::VectorXd& values) {
  if (a.rows() != a.cols()) throw ParameterError("symmetric_eigen: the matrix is not square");
  const int n = static_cast<int>(a.rows());
  values.resize(n);
  if (n == 0) return;
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_("V", "L", &n, a.data(), &n, values.data(), &work_query, &lwork, &iwork_query, &liwork, &info);
  if (info != 0) throw ParameterError("dsyevd: workspace query failed (" + std::to_string(info) + ")");
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevd_("V", "L", &n, a.data(), &n, values.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0) throw ParameterError("dsyevd: the eigenvalue decomposition did not converge (" + std::to_string(info) + ")");
}

}  // namespace encmol::ml
