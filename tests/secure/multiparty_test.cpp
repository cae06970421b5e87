// Training together under threshold CKKS (secure/multiparty.hpp): three
// parties on disjoint parts of QM7 get the pooled model, every file round
// trips, and missing, foreign or corrupt pieces stop the protocol.
#include "encmol/secure/multiparty.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/random_feature_training.hpp"

namespace encmol::secure {
namespace {

namespace fs = std::filesystem;

const std::vector<chem::Molecule>& qm7() {
  static const auto all = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
  return all;
}

std::vector<chem::Molecule> slice(std::size_t begin, std::size_t end) {
  return {qm7().begin() + static_cast<std::ptrdiff_t>(begin),
          qm7().begin() + static_cast<std::ptrdiff_t>(end)};
}

PartySessionOptions options(std::uint32_t parties) {
  PartySessionOptions o;
  o.parties = parties;
  o.elements = {1, 6, 7, 8, 16};
  o.feature_counts = {64, 64, 32, 32, 8};
  o.sigma = 4.0;
  o.targets = {"ae_pbe0"};
  o.units = {"kcal/mol"};
  o.delta = {ml::DeltaSource::XtbEnergy};
  return o;
}

// Runs the whole protocol in memory on `data[i]` for party i + 1.
JointFit run(const PartySession& session, const std::vector<std::vector<chem::Molecule>>& data) {
  std::vector<PartySecret> secrets;
  std::vector<PartyPublicShare> publics;
  for (std::uint32_t i = 1; i <= session.parties; ++i) {
    auto [secret, share] = party_keygen(session, i);
    secrets.push_back(std::move(secret));
    publics.push_back(std::move(share));
  }
  const ckks::PublicKey joint = joint_public_key(session, publics);
  std::vector<Contribution> contributions;
  for (std::uint32_t i = 1; i <= session.parties; ++i)
    contributions.push_back(contribute(session, joint, i, data[i - 1]));
  const Aggregate sum = aggregate(session, contributions);
  std::vector<PartyDecryption> shares;
  for (const auto& s : secrets) shares.push_back(decrypt_share(session, sum, s));
  return finish(session, sum, shares);
}

TEST(Multiparty, ThreePartiesGetThePooledModel) {
  const PartySession session = create_session(options(3));
  const std::vector<std::vector<chem::Molecule>> data{slice(0, 150), slice(150, 300),
                                                      slice(300, 450)};
  const JointFit joint = run(session, data);
  const auto pooled = slice(0, 450);
  // The same fit on the pooled statistics, in the clear.
  const auto atoms = session.representation.featurize_atoms(pooled);
  const Eigen::MatrixXd phi = session.map.features(atoms);
  const Eigen::MatrixXd counts =
      ml::element_count_matrix(pooled, session.representation.elements());
  const Eigen::MatrixXd labels =
      ml::label_matrix(pooled, session.targets) - session.delta.evaluate(pooled);
  const auto clear = ml::fit_from_statistics(
      ml::statistics_matrix(ml::ridge_statistics(phi, counts, labels), session.layout()),
      session.layout(), session.representation.elements(), session.lambdas);
  EXPECT_EQ(joint.fit.molecules, 450.0);
  EXPECT_EQ(joint.fit.lambda, clear.lambda);
  EXPECT_LT((joint.fit.weights - clear.weights).norm(), 1e-6 * clear.weights.norm());
  // And the same model as encmol's random-feature training on the pooled molecules with this map
  // and lambda.
  ml::RandomFeatureSearch search;
  search.sigmas = {session.map.sigma};
  search.lambdas = {joint.fit.lambda};
  const auto reference =
      ml::fit_random_features(atoms, labels, counts, session.representation.elements(), true,
                              joint.fit.label_scale, session.map, search);
  const auto held_out = slice(1000, 1100);
  const Eigen::MatrixXd got = joint.model.predict(held_out);
  const auto held_atoms = session.representation.featurize_atoms(held_out);
  const Eigen::MatrixXd want = reference.model.predict(held_atoms) +
                               reference.baseline.evaluate(ml::element_count_matrix(
                                   held_out, session.representation.elements())) +
                               session.delta.evaluate(held_out);
  EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-6);  // kcal/mol
  const double mae = (got - ml::label_matrix(held_out, session.targets)).cwiseAbs().mean();
  EXPECT_LT(mae, 10.0);  // a model, not noise (Δ-xTB on 450 molecules)
}

TEST(Multiparty, FilesRoundTripAndBindToTheirSession) {
  const fs::path dir =
      fs::temp_directory_path() / ("encmol_multiparty_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const PartySession session = create_session(options(2));
  session.save(dir / "s");
  const PartySession loaded = PartySession::load(dir / "s");
  EXPECT_EQ(loaded.hash(), session.hash());
  auto [s1, p1] = party_keygen(session, 1);
  auto [s2, p2] = party_keygen(session, 2);
  s1.save(dir / "k1", session);
  p1.save(dir / "p1", session);
  EXPECT_EQ((fs::status(dir / "k1").permissions() & fs::perms::others_read), fs::perms::none);
  const PartySecret s1b = PartySecret::load(dir / "k1", session);
  const PartyPublicShare p1b = PartyPublicShare::load(dir / "p1", session);
  const std::vector<PartyPublicShare> publics{p1b, p2};
  const ckks::PublicKey joint = joint_public_key(session, publics);
  contribute(session, joint, 1, slice(0, 40)).save(dir / "c1", session);
  const std::vector<Contribution> contributions{Contribution::load(dir / "c1", session),
                                                contribute(session, joint, 2, slice(40, 80))};
  aggregate(session, contributions).save(dir / "a", session);
  const Aggregate sum = Aggregate::load(dir / "a", session);
  decrypt_share(session, sum, s1b).save(dir / "d1", session);
  const std::vector<PartyDecryption> shares{PartyDecryption::load(dir / "d1", session),
                                            decrypt_share(session, sum, s2)};
  EXPECT_EQ(finish(session, sum, shares).fit.molecules, 80.0);
  // Every file names its session: another session's loader refuses it.
  const PartySession other = create_session(options(2));
  EXPECT_THROW(Contribution::load(dir / "c1", other), FormatError);
  EXPECT_THROW(PartySecret::load(dir / "k1", other), FormatError);
  // A flipped byte is caught by the envelope.
  auto bytes = core::read_file_bytes(dir / "a", 1 << 30);
  bytes[bytes.size() / 2] ^= 1;
  core::write_file_atomic(dir / "a2", bytes);
  EXPECT_THROW(Aggregate::load(dir / "a2", session), FormatError);
  fs::remove_all(dir);
}

TEST(Multiparty, MissingDuplicateOrCorruptPiecesStopTheProtocol) {
  const PartySession session = create_session(options(3));
  std::vector<PartySecret> secrets;
  std::vector<PartyPublicShare> publics;
  for (std::uint32_t i = 1; i <= 3; ++i) {
    auto [s, p] = party_keygen(session, i);
    secrets.push_back(std::move(s));
    publics.push_back(std::move(p));
  }
  const std::vector<PartyPublicShare> two{publics[0], publics[2]};
  try {
    joint_public_key(session, two);
    FAIL() << "two of three public shares made a key";
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("missing public key share of party 2"), std::string::npos)
        << e.what();
  }
  const ckks::PublicKey joint = joint_public_key(session, publics);
  std::vector<Contribution> contributions;
  for (std::uint32_t i = 1; i <= 3; ++i)
    contributions.push_back(contribute(session, joint, i, slice(i * 30, i * 30 + 30)));
  auto duplicate = contributions;
  duplicate[2] = duplicate[1];
  EXPECT_THROW(aggregate(session, duplicate), ParameterError);
  const Aggregate sum = aggregate(session, contributions);
  std::vector<PartyDecryption> shares;
  for (const auto& s : secrets) shares.push_back(decrypt_share(session, sum, s));
  auto withheld = shares;
  withheld.pop_back();
  EXPECT_THROW(finish(session, sum, withheld), ParameterError);
  auto corrupt = shares;
  corrupt[1].shares[0].data[99] ^= 0x10;
  EXPECT_THROW(finish(session, sum, corrupt), FormatError);
  // A share computed with a key that is not the party's.
  auto foreign = shares;
  PartySecret impostor = party_keygen(session, 2).first;
  foreign[1] = decrypt_share(session, sum, impostor);
  EXPECT_THROW(finish(session, sum, foreign), FormatError);
  EXPECT_THROW(contribute(session, joint, 4, slice(0, 10)), InputError);
}

TEST(Multiparty, DifferentialPrivacyNoiseHasTheStatedScale) {
  PartySessionOptions o = options(2);
  o.privacy = {1.0, 1e-5, 50.0, 23};
  const PartySession session = create_session(o);
  const auto mols = slice(0, 60);
  const auto noisy = party_statistics(session, mols);
  PartySession plain = session;
  plain.privacy = {};
  const auto exact = party_statistics(plain, mols);
  // Labels are clipped under DP, so compare the feature block only (its values are unclipped).
  double sum = 0, square = 0;
  std::size_t count = 0;
  const std::size_t d = session.map.feature_count();
  for (std::size_t k = 0, i = 0; i < d; ++i) {
    for (std::size_t j = i; j < session.layout().columns(); ++j, ++k) {
      if (j >= d) continue;
      const double diff = std::ldexp(static_cast<double>(noisy[k] - exact[k]), -48);
      sum += diff;
      square += diff * diff;
      ++count;
    }
  }
  const double sd = std::sqrt(square / static_cast<double>(count) - (sum / count) * (sum / count));
  const double want = session.privacy.sigma(1) / std::sqrt(2.0);  // this party's share
  EXPECT_NEAR(sd / want, 1.0, 0.05);
}

// Regression (secure_files_fuzz): a 763-byte session asked for a feature map of 2^26 frequency
// values, which took seconds to regenerate before anything else was checked.
TEST(Multiparty, OversizedFeatureMapsAreRefusedBeforeTheyAreGenerated) {
  PartySessionOptions o = options(2);
  o.feature_counts = {60000, 5000, 1, 1, 1};  // far more statistics than a session may hold
  EXPECT_THROW(create_session(o), ParameterError);
  const auto bytes = core::read_file_bytes(
      fs::path(ENCMOL_SOURCE_DIR) / "fuzz" / "regressions" / "secure_files_fuzz" / "session_huge_map", 1 << 20);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(PartySession::decode(core::seal_envelope(kPartySessionKind, kPartyFormatVersion,
                                                        std::span(bytes).subspan(2)),
                                    "hostile session"),
               FormatError);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
}

}  // namespace
}  // namespace encmol::secure
