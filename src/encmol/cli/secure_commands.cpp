// The double-blind prediction commands (DESIGN.md §3):
//   model owner:  encmol card     --model M -o card
//   client:       encmol keygen   --card C --secret-key K --eval-keys E
//   client:       encmol encrypt  --card C --key K MOLECULES... -o query
//   model owner:  encmol evaluate --model M --eval-keys E --query Q -o result
//   client:       encmol decrypt  --key K --result R [--molecules MOLECULES...] [-o out.csv]
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "encmol/cli/commands.hpp"
#include "encmol/cli/secure_report.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/secure/roles.hpp"

namespace encmol::cli {
namespace {

std::uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto s = std::filesystem::file_size(path, ec);
  return ec ? 0 : s;
}

// ------------------------------------------------------------------ card

struct CardArgs {
  std::string model, output;
  double tolerance = 0.0;
  double relative_tolerance = 1e-4;
  std::uint32_t max_batch = 0;
  int min_flood_bits = secure::PlanOptions{}.min_flood_bits;
  bool json = false;
};

void run_card(const CardArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const ml::Model model = ml::Model::load(a.model);
  secure::PlanOptions o;
  o.tolerance = a.tolerance;
  o.relative_tolerance = a.relative_tolerance;
  o.max_batch = a.max_batch;
  o.min_flood_bits = a.min_flood_bits;
  Stopwatch w;
  const secure::ModelCard card = secure::ModelCard::from_model(model, o);
  card.save(a.output);
  spdlog::info("compiled the plan in {:.2f} s; wrote model card {} ({} bytes)", w.seconds(),
               a.output, file_size_or_zero(a.output));
  if (a.json) {
    auto j = plan_json(card);
    j["card_file"] = a.output;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "model card " << a.output << " (no weights, no training data)\n"
              << card.plan.describe();
  }
}

// ------------------------------------------------------------------ keygen

struct KeygenArgs {
  std::string card, secret_key, eval_keys;
  bool json = false;
};

void run_keygen(const KeygenArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const secure::ModelCard card = secure::ModelCard::load(a.card);
  Stopwatch w;
  secure::Client client(card);
  const secure::EvalKeys keys = client.make_eval_keys();
  client.save_secret_key(a.secret_key);
  keys.save(a.eval_keys, *client.context());
  const double s = w.seconds();
  const auto sk = file_size_or_zero(a.secret_key), ek = file_size_or_zero(a.eval_keys);
  if (a.json) {
    nlohmann::json j;
    j["secret_key_file"] = a.secret_key;
    j["eval_keys_file"] = a.eval_keys;
    j["secret_key_bytes"] = sk;
    j["eval_keys_bytes"] = ek;
    j["galois_keys"] = card.plan.galois_steps.size();
    j["seconds"] = s;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << fmt::format(
        "secret key {} ({}; keep it private)\nevaluation keys {} ({}: relinearization + {} "
        "Galois keys + public key; send to the model owner once)\n({:.1f} s)\n",
        a.secret_key, human_bytes(static_cast<double>(sk)), a.eval_keys,
        human_bytes(static_cast<double>(ek)), card.plan.galois_steps.size(), s);
  }
}

// ------------------------------------------------------------------ encrypt

struct EncryptArgs {
  std::string card, key, output;
  std::vector<std::string> inputs;
  std::uint64_t embedding_seed = 42;
  bool json = false;
};

void run_encrypt(const EncryptArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const secure::Client client = secure::Client::load(a.key);
  if (!a.card.empty()) {
    const secure::ModelCard card = secure::ModelCard::load(a.card);
    if (card.plan_hash() != client.card().plan_hash())
      throw InputError(a.key + " was made for another model card than " + a.card +
                       ": run encmol keygen with this card");
  }
  chem::ReadOptions ro;
  ro.seed = a.embedding_seed;
  const auto molecules = load_molecules(a.inputs, ro);
  Stopwatch w;
  const secure::Query q = client.encrypt(molecules);
  q.save(a.output, *client.context());
  const double s = w.seconds();
  const auto bytes = file_size_or_zero(a.output);
  if (a.json) {
    nlohmann::json j;
    j["query_file"] = a.output;
    j["molecules"] = molecules.size();
    j["ciphertexts"] = q.ciphertexts.size();
    j["bytes"] = bytes;
    j["seconds"] = s;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << fmt::format("encrypted {} molecule(s) in {} ciphertext(s): {} ({}, {:.2f} s)\n",
                             molecules.size(), q.ciphertexts.size(), a.output,
                             human_bytes(static_cast<double>(bytes)), s);
  }
}

// ------------------------------------------------------------------ evaluate

struct EvaluateArgs {
  std::string model, eval_keys, query, output, budget_state;
  std::optional<std::uint64_t> query_budget;  // default: 4 x training molecules
  double cache_gib = 0.25;  // atomic plans fit (~0.1 GiB); kernel plans keep only coefficients
  bool json = false;
};

void run_evaluate(const EvaluateArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const ml::Model model = ml::Model::load(a.model);
  const core::Bytes key_bytes = core::read_file_bytes(a.eval_keys, secure::EvalKeys::kMaxFileBytes);
  const secure::EvalKeys header = secure::EvalKeys::peek(key_bytes, a.eval_keys);
  secure::ServerOptions so;
  // Default from the extraction figures (docs/privacy.md): below what a surrogate or an exact solve
  // needs.
  so.query_budget = a.query_budget.value_or(secure::default_query_budget(model));
  so.budget_state = a.budget_state;
  so.plaintext_cache_bytes = static_cast<std::uint64_t>(a.cache_gib * 1073741824.0);
  Stopwatch setup;
  secure::Server server(model, header, so);
  const secure::EvalKeys keys = secure::EvalKeys::decode(key_bytes, *server.context(), a.eval_keys);
  const secure::Query query =
      secure::Query::load(a.query, *server.context(), server.plan().queries);
  const double setup_s = setup.seconds();
  const secure::Result result = server.evaluate(query, keys);
  result.save(a.output, *server.context());
  const auto bytes = file_size_or_zero(a.output);
  const double per = result.server_seconds / static_cast<double>(query.molecules);
  if (a.json) {
    nlohmann::json j;
    j["result_file"] = a.output;
    j["molecules"] = query.molecules;
    j["ciphertexts"] = query.ciphertexts.size();
    j["setup_seconds"] = setup_s;
    j["evaluate_seconds"] = result.server_seconds;
    j["seconds_per_molecule"] = per;
    j["bytes"] = bytes;
    j["budget_used"] = server.used_budget(keys.key_id);
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << fmt::format(
        "evaluated {} molecule(s) ({} ciphertext(s)) in {:.2f} s ({:.3f} s per molecule, setup "
        "{:.2f} s): {} ({})\n",
        query.molecules, query.ciphertexts.size(), result.server_seconds, per, setup_s, a.output,
        human_bytes(static_cast<double>(bytes)));
  }
}

// ------------------------------------------------------------------ decrypt

struct DecryptArgs {
  std::string key, result, output = "-";
  std::vector<std::string> molecules;
  std::uint64_t embedding_seed = 42;
  bool json = false;
};

void run_decrypt(const DecryptArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  const secure::Client client = secure::Client::load(a.key);
  const secure::Result result =
      secure::Result::load(a.result, *client.context(), client.card().plan.queries);
  std::vector<chem::Molecule> molecules;
  if (!a.molecules.empty()) {
    chem::ReadOptions ro;
    ro.seed = a.embedding_seed;
    molecules = load_molecules(a.molecules, ro);
  } else if (client.card().delta.active()) {
    throw InputError(
        "decrypt: the model card's predictions are corrections to an xTB baseline the client "
        "computes "
        "itself; give the query's molecules with --molecules (the same files, in the same order)");
  }
  const secure::Predictions p = client.decrypt(result, molecules);
  write_output(a.output, a.json ? predictions_json(client.card(), p).dump(2) + "\n"
                                : predictions_csv(client.card(), p));
  if (a.output != "-") spdlog::info("wrote {}", a.output);
}

}  // namespace

