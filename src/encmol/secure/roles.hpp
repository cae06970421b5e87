// The two parties of a double-blind prediction and the files they exchange
// (DESIGN.md §1, §3, §6). Every file is a core envelope (versioned, BLAKE2b
// checksummed, written atomically) whose CKKS objects are ckks/serialization
// payloads; everything is validated on load and errors name the file.
//
//   kind  file                  written by  holds
//   CARD  model card            server      plan (packing, CKKS parameters, error budget),
//   representation
//                                           spec, target names and units. No weights, no training
//                                           data (only n, d, the largest training norm and the
//                                           kernel's hyper-parameters, which the plan needs).
//   SKEY  client secret key     client      the card (so decrypt needs nothing else), key id,
//   secret key EVKS  evaluation keys       client      plan hash + plan options, key id, public
//   key, relinearization key and
//                                           exactly the plan's Galois keys
//   QURY  query                 client      plan hash, key id, molecule count, sealed names,
//   ciphertexts RSLT  result                server      plan hash, key id, molecule count, sealed
//   names (echoed),
//                                           masked + flooded ciphertexts
//
// Key id = BLAKE2b-256 of the serialized public key. The server refuses a
// query whose key id differs from the evaluation keys' (FormatError: "query
// was encrypted under key X, the evaluation keys are for key Y"), and a query
// or key bundle made for another card (plan hash mismatch). The client refuses
// a result for another key.
//
// Model privacy: the reply's slots other than the predictions are exactly 0
// before flooding (a 0/1 mask), and the reply's c0 gets a discrete Gaussian of
// std plan.flood_sigma (2^flood_bits x the reply's coefficient noise bound),
// drawn from the OS CSPRNG, so that the decrypted error term is
// statistically close to a distribution independent of the model: per
// coefficient KL <= 2^(-2 flood_bits) / 2, so over the N coefficients the
// statistical distance is <= sqrt(N) 2^-flood_bits / 2 (Pinsker). The plan
// takes the most bits its tolerance allows (plan.flood_bits, in the card);
// at tolerances near the CKKS noise that is only a few bits, i.e. the flood
// hides the noise's magnitude but is not a 2^-40 statistical guarantee.
// Query budget: Server counts evaluated molecules per key id and refuses
// (SecurityError) beyond its budget; the count lives in the Server object and,
// with a state file, across processes (the CLI's --budget-state).
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ckks/context.hpp"
#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/secure/budget_state.hpp"
#include "encmol/secure/plan.hpp"

namespace encmol::secure {

class AtomicEvaluator;
class FeatureEvaluator;

inline constexpr core::Kind kCardKind = core::make_kind("CARD");
inline constexpr core::Kind kSecretKeyKind = core::make_kind("SKEY");
inline constexpr core::Kind kEvalKeysKind = core::make_kind("EVKS");
inline constexpr core::Kind kQueryKind = core::make_kind("QURY");
inline constexpr core::Kind kResultKind = core::make_kind("RSLT");
inline constexpr std::uint32_t kSecureFormatVersion = 1;
/// Cards are at version 2 (+ the client-side Δ baseline and the atom projection); version 1 cards
/// are read.
inline constexpr std::uint32_t kCardFormatVersion = 2;

/// What the model owner publishes.
struct ModelCard {
  Plan plan;
  chem::RepresentationSpec representation;
  std::vector<std::string> targets;
  std::vector<std::string> units;
  std::string description;  // free text (model name, data set)
  /// The baseline the client computes itself (xTB) and adds after decrypting; the server never sees
  /// it.
  ml::DeltaBaseline delta;
  /// Atomic plans: the per-element projection the client applies to its atoms' vectors before
  /// encrypting (fitted on training atoms without labels; public like the representation).
  ml::AtomicPca projection;
  /// Atomic plans: the frame the client standardizes its (projected) atoms in (ml/atom_frame.hpp).
  ml::AtomFrame frame;
  /// Feature plans: the random-feature map the client computes its molecule's features with (public
  /// features).
  std::optional<ml::RandomFeatureMap> feature_map;

  static ModelCard from_model(const ml::Model& model, const PlanOptions& options = {});
  core::Bytes encode() const;  // sealed envelope
  static ModelCard decode(std::span<const std::uint8_t> envelope, const std::string& context);
  void save(const std::filesystem::path& path) const;
  static ModelCard load(const std::filesystem::path& path);
  core::Digest plan_hash() const { return plan.hash(); }
};

/// Evaluation keys the client sends the server once.
struct EvalKeys {
  core::Digest plan_hash{};
  PlanOptions
      options;  // the card's plan options: the server recompiles the plan from its model with them
  core::Digest key_id{};
  ckks::PublicKey public_key;
  ckks::RelinKey relin;
  ckks::GaloisKeys galois;

