#include "encmol/service/requests.hpp"

#include <algorithm>

#include "encmol/core/error.hpp"
#include "encmol/secure/wire.hpp"
#include "encmol/service/store_internal.hpp"

namespace encmol::service {

void refuse(grpc::StatusCode code, const std::string& message, Outcome outcome) {
  throw Refusal{grpc::Status(code, message), outcome};
}

core::Digest digest_of(const std::string& bytes, const char* what) {
  core::Digest d{};
  if (bytes.size() != d.size())
    refuse(grpc::StatusCode::INVALID_ARGUMENT,
           std::string(what) + " must be 32 bytes, got " + std::to_string(bytes.size()),
           Outcome::invalid);
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}

std::string hex_of(const std::string& bytes) { return core::to_hex(bytes_of(bytes)); }

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string bearer_token(std::string_view authorization) {
  constexpr std::string_view bearer = "Bearer ";
  if (authorization.size() > 1024 || authorization.substr(0, bearer.size()) != bearer)
    refuse(grpc::StatusCode::UNAUTHENTICATED, "authorization metadata must be 'Bearer <token>'",
           Outcome::unauthenticated);
  return std::string(authorization.substr(bearer.size()));
}

ServedModel& model_named(ServedModels& models, const std::string& name) {
  if (name.empty() && models.size() == 1) return models.begin()->second;
  const auto it = models.find(name);
  if (it == models.end())
    refuse(grpc::StatusCode::NOT_FOUND,
           name.empty()                     ? "this server offers several models: name one"
           : detail::valid_model_name(name) ? "no model named '" + name + "' here"
                                            : "no such model (names are 1-128 of [A-Za-z0-9._-])",
           Outcome::invalid);
  return it->second;
}

ServedModel& checked_model(ServedModels& models, const v1::KeyRef& ref) {
  ServedModel& m = model_named(models, ref.model());
  const core::Digest plan = digest_of(ref.plan_hash(), "plan_hash");
  if (plan != m.server->card().plan_hash())
    refuse(grpc::StatusCode::FAILED_PRECONDITION,
           "the request was made for another card of model '" + m.name + "' (plan " +
               secure::wire::short_hex(plan) + ", served " +
               secure::wire::short_hex(m.server->card().plan_hash()) +
               "): fetch the current card and make new keys",
           Outcome::invalid);
  digest_of(ref.key_id(), "key_id");
  return m;
}

CheckedEvaluate check_evaluate(ServedModels& models, const v1::EvaluateRequest& request,
                               std::uint64_t max_query_bytes) {
  CheckedEvaluate out;
  out.model = &checked_model(models, request.key());
  out.key = hex_of(request.key().key_id());
  if (!valid_request_id(request.request_id()))
    refuse(grpc::StatusCode::INVALID_ARGUMENT, "request_id must be 16-128 of [A-Za-z0-9_-]",
           Outcome::invalid);
  if (request.query().size() > max_query_bytes)
    refuse(grpc::StatusCode::INVALID_ARGUMENT, "query larger than this server takes",
           Outcome::invalid);
  const secure::Server& server = *out.model->server;
  out.query = secure::Query::decode(bytes_of(request.query()), *server.context(),
                                    server.plan().queries, "query");
  if (out.query.key_id != digest_of(request.key().key_id(), "key_id"))
    refuse(grpc::StatusCode::INVALID_ARGUMENT, "the query was encrypted under another key",
           Outcome::invalid);
  return out;
}

CheckedUpload check_upload_start(ServedModels& models, const v1::KeyChunk& first,
                                 std::uint64_t max_key_bytes) {
  if (!first.has_key())
    refuse(grpc::StatusCode::INVALID_ARGUMENT, "the first chunk must name the key",
           Outcome::invalid);
  CheckedUpload out;
  out.model = &checked_model(models, first.key());
  out.key = hex_of(first.key().key_id());
  out.key_id = digest_of(first.key().key_id(), "key_id");
  out.total_bytes = first.total_bytes();
  if (out.total_bytes == 0 || out.total_bytes > max_key_bytes)
    refuse(grpc::StatusCode::INVALID_ARGUMENT,
           "evaluation keys of " + std::to_string(out.total_bytes) +
               " bytes: this server takes 1 to " + std::to_string(max_key_bytes),
           Outcome::invalid);
  return out;
}

void check_upload_chunk(const CheckedUpload& upload, const v1::KeyChunk& chunk,
                        std::uint64_t received) {
  if (chunk.data().size() > kMaxKeyChunkBytes)
    refuse(grpc::StatusCode::INVALID_ARGUMENT, "key chunks are at most 4 MiB", Outcome::invalid);
  if (received + chunk.data().size() > upload.total_bytes)
    refuse(grpc::StatusCode::INVALID_ARGUMENT, "more key bytes than announced", Outcome::invalid);
}

}  // namespace encmol::service
