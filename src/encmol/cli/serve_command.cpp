// encmol serve: the model owner's network service (docs/service.md).
//   encmol serve --model NAME=MODEL... --listen HOST:PORT --tls-cert C --tls-key K
//                [--client-ca CA] [--db sqlite:PATH|postgresql://...] [--key-cache DIR]
// SIGINT or SIGTERM stops accepting calls and finishes every accepted one.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "encmol/cli/commands.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/service/server.hpp"

namespace encmol::cli {
namespace {

struct ServeArgs {
  std::vector<std::string> models;
  service::ServerOptions options;
  std::string key_cache = "encmol-key-cache";
  double key_cache_gib = 16, key_identity_gib = 4, key_memory_gib = 4;
  double relative_tolerance = 1e-4, tolerance = 0;
  std::uint32_t max_batch = 0;
  int min_flood_bits = secure::PlanOptions{}.min_flood_bits;
  double max_query_mib = 256, max_key_gib = 2;
};

std::vector<service::NamedModel> load_models(const std::vector<std::string>& specs) {
  std::vector<service::NamedModel> out;
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    service::NamedModel m;
    std::string path = spec;
    if (eq != std::string::npos) {
      m.name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    } else {
      m.name = std::filesystem::path(spec).stem().string();
    }
    m.model = std::make_shared<const ml::Model>(ml::Model::load(path));
    out.push_back(std::move(m));
  }
  return out;
}

std::uint64_t bytes_of_gib(double gib, const char* option) {
  if (!(gib > 0) || gib > 1e6) throw InputError(std::string(option) + " must be a positive size");
  return static_cast<std::uint64_t>(gib * double(std::uint64_t{1} << 30));
}

void run_serve(ServeArgs a, const GlobalOptions& global) {
  apply_global_options(global);
  a.options.plan.tolerance = a.tolerance;
  a.options.plan.relative_tolerance = a.relative_tolerance;
  a.options.plan.max_batch = a.max_batch;
  a.options.plan.min_flood_bits = a.min_flood_bits;
  a.options.key_cache.directory = a.key_cache;
  a.options.key_cache.max_disk_bytes = bytes_of_gib(a.key_cache_gib, "--key-cache-gib");
  a.options.key_cache.max_identity_disk_bytes =
      bytes_of_gib(a.key_identity_gib, "--key-cache-identity-gib");
  a.options.key_cache.max_memory_bytes = bytes_of_gib(a.key_memory_gib, "--key-memory-gib");
  a.options.max_query_bytes = bytes_of_gib(a.max_query_mib / 1024, "--max-query-mib");
  a.options.max_key_bytes = bytes_of_gib(a.max_key_gib, "--max-key-gib");
  a.options.threads_per_evaluation = global.threads;
  // Block the stop signals before gRPC starts its threads, so only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  service::Server server(load_models(a.models), a.options);
  std::cout << "encmol serve: listening on port " << server.port() << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  spdlog::info("received signal {}", signal_number);
  server.shutdown();
}

}  // namespace

void add_serve_command(CLI::App& app, GlobalOptions& global) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Model owner: serve models to authenticated clients over gRPC + TLS");
  cmd->add_option("-m,--model", a->models,
                  "NAME=MODEL_FILE (repeatable; NAME defaults to the file's stem)")
      ->required();
  cmd->add_option("--listen", a->options.listen, "HOST:PORT to listen on")->capture_default_str();
  cmd->add_option("--tls-cert", a->options.tls.certificate, "Server certificate chain (PEM)")
      ->required();
  cmd->add_option("--tls-key", a->options.tls.private_key, "Server private key (PEM)")->required();
  cmd->add_option("--client-ca", a->options.tls.client_ca,
                  "CA of client certificates: requires mutual TLS (identity = certificate CN)");
  cmd->add_option("--db", a->options.database,
                  "Identities and budgets: sqlite:PATH or postgresql://... (replicas)")
      ->capture_default_str();
  cmd->add_option("--key-cache", a->key_cache, "Directory of uploaded evaluation keys")
      ->capture_default_str();
  cmd->add_option("--key-cache-gib", a->key_cache_gib, "Disk cap of the key cache")
      ->capture_default_str();
  cmd->add_option("--key-cache-identity-gib", a->key_identity_gib,
                  "Disk quota of one identity's keys in the cache (its own oldest go first)")
      ->capture_default_str();
  cmd->add_option("--key-memory-gib", a->key_memory_gib, "Decoded keys kept in memory")
      ->capture_default_str();
  cmd->add_option("--workers", a->options.workers, "Evaluations at once")->capture_default_str();
  cmd->add_option("--queue", a->options.queue, "Queries waiting for a worker before refusals")
      ->capture_default_str();
  cmd->add_option("--max-query-mib", a->max_query_mib, "Largest query accepted")
      ->capture_default_str();
  cmd->add_option("--max-key-gib", a->max_key_gib, "Largest evaluation-key upload accepted")
      ->capture_default_str();
  cmd->add_option("--metrics-listen", a->options.metrics_listen,
                  "HOST:PORT serving Prometheus metrics (/metrics)");
  cmd->add_option("--answer-retention", a->options.answer_retention_seconds,
                  "Seconds answers are kept for retries")
      ->capture_default_str();
  cmd->add_option("--tolerance", a->tolerance, "As encmol card");
  cmd->add_option("--relative-tolerance", a->relative_tolerance, "As encmol card")
      ->capture_default_str();
  cmd->add_option("--max-batch", a->max_batch, "As encmol card")->capture_default_str();
  add_min_flood_bits_option(*cmd, a->min_flood_bits);
  add_global_options(*cmd, global);
  cmd->callback([a, &global] { run_serve(*a, global); });
}

}  // namespace encmol::cli
