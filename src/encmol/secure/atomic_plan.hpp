// Encrypted evaluation of atomic models: the quadratic atomic model and
// HE-friendly atomic networks with one power block (ml::FoldedNetwork with
// L = 1: u = A x + a, y = O x + C u^p + o per atom, summed over the atoms).
// CKKS computes these additions, plaintext products and powers exactly, so the
// error budget has no approximation term: only noise and the flood.
//
// Packing (one ciphertext holds `queries` molecules; molecule g owns slots
// [g M, (g+1) M), M = query_stride = windows * S):
//   every molecule has `windows` atom windows of S slots; element e owns
//   capacity_e consecutive windows (elements ascending), the others stay empty.
//   The client puts each atom of element e, as x~ = (z / Q_e, 1) with
//   z = (x - center_e) / scale_e in the card's frame (ml/atom_frame.hpp; C =
//   d + 1 values: its vector in the unit ball, and an occupancy 1), into the
//   next free window of e, replicated over the window like a kernel query; free
//   windows hold 0. Molecules with more atoms of an element than its capacity,
//   atoms of other elements or atoms with |x| > Q_e are refused (InputError).
//   The window layout is public, so the card reveals the capacities and a
//   query reveals nothing about the composition beyond them.
//
// Circuit per ciphertext (server):
//   0. keep the last block of every window and rebuild the replicas
//      (he::enforce_replication, its rescale left to the product)
//   1. u = A'_e x~ in every window of element e (he::MatVecOperator with one
//      matrix per element): with x = center + Q_e scale (.) x~, row i of A'_e
//      is (Q_e A_i diag(scale), A_i center + a_i) / U_i, U_i the norm of the
//      first part plus |A_i center + a_i|, so |u_i| <= 1 for every honest atom
//      (depth 2 with step 0)
//   2. q = u^p (p = 2: one square; p = 3: u^2 u), ceil(log2 p) levels
//   3. per target t: q (.) c_t + x~ (.) o_t (depth 1), c_t = C_ti U_i^p / W_t
//      at the rows of each window, o_t = (Q_e O_t diag(scale), O_t center +
//      o_t + baseline_e,t) / W_t
//      at its first replica; summed inside each window and over the
//      molecule's windows (rotations by 1, 2, .. and by S, 2S, ..); + mean_t /
//      W_t; masked to slot g M (depth 1); rotated to g M + t
//   4. re-randomization and flooding as for kernel plans.
// Empty windows hold x~ = 0, so u = 0, q = 0 and they add exactly 0: no bias
// survives without the occupancy value. A client that puts other values there
// only evaluates the model's polynomial elsewhere (as any query does).
//
// Error budget per target, in its unit (kTail standard deviations):
//   input noise s_in per slot reaches u_i through A'_i (std |A'_i| s_in,
//   the same noise in every row: correlated), the product adds 2 s_op
//   (its last rescale, counted twice); q_i then carries p x that (|u| <= 1)
//   plus 3 s_op of its own; a window's output noise is at most
//   p s_in sum_i |c_ti| |A'_i| (coherent) with sqrt(sum_i c_ti^2) (p 2 s_op +
//   3 s_op) (independent) and |o_t| s_in; windows are independent slots; the
//   sums, mask and rotations after the weights add kTail sqrt(ops) s_op W_t.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/core/binary.hpp"
#include "encmol/ml/atom_frame.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/secure/plan.hpp"

namespace encmol::secure {

/// Largest capacity (atoms of one element in one molecule) and window count a plan may have.
inline constexpr std::size_t kMaxAtomWindows = 1024;

/// The frame the plan's client standardizes its atoms in: the model's atom
/// frame or its ball (plan.atomic.ball_frame); the card carries it.
ml::AtomFrame plan_frame(const ml::Model& model, const Plan& plan);

/// The normalized per-element weights of the circuit (top of file), computed
/// by the server from its model (never in the card).
struct AtomicWeights {
  struct Element {
    bool present = false;                     // the model has terms for this element
    std::vector<double> hidden;               // rows x C, row-major: A'_e
    std::vector<std::vector<double>> output;  // per target: c_ti U_i^p (rows values)
    std::vector<std::vector<double>> linear;  // per target: (Q_e O_t, o_t + baseline) (C values)
  };
  std::vector<Element> elements;  // the plan's elements
};

/// The model's atomic body as one-block power stages, normalized for `plan`
/// (whose atomic fields must be set). ParameterError for other families.
AtomicWeights atomic_weights(const ml::Model& model, const Plan& plan);

/// Checks the model can be served by the atomic circuit: quadratic, or nn
/// with depth 1; ParameterError naming the model otherwise.
ml::FoldedNetwork atomic_stages(const ml::Model& model);

/// Compiles a quadratic or one-block network model (compile_plan dispatches here).
Plan compile_atomic_plan(const ml::Model& model, const PlanOptions& options);

/// The windows (plan.atomic.windows x plan.period values) of one molecule's
/// atoms (after the card's projection), standardized in the card's frame.
/// InputError naming `name` for an element the card lacks, more atoms of an
/// element than its capacity, or an atom outside the plan's ellipsoid.
std::vector<std::vector<double>> atomic_query_windows(const Plan& plan, const ml::AtomFrame& frame,
                                                      const chem::AtomicFeatures& atoms,
                                                      std::size_t molecule,
                                                      const std::string& name);

}  // namespace encmol::secure
