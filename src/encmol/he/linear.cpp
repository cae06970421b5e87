#include "encmol/he/linear.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <set>
#include <sstream>
#include <utility>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::he {

using ckks::Ciphertext;
using ckks::Plaintext;

namespace {

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// (2^a, 2^b) of v = 2^a or 2^a + 2^b; low = 0 for a power of two.
std::pair<std::size_t, std::size_t> copy_split(std::size_t v) {
  const std::size_t high = std::bit_floor(v);
  return {high, v - high};
}

int norm_step(long long step, std::size_t slots) {
  const long long s = static_cast<long long>(slots);
  return static_cast<int>(((step % s) + s) % s);
}

}  // namespace

// out[s] = sum_{k < count} ct[s + k*unit] (indices mod slots; unit may be negative) for count = 2^a
// or 2^a + 2^b: a doubling rotations by unit*2^t, then one more: by unit for 2^a + 1 (shift the
// 2^a-term sum by one and add ct: no new step), by unit*2^a for 2^a + 2^b (add the 2^b-term partial
// sum moved past the 2^a terms). Slot sums use unit 1; enforce_replication uses unit C on a
// ciphertext that is zero outside the kept blocks (each kept block lands k*C slots before itself),
// replicate unit -period.
std::vector<int> strided_sum_steps(std::size_t count, long long unit, std::size_t slots) {
  const auto [high, low] = copy_split(count);
  std::vector<int> s;
  for (std::size_t c = 1; c < high; c *= 2)
    s.push_back(norm_step(static_cast<long long>(c) * unit, slots));
  if (low == 1) s.push_back(norm_step(unit, slots));
  if (low > 1) s.push_back(norm_step(static_cast<long long>(high) * unit, slots));
  return s;
}

Ciphertext strided_sum(const ckks::Evaluator& ev, const Ciphertext& ct, std::size_t count,
                       long long unit, const ckks::GaloisKeys& gk) {
  const std::size_t S = ev.context().slots();
  const std::vector<int> steps = strided_sum_steps(count, unit, S);
  const auto [high, low] = copy_split(count);
  Ciphertext r = ct, part = ct;  // part: the sum over the first `low` terms
  std::size_t t = 0;
  for (std::size_t c = 1; c < high; c *= 2, ++t) {
    r = ev.add(r, ev.rotate(r, steps[t], gk));
    if (2 * c == low) part = r;
  }
  if (low == 1) return ev.add(ev.rotate(r, steps[t], gk), ct);
  if (low > 1) return ev.add(r, ev.rotate(part, steps[t], gk));
  return r;
}

namespace {

void check_pow2(std::size_t v, const char* what) {
  if (v == 0 || (v & (v - 1)) != 0)
    throw InputError(std::string("he: ") + what + " must be a power of two");
}

// Fills the fold/stride/diagonal fields for a block of R rows; false if even f = 1 does not fit.
bool fit_fold(MatVecPlan& p, std::size_t max_fold) {
  const std::size_t C = p.period, R = p.rows_per_block, S = p.slots;
  if (R > S) return false;
  std::size_t best = 1;
  const std::size_t limit = max_fold == 0 ? C : std::min(max_fold, C);
  for (std::size_t f = 2; f <= limit; ++f) {
    const std::size_t m = ceil_div(C, f);
    if ((f - 1) * m >= C) continue;  // the last fold would be empty
    const std::size_t stride = m + C * ceil_div(R > m ? R - m : 0, C);
    if ((f - 1) * stride + R <= S) best = f;
  }
  p.fold = best;
  p.diagonals = ceil_div(C, best);
  p.stride = best == 1 ? R : p.diagonals + C * ceil_div(R > p.diagonals ? R - p.diagonals : 0, C);
  return true;
}

}  // namespace

