// encmol query: the client of `encmol serve` (docs/service.md).
//   encmol query --server HOST:PORT --ca CA.pem (--token-file F | --cert C --key K)
//                --secret-key ME.key MOLECULES... [-o predictions.csv]
// Fetches the card, makes the secret key when ME.key does not exist yet,
// uploads the evaluation keys when the server lacks them, encrypts in
// batches, decrypts, rounds and writes the predictions. Nothing but
// ciphertexts and the key id leaves this machine.
#include <grpcpp/support/status_code_enum.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "encmol/cli/commands.hpp"
#include "encmol/cli/progress.hpp"
#include "encmol/cli/secure_report.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/secure/wire.hpp"
#include "encmol/service/remote_client.hpp"

namespace encmol::cli {
namespace {

struct QueryArgs {
  std::string server, ca, token, token_file, cert, key, server_name, model, secret_key;
  std::string output = "-";
  std::vector<std::string> inputs;
  std::size_t batch = 0;
  std::uint64_t embedding_seed = 42;
  unsigned attempts = 6;
  bool json = false;
};

std::string token_of(const QueryArgs& a) {
  if (!a.token.empty()) {
    spdlog::warn(
        "--token is visible to other users in process listings; prefer --token-file "
        "or ENCMOL_TOKEN");
    return a.token;
  }
  if (!a.token_file.empty()) {
    std::string t = core::read_file_text(a.token_file, 4096);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) throw InputError("--token-file " + a.token_file + " is empty");
    return t;
  }
  if (const char* env = std::getenv("ENCMOL_TOKEN"); env != nullptr && *env != '\0') return env;
  return {};
}

secure::Client client_for(const service::RemoteModel& model, const std::string& path) {
  if (std::filesystem::exists(path)) {
    secure::Client client = secure::Client::load(path);
    if (client.card().plan_hash() != model.card.plan_hash())
      throw InputError("the secret key " + path + " was made for another card of model '" +
                       model.name + "' (the server now serves plan " +
                       secure::wire::short_hex(model.card.plan_hash()) +
                       "): give a new --secret-key path");
    return client;
  }
  secure::Client client(model.card);
  client.save_secret_key(path);
  spdlog::info("made a new secret key {} for model '{}' (keep it private)", path, model.name);
  return client;
}

secure::Predictions concatenate(std::vector<secure::Predictions> parts) {
  secure::Predictions all;
  Eigen::Index rows = 0, cols = 0;
  for (const auto& p : parts) {
    rows += p.values.rows();
    cols = p.values.cols();
  }
  all.values.resize(rows, cols);
  all.raw.resize(rows, cols);
  Eigen::Index at = 0;
  for (auto& p : parts) {
    all.values.middleRows(at, p.values.rows()) = p.values;
    all.raw.middleRows(at, p.raw.rows()) = p.raw;
    at += p.values.rows();
    all.names.insert(all.names.end(), p.names.begin(), p.names.end());
  }
  return all;
}

void run_query(const QueryArgs& a, const GlobalOptions& global) {
  apply_global_options(global);
  service::RemoteOptions ro;
  ro.address = a.server;
  ro.tls.ca = a.ca;
  ro.tls.certificate = a.cert;
  ro.tls.private_key = a.key;
  ro.tls.server_name = a.server_name;
  ro.token = token_of(a);
  ro.max_attempts = std::max(1u, a.attempts);
  chem::ReadOptions read;
  read.seed = a.embedding_seed;
  const auto molecules = load_molecules(a.inputs, read);
  if (molecules.empty()) throw InputError("no molecules to query");

  service::RemoteClient remote(ro);
  const service::RemoteModel model = remote.model(a.model);
  const secure::Client client = client_for(model, a.secret_key);
  Progress progress(Progress::detect_mode(global.quiet));
  // Uploads the evaluation keys when the server (or the replica answering)
  // does not hold them: before the first query, and again if it lost them.
  const auto ensure_keys = [&] {
    if (remote.has_keys(model, client.key_id())) return;
    const core::Bytes keys = client.make_eval_keys().encode(*client.context());
    spdlog::info("uploading the evaluation keys ({:.1f} MB, once per key)", keys.size() / 1e6);
    remote.upload_keys(model, client.key_id(), keys, [&](std::uint64_t sent, std::uint64_t total) {
      progress.update("upload keys", static_cast<double>(sent) / static_cast<double>(total));
    });
  };
  ensure_keys();
  const std::size_t per_ct = model.card.plan.queries;
  const std::size_t batch =
      a.batch > 0 ? a.batch
                  : per_ct * std::max<std::size_t>(1, 64 / std::max<std::size_t>(1, per_ct));
  std::vector<secure::Predictions> parts;
  service::RemoteBudget budget;
  double server_seconds = 0;
  for (std::size_t begin = 0; begin < molecules.size(); begin += batch) {
    const std::size_t end = std::min(molecules.size(), begin + batch);
    const std::vector<chem::Molecule> part(molecules.begin() + static_cast<std::ptrdiff_t>(begin),
                                           molecules.begin() + static_cast<std::ptrdiff_t>(end));
    const secure::Query query = client.encrypt(part);
    const std::string request_id = service::new_request_id();
    service::RemoteAnswer answer;
    try {
      answer = remote.evaluate(model, client, query, request_id);
    } catch (const service::ServiceError& e) {
      if (e.code() != static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION) ||
          remote.has_keys(model, client.key_id()))
        throw;
      ensure_keys();
      answer = remote.evaluate(model, client, query, request_id);
    }
    parts.push_back(client.decrypt(answer.result, part));
    budget = answer.budget;
    server_seconds += answer.server_seconds;
    progress.update("query", static_cast<double>(end) / static_cast<double>(molecules.size()));
  }
  progress.finish();
  const secure::Predictions p = concatenate(std::move(parts));
  write_output(a.output, a.json ? predictions_json(client.card(), p).dump(2) + "\n"
                                : predictions_csv(client.card(), p));
  if (budget.limit > 0)
    spdlog::info("{} molecule(s) answered ({:.2f} s on the server); budget: {} of {} used",
                 molecules.size(), server_seconds, budget.used, budget.limit);
  else
    spdlog::info("{} molecule(s) answered ({:.2f} s on the server)", molecules.size(),
                 server_seconds);
  if (a.output != "-") spdlog::info("wrote {}", a.output);
}

}  // namespace

