// The RPC handlers of `encmol serve` (server.hpp, proto/encmol_service_v1.proto).
// Every call authenticates first, validates every field before any work, and
// maps encmol's errors onto gRPC status codes (docs/service.md):
//   InputError, FormatError, ParameterError -> INVALID_ARGUMENT
//   another identity's key, budget exhausted -> PERMISSION_DENIED
//   keys not uploaded                        -> FAILED_PRECONDITION
//   queue full, uploads busy                 -> RESOURCE_EXHAUSTED + retry hint
// Logs name the call, identity, model, counts and outcome, never keys, tokens
// or values.
#include <spdlog/spdlog.h>

#include <chrono>
#include <shared_mutex>
#include <string_view>
#include <utility>

#include "encmol/core/error.hpp"
#include "encmol/service/server_impl.hpp"

#ifndef ENCMOL_VERSION
#define ENCMOL_VERSION "unknown"
#endif

namespace encmol::service {
namespace {

using Clock = std::chrono::steady_clock;

/// Trailing metadata key of the retry hint sent with RESOURCE_EXHAUSTED.
constexpr const char* kRetryAfterKey = "encmol-retry-after-ms";
constexpr std::int64_t kPruneEverySeconds = 600;
constexpr auto kMaxUploadTime = std::chrono::hours(1);

bool past_deadline(grpc::ServerContext* context) {
  return context->IsCancelled() || context->deadline() < std::chrono::system_clock::now();
}

// Runs one call: times it, turns exceptions into statuses, counts it.
template <class Body>
grpc::Status handle(Server::Impl& s, const char* method, grpc::ServerContext* context, Body body) {
  const auto t0 = Clock::now();
  grpc::Status status;
  Outcome outcome = Outcome::ok;
  std::string identity;
  try {
    body(identity);
  } catch (const Refusal& r) {
    status = r.status;
    outcome = r.outcome;
  } catch (const BudgetExhausted& e) {
    status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, e.what());
    outcome = Outcome::budget;
  } catch (const SecurityError& e) {
    status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, e.what());
    outcome = Outcome::denied;
  } catch (const IoError& e) {
    // A busy or unreachable database, a full disk: transient, and retrying
    // is safe (a request id is answered and charged once).
    spdlog::warn("call={} identity={} unavailable: {}", method, identity.empty() ? "-" : identity,
                 e.what());
    status =
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server's storage is unavailable; retry");
    outcome = Outcome::error;
  } catch (const Error& e) {
    // InputError, FormatError, ParameterError: the request was at fault.
    status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what());
    outcome = Outcome::invalid;
  } catch (const std::bad_alloc&) {
    status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "the server is out of memory");
    outcome = Outcome::error;
  } catch (const std::exception& e) {
    spdlog::error("call={} identity={} internal error: {}", method, identity, e.what());
    status = grpc::Status(grpc::StatusCode::INTERNAL, "internal error (logged on the server)");
    outcome = Outcome::error;
  } catch (...) {
    spdlog::error("call={} identity={} internal error of unknown type", method, identity);
    status = grpc::Status(grpc::StatusCode::INTERNAL, "internal error (logged on the server)");
    outcome = Outcome::error;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  s.metrics->request(method, outcome, seconds);
  if (outcome != Outcome::ok)
    spdlog::info("call={} identity={} outcome={} seconds={:.3f} message=\"{}\"", method,
                 identity.empty() ? "-" : identity, outcome_name(outcome), seconds,
                 status.error_message());
  (void)context;
  return status;
}

