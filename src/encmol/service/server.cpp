// Set-up and shutdown of `encmol serve` (server.hpp); the calls are in calls.cpp.
#include "encmol/service/server.hpp"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/secure/wire.hpp"
#include "encmol/service/server_impl.hpp"
#include "encmol/service/store_internal.hpp"

namespace encmol::service {
namespace {

// Largest gRPC message either side sends: a query, a result (the same order
// of size: one ciphertext per plan.queries molecules) or a 4 MiB key chunk.
int message_cap(const ServerOptions& o) {
  const std::uint64_t cap = std::max<std::uint64_t>(o.max_query_bytes, std::uint64_t{8} << 20);
  return static_cast<int>(std::min<std::uint64_t>(cap + (1u << 20), INT32_MAX));
}

constexpr auto kShutdownGrace = std::chrono::minutes(10);

}  // namespace

Server::Server(std::vector<NamedModel> models, const ServerOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = options;
  if (models.empty()) throw InputError("encmol serve: give at least one --model");
  if (options.max_query_bytes < (1u << 20))
    throw ParameterError("--max-query-bytes must be at least 1 MiB");
  if (options.threads_per_evaluation > 0) core::set_thread_count(options.threads_per_evaluation);
  for (auto& m : models) {
    if (!detail::valid_model_name(m.name))
      throw InputError("model name '" + m.name + "' must be 1-128 characters of [A-Za-z0-9._-]");
    if (s.models.count(m.name) != 0) throw InputError("model name '" + m.name + "' is given twice");
    if (!m.model) throw InputError("model '" + m.name + "' is empty");
    ServedModel served;
    served.name = m.name;
    served.model = m.model;
    secure::ServerOptions so;
    so.query_budget = 0;  // the store charges, per identity
    so.plaintext_cache_bytes = options.plaintext_cache_bytes;
    served.server = std::make_unique<secure::Server>(*m.model, options.plan, so);
    served.card = served.server->card().encode();
    served.default_budget = secure::default_query_budget(*m.model);
    spdlog::info("serving model '{}' (plan {}, default budget {} molecules per identity)", m.name,
                 secure::wire::short_hex(served.server->card().plan_hash()), served.default_budget);
    s.models.emplace(m.name, std::move(served));
  }
  s.store = open_store(options.database);
  s.keys = std::make_unique<KeyCache>(options.key_cache);
  s.metrics = std::make_unique<Metrics>(options.metrics_listen);
  s.admission = std::make_unique<Admission>(options.workers, options.queue);
  s.calls = std::make_unique<Calls>(s);

  grpc::ServerBuilder builder;
  const auto credentials = server_credentials(options.tls);
  s.auth_gate->impl = &s;
  credentials->SetAuthMetadataProcessor(make_auth_gate(s.auth_gate));
  builder.AddListeningPort(options.listen, credentials, &s.port);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
  builder.RegisterService(s.calls.get());
  builder.SetMaxReceiveMessageSize(message_cap(options));
  builder.SetMaxSendMessageSize(message_cap(options));
  // Bounds gRPC's own threads: refused work costs little, but every caller
  // waiting in the queue or uploading holds one.
  grpc::ResourceQuota quota("encmol-serve");
  quota.SetMaxThreads(static_cast<int>(options.workers + options.queue + options.max_uploads + 8));
  builder.SetResourceQuota(quota);
  s.grpc_server = builder.BuildAndStart();
  if (!s.grpc_server || s.port == 0)
    throw IoError("cannot listen on " + options.listen +
                  " (address in use, not a HOST:PORT, or no permission)");
  spdlog::info(
      "listening on {} (TLS{}), {} worker(s), queue {}", options.listen,
      options.tls.client_ca.empty() ? ", bearer tokens" : ", client certificates or tokens",
      options.workers, options.queue);
}

Server::~Server() {
  shutdown();
  std::unique_lock lock(impl_->auth_gate->mutex);
  impl_->auth_gate->impl = nullptr;
}

int Server::port() const { return impl_->port; }

void Server::shutdown() {
  std::lock_guard lock(impl_->shutdown_mutex);
  if (impl_->stopped || !impl_->grpc_server) return;
  impl_->stopped = true;
  spdlog::info("shutting down: no new calls; finishing the accepted ones");
  // Waits for every call in progress; one still running after the grace
  // period (a stalled stream) is cancelled.
  impl_->grpc_server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  spdlog::info("shut down");
}

void Server::wait() {
  if (impl_->grpc_server) impl_->grpc_server->Wait();
}

std::string Server::metrics_text() const { return impl_->metrics->scrape(); }

unsigned Server::running_evaluations() const { return impl_->admission->running(); }

unsigned Server::running_uploads() const { return impl_->uploads.load(); }

}  // namespace encmol::service
