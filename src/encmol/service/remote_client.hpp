// The client side of the service (`encmol query`, docs/service.md): a gRPC
// channel over TLS to an `encmol serve`, authenticated with a bearer token
// or a client certificate. Evaluate retries transient refusals (UNAVAILABLE,
// RESOURCE_EXHAUSTED other than a size limit, after the server's hint when it
// sends one, DEADLINE_EXCEEDED) with
// the same request id, so a lost reply is fetched again, never charged twice.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "encmol/core/error.hpp"
#include "encmol/secure/roles.hpp"
#include "encmol/service/tls.hpp"

namespace encmol::service {

/// A call the server refused or that failed; `code` is the gRPC status code.
class ServiceError : public Error {
 public:
  ServiceError(int code, const std::string& message) : Error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

struct RemoteOptions {
  std::string address;  // HOST:PORT
  ClientTls tls;
  std::string token;                  // bearer token; empty with a client certificate
  unsigned max_attempts = 6;          // per Evaluate, transient failures included
  double call_timeout_seconds = 900;  // deadline of one evaluation or upload
  std::uint64_t max_message_bytes = std::uint64_t{1} << 30;
};

struct RemoteModel {
  std::string name;
  core::Bytes card_envelope;
  secure::ModelCard card;
  std::uint64_t default_budget = 0;
};

struct RemoteBudget {
  std::string model;
  std::uint64_t limit = 0;  // 0 = unlimited
  std::uint64_t used = 0;
  std::uint64_t remaining = 0;  // meaningful when limit > 0
};

struct RemoteAnswer {
  secure::Result result;
  RemoteBudget budget;
  bool replayed = false;
  double server_seconds = 0;
  unsigned attempts = 1;
};

struct RemoteHealth {
  std::uint32_t protocol_version = 0;
  std::string server_version;
  std::uint32_t queue_depth = 0;
  std::uint32_t workers = 0;
};

class RemoteClient {
 public:
  explicit RemoteClient(RemoteOptions options);
  ~RemoteClient();

  RemoteHealth health();
  std::vector<RemoteModel> models();
  /// The model of that name (the only one when `name` is empty); InputError
  /// naming the offered models otherwise.
  RemoteModel model(const std::string& name);
  bool has_keys(const RemoteModel& model, const core::Digest& key_id);
  /// Streams an EVKS envelope in 4 MiB chunks; `progress(sent, total)`.
  void upload_keys(const RemoteModel& model, const core::Digest& key_id,
                   std::span<const std::uint8_t> envelope,
                   const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});
  /// Sends one query under a fresh request id (retrying with the same id).
  RemoteAnswer evaluate(const RemoteModel& model, const secure::Client& client,
                        const secure::Query& query);
  /// The same with a chosen request id (tests of retries).
  RemoteAnswer evaluate(const RemoteModel& model, const secure::Client& client,
                        const secure::Query& query, const std::string& request_id);
  RemoteBudget budget(const std::string& model);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// A fresh random request id (32 hex digits).
std::string new_request_id();

}  // namespace encmol::service
