// The service's request messages, as the server checks them before any work
// (service/requests.hpp), against one served model (service_model.hpp). The
// first byte selects: 0 an Evaluate request, 1 an upload's first chunk, 2 a
// later chunk (second byte: bytes received so far, in KiB), 3 a key
// reference, 4 an `authorization` metadata value; the rest is the protobuf
// message (the text for 4). Invariants of what passes: an Evaluate names the
// served plan and a query under its own key id, with 1 to the plan's
// molecules per ciphertext in each ciphertext; an upload announces 1 to the
// cap bytes and no chunk goes past it; a bearer token is the text after
// "Bearer ", and one that parses as a token formats back to itself.
#include "encmol/service/requests.hpp"
#include "encmol/service/token.hpp"
#include "fuzz_util.hpp"
#include "service_model.hpp"

using namespace encmol;

namespace {

constexpr std::uint64_t kMaxQueryBytes = std::uint64_t{1} << 24;
constexpr std::uint64_t kMaxKeyBytes = std::uint64_t{1} << 30;

template <class Message>
bool parse(Message& message, std::span<const std::uint8_t> bytes) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

// Builds the served model (training, keys: seconds on a loaded machine)
// before the first input, so that input's time limit measures the checks only.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::served_models();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  service::ServedModels& models = fuzz::served_models();
  const secure::Server& served = *models.begin()->second.server;
  const auto body = fuzz::bytes(data + 2, size - 2);
  try {
    switch (data[0] % 5) {
      case 0: {
        service::v1::EvaluateRequest request;
        if (!parse(request, body)) return 0;
        const service::CheckedEvaluate c = service::check_evaluate(models, request, kMaxQueryBytes);
        fuzz::check(c.model->server->card().plan_hash() ==
                        service::digest_of(request.key().plan_hash(), "plan"),
                    "an Evaluate for another plan passed");
        fuzz::check(c.query.key_id == service::digest_of(request.key().key_id(), "key"),
                    "a query under another key passed");
        const std::size_t per = served.plan().queries;
        fuzz::check(c.query.molecules >= 1 &&
                        c.query.ciphertexts.size() == (c.query.molecules + per - 1) / per,
                    "a query's molecule count does not fit its ciphertexts");
        fuzz::check(c.key == service::hex_of(request.key().key_id()), "the key id's hex differs");
        break;
      }
      case 1: {
        service::v1::KeyChunk first;
        if (!parse(first, body)) return 0;
        const service::CheckedUpload u = service::check_upload_start(models, first, kMaxKeyBytes);
        fuzz::check(u.total_bytes >= 1 && u.total_bytes <= kMaxKeyBytes,
                    "an upload of an out-of-range size passed");
        fuzz::check(u.model->server->card().plan_hash() ==
                        service::digest_of(first.key().plan_hash(), "plan"),
                    "an upload for another plan passed");
        break;
      }
      case 2: {
        service::v1::KeyChunk chunk;
        if (!parse(chunk, body)) return 0;
        service::CheckedUpload upload;
        upload.total_bytes = std::uint64_t{1} << 20;
        const std::uint64_t received = std::uint64_t{data[1]} << 10;
        service::check_upload_chunk(upload, chunk, received);
        fuzz::check(received + chunk.data().size() <= upload.total_bytes &&
                        chunk.data().size() <= service::kMaxKeyChunkBytes,
                    "a chunk past the announced size passed");
        break;
      }
      case 3: {
        service::v1::KeyRef ref;
        if (!parse(ref, body)) return 0;
        const service::ServedModel& m = service::checked_model(models, ref);
        fuzz::check(ref.model().empty() || ref.model() == m.name, "another model's name passed");
        fuzz::check(ref.key_id().size() == 32, "a key id of the wrong size passed");
        break;
      }
      default: {
        const std::string_view text = fuzz::text(data + 2, size - 2);
        const std::string token = service::bearer_token(text);
        fuzz::check(text.substr(0, 7) == "Bearer " && token == text.substr(7),
                    "the token is not the text after 'Bearer '");
        if (const auto parsed = service::token::parse(token)) {
          std::string again = "emt_" + parsed->id + "_";
          again += core::to_hex(parsed->secret);
          fuzz::check(again == token, "a parsed token does not format back to itself");
        }
        break;
      }
    }
  } catch (const service::Refusal&) {
  } catch (const Error&) {
  }
  return 0;
}
