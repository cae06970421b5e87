// The multi-party protocol's computations (multiparty.hpp); the files are in
// multiparty_files.cpp.
#include "encmol/secure/multiparty.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/baseline.hpp"

namespace encmol::secure {
namespace {

using math::i128;

core::Digest key_digest(const ckks::PublicKey& key) {
  return core::blake2b_256(
      std::span(reinterpret_cast<const std::uint8_t*>(key.b.data()), key.b.size() * 8));
}

void check_index(const PartySession& session, std::uint32_t index) {
  if (index < 1 || index > session.parties) {
    throw InputError("party " + std::to_string(index) + " is not one of the session's parties 1.." +
                     std::to_string(session.parties));
  }
}

// One item per party 1..k, each once; `what` names the items in errors.
template <class T>
void check_complete(const PartySession& session, std::span<const T> items, const char* what) {
  std::set<std::uint32_t> seen;
  for (const auto& item : items) {
    if (item.session != session.id) throw ParameterError(std::string(what) + " of another session");
    check_index(session, item.index);
    if (!seen.insert(item.index).second) {
      throw ParameterError("two " + std::string(what) + "s of party " + std::to_string(item.index));
    }
  }
  if (seen.size() != session.parties) {
    std::string missing;
    for (std::uint32_t i = 1; i <= session.parties; ++i) {
      if (!seen.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    }
    throw ParameterError(
        "missing " + std::string(what) + " of part" +
        (missing.find(',') == std::string::npos ? "y " : "ies ") + missing + ": every one of the " +
        std::to_string(session.parties) +
        " parties is needed (k-of-k threshold; a party that drops out stops the protocol)");
  }
}

// Largest |noise| of a decrypted aggregate: every party's smudging (a discrete
// Gaussian cut at 6 sigma) plus the fresh encryption noise (far below 2^30).
std::uint64_t noise_bound(const PartySession& session) {
  return static_cast<std::uint64_t>(session.parties) *
             static_cast<std::uint64_t>(7.0 * PartySession::kSmudgingSigma) +
         (std::uint64_t{1} << 30);
}

}  // namespace

double PrivacyBudget::sensitivity(std::size_t targets) const {
  const double a = static_cast<double>(max_atoms);
  return 2.0 * (3.0 * a * a + 1.0 + static_cast<double>(targets) * label_bound * label_bound);
}

double PrivacyBudget::sigma(std::size_t targets) const {
  if (!active()) return 0.0;
  return sensitivity(targets) * std::sqrt(2.0 * std::log(1.25 / delta)) / epsilon;
}

ml::StatisticsLayout PartySession::layout() const {
  return {map.feature_count(), representation.elements().size(), targets.size()};
}

std::size_t PartySession::ciphertexts() const {
  const std::size_t n = std::size_t{1} << params.log_n;
  return (layout().values() + n - 1) / n;
}

PartySession create_session(const PartySessionOptions& o) {
  PartySession s;
  s.id = core::blake2b_256(math::random_seed());
  s.parties = o.parties;
  s.params = ckks::Parameters::from_bit_sizes(14, {60, 60, 60}, {60}, 3, 40);
  s.crs = math::random_seed();
  if (o.elements.empty()) throw InputError("party init: no elements");
  // A spec of the atomic kind over exactly these elements (capacities are irrelevant to atom
  // vectors).
  std::vector<chem::Molecule> atoms;
  for (int z : o.elements) atoms.push_back({"element", {z}, {{0.0, 0.0, 0.0}}, {}});
  s.representation = chem::RepresentationSpec::fit(o.representation, atoms);
  if (!s.representation.is_atomic()) {
    throw InputError("party init: the representation must be atomic (cmbdf, fchl19, fchl19+cmbdf)");
  }
  s.map.kind = o.feature_kind;
  s.map.sigma = o.sigma;
  s.map.seed = o.feature_seed;
  s.map.input_dimension = s.representation.atom_dimension();
  s.map.elements = s.representation.elements();
  s.map.counts = o.feature_counts;
  std::size_t features = 0;
  for (std::size_t c : o.feature_counts) features += c;
  if (features * s.map.input_dimension > (std::size_t{1} << 20)) {
    throw ParameterError("the session's feature map is too large: " + std::to_string(features) +
                         " features of " + std::to_string(s.map.input_dimension) +
                         " values (at most 2^20 values)");
  }
  s.map.generate();
  s.targets = o.targets;
  s.units = o.units.empty() ? std::vector<std::string>(o.targets.size()) : o.units;
  s.delta = ml::DeltaBaseline::make(o.delta, s.units, s.targets.size());
  s.lambdas = o.lambdas.empty() ? std::vector<double>{1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7,
                                                      1e-6,  1e-5,  1e-4,  1e-3, 1e-2, 1e-1}
                                : o.lambdas;
  s.privacy = o.privacy;
  s.label_offset = o.label_offset.size()
                       ? o.label_offset
                       : Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(o.elements.size()),
                                               static_cast<Eigen::Index>(o.targets.size()));
  s.description = o.description;
  s.validate();
  s.context_ = ckks::Context::create(s.params);
  return s;
}

const std::shared_ptr<const ckks::Context>& PartySession::context() const {
  if (!context_ || context_->hash() != params.hash()) {
    throw ParameterError("a multi-party session is made by create_session or read from its file");
  }
  return context_;
}

void PartySession::validate() const {
  if (parties < 1 || parties > kMaxParties) {
    throw ParameterError("a session has 1.." + std::to_string(kMaxParties) + " parties, not " +
                         std::to_string(parties));
  }
  if (targets.empty()) throw ParameterError("a session needs at least one target");
  if (units.size() != targets.size()) throw ParameterError("a session needs one unit per target");
  if (!(map.sigma > 0) || !std::isfinite(map.sigma))
    throw ParameterError("the feature map's sigma must be > 0");
  if (map.elements != representation.elements())
    throw ParameterError("the feature map's elements differ from the representation's");
  map.validate();
  delta.validate(targets.size());
  if (lambdas.empty()) throw ParameterError("a session needs a lambda grid");
  for (double l : lambdas) {
    if (!(l > 0) || !std::isfinite(l)) throw ParameterError("lambdas must be finite and > 0");
  }
  if (privacy.active()) {
    if (!(privacy.epsilon > 0 && privacy.epsilon <= 1))
      throw ParameterError("DP epsilon must lie in (0, 1]");
    if (!(privacy.delta > 0 && privacy.delta < 0.1))
      throw ParameterError("DP delta must lie in (0, 0.1)");
    if (!(privacy.label_bound > 0) || !std::isfinite(privacy.label_bound))
      throw ParameterError("DP needs a label bound > 0");
    if (privacy.max_atoms < 1 || privacy.max_atoms > chem::kMaxAtomsPerMolecule)
      throw ParameterError("DP needs max_atoms >= 1");
  }
  if (label_offset.rows() != static_cast<Eigen::Index>(representation.elements().size()) ||
      label_offset.cols() != static_cast<Eigen::Index>(targets.size()) ||
      !label_offset.allFinite()) {
    throw ParameterError("the label offset must be a finite elements x targets matrix");
  }
  if (map.feature_count() * map.projected_dimension() > (std::size_t{1} << 20)) {
    throw ParameterError("the session's feature map is too large (at most 2^20 frequency values)");
  }
  if (layout().values() > (std::size_t{1} << 28))
    throw ParameterError("the session's statistics are too large");
}

std::pair<PartySecret, PartyPublicShare> party_keygen(const PartySession& session,
                                                      std::uint32_t index) {
  check_index(session, index);
  const auto ctx = session.context();
  PartySecret secret{session.id, index, ckks::KeyGenerator(ctx).secret_key()};
  PartyPublicShare share{session.id, index, ckks::public_key_share(*ctx, secret.key, session.crs)};
  return {std::move(secret), std::move(share)};
}

ckks::PublicKey joint_public_key(const PartySession& session,
                                 std::span<const PartyPublicShare> shares) {
  check_complete(session, shares, "public key share");
  const auto ctx = session.context();
  std::vector<ckks::PublicKey> keys;
  for (const auto& s : shares) keys.push_back(s.key);
  return ckks::combine_public_key_shares(*ctx, keys);
}

std::vector<i128> party_statistics(const PartySession& session,
                                   const std::vector<chem::Molecule>& molecules) {
  if (molecules.empty()) throw InputError("party contribute: no molecules");
  const PrivacyBudget& dp = session.privacy;
  if (dp.active()) {
    for (const auto& m : molecules) {
      if (m.size() > dp.max_atoms) {
        throw InputError("molecule '" + m.name + "' has " + std::to_string(m.size()) +
                         " atoms; the session's privacy "
                         "budget bounds molecules to " +
                         std::to_string(dp.max_atoms));
      }
    }
  }
  const chem::AtomicFeatures atoms = session.representation.featurize_atoms(molecules);
  const Eigen::MatrixXd phi = session.map.features(atoms);
  const Eigen::MatrixXd counts =
      ml::element_count_matrix(molecules, session.representation.elements());
  Eigen::MatrixXd labels = ml::label_matrix(molecules, session.targets);
  if (session.delta.active()) labels -= session.delta.evaluate(molecules);
  labels -= counts * session.label_offset;
  if (dp.active()) labels = labels.cwiseMax(-dp.label_bound).cwiseMin(dp.label_bound);
  const std::vector<double> upper = ml::ridge_statistics(phi, counts, labels);
  std::vector<i128> out(upper.size());
  for (std::size_t j = 0; j < upper.size(); ++j) {
    // Fixed point 2^-48 (exact power-of-two scaling, then one rounding). The
    // bound keeps k sums far below the coefficient modulus.
    const double scaled =
        std::nearbyint(std::ldexp(upper[j], static_cast<int>(PartySession::kFractionBits)));
    if (!(std::abs(scaled) < 0x1p100)) {
      throw InputError(
          "party contribute: a statistic is not finite or too large (labels of order 1e9 or "
          "more?)");
    }
    out[j] = static_cast<i128>(scaled);
  }
  if (dp.active()) {
    // This party's share of the noise, a discrete Gaussian on the grid 2^-b with sigma 2^b <= 2^40.
    const double sigma =
        dp.sigma(session.targets.size()) / std::sqrt(static_cast<double>(session.parties));
    const int b = std::min(40 - static_cast<int>(std::ceil(std::log2(sigma))),
                           static_cast<int>(PartySession::kFractionBits));
    std::vector<std::int64_t> noise(out.size());
    math::Prng prng(math::random_seed());
    math::sample_gaussian(prng, std::ldexp(sigma, b), noise.data(), noise.size());
    // The molecule count (the constant column's own entry) stays exact: replace-one neighbours keep
    // it.
    const ml::StatisticsLayout layout = session.layout();
    const std::size_t one = layout.features + layout.elements;
    const std::size_t count_entry =
        one * layout.columns() - one * (one - 1) / 2;  // row-major upper index of (one, one)
    for (std::size_t j = 0; j < out.size(); ++j) {
      if (j == count_entry) continue;
      out[j] += static_cast<i128>(noise[j]) << (static_cast<int>(PartySession::kFractionBits) - b);
    }
  }
  return out;
}

Contribution contribute(const PartySession& session, const ckks::PublicKey& joint_key,
                        std::uint32_t index, const std::vector<chem::Molecule>& molecules) {
  check_index(session, index);
  const auto ctx = session.context();
  const std::vector<i128> values = party_statistics(session, molecules);
  const ckks::Encryptor encryptor(ctx, joint_key);
  Contribution c{session.id, key_digest(joint_key), index, {}};
  const std::size_t n = ctx->n();
  for (std::size_t begin = 0; begin < values.size(); begin += n) {
    const std::size_t count = std::min(n, values.size() - begin);
    c.ciphertexts.push_back(
        encryptor.encrypt(ckks::encode_integers(*ctx, std::span(values).subspan(begin, count),
                                                PartySession::kShiftBits, ctx->max_level())));
  }
  return c;
}

Aggregate aggregate(const PartySession& session, std::span<const Contribution> contributions) {
  check_complete(session, contributions, "contribution");
  const auto ctx = session.context();
  const ckks::Evaluator evaluator(ctx);
  Aggregate a{session.id, contributions.front().joint_key, session.parties, {}};
  for (const auto& c : contributions) {
    if (c.joint_key != a.joint_key) {
      throw ParameterError(
          "contribution of party " + std::to_string(c.index) +
          " is encrypted under another joint key (its parties combined other public shares)");
    }
    if (c.ciphertexts.size() != session.ciphertexts()) {
      throw ParameterError("contribution of party " + std::to_string(c.index) +
                           " has the wrong number of ciphertexts");
    }
  }
  a.ciphertexts = contributions.front().ciphertexts;
  for (std::size_t p = 1; p < contributions.size(); ++p) {
    for (std::size_t i = 0; i < a.ciphertexts.size(); ++i) {
      a.ciphertexts[i] = evaluator.add(a.ciphertexts[i], contributions[p].ciphertexts[i]);
    }
  }
  return a;
}

PartyDecryption decrypt_share(const PartySession& session, const Aggregate& aggregate,
                              const PartySecret& secret) {
  if (secret.session != session.id || aggregate.session != session.id) {
    throw ParameterError("the secret share or the aggregate belongs to another session");
  }
  const auto ctx = session.context();
  PartyDecryption d{session.id, aggregate.digest(session), secret.index, {}};
  for (const auto& ct : aggregate.ciphertexts) {
    d.shares.push_back(ckks::partial_decrypt(*ctx, ct, secret.key, PartySession::kSmudgingSigma));
  }
  return d;
}

JointFit finish(const PartySession& session, const Aggregate& aggregate,
                std::span<const PartyDecryption> shares) {
  check_complete(session, shares, "decryption share");
  const core::Digest digest = aggregate.digest(session);
  for (const auto& s : shares) {
    if (s.aggregate != digest) {
      throw ParameterError("the decryption share of party " + std::to_string(s.index) +
                           " is for another aggregate");
    }
    if (s.shares.size() != aggregate.ciphertexts.size()) {
      throw ParameterError("the decryption share of party " + std::to_string(s.index) +
                           " has the wrong size");
    }
  }
  const auto ctx = session.context();
  const std::size_t values = session.layout().values();
  std::vector<double> upper;
  upper.reserve(values);
  for (std::size_t i = 0; i < aggregate.ciphertexts.size(); ++i) {
    std::vector<ckks::DecryptionShare> parts;
    for (const auto& s : shares) parts.push_back(s.shares[i]);
    const ckks::Plaintext pt =
        ckks::combine_decryption_shares(*ctx, aggregate.ciphertexts[i], parts);
    const std::size_t count = std::min(ctx->n(), values - upper.size());
    for (i128 v :
         ckks::decode_integers(*ctx, pt, PartySession::kShiftBits, count, noise_bound(session))) {
      upper.push_back(
          std::ldexp(static_cast<double>(v), -static_cast<int>(PartySession::kFractionBits)));
    }
  }
  JointFit out;
  out.fit =
      ml::fit_from_statistics(ml::statistics_matrix(upper, session.layout()), session.layout(),
                              session.representation.elements(), session.lambdas);
  out.model = model_from_fit(session, out.fit);
  return out;
}

ml::Model model_from_fit(const PartySession& session, const ml::StatisticsFit& fit) {
  ml::Model model;
  model.representation = session.representation;
  model.targets = session.targets;
  model.units = session.units;
  model.baseline = fit.baseline;
  model.baseline.coefficients += session.label_offset;
  model.baseline.delta = session.delta;
  model.label_scale = fit.label_scale;
  model.info.dataset = "multiparty session " + core::to_hex(std::span(session.id.data(), 8)) +
                       " (" + std::to_string(session.parties) + " parties)";
  model.info.encmol_version = ENCMOL_VERSION;
  model.info.training_size = static_cast<std::uint64_t>(std::llround(fit.molecules));
  ml::RandomFeatureModel body;
  body.map = session.map;
  body.lambda = fit.lambda;
  body.weights = fit.weights;
  model.body = std::move(body);
  model.validate();
  return model;
}

}  // namespace encmol::secure
