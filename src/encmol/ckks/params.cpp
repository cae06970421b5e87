#include "encmol/ckks/params.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/primes.hpp"

namespace encmol::ckks {

double max_log2_pq_128(int log_n) {
  switch (log_n) {
    case 12: return 109;
    case 13: return 218;
    case 14: return 438;
    case 15: return 881;
    case 16: return 1747;
    default: return 0;
  }
}

namespace {

double sum_log2(const std::vector<std::uint64_t>& v) {
  double s = 0;
  for (auto x : v) s += std::log2(static_cast<double>(x));
  return s;
}

std::string fmt(double x, int prec = 1) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(prec);
  os << x;
  return os.str();
}

}  // namespace

double ParameterSet::log2_q() const { return sum_log2(q); }
double ParameterSet::log2_pq() const { return sum_log2(q) + sum_log2(p); }

std::string ParameterSet::describe() const {
  std::ostringstream os;
  os << "CKKS N=2^" << log_n << ", " << q.size() << " ciphertext primes (log2 Q=" << fmt(log2_q()) << "), "
     << p.size() << " special primes (log2 PQ=" << fmt(log2_pq()) << "), dnum=" << dnum
     << ", scale=2^" << fmt(default_scale > 0 ? std::log2(default_scale) : 0.0, 2);
  return os.str();
}

void ParameterSet::validate() const {
  if (log_n < 12 || log_n > 16)
    throw ParameterError("CKKS parameters: ring degree 2^" + std::to_string(log_n) +
                         " is not supported; use log_n between 12 and 16");
  if (q.empty()) throw ParameterError("CKKS parameters: the chain of ciphertext primes is empty");
  if (p.empty()) throw ParameterError("CKKS parameters: at least one special prime is needed for key switching");
  if (q.size() > 64 || p.size() > 64)
    throw ParameterError("CKKS parameters: at most 64 ciphertext and 64 special primes are supported");
  if (dnum < 1 || dnum > q.size())
    throw ParameterError("CKKS parameters: dnum=" + std::to_string(dnum) + " must lie in [1, " +
                         std::to_string(q.size()) + "] (number of ciphertext primes)");
  if (!(sigma > 0.0 && sigma <= 64.0))
    throw ParameterError("CKKS parameters: error standard deviation must lie in (0, 64]");
  // The 128-bit table assumes the standard error width; a narrower error (a
  // hostile parameter file could ask for 0.01) would void RLWE security.
  if (sigma < 3.19 && !allow_insecure)
    throw SecurityError("CKKS parameters: error standard deviation " + std::to_string(sigma) +
                        " is below 3.19, which the 128-bit security table assumes");
  if (!(std::isfinite(default_scale) && default_scale >= 1.0))
    throw ParameterError("CKKS parameters: default scale must be a finite number >= 1");
  const std::uint64_t two_n = std::uint64_t{2} << log_n;
  std::vector<std::uint64_t> all(q);
  all.insert(all.end(), p.begin(), p.end());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto x = all[i];
    const std::string which = i < q.size() ? "q[" + std::to_string(i) + "]" : "p[" + std::to_string(i - q.size()) + "]";
    if (x < (std::uint64_t{1} << 20) || x >= (std::uint64_t{1} << 61))
      throw ParameterError("CKKS parameters: prime " + which + "=" + std::to_string(x) +
                           " must lie in [2^20, 2^61)");
    if (x % two_n != 1)
      throw ParameterError("CKKS parameters: prime " + which + "=" + std::to_string(x) + " is not 1 mod 2N=" +
                           std::to_string(two_n) + " (no negacyclic NTT)");
    if (!math::is_prime(x))
      throw ParameterError("CKKS parameters: " + which + "=" + std::to_string(x) + " is not prime");
  }
  auto sorted = all;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw ParameterError("CKKS parameters: the primes of Q and P must be distinct");
  {
    const std::size_t per = alpha();
    const std::size_t digits = (q.size() + per - 1) / per;
    if (digits != dnum)
      throw ParameterError("CKKS parameters: " + std::to_string(q.size()) + " ciphertext primes cannot form dnum=" +
                           std::to_string(dnum) + " digits (" + std::to_string(per) + " primes per digit give " +
                           std::to_string(digits) + "); use dnum=" + std::to_string(digits));
  }
  // Hybrid key switching divides the digit noise by P: P must not be smaller
  // than the largest digit (1 bit of slack so equal-size primes are accepted).
  const std::size_t a = alpha();
  double largest_digit = 0;
  for (std::size_t j = 0; j * a < q.size(); ++j) {
    double d = 0;
    for (std::size_t i = j * a; i < std::min(q.size(), (j + 1) * a); ++i) d += std::log2(static_cast<double>(q[i]));
    largest_digit = std::max(largest_digit, d);
  }
  if (sum_log2(p) + 1.0 < largest_digit)
    throw ParameterError("CKKS parameters: special primes (log2 P=" + fmt(sum_log2(p)) +
                         ") are smaller than the largest key-switching digit (" + fmt(largest_digit) +
                         " bits); add special primes or raise dnum");
  if (!allow_insecure) {
    const double bound = max_log2_pq_128(log_n);
    if (log2_pq() > bound)
      throw SecurityError("CKKS parameters give less than 128-bit security: log2(P*Q)=" + fmt(log2_pq()) +
                          " exceeds " + fmt(bound, 0) + " for N=2^" + std::to_string(log_n) +
                          " (HE Standard, ternary secret); use a larger ring degree or fewer/smaller primes");
  }
}

