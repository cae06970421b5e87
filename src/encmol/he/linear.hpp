// Linear algebra on CKKS slots: plaintext-matrix x encrypted-vector products,
// slot sums, replication and masks. Every function documents its depth and the
// rotation steps (Galois keys) it needs; the *_steps() functions return exactly
// those steps so the key generator can create only them.
//
// Matrix x vector (Halevi–Shoup diagonals, baby-step giant-step, hoisting):
//  * input layout: the vector x (cols values) zero-padded to a power of two
//    C >= cols and replicated S/C times over all S slots, so a rotation by k
//    is a cyclic rotation of x modulo C in every slot;
//  * rows are split into `blocks` output ciphertexts of R rows each; inside a
//    ciphertext the columns are split into f "folds": slot r*R' + i (r < f,
//    i < R, R' >= R with R' = m (mod C), m = ceil(C/f)) accumulates
//      sum_{k < m, r*m + k < C} M[i][(i + r*m + k) mod C] * x[(i + r*m + k) mod C]
//    and the f partial sums are added by f-1 hoisted rotations (by r*R').
//    Folding uses the slots the R rows leave free: m = C/f diagonals instead of C;
//  * the m diagonals are summed by baby-step giant-step: g baby rotations of x
//    (ONE hoisted decomposition, shared by every block), the plaintext
//    diagonals pre-rotated by -g*i, and the giant steps accumulated in Horner
//    form (inner_0 + rot_g(inner_1 + rot_g(inner_2 + ...))), which needs a
//    single giant key (step g) however many giant steps there are;
//  * all products are accumulated before ONE rescale per block (depth 1); the
//    plaintexts are encoded at scale q_level so the output keeps x's scale.
// Output block b holds row b*R + i in slot i for i < R (with batched queries,
// row i of query q in slot q*R' + i). Slots >= R hold 0
// (clean_output, the default: f = 1) or, with folding, unspecified partial
// sums: then mask() before any non-linear step.
// Cost per query: (g-1) hoisted rotations + blocks * (ceil(m/g) - 1) rotations
// + blocks * (f-1) hoisted rotations + blocks * m plaintext multiplications.
// Galois steps: 1..g-1, g (when ceil(m/g) > 1), r*R' for r = 1..f-1.
//
// Why not "row packing" (x replicated, multiply by slots/C training rows, then
// sum inside each C-block by log2(C) rotations): for n = 4096, C = 512 and
// N = 2^15 (S = 16384) that is 128 ciphertexts x 9 sequential rotations =
// 1152 key switches (576 at N = 2^16), leaving one useful slot per 512 (more
// rotations to repack before the polynomial). The diagonal plans need, for
// the same sizes (plan_matvec):
//   N = 2^15 clean  : 31 hoisted + 15 full rotations, 512 plaintext products, depth 1
//   N = 2^15 masked : 20 hoisted +  8 full rotations, 171 plaintext products, depth 2
//   N = 2^16 masked : 16 hoisted +  6 full rotations,  74 plaintext products, depth 2
// (bench/he_krr_pipeline.cpp measures them).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/types.hpp"

