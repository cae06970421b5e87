#include "encmol/ckks/context.hpp"

#include "encmol/core/error.hpp"

namespace encmol::ckks {

Context::Context(ParameterSet params) : params_(std::move(params)) {
  params_.validate();
  hash_ = params_.hash();
  n_ = params_.n();
  num_q_ = params_.q.size();
  num_p_ = params_.p.size();
  alpha_ = params_.alpha();
  for (auto q : params_.q) moduli_.emplace_back(q);
  for (auto p : params_.p) moduli_.emplace_back(p);
  for (const auto& m : moduli_) ntt_.push_back(std::make_unique<math::NttTables>(n_, m));

  q_last_inv_.resize(num_q_);
  q_last_inv_shoup_.resize(num_q_);
  for (std::size_t l = 1; l < num_q_; ++l) {
    for (std::size_t i = 0; i < l; ++i) {
      const auto& qi = moduli_[i];
      const std::uint64_t inv = qi.inverse(qi.reduce(params_.q[l]));
      q_last_inv_[l].push_back(inv);
      q_last_inv_shoup_[l].push_back(math::shoup_precompute(inv, qi.value()));
    }
  }
  std::vector<math::Modulus> p_moduli(moduli_.begin() + static_cast<std::ptrdiff_t>(num_q_), moduli_.end());
  for (std::size_t l = 0; l < num_q_; ++l) {
    std::vector<math::Modulus> ql(moduli_.begin(), moduli_.begin() + static_cast<std::ptrdiff_t>(l + 1));
    q_bases_.push_back(std::make_unique<math::RnsBase>(ql));
  }
  p_base_ = std::make_unique<math::RnsBase>(p_moduli);
  const math::RnsBase& p_base = *p_base_;
  modup_.resize(num_q_);
  for (std::size_t l = 0; l < num_q_; ++l) {
    for (std::size_t j = 0; j < num_digits(l); ++j) {
      auto [b, e] = digit_range(l, j);
      std::vector<math::Modulus> from(moduli_.begin() + static_cast<std::ptrdiff_t>(b),
                                      moduli_.begin() + static_cast<std::ptrdiff_t>(e));
      std::vector<math::Modulus> to;
      for (std::size_t i = 0; i <= l; ++i)
        if (i < b || i >= e) to.push_back(moduli_[i]);
      to.insert(to.end(), p_moduli.begin(), p_moduli.end());
      modup_[l].push_back(std::make_unique<math::BaseConverter>(math::RnsBase(from), math::RnsBase(to)));
    }
    moddown_.push_back(std::make_unique<math::BaseConverter>(p_base, *q_bases_[l]));
  }
  for (std::size_t i = 0; i < num_q_; ++i) {
    const auto& qi = moduli_[i];
    std::uint64_t pm = 1;
    for (auto p : params_.p) pm = qi.mul(pm, qi.reduce(p));
    p_mod_.push_back(pm);
    const std::uint64_t inv = qi.inverse(pm);
    p_inv_.push_back(inv);
    p_inv_shoup_.push_back(math::shoup_precompute(inv, qi.value()));
  }
}

std::uint64_t Context::galois_element(int step) const {
  // 5 has order N/2 modulo 2N: reduce the step into [0, N/2).
  const auto half = static_cast<long long>(n_ / 2);
  long long s = static_cast<long long>(step) % half;
  if (s < 0) s += half;
  const std::uint64_t m = 2 * n_;
  std::uint64_t g = 1, base = 5;
  for (auto e = static_cast<std::uint64_t>(s); e; e >>= 1) {
    if (e & 1) g = g * base % m;
    base = base * base % m;
  }
  return g;
}

const std::vector<std::uint32_t>& Context::galois_permutation(std::uint64_t galois_elt) const {
  if (galois_elt % 2 == 0 || galois_elt >= 2 * n_)
    throw ParameterError("CKKS: Galois element " + std::to_string(galois_elt) + " must be odd and below 2N=" +
                         std::to_string(2 * n_));
  std::lock_guard lock(galois_mutex_);
  auto it = galois_.find(galois_elt);
  if (it != galois_.end()) return *it->second;
  auto perm = std::make_unique<std::vector<std::uint32_t>>(ntt_[0]->ntt_domain_automorphism(galois_elt));
  // Every prime uses the same evaluation order (psi^(2 brv(i)+1)), so one
  // permutation serves all limbs; check it once rather than assume it.
  for (std::size_t k = 1; k < ntt_.size(); ++k)
    if (ntt_[k]->ntt_domain_automorphism(galois_elt) != *perm)
      throw ParameterError("CKKS: NTT evaluation order differs between primes; rotations unsupported");
  auto& ref = *perm;
  galois_.emplace(galois_elt, std::move(perm));
  return ref;
}

}  // namespace encmol::ckks
