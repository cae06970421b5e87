// Dense matrices inside model files: row-major f64, every size bounded by the
// bytes that remain before anything is allocated, every value finite.
#pragma once

#include <cmath>
#include <cstring>
#include <string>

#include <Eigen/Core>

#include "encmol/core/binary.hpp"

namespace encmol::ml {

template <typename MatrixT>
void write_matrix_rows(core::ByteWriter& w, const MatrixT& m) {
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) w.f64(static_cast<double>(m(i, j)));
}

/// Reads rows x cols finite doubles (row-major) into `m` after checking they
/// fit in what remains of `r`; FormatError naming `what` otherwise.
template <typename MatrixT>
void read_matrix_rows(core::ByteReader& r, MatrixT& m, std::size_t rows, std::size_t cols,
                      const char* what) {
  if (cols != 0 && rows > r.remaining() / 8 / cols) {
    r.fail(std::string(what) + ": " + std::to_string(rows) + " x " + std::to_string(cols) +
           " values do not fit in the remaining data");
  }
  m.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  const auto bytes = r.bytes(rows * cols * 8);
  std::size_t k = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j, ++k) {
      double v;
      std::memcpy(&v, bytes.data() + 8 * k, 8);
      if (!std::isfinite(v)) {
        r.fail(std::string(what) + " value (" + std::to_string(i) + ", " + std::to_string(j) +
               ") is not a finite number");
      }
      m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
          static_cast<typename MatrixT::Scalar>(v);
    }
  }
}

}  // namespace encmol::ml
