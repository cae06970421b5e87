// `encmol party init|keygen|contribute|aggregate|decrypt-share|finish`: k data
// owners train one random-feature model together under threshold CKKS
// (secure/multiparty.hpp; docs/multiparty.md walks through it).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "encmol/chem/elements.hpp"
#include "encmol/cli/commands.hpp"
#include "encmol/cli/model_options.hpp"
#include "encmol/cli/secure_report.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/multiparty.hpp"

namespace encmol::cli {
namespace {

std::uintmax_t size_of(const std::string& path) {
  std::error_code ec;
  const auto s = std::filesystem::file_size(path, ec);
  return ec ? 0 : s;
}

void print(bool json, const nlohmann::json& j, const std::string& text) {
  if (json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << text << "\n";
  }
}

struct InitArgs {
  std::string output;
  std::uint32_t parties = 3;
  std::vector<std::string> targets, units, delta, elements, lambdas, like;
  std::string representation = "cmbdf";
  std::size_t features = 2048;
  double sigma = 0;
  std::uint64_t feature_seed = 42;
  double dp_epsilon = 0, dp_delta = 1e-5, dp_label_bound = 0;
  std::uint32_t dp_max_atoms = 0;
  std::string description;
  bool json = false;
};

void run_init(const InitArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  secure::PartySessionOptions o;
  o.parties = a.parties;
  o.representation = chem::parse_representation_kind(a.representation);
  o.targets = split_list(a.targets);
  o.units = split_list(a.units);
  for (const auto& d : split_list(a.delta)) o.delta.push_back(ml::parse_delta_source(d));
  o.lambdas = parse_numbers(a.lambdas, "--lambda", true);
  o.feature_seed = a.feature_seed;
  o.sigma = a.sigma;
  o.privacy = {a.dp_epsilon, a.dp_epsilon > 0 ? a.dp_delta : 0.0, a.dp_label_bound, a.dp_max_atoms};
  o.description = a.description;
  if (a.features < 1 || a.features > ml::kMaxRandomFeatures)
    throw InputError("--features must lie in 1..65536");
  std::set<int> elements;
  for (const auto& s : split_list(a.elements))
    elements.insert(chem::atomic_number(s, "--elements"));
  // Public reference molecules: the element set, the feature allocation and (without --sigma) a
  // cross-validated sigma. Only those leave the initiator; the molecules themselves stay.
  std::map<int, std::size_t> atoms;
  std::vector<chem::Molecule> like_molecules;
  if (!a.like.empty()) {
    chem::ReadOptions ro;
    const auto like = load_molecules(a.like, ro);
    for (const auto& m : like) {
      for (int z : m.charges) ++atoms[z];
    }
    for (const auto& [z, count] : atoms) elements.insert(z);
    like_molecules = like;
    if (o.sigma == 0) {
      ml::TrainOptions t;
      t.family = ml::ModelFamily::RandomFeatures;
      t.representation = o.representation;
      t.feature_counts = {a.features};
      t.targets = o.targets;
      t.units = o.units.empty() ? std::vector<std::string>(o.targets.size()) : o.units;
      t.delta = o.delta;
      spdlog::info("choosing sigma by cross-validation on {} reference molecules", like.size());
      const auto result = ml::train(like, t);
      o.sigma = result.sigma;
    }
  }
  if (elements.empty())
    throw InputError("party init: give --like reference molecules or --elements");
  if (o.sigma == 0)
    throw InputError(
        "party init: give --sigma, or --like labelled reference molecules to choose it");
  o.elements.assign(elements.begin(), elements.end());
  std::vector<std::size_t> counts;
  for (int z : o.elements) counts.push_back(atoms.count(z) ? atoms[z] : 1);
  o.feature_counts = ml::allocate_features(a.features, counts);
  if (!like_molecules.empty()) {
    // Per-element reference energies of the reference molecules (public, E numbers per target).
    const auto delta = ml::DeltaBaseline::make(
        o.delta, o.units.empty() ? std::vector<std::string>(o.targets.size()) : o.units,
        o.targets.size());
    Eigen::MatrixXd labels = ml::label_matrix(like_molecules, o.targets);
    if (delta.active()) labels -= delta.evaluate(like_molecules);
    o.label_offset = ml::Baseline::fit(ml::element_count_matrix(like_molecules, o.elements),
                                       o.elements, labels, true)
                         .coefficients;
  }
  const secure::PartySession session = secure::create_session(o);
  session.save(a.output);
  nlohmann::json j{{"session_file", a.output},
                   {"parties", session.parties},
                   {"features", session.map.feature_count()},
                   {"sigma", session.map.sigma},
                   {"statistics", session.layout().values()},
                   {"ciphertexts_per_contribution", session.ciphertexts()},
                   {"dp_sigma", session.privacy.sigma(session.targets.size())}};
  print(a.json, j,
        fmt::format(
            "session {} for {} parties: {} random features of {} (sigma {}), {} statistics in {} "
            "ciphertexts per party{}",
            a.output, session.parties, session.map.feature_count(), a.representation,
            format_number(session.map.sigma), session.layout().values(), session.ciphertexts(),
            session.privacy.active() ? fmt::format("; DP noise std {:.4g}",
                                                   session.privacy.sigma(session.targets.size()))
                                     : ""));
}

struct KeygenArgs {
  std::string session, secret, share;
  std::uint32_t party = 0;
};

void run_keygen(const KeygenArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const auto session = secure::PartySession::load(a.session);
  auto [secret, share] = secure::party_keygen(session, a.party);
  secret.save(a.secret, session);
  share.save(a.share, session);
  std::cout << fmt::format(
      "party {}: secret key share {} (keep it private), public share {} ({})\n", a.party, a.secret,
      a.share, human_bytes(static_cast<double>(size_of(a.share))));
}

struct ContributeArgs {
  std::string session, output;
  std::uint32_t party = 0;
  std::string shares;
  std::vector<std::string> inputs;
  std::uint64_t embedding_seed = 42;
  bool json = false;
};

void run_contribute(const ContributeArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const auto session = secure::PartySession::load(a.session);
  std::vector<secure::PartyPublicShare> shares;
  for (const auto& path : split_list({a.shares}))
    shares.push_back(secure::PartyPublicShare::load(path, session));
  const ckks::PublicKey joint = secure::joint_public_key(session, shares);
  chem::ReadOptions ro;
  ro.seed = a.embedding_seed;
  const auto molecules = load_molecules(a.inputs, ro);
  Stopwatch w;
  secure::contribute(session, joint, a.party, molecules).save(a.output, session);
  const double s = w.seconds();
  const auto bytes = size_of(a.output);
  print(a.json,
        {{"contribution_file", a.output},
         {"molecules", molecules.size()},
         {"bytes", bytes},
         {"seconds", s}},
        fmt::format("party {}: statistics of {} molecules, encrypted: {} ({}, {:.1f} s)", a.party,
                    molecules.size(), a.output, human_bytes(static_cast<double>(bytes)), s));
}

struct AggregateArgs {
  std::string session, output;
  std::vector<std::string> inputs;
  bool json = false;
};

void run_aggregate(const AggregateArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const auto session = secure::PartySession::load(a.session);
  std::vector<secure::Contribution> contributions;
  for (const auto& path : a.inputs)
    contributions.push_back(secure::Contribution::load(path, session));
  Stopwatch w;
  secure::aggregate(session, contributions).save(a.output, session);
  const double s = w.seconds();
  print(a.json, {{"aggregate_file", a.output}, {"bytes", size_of(a.output)}, {"seconds", s}},
        fmt::format("summed {} contributions: {} ({:.1f} s)", contributions.size(), a.output, s));
}

struct DecryptShareArgs {
  std::string session, secret, aggregate, output;
  bool json = false;
};

void run_decrypt_share(const DecryptShareArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const auto session = secure::PartySession::load(a.session);
  const auto secret = secure::PartySecret::load(a.secret, session);
  const auto sum = secure::Aggregate::load(a.aggregate, session);
  Stopwatch w;
  secure::decrypt_share(session, sum, secret).save(a.output, session);
  const double s = w.seconds();
  print(a.json, {{"share_file", a.output}, {"bytes", size_of(a.output)}, {"seconds", s}},
        fmt::format("party {}: decryption share {} ({}, {:.1f} s)", secret.index, a.output,
                    human_bytes(static_cast<double>(size_of(a.output))), s));
}

struct FinishArgs {
  std::string session, aggregate, output;
  std::vector<std::string> shares;
  bool json = false;
};

void run_finish(const FinishArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const auto session = secure::PartySession::load(a.session);
  const auto sum = secure::Aggregate::load(a.aggregate, session);
  std::vector<secure::PartyDecryption> shares;
  for (const auto& path : a.shares) shares.push_back(secure::PartyDecryption::load(path, session));
  Stopwatch w;
  const secure::JointFit joint = secure::finish(session, sum, shares);
  joint.model.save(a.output);
  const double s = w.seconds();
  nlohmann::json grid = nlohmann::json::array();
  for (std::size_t i = 0; i < joint.fit.grid_lambdas.size(); ++i) {
    grid.push_back({{"lambda", joint.fit.grid_lambdas[i]}, {"gcv", joint.fit.grid_scores[i]}});
  }
  print(a.json,
        {{"model_file", a.output},
         {"molecules", joint.fit.molecules},
         {"lambda", joint.fit.lambda},
         {"gcv", grid},
         {"seconds", s}},
        fmt::format("jointly trained on {} molecules of {} parties: lambda {} (generalized "
                    "cross-validation); "
                    "model {} ({:.1f} s)",
                    joint.fit.molecules, session.parties, format_number(joint.fit.lambda), a.output,
                    s));
}

}  // namespace

void add_party_command(CLI::App& app, GlobalOptions& global) {
  auto* party = app.add_subcommand(
      "party",
      "Several data owners train one model together under threshold CKKS (docs/multiparty.md)");
  party->require_subcommand(1);
  {
    auto a = std::make_shared<InitArgs>();
    auto* cmd = party->add_subcommand(
        "init", "Create a session: parties, CKKS parameters, the shared model recipe");
    cmd->add_option("-o,--output", a->output, "Session file to write (send it to every party)")
        ->required();
    cmd->add_option("--parties", a->parties, "Number of parties (all are needed to decrypt)")
        ->capture_default_str();
    cmd->add_option("-t,--target", a->targets, "Properties to learn, comma separated")->required();
    cmd->add_option("--units", a->units, "Units of the targets");
    cmd->add_option("--delta", a->delta,
                    "Δ-learning baseline every party computes itself: xtb, xtb-gap, xtb-dipole");
    cmd->add_option("-r,--representation", a->representation,
                    "Atomic representation: cmbdf, fchl19, fchl19+cmbdf")
        ->capture_default_str();
    cmd->add_option("--features", a->features,
                    "Random features D (each party sends ~D^2/2 encrypted sums)")
        ->capture_default_str();
    cmd->add_option("--sigma", a->sigma,
                    "Kernel width of the random features (default: cross-validated on --like)");
    cmd->add_option(
        "--like", a->like,
        "Reference molecules (public, or the initiator's own): element set, feature allocation "
        "and, "
        "without --sigma, the cross-validated sigma; only these settings go into the session");
    cmd->add_option("--elements", a->elements,
                    "Elements the model covers (symbols, comma separated)");
    cmd->add_option("--lambda", a->lambdas,
                    "Ridge lambdas; finish picks one by generalized cross-validation");
    cmd->add_option("--feature-seed", a->feature_seed, "Seed of the random frequencies")
        ->capture_default_str();
    cmd->add_option("--dp-epsilon", a->dp_epsilon,
                    "Differential privacy of the decrypted sums: epsilon in (0, 1] (0 = off)");
    cmd->add_option("--dp-delta", a->dp_delta, "DP delta")->capture_default_str();
    cmd->add_option("--dp-label-bound", a->dp_label_bound,
                    "DP: labels (minus the Δ baseline) are clipped to +-this");
    cmd->add_option("--dp-max-atoms", a->dp_max_atoms, "DP: molecules with more atoms are refused");
    cmd->add_option("--description", a->description, "Free text stored in the session");
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_init(*a, global); });
  }
  {
    auto a = std::make_shared<KeygenArgs>();
    auto* cmd = party->add_subcommand("keygen", "A party's secret key share and public key share");
    cmd->add_option("-s,--session", a->session, "Session file")->required();
    cmd->add_option("-p,--party", a->party, "This party's number, 1..k")->required();
    cmd->add_option("--secret-key", a->secret, "Secret key share to write (keep it private)")
        ->required();
    cmd->add_option("--public-share", a->share,
                    "Public key share to write (send it to every party)")
        ->required();
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_keygen(*a, global); });
  }
  {
    auto a = std::make_shared<ContributeArgs>();
    auto* cmd =
        party->add_subcommand("contribute", "Encrypt this party's statistics under the joint key");
    cmd->add_option("-s,--session", a->session, "Session file")->required();
    cmd->add_option("-p,--party", a->party, "This party's number, 1..k")->required();
    // One comma-separated value, so the molecule files after it are not taken as shares.
    cmd->add_option("--public-shares", a->shares, "Every party's public key share, comma separated")
        ->required();
    cmd->add_option("inputs", a->inputs, "This party's labelled molecule files")->required();
    cmd->add_option("-o,--output", a->output, "Contribution file to write (for the aggregator)")
        ->required();
    cmd->add_option("--embedding-seed", a->embedding_seed,
                    "Seed of the 3-D embedding of SMILES input")
        ->capture_default_str();
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_contribute(*a, global); });
  }
  {
    auto a = std::make_shared<AggregateArgs>();
    auto* cmd = party->add_subcommand("aggregate",
                                      "Add every party's contribution (sees only ciphertexts)");
    cmd->add_option("-s,--session", a->session, "Session file")->required();
    cmd->add_option("inputs", a->inputs, "One contribution per party")->required();
    cmd->add_option("-o,--output", a->output, "Aggregate file to write (send it to every party)")
        ->required();
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_aggregate(*a, global); });
  }
  {
    auto a = std::make_shared<DecryptShareArgs>();
    auto* cmd = party->add_subcommand(
        "decrypt-share", "This party's share of the joint decryption of the aggregate");
    cmd->add_option("-s,--session", a->session, "Session file")->required();
    cmd->add_option("--secret-key", a->secret, "This party's secret key share")->required();
    cmd->add_option("--aggregate", a->aggregate, "Aggregate file")->required();
    cmd->add_option("-o,--output", a->output, "Decryption share to write")->required();
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_decrypt_share(*a, global); });
  }
  {
    auto a = std::make_shared<FinishArgs>();
    auto* cmd = party->add_subcommand(
        "finish", "Decrypt the sums with every party's share and fit the model");
    cmd->add_option("-s,--session", a->session, "Session file")->required();
    cmd->add_option("--aggregate", a->aggregate, "Aggregate file")->required();
    cmd->add_option("shares", a->shares, "Every party's decryption share")->required();
    cmd->add_option("-o,--output", a->output, "Model file to write (encmol predict / card read it)")
        ->required();
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_finish(*a, global); });
  }
}

}  // namespace encmol::cli
