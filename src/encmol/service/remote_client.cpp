#include "encmol/service/remote_client.hpp"

#include <grpcpp/grpcpp.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "encmol/secure/wire.hpp"
#include "encmol/service/proto/encmol_service_v1.grpc.pb.h"

namespace encmol::service {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{4} << 20;

[[noreturn]] void fail(const grpc::Status& status, const std::string& what) {
  std::string message = what + ": " + status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE)
    message += " (is the server running, and do its address and certificate match?)";
  throw ServiceError(static_cast<int>(status.error_code()), message);
}

bool transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

RemoteBudget budget_of(const v1::BudgetReply& b) {
  return {b.model(), b.limit(), b.used(), b.remaining()};
}

std::string as_string(const core::Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

struct RemoteClient::Impl {
  RemoteOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Encmol::Stub> stub;

  void prepare(grpc::ClientContext& context, double timeout_seconds) const {
    if (!options.token.empty()) context.AddMetadata("authorization", "Bearer " + options.token);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(static_cast<long long>(timeout_seconds * 1e3)));
  }
};

RemoteClient::RemoteClient(RemoteOptions options) : impl_(std::make_unique<Impl>()) {
  if (options.address.empty()) throw InputError("--server: give HOST:PORT");
  if (options.token.empty() && options.tls.certificate.empty())
    throw InputError("authenticate with --token-file (or ENCMOL_TOKEN) or --cert and --key");
  impl_->options = options;
  grpc::ChannelArguments args;
  const int cap = static_cast<int>(std::min<std::uint64_t>(options.max_message_bytes, INT32_MAX));
  args.SetMaxReceiveMessageSize(cap);
  args.SetMaxSendMessageSize(cap);
  if (!options.tls.server_name.empty()) args.SetSslTargetNameOverride(options.tls.server_name);
  impl_->channel =
      grpc::CreateCustomChannel(options.address, channel_credentials(options.tls), args);
  impl_->stub = v1::Encmol::NewStub(impl_->channel);
}

RemoteClient::~RemoteClient() = default;

RemoteHealth RemoteClient::health() {
  grpc::ClientContext context;
  impl_->prepare(context, 30);
  v1::HealthReply reply;
  const auto status = impl_->stub->Health(&context, v1::HealthRequest{}, &reply);
  if (!status.ok()) fail(status, "health check");
  return {reply.protocol_version(), reply.server_version(), reply.queue_depth(), reply.workers()};
}

std::vector<RemoteModel> RemoteClient::models() {
  grpc::ClientContext context;
  impl_->prepare(context, 60);
  v1::ListModelsReply reply;
  const auto status = impl_->stub->ListModels(&context, v1::ListModelsRequest{}, &reply);
  if (!status.ok()) fail(status, "listing the server's models");
  std::vector<RemoteModel> out;
  for (const auto& m : reply.models()) {
    RemoteModel r;
    r.name = m.name();
    r.card_envelope.assign(m.card().begin(), m.card().end());
    r.card = secure::ModelCard::decode(r.card_envelope, "card of model '" + r.name + "'");
    if (as_string(r.card.plan_hash()) != m.plan_hash())
      throw FormatError("the server's card of model '" + r.name +
                        "' does not have the plan hash it announces");
    r.default_budget = m.default_budget();
    out.push_back(std::move(r));
  }
  return out;
}

RemoteModel RemoteClient::model(const std::string& name) {
  auto all = models();
  if (name.empty() && all.size() == 1) return std::move(all.front());
  std::string offered;
  for (auto& m : all) {
    if (m.name == name) return std::move(m);
    offered += (offered.empty() ? "" : ", ") + m.name;
  }
  throw InputError((name.empty() ? std::string("the server offers several models")
                                 : "the server offers no model '" + name + "'") +
                   "; --model one of: " + offered);
}

bool RemoteClient::has_keys(const RemoteModel& model, const core::Digest& key_id) {
  grpc::ClientContext context;
  impl_->prepare(context, 60);
  v1::KeyRef ref;
  ref.set_model(model.name);
  ref.set_plan_hash(as_string(model.card.plan_hash()));
  ref.set_key_id(as_string(key_id));
  v1::HasKeysReply reply;
  const auto status = impl_->stub->HasKeys(&context, ref, &reply);
  if (!status.ok()) fail(status, "asking for the evaluation keys");
  return reply.present();
}

