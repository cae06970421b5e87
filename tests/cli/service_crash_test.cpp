// Crash safety of the whole service (network-service and reliability
// issues): `encmol serve` is killed with SIGKILL while four clients keep it
// busy, and restarted on the same database and key cache, three times. After
// every crash:
//   - every answer a client received is stored under its request id, and the
//     budget's use equals the answers stored (no charge without its answer);
//   - retrying each request with its id, after the restart, returns the same
//     answer for those received or charged before the crash (replayed, not
//     charged again) and evaluates the others;
// so in the end every request is charged exactly once, whichever moment the
// server died at.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "encmol/chem/readers.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/service/remote_client.hpp"
#include "encmol/service/store.hpp"
#include "serve_process.hpp"

using namespace encmol;
namespace fs = std::filesystem;

namespace {

struct Sent {
  std::size_t molecule = 0;  // index into the query molecules
  secure::Query query;
  core::Bytes received;  // the encoded answer the client got; empty if none
};

}  // namespace

TEST(ServiceCrash, SigkillUnderLoadNeverLosesOrDoublesACharge) {
  const fs::path dir =
      fs::temp_directory_path() / ("encmol_service_crash_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  ASSERT_EQ(std::system((std::string(ENCMOL_SOURCE_DIR) + "/scripts/make_certs.sh " + p("tls") +
                         " localhost >/dev/null")
                            .c_str()),
            0);
  const auto all = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
  const std::vector<chem::Molecule> train(all.begin(), all.begin() + 120);
  const std::vector<chem::Molecule> queries(all.begin() + 120, all.begin() + 130);
  ml::TrainOptions o;
  o.kernel = ml::KernelKind::Linear;  // a shallow plan: small keys, fast evaluations
  o.targets = {"ae_pbe0"};
  o.representation_options = chem::capacity_for(queries);
  o.lambdas = {1e4};
  const ml::Model plain_model = ml::train_krr(train, o).model;
  plain_model.save(p("m.model"));
  const Eigen::MatrixXd plain = plain_model.predict(queries);

  const std::string db_url = "sqlite:" + p("service.db");
  std::string token;
  {
    auto admin = service::open_store(db_url);
    admin->add_identity("acme");
    admin->set_budget("acme", "qm7", 100000);
    token = admin->issue_token("acme");
  }
  const std::string serve_args = "-m qm7=" + p("m.model") + " --tls-cert " + p("tls/server.pem") +
                                 " --tls-key " + p("tls/server.key") + " --db " + db_url +
                                 " --key-cache " + p("keys") +
                                 " --tolerance 0.5 --workers 2 --queue 8 --threads 1";
  const auto remote_options = [&](const test::ServeProcess& server) {
    service::RemoteOptions r;
    r.address = server.address();
    r.tls.ca = p("tls/ca.pem");
    r.tls.server_name = "localhost";
    r.token = token;
    r.max_attempts = 1;  // a dead server fails the call at once
    r.call_timeout_seconds = 60;
    return r;
  };

  auto server = std::make_unique<test::ServeProcess>(serve_args, dir);
  std::optional<secure::Client> client;
  service::RemoteModel model;
  {
    service::RemoteClient remote(remote_options(*server));
    model = remote.model("qm7");
    client.emplace(model.card);
    remote.upload_keys(model, client->key_id(),
                       client->make_eval_keys().encode(*client->context()));
  }

  std::map<std::string, Sent> sent;  // by request id
  std::mt19937 rng(20261204);
  constexpr int kClients = 4;
  for (int round = 0; round < 3; ++round) {
    // Load: each client sends one-molecule queries under fresh ids until the
    // server dies under it.
    std::mutex mutex;
    std::atomic<int> answered{0};
    std::atomic<int> stopped{0};  // clients whose server went away
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c)
      clients.emplace_back([&, c] {
        service::RemoteClient remote(remote_options(*server));
        for (int i = 0;; ++i) {
          const std::string id = "crash-r" + std::to_string(round) + "-c" + std::to_string(c) +
                                 "-" + std::to_string(i) + "-padding";
          const std::size_t molecule = static_cast<std::size_t>(i + c) % queries.size();
          Sent s{molecule, client->encrypt({queries[molecule]}), {}};
          {
            std::lock_guard lock(mutex);
            sent[id] = s;
          }
          try {
            const auto answer = remote.evaluate(model, *client, s.query, id);
            std::lock_guard lock(mutex);
            sent[id].received = answer.result.encode(*client->context());
            ++answered;
          } catch (const service::ServiceError&) {
            ++stopped;  // the server is gone
            return;
          }
        }
      });
    // Kill at a random moment once the load is running.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (answered.load() < 2 + round && stopped.load() < kClients &&
           std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const bool loaded = answered.load() >= 2 + round;
    if (loaded)
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution(0, 600)(rng)));
    const bool killed = server->stop(SIGKILL, 10);
    for (auto& t : clients) t.join();  // each stops when its server is gone
    ASSERT_TRUE(loaded) << "the clients got no answers: " << server->stderr_text();
    ASSERT_TRUE(killed) << "round " << round;
    server.reset();

    // What the database holds right after the crash.
    std::uint64_t stored = 0;
    {
      auto store = service::open_store(db_url);
      for (const auto& [id, s] : sent) {
        const auto answer = store->find_answer("acme", id);
        if (!s.received.empty()) {
          ASSERT_TRUE(answer) << "received but not stored: " << id;
          EXPECT_EQ(answer->result, s.received) << id;
        }
        if (answer) ++stored;
      }
      EXPECT_EQ(store->budget("acme", "qm7", 0).used, stored) << "round " << round;
      const auto received = static_cast<std::size_t>(std::count_if(
          sent.begin(), sent.end(), [](const auto& e) { return !e.second.received.empty(); }));
      std::printf("round %d: %zu sent, %zu received, %llu charged and stored at the crash\n", round,
                  sent.size(), received, static_cast<unsigned long long>(stored));
    }

    // Restart on the same database and key cache; every request is retried.
    server = std::make_unique<test::ServeProcess>(serve_args, dir);
    service::RemoteClient remote(remote_options(*server));
    for (auto& [id, s] : sent) {
      const auto answer = remote.evaluate(model, *client, s.query, id);
      const core::Bytes bytes = answer.result.encode(*client->context());
      if (!s.received.empty()) {
        EXPECT_TRUE(answer.replayed) << id;
        EXPECT_EQ(bytes, s.received) << id;
      }
      s.received = bytes;
    }
    EXPECT_EQ(remote.budget("qm7").used, sent.size()) << "round " << round;
    // The answers, replayed or fresh, decrypt to the model's predictions.
    const double bound = model.card.plan.budget.front().bound;
    for (const auto& [id, s] : sent) {
      const auto result =
          secure::Result::decode(s.received, *client->context(), model.card.plan.queries, "answer");
      const secure::Predictions predicted = client->decrypt(result);
      ASSERT_EQ(predicted.raw.rows(), 1) << id;
      EXPECT_LE(std::fabs(predicted.raw(0, 0) - plain(static_cast<Eigen::Index>(s.molecule), 0)),
                bound)
          << id;
    }
  }
  EXPECT_GE(sent.size(), 12u);
  EXPECT_TRUE(server->stop(SIGTERM));
  fs::remove_all(dir);
}
