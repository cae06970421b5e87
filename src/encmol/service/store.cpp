#include "encmol/service/store.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>

#include "encmol/service/postgres_store.hpp"
#include "encmol/service/sqlite_store.hpp"
#include "encmol/service/store_internal.hpp"

namespace encmol::service {

bool valid_identity_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '@' || c == '-';
  });
}

bool valid_request_id(const std::string& id) {
  if (id.size() < 16 || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_' || c == '-'; });
}

std::unique_ptr<Store> open_store(const std::string& url) {
  const std::string sqlite = "sqlite:";
  if (url.rfind(sqlite, 0) == 0) {
    const std::string path = url.substr(sqlite.size());
    // "sqlite://x" would silently mean the absolute path "//x".
    if (path.empty() || path.rfind("//", 0) == 0)
      throw InputError("state database \"" + url +
                       "\": write sqlite:PATH with a file path, e.g. sqlite:state.db or "
                       "sqlite:/var/lib/encmol/state.db");
    return open_sqlite_store(path);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return open_postgres_store(url);
  // Only the scheme is echoed: the rest may hold a password.
  const std::string scheme = url.substr(0, std::min(url.find(':'), std::size_t{32}));
  throw InputError("state database \"" + scheme +
                   "...\" not understood: use sqlite:PATH (one file, the default) or "
                   "postgresql://USER@HOST:PORT/DATABASE (a libpq URI; also postgres://)");
}

namespace detail {

bool valid_model_name(const std::string& model) {
  if (model.empty() || model.size() > 128) return false;
  return std::all_of(model.begin(), model.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
}

bool valid_key_id(const std::string& key_id) {
  return key_id.size() == 64 && std::all_of(key_id.begin(), key_id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void check_identity(const std::string& name) {
  if (!valid_identity_name(name))
    throw InputError("invalid identity name \"" + name.substr(0, 80) +
                     "\": use 1-64 characters of [A-Za-z0-9._@-]");
}

void check_new_identity(const std::string& name) {
  check_identity(name);
  if (name == "." || name == "..")
    throw InputError("identity name \"" + name + "\" is reserved: choose another name");
}

void check_model(const std::string& model) {
  if (!valid_model_name(model))
    throw InputError("invalid model name \"" + model.substr(0, 80) +
                     "\": use 1-128 characters of [A-Za-z0-9._-]");
}

void check_key_id(const std::string& key_id) {
  if (!valid_key_id(key_id))
    throw InputError("invalid key id \"" + key_id.substr(0, 80) +
                     "\": a key id is 64 lower-case hexadecimal digits");
}

void check_request_id(const std::string& request_id) {
  if (!valid_request_id(request_id))
    throw InputError("invalid request id \"" + request_id.substr(0, 80) +
                     "\": use 16-128 characters of [A-Za-z0-9_-]");
}

void check_count(std::uint64_t value, const char* what) {
  if (value > kMaxCount)
    throw InputError(std::string(what) + " " + std::to_string(value) +
                     " is too large: at most 2^62 molecules");
}

void check_answer(const Answer& answer) {
  check_identity(answer.identity);
  check_request_id(answer.request_id);
  check_model(answer.model);
  check_key_id(answer.key_id);
  check_count(answer.molecules, "molecule count");
}

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool within_limit(const BudgetStatus& status, std::uint64_t molecules) {
  constexpr auto kMaxStored = static_cast<std::uint64_t>(INT64_MAX);
  if (molecules > kMaxCount || status.used > kMaxStored - molecules) return false;
  return status.limit == 0 || status.used + molecules <= status.limit;
}

void throw_exhausted(const BudgetStatus& status, std::uint64_t molecules) {
  throw BudgetExhausted("query budget exhausted for identity '" + status.identity +
                        "' and model '" + status.model + "': " + std::to_string(status.used) +
                        " of " + std::to_string(status.limit) +
                        " molecules used, this query asks for " + std::to_string(molecules) +
                        "; ask the server's operator for a larger budget");
}

void throw_unknown_identity(const std::string& name) {
  throw InputError("unknown identity '" + name +
                   "': add it first (encmol admin identity add NAME)");
}

void throw_identity_exists(const std::string& name) {
  throw InputError("identity '" + name + "' exists already: choose another name");
}

void throw_duplicate_request(const Answer& answer) {
  throw InputError("request id '" + answer.request_id + "' of identity '" + answer.identity +
                   "' was answered already: fetch that answer or choose a new request id");
}

void throw_key_taken(const std::string& key_id) {
  throw SecurityError("evaluation key " + key_id.substr(0, 16) +
                      "... belongs to another identity; generate a fresh key pair");
}

void throw_newer_schema(const std::string& database, std::int64_t version) {
  throw FormatError(database + ": state database schema version " + std::to_string(version) +
                    " is newer than this encmol understands (" + std::to_string(kSchemaVersion) +
                    "); upgrade encmol or use another database");
}

void throw_bad_schema(const std::string& database, std::int64_t version) {
  throw FormatError(database + ": state database schema version " + std::to_string(version) +
                    " is not one encmol ever wrote (damaged?)");
}

}  // namespace detail

}  // namespace encmol::service