void RemoteClient::upload_keys(const RemoteModel& model, const core::Digest& key_id,
                               std::span<const std::uint8_t> envelope,
                               const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  grpc::ClientContext context;
  impl_->prepare(context, impl_->options.call_timeout_seconds);
  v1::UploadKeysReply reply;
  auto writer = impl_->stub->UploadKeys(&context, &reply);
  std::size_t sent = 0;
  bool first = true;
  while (first || sent < envelope.size()) {
    v1::KeyChunk chunk;
    if (first) {
      auto* ref = chunk.mutable_key();
      ref->set_model(model.name);
      ref->set_plan_hash(as_string(model.card.plan_hash()));
      ref->set_key_id(as_string(key_id));
      chunk.set_total_bytes(envelope.size());
      first = false;
    }
    const std::size_t n = std::min(kChunkBytes, envelope.size() - sent);
    chunk.set_data(reinterpret_cast<const char*>(envelope.data() + sent), n);
    if (!writer->Write(chunk)) break;  // the server ended the call: its status says why
    sent += n;
    if (progress) progress(sent, envelope.size());
  }
  writer->WritesDone();
  const auto status = writer->Finish();
  if (!status.ok()) fail(status, "uploading the evaluation keys");
}

RemoteAnswer RemoteClient::evaluate(const RemoteModel& model, const secure::Client& client,
                                    const secure::Query& query) {
  return evaluate(model, client, query, new_request_id());
}

RemoteAnswer RemoteClient::evaluate(const RemoteModel& model, const secure::Client& client,
                                    const secure::Query& query, const std::string& request_id) {
  v1::EvaluateRequest request;
  auto* ref = request.mutable_key();
  ref->set_model(model.name);
  ref->set_plan_hash(as_string(model.card.plan_hash()));
  ref->set_key_id(as_string(client.key_id()));
  request.set_request_id(request_id);
  const core::Bytes bytes = query.encode(*client.context());
  request.set_query(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  double backoff = 0.5;
  for (unsigned attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    impl_->prepare(context, impl_->options.call_timeout_seconds);
    v1::EvaluateReply reply;
    const auto status = impl_->stub->Evaluate(&context, request, &reply);
    if (status.ok()) {
      RemoteAnswer a;
      a.result = secure::Result::decode(
          std::span(reinterpret_cast<const std::uint8_t*>(reply.result().data()),
                    reply.result().size()),
          *client.context(), client.card().plan.queries, "the server's result");
      a.budget = budget_of(reply.budget());
      a.replayed = reply.replayed();
      a.server_seconds = reply.server_seconds();
      a.attempts = attempt;
      return a;
    }
    const auto& trailers = context.GetServerTrailingMetadata();
    const auto hint = trailers.find("encmol-retry-after-ms");
    // RESOURCE_EXHAUSTED without the server's hint is either gRPC's own
    // overload refusal ("Server Threadpool Exhausted", when more calls arrive
    // than it has threads: transient, retried with backoff) or a message over
    // a size limit ("... larger than max ...": retrying cannot help).
    const bool too_large = status.error_message().find("larger than max") != std::string::npos;
    const bool retry =
        transient(status.error_code()) &&
        (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || hint != trailers.end() ||
         !too_large);
    if (!retry || attempt >= impl_->options.max_attempts) fail(status, "evaluating the query");
    double wait = backoff;
    if (const auto it = hint; it != trailers.end()) {
      try {
        wait = std::stod(std::string(it->second.data(), it->second.size())) / 1000.0;
      } catch (const std::exception&) {
      }
    }
    wait = std::clamp(wait, 0.05, 120.0);
    spdlog::warn("the server answered '{}'; retrying in {:.1f} s (attempt {} of {})",
                 status.error_message(), wait, attempt + 1, impl_->options.max_attempts);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long long>(wait * 1e3)));
    backoff = std::min(backoff * 2, 30.0);
  }
}

RemoteBudget RemoteClient::budget(const std::string& model) {
  grpc::ClientContext context;
  impl_->prepare(context, 60);
  v1::BudgetRequest request;
  request.set_model(model);
  v1::BudgetReply reply;
  const auto status = impl_->stub->GetBudget(&context, request, &reply);
  if (!status.ok()) fail(status, "asking for the budget");
  return budget_of(reply);
}

std::string new_request_id() {
  std::uint8_t bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  return core::to_hex(std::span(bytes, sizeof bytes));
}

}  // namespace encmol::service
