// MatVecOperator (linear.hpp): a plaintext matrix's diagonals prepared for one
// plan and level, applied by baby-step giant-step with hoisted rotations.
#include <algorithm>
#include <cmath>
#include <complex>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::he {

using ckks::Ciphertext;
using ckks::Plaintext;

MatVecOperator::MatVecOperator(std::shared_ptr<const ckks::Encoder> encoder, MatVecPlan plan,
                               std::span<const double> matrix, std::size_t level,
                               DiagonalCache cache, bool pending_input_rescale)
    : encoder_(std::move(encoder)),
      plan_(std::move(plan)),
      matrix_(matrix.begin(), matrix.end()),
      level_(level),
      cache_mode_(cache),
      pending_(pending_input_rescale) {
  if (matrix_.size() != plan_.rows * plan_.cols)
    throw InputError("he: the matrix has " + std::to_string(matrix_.size()) +
                     " entries, the plan expects " + std::to_string(plan_.rows) + " x " +
                     std::to_string(plan_.cols));
  prepare();
}

MatVecOperator::MatVecOperator(std::shared_ptr<const ckks::Encoder> encoder, MatVecPlan plan,
                               std::span<const double> matrices,
                               std::vector<std::size_t> query_matrix, std::size_t level,
                               DiagonalCache cache, bool pending_input_rescale)
    : encoder_(std::move(encoder)),
      plan_(std::move(plan)),
      matrix_(matrices.begin(), matrices.end()),
      query_matrix_(std::move(query_matrix)),
      level_(level),
      cache_mode_(cache),
      pending_(pending_input_rescale) {
  const std::size_t size = plan_.rows * plan_.cols;
  if (query_matrix_.size() != plan_.queries || size == 0 || matrix_.size() % size != 0)
    throw InputError("he: per-query matrices need one matrix index per query window and whole " +
                     std::to_string(plan_.rows) + " x " + std::to_string(plan_.cols) + " matrices");
  for (std::size_t k : query_matrix_)
    if (k != kNoMatrix && k >= matrix_.size() / size)
      throw InputError("he: a query window names a matrix that was not given");
  prepare();
}

void MatVecOperator::prepare() {
  if (!encoder_) throw InputError("he: MatVecOperator needs an encoder");
  if (plan_.slots != encoder_->slots())
    throw InputError("he: the matrix-vector plan was made for " + std::to_string(plan_.slots) +
                     " slots, the parameters have " + std::to_string(encoder_->slots()));
  for (double v : matrix_)
    if (!std::isfinite(v)) throw InputError("he: the matrix has a non-finite entry");
  if (level_ < 1 || level_ > encoder_->context().max_level())
    throw InputError("he: the matrix-vector product needs an input level in [1, " +
                     std::to_string(encoder_->context().max_level()) + "], got " +
                     std::to_string(level_));
  if (pending_ && (plan_.masked || level_ < 2))
    throw InputError("he: a pending input rescale needs an unmasked plan and an input level >= 2");
  pt_scale_ =
      static_cast<double>(encoder_->context().modulus(pending_ ? level_ - 1 : level_).value());
  if (plan_.masked) {
    if (level_ < 2)
      throw InputError("he: a masked matrix-vector product needs an input level >= 2");
    const double q = static_cast<double>(encoder_->context().modulus(level_ - 1).value());
    for (std::size_t b = 0; b < plan_.blocks; ++b) {
      std::vector<double> m(plan_.slots, 0.0);
      const std::size_t rows_here = std::min(
          plan_.rows_per_block, plan_.rows - std::min(plan_.rows, b * plan_.rows_per_block));
      std::fill(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(rows_here), 1.0);
      masks_.push_back(encoder_->encode(std::span<const double>(m), q, level_ - 1));
    }
  }
  const std::size_t count = plan_.blocks * plan_.diagonals;
  if (cache_mode_ == DiagonalCache::plaintexts) {
    cache_.resize(count);
    for (std::size_t t = 0; t < count; ++t)
      cache_[t] = diagonal(t / plan_.diagonals, t % plan_.diagonals);
  } else if (cache_mode_ == DiagonalCache::coefficients) {
    coeff_cache_.resize(count);
    for (std::size_t t = 0; t < count; ++t) {
      const auto v = diagonal_values(t / plan_.diagonals, t % plan_.diagonals);
      const std::vector<std::complex<double>> cv(v.begin(), v.end());
      coeff_cache_[t] = encoder_->slots_to_coeffs(cv);
    }
  }
}

std::size_t MatVecOperator::memory_bytes() const {
  std::size_t b = matrix_.size() * sizeof(double);
  for (const auto& p : cache_) b += p.data.size() * sizeof(std::uint64_t);
  for (const auto& p : masks_) b += p.data.size() * sizeof(std::uint64_t);
  for (const auto& c : coeff_cache_) b += c.size() * sizeof(double);
  return b;
}

Plaintext MatVecOperator::diagonal(std::size_t block, std::size_t k) const {
  if (!coeff_cache_.empty()) {
    const auto& c = coeff_cache_[block * plan_.diagonals + k];
    std::vector<long double> scaled(c.size());
    for (std::size_t i = 0; i < c.size(); ++i)
      scaled[i] = static_cast<long double>(c[i]) * pt_scale_;
    return encoder_->from_scaled_coeffs(scaled, pt_scale_, level_);
  }
  const auto v = diagonal_values(block, k);
  return encoder_->encode(std::span<const double>(v), pt_scale_, level_);
}

