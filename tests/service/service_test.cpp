// encmol serve end to end over real gRPC + TLS on loopback: authentication,
// cards, key upload, encrypted evaluation (checked against the plain model),
// budgets per identity, key ownership, retries charged once, mutual TLS,
// metrics and graceful shutdown. Hostile clients: service_hostile_test.cpp.
#include "service_fixture.hpp"

using namespace encmol;
using namespace encmol::service_test;

TEST_F(Service, EncryptedPredictionsMatchThePlainModelAndAreCharged) {
  start();
  service::RemoteClient remote(this->remote(admin_->issue_token("acme")));
  EXPECT_EQ(remote.health().protocol_version, 1u);
  const auto m = remote.model("");
  EXPECT_EQ(m.name, "qm7");
  EXPECT_GT(m.default_budget, 0u);
  const secure::Client client(m.card);
  EXPECT_FALSE(remote.has_keys(m, client.key_id()));
  remote.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
  EXPECT_TRUE(remote.has_keys(m, client.key_id()));

  const auto& test = data().test;
  const auto answer = remote.evaluate(m, client, client.encrypt(test));
  const secure::Predictions p = client.decrypt(answer.result);
  const Eigen::MatrixXd plain = model()->predict(test);
  const double bound = m.card.plan.budget.front().bound;
  ASSERT_EQ(p.raw.rows(), static_cast<Eigen::Index>(test.size()));
  for (Eigen::Index i = 0; i < plain.rows(); ++i)
    EXPECT_LE(std::fabs(p.raw(i, 0) - plain(i, 0)), bound);
  EXPECT_EQ(answer.budget.used, test.size());
  EXPECT_EQ(remote.budget("qm7").used, test.size());
  EXPECT_EQ(admin_->budget("acme", "qm7", m.default_budget).used, test.size());
  EXPECT_NE(
      server_->metrics_text().find("encmol_requests_total{method=\"Evaluate\",outcome=\"ok\"} 1"),
      std::string::npos)
      << server_->metrics_text();
}