void add_query_command(CLI::App& app, GlobalOptions& global) {
  auto a = std::make_shared<QueryArgs>();
  auto* cmd = app.add_subcommand(
      "query", "Client: get encrypted predictions from an encmol serve over the network");
  cmd->add_option("--server", a->server, "HOST:PORT of the service")->required();
  cmd->add_option("--ca", a->ca, "CA certificate the server's certificate must chain to (PEM)")
      ->required();
  cmd->add_option("--token-file", a->token_file, "File holding the bearer token");
  cmd->add_option("--token", a->token,
                  "Bearer token (visible in process listings: prefer --token-file or "
                  "ENCMOL_TOKEN)");
  cmd->add_option("--cert", a->cert, "Client certificate (PEM), for mutual TLS");
  cmd->add_option("--key", a->key, "Client certificate's private key (PEM)");
  cmd->add_option("--server-name", a->server_name,
                  "Name in the server's certificate when it differs from HOST");
  cmd->add_option("--model", a->model, "Model to query (needed when the server offers several)");
  cmd->add_option("--secret-key", a->secret_key,
                  "Your secret key file; made (and the keys uploaded) when it does not exist")
      ->required();
  cmd->add_option("inputs", a->inputs, "Molecule files or directories")->required();
  cmd->add_option("-o,--output", a->output, "Output file; - = stdout")->capture_default_str();
  cmd->add_option("--batch", a->batch, "Molecules per request (0: about 64)")
      ->capture_default_str();
  cmd->add_option("--attempts", a->attempts, "Tries per request on transient errors")
      ->capture_default_str();
  cmd->add_option("--embedding-seed", a->embedding_seed, "Seed of the 3-D embedding of SMILES")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "Write JSON instead of CSV");
  add_global_options(*cmd, global);
  cmd->callback([a, &global] { run_query(*a, global); });
}

}  // namespace encmol::cli
