// Encrypted evaluation plans: how a trained kernel model is evaluated on a
// CKKS-encrypted query, and how far the decrypted prediction can be from the
// prediction in the clear (the error budget).
//
// Circuit (one ciphertext holds `queries` queries; query q owns slots
// [q*R', (q+1)*R'), R' = query_stride):
//   client:  xh = (x/Q, |x|^2/Q^2, 1, count_e(m)/c ...), C = d + 2 + #counts values,
//            replicated over each query's slots (he::matvec_input_layout)
//   server:  0. xh' = the C values of the last block of each query window, the constant
//               slot zeroed, replicated again by the server (he::enforce_replication,
//               plan.replication()): whatever the client put in the other replicas is
//               discarded, so every training row sees the same query. Its mask is rescaled
//               by the product below (no level of its own, and its rounding noise stays
//               ~q below the message instead of being copied into every replica)
//            1. y = M xh' + M e_const    (he::MatVecOperator with a pending rescale, depth 2;
//                                         the constant's column added as a plaintext)
//               Gaussian:   row i = s(-2Q x_i, Q^2, 0..) + (|x_i|^2 s - 1) e_const,
//                           s = 2 gamma / T, so y_i = 2 gamma |x - x_i|^2 / T - 1 in [-1, 1]
//                           whenever |x| <= Q (the affine map of exp is folded in: no level)
//               linear / polynomial: row i = (gamma Q x_i / U, 0, coef0 / U), so
//                           y_i = (gamma <x, x_i> + coef0) / U in [-1, 1]
//            2. k = exp(-T (y + 1) / 2)  (he::evaluate_exp, proven approximation on [0, T])
//               or k = y^degree          (exact, Chebyshev form of the monomial)
//            3. per target t: s_t = sum_slots(k (.) a_t + xh' (.) b_t + mean_t / W_t, B) with a_t
//               the weights alpha(i, t) U^deg / W_t at row slots and b_t the per-element baseline
//               coefficients x c / W_t at the slots of the counts: the first slot
//               of each query holds prediction_t / W_t  (depth 1, log2(B) rotations; depth 0
//               with one target: a_t rides in the polynomial's leaves, he::evaluate_exp_weighted)
//            4. mask every slot except q*R' (depth 1), rotate target t to q*R' + t, add
//            5. noise flooding: c0 += e, e discrete Gaussian of std sigma_f (coefficients)
//   client:  decrypt, multiply by W_t, round to the guaranteed precision.
// W_t (powers of two) keep |slot| < 2^(integer bits - 3) at the last level and are
// proportional to the targets' tolerances, so one flood costs every target the same
// fraction of its tolerance.
//
// Error budget (per target t, in the target's unit), all bounds at 10 standard
// deviations of the usual CKKS noise model (rescale / key-switching rounding
// of std sigma_op = N (0.25 + 2 sqrt(dnum)) / Delta per slot, independent per
// operation, worst case over the weighted sum):
//   |enc - plain| <= A_t (eps_approx + e_k) + e_after + e_flood
// with A_t = sum_i |alpha(i, t)| U^deg, eps_approx the proven sup error of the
// exp approximation (he::ExpApproximation::error_bound; 0 for polynomial
// kernels), e_k the noise bound of one kernel value (input noise amplified by
// the polynomial's derivative, T/2 or degree, plus the noise the polynomial
// evaluation adds), e_after the weighted sum's and the mask's noise (times W)
// and e_flood = 10 sigma_f sqrt(N/2) W_t / Delta the flooding noise, sigma_f = 2^flood_bits x
// the reply's coefficient noise bound. The approximation part is a proof; the noise
// part is a high-probability bound of the standard CKKS noise heuristics, not
// a worst-case proof (tests check it with margin on real molecules; without
// the flood, 60 QM7 molecules stay within 0.3 of the noise term alone, see
// docs/benchmarks.md). Only noise added at scale ~Delta counts: the layout
// mask, the replication and the product's rotations act at scale ~Delta q
// (step 0), where their noise is ~2^-50 of that.
//
// Queries farther from the origin than Q (the card's max_query_norm) would
// leave [0, T]; the client refuses them (InputError) before encrypting. A
// malicious client that sends them anyway only corrupts its own result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "encmol/ckks/params.hpp"
#include "encmol/core/binary.hpp"
#include "encmol/he/approx.hpp"
#include "encmol/he/chebyshev.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::secure {

