// Shared by the store backends (sqlite_store.cpp, postgres_store.cpp): input
// checks with messages that say what to do, the clock, and the one wording of
// a refused charge. Not part of the service's interface.
#pragma once

#include <cstdint>
#include <string>

#include "encmol/service/store.hpp"

namespace encmol::service::detail {

/// Version of the schema both backends create; a database of a later version
/// is refused (FormatError), an older one is migrated when opened. Version 2
/// added identities' `disabled` flag.
inline constexpr std::int64_t kSchemaVersion = 2;

/// Counts (limits, molecules) are stored as signed 64-bit integers; this cap
/// keeps used + molecules far from overflow in either database.
inline constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 62;

/// Each throws InputError naming the field and the accepted form.
void check_identity(const std::string& name);
/// check_identity, and not "." or ".." (the key cache uses names as directories).
void check_new_identity(const std::string& name);
void check_model(const std::string& model);
void check_key_id(const std::string& key_id);
void check_request_id(const std::string& request_id);
void check_count(std::uint64_t value, const char* what);
/// All fields of an answer.
void check_answer(const Answer& answer);

bool valid_model_name(const std::string& model);
bool valid_key_id(const std::string& key_id);

std::int64_t now_unix();

/// The limit in force: the explicit one when the admin set it, else the default.
inline std::uint64_t effective_limit(bool explicit_limit, std::uint64_t limit,
                                     std::uint64_t default_limit) {
  return explicit_limit ? limit : default_limit;
}

/// True when charging `molecules` on top of `status.used` stays within the
/// limit (and the sum fits a signed 64-bit column).
bool within_limit(const BudgetStatus& status, std::uint64_t molecules);

[[noreturn]] void throw_exhausted(const BudgetStatus& status, std::uint64_t molecules);
[[noreturn]] void throw_unknown_identity(const std::string& name);
[[noreturn]] void throw_identity_exists(const std::string& name);
[[noreturn]] void throw_duplicate_request(const Answer& answer);
[[noreturn]] void throw_key_taken(const std::string& key_id);
[[noreturn]] void throw_newer_schema(const std::string& database, std::int64_t version);
[[noreturn]] void throw_bad_schema(const std::string& database, std::int64_t version);

}  // namespace encmol::service::detail
