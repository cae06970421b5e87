#include "encmol/service/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <mutex>
#include <thread>

#include "encmol/service/store_internal.hpp"
#include "encmol/service/token.hpp"

namespace encmol::service {

namespace {

// Long enough for another process's transaction (all are short), short
// enough that a stuck writer shows up as an error rather than a hang.
constexpr int kBusyTimeoutMs = 10000;

constexpr const char* kSchema = R"sql(
CREATE TABLE encmol_identities (
  name TEXT PRIMARY KEY,
  created_unix INTEGER NOT NULL);
CREATE TABLE encmol_tokens (
  id TEXT PRIMARY KEY,
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  salt BLOB NOT NULL,
  hash BLOB NOT NULL,
  created_unix INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX encmol_tokens_identity ON encmol_tokens (identity);
CREATE TABLE encmol_keys (
  key_id TEXT PRIMARY KEY,
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  created_unix INTEGER NOT NULL);
CREATE TABLE encmol_budgets (
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  model TEXT NOT NULL,
  limit_molecules INTEGER NOT NULL DEFAULT 0,
  explicit_limit INTEGER NOT NULL DEFAULT 0,
  used INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (identity, model));
CREATE TABLE encmol_answers (
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  request_id TEXT NOT NULL,
  model TEXT NOT NULL,
  key_id TEXT NOT NULL,
  molecules INTEGER NOT NULL,
  result BLOB NOT NULL,
  created_unix INTEGER NOT NULL,
  PRIMARY KEY (identity, request_id));
CREATE INDEX encmol_answers_created ON encmol_answers (created_unix);
)sql";

// Schema migrations, one per version after the first, applied in order to a
// new database too (so every database reaches the same schema one way).
constexpr const char* kMigrations[] = {
    // 1 -> 2: identities can be disabled.
    "ALTER TABLE encmol_identities ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
};
static_assert(std::size(kMigrations) + 1 == detail::kSchemaVersion);

// One connection and the name errors use; every call runs under the store's mutex.
class Connection {
 public:
  explicit Connection(const std::filesystem::path& path) : name_(path.string()) {
    const int rc =
        sqlite3_open_v2(name_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      throw IoError(name_ + ": cannot open the state database (" + why +
                    "); check that the directory exists and is writable");
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  }
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }
  std::uint64_t changes() const { return static_cast<std::uint64_t>(sqlite3_changes(db_)); }

  /// The result code of the last fail() (a rollback afterwards overwrites SQLite's own).
  int last_failure() const { return last_failure_; }
  void clear_failure() { last_failure_ = SQLITE_OK; }

  [[noreturn]] void fail(int rc, const std::string& what) const {
    last_failure_ = rc;
    const std::string message = name_ + ": " + what + ": " + sqlite3_errmsg(db_);
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        throw IoError(message + " (another process held the database for more than " +
                      std::to_string(kBusyTimeoutMs / 1000) + " s; retry)");
      case SQLITE_NOTADB:
      case SQLITE_CORRUPT:
        throw FormatError(message + "; this file is not an intact encmol state database");
      case SQLITE_FULL:
        throw IoError(message + "; free some disk space");
      case SQLITE_READONLY:
      case SQLITE_CANTOPEN:
      case SQLITE_PERM:
        throw IoError(message + "; check the permissions of the file and its directory");
      default:
        throw IoError(message);
    }
  }

  void exec(const char* sql, const char* what) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(rc, what);
  }

 private:
  std::string name_;
  sqlite3* db_ = nullptr;
  mutable int last_failure_ = SQLITE_OK;
};