namespace encmol::he {

struct MatVecOptions {
  std::size_t baby = 0;  // g; 0 = cost-model choice
  // Folding leaves partial sums (bounded only by the matrix and vector norms)
  // in slots >= R. A polynomial evaluated afterwards can blow those up past the
  // modulus and corrupt EVERY slot, so by default the output is clean: no fold,
  // and slots >= R hold encryptions of exactly 0 (+ noise). Set false only when
  // the next step masks or is linear.
  bool clean_output = true;
  // With clean_output: allow folding and clean the result with a 0/1 mask
  // (one more level, depth 2, but ~C/f instead of C plaintext products).
  bool mask_allowed = false;
  // 0 = no limit; 1 disables folding (clean_output without mask_allowed implies 1)
  std::size_t max_fold = 0;
  std::size_t blocks = 0;  // 0 = ceil(rows/slots), the fewest (later steps cost once per block)
  // Several input vectors per ciphertext (batching): query q occupies slots
  // [q*R', (q+1)*R') with R' = rows + C - 1 (room for the rotations), all
  // queries share every rotation and plaintext product. Needs
  // queries * R' <= slots; implies one block and no fold.
  std::size_t queries = 1;
  // Slots per query window with queries > 1: 0 = the minimum rows + C - 1; a
  // larger value (e.g. ReplicationLayout::stride()) must still fit the slots.
  std::size_t query_stride = 0;
  // Replication period C: 0 = bit_ceil(cols). Any C >= cols (e.g. cols itself: C diagonals instead
  // of bit_ceil(cols)) is valid when x is replicated only across a window of rows + C - 1 slots,
  // not cyclically over all slots (enforce_replication's layout): needs one block, no fold and rows
  // + C - 1 <= slots.
  std::size_t period = 0;
  double hoisted_cost = 0.55;  // cost of a hoisted rotation relative to a full one (cost model)
  double ptmult_cost = 0.02;   // cost of a plaintext multiplication relative to a rotation
};

struct MatVecPlan {
  std::size_t rows = 0, cols = 0;
  std::size_t slots = 0;
  std::size_t period = 0;          // C: input replication period (power of two >= cols)
  std::size_t blocks = 0;          // output ciphertexts
  std::size_t rows_per_block = 0;  // R
  std::size_t fold = 1;            // f
  std::size_t stride = 0;          // R'
  std::size_t diagonals = 0;       // m = ceil(C / f)
  std::size_t baby = 1;            // g
  std::size_t giants = 1;          // ceil(m / g)
  bool masked = false;             // a 0/1 mask cleans slots >= R after the fold (depth 2)
  std::size_t queries = 1;         // input vectors packed in one ciphertext
  std::size_t query_stride = 0;    // R': query q starts at slot q*R' (= slots for one query)

  /// Levels apply() consumes: 1, or 2 when masked.
  int depth() const { return masked ? 2 : 1; }
  /// Exactly the rotation steps apply() uses (positive, < slots, sorted).
  std::vector<int> galois_steps() const;
  std::size_t hoisted_rotations() const;  // (g-1) + blocks*(f-1)
  std::size_t full_rotations() const;     // blocks*(giants-1)
  std::size_t plaintext_mults() const;    // blocks*m
  double cost() const;                    // in rotation units (model of MatVecOptions defaults)
  std::string describe() const;
};

/// Throws InputError for zero sizes or cols > slots.
MatVecPlan plan_matvec(std::size_t rows, std::size_t cols, std::size_t slots,
                       const MatVecOptions& options = {});

/// The slot vector a client encrypts for the plan: x zero-padded to C and
/// replicated over all slots (one query), or over each query's R' slots.
std::vector<double> matvec_input_layout(const MatVecPlan& plan, std::span<const double> x);
std::vector<double> matvec_input_layout(const MatVecPlan& plan,
                                        const std::vector<std::vector<double>>& queries);
/// Slot of row `row` of query `query` in the output (single block).
inline std::size_t matvec_output_slot(const MatVecPlan& plan, std::size_t query, std::size_t row) {
  return query * plan.query_stride + row;
}

/// What MatVecOperator keeps between queries.
enum class DiagonalCache {
  none,          // every apply() builds and encodes the diagonals (FFT + NTTs): least memory
  coefficients,  // the diagonals' polynomial coefficients (N doubles each); apply() only NTTs them
  plaintexts,    // fully encoded plaintexts: fastest, blocks*m*(level+1)*N*8 bytes
};

/// A plaintext matrix (row-major, rows x cols) prepared for one plan and one input level.
class MatVecOperator {
 public:
  /// pending_input_rescale: the input arrives at `level` with scale s * q_level
  /// (a plaintext product not yet rescaled, e.g. enforce_replication without
  /// rescale); the diagonals are then encoded at q_(level-1) and apply()
  /// rescales twice, returning scale s one level lower than without.
  MatVecOperator(std::shared_ptr<const ckks::Encoder> encoder, MatVecPlan plan,
                 std::span<const double> matrix, std::size_t level,
                 DiagonalCache cache = DiagonalCache::coefficients,
                 bool pending_input_rescale = false);

  /// Batched plans with a different matrix per query window (e.g. one per
  /// chemical element): `matrices` holds K row-major rows x cols matrices one
  /// after another and query q uses matrix query_matrix[q] (< K), or none (its
  /// outputs are 0) when query_matrix[q] == kNoMatrix. query_matrix has
  /// plan.queries entries.
  static constexpr std::size_t kNoMatrix = static_cast<std::size_t>(-1);
  MatVecOperator(std::shared_ptr<const ckks::Encoder> encoder, MatVecPlan plan,
                 std::span<const double> matrices, std::vector<std::size_t> query_matrix,
                 std::size_t level, DiagonalCache cache = DiagonalCache::coefficients,
                 bool pending_input_rescale = false);

