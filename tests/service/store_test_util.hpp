// Fresh databases for the store tests: a new SQLite file, or a new database
// on the PostgreSQL test server (scripts/pg_test_server.sh, started by the
// CTest fixture encmol_postgres), and raw SQL for tests that tamper with one.
#pragma once

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>

namespace encmol::service::store_test {

struct Backend {
  std::string name;
  std::function<std::string()> create;  // URL of a fresh, empty database
  std::function<void(const std::string& url, const std::string& sql)> sql;
  std::function<void(const std::string& url)> destroy;
};

inline void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

inline std::string random_hex(std::size_t n = 16) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (out.size() < n) out.push_back("0123456789abcdef"[rng() % 16]);
  return out;
}

// ----------------------------------------------------------------- SQLite
inline std::filesystem::path sqlite_path(const std::string& url) {
  return url.substr(std::string("sqlite:").size());
}

inline std::string sqlite_create() {
  const auto dir = std::filesystem::temp_directory_path() / ("encmol-store-test-" + random_hex());
  std::filesystem::create_directories(dir);
  return "sqlite:" + (dir / "state.db").string();
}

inline void sqlite_sql(const std::string& url, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(sqlite_path(url).c_str(), &db);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 10000);
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("test SQL failed: " + why + ": " + sql);
}

inline void sqlite_destroy(const std::string& url) {
  std::error_code ec;
  std::filesystem::remove_all(sqlite_path(url).parent_path(), ec);
}

inline Backend sqlite_backend() { return {"sqlite", sqlite_create, sqlite_sql, sqlite_destroy}; }

// ------------------------------------------------------------- PostgreSQL
inline constexpr const char* kNoPostgres =
    "no PostgreSQL test server: these tests need a real server. Run them through ctest "
    "(its fixture encmol_postgres starts one with scripts/pg_test_server.sh), or start one "
    "by hand: `scripts/pg_test_server.sh start /tmp/encmol-pg` then "
    "`export ENCMOL_TEST_POSTGRES_URL=$(cat /tmp/encmol-pg/url)` (stop it with "
    "`scripts/pg_test_server.sh stop /tmp/encmol-pg`)";

/// ENCMOL_TEST_POSTGRES_URL, else the URL in the file ENCMOL_TEST_POSTGRES_URL_FILE
/// (set by CTest); throws with the way to start a server when neither is there.
inline std::string postgres_base_url() {
  if (const char* url = std::getenv("ENCMOL_TEST_POSTGRES_URL"); url && *url) return url;
  if (const char* file = std::getenv("ENCMOL_TEST_POSTGRES_URL_FILE"); file && *file) {
    std::ifstream in(file);
    std::string url;
    if (in && std::getline(in, url) && !url.empty()) return url;
    throw std::runtime_error(std::string("cannot read ") + file +
                             " (did the fixture test "
                             "postgres_test_server_start fail?); " +
                             kNoPostgres);
  }
  throw std::runtime_error(kNoPostgres);
}

inline void pg_sql(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  std::string why;
  if (PQstatus(c) != CONNECTION_OK) {
    why = PQerrorMessage(c);
  } else {
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    const auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) why = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  if (!why.empty()) throw std::runtime_error("test SQL failed: " + why + ": " + sql);
}

/// The URL with its database (the path) replaced.
inline std::string pg_with_database(const std::string& url, const std::string& database) {
  const std::size_t authority = url.find("://") + 3;
  const std::size_t query = std::min(url.find('?', authority), url.size());
  const std::size_t path = std::min(url.find('/', authority), query);
  return url.substr(0, path) + "/" + database + url.substr(query);
}

inline std::string pg_database_of(const std::string& url) {
  const std::size_t authority = url.find("://") + 3;
  const std::size_t query = std::min(url.find('?', authority), url.size());
  const std::size_t path = std::min(url.find('/', authority), query);
  return path < query ? url.substr(path + 1, query - path - 1) : std::string();
}

inline std::string postgres_create() {
  const std::string base = postgres_base_url();
  const std::string database = "encmol_t_" + random_hex();
  pg_sql(base, "CREATE DATABASE " + database);
  return pg_with_database(base, database);
}

inline void postgres_destroy(const std::string& url) {
  pg_sql(postgres_base_url(), "DROP DATABASE IF EXISTS " + pg_database_of(url) + " WITH (FORCE)");
}

inline Backend postgres_backend() {
  return {"postgres", postgres_create, pg_sql, postgres_destroy};
}

}  // namespace encmol::service::store_test
