// `encmol serve`: the model owner's gRPC-over-TLS service (issue 11,
// docs/service.md). It offers one or more models; authenticated clients fetch
// their cards, upload evaluation keys once (kept in the key cache by identity
// and key id), and send encrypted queries that are evaluated by a bounded
// worker pool and charged, per identity and model, in the store in the same
// transaction that records the answer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "encmol/ml/model.hpp"
#include "encmol/secure/plan.hpp"
#include "encmol/service/key_cache.hpp"
#include "encmol/service/tls.hpp"

namespace encmol::service {

inline constexpr std::uint32_t kProtocolVersion = 1;

struct NamedModel {
  std::string name;  // [A-Za-z0-9._-]{1,128}; what clients ask for and budgets are kept by
  std::shared_ptr<const ml::Model> model;
};

struct ServerOptions {
  std::string listen = "127.0.0.1:7443";  // HOST:PORT (port 0: any free port, see Server::port)
  ServerTls tls;
  std::string database = "sqlite:encmol-service.db";  // sqlite:PATH or postgresql://...
  KeyCacheOptions key_cache;
  secure::PlanOptions plan;  // as `encmol card`: every model's card is compiled with these
  unsigned workers = 1;      // evaluations at once
  unsigned threads_per_evaluation = 0;  // 0: all cores
  unsigned queue = 8;                   // queries waiting for a worker beyond `workers`
  std::uint64_t max_query_bytes = std::uint64_t{256} << 20;
  std::uint64_t max_key_bytes = std::uint64_t{2} << 30;
  unsigned max_uploads = 2;                       // key uploads at once (each buffers its keys)
  std::int64_t answer_retention_seconds = 86400;  // stored answers for retries
  std::string metrics_listen;                     // HOST:PORT for Prometheus; empty: none
  std::uint64_t plaintext_cache_bytes = 0;        // per model (secure::ServerOptions)
};

class Server {
 public:
  /// Compiles every model's plan, opens the store and the key cache, and
  /// starts listening. InputError / ParameterError / IoError for bad options.
  Server(std::vector<NamedModel> models, const ServerOptions& options);
  ~Server();  // shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port actually bound (useful with port 0).
  int port() const;
  /// Stops accepting calls, finishes every accepted one, and returns.
  void shutdown();
  /// Blocks until shutdown() (from another thread or a signal handler thread).
  void wait();
  /// Prometheus text of the current metrics (tests).
  std::string metrics_text() const;
  /// Evaluations running now (tests of shutdown).
  unsigned running_evaluations() const;
  /// Key uploads being received now (tests of shutdown).
  unsigned running_uploads() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace encmol::service