  core::Bytes encode(const ckks::Context& ctx) const;
  static EvalKeys decode(std::span<const std::uint8_t> envelope, const ckks::Context& ctx,
                         const std::string& context);
  void save(const std::filesystem::path& path, const ckks::Context& ctx) const;
  static EvalKeys load(const std::filesystem::path& path, const ckks::Context& ctx);
  /// Validates the envelope and returns plan hash and options only (the server
  /// needs them to build the context the keys are decoded with).
  static EvalKeys peek(std::span<const std::uint8_t> envelope, const std::string& context);
  /// Largest evaluation-key file read.
  static constexpr std::uint64_t kMaxFileBytes = std::uint64_t{16} << 30;
};

struct Query {
  core::Digest plan_hash{};
  core::Digest key_id{};
  std::size_t molecules = 0;
  // The molecule names, encrypted and authenticated by the client (XSalsa20-Poly1305 under a key
  // derived from its secret key): the server only echoes them into the result, so file names never
  // leak.
  core::Bytes sealed_names;
  std::vector<ckks::Ciphertext> ciphertexts;  // ceil(molecules / plan.queries)

  core::Bytes encode(const ckks::Context& ctx) const;
  static Query decode(std::span<const std::uint8_t> envelope, const ckks::Context& ctx,
                      std::size_t queries_per_ct, const std::string& context);
  void save(const std::filesystem::path& path, const ckks::Context& ctx) const;
  static Query load(const std::filesystem::path& path, const ckks::Context& ctx,
                    std::size_t queries_per_ct);
};

struct Result {
  core::Digest plan_hash{};
  core::Digest key_id{};
  std::size_t molecules = 0;
  core::Bytes sealed_names;  // echoed from the query
  std::vector<ckks::Ciphertext> ciphertexts;
  double server_seconds = 0;  // evaluation time (informational)

  core::Bytes encode(const ckks::Context& ctx) const;
  static Result decode(std::span<const std::uint8_t> envelope, const ckks::Context& ctx,
                       std::size_t queries_per_ct, const std::string& context);
  void save(const std::filesystem::path& path, const ckks::Context& ctx) const;
  static Result load(const std::filesystem::path& path, const ckks::Context& ctx,
                     std::size_t queries_per_ct);
};

/// Predictions decrypted by the client.
struct Predictions {
  std::vector<std::string> names;
  Eigen::MatrixXd
      values;  // molecules x targets, rounded to each target's rounding_step (+ the Δ baseline)
  Eigen::MatrixXd raw;  // unrounded model part (never to be shown to the other party)
};

class Client {
 public:
  /// A client with a fresh secret key.
  explicit Client(ModelCard card);
  /// A client with a saved secret key (SKEY file): the card comes from the file.
  static Client load(const std::filesystem::path& secret_key_file);
  /// The same from the file's bytes (FormatError naming `name`).
  static Client decode(std::span<const std::uint8_t> file, const std::string& name);
  /// Largest secret key file read (it holds a card, a public and a secret key).
  static constexpr std::uint64_t kMaxSecretKeyFileBytes = std::uint64_t{1} << 30;

  const ModelCard& card() const { return card_; }
  const std::shared_ptr<const ckks::Context>& context() const { return ctx_; }
  const core::Digest& key_id() const { return key_id_; }
  /// Relinearization + the plan's Galois keys + public key.
  EvalKeys make_eval_keys() const;
  /// Secret key file (contains the card).
  void save_secret_key(const std::filesystem::path& path) const;

  /// Featurizes with the card's representation (InputError for molecules the
  /// card cannot hold or that lie outside the plan's interval) and encrypts,
  /// `plan.queries` molecules per ciphertext (secret-key encryption: the
  /// uniform half travels as a seed).
  Query encrypt(const std::vector<chem::Molecule>& molecules) const;
  /// The query vectors xh (plan.period values each) encrypt() packs, one per molecule.
  std::vector<std::vector<double>> query_vectors(
      const std::vector<chem::Molecule>& molecules) const;
  /// Encrypts a raw slot vector (what encrypt() builds with he::matvec_input_layout). A client can
  /// put anything there; the server must not depend on the layout being honest (tests send hostile
  /// ones).
  ckks::Ciphertext encrypt_slots(std::span<const double> slots) const;
  /// Decrypts, multiplies by W and rounds to each target's rounding_step.
  /// FormatError when the result is for another key or card. With a Δ
  /// baseline in the card, `molecules` (the query's, in order) give the
  /// client's own baseline, added after rounding (InputError when missing or
  /// of another count).
  Predictions decrypt(const Result& result,
                      const std::vector<chem::Molecule>& molecules = {}) const;
  /// The same with the Δ baseline already computed (card().delta.evaluate of the query's molecules:
  /// molecules x targets; ignored without a Δ baseline in the card).
  Predictions decrypt_with_baseline(const Result& result, const Eigen::MatrixXd& baseline) const;
  /// All slots of one reply ciphertext, scaled back to target units (tests: masked slots ~ 0).
  std::vector<double> decrypt_slots(const ckks::Ciphertext& ct) const;

