// encmol serve against hostile clients: malformed and oversize messages,
// wrong plans and keys, uploads past the quota, a query declaring fewer
// molecules than it packs, and a client that disconnects mid-upload. Each is
// refused or contained cleanly, charges nothing it should not, and the
// server keeps serving.
#include "service_fixture.hpp"

using namespace encmol;
using namespace encmol::service_test;

TEST_F(Service, HostileMessagesAreRefusedAndChargeNothing) {
  start();
  const std::string token = admin_->issue_token("acme");
  service::RemoteClient remote(this->remote(token));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  const auto keys = client.make_eval_keys().encode(*client.context());
  remote.upload_keys(m, client.key_id(), keys);

  auto stub = raw_stub();
  auto call = [&](service::v1::EvaluateRequest request) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    service::v1::EvaluateReply reply;
    return stub->Evaluate(&ctx, request, &reply).error_code();
  };
  const service::v1::EvaluateRequest good = evaluate_request(m, client);

  auto r = good;
  r.set_query("garbage");
  EXPECT_EQ(call(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = good;
  std::string flipped = good.query();
  flipped[flipped.size() / 2] ^= 0x20;
  r.set_query(flipped);
  EXPECT_EQ(call(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = good;
  r.mutable_key()->set_plan_hash("short");
  EXPECT_EQ(call(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = good;
  r.mutable_key()->set_plan_hash(std::string(32, 'x'));
  EXPECT_EQ(call(r), grpc::StatusCode::FAILED_PRECONDITION);
  r = good;
  r.mutable_key()->set_model("no-such-model");
  EXPECT_EQ(call(r), grpc::StatusCode::NOT_FOUND);
  r = good;
  r.set_request_id("bad id");
  EXPECT_EQ(call(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = good;
  r.mutable_key()->set_key_id(std::string(32, '\x01'));
  EXPECT_EQ(call(r), grpc::StatusCode::INVALID_ARGUMENT);  // the query is under another key
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, 0u);
  EXPECT_EQ(call(good), grpc::StatusCode::OK);
  EXPECT_EQ(admin_->budget("acme", "qm7", 0).used, 1u);

  // An upload that announces more than it sends, or more than the cap.
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    service::v1::UploadKeysReply reply;
    auto writer = stub->UploadKeys(&ctx, &reply);
    service::v1::KeyChunk chunk;
    *chunk.mutable_key() = good.key();
    chunk.set_total_bytes(keys.size() + 10);
    chunk.set_data(std::string(keys.begin(), keys.begin() + 100));
    writer->Write(chunk);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    service::v1::UploadKeysReply reply;
    auto writer = stub->UploadKeys(&ctx, &reply);
    service::v1::KeyChunk chunk;
    *chunk.mutable_key() = good.key();
    chunk.set_total_bytes(std::uint64_t{1} << 40);
    writer->Write(chunk);
    writer->WritesDone();
    const auto status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("this server takes"), std::string::npos);
  }
  {
    // An upload without a deadline could stall forever: refused.
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    service::v1::UploadKeysReply reply;
    auto writer = stub->UploadKeys(&ctx, &reply);
    service::v1::KeyChunk chunk;
    *chunk.mutable_key() = good.key();
    chunk.set_total_bytes(keys.size());
    writer->Write(chunk);
    writer->WritesDone();
    const auto status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("deadline"), std::string::npos);
  }
  EXPECT_NO_THROW(remote.health());
}

// Keys larger than one identity's share of the key cache are refused when
// the upload is announced, before the server reads them.
TEST_F(Service, KeysLargerThanTheIdentityQuotaAreRefusedUpFront) {
  key_quota_ = std::uint64_t{1} << 20;
  start();
  service::RemoteClient remote(this->remote(admin_->issue_token("acme")));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  try {
    remote.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
    FAIL() << "keys larger than the quota were taken";
  } catch (const service::ServiceError& e) {
    EXPECT_EQ(e.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_NE(std::string(e.what()).find("1 to 1048576"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(remote.has_keys(m, client.key_id()));
}

// A query that declares fewer molecules than it packs is charged and
// answered for the declared ones only: the other result slots are masked.
TEST_F(Service, AQueryDeclaringFewerMoleculesThanItPacksGetsOnlyThoseAnswered) {
  start();
  service::RemoteClient remote(this->remote(admin_->issue_token("acme")));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  remote.upload_keys(m, client.key_id(), client.make_eval_keys().encode(*client.context()));
  const auto& test = data().test;  // 6 molecules, one ciphertext
  ASSERT_GE(m.card.plan.queries, test.size());
  const secure::Query honest = client.encrypt(test);
  const auto full = client.decrypt_slots(remote.evaluate(m, client, honest).result.ciphertexts[0]);
  secure::Query one = client.encrypt(test);
  one.molecules = 1;
  const auto answer = remote.evaluate(m, client, one);
  EXPECT_EQ(answer.budget.used, test.size() + 1);  // 6 honest + 1 declared
  const auto slots = client.decrypt_slots(answer.result.ciphertexts[0]);
  const std::size_t stride = m.card.plan.query_stride;
  const double bound = m.card.plan.budget[0].bound;
  EXPECT_NEAR(slots[0], full[0], 2 * bound);
  for (std::size_t i = 1; i < test.size(); ++i) {
    EXPECT_GT(std::fabs(full[i * stride]), 1.0) << i;
    EXPECT_LT(std::fabs(slots[i * stride]), bound)
        << "undeclared molecule " << i << " was answered";
  }
}

// A client that disconnects in the middle of an upload leaves nothing behind
// (no key, no slot held), and the server keeps serving: the same keys upload
// afterwards.
TEST_F(Service, AClientDisconnectingMidUploadLeavesNothingAndTheServerGoesOn) {
  start();
  const std::string token = admin_->issue_token("acme");
  service::RemoteClient remote(this->remote(token));
  const auto m = remote.model("");
  const secure::Client client(m.card);
  const core::Bytes keys = client.make_eval_keys().encode(*client.context());
  // Three times, more than --max-uploads (2): a slot kept by a cancelled upload would show.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto stub = raw_stub();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    service::v1::UploadKeysReply reply;
    auto writer = stub->UploadKeys(&ctx, &reply);
    ASSERT_TRUE(writer->Write(first_chunk(
        m, client, keys.size(), std::string(keys.begin(), keys.begin() + (std::size_t{1} << 20)))));
    ASSERT_TRUE(eventually([&] { return server_->running_uploads() == 1; }));
    ctx.TryCancel();  // the client goes away mid-stream
    EXPECT_FALSE(writer->Finish().ok());
    EXPECT_TRUE(eventually([&] { return server_->running_uploads() == 0; }))
        << "a cancelled upload holds its slot";
  }
  EXPECT_FALSE(remote.has_keys(m, client.key_id()));
  EXPECT_FALSE(admin_->key_owner(core::to_hex(client.key_id())).has_value());
  remote.upload_keys(m, client.key_id(), keys);
  EXPECT_EQ(remote.evaluate(m, client, client.encrypt({data().test[0]})).budget.used, 1u);
}
