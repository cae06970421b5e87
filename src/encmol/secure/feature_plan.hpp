// Encrypted evaluation of random-feature models with public features: the
// card carries the feature map (seed, sigma, counts and PCA projections, from
// which the frequencies regenerate), the client computes its molecule's
// features Phi (D values: per-element sums of sqrt(2/D_e) cos(w.x + b) over
// its atoms) and element counts itself, and the server takes one inner product
// per target. The fastest circuit (depth 2), but the answers are linear in
// the client's own vector: D + (elements) independent answers give the weights
// exactly. The card says so and the default budget stays well below.
//
// Packing: molecule g owns slots [g B, g B + D + E), B = query_stride =
// sum_block (2^a or 2^a + 2^b >= D + E); the client sends
// v = (Phi / A, counts / count_scale) with A = max_e capacity_e sqrt(2 / D_e),
// so |v_j| <= 1 for every molecule the card's capacities accept.
// Circuit per ciphertext and target t: v (.) w_t (depth 1, w_t = (A w, count_scale b_e) / W_t in
// each molecule's block), slot sums over B (log2 B rotations), + mean_t / W_t, mask to slot g B
// (depth 1), rotation to g B + t; then re-randomization and flooding. Exact: no approximation term.
// Error budget per target (kTail standard deviations): the fresh input noise
// through the weights, s_in |w_t|_2, and the sums, mask and rotations after
// the product, kTail sqrt(ops) s_op W_t.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/secure/plan.hpp"

namespace encmol::secure {

/// Compiles a random-feature model (compile_plan dispatches here).
Plan compile_feature_plan(const ml::Model& model, const PlanOptions& options);

/// The client's vector v (plan.period values) of each molecule. InputError
/// naming the molecule when the card's representation cannot hold it.
std::vector<std::vector<double>> feature_query_vectors(
    const Plan& plan, const chem::RepresentationSpec& spec, const ml::AtomicPca& projection,
    const ml::RandomFeatureMap& map, const std::vector<chem::Molecule>& molecules);

/// The server's side: weights laid out per molecule block.
class FeatureEvaluator {
 public:
  FeatureEvaluator(const ml::Model& model, const Plan& plan,
                   std::shared_ptr<const ckks::Encoder> encoder);
  /// The masked predictions / W_t of the first `live` molecules at their output slots (no flood
  /// yet).
  ckks::Ciphertext evaluate(const ckks::Evaluator& ev, const ckks::Ciphertext& query,
                            const ckks::GaloisKeys& galois, std::size_t live) const;

 private:
  Plan plan_;
  std::shared_ptr<const ckks::Encoder> encoder_;
  std::vector<std::vector<double>> weights_;  // per target
  std::vector<std::vector<double>> mean_;     // per target
};

}  // namespace encmol::secure
