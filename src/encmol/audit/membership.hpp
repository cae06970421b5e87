// Membership inference against a model's prediction interface.
//
// The attacker sees only answers f(x) to molecules x it chooses, knows the
// true label y of x, and wants to tell whether x was in the training set.
// Statistic: s(x) = -log(|f(x) - y| + 1e-9), the log "confidence" (KRR fits
// its training labels closely, so members have small residuals).
//
//  - loss threshold (Yeom et al. 2018): score = s(x), one global threshold;
//  - LiRA (Carlini et al., "Membership inference attacks from first
//    principles", 2022): the attacker trains K shadow models with the same
//    hyper-parameters on random subsets of a population it knows (each subset
//    as large as the target's training set), and fits per molecule a Gaussian
//    to s(x) over the shadows that contained x (IN) and over those that did
//    not (OUT). Online variant: score = log N(s; mu_in, sd_in) -
//    log N(s; mu_out, sd_out). Offline variant (OUT models only, so shadows
//    can be trained before the target query): score = (s - mu_out) / sd_out,
//    one-sided. With few shadows per-molecule variances are noisy, so each
//    is shrunk towards the global (pooled) variance with the weight of 4
//    samples, as Carlini et al. recommend a fixed variance for small K.
//
// Configurations audited, each with its own shadows' matching behaviour (the
// attacker mimics the interface): (a) the model as trained; (b) the same
// model with a larger ridge lambda (stronger regularization); (c) the model
// of (a) behind an interface that rounds its answers to a step. The accuracy
// cost of (b), (c) is the change of the MAE on non-members (held-out data).
// Families other than global KRR are audited the same way, every shadow
// trained with the family's own fitted hyper-parameters (slower: one full
// fit per shadow and configuration).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ml/kernels.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::audit {

struct RocPoint {
  double fpr = 0.0;
  double tpr = 0.0;
};

/// ROC curve and summary numbers of one attack (higher score = "member").
struct AttackMetrics {
  std::string attack;
  double auc = 0.0;
  double tpr_at_0_1pct = 0.0;  // largest TPR with FPR <= 0.001
  double tpr_at_1pct = 0.0;    // largest TPR with FPR <= 0.01
  std::vector<RocPoint> roc;   // from (0, 0) to (1, 1), one point per distinct score
};

/// Computes the ROC curve, AUC (ties count half) and TPR at low FPR. Throws
/// ParameterError when sizes differ or either class is empty.
AttackMetrics evaluate_attack(const std::string& name, const std::vector<double>& scores,
                              const std::vector<char>& is_member);

/// What the attacker observes and the audit knows.
struct MembershipSetup {
  std::vector<chem::Molecule> population;  // molecules with labels
  std::vector<char> member;                // target training membership, per molecule
  chem::RepresentationSpec representation;
  ml::Kernel kernel;
  double lambda = 1e-8;
  bool per_element_baseline = true;
  std::string target;  // property name
  /// Calibration only: when non-empty, the target model is trained on these
  /// molecules (outside the population) instead of the members, so no
  /// "member" is really in its training set and every attack should be at
  /// chance level.
  std::vector<chem::Molecule> target_training_override;
  /// Families other than krr (quadratic, rf, local-krr): the target and every
  /// shadow are trained with these options (refit_options: one
  /// hyper-parameter point; its lambda replaced by each configuration's)
  /// instead of the kernel engine; `kernel` is then unused.
  std::optional<ml::TrainOptions> family_training;
};

struct MembershipOptions {
  std::size_t shadows = 16;
  /// Lambda of configuration (b); 0 = 1e-2 (or 100 x lambda if larger): on QM7
  /// this costs a few per cent of accuracy (docs/privacy.md).
  double regularized_lambda = 0.0;
  /// Rounding step of configuration (c), label units.
  double round_step = 1.0;
  std::uint64_t seed = 42;
  ml::ProgressCallback progress;
};

struct MembershipConfig {
  std::string name;  // "a-default", "b-regularized", "c-rounded"
  std::string description;
  double lambda = 0.0;
  double round_step = 0.0;      // 0 = exact answers
  double member_mae = 0.0;      // training (member) MAE of the target
  double non_member_mae = 0.0;  // held-out MAE: the accuracy that matters
  AttackMetrics loss, lira_online, lira_offline;
};

struct MembershipReport {
  std::size_t population = 0;
  std::size_t members = 0;
  std::size_t shadows = 0;
  std::string target;
  ml::Kernel kernel;
  std::string model;  // the audited model in words (kernel, or family and representation)
  std::vector<MembershipConfig> configs;
  double seconds = 0.0;
};

/// Runs the three configurations (see the top of this file). Deterministic for
/// a seed and thread count (other thread counts agree to rounding: BLAS/LAPACK). Throws InputError
/// for a population too small (fewer than 4 members or 4 non-members), labels missing, a
/// representation that cannot hold a molecule, or bad options.
MembershipReport audit_membership(const MembershipSetup& setup, const MembershipOptions& options);

/// Setup for a fresh target: the first `train_size` molecules of a seeded
/// permutation of `population` are members (0 = half).
std::vector<char> random_membership(std::size_t population, std::size_t train_size,
                                    std::uint64_t seed);

}  // namespace encmol::audit