  const MatVecPlan& plan() const { return plan_; }
  std::size_t level() const { return level_; }
  /// Levels apply() consumes: plan().depth(), + 1 with a pending input rescale.
  int depth() const { return plan_.depth() + (pending_ ? 1 : 0); }
  std::size_t memory_bytes() const;

  /// Depth depth(). `x` must be at level() (or above: it is dropped) in the
  /// plan's input layout; returns plan().blocks ciphertexts at level()-depth()
  /// with x's scale (divided by q_level with a pending input rescale).
  std::vector<ckks::Ciphertext> apply(const ckks::Evaluator& ev, const ckks::Ciphertext& x,
                                      const ckks::GaloisKeys& gk) const;

 private:
  std::vector<double> diagonal_values(std::size_t block, std::size_t k) const;
  ckks::Plaintext diagonal(std::size_t block, std::size_t k) const;

  std::shared_ptr<const ckks::Encoder> encoder_;
  MatVecPlan plan_;
  void prepare();
  std::vector<double> matrix_;             // rows x cols, row-major (K of them with query_matrix_)
  std::vector<std::size_t> query_matrix_;  // per query window: index into matrix_, or kNoMatrix
  std::size_t level_ = 0;
  double pt_scale_ = 0;
  DiagonalCache cache_mode_;
  bool pending_ = false;
  std::vector<ckks::Plaintext> cache_;            // blocks * m (DiagonalCache::plaintexts)
  std::vector<std::vector<double>> coeff_cache_;  // blocks * m (DiagonalCache::coefficients)
  std::vector<ckks::Plaintext> masks_;            // one per block when plan().masked
};

// ---------------------------------------------------------------- slot helpers

/// out[s] = sum_{k < count} ct[s + k*unit] (indices mod slots; unit may be
/// negative) for count of the form 2^a or 2^a + 2^b: a + 1 rotations at most
/// (strided_sum_steps). Depth 0. sum_slots is unit 1, replicate unit -period.
ckks::Ciphertext strided_sum(const ckks::Evaluator& ev, const ckks::Ciphertext& ct,
                             std::size_t count, long long unit, const ckks::GaloisKeys& gk);
std::vector<int> strided_sum_steps(std::size_t count, long long unit, std::size_t slots);

/// out[s] = sum_{k < block} ct[s + k] (indices mod slots): every slot that
/// starts a block holds that block's sum; block = slots sums everything (each
/// slot then holds the total). block <= slots of the form 2^a (a sequential
/// rotations by 1, 2, ..., 2^(a-1)) or 2^a + 2^b, b < a (one more: by 1 for
/// 2^a + 1, by 2^a otherwise). Depth 0.
ckks::Ciphertext sum_slots(const ckks::Evaluator& ev, const ckks::Ciphertext& ct, std::size_t block,
                           const ckks::GaloisKeys& gk);
std::vector<int> sum_slots_steps(std::size_t block, std::size_t slots);

/// With values in slots [0, period) and zeros in [period, period*copies):
/// out[s] = ct[s mod period] for s < period*copies. copies: power of two,
/// period*copies <= slots. Depth 0; log2(copies) rotations by -period*2^t
/// (returned as slots - period*2^t).
ckks::Ciphertext replicate(const ckks::Evaluator& ev, const ckks::Ciphertext& ct,
                           std::size_t period, std::size_t copies, const ckks::GaloisKeys& gk);
std::vector<int> replicate_steps(std::size_t period, std::size_t copies, std::size_t slots);

// ------------------------------------------------------- layout enforcement

/// The matrix-vector product trusts its input layout: row i reads slot
/// i + k of its query window (k < C), so a client that encrypts DIFFERENT
/// vectors in different replicas feeds each training row its own query and
/// can isolate single rows of the model. The server therefore keeps ONE copy
/// of the C values (block `source_block()` of each window), zeroes every
/// other slot and rebuilds the replicas itself (enforce_replication).
///
/// Window q covers slots [q*stride, (q+1)*stride); stride = copies*C, with
/// copies of the form 2^a or 2^a + 2^b (b < a), so that the copies are made by
/// a doubling left rotations by C*2^t (t < a) and one more: by C for 2^a + 1,
/// by C*2^a for 2^a + 2^b (a + 1 Galois keys at most). Rounding the needed
/// blocks up to such a form wastes at most a third of a window. The source block is the LAST block
/// of each window and the copies spread to its left, so no window writes into its neighbour. (A
/// window can thus need more slots than rows + C - 1: callers size the ring for
/// plan_replication(...).stride().)
struct ReplicationLayout {
  std::size_t period = 0;   // C
  std::size_t copies = 0;   // m: blocks of C slots per window
  std::size_t windows = 1;  // query windows per ciphertext
  std::size_t slots = 0;