TEST_F(Service, UnauthenticatedRevokedAndDisabledCallersAreRefused) {
  start();
  EXPECT_EQ(
      code_of([&] {
        service::RemoteClient(remote("emt_0011223344556677_" + std::string(64, 'a'))).models();
      }),
      static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(code_of([&] { service::RemoteClient(remote("not a token")).health(); }),
            static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  const std::string token = admin_->issue_token("acme");
  service::RemoteClient ok(remote(token));
  EXPECT_NO_THROW(ok.health());
  // A disabled identity's token is refused on the next call; enabling it
  // again restores the same token.
  admin_->set_identity_disabled("acme", true);
  EXPECT_EQ(code_of([&] { ok.health(); }), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  admin_->set_identity_disabled("acme", false);
  EXPECT_NO_THROW(ok.health());
  admin_->revoke_tokens("acme");
  EXPECT_EQ(code_of([&] { ok.health(); }), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  // No credentials at all: refused by the server, not only by the client class.
  auto stub = raw_stub();
  grpc::ClientContext ctx;
  service::v1::ListModelsReply reply;
  EXPECT_EQ(stub->ListModels(&ctx, {}, &reply).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(Service, BudgetsBelongToIdentitiesNotKeys) {
  start();
  admin_->set_budget("acme", "qm7", 8);
  service::RemoteClient remote(this->remote(admin_->issue_token("acme")));
  const auto m = remote.model("qm7");
  const auto& test = data().test;  // 6 molecules
  const secure::Client first(m.card);
  remote.upload_keys(m, first.key_id(), first.make_eval_keys().encode(*first.context()));
  EXPECT_EQ(remote.evaluate(m, first, first.encrypt(test)).budget.used, 6u);
  // A fresh key does not reset the budget.
  const secure::Client second(m.card);
  remote.upload_keys(m, second.key_id(), second.make_eval_keys().encode(*second.context()));
  EXPECT_EQ(code_of([&] { remote.evaluate(m, second, second.encrypt(test)); }),
            static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  const std::vector<chem::Molecule> two(test.begin(), test.begin() + 2);
  EXPECT_EQ(remote.evaluate(m, second, second.encrypt(two)).budget.used, 8u);
  EXPECT_EQ(code_of([&] { remote.evaluate(m, second, second.encrypt({test.front()})); }),
            static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, 8u);
}

TEST_F(Service, KeysOfOneIdentityAreNotUsableByAnother) {
  start();
  service::RemoteClient acme(remote(admin_->issue_token("acme")));
  service::RemoteClient other(remote(admin_->issue_token("other")));
  const auto m = acme.model("");
  const secure::Client client(m.card);
  const auto keys = client.make_eval_keys().encode(*client.context());
  acme.upload_keys(m, client.key_id(), keys);
  EXPECT_FALSE(other.has_keys(m, client.key_id()));
  EXPECT_EQ(code_of([&] { other.evaluate(m, client, client.encrypt({data().test.front()})); }),
            static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(code_of([&] { other.upload_keys(m, client.key_id(), keys); }),
            static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(admin_->budget("other", "qm7", 0).used, 0u);
}

TEST_F(Service, ARetriedRequestGetsTheSameAnswerChargedOnce) {
  start();
  service::RemoteClient remote(this->remote(admin_->issue_token("acme")));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  remote.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
  const auto query = client.encrypt({data().test[0], data().test[1]});
  const std::string id = service::new_request_id();
  const auto a = remote.evaluate(m, client, query, id);
  const auto b = remote.evaluate(m, client, query, id);
  EXPECT_FALSE(a.replayed);
  EXPECT_TRUE(b.replayed);
  EXPECT_EQ(b.budget.used, 2u);
  EXPECT_EQ(client.decrypt(a.result).values, client.decrypt(b.result).values);
  // The same id for another query is refused, also with as many molecules.
  EXPECT_EQ(code_of([&] { remote.evaluate(m, client, client.encrypt({data().test[2]}), id); }),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(code_of([&] {
              remote.evaluate(m, client, client.encrypt({data().test[0], data().test[1]}), id);
            }),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, 2u);
  // The same id for another key is refused.
  const secure::Client second(m.card);
  remote.upload_keys(m, second.key_id(), second.make_eval_keys().encode(*second.context()));
  EXPECT_EQ(code_of([&] { remote.evaluate(m, second, second.encrypt({data().test[0]}), id); }),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(Service, MutualTlsIdentifiesClientsByTheirCertificate) {
  start(1, 4, /*mutual=*/true);
  service::RemoteClient acme(remote_with_certificate("acme"));
  const auto m = acme.model("");
  const secure::Client client(m.card);
  acme.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
  EXPECT_EQ(acme.evaluate(m, client, client.encrypt({data().test[0]})).budget.used, 1u);
  EXPECT_EQ(admin_->key_owner(core::to_hex(client.key_id())), std::optional<std::string>("acme"));
  // A valid certificate of an identity the server does not know.
  EXPECT_EQ(code_of([&] { service::RemoteClient(remote_with_certificate("stranger")).health(); }),
            static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  // No certificate: a token is needed instead.
  EXPECT_EQ(code_of([&] { service::RemoteClient(remote(admin_->issue_token("acme"))).health(); }),
            0);
  EXPECT_EQ(
      code_of([&] {
        service::RemoteClient(remote("emt_0011223344556677_" + std::string(64, 'b'))).health();
      }),
      static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  // A disabled identity's certificate is refused on the next call, even on a
  // connection that worked; enabled again, it works again.
  admin_->set_identity_disabled("acme", true);
  EXPECT_EQ(code_of([&] { acme.health(); }), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(code_of([&] { acme.evaluate(m, client, client.encrypt({data().test[0]})); }),
            static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, 1u);
  admin_->set_identity_disabled("acme", false);
  EXPECT_EQ(acme.evaluate(m, client, client.encrypt({data().test[0]})).budget.used, 2u);
}

TEST_F(Service, ShutdownFinishesTheAcceptedQuery) {
  start();
  service::RemoteClient remote(this->remote(admin_->issue_token("acme")));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  remote.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
  const auto query = client.encrypt(data().test);
  auto pending = std::async(std::launch::async, [&] { return remote.evaluate(m, client, query); });
  ASSERT_TRUE(eventually([&] { return server_->running_evaluations() == 1; }));
  server_->shutdown();
  const auto answer = pending.get();
  EXPECT_EQ(answer.budget.used, data().test.size());
  EXPECT_EQ(client.decrypt(answer.result).values.rows(),
            static_cast<Eigen::Index>(data().test.size()));
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, data().test.size());
}

// Shutdown with work of every kind in flight: one query running, two queued
// and a key upload half sent. New calls are refused at once; every accepted
// call finishes, the queries are answered and charged once each, and the
// upload completes and is kept.
TEST_F(Service, ShutdownFinishesRunningAndQueuedQueriesAndAnUploadInProgress) {
  start(/*workers=*/1, /*queue=*/4);
  const std::string token = admin_->issue_token("acme");
  service::RemoteClient remote(this->remote(token));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  remote.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
  const secure::Client second(m.card);
  const core::Bytes second_keys = second.make_eval_keys().encode(*second.context());
  const auto query = client.encrypt(data().test);

  std::vector<std::future<service::RemoteAnswer>> pending;
  for (int i = 0; i < 3; ++i)
    pending.push_back(
        std::async(std::launch::async, [&] { return remote.evaluate(m, client, query); }));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((server_->running_evaluations() == 0 || remote.health().queue_depth < 2) &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(server_->running_evaluations(), 1u);
  ASSERT_GE(remote.health().queue_depth, 2u) << "the queries did not queue behind the first";

  auto stub = raw_stub();
  grpc::ClientContext upload;
  upload.AddMetadata("authorization", "Bearer " + token);
  upload.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  service::v1::UploadKeysReply upload_reply;
  auto writer = stub->UploadKeys(&upload, &upload_reply);
  ASSERT_TRUE(
      writer->Write(first_chunk(m, second, second_keys.size(),
                                std::string(second_keys.begin(), second_keys.begin() + 1024))));
  // Shutdown finishes the calls it has accepted: wait until the server
  // works on the upload (it has read the first chunk).
  ASSERT_TRUE(eventually([&] { return server_->running_uploads() == 1; }));

  auto stopping = std::async(std::launch::async, [&] { server_->shutdown(); });
  // Shutdown has begun once a new call is refused.
  for (;;) {
    grpc::ClientContext probe;
    probe.AddMetadata("authorization", "Bearer " + token);
    probe.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    service::v1::HealthReply health;
    if (!stub->Health(&probe, {}, &health).ok()) break;
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "shutdown did not begin";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The upload goes on: the rest of its bytes, in chunks of at most 4 MiB.
  for (std::size_t at = 1024; at < second_keys.size();) {
    const std::size_t n = std::min<std::size_t>(std::size_t{4} << 20, second_keys.size() - at);
    service::v1::KeyChunk more;
    more.set_data(std::string(second_keys.begin() + static_cast<std::ptrdiff_t>(at),
                              second_keys.begin() + static_cast<std::ptrdiff_t>(at + n)));
    ASSERT_TRUE(writer->Write(more)) << "the stream was closed at byte " << at;
    at += n;
  }
  writer->WritesDone();
  const grpc::Status uploaded = writer->Finish();
  EXPECT_TRUE(uploaded.ok()) << uploaded.error_message();
  EXPECT_EQ(upload_reply.bytes(), second_keys.size());

  for (auto& p : pending) {
    const auto answer = p.get();
    EXPECT_EQ(client.decrypt(answer.result).values.rows(),
              static_cast<Eigen::Index>(data().test.size()));
  }
  stopping.get();
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, 3 * data().test.size());
  EXPECT_EQ(admin_->key_owner(core::to_hex(second.key_id())), std::optional<std::string>("acme"));
  EXPECT_TRUE(fs::exists(dir_ / "keys" / "acme" / (core::to_hex(second.key_id()) + ".evks")));
}

TEST_F(Service, AFullQueueIsRefusedAtOnceWithARetryHint) {
  start(/*workers=*/1, /*queue=*/0);
  const std::string token = admin_->issue_token("acme");
  service::RemoteClient remote(this->remote(token));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  remote.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
  const auto query = client.encrypt(data().test);
  auto busy = std::async(std::launch::async, [&] { return remote.evaluate(m, client, query); });
  ASSERT_TRUE(eventually([&] { return server_->running_evaluations() == 1; }));

  auto stub = raw_stub();
  const service::v1::EvaluateRequest request = evaluate_request(m, client);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  service::v1::EvaluateReply reply;
  const auto status = stub->Evaluate(&ctx, request, &reply);
  const bool still_busy = server_->running_evaluations() == 1;
  if (still_busy) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    const auto& trailers = ctx.GetServerTrailingMetadata();
    ASSERT_EQ(trailers.count("encmol-retry-after-ms"), 1u);
    EXPECT_GE(std::stoi(std::string(trailers.find("encmol-retry-after-ms")->second.data(),
                                    trailers.find("encmol-retry-after-ms")->second.size())),
              100);
  }
  EXPECT_EQ(busy.get().budget.used, data().test.size());
  // Nothing was charged for the refusal; the retry client gets through once the worker is free.
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, data().test.size());
  EXPECT_NE(server_->metrics_text().find("outcome=\"overloaded\""), std::string::npos);
}
