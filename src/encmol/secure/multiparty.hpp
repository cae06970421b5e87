// Training together without sharing data (DESIGN.md §1): k data owners fit
// one random-feature ridge model on the union of their molecules under
// threshold CKKS (ckks/threshold.hpp). No party, and no aggregator, sees
// another party's molecules, labels or statistics; all parties together
// decrypt only the sum (ml/ridge_statistics.hpp explains why the sum is all
// the fit needs).
//
//   1. init        One party writes the session: the k parties, CKKS
//                  parameters (N = 2^14, three 60-bit primes: 128-bit), the
//                  common reference seed of the joint key, and the model
//                  recipe every party featurizes with (atomic representation,
//                  elements, random-feature map, targets, Δ baseline, lambda
//                  grid, optional differential privacy).
//   2. keygen      Party i draws its secret share s_i (kept, mode 0600) and
//                  publishes its public-key share.
//   3. contribute  Party i computes S_i = Z_i^T Z_i over its own molecules
//                  (Z = [Phi, counts, 1, labels − Δ]), optionally adds its part
//                  of the DP noise, quantizes it to fixed point (2^-48) and
//                  encrypts it under the joint key (the sum of the public
//                  shares), as integers in the polynomial coefficients.
//   4. aggregate   Anyone adds the k contributions (all must be there, each
//                  once, under the same joint key).
//   5. decrypt-share  Party i publishes c1 s_i + smudging noise for the
//                  aggregate.
//   6. finish      Anyone with the k shares decodes the exact sum of the
//                  quantized statistics and fits the model; a missing share
//                  is refused, a corrupt one detected (decoding fails).
//
// Every file is a core envelope (versioned, BLAKE2b-checksummed, written
// atomically) bound to the session by its hash; CKKS objects inside are
// ckks/serialization payloads, validated on load.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ckks/context.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/threshold.hpp"
#include "encmol/ckks/types.hpp"
#include "encmol/core/binary.hpp"
#include "encmol/ml/delta.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/random_feature_map.hpp"
#include "encmol/ml/ridge_statistics.hpp"

namespace encmol::secure {

inline constexpr core::Kind kPartySessionKind = core::make_kind("PSES");
inline constexpr core::Kind kPartySecretKind = core::make_kind("PSKY");
inline constexpr core::Kind kPartyPublicKind = core::make_kind("PPKS");
inline constexpr core::Kind kContributionKind = core::make_kind("PCON");
inline constexpr core::Kind kAggregateKind = core::make_kind("PAGG");
inline constexpr core::Kind kDecryptionShareKind = core::make_kind("PDSH");
inline constexpr std::uint32_t kPartyFormatVersion = 1;

/// Most parties a session may have.
inline constexpr std::uint32_t kMaxParties = 64;

/// Optional (epsilon, delta) differential privacy of the decrypted sum: every
/// molecule's contribution is bounded (labels − Δ − offset clipped to
/// ±label_bound, at most max_atoms atoms; |z|^2 <= 3 max_atoms^2 + 1 +
/// targets label_bound^2 since each feature block sums at most n_e atoms of
/// norm^2 2), so S moves by at most
///   sensitivity = 2 (3 max_atoms^2 + 1 + targets label_bound^2)
/// in Frobenius norm when one molecule is replaced by another (the number of
/// molecules is public and stays exact), and Gaussian
/// noise of std sigma = sensitivity sqrt(2 ln(1.25 / delta)) / epsilon
/// (epsilon <= 1) makes the sum (epsilon, delta)-DP. Each of the k parties adds
/// noise of std sigma / sqrt(k), so the sum carries sigma against anyone who
/// knows none of the noise shares (sigma sqrt((k-1)/k) against one party).
struct PrivacyBudget {
  double epsilon = 0;  // 0 = no DP noise
  double delta = 0;
  double label_bound = 0;
  std::uint32_t max_atoms = 0;
  bool active() const { return epsilon > 0; }
  double sensitivity(std::size_t targets) const;
  double sigma(std::size_t targets) const;  // std of the total noise per statistic
};

struct PartySessionOptions;

struct PartySession {
  core::Digest id{};  // random: two sessions never share files
  std::uint32_t parties = 0;
  ckks::ParameterSet params;
  math::Seed crs{};                         // common reference seed of the joint public key
  chem::RepresentationSpec representation;  // atomic kind and elements
  ml::RandomFeatureMap map;                 // recipe (regenerated on load), no projection
  std::vector<std::string> targets, units;
  ml::DeltaBaseline delta;
  std::vector<double> lambdas;  // grid; finish picks one by generalized cross-validation
  PrivacyBudget privacy;
  /// Public per-element reference energies (elements x targets, e.g. fitted on
  /// the initiator's reference molecules; zero when none): every party learns
  /// labels − Δ − counts · offset, so the labels are small before any DP
  /// clipping; finish adds the offset back to the baseline.
  Eigen::MatrixXd label_offset;
  std::string description;

  /// Fixed point of the statistics (2^-48) and the shift of the integers
  /// above the noise (2^60) in the coefficients; smudging std of decryption.
  static constexpr unsigned kFractionBits = 48;
  static constexpr unsigned kShiftBits = 60;
  static constexpr double kSmudgingSigma = 1099511627776.0;  // 2^40