ParamHash ParameterSet::hash() const {
  core::ByteWriter w;
  w.string("encmol.ckks.ParameterSet.v1");
  w.u32(static_cast<std::uint32_t>(log_n));
  w.u64_vector(q);
  w.u64_vector(p);
  w.u64(dnum);
  w.f64(default_scale);
  w.f64(sigma);
  return core::blake2b_256(w.data());
}

namespace {

// Draws the primes: scaling primes as close to 2^bits as possible (scale
// drift after rescaling stays tiny), others the largest below 2^bits.
ParameterSet make_set(int log_n, const std::vector<int>& q_bits, const std::vector<int>& p_bits, std::size_t dnum,
                      int scale_bits, bool allow_insecure) {
  if (log_n < 12 || log_n > 16)
    throw ParameterError("CKKS parameters: ring degree 2^" + std::to_string(log_n) + " is not supported (12..16)");
  if (q_bits.empty() || p_bits.empty())
    throw ParameterError("CKKS parameters: need at least one ciphertext prime and one special prime");
  for (int b : q_bits)
    if (b < 20 || b > 60) throw ParameterError("CKKS parameters: prime sizes must lie in [20, 60] bits");
  for (int b : p_bits)
    if (b < 20 || b > 60) throw ParameterError("CKKS parameters: prime sizes must lie in [20, 60] bits");
  if (scale_bits < 1 || scale_bits > 60) throw ParameterError("CKKS parameters: scale bits must lie in [1, 60]");
  const std::size_t n = std::size_t{1} << log_n;
  ParameterSet ps;
  ps.log_n = log_n;
  ps.dnum = dnum;
  ps.default_scale = std::ldexp(1.0, scale_bits);
  ps.allow_insecure = allow_insecure;
  std::vector<std::uint64_t> used;
  ps.q.assign(q_bits.size(), 0);
  // Group the scaling primes by bit size so each group is drawn once.
  std::vector<int> sizes(q_bits.begin() + 1, q_bits.end());
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  for (int b : sizes) {
    std::size_t count = 0;
    for (std::size_t i = 1; i < q_bits.size(); ++i) count += q_bits[i] == b;
    auto primes = math::generate_ntt_primes_near(b, count, n, used);
    std::size_t k = 0;
    for (std::size_t i = 1; i < q_bits.size(); ++i)
      if (q_bits[i] == b) ps.q[i] = primes[k++];
    used.insert(used.end(), primes.begin(), primes.end());
  }
  ps.q[0] = math::generate_ntt_primes(q_bits[0], 1, n, used)[0];
  used.push_back(ps.q[0]);
  for (int b : p_bits) {
    auto pr = math::generate_ntt_primes(b, 1, n, used)[0];
    ps.p.push_back(pr);
    used.push_back(pr);
  }
  return ps;
}

}  // namespace

