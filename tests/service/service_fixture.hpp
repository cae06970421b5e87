// The fixture of the end-to-end service tests (service_test.cpp,
// service_hostile_test.cpp): test certificates, a small QM7 model, and a
// server on a free loopback port with a fresh SQLite database and key cache.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "encmol/chem/readers.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/service/proto/encmol_service_v1.grpc.pb.h"
#include "encmol/service/remote_client.hpp"
#include "encmol/service/server.hpp"
#include "encmol/service/store.hpp"

namespace encmol::service_test {

namespace fs = std::filesystem;

inline const fs::path& certificates() {
  static const fs::path dir = [] {
    const fs::path d =
        fs::temp_directory_path() / ("encmol_service_certs_" + std::to_string(::getpid()));
    const std::string cmd = std::string(ENCMOL_SOURCE_DIR) + "/scripts/make_certs.sh " +
                            d.string() + " localhost acme other stranger >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make_certs.sh failed");
    return d;
  }();
  return dir;
}

struct Data {
  std::vector<chem::Molecule> train, test;
};

inline const Data& data() {
  static const Data d = [] {
    const auto all = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
    const ml::Split s = ml::random_split(all.size(), 120, 11);
    Data out;
    out.train = ml::select(all, s.train);
    out.test = ml::select(all, s.test);
    out.test.resize(6);
    return out;
  }();
  return d;
}

inline std::shared_ptr<const ml::Model> model() {
  static const auto m = [] {
    ml::TrainOptions o;
    // A linear kernel keeps the plan shallow (small keys, fast tests); the
    // Gaussian circuit is tested in tests/secure.
    o.kernel = ml::KernelKind::Linear;
    o.targets = {"ae_pbe0"};
    o.representation_options = chem::capacity_for(data().test);
    o.lambdas = {1e4};
    return std::make_shared<const ml::Model>(ml::train_krr(data().train, o).model);
  }();
  return m;
}

class Service : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("encmol_service_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    url_ = "sqlite:" + (dir_ / "service.db").string();
    admin_ = service::open_store(url_);
    admin_->add_identity("acme");
    admin_->add_identity("other");
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void start(unsigned workers = 1, unsigned queue = 4, bool mutual = false) {
    service::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls.certificate = certificates() / "server.pem";
    o.tls.private_key = certificates() / "server.key";
    if (mutual) o.tls.client_ca = certificates() / "ca.pem";
    o.database = url_;
    o.key_cache.directory = dir_ / "keys";
    if (key_quota_ > 0) o.key_cache.max_identity_disk_bytes = key_quota_;
    o.workers = workers;
    o.queue = queue;
    o.plan.tolerance = 0.5;
    server_ =
        std::make_unique<service::Server>(std::vector<service::NamedModel>{{"qm7", model()}}, o);
  }

  service::RemoteOptions remote(const std::string& token) const {
    service::RemoteOptions r;
    r.address = "127.0.0.1:" + std::to_string(server_->port());
    r.tls.ca = certificates() / "ca.pem";
    r.tls.server_name = "localhost";
    r.token = token;
    r.max_attempts = 2;
    r.call_timeout_seconds = 120;
    return r;
  }

  service::RemoteOptions remote_with_certificate(const std::string& identity) const {
    service::RemoteOptions r = remote("");
    r.tls.certificate = certificates() / (identity + ".pem");
    r.tls.private_key = certificates() / (identity + ".key");
    return r;
  }

  // A bare gRPC stub (no client class in between), for messages the client
  // class would never send.
  std::unique_ptr<service::v1::Encmol::Stub> raw_stub() const {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = service::read_pem(certificates() / "ca.pem", "ca");
    return service::v1::Encmol::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::SslCredentials(tls), args));
  }

  // The reference to the client's key for model m that every message carries.
  static service::v1::KeyRef key_ref(const service::RemoteModel& m, const secure::Client& client) {
    service::v1::KeyRef ref;
    ref.set_model(m.name);
    const auto hash = m.card.plan_hash();
    ref.set_plan_hash(std::string(hash.begin(), hash.end()));
    ref.set_key_id(std::string(client.key_id().begin(), client.key_id().end()));
    return ref;
  }

  // The first chunk of an upload of `total` bytes of the client's keys.
  static service::v1::KeyChunk first_chunk(const service::RemoteModel& m,
                                           const secure::Client& client, std::uint64_t total,
                                           std::string data) {
    service::v1::KeyChunk chunk;
    *chunk.mutable_key() = key_ref(m, client);
    chunk.set_total_bytes(total);
    chunk.set_data(std::move(data));
    return chunk;
  }

  // Polls `done` every 2 ms for up to a minute; what it last returned.
  static bool eventually(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return done();
  }

  // A well-formed request for one test molecule under the client's key.
  static service::v1::EvaluateRequest evaluate_request(const service::RemoteModel& m,
                                                       const secure::Client& client) {
    service::v1::EvaluateRequest request;
    *request.mutable_key() = key_ref(m, client);
    request.set_request_id(service::new_request_id());
    const auto q = client.encrypt({data().test[0]}).encode(*client.context());
    request.set_query(std::string(q.begin(), q.end()));
    return request;
  }

  fs::path dir_;
  std::uint64_t key_quota_ = 0;  // per-identity key cache quota; 0: the default
  std::string url_;
  std::unique_ptr<service::Store> admin_;
  std::unique_ptr<service::Server> server_;
};

inline int code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const service::ServiceError& e) {
    return e.code();
  }
  return 0;
}

}  // namespace encmol::service_test