// A prepared statement with positional binding.
class Statement {
 public:
  Statement(Connection& c, const char* sql) : c_(c) {
    const int rc = sqlite3_prepare_v2(c_.db(), sql, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) c_.fail(rc, "cannot prepare a query");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(const std::string& v) {
    return check(
        sqlite3_bind_text(stmt_, next_++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(std::int64_t v) { return check(sqlite3_bind_int64(stmt_, next_++, v)); }
  Statement& bind(std::uint64_t v) { return bind(static_cast<std::int64_t>(v)); }
  Statement& bind(std::span<const std::uint8_t> v) {
    // A zero-length blob still binds as a blob, not as NULL.
    static const std::uint8_t empty = 0;
    return check(sqlite3_bind_blob(stmt_, next_++, v.empty() ? &empty : v.data(),
                                   static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }

  /// True while there is a row to read.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    c_.fail(rc, "query failed");
  }

  std::string text(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  bool null(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  std::uint64_t count(int col) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, integer(col)));
  }
  core::Bytes blob(int col) {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
    return p ? core::Bytes(p, p + sqlite3_column_bytes(stmt_, col)) : core::Bytes();
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) c_.fail(rc, "cannot bind a query parameter");
    return *this;
  }

  Connection& c_;
  sqlite3_stmt* stmt_ = nullptr;
  int next_ = 1;
};

// BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy
// timeout), so a read-modify-write never has to be retried half-way.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) { c_.exec("BEGIN IMMEDIATE", "cannot start"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(c_.db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    c_.exec("COMMIT", "cannot commit");
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

// SQLite gives its -wal and -shm files the main file's mode, so creating the
// main file 0600 keeps all three private.
void create_owner_only(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno != EEXIST)
    throw IoError(path.string() + ": cannot create the state database (" + std::strerror(errno) +
                  "); check that the directory exists and is writable");
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::filesystem::path& path) : c_(path) {
    // Processes opening a new file at once can get SQLITE_BUSY at once, without SQLite's busy
    // handler (switching to WAL and the first schema write avoid waiting into a deadlock); such a
    // start is retried for up to the busy timeout.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (int attempt = 0;; ++attempt) {
      try {
        c_.clear_failure();
        initialize(path);
        return;
      } catch (const IoError&) {
        const int code = c_.last_failure() & 0xff;
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
            std::chrono::steady_clock::now() >= deadline)
          throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 + attempt, 50)));
    }
  }

 private:
  void initialize(const std::filesystem::path& path) {
    {
      Statement wal(c_, "PRAGMA journal_mode = WAL");
      if (!wal.step() || wal.text(0) != "wal")
        throw IoError(path.string() +
                      ": SQLite cannot use write-ahead logging here (a network file system?); "
                      "put the state database on a local disk");
    }
    c_.exec("PRAGMA foreign_keys = ON", "cannot enable foreign keys");
    // FULL: a committed charge survives a power loss, not only a crash.
    c_.exec("PRAGMA synchronous = FULL", "cannot set synchronous mode");
    Transaction t(c_);
    c_.exec("CREATE TABLE IF NOT EXISTS encmol_schema (version INTEGER NOT NULL)",
            "cannot create the schema");
    std::optional<std::int64_t> version;
    {
      Statement s(c_, "SELECT max(version) FROM encmol_schema");
      if (s.step() && !s.null(0)) version = s.integer(0);
    }
    if (!version) {
      c_.exec(kSchema, "cannot create the schema");
      Statement(c_, "INSERT INTO encmol_schema (version) VALUES (1)").step();
      version = 1;
    } else if (*version > detail::kSchemaVersion) {
      detail::throw_newer_schema(path.string(), *version);
    } else if (*version < 1) {
      detail::throw_bad_schema(path.string(), *version);
    }
    if (*version < detail::kSchemaVersion) {
      for (auto v = *version; v < detail::kSchemaVersion; ++v)
        c_.exec(kMigrations[v - 1], "cannot migrate the schema");
      Statement(c_, "UPDATE encmol_schema SET version = ?").bind(detail::kSchemaVersion).step();
    }
    t.commit();
  }

 public:
  void add_identity(const std::string& name) override {
    detail::check_new_identity(name);
    std::lock_guard lock(mutex_);
    Statement(c_, "INSERT OR IGNORE INTO encmol_identities (name, created_unix) VALUES (?, ?)")
        .bind(name)
        .bind(detail::now_unix())
        .step();
    if (c_.changes() == 0) detail::throw_identity_exists(name);
  }

  bool has_identity(const std::string& name) override {
    if (!valid_identity_name(name)) return false;
    std::lock_guard lock(mutex_);
    return exists(name);
  }

  bool identity_enabled(const std::string& name) override {
    if (!valid_identity_name(name)) return false;
    std::lock_guard lock(mutex_);
    Statement s(c_, "SELECT 1 FROM encmol_identities WHERE name = ? AND disabled = 0");
    s.bind(name);
    return s.step();
  }

  void set_identity_disabled(const std::string& name, bool disabled) override {
    detail::check_identity(name);
    std::lock_guard lock(mutex_);
    Statement(c_, "UPDATE encmol_identities SET disabled = ? WHERE name = ?")
        .bind(std::int64_t{disabled ? 1 : 0})
        .bind(name)
        .step();
    if (c_.changes() == 0) detail::throw_unknown_identity(name);
  }

  std::vector<IdentityInfo> identities() override {
    std::lock_guard lock(mutex_);
    Statement s(c_,
                "SELECT i.name, i.created_unix, (SELECT count(*) FROM encmol_tokens t "
                "WHERE t.identity = i.name AND t.revoked = 0), i.disabled FROM encmol_identities i "
                "ORDER BY i.name");
    std::vector<IdentityInfo> out;
    while (s.step()) out.push_back({s.text(0), s.count(2), s.integer(1), s.integer(3) != 0});
    return out;
  }

  std::string issue_token(const std::string& identity) override {
    detail::check_identity(identity);
    std::lock_guard lock(mutex_);
    Transaction t(c_);
    require(identity);
    // A clash of two random 64-bit ids is unlikely enough that a second draw
    // always succeeds; the loop only makes it certain.
    for (int attempt = 0; attempt < 4; ++attempt) {
      const token::Issued issued = token::issue();
      Statement(c_,
                "INSERT OR IGNORE INTO encmol_tokens (id, identity, salt, hash, created_unix, "
                "revoked) VALUES (?, ?, ?, ?, ?, 0)")
          .bind(issued.id)
          .bind(identity)
          .bind(issued.salt)
          .bind(issued.hash)
          .bind(detail::now_unix())
          .step();
      if (c_.changes() == 1) {
        t.commit();
        return issued.text;
      }
    }
    throw IoError("could not draw an unused token id; retry");
  }

  std::uint64_t revoke_tokens(const std::string& identity) override {
    detail::check_identity(identity);
    std::lock_guard lock(mutex_);
    Transaction t(c_);
    require(identity);
    Statement(c_, "UPDATE encmol_tokens SET revoked = 1 WHERE identity = ? AND revoked = 0")
        .bind(identity)
        .step();
    const std::uint64_t n = c_.changes();
    t.commit();
    return n;
  }

  std::optional<std::string> authenticate(const std::string& text) override {
    const auto parsed = token::parse(text);
    if (!parsed) return std::nullopt;
    std::lock_guard lock(mutex_);
    Statement s(c_,
                "SELECT t.identity, t.salt, t.hash FROM encmol_tokens t JOIN encmol_identities i "
                "ON i.name = t.identity WHERE t.id = ? AND t.revoked = 0 AND i.disabled = 0");
    s.bind(parsed->id);
    if (!s.step() || !token::matches(*parsed, s.blob(1), s.blob(2))) return std::nullopt;
    return s.text(0);
  }

  void claim_key(const std::string& identity, const std::string& key_id) override {
    detail::check_identity(identity);
    detail::check_key_id(key_id);
    std::lock_guard lock(mutex_);
    Transaction t(c_);
    if (const auto owner = owner_of(key_id)) {
      if (*owner != identity) detail::throw_key_taken(key_id);
      return;
    }
    require(identity);
    Statement(c_, "INSERT INTO encmol_keys (key_id, identity, created_unix) VALUES (?, ?, ?)")
        .bind(key_id)
        .bind(identity)
        .bind(detail::now_unix())
        .step();
    t.commit();
  }

  std::optional<std::string> key_owner(const std::string& key_id) override {
    detail::check_key_id(key_id);
    std::lock_guard lock(mutex_);
    return owner_of(key_id);
  }

  void set_budget(const std::string& identity, const std::string& model,
                  std::uint64_t limit) override {
    detail::check_identity(identity);
    detail::check_model(model);
    detail::check_count(limit, "budget");
    std::lock_guard lock(mutex_);
    Transaction t(c_);
    require(identity);
    Statement(c_,
              "INSERT INTO encmol_budgets (identity, model, limit_molecules, explicit_limit, used) "
              "VALUES (?, ?, ?, 1, 0) ON CONFLICT (identity, model) DO UPDATE SET "
              "limit_molecules = excluded.limit_molecules, explicit_limit = 1")
        .bind(identity)
        .bind(model)
        .bind(limit)
        .step();
    t.commit();
  }

  BudgetStatus budget(const std::string& identity, const std::string& model,
                      std::uint64_t default_limit) override {
    detail::check_identity(identity);
    detail::check_model(model);
    std::lock_guard lock(mutex_);
    require(identity);
    return budget_row(identity, model, default_limit);
  }

  std::vector<BudgetStatus> budgets(const std::string& identity) override {
    if (!identity.empty()) detail::check_identity(identity);
    std::lock_guard lock(mutex_);
    if (!identity.empty()) require(identity);
    Statement s(c_, identity.empty()
                        ? "SELECT identity, model, limit_molecules, explicit_limit, used FROM "
                          "encmol_budgets ORDER BY identity, model"
                        : "SELECT identity, model, limit_molecules, explicit_limit, used FROM "
                          "encmol_budgets WHERE identity = ? ORDER BY identity, model");
    if (!identity.empty()) s.bind(identity);
    std::vector<BudgetStatus> out;
    while (s.step()) {
      const bool explicit_limit = s.integer(3) != 0;
      out.push_back(
          {s.text(0), s.text(1), explicit_limit ? s.count(2) : 0, s.count(4), explicit_limit});
    }
    return out;
  }

  BudgetStatus record_answer(const Answer& answer, std::uint64_t default_limit) override {
    detail::check_answer(answer);
    detail::check_count(default_limit, "default budget");
    std::lock_guard lock(mutex_);
    // The write lock is held from here to the commit: no other connection or
    // process can charge this budget in between.
    Transaction t(c_);
    require(answer.identity);
    {
      Statement s(c_, "SELECT 1 FROM encmol_answers WHERE identity = ? AND request_id = ?");
      s.bind(answer.identity).bind(answer.request_id);
      if (s.step()) detail::throw_duplicate_request(answer);
    }
    BudgetStatus status = budget_row(answer.identity, answer.model, default_limit);
    if (!detail::within_limit(status, answer.molecules))
      detail::throw_exhausted(status, answer.molecules);
    Statement(c_,
              "INSERT INTO encmol_budgets (identity, model, limit_molecules, explicit_limit, used) "
              "VALUES (?, ?, 0, 0, ?) ON CONFLICT (identity, model) DO UPDATE SET "
              "used = used + excluded.used")
        .bind(answer.identity)
        .bind(answer.model)
        .bind(answer.molecules)
        .step();
    Statement(c_,
              "INSERT INTO encmol_answers (identity, request_id, model, key_id, molecules, "
              "result, created_unix) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(answer.identity)
        .bind(answer.request_id)
        .bind(answer.model)
        .bind(answer.key_id)
        .bind(answer.molecules)
        .bind(answer.result)
        .bind(detail::now_unix())
        .step();
    t.commit();
    status.used += answer.molecules;
    return status;
  }

  std::optional<Answer> find_answer(const std::string& identity,
                                    const std::string& request_id) override {
    detail::check_identity(identity);
    detail::check_request_id(request_id);
    std::lock_guard lock(mutex_);
    Statement s(c_,
                "SELECT model, key_id, molecules, result FROM encmol_answers "
                "WHERE identity = ? AND request_id = ?");
    s.bind(identity).bind(request_id);
    if (!s.step()) return std::nullopt;
    return Answer{request_id, identity, s.text(0), s.text(1), s.count(2), s.blob(3)};
  }

  std::uint64_t prune_answers(std::int64_t max_age_seconds) override {
    if (max_age_seconds < 0)
      throw InputError("answer retention must be 0 or more seconds, not " +
                       std::to_string(max_age_seconds));
    std::lock_guard lock(mutex_);
    Statement(c_, "DELETE FROM encmol_answers WHERE created_unix <= ?")
        .bind(detail::now_unix() - max_age_seconds)
        .step();
    return c_.changes();
  }

 private:
  bool exists(const std::string& identity) {
    Statement s(c_, "SELECT 1 FROM encmol_identities WHERE name = ?");
    s.bind(identity);
    return s.step();
  }

  void require(const std::string& identity) {
    if (!exists(identity)) detail::throw_unknown_identity(identity);
  }

  std::optional<std::string> owner_of(const std::string& key_id) {
    Statement s(c_, "SELECT identity FROM encmol_keys WHERE key_id = ?");
    s.bind(key_id);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  BudgetStatus budget_row(const std::string& identity, const std::string& model,
                          std::uint64_t default_limit) {
    Statement s(c_,
                "SELECT limit_molecules, explicit_limit, used FROM encmol_budgets "
                "WHERE identity = ? AND model = ?");
    s.bind(identity).bind(model);
    BudgetStatus status{identity, model, default_limit, 0, false};
    if (s.step()) {
      status.explicit_limit = s.integer(1) != 0;
      status.limit = detail::effective_limit(status.explicit_limit, s.count(0), default_limit);
      status.used = s.count(2);
    }
    return status;
  }

  std::mutex mutex_;
  Connection c_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path) {
  create_owner_only(path);
  return std::make_unique<SqliteStore>(path);
}

}  // namespace encmol::service