  std::size_t stride() const { return copies * period; }
  /// Block (of C slots, inside each window) whose values are kept.
  std::size_t source_block() const { return copies - 1; }
  /// Exactly the rotation steps enforce_replication uses (sorted, in [1, slots)).
  std::vector<int> galois_steps() const;
  std::size_t rotations() const;
};

/// Smallest n' >= n of the form 2^a or 2^a + 2^b (b < a): block sizes that
/// sum_slots and enforce_replication handle with a + 1 rotations at most
/// (n' < 4n/3 + 1).
std::size_t two_power_sum_ceil(std::size_t n);
bool is_two_power_sum(std::size_t n);

/// Smallest layout whose windows hold at least `needed` slots each (the
/// product reads rows + C - 1 of them); `windows` windows must fit the slots.
/// Throws InputError when they do not.
ReplicationLayout plan_replication(std::size_t needed, std::size_t period, std::size_t windows,
                                   std::size_t slots);

/// Rebuilds the replicated layout from block source_block() of every window:
/// for j < C the value kept is keep[j] * ct[source + j] (keep: C values,
/// usually 0/1; 0 for positions the caller fixes itself), and slot
/// q*stride + b*C + j of the output holds it for every block b < copies of
/// window q < windows. Slots outside the windows are 0. layout.rotations()
/// sequential rotations. With rescale (depth 1) the output keeps ct's scale;
/// without, it stays at ct's level with scale ct.scale * q_level: the rescale
/// is left to the next product (MatVecOperator with pending_input_rescale),
/// so the mask's rounding and the rotations' key-switching noise land at a
/// scale ~2^50 larger than the message's and vanish, instead of being copied
/// into every replica (where the product would add them up coherently).
ckks::Ciphertext enforce_replication(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                                     const ckks::Ciphertext& ct, const ReplicationLayout& layout,
                                     std::span<const double> keep, const ckks::GaloisKeys& gk,
                                     bool rescale = true);

/// Slot-wise product with a real plaintext vector (length <= slots, zero
/// padded) encoded at scale q_level, then rescaled: depth 1, the output keeps
/// ct's scale. No rotations.
ckks::Ciphertext multiply_vector(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                                 const ckks::Ciphertext& ct, std::span<const double> values);

/// Keeps slots [begin, begin+count) and zeroes all others (multiply_vector by a
/// 0/1 vector): depth 1, no rotations.
ckks::Ciphertext mask(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                      const ckks::Ciphertext& ct, std::size_t begin, std::size_t count);

/// sum_i w_i * ct[i] for i < w.size(), in slot 0 (and, as sum_slots leaves
/// it, in every slot that starts a block of bit_ceil(w.size())). Depth 1;
/// sum_slots_steps(bit_ceil(w.size())).
ckks::Ciphertext weighted_sum(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                              const ckks::Ciphertext& ct, std::span<const double> weights,
                              const ckks::GaloisKeys& gk);

/// Several weighted sums in one ciphertext (e.g. all targets of a KRR model):
/// for t < weights.size(), slot t*stride receives
///   sum_{i < weights[t].size()} weights[t][i] * ct[t*stride + i].
/// stride: power of two >= every weights[t].size(), weights.size()*stride <= slots.
/// The kernel vector is usually put in each region by the matrix-vector
/// product itself (repeat the matrix rows per region: free in the clean
/// layout, where the diagonal count does not depend on the row count).
/// Depth 1; sum_slots_steps(stride).
ckks::Ciphertext block_weighted_sums(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                                     const ckks::Ciphertext& ct,
                                     const std::vector<std::vector<double>>& weights,
                                     std::size_t stride, const ckks::GaloisKeys& gk);

/// Sorted union of step lists with duplicates and zero steps removed (steps
/// normalized to [1, slots)).
std::vector<int> merge_steps(std::initializer_list<std::vector<int>> lists, std::size_t slots);

}  // namespace encmol::he