std::vector<double> MatVecOperator::diagonal_values(std::size_t block, std::size_t k) const {
  const MatVecPlan& p = plan_;
  const std::size_t S = p.slots, C = p.period, m = p.diagonals;
  const std::size_t shift = (k / p.baby) * p.baby;  // pre-rotation by -g*i
  std::vector<double> v(S, 0.0);
  if (p.queries > 1) {
    // Same diagonal in every query region; no fold.
    for (std::size_t q = 0; q < p.queries; ++q) {
      const std::size_t which = query_matrix_.empty() ? 0 : query_matrix_[q];
      if (which == kNoMatrix) continue;
      const double* matrix = matrix_.data() + which * p.rows * p.cols;
      for (std::size_t ii = 0; ii < p.rows; ++ii) {
        const std::size_t col = (ii + k) % C;
        if (col < p.cols) v[(q * p.query_stride + ii + shift) % S] = matrix[ii * p.cols + col];
      }
    }
    return v;
  }
  const std::size_t which = query_matrix_.empty() ? 0 : query_matrix_[0];
  if (which == kNoMatrix) return v;
  const double* matrix = matrix_.data() + which * p.rows * p.cols;
  for (std::size_t s0 = 0; s0 < S; ++s0) {
    // D_k[s0] lands in slot s0 + shift after the pre-rotation.
    const std::size_t r = s0 / p.stride, ii = s0 % p.stride;
    if (r >= p.fold || ii >= p.rows_per_block || r * m + k >= C) continue;
    const std::size_t row = block * p.rows_per_block + ii;
    if (row >= p.rows) continue;
    const std::size_t col = (ii + r * m + k) % C;
    if (col >= p.cols) continue;
    v[(s0 + shift) % S] = matrix[row * p.cols + col];
  }
  return v;
}

std::vector<Ciphertext> MatVecOperator::apply(const ckks::Evaluator& ev, const Ciphertext& x0,
                                              const ckks::GaloisKeys& gk) const {
  const MatVecPlan& p = plan_;
  if (x0.size != 2)
    throw ParameterError("he: matrix-vector product needs a relinearized ciphertext");
  if (x0.level < level_)
    throw ParameterError("he: the matrix was prepared for level " + std::to_string(level_) +
                         ", the ciphertext is at level " + std::to_string(x0.level));
  const Ciphertext x = ev.mod_drop_to(x0, level_);
  std::vector<int> baby_steps(p.baby);
  for (std::size_t j = 0; j < p.baby; ++j) baby_steps[j] = static_cast<int>(j);
  const std::vector<Ciphertext> rx = ev.rotate_hoisted(x, baby_steps, gk);
  const std::size_t L = level_ + 1, n = x.n;
  const ckks::Context& ctx = ev.context();
  std::vector<Ciphertext> out;
  out.reserve(p.blocks);
  for (std::size_t b = 0; b < p.blocks; ++b) {
    Ciphertext acc;
    bool have = false;
    for (std::size_t gi = p.giants; gi-- > 0;) {
      Ciphertext inner = x;  // shape donor; fully overwritten below
      inner.c1_seed.reset();
      inner.scale = x.scale * pt_scale_;
      bool first = true;
      for (std::size_t j = 0; j < p.baby; ++j) {
        const std::size_t k = gi * p.baby + j;
        if (k >= p.diagonals) break;
        Plaintext local;
        const Plaintext* pt;
        if (!cache_.empty()) {
          pt = &cache_[b * p.diagonals + k];
        } else {
          local = diagonal(b, k);
          pt = &local;
        }
        const Ciphertext& c = rx[j];
        core::parallel_for(2 * L, [&](std::size_t task) {
          const std::size_t t = task / L, i = task % L;
          if (first)
            math::mul_mod(c.limb(t, i), pt->limb(i), inner.limb(t, i), n, ctx.modulus(i));
          else
            math::mul_add_mod(c.limb(t, i), pt->limb(i), inner.limb(t, i), n, ctx.modulus(i));
        });
        first = false;
      }
      if (have) {
        acc = ev.rotate(acc, static_cast<int>(p.baby), gk);
        acc = ev.add(acc, inner);
      } else {
        acc = std::move(inner);
        have = true;
      }
    }
    acc = ev.rescale(acc);
    if (pending_) {
      acc = ev.rescale(acc);
      acc.scale = x.scale / static_cast<double>(ctx.modulus(level_).value());
    } else {
      acc.scale = x.scale;
    }
    if (p.fold > 1) {
      std::vector<int> steps;
      for (std::size_t r = 1; r < p.fold; ++r)
        steps.push_back(static_cast<int>((r * p.stride) % p.slots));
      const auto rots = ev.rotate_hoisted(acc, steps, gk);
      for (const auto& c : rots) acc = ev.add(acc, c);
    }
    if (p.masked) {
      acc = ev.rescale(ev.multiply_plain(acc, masks_[b]));
      acc.scale = x.scale;
    }
    out.push_back(std::move(acc));
  }
  return out;
}

}  // namespace encmol::he