std::vector<int> MatVecPlan::galois_steps() const {
  std::vector<int> steps;
  for (std::size_t j = 1; j < baby; ++j) steps.push_back(static_cast<int>(j));
  if (giants > 1) steps.push_back(static_cast<int>(baby));
  for (std::size_t r = 1; r < fold; ++r)
    steps.push_back(norm_step(static_cast<long long>(r * stride), slots));
  return merge_steps({steps}, slots);
}

std::size_t MatVecPlan::hoisted_rotations() const { return (baby - 1) + blocks * (fold - 1); }
std::size_t MatVecPlan::full_rotations() const { return blocks * (giants - 1); }
std::size_t MatVecPlan::plaintext_mults() const { return blocks * diagonals; }

double MatVecPlan::cost() const {
  const MatVecOptions o;
  return o.hoisted_cost * static_cast<double>(hoisted_rotations()) +
         static_cast<double>(full_rotations()) +
         o.ptmult_cost * static_cast<double>(plaintext_mults());
}

std::string MatVecPlan::describe() const {
  std::ostringstream s;
  s << rows << "x" << cols << " matrix, " << slots << " slots: period " << period << ", ";
  if (queries > 1) s << queries << " queries per ciphertext (stride " << query_stride << "), ";
  s << blocks << " block(s) of " << rows_per_block << " rows, fold " << fold << " (stride "
    << stride << "), " << diagonals << " diagonals, baby " << baby << " x giant " << giants << "; "
    << hoisted_rotations() << " hoisted + " << full_rotations() << " full rotations, "
    << plaintext_mults() << " plaintext products, " << galois_steps().size() << " Galois keys"
    << (masked ? ", masked (depth 2)" : ", depth 1");
  return s.str();
}