struct PlanOptions {
  /// Largest |encrypted - plain| accepted, in the targets' units (the same for
  /// every target). 0: use relative_tolerance.
  double tolerance = 0.0;
  /// Tolerance as a fraction of each target's label_scale (used when tolerance == 0).
  double relative_tolerance = 1e-4;
  /// Q = (1 + query_margin) * (largest training feature norm): queries up to Q are accepted.
  double query_margin = 0.25;
  /// Queries per ciphertext: 0 = as many as fit, 1 = no batching.
  std::uint32_t max_batch = 0;
  /// Range of CKKS scales tried (bits); the smallest that fits the budget wins.
  int min_scale_bits = 36;
  int max_scale_bits = 55;  // above 50 only when 50 cannot meet the tolerance
  /// Noise flooding: the flood's std is 2^bits x the reply's noise bound (see
  /// the top of this file). The plan uses the most bits the tolerance leaves
  /// room for, up to max_flood_bits, and refuses fewer than min_flood_bits.
  int min_flood_bits = 1;
  int max_flood_bits = 30;

  void validate() const;  // ParameterError
  void write(core::ByteWriter& out) const;
  static PlanOptions read(core::ByteReader& in);
  bool operator==(const PlanOptions&) const = default;
};

/// Per-target error budget (units of the target).
struct TargetBudget {
  double sum_abs_alpha = 0;  // A_t (weights times U^deg for polynomial kernels)
  double tolerance = 0;
  double approximation = 0;  // A_t * eps_approx
  double noise = 0;          // A_t * e_k + e_after
  double flooding = 0;       // e_flood
  double bound = 0;          // approximation + noise + flooding: the guaranteed |enc - plain|
  double rounding_step = 0;  // the client rounds to multiples of this (1, 2 or 5 x 10^k >= bound)
};

/// Which circuit a plan runs: global kernel models (this file) or atomic
/// models (atomic_plan.hpp). Stored in the plan (format 3; format 2 plans are kernel plans).
enum class PlanFamily : std::uint8_t { Kernel = 1, Atomic = 2, Features = 3 };

/// The atomic circuit's own fields (atomic_plan.hpp); unused by kernel plans.
struct AtomicCircuit {
  int power = 2;                      // u^p
  std::vector<int> elements;          // ascending Z
  std::vector<std::size_t> capacity;  // atom windows per element in each molecule
  std::vector<double>
      input_norm;  // per element: Q_e (atoms with |z| > Q_e in the card's frame are refused)
  std::size_t windows = 0;        // windows per molecule (2^a or 2^a + 2^b >= sum of capacities)
  std::size_t window_stride = 0;  // S
  std::size_t window_sum = 0;     // slots summed inside a window (2^a or 2^a + 2^b)
  bool ball_frame = false;  // the model frame's ball instead of its ellipsoid (ml::AtomFrame::ball)

  /// First window of element index e inside a molecule.
  std::size_t first_window(std::size_t e) const;
  void write(core::ByteWriter& out) const;
  static AtomicCircuit read(core::ByteReader& in);
};

/// The public-feature circuit's own fields (feature_plan.hpp); unused by the other plans.
struct FeatureCircuit {
  std::size_t features = 0;         // D: random features per molecule
  std::vector<int> count_elements;  // element counts after the features (per-element baseline)
  double amplitude =
      1;  // A: |Phi_j| <= A for every molecule the card accepts; the client sends Phi / A
  double count_scale = 1;  // element counts enter divided by this

  void write(core::ByteWriter& out) const;
  static FeatureCircuit read(core::ByteReader& in);
};