  ml::StatisticsLayout layout() const;
  std::size_t ciphertexts() const;  // per contribution
  /// The CKKS context of `params`, built once by create_session / decode (its
  /// NTT tables are not rebuilt for every file and step).
  const std::shared_ptr<const ckks::Context>& context() const;
  core::Digest hash() const;
  void validate() const;  // ParameterError
  core::Bytes encode() const;
  static PartySession decode(std::span<const std::uint8_t> envelope, const std::string& context);
  void save(const std::filesystem::path& path) const;
  static PartySession load(const std::filesystem::path& path);

 private:
  friend PartySession create_session(const PartySessionOptions& options);
  std::shared_ptr<const ckks::Context> context_;
};

struct PartySessionOptions {
  std::uint32_t parties = 3;
  chem::RepresentationKind representation = chem::RepresentationKind::Cmbdf;
  std::vector<int> elements;                // ascending Z
  std::vector<std::size_t> feature_counts;  // per element (sum = D)
  double sigma = 0;
  std::uint64_t feature_seed = 42;
  ml::RandomFeatureKind feature_kind = ml::RandomFeatureKind::Orthogonal;
  std::vector<std::string> targets, units;
  std::vector<ml::DeltaSource> delta;
  std::vector<double> lambdas;  // empty: 1e-12 .. 1e-1 by decades
  PrivacyBudget privacy;
  Eigen::MatrixXd label_offset;  // elements x targets, or empty (zero)
  std::string description;
};

/// A new session (fresh id and common reference seed from the OS CSPRNG).
PartySession create_session(const PartySessionOptions& options);

/// Party `index` (1..k): its secret share (to keep) and public share (to publish).
struct PartySecret {
  core::Digest session{};
  std::uint32_t index = 0;
  ckks::SecretKey key;
  void save(const std::filesystem::path& path, const PartySession& session) const;  // mode 0600
  /// The file's bytes, checked against `session` (FormatError naming `context`).
  static PartySecret decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                            const std::string& context);
  static PartySecret load(const std::filesystem::path& path, const PartySession& session);
};
struct PartyPublicShare {
  core::Digest session{};
  std::uint32_t index = 0;
  ckks::PublicKey key;
  void save(const std::filesystem::path& path, const PartySession& session) const;
  /// The file's bytes, checked against `session` (FormatError naming `context`).
  static PartyPublicShare decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                                 const std::string& context);
  static PartyPublicShare load(const std::filesystem::path& path, const PartySession& session);
};
std::pair<PartySecret, PartyPublicShare> party_keygen(const PartySession& session,
                                                      std::uint32_t index);

/// The joint public key: one share of every party 1..k, else ParameterError naming what is missing.
ckks::PublicKey joint_public_key(const PartySession& session,
                                 std::span<const PartyPublicShare> shares);

struct Contribution {
  core::Digest session{};
  core::Digest joint_key{};  // BLAKE2b of the joint public key's b
  std::uint32_t index = 0;
  std::vector<ckks::Ciphertext> ciphertexts;
  void save(const std::filesystem::path& path, const PartySession& session) const;
  /// The file's bytes, checked against `session` (FormatError naming `context`).
  static Contribution decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                             const std::string& context);
  static Contribution load(const std::filesystem::path& path, const PartySession& session);
};

/// The statistics of `molecules` (labels − Δ, clipped and bounded under DP),
/// plus this party's DP noise share when the session asks for it, quantized.
std::vector<math::i128> party_statistics(const PartySession& session,
                                         const std::vector<chem::Molecule>& molecules);
/// Encrypts party_statistics under the joint key.
Contribution contribute(const PartySession& session, const ckks::PublicKey& joint_key,
                        std::uint32_t index, const std::vector<chem::Molecule>& molecules);

struct Aggregate {
  core::Digest session{};
  core::Digest joint_key{};
  std::uint32_t parties = 0;
  std::vector<ckks::Ciphertext> ciphertexts;
  core::Digest digest(const PartySession& session) const;  // binds decryption shares to it
  void save(const std::filesystem::path& path, const PartySession& session) const;
  /// The file's bytes, checked against `session` (FormatError naming `context`).
  static Aggregate decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                          const std::string& context);
  static Aggregate load(const std::filesystem::path& path, const PartySession& session);
};
/// The sum of one contribution per party (all k, same joint key), else ParameterError.
Aggregate aggregate(const PartySession& session, std::span<const Contribution> contributions);

struct PartyDecryption {
  core::Digest session{};
  core::Digest aggregate{};
  std::uint32_t index = 0;
  std::vector<ckks::DecryptionShare> shares;  // one per aggregate ciphertext
  void save(const std::filesystem::path& path, const PartySession& session) const;
  /// The file's bytes, checked against `session` (FormatError naming `context`).
  static PartyDecryption decode(std::span<const std::uint8_t> bytes, const PartySession& session,
                                const std::string& context);
  static PartyDecryption load(const std::filesystem::path& path, const PartySession& session);
};
PartyDecryption decrypt_share(const PartySession& session, const Aggregate& aggregate,
                              const PartySecret& secret);

struct JointFit {
  ml::Model model;
  ml::StatisticsFit fit;
};
/// Decrypts the aggregate with every party's share (ParameterError when one is
/// missing or repeated, FormatError when one is corrupt) and fits the model.
JointFit finish(const PartySession& session, const Aggregate& aggregate,
                std::span<const PartyDecryption> shares);

/// The model of a fit: the session's representation, map, targets, units and
/// Δ baseline with the fitted baseline, weights and lambda.
ml::Model model_from_fit(const PartySession& session, const ml::StatisticsFit& fit);

}  // namespace encmol::secure