// The caller's identity: the verified client certificate's common name, else
// a bearer token. A certificate and a token of two identities are refused.
std::string identify(Server::Impl& s,
                     const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                     const grpc::AuthContext* auth) {
  std::string from_certificate;
  if (auth != nullptr) {
    const auto names = auth->FindPropertyValues("x509_common_name");
    if (!names.empty()) {
      from_certificate.assign(names.front().data(), names.front().size());
      if (!s.store->identity_enabled(from_certificate))
        refuse(grpc::StatusCode::UNAUTHENTICATED,
               "the client certificate's common name is not a registered, enabled identity "
               "(encmol admin identity add / enable)",
               Outcome::unauthenticated);
    }
  }
  std::string from_token;
  if (const auto it = metadata.find("authorization"); it != metadata.end()) {
    const auto who =
        s.store->authenticate(bearer_token(std::string_view(it->second.data(), it->second.size())));
    if (!who)
      refuse(grpc::StatusCode::UNAUTHENTICATED,
             "unknown or revoked token, or its identity is disabled", Outcome::unauthenticated);
    from_token = *who;
  }
  if (!from_certificate.empty() && !from_token.empty() && from_certificate != from_token)
    refuse(grpc::StatusCode::UNAUTHENTICATED,
           "the client certificate and the token belong to two identities",
           Outcome::unauthenticated);
  if (!from_certificate.empty()) return from_certificate;
  if (!from_token.empty()) return from_token;
  refuse(grpc::StatusCode::UNAUTHENTICATED,
         "authenticate with a client certificate or 'authorization: Bearer <token>'",
         Outcome::unauthenticated);
}

std::string authenticate(Server::Impl& s, grpc::ServerContext* context) {
  const auto auth = context->auth_context();
  return identify(s, context->client_metadata(), auth.get());
}

void fill_budget(const BudgetStatus& b, v1::BudgetReply* reply) {
  reply->set_model(b.model);
  reply->set_limit(b.limit);
  reply->set_used(b.used);
  reply->set_remaining(b.limit == 0 ? 0 : b.limit - std::min(b.limit, b.used));
}

}  // namespace

namespace {

// The stored answer of an earlier try of this request, if there is one. The
// id must name the same query (model, key, molecule count and the query's
// sealed names, which are fresh random bytes per query), else the request is
// refused: a reused id must never return the answers of other molecules.
bool replay(Server::Impl& s, ServedModel& m, const std::string& identity, const std::string& key,
            const secure::Query& query, const v1::EvaluateRequest& request,
            v1::EvaluateReply* reply) {
  auto earlier = s.store->find_answer(identity, request.request_id());
  if (!earlier) return false;
  bool same =
      earlier->model == m.name && earlier->key_id == key && earlier->molecules == query.molecules;
  if (same) {
    const secure::Result result = secure::Result::decode(earlier->result, *m.server->context(),
                                                         m.server->plan().queries, "stored answer");
    same = result.sealed_names == query.sealed_names;
  }
  if (!same)
    refuse(grpc::StatusCode::INVALID_ARGUMENT,
           "this request id was used for another query: choose a new one", Outcome::invalid);
  reply->set_result(earlier->result.data(), earlier->result.size());
  reply->set_replayed(true);
  fill_budget(s.store->budget(identity, m.name, m.default_budget), reply->mutable_budget());
  return true;
}

// Runs the same checks as authenticate() on a call's metadata before gRPC
// reads its message, so an unauthenticated caller cannot make the server
// buffer a large message. The handler identifies the caller again: the auth
// context is per connection, so nothing per call is stored in it.
class AuthGate final : public grpc::AuthMetadataProcessor {
 public:
  explicit AuthGate(std::shared_ptr<AuthGateLink> link) : link_(std::move(link)) {}
  bool IsBlocking() const override { return true; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    std::shared_lock lock(link_->mutex);
    if (link_->impl == nullptr)
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
    Server::Impl& s = *link_->impl;
    try {
      identify(s, metadata, context);
      return grpc::Status::OK;
    } catch (const Refusal& r) {
      s.metrics->request("auth", r.outcome, 0);
      return r.status;
    } catch (const std::exception&) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server cannot check credentials now");
    }
  }