ParameterSet Parameters::from_bit_sizes(int log_n, const std::vector<int>& q_bits, const std::vector<int>& p_bits,
                                        std::size_t dnum, int scale_bits, bool allow_insecure) {
  if (dnum < 1 || dnum > q_bits.size())
    throw ParameterError("CKKS parameters: dnum=" + std::to_string(dnum) + " must lie in [1, number of primes]");
  auto ps = make_set(log_n, q_bits, p_bits, dnum, scale_bits, allow_insecure);
  ps.validate();
  return ps;
}

ParameterSet Parameters::for_circuit(int depth, int scale_bits, std::size_t slots, std::size_t dnum,
                                     const CircuitOptions& options) {
  if (depth < 0 || depth > 60) throw ParameterError("CKKS parameters: depth must lie in [0, 60]");
  if (scale_bits < 20 || scale_bits > 58)
    throw ParameterError("CKKS parameters: scale bits must lie in [20, 58] (prime sizes are limited to 60 bits)");
  if (options.integer_bits < 1 || scale_bits + options.integer_bits > 60)
    throw ParameterError("CKKS parameters: scale_bits + integer_bits must be at most 60");
  const int first_bits = scale_bits + options.integer_bits;
  const int special_bits = options.special_bits > 0 ? options.special_bits : std::max(first_bits, 50);
  if (special_bits < first_bits || special_bits > 60)
    throw ParameterError("CKKS parameters: special primes must have between " + std::to_string(first_bits) +
                         " (first prime) and 60 bits");
  const std::size_t nq = static_cast<std::size_t>(depth) + 1;
  if (dnum > nq)
    throw ParameterError("CKKS parameters: dnum=" + std::to_string(dnum) + " exceeds the number of primes (" +
                         std::to_string(nq) + ")");
  // Approximate bit budget (primes lie just below / around 2^bits).
  auto fits = [&](int log_n, std::size_t d) {
    const std::size_t alpha = (nq + d - 1) / d;
    const double bits = first_bits + static_cast<double>(depth) * scale_bits + static_cast<double>(alpha) * special_bits;
    return bits <= max_log2_pq_128(log_n);
  };
  int lo = std::max(options.min_log_n, 12);
  while (lo <= 16 && (std::size_t{1} << (lo - 1)) < slots) ++lo;
  if (options.allow_insecure && options.insecure_log_n != 0) {
    const int ln = options.insecure_log_n;
    const std::size_t d0 = dnum ? dnum : std::min<std::size_t>(nq, 3);
    const std::size_t alpha = (nq + d0 - 1) / d0;
    const std::size_t d = (nq + alpha - 1) / alpha;  // the digit count alpha really gives
    std::vector<int> qb(nq, scale_bits);
    qb[0] = first_bits;
    return from_bit_sizes(ln, qb, std::vector<int>(alpha, special_bits), d, scale_bits, true);
  }
  for (int ln = lo; ln <= std::min(options.max_log_n, 16); ++ln) {
    for (std::size_t d = dnum ? dnum : 1; d <= (dnum ? dnum : nq); ++d) {
      const std::size_t alpha = (nq + d - 1) / d;
      if (!dnum && (nq + alpha - 1) / alpha != d) continue;  // not an achievable digit count
      if (!fits(ln, d)) continue;
      std::vector<int> qb(nq, scale_bits);
      qb[0] = first_bits;
      // One special prime more than the digit size when the bound leaves room:
      // P then exceeds every digit by ~2^special_bits and key-switching noise
      // becomes negligible next to rescaling noise.
      const double used = first_bits + static_cast<double>(depth) * scale_bits +
                          static_cast<double>(alpha) * special_bits;
      const bool extra = options.extra_special_prime && used + special_bits <= max_log2_pq_128(ln) - 1.0;
      for (int more = extra ? 1 : 0; more >= 0; --more) {
        try {
          return from_bit_sizes(ln, qb, std::vector<int>(alpha + static_cast<std::size_t>(more), special_bits), d,
                                scale_bits, options.allow_insecure);
        } catch (const SecurityError&) {
          // the drawn primes landed a fraction of a bit above the estimate: try the next option
        }
      }
    }
  }
  throw ParameterError("CKKS parameters: no ring degree up to 2^16 holds depth " + std::to_string(depth) +
                       " at scale 2^" + std::to_string(scale_bits) + " with 128-bit security" +
                       (dnum ? " and dnum=" + std::to_string(dnum) : std::string()) +
                       "; lower the depth or the scale");
}

}  // namespace encmol::ckks
