// Inside of service::Server (server.hpp), shared by server.cpp (set-up,
// shutdown) and calls.cpp (the RPC handlers). Not part of the layer's API.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "encmol/secure/roles.hpp"
#include "encmol/service/admission.hpp"
#include "encmol/service/key_cache.hpp"
#include "encmol/service/metrics.hpp"
#include "encmol/service/proto/encmol_service_v1.grpc.pb.h"
#include "encmol/service/requests.hpp"
#include "encmol/service/server.hpp"
#include "encmol/service/store.hpp"

namespace encmol::service {

class Calls final : public v1::Encmol::Service {
 public:
  explicit Calls(Server::Impl& impl) : impl_(impl) {}
  grpc::Status Health(grpc::ServerContext* context, const v1::HealthRequest* request,
                      v1::HealthReply* reply) override;
  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsReply* reply) override;
  grpc::Status HasKeys(grpc::ServerContext* context, const v1::KeyRef* request,
                       v1::HasKeysReply* reply) override;
  grpc::Status UploadKeys(grpc::ServerContext* context, grpc::ServerReader<v1::KeyChunk>* reader,
                          v1::UploadKeysReply* reply) override;
  grpc::Status Evaluate(grpc::ServerContext* context, const v1::EvaluateRequest* request,
                        v1::EvaluateReply* reply) override;
  grpc::Status GetBudget(grpc::ServerContext* context, const v1::BudgetRequest* request,
                         v1::BudgetReply* reply) override;

 private:
  Server::Impl& impl_;
};

/// How the auth gate reaches the server. The gate runs on gRPC's own thread
/// pool, whose tasks gRPC does not join before the server is destroyed;
/// ~Server clears `impl` under the unique lock, so it waits for every check
/// in progress and later checks refuse without touching the server.
struct AuthGateLink {
  std::shared_mutex mutex;
  Server::Impl* impl = nullptr;
};

/// The check of every call's credentials before its message is read (calls.cpp).
std::shared_ptr<grpc::AuthMetadataProcessor> make_auth_gate(std::shared_ptr<AuthGateLink> link);

struct Server::Impl {
  ServerOptions options;
  ServedModels models;
  std::unique_ptr<Store> store;
  std::unique_ptr<KeyCache> keys;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Admission> admission;
  std::atomic<unsigned> uploads{0};
  std::atomic<std::int64_t> last_prune{0};  // unix seconds of the last prune of stored answers
  std::unique_ptr<Calls> calls;
  std::shared_ptr<AuthGateLink> auth_gate = std::make_shared<AuthGateLink>();
  std::unique_ptr<grpc::Server> grpc_server;
  int port = 0;
  std::mutex shutdown_mutex;
  bool stopped = false;
};

}  // namespace encmol::service