 private:
  Client(ModelCard card, ckks::SecretKey sk);
  /// FormatError unless the result is for this card and key and its counts agree.
  void check_result(const Result& result) const;
  ModelCard card_;
  std::shared_ptr<const ckks::Context> ctx_;
  std::shared_ptr<const ckks::Encoder> encoder_;
  std::unique_ptr<ckks::KeyGenerator> keygen_;
  ckks::PublicKey public_key_;
  core::Digest key_id_{};
};

struct ServerOptions {
  /// Molecules one key id may have evaluated (0 = unlimited). Kernel models
  /// can be reconstructed from about n (d + 2) answers (DESIGN.md §1): set it
  /// well below that for clients that are not trusted.
  std::uint64_t query_budget = 0;
  /// When set, per-key counts are read from and written to this file (JSON).
  std::filesystem::path budget_state;
  /// Keep the encoded matrix diagonals (no NTTs per query; C x (L+1) x N x 8 bytes, ~1.2 GB at N =
  /// 2^15, C = 512, L = 8) when they fit this many bytes, else only their coefficients (C x N x 8
  /// bytes; the matrix-vector product then takes ~2.4x longer). 0 (default): always coefficients,
  /// which suits a process that evaluates one query (building the cache costs about one product's
  /// NTTs).
  std::uint64_t plaintext_cache_bytes = 0;
};

class Server {
 public:
  Server(const ml::Model& model, const PlanOptions& options, ServerOptions server_options = {});
  /// For a card: the server's plan must be the card's (same model, same options).
  Server(const ml::Model& model, const ModelCard& card, ServerOptions server_options = {});
  /// For a client's evaluation keys: the plan compiled with the keys' options must have the keys'
  /// plan hash.
  Server(const ml::Model& model, const EvalKeys& keys, ServerOptions server_options = {});
  ~Server();
  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;

  const Plan& plan() const { return plan_; }
  const ModelCard& card() const { return card_; }
  const std::shared_ptr<const ckks::Context>& context() const { return ctx_; }

  /// Checks the bundle belongs to this card. FormatError otherwise.
  void check_keys(const EvalKeys& keys) const;
  /// Evaluates every ciphertext of the query. FormatError when the query is for
  /// another card or another key than `keys`; SecurityError past the budget.
  Result evaluate(const Query& query, const EvalKeys& keys);
  /// The same checks and evaluation without the budget (the service charges its own, per identity,
  /// in its database). Safe to call from several threads at once.
  Result answer(const Query& query, const EvalKeys& keys) const;
  /// The reply (masked and flooded) to one query ciphertext; no key-id or budget
  /// checks (benchmarks).
  /// One query ciphertext; results are kept for its first `live_queries` packed molecules only.
  ckks::Ciphertext evaluate_one(const ckks::Ciphertext& query, const EvalKeys& keys,
                                std::size_t live_queries,
                                const ckks::Encryptor& rerandomizer) const;

  std::uint64_t used_budget(const core::Digest& key_id) const;

 private:
  void setup(const ml::Model& model);
  void setup_kernel(const ml::Model& model);
  void open_budget_state();
  /// The kernel circuit up to re-randomization and flooding (plan.hpp).
  ckks::Ciphertext evaluate_kernel(const ckks::Ciphertext& query, const EvalKeys& keys,
                                   std::size_t live_queries) const;
  void flood(ckks::Ciphertext& ct) const;
  Plan plan_;
  ModelCard card_;
  ServerOptions options_;
  std::shared_ptr<const ckks::Context> ctx_;
  std::shared_ptr<const ckks::Encoder> encoder_;
  std::unique_ptr<ckks::Evaluator> ev_;
  std::unique_ptr<he::MatVecOperator> op_;
  std::unique_ptr<AtomicEvaluator> atomic_;     // atomic plans
  std::unique_ptr<FeatureEvaluator> features_;  // feature plans
  he::ExpApproximation approx_;
  he::ChebyshevPoly monomial_;
  std::vector<std::vector<double>> weights_;   // per target: slot layout of alpha / W
  std::vector<std::vector<double>> baseline_;  // per target: slot layout of the baseline / W
  std::vector<double> mask_;
  he::ReplicationLayout layout_;
  std::unique_ptr<core::FileLock>
      budget_lock_;                        // held while this server owns the budget state file
  std::vector<double> layout_keep_;        // per position of the period (enforce_replication)
  std::vector<double> constant_column_;    // matrix column of the constant slot, at the row slots
  std::vector<std::vector<double>> mean_;  // per target: mean / W at each query's result slot
  BudgetUsage used_;
};

/// Element counts of a molecule for the plan's count_elements.
std::vector<double> element_counts(const Plan& plan, const chem::Molecule& molecule);

}  // namespace encmol::secure