MatVecPlan plan_matvec(std::size_t rows, std::size_t cols, std::size_t slots,
                       const MatVecOptions& options) {
  if (rows == 0 || cols == 0) throw InputError("he: matrix-vector plan: the matrix is empty");
  check_pow2(slots, "slot count");
  if (cols > slots)
    throw InputError("he: matrix-vector plan: " + std::to_string(cols) + " columns do not fit " +
                     std::to_string(slots) + " slots; use a larger ring or split the vector");
  if (rows > (std::size_t{1} << 26))
    throw InputError("he: matrix-vector plan: more than 2^26 rows");
  MatVecPlan base;
  base.rows = rows;
  base.cols = cols;
  base.slots = slots;
  base.period = std::bit_ceil(cols);
  base.query_stride = slots;
  MatVecOptions opts = options;
  if (options.period != 0) {
    if (options.period < cols || rows + options.period - 1 > slots)
      throw InputError(
          "he: matrix-vector plan: an exact period of " + std::to_string(options.period) +
          " needs cols <= period and rows + period - 1 <= slots (" + std::to_string(cols) +
          " columns, " + std::to_string(rows) + " rows, " + std::to_string(slots) + " slots)");
    base.period = options.period;
    opts.max_fold = 1;
    opts.blocks = 0;
  }
  const MatVecOptions& o = opts;
  if (o.queries == 0) throw InputError("he: matrix-vector plan: zero queries");
  if (o.queries > 1) {
    const std::size_t min_stride = rows + base.period - 1;
    if (o.query_stride != 0 && o.query_stride < min_stride)
      throw InputError("he: matrix-vector plan: a query stride of " +
                       std::to_string(o.query_stride) +
                       " slots is below rows + C - 1 = " + std::to_string(min_stride));
    const std::size_t stride = o.query_stride != 0 ? o.query_stride : min_stride;
    if (o.queries * stride > slots)
      throw InputError("he: matrix-vector plan: " + std::to_string(o.queries) + " queries of " +
                       std::to_string(rows) + " rows (+" + std::to_string(base.period - 1) +
                       " slots of rotation room each) do not fit " + std::to_string(slots) +
                       " slots; batch fewer queries or use a larger ring");
    base.queries = o.queries;
    base.query_stride = stride;
    base.blocks = 1;
    base.rows_per_block = rows;
    base.fold = 1;
    base.diagonals = base.period;
    base.stride = rows;
    MatVecPlan best = base;
    double best_cost = -1;
    for (std::size_t g = 1; g <= base.diagonals; ++g) {
      if (o.baby != 0 && g != std::min(o.baby, base.diagonals)) continue;
      MatVecPlan p = base;
      p.baby = g;
      p.giants = ceil_div(p.diagonals, g);
      const double c = o.hoisted_cost * static_cast<double>(p.hoisted_rotations()) +
                       static_cast<double>(p.full_rotations()) +
                       o.ptmult_cost * static_cast<double>(p.plaintext_mults());
      if (best_cost < 0 || c < best_cost) {
        best = p;
        best_cost = c;
      }
    }
    return best;
  }
  const std::size_t min_blocks = ceil_div(rows, slots);
  std::vector<std::size_t> block_choices;
  if (o.blocks != 0) {
    if (o.blocks < min_blocks)
      throw InputError("he: matrix-vector plan: " + std::to_string(o.blocks) +
                       " blocks cannot hold " + std::to_string(rows) + " rows in " +
                       std::to_string(slots) + " slots");
    block_choices.push_back(o.blocks);
  } else {
    // Fewest output ciphertexts: everything after the product (polynomial,
    // weights, sums) costs once per block, which the rotation model ignores.
    block_choices.push_back(min_blocks);
  }
  if (o.baby != 0 && o.baby > slots)
    throw InputError("he: matrix-vector plan: baby step above slots");
  bool have = false;
  MatVecPlan best;
  double best_cost = 0;
  for (std::size_t B : block_choices) {
    MatVecPlan p = base;
    p.blocks = B;
    p.rows_per_block = ceil_div(rows, B);
    const bool fold_ok = !o.clean_output || o.mask_allowed;
    if (!fit_fold(p, fold_ok ? o.max_fold : 1)) continue;
    p.masked = o.clean_output && p.fold > 1;
    std::vector<std::size_t> babies;
    if (o.baby != 0)
      babies.push_back(std::min(o.baby, p.diagonals));
    else
      for (std::size_t g = 1; g <= p.diagonals; ++g) babies.push_back(g);
    for (std::size_t g : babies) {
      p.baby = g;
      p.giants = ceil_div(p.diagonals, g);
      const double c = o.hoisted_cost * static_cast<double>(p.hoisted_rotations()) +
                       static_cast<double>(p.full_rotations()) +
                       o.ptmult_cost * static_cast<double>(p.plaintext_mults());
      if (!have || c < best_cost) {
        have = true;
        best = p;
        best_cost = c;
      }
    }
  }
  if (!have) throw InputError("he: matrix-vector plan: no block layout fits");
  return best;
}

std::vector<double> matvec_input_layout(const MatVecPlan& plan, std::span<const double> x) {
  return matvec_input_layout(
      plan, std::vector<std::vector<double>>{std::vector<double>(x.begin(), x.end())});
}

std::vector<double> matvec_input_layout(const MatVecPlan& plan,
                                        const std::vector<std::vector<double>>& queries) {
  if (queries.empty() || queries.size() > plan.queries)
    throw InputError("he: the plan takes 1 to " + std::to_string(plan.queries) +
                     " vectors per ciphertext, got " + std::to_string(queries.size()));
  std::vector<double> v(plan.slots, 0.0);
  for (std::size_t q = 0; q < queries.size(); ++q) {
    const auto& x = queries[q];
    if (x.size() != plan.cols)
      throw InputError("he: vector " + std::to_string(q) + " has " + std::to_string(x.size()) +
                       " values, the plan expects " + std::to_string(plan.cols));
    for (double e : x)
      if (!std::isfinite(e))
        throw InputError("he: vector " + std::to_string(q) + " has a non-finite value");
    const std::size_t begin = q * plan.query_stride,
                      end = std::min(plan.slots, begin + plan.query_stride);
    for (std::size_t s = begin; s < end; ++s) {
      const std::size_t j = (s - begin) % plan.period;
      if (j < plan.cols) v[s] = x[j];
    }
  }
  return v;
}

