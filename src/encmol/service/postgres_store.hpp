// The PostgreSQL backend of the service's state (store.hpp): several server
// replicas share one database; budgets are charged race-free across them.
#pragma once

#include <memory>
#include <string>

#include "encmol/service/store.hpp"

namespace encmol::service {

/// Connects to a libpq URI ("postgresql://USER@HOST:PORT/DATABASE?..."),
/// creating the schema when missing. IoError when the server cannot be
/// reached or refuses, FormatError for a newer schema. Messages never show
/// the URI's password.
std::unique_ptr<Store> open_postgres_store(const std::string& uri);

/// The URI with any password replaced by "***" (for messages and logs).
std::string redact_postgres_uri(const std::string& uri);

}  // namespace encmol::service
