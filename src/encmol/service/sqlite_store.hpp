// The SQLite backend of the service's state (store.hpp): one file, WAL mode,
// shared safely by the threads of one process and by several processes.
#pragma once

#include <filesystem>
#include <memory>

#include "encmol/service/store.hpp"

namespace encmol::service {

/// Opens the database at `path`, creating the file (mode 0600) and the schema
/// when missing. IoError when it cannot be opened or written, FormatError for
/// a file that is not an encmol state database or has a newer schema.
std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path);

}  // namespace encmol::service