 private:
  std::shared_ptr<AuthGateLink> link_;
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> make_auth_gate(std::shared_ptr<AuthGateLink> link) {
  return std::make_shared<AuthGate>(std::move(link));
}

grpc::Status Calls::Health(grpc::ServerContext* context, const v1::HealthRequest*,
                           v1::HealthReply* reply) {
  return handle(impl_, "Health", context, [&](std::string& identity) {
    identity = authenticate(impl_, context);
    reply->set_protocol_version(kProtocolVersion);
    reply->set_server_version(ENCMOL_VERSION);
    reply->set_queue_depth(impl_.admission->waiting());
    reply->set_workers(impl_.admission->workers());
  });
}

grpc::Status Calls::ListModels(grpc::ServerContext* context, const v1::ListModelsRequest*,
                               v1::ListModelsReply* reply) {
  return handle(impl_, "ListModels", context, [&](std::string& identity) {
    identity = authenticate(impl_, context);
    for (const auto& [name, m] : impl_.models) {
      auto* info = reply->add_models();
      info->set_name(name);
      info->set_card(m.card.data(), m.card.size());
      const auto hash = m.server->card().plan_hash();
      info->set_plan_hash(hash.data(), hash.size());
      info->set_default_budget(m.default_budget);
    }
  });
}

grpc::Status Calls::HasKeys(grpc::ServerContext* context, const v1::KeyRef* request,
                            v1::HasKeysReply* reply) {
  return handle(impl_, "HasKeys", context, [&](std::string& identity) {
    identity = authenticate(impl_, context);
    checked_model(impl_.models, *request);
    const std::string key = hex_of(request->key_id());
    const auto owner = impl_.store->key_owner(key);
    reply->set_present(owner && *owner == identity && impl_.keys->contains(identity, key));
  });
}

grpc::Status Calls::UploadKeys(grpc::ServerContext* context,
                               grpc::ServerReader<v1::KeyChunk>* reader,
                               v1::UploadKeysReply* reply) {
  return handle(impl_, "UploadKeys", context, [&](std::string& identity) {
    identity = authenticate(impl_, context);
    // A stalled upload must not hold a slot (or shutdown) forever: it needs a
    // deadline, which gRPC then enforces by cancelling the stream.
    if (context->deadline() > std::chrono::system_clock::now() + kMaxUploadTime)
      refuse(grpc::StatusCode::INVALID_ARGUMENT,
             "key uploads must set a deadline of at most one hour", Outcome::invalid);
    v1::KeyChunk chunk;
    if (!reader->Read(&chunk))
      refuse(grpc::StatusCode::INVALID_ARGUMENT, "the first chunk must name the key",
             Outcome::invalid);
    const CheckedUpload upload = check_upload_start(
        impl_.models, chunk, std::min(impl_.options.max_key_bytes, impl_.keys->max_entry_bytes()));
    ServedModel& m = *upload.model;
    const std::string& key = upload.key;
    if (const auto owner = impl_.store->key_owner(key); owner && *owner != identity)
      refuse(grpc::StatusCode::PERMISSION_DENIED, "this key id belongs to another identity",
             Outcome::denied);
    // Each upload buffers its keys: bound how many run at once.
    if (impl_.uploads.fetch_add(1) >= impl_.options.max_uploads) {
      impl_.uploads.fetch_sub(1);
      context->AddTrailingMetadata(kRetryAfterKey, "5000");
      refuse(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many key uploads at once; retry later",
             Outcome::overloaded);
    }
    struct Release {
      std::atomic<unsigned>& n;
      ~Release() { n.fetch_sub(1); }
    } release{impl_.uploads};
    std::string buffer;
    do {
      check_upload_chunk(upload, chunk, buffer.size());
      buffer += chunk.data();
      if (past_deadline(context))
        refuse(grpc::StatusCode::DEADLINE_EXCEEDED, "upload cancelled", Outcome::invalid);
    } while (reader->Read(&chunk));
    if (buffer.size() != upload.total_bytes)
      refuse(grpc::StatusCode::INVALID_ARGUMENT,
             "the upload ended after " + std::to_string(buffer.size()) + " of " +
                 std::to_string(upload.total_bytes) + " bytes",
             Outcome::invalid);
    const auto bytes = bytes_of(buffer);
    const secure::EvalKeys keys =
        secure::EvalKeys::decode(bytes, *m.server->context(), "uploaded evaluation keys");
    m.server->check_keys(keys);
    if (keys.key_id != upload.key_id)
      refuse(grpc::StatusCode::INVALID_ARGUMENT, "the keys' id differs from the announced one",
             Outcome::invalid);
    impl_.store->claim_key(identity, key);
    impl_.keys->put(identity, key, bytes);
    reply->set_bytes(buffer.size());
    spdlog::info("call=UploadKeys identity={} model={} key={} bytes={}", identity, m.name,
                 key.substr(0, 16), buffer.size());
  });
}

grpc::Status Calls::Evaluate(grpc::ServerContext* context, const v1::EvaluateRequest* request,
                             v1::EvaluateReply* reply) {
  return handle(impl_, "Evaluate", context, [&](std::string& identity) {
    identity = authenticate(impl_, context);
    const CheckedEvaluate checked =
        check_evaluate(impl_.models, *request, impl_.options.max_query_bytes);
    ServedModel& m = *checked.model;
    const std::string& key = checked.key;
    const secure::Query& query = checked.query;
    // A retry of an answered request gets the stored answer, charged once.
    if (replay(impl_, m, identity, key, query, *request, reply)) return;
    const auto owner = impl_.store->key_owner(key);
    if (owner && *owner != identity)
      refuse(grpc::StatusCode::PERMISSION_DENIED, "this key id belongs to another identity",
             Outcome::denied);
    if (!owner || !impl_.keys->contains(identity, key))
      refuse(grpc::StatusCode::FAILED_PRECONDITION,
             "the server does not hold these evaluation keys: upload them first", Outcome::invalid);
    const BudgetStatus before = impl_.store->budget(identity, m.name, m.default_budget);
    if (before.limit > 0 && before.used + query.molecules > before.limit)
      throw BudgetExhausted("query budget exhausted for model '" + m.name +
                            "': " + std::to_string(before.used) + " of " +
                            std::to_string(before.limit) + " molecules used, this query asks for " +
                            std::to_string(query.molecules));

    switch (impl_.admission->acquire([&] { return past_deadline(context); })) {
      case Admission::Entry::admitted:
        break;
      case Admission::Entry::overloaded:
        context->AddTrailingMetadata(kRetryAfterKey,
                                     std::to_string(impl_.admission->retry_hint().count()));
        refuse(grpc::StatusCode::RESOURCE_EXHAUSTED,
               "all workers are busy and the queue is full; retry after the hinted time",
               Outcome::overloaded);
      case Admission::Entry::cancelled:
        refuse(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed while queued",
               Outcome::overloaded);
    }
    AdmissionSlot slot(*impl_.admission);
    impl_.metrics->queue_depth(impl_.admission->waiting());
    const auto keys = impl_.keys->get(identity, key, [&](std::span<const std::uint8_t> b) {
      return secure::EvalKeys::decode(b, *m.server->context(), "cached evaluation keys");
    });
    impl_.metrics->key_cache(keys != nullptr);
    if (!keys)
      refuse(grpc::StatusCode::FAILED_PRECONDITION,
             "the server no longer holds these evaluation keys: upload them again",
             Outcome::invalid);
    const secure::Result result = m.server->answer(query, *keys);
    impl_.admission->record_evaluation(result.server_seconds);
    // A caller that gave up is not charged; its retry is evaluated afresh.
    if (past_deadline(context))
      refuse(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed during the evaluation",
             Outcome::invalid);
    Answer answer;
    answer.request_id = request->request_id();
    answer.identity = identity;
    answer.model = m.name;
    answer.key_id = key;
    answer.molecules = query.molecules;
    answer.result = result.encode(*m.server->context());
    BudgetStatus after;
    try {
      after = impl_.store->record_answer(answer, m.default_budget);
    } catch (const InputError&) {
      // The same request id sent twice at once: the other copy was recorded
      // first, so this one replies with its answer (charged once).
      if (!replay(impl_, m, identity, key, query, *request, reply)) throw;
      return;
    }
    impl_.metrics->molecules(m.name, static_cast<double>(query.molecules));
    reply->set_result(answer.result.data(), answer.result.size());
    reply->set_server_seconds(result.server_seconds);
    fill_budget(after, reply->mutable_budget());
    spdlog::info(
        "call=Evaluate identity={} model={} molecules={} ciphertexts={} seconds={:.3f} "
        "budget_used={}",
        identity, m.name, query.molecules, query.ciphertexts.size(), result.server_seconds,
        after.used);
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = impl_.last_prune.load();
    if (now - last > kPruneEverySeconds && impl_.last_prune.compare_exchange_strong(last, now))
      impl_.store->prune_answers(impl_.options.answer_retention_seconds);
  });
}

grpc::Status Calls::GetBudget(grpc::ServerContext* context, const v1::BudgetRequest* request,
                              v1::BudgetReply* reply) {
  return handle(impl_, "GetBudget", context, [&](std::string& identity) {
    identity = authenticate(impl_, context);
    ServedModel& m = model_named(impl_.models, request->model());
    fill_budget(impl_.store->budget(identity, m.name, m.default_budget), reply);
  });
}

}  // namespace encmol::service