// ---------------------------------------------------------------- slot helpers

namespace {

void check_sum_block(std::size_t block) {
  if (!is_two_power_sum(block))
    throw InputError("he: the block size of a slot sum must be 2^a or 2^a + 2^b, got " +
                     std::to_string(block));
}

}  // namespace

Ciphertext sum_slots(const ckks::Evaluator& ev, const Ciphertext& ct, std::size_t block,
                     const ckks::GaloisKeys& gk) {
  const std::size_t S = ev.context().slots();
  check_sum_block(block);
  if (block > S)
    throw InputError("he: slot-sum block " + std::to_string(block) + " exceeds the slot count");
  return strided_sum(ev, ct, block, 1, gk);
}

std::vector<int> sum_slots_steps(std::size_t block, std::size_t slots) {
  check_sum_block(block);
  return merge_steps({strided_sum_steps(block, 1, slots)}, slots);
}

Ciphertext replicate(const ckks::Evaluator& ev, const Ciphertext& ct, std::size_t period,
                     std::size_t copies, const ckks::GaloisKeys& gk) {
  const std::size_t S = ev.context().slots();
  check_pow2(copies, "the number of copies");
  if (period == 0 || period * copies > S)
    throw InputError("he: replicate: " + std::to_string(copies) + " copies of " +
                     std::to_string(period) + " slots do not fit " + std::to_string(S));
  return strided_sum(ev, ct, copies, -static_cast<long long>(period), gk);
}

std::vector<int> replicate_steps(std::size_t period, std::size_t copies, std::size_t slots) {
  check_pow2(copies, "the number of copies");
  return merge_steps({strided_sum_steps(copies, -static_cast<long long>(period), slots)}, slots);
}

// ---------------------------------------------------------------- layout enforcement

namespace {}  // namespace

std::size_t two_power_sum_ceil(std::size_t n) {
  const std::size_t high = std::bit_ceil(std::max<std::size_t>(n, 1));
  if (high == n || high < 4) return high;
  const std::size_t a = high / 2;  // a < n < 2a
  for (std::size_t b = 1; b < a; b *= 2)
    if (a + b >= n) return a + b;
  return high;
}

bool is_two_power_sum(std::size_t n) {
  const auto [high, low] = copy_split(n);
  return n > 0 && (low == 0 || std::has_single_bit(low));
}

ReplicationLayout plan_replication(std::size_t needed, std::size_t period, std::size_t windows,
                                   std::size_t slots) {
  check_pow2(slots, "slot count");
  if (needed == 0 || windows == 0 || period == 0 || period > slots || needed > slots ||
      windows > slots)
    throw InputError(
        "he: replication layout: empty windows, or a period or window above the slot count");
  ReplicationLayout l;
  l.period = period;
  l.slots = slots;
  l.windows = windows;
  l.copies = two_power_sum_ceil(ceil_div(needed, period));
  if (windows * l.stride() <= slots) return l;
  throw InputError("he: replication layout: " + std::to_string(windows) + " windows of " +
                   std::to_string(needed) + " slots (in blocks of " + std::to_string(period) +
                   ") do not fit " + std::to_string(slots) + " slots");
}

std::vector<int> ReplicationLayout::galois_steps() const {
  return merge_steps({strided_sum_steps(copies, static_cast<long long>(period), slots)}, slots);
}

std::size_t ReplicationLayout::rotations() const {
  return strided_sum_steps(copies, static_cast<long long>(period), slots).size();
}