void add_secure_commands(CLI::App& app, GlobalOptions& global) {
  {
    auto a = std::make_shared<CardArgs>();
    auto* cmd =
        app.add_subcommand("card",
                           "Model owner: publish a model card (encrypted evaluation plan; no "
                           "weights, no training data)");
    cmd->add_option("-m,--model", a->model, "Model file (from encmol train)")->required();
    cmd->add_option("-o,--output", a->output, "Model card file to write")->required();
    cmd->add_option("--tolerance", a->tolerance,
                    "Largest |encrypted - plain| accepted, in the targets' units (default: "
                    "--relative-tolerance)");
    cmd->add_option(
           "--relative-tolerance", a->relative_tolerance,
           "Tolerance as a fraction of each target's label spread (used without --tolerance)")
        ->capture_default_str();
    cmd->add_option("--max-batch", a->max_batch, "Molecules per ciphertext (0 = as many as fit)")
        ->capture_default_str();
    add_min_flood_bits_option(*cmd, a->min_flood_bits);
    cmd->add_flag("--json", a->json, "Print the plan as JSON");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_card(*a, global); });
  }
  {
    auto a = std::make_shared<KeygenArgs>();
    auto* cmd = app.add_subcommand(
        "keygen", "Client: create a secret key and the evaluation keys for a model card");
    cmd->add_option("-c,--card", a->card, "Model card (from encmol card)")->required();
    cmd->add_option("--secret-key", a->secret_key, "Secret key file to write (keep it private)")
        ->required();
    cmd->add_option("--eval-keys", a->eval_keys,
                    "Evaluation-key file to write (for the model owner)")
        ->required();
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_keygen(*a, global); });
  }
  {
    auto a = std::make_shared<EncryptArgs>();
    auto* cmd = app.add_subcommand(
        "encrypt", "Client: featurize molecules locally and encrypt them into a query");
    cmd->add_option("-c,--card", a->card, "Model card (checked against the key's card)");
    cmd->add_option("-k,--key", a->key, "Secret key file (from encmol keygen)")->required();
    cmd->add_option("inputs", a->inputs, "Molecule files or directories")->required();
    cmd->add_option("-o,--output", a->output, "Query file to write")->required();
    cmd->add_option("--embedding-seed", a->embedding_seed,
                    "Seed of the 3-D embedding of SMILES input")
        ->capture_default_str();
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_encrypt(*a, global); });
  }
  {
    auto a = std::make_shared<EvaluateArgs>();
    auto* cmd =
        app.add_subcommand("evaluate", "Model owner: evaluate the model on an encrypted query");
    cmd->add_option("-m,--model", a->model, "Model file")->required();
    cmd->add_option("--eval-keys", a->eval_keys, "The client's evaluation keys")->required();
    cmd->add_option("--query", a->query, "Query file (from encmol encrypt)")->required();
    cmd->add_option("-o,--output", a->output, "Result file to write")->required();
    cmd->add_option(
        "--query-budget", a->query_budget,
        "Molecules one client key may have evaluated, counted across runs in --budget-state "
        "(default: 4 x the model's training molecules for kernel models, a quarter of the "
        "polynomial's "
        "coefficients for atomic models, see docs/privacy.md; 0 = unlimited)");
    cmd->add_option("--budget-state", a->budget_state,
                    "JSON file of molecules evaluated per client key");
    cmd->add_option("--cache-gib", a->cache_gib,
                    "Keep the encoded model diagonals when they fit this many GiB (faster for "
                    "queries of many "
                    "ciphertexts; ~0.1 GiB for atomic plans at N = 2^14, ~1.2 GiB for kernel plans "
                    "at N = 2^15)")
        ->capture_default_str();
    cmd->add_flag("--json", a->json, "Print a JSON summary");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_evaluate(*a, global); });
  }
  {
    auto a = std::make_shared<DecryptArgs>();
    auto* cmd =
        app.add_subcommand("decrypt", "Client: decrypt a result into predictions (CSV or JSON)");
    cmd->add_option("-k,--key", a->key, "Secret key file")->required();
    cmd->add_option("-r,--result", a->result, "Result file (from encmol evaluate)")->required();
    cmd->add_option("-o,--output", a->output, "Output file; - = stdout")->capture_default_str();
    cmd->add_option("-i,--molecules", a->molecules,
                    "The query's molecule files (needed when the card names an xTB baseline: the "
                    "client adds it "
                    "after decrypting; it never leaves this machine)");
    cmd->add_option("--embedding-seed", a->embedding_seed,
                    "Seed of the 3-D embedding of SMILES input")
        ->capture_default_str();
    cmd->add_flag("--json", a->json, "Write JSON instead of CSV");
    add_global_options(*cmd, global);
    cmd->callback([a, &global] { run_decrypt(*a, global); });
  }
}

}  // namespace encmol::cli
