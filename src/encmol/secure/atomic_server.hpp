// The server's side of the atomic circuit (atomic_plan.hpp): the prepared
// per-element matrices and weight vectors, and the evaluation of one query
// ciphertext up to (not including) re-randomization and flooding.
#pragma once

#include <memory>
#include <vector>

#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/secure/plan.hpp"

namespace encmol::secure {

class AtomicEvaluator {
 public:
  /// plaintext_cache_bytes: as ServerOptions (encoded diagonals kept when they fit).
  AtomicEvaluator(const ml::Model& model, const Plan& plan,
                  std::shared_ptr<const ckks::Encoder> encoder,
                  std::uint64_t plaintext_cache_bytes);

  /// Steps 0-3 of the circuit for one query ciphertext at the top level: the
  /// masked predictions / W_t of its first `live` molecules at their output slots.
  ckks::Ciphertext evaluate(const ckks::Evaluator& ev, const ckks::Ciphertext& query,
                            const ckks::RelinKey& relin, const ckks::GaloisKeys& galois,
                            std::size_t live) const;

 private:
  Plan plan_;
  std::shared_ptr<const ckks::Encoder> encoder_;
  std::unique_ptr<he::MatVecOperator> op_;
  he::ReplicationLayout layout_;
  std::vector<double> keep_;                 // C ones: every value of the kept block
  std::vector<std::vector<double>> output_;  // per target: c_t / W_t at the rows of every window
  std::vector<std::vector<double>>
      linear_;  // per target: o_t / W_t at the first replica of every window
  std::vector<std::vector<double>> mean_;  // per target: mean_t / W_t at each molecule's first slot
};

}  // namespace encmol::secure