Ciphertext enforce_replication(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                               const Ciphertext& ct, const ReplicationLayout& layout,
                               std::span<const double> keep, const ckks::GaloisKeys& gk,
                               bool rescale) {
  const std::size_t S = enc.slots(), C = layout.period;
  if (layout.slots != S || layout.copies == 0 || layout.windows * layout.stride() > S)
    throw InputError("he: the replication layout does not match the ciphertext's slots");
  if (keep.size() != C)
    throw InputError("he: replication needs a keep vector of the period's length");
  std::vector<double> keep_slots(S, 0.0);
  for (std::size_t q = 0; q < layout.windows; ++q) {
    const std::size_t source = q * layout.stride() + layout.source_block() * C;
    for (std::size_t j = 0; j < C; ++j) keep_slots[source + j] = keep[j];
  }
  Ciphertext one;
  if (rescale) {
    one = multiply_vector(ev, enc, ct, keep_slots);
  } else {
    if (ct.level == 0)
      throw ParameterError("he: replication needs a level; the ciphertext is at 0");
    const double q = static_cast<double>(ev.context().modulus(ct.level).value());
    one = ev.multiply_plain(ct, enc.encode(keep_slots, q, ct.level));
  }
  // Left rotations by multiples of C: the copies spread from the last block of
  // each window towards its first, never past it.
  return strided_sum(ev, one, layout.copies, static_cast<long long>(C), gk);
}

Ciphertext multiply_vector(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                           const Ciphertext& ct, std::span<const double> values) {
  if (values.size() > enc.slots())
    throw InputError("he: " + std::to_string(values.size()) + " values exceed the " +
                     std::to_string(enc.slots()) + " slots");
  if (ct.level == 0)
    throw ParameterError("he: a plaintext-vector product needs a level; the ciphertext is at 0");
  const double q = static_cast<double>(ev.context().modulus(ct.level).value());
  Ciphertext r = ev.rescale(ev.multiply_plain(ct, enc.encode(values, q, ct.level)));
  r.scale = ct.scale;
  return r;
}

Ciphertext mask(const ckks::Evaluator& ev, const ckks::Encoder& enc, const Ciphertext& ct,
                std::size_t begin, std::size_t count) {
  const std::size_t S = enc.slots();
  if (begin > S || count > S - begin) throw InputError("he: mask range exceeds the slot count");
  std::vector<double> m(S, 0.0);
  std::fill(m.begin() + static_cast<std::ptrdiff_t>(begin),
            m.begin() + static_cast<std::ptrdiff_t>(begin + count), 1.0);
  return multiply_vector(ev, enc, ct, m);
}

Ciphertext weighted_sum(const ckks::Evaluator& ev, const ckks::Encoder& enc, const Ciphertext& ct,
                        std::span<const double> weights, const ckks::GaloisKeys& gk) {
  if (weights.empty()) throw InputError("he: weighted sum of no weights");
  const Ciphertext w = multiply_vector(ev, enc, ct, weights);
  return sum_slots(ev, w, std::bit_ceil(weights.size()), gk);
}

Ciphertext block_weighted_sums(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                               const Ciphertext& ct,
                               const std::vector<std::vector<double>>& weights, std::size_t stride,
                               const ckks::GaloisKeys& gk) {
  const std::size_t S = enc.slots();
  check_pow2(stride, "the stride of block weighted sums");
  if (weights.empty() || weights.size() * stride > S)
    throw InputError("he: " + std::to_string(weights.size()) + " weighted sums of stride " +
                     std::to_string(stride) + " do not fit " + std::to_string(S) + " slots");
  std::vector<double> w(S, 0.0);
  for (std::size_t t = 0; t < weights.size(); ++t) {
    if (weights[t].size() > stride)
      throw InputError("he: weight vector " + std::to_string(t) + " is longer than the stride " +
                       std::to_string(stride));
    std::copy(weights[t].begin(), weights[t].end(),
              w.begin() + static_cast<std::ptrdiff_t>(t * stride));
  }
  return sum_slots(ev, multiply_vector(ev, enc, ct, w), stride, gk);
}

std::vector<int> merge_steps(std::initializer_list<std::vector<int>> lists, std::size_t slots) {
  std::set<int> s;
  for (const auto& l : lists)
    for (int v : l) {
      const int n = norm_step(v, slots);
      if (n != 0) s.insert(n);
    }
  return {s.begin(), s.end()};
}

}  // namespace encmol::he