struct Plan {
  PlanFamily family = PlanFamily::Kernel;
  AtomicCircuit atomic;     // family == Atomic
  FeatureCircuit features;  // family == Features
  // ---- identity
  core::Digest
      model_hash{};  // BLAKE2b-256 of the model's encoding (binds card, keys, queries to one model)
  PlanOptions options;
  // ---- model shape (what the client must know to build a query)
  ml::KernelKind kernel = ml::KernelKind::Gaussian;
  std::size_t training_size = 0;  // n
  std::size_t dimension = 0;      // d
  std::vector<int>
      count_elements;  // Z of the element counts in xh (per-element baseline), may be empty
  std::size_t targets = 0;
  // ---- scaling
  double count_scale =
      1;  // element counts enter xh divided by this (the representation's max atoms)
  double train_norm = 0;      // R = max |x_i|
  double max_query_norm = 0;  // Q
  double T = 0;               // Gaussian: interval [0, T] of gamma |x - x_i|^2
  double gamma = 0;           // Gaussian: 1/(2 sigma^2); polynomial: kernel gamma (linear: 1)
  double coef0 = 0;
  int degree = 1;          // polynomial degree (1 for linear, 0 for Gaussian)
  double inner_bound = 1;  // U (polynomial / linear)
  std::vector<double>
      weight_scale;  // W_t per target (powers of two): slot value = prediction / W_t,
                     // W_t proportional to the target's tolerance so one flood suits all
  // ---- packing
  std::size_t period = 0;  // C
  std::size_t rows = 0;    // matrix rows incl. zero padding (>= n)
  std::size_t slots = 0;
  std::size_t queries = 1;       // per ciphertext
  std::size_t query_stride = 0;  // R'
  std::size_t sum_block = 0;     // B = bit_ceil(n)
  // ---- approximation and CKKS
  bool weights_in_leaves =
      false;           // alpha rides in the kernel polynomial's leaves (one target: saves a level)
  int exp_degree = 0;  // Gaussian: degree of the exp polynomial
  int exp_squarings = 0;
  double exp_error = 0;   // proven sup error of the exp approximation
  double exp_target = 0;  // error target it was chosen for (to recompute it)
  int depth = 0;
  int scale_bits = 0;
  ckks::ParameterSet params;
  std::vector<int> galois_steps;  // exactly the rotations the server uses
  int flood_bits = 0;
  double flood_sigma = 0;  // std of the flood's coefficients
  std::vector<TargetBudget> budget;

  /// Which slot of the decrypted reply holds molecule `query` (< queries), target t.
  std::size_t output_slot(std::size_t query, std::size_t target) const {
    return query * query_stride + target;
  }
  /// Matrix-vector windows per ciphertext: one per query (kernel), one per atom window (atomic).
  std::size_t windows_per_ciphertext() const {
    return family == PlanFamily::Atomic ? queries * atomic.windows : queries;
  }
  /// The matrix-vector plan (recomputed deterministically from the fields above).
  he::MatVecPlan matvec_plan() const;
  /// How the server rebuilds the replicated query layout (step 0 of the circuit).
  he::ReplicationLayout replication() const;
  /// Multi-line summary (for `encmol card` and the demo).
  std::string describe() const;
  void write(core::ByteWriter& out) const;
  static Plan read(core::ByteReader& in);
  core::Bytes encode() const;
  core::Digest hash() const;
};

/// The query vector xh (length C) of one molecule's features and element
/// counts. Throws InputError when |x| > Q (the molecule lies outside the
/// interval the plan covers) naming `name`.
std::vector<double> query_vector(const Plan& plan, const std::vector<double>& features,
                                 const std::vector<double>& counts, const std::string& name);

/// BLAKE2b-256 of ml::encode_model(model).
core::Digest model_hash(const ml::Model& model);

/// Compiles a model into a plan. Throws ParameterError saying why and what to
/// change when the model cannot be evaluated within the tolerance (Laplacian
/// kernel, weights too large for the tolerance, too many training points for
/// N = 2^16, ...).
Plan compile_plan(const ml::Model& model, const PlanOptions& options = {});

/// Molecules one client key may have evaluated by default. Kernel models: 4 x
/// the training molecules (a surrogate needs more to come within 1 kcal/mol,
/// docs/privacy.md). Atomic polynomial models (quadratic, nn with one power
/// block) are linear in their coefficients, and the client knows its atoms'
/// vectors, so sum_e C(d + p, p) answers determine the model exactly by least
/// squares, and a surrogate of the same family comes within 1 kcal/mol much
/// sooner (0.13 N answers on QM7 with Δ-xTB, docs/privacy.md): the default is
/// the smallest of N / 8, a quarter of that count and the kernel default.
/// Random-feature models with public features: the smallest of N / 8 and a
/// quarter of D + E (that many answers give the weights exactly).
std::uint64_t default_query_budget(const ml::Model& model);

/// What the server needs besides the plan (not in the card): the exp
/// approximation or the monomial, recomputed deterministically.
he::ExpApproximation plan_exp_approximation(const Plan& plan);

}  // namespace encmol::secure
