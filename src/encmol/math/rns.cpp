#include "encmol/math/rns.hpp"

#include <cmath>
#include <numeric>
#include <string>

#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"
#include "encmol/math/simd_kernels.hpp"

namespace encmol::math {

namespace {

using Words = std::vector<std::uint64_t>;

// x *= m (x grows by one word when needed).
void mul_word(Words& x, std::uint64_t m) {
  std::uint64_t carry = 0;
  for (auto& w : x) {
    const u128 p = static_cast<u128>(w) * m + carry;
    w = static_cast<std::uint64_t>(p);
    carry = static_cast<std::uint64_t>(p >> 64);
  }
  if (carry != 0) x.push_back(carry);
}

// x += m * y (x at least as long as y; grows on carry).
void add_mul(Words& x, const Words& y, std::uint64_t m) {
  if (x.size() < y.size() + 1) x.resize(y.size() + 1, 0);
  std::uint64_t carry = 0;
  std::size_t i = 0;
  for (; i < y.size(); ++i) {
    const u128 p = static_cast<u128>(y[i]) * m + x[i] + carry;
    x[i] = static_cast<std::uint64_t>(p);
    carry = static_cast<std::uint64_t>(p >> 64);
  }
  for (; carry != 0 && i < x.size(); ++i) {
    const u128 s = static_cast<u128>(x[i]) + carry;
    x[i] = static_cast<std::uint64_t>(s);
    carry = static_cast<std::uint64_t>(s >> 64);
  }
  if (carry != 0) x.push_back(carry);
}

// Compare as unsigned integers of possibly different lengths.
int compare(const Words& a, const Words& b) {
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t k = n; k-- > 0;) {
    const std::uint64_t x = k < a.size() ? a[k] : 0;
    const std::uint64_t y = k < b.size() ? b[k] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// a -= b, requires a >= b.
void sub_in_place(Words& a, const Words& b) {
  std::uint64_t borrow = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const std::uint64_t y = k < b.size() ? b[k] : 0;
    const u128 d = static_cast<u128>(a[k]) - y - borrow;
    a[k] = static_cast<std::uint64_t>(d);
    borrow = static_cast<std::uint64_t>(d >> 64) != 0 ? 1 : 0;
  }
}

long double to_long_double(const Words& x) {
  long double v = 0;
  for (std::size_t k = x.size(); k-- > 0;) v = v * 18446744073709551616.0L + x[k];
  return v;
}

}  // namespace

RnsBase::RnsBase(std::vector<Modulus> moduli) : moduli_(std::move(moduli)) {
  const std::size_t L = moduli_.size();
  if (L == 0) throw ParameterError("an RNS base needs at least one modulus");
  for (std::size_t i = 0; i < L; ++i) {
    for (std::size_t j = i + 1; j < L; ++j) {
      if (std::gcd(moduli_[i].value(), moduli_[j].value()) != 1) {
        throw ParameterError("RNS moduli " + std::to_string(moduli_[i].value()) + " and " +
                             std::to_string(moduli_[j].value()) + " are not coprime");
      }
    }
  }
  product_ = {1};
  for (const auto& m : moduli_) {
    mul_word(product_, m.value());
    log2_q_ += std::log2(static_cast<double>(m.value()));
  }
  product_.resize(L, 0);
  punct_.resize(L);
  punct_mod_.resize(L);
  inv_punct_.resize(L);
  inv_punct_shoup_.resize(L);
  for (std::size_t i = 0; i < L; ++i) {
    Words p = {1};
    std::uint64_t pm = 1 % moduli_[i].value();
    for (std::size_t j = 0; j < L; ++j) {
      if (j == i) continue;
      mul_word(p, moduli_[j].value());
      pm = moduli_[i].mul(pm, moduli_[i].reduce(moduli_[j].value()));
    }
    p.resize(L, 0);
    punct_[i] = std::move(p);
    punct_mod_[i] = pm;
    inv_punct_[i] = moduli_[i].inverse(pm);
    inv_punct_shoup_[i] = shoup_precompute(inv_punct_[i], moduli_[i].value());
  }
}

std::vector<std::uint64_t> RnsBase::compose(const std::uint64_t* residues,
                                            std::size_t stride) const {
  const std::size_t L = moduli_.size();
  Words x(L + 1, 0);
  for (std::size_t i = 0; i < L; ++i) {
    const std::uint64_t qi = moduli_[i].value();
    const std::uint64_t y = mul_shoup(residues[i * stride], inv_punct_[i], inv_punct_shoup_[i], qi);
    add_mul(x, punct_[i], y);
  }
  // x < L * Q: subtract Q until below.
  while (compare(x, product_) >= 0) sub_in_place(x, product_);
  x.resize(L);
  return x;
}

long double RnsBase::compose_centered(const std::uint64_t* residues, std::size_t stride) const {
  Words x = compose(residues, stride);
  Words twice = x;
  mul_word(twice, 2);
  if (compare(twice, product_) >= 0) {
    Words neg = product_;
    sub_in_place(neg, x);
    return -to_long_double(neg);
  }
  return to_long_double(x);
}

void RnsBase::decompose(std::span<const std::uint64_t> value, std::uint64_t* residues,
                        std::size_t stride) const {
  for (std::size_t i = 0; i < moduli_.size(); ++i) {
    const Modulus& m = moduli_[i];
    std::uint64_t r = 0;
    for (std::size_t k = value.size(); k-- > 0;) {
      r = m.reduce((static_cast<u128>(r) << 64) | value[k]);
    }
    residues[i * stride] = r;
  }
}

BaseConverter::BaseConverter(const RnsBase& from, const RnsBase& to) : from_(from), to_(to) {
  const std::size_t L = from_.size(), K = to_.size();
  punct_to_.assign(K * L, 0);
  ifma_ok_ = true;
  for (const auto& m : from_.moduli()) ifma_ok_ = ifma_ok_ && m.value() < kIfmaModulusBound;
  for (std::size_t k = 0; k < K; ++k) {
    const Modulus& p = to_[k];
    ifma_ok_ = ifma_ok_ && p.value() < kIfmaModulusBound;
    for (std::size_t i = 0; i < L; ++i) {
      std::uint64_t v = 1 % p.value();
      for (std::size_t j = 0; j < L; ++j) {
        if (j != i) v = p.mul(v, p.reduce(from_[j].value()));
      }
      punct_to_[k * L + i] = v;
    }
  }
}

void BaseConverter::convert(const std::uint64_t* in, std::uint64_t* out, std::size_t n) const {
  convert(in, out, n, default_simd_path());
}

void BaseConverter::convert(const std::uint64_t* in, std::uint64_t* out, std::size_t n,
                            SimdPath path) const {
  const std::size_t L = from_.size(), K = to_.size();
  // Reused scratch: base conversion runs per key switch, and a fresh
  // allocation of L*n words each time would cost page faults. Rows are padded
  // by 64 bytes so that the L rows read together do not all fall into the same
  // cache sets (n is a power of two).
  const std::size_t stride = n + 8;
  thread_local std::vector<std::uint64_t> scratch;
  if (scratch.size() < L * stride) scratch.resize(L * stride);
  std::uint64_t* y = scratch.data();
  for (std::size_t i = 0; i < L; ++i) {
    // y_i = [x_i * (Q/q_i)^-1]_{q_i}
    mul_scalar_mod(in + i * n, from_.inv_punctured(i), y + i * stride, n, from_[i], path);
  }
  const bool ifma = ifma_ok_ && n % 8 == 0 && path == SimdPath::Avx512Ifma &&
                    cpu_supports(SimdPath::Avx512Ifma);
  if (ifma) {
    detail::base_convert_ifma(y, stride, L, punct_to_.data(), to_.moduli().data(), K, out, n);
    return;
  }
  // Exact 128-bit accumulation, one reduction per output; products are below
  // 2^122, so 64 of them fit before a partial reduction is needed.
  constexpr std::size_t kTile = 256;
  u128 acc[kTile];
  for (std::size_t j0 = 0; j0 < n; j0 += kTile) {
    const std::size_t len = std::min(kTile, n - j0);
    for (std::size_t k = 0; k < K; ++k) {
      const Modulus& p = to_[k];
      const std::uint64_t* c = punct_to_.data() + k * L;
      for (std::size_t jj = 0; jj < len; ++jj) acc[jj] = 0;
      for (std::size_t i = 0; i < L; ++i) {
        const std::uint64_t ci = c[i];
        const std::uint64_t* yi = y + i * stride + j0;
        for (std::size_t jj = 0; jj < len; ++jj) acc[jj] += static_cast<u128>(yi[jj]) * ci;
        if ((i & 63) == 63) {
          for (std::size_t jj = 0; jj < len; ++jj) acc[jj] = p.reduce_any(acc[jj]);
        }
      }
      std::uint64_t* o = out + k * n + j0;
      for (std::size_t jj = 0; jj < len; ++jj) o[jj] = p.reduce_any(acc[jj]);
    }
  }
}

}  // namespace encmol::math
