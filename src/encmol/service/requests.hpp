// The checks of the service's request messages, run before any work: model
// name, plan hash, key id, request id, sizes, and the decoding of the query
// with the same `secure` checks as the files. calls.cpp answers a call with
// them; fuzz/service_messages_fuzz.cpp feeds them hostile messages. A failed
// check throws Refusal (a gRPC status and the metrics' outcome) or one of
// encmol's errors (a query that does not decode: FormatError and friends).
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "encmol/core/binary.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/secure/roles.hpp"
#include "encmol/service/metrics.hpp"
#include "encmol/service/proto/encmol_service_v1.pb.h"

namespace encmol::service {

/// One model as served: its plan compiled into a secure::Server (no budget
/// of its own: the store charges) and its card.
struct ServedModel {
  std::string name;
  std::shared_ptr<const ml::Model> model;
  std::unique_ptr<secure::Server> server;
  core::Bytes card;  // CARD envelope
  std::uint64_t default_budget = 0;
};

using ServedModels = std::map<std::string, ServedModel>;

/// A refused call: its status and how the metrics count it.
struct Refusal {
  grpc::Status status;
  Outcome outcome;
};

[[noreturn]] void refuse(grpc::StatusCode code, const std::string& message, Outcome outcome);

/// Largest data field of one key chunk.
inline constexpr std::size_t kMaxKeyChunkBytes = std::size_t{4} << 20;

/// A 32-byte digest field (Refusal naming `what` otherwise).
core::Digest digest_of(const std::string& bytes, const char* what);
std::string hex_of(const std::string& bytes);
std::span<const std::uint8_t> bytes_of(const std::string& s);

/// The bearer token of an `authorization` metadata value "Bearer <token>"
/// (Refusal UNAUTHENTICATED otherwise; the token itself is checked by the store).
std::string bearer_token(std::string_view authorization);

/// The model of that name; the only one when the name is empty and one is served.
ServedModel& model_named(ServedModels& models, const std::string& name);
/// The model a key reference names, after checking its plan hash and key id.
ServedModel& checked_model(ServedModels& models, const v1::KeyRef& ref);

/// An Evaluate request that passed every check.
struct CheckedEvaluate {
  ServedModel* model = nullptr;
  std::string key;  // the key id in lower-case hex
  secure::Query query;
};
CheckedEvaluate check_evaluate(ServedModels& models, const v1::EvaluateRequest& request,
                               std::uint64_t max_query_bytes);

/// The first chunk of an upload that passed every check.
struct CheckedUpload {
  ServedModel* model = nullptr;
  std::string key;  // hex
  core::Digest key_id{};
  std::uint64_t total_bytes = 0;
};
CheckedUpload check_upload_start(ServedModels& models, const v1::KeyChunk& first,
                                 std::uint64_t max_key_bytes);
/// One more chunk of an upload that has `received` bytes so far.
void check_upload_chunk(const CheckedUpload& upload, const v1::KeyChunk& chunk,
                        std::uint64_t received);

}  // namespace encmol::service
