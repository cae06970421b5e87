#include "encmol/service/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <iterator>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "encmol/service/store_internal.hpp"
#include "encmol/service/token.hpp"

namespace encmol::service {

namespace {

// Type OIDs are fixed by PostgreSQL (pg_type.dat); declaring each parameter's
// type spares casts in the SQL.
constexpr Oid kBytea = 17, kInt8 = 20, kText = 25;

// Serialises schema creation when several replicas start at once ("encmol" 1).
constexpr std::int64_t kSchemaLock = 0x656e636d6f6c0001;

constexpr const char* kSchema = R"sql(
CREATE TABLE encmol_identities (
  name TEXT PRIMARY KEY,
  created_unix BIGINT NOT NULL);
CREATE TABLE encmol_tokens (
  id TEXT PRIMARY KEY,
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  salt BYTEA NOT NULL,
  hash BYTEA NOT NULL,
  created_unix BIGINT NOT NULL,
  revoked BOOLEAN NOT NULL DEFAULT FALSE);
CREATE INDEX encmol_tokens_identity ON encmol_tokens (identity);
CREATE TABLE encmol_keys (
  key_id TEXT PRIMARY KEY,
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  created_unix BIGINT NOT NULL);
CREATE TABLE encmol_budgets (
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  model TEXT NOT NULL,
  limit_molecules BIGINT NOT NULL DEFAULT 0,
  explicit_limit BOOLEAN NOT NULL DEFAULT FALSE,
  used BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (identity, model));
CREATE TABLE encmol_answers (
  identity TEXT NOT NULL REFERENCES encmol_identities (name),
  request_id TEXT NOT NULL,
  model TEXT NOT NULL,
  key_id TEXT NOT NULL,
  molecules BIGINT NOT NULL,
  result BYTEA NOT NULL,
  created_unix BIGINT NOT NULL,
  PRIMARY KEY (identity, request_id));
CREATE INDEX encmol_answers_created ON encmol_answers (created_unix);
)sql";

// Schema migrations, one per version after the first, applied in order to a
// new database too (so every database reaches the same schema one way).
constexpr const char* kMigrations[] = {
    // 1 -> 2: identities can be disabled.
    "ALTER TABLE encmol_identities ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE",
};
static_assert(std::size(kMigrations) + 1 == detail::kSchemaVersion);

// The charge itself: one conditional UPDATE. The row lock it takes and
// PostgreSQL's re-check of the WHERE clause on the newest row version make it
// race-free across replicas; no row means the limit would be passed. $4 is
// the default limit; no sum can overflow (all counts are at most 2^62).
constexpr const char* kCharge = R"sql(
UPDATE encmol_budgets SET used = used + $3
WHERE identity = $1 AND model = $2 AND (
  (CASE WHEN explicit_limit THEN limit_molecules ELSE $4 END = 0
   AND used <= 9223372036854775807 - $3)
  OR ($3 <= CASE WHEN explicit_limit THEN limit_molecules ELSE $4 END
      AND used <= CASE WHEN explicit_limit THEN limit_molecules ELSE $4 END - $3))
RETURNING limit_molecules, explicit_limit, used)sql";

struct Param {
  Oid type;
  std::string value;
  int format;  // 0 text, 1 binary
};
Param text(const std::string& v) { return {kText, v, 0}; }
Param int8(std::int64_t v) { return {kInt8, std::to_string(v), 0}; }
Param int8(std::uint64_t v) { return int8(static_cast<std::int64_t>(v)); }
Param bytes(std::span<const std::uint8_t> v) {
  return {kBytea, std::string(v.begin(), v.end()), 1};
}

// A lost connection: run() reconnects and retries the whole call once.
class ConnectionLost : public IoError {
 public:
  using IoError::IoError;
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  const PGresult* get() const { return r_; }
  int rows() const { return PQntuples(r_); }
  std::uint64_t affected() const {
    const char* n = PQcmdTuples(r_);
    return n && *n ? std::stoull(n) : 0;
  }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col),
                       static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  std::int64_t integer(int row, int col) const { return std::stoll(text(row, col)); }
  std::uint64_t count(int row, int col) const {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, integer(row, col)));
  }
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  core::Bytes bytes(int row, int col) const {
    std::size_t n = 0;
    unsigned char* p =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
    if (!p) throw IoError("out of memory decoding a PostgreSQL result");
    core::Bytes out(p, p + n);
    PQfreemem(p);
    return out;
  }

 private:
  PGresult* r_;
};

// Where a URI holds passwords: after "user:" in the authority, and as the
// value of a password= parameter. (position, length) pairs, in order.
std::vector<std::pair<std::size_t, std::size_t>> password_spans(const std::string& uri) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t scheme = uri.find("://");
  if (scheme != std::string::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t end = std::min(uri.find_first_of("/?#", start), uri.size());
    const std::size_t at = uri.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      const std::size_t colon = uri.find(':', start);
      if (colon < at) out.emplace_back(colon + 1, at - colon - 1);
    }
  }
  for (std::size_t pos = 0; (pos = uri.find("password=", pos)) != std::string::npos;) {
    const std::size_t value = pos + 9;
    const std::size_t end = std::min(uri.find_first_of("&#", value), uri.size());
    out.emplace_back(value, end - value);
    pos = end;
  }
  return out;
}

// The URI's passwords as written and as libpq decodes them: both are
// scrubbed from every message libpq hands back.
std::vector<std::string> passwords_of(const std::string& uri) {
  std::vector<std::string> out;
  for (const auto& [pos, len] : password_spans(uri))
    if (len > 0) out.push_back(uri.substr(pos, len));
  if (PQconninfoOption* options = PQconninfoParse(uri.c_str(), nullptr)) {
    for (PQconninfoOption* o = options; o->keyword; ++o)
      if (std::string_view(o->keyword) == "password" && o->val && *o->val) out.emplace_back(o->val);
    PQconninfoFree(options);
  }
  return out;
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const std::string& uri)
      : uri_(uri), name_(redact_postgres_uri(uri)), passwords_(passwords_of(uri)) {
    // connect_timeout comes before the URI, so the URI may override it.
    const char* keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"10", uri_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (!conn_) throw IoError(name_ + ": out of memory connecting to PostgreSQL");
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string why = scrub(PQerrorMessage(conn_));
      PQfinish(conn_);
      throw IoError(name_ + ": cannot connect to the state database (" + why +
                    "); check the URI and that the server runs and accepts this user");
    }
    // NOTICEs ("relation exists, skipping") would go to stderr otherwise.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    try {
      create_schema();
    } catch (...) {
      PQfinish(conn_);
      throw;
    }
  }
  ~PostgresStore() override { PQfinish(conn_); }
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  void add_identity(const std::string& name) override {
    detail::check_new_identity(name);
    run([&] {
      const Result r = exec(
          "INSERT INTO encmol_identities (name, created_unix) VALUES ($1, $2) "
          "ON CONFLICT (name) DO NOTHING",
          {text(name), int8(detail::now_unix())});
      if (r.affected() == 0) detail::throw_identity_exists(name);
    });
  }

  bool has_identity(const std::string& name) override {
    if (!valid_identity_name(name)) return false;
    return run([&] { return exists(name); });
  }

  bool identity_enabled(const std::string& name) override {
    if (!valid_identity_name(name)) return false;
    return run([&] {
      return exec("SELECT 1 FROM encmol_identities WHERE name = $1 AND NOT disabled", {text(name)})
                 .rows() > 0;
    });
  }

  void set_identity_disabled(const std::string& name, bool disabled) override {
    detail::check_identity(name);
    run([&] {
      if (exec(disabled ? "UPDATE encmol_identities SET disabled = TRUE WHERE name = $1"
                        : "UPDATE encmol_identities SET disabled = FALSE WHERE name = $1",
               {text(name)})
              .affected() == 0)
        detail::throw_unknown_identity(name);
    });
  }

  std::vector<IdentityInfo> identities() override {
    return run([&] {
      const Result r = exec(
          "SELECT i.name, i.created_unix, (SELECT count(*) FROM encmol_tokens t "
          "WHERE t.identity = i.name AND NOT t.revoked), i.disabled FROM encmol_identities i "
          "ORDER BY i.name COLLATE \"C\"",
          {});
      std::vector<IdentityInfo> out;
      for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.text(i, 0), r.count(i, 2), r.integer(i, 1), r.boolean(i, 3)});
      return out;
    });
  }

  std::string issue_token(const std::string& identity) override {
    detail::check_identity(identity);
    return run([&] {
      require(identity);
      // A clash of two random 64-bit ids is unlikely enough that a second
      // draw always succeeds; the loop only makes it certain.
      for (int attempt = 0; attempt < 4; ++attempt) {
        const token::Issued issued = token::issue();
        const Result r = exec(
            "INSERT INTO encmol_tokens (id, identity, salt, hash, created_unix) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            {text(issued.id), text(identity), bytes(issued.salt), bytes(issued.hash),
             int8(detail::now_unix())});
        if (r.affected() == 1) return issued.text;
      }
      throw IoError("could not draw an unused token id; retry");
    });
  }

  std::uint64_t revoke_tokens(const std::string& identity) override {
    detail::check_identity(identity);
    return run([&] {
      require(identity);
      return exec("UPDATE encmol_tokens SET revoked = TRUE WHERE identity = $1 AND NOT revoked",
                  {text(identity)})
          .affected();
    });
  }

  std::optional<std::string> authenticate(const std::string& token_text) override {
    const auto parsed = token::parse(token_text);
    if (!parsed) return std::nullopt;
    return run([&]() -> std::optional<std::string> {
      const Result r = exec(
          "SELECT t.identity, t.salt, t.hash FROM encmol_tokens t JOIN encmol_identities i "
          "ON i.name = t.identity WHERE t.id = $1 AND NOT t.revoked AND NOT i.disabled",
          {text(parsed->id)});
      if (r.rows() == 0 || !token::matches(*parsed, r.bytes(0, 1), r.bytes(0, 2)))
        return std::nullopt;
      return r.text(0, 0);
    });
  }

  void claim_key(const std::string& identity, const std::string& key_id) override {
    detail::check_identity(identity);
    detail::check_key_id(key_id);
    run([&] {
      auto owner = owner_of(key_id);
      if (!owner) {
        require(identity);
        // Of two replicas claiming at once, the first insert wins; the
        // other reads the winner below.
        exec(
            "INSERT INTO encmol_keys (key_id, identity, created_unix) VALUES ($1, $2, $3) "
            "ON CONFLICT (key_id) DO NOTHING",
            {text(key_id), text(identity), int8(detail::now_unix())});
        owner = owner_of(key_id);
      }
      if (owner != identity) detail::throw_key_taken(key_id);
    });
  }

  std::optional<std::string> key_owner(const std::string& key_id) override {
    detail::check_key_id(key_id);
    return run([&] { return owner_of(key_id); });
  }

  void set_budget(const std::string& identity, const std::string& model,
                  std::uint64_t limit) override {
    detail::check_identity(identity);
    detail::check_model(model);
    detail::check_count(limit, "budget");
    run([&] {
      require(identity);
      exec(
          "INSERT INTO encmol_budgets (identity, model, limit_molecules, explicit_limit) "
          "VALUES ($1, $2, $3, TRUE) ON CONFLICT (identity, model) DO UPDATE SET "
          "limit_molecules = excluded.limit_molecules, explicit_limit = TRUE",
          {text(identity), text(model), int8(limit)});
    });
  }

  BudgetStatus budget(const std::string& identity, const std::string& model,
                      std::uint64_t default_limit) override {
    detail::check_identity(identity);
    detail::check_model(model);
    return run([&] {
      require(identity);
      return budget_row(identity, model, default_limit);
    });
  }

  std::vector<BudgetStatus> budgets(const std::string& identity) override {
    if (!identity.empty()) detail::check_identity(identity);
    return run([&] {
      if (!identity.empty()) require(identity);
      const Result r = identity.empty()
                           ? exec(
                                 "SELECT identity, model, limit_molecules, explicit_limit, used "
                                 "FROM encmol_budgets "
                                 "ORDER BY identity COLLATE \"C\", model COLLATE \"C\"",
                                 {})
                           : exec(
                                 "SELECT identity, model, limit_molecules, explicit_limit, used "
                                 "FROM encmol_budgets WHERE identity = $1 "
                                 "ORDER BY model COLLATE \"C\"",
                                 {text(identity)});
      std::vector<BudgetStatus> out;
      for (int i = 0; i < r.rows(); ++i) {
        const bool explicit_limit = r.boolean(i, 3);
        out.push_back({r.text(i, 0), r.text(i, 1), explicit_limit ? r.count(i, 2) : 0,
                       r.count(i, 4), explicit_limit});
      }
      return out;
    });
  }

  BudgetStatus record_answer(const Answer& answer, std::uint64_t default_limit) override {
    detail::check_answer(answer);
    detail::check_count(default_limit, "default budget");
    // Retried once on a lost connection: an uncommitted attempt was rolled
    // back by the server; a committed one makes the retry a duplicate
    // (InputError), and the client's own retry then finds the answer. Either
    // way the molecules are charged once.
    return run([&] {
      Transaction t(*this);
      require(answer.identity);
      // The answer first: a duplicate request id is refused before any charge.
      const Result inserted = exec(
          "INSERT INTO encmol_answers (identity, request_id, model, key_id, molecules, result, "
          "created_unix) VALUES ($1, $2, $3, $4, $5, $6, $7) "
          "ON CONFLICT (identity, request_id) DO NOTHING",
          {text(answer.identity), text(answer.request_id), text(answer.model), text(answer.key_id),
           int8(answer.molecules), bytes(answer.result), int8(detail::now_unix())});
      if (inserted.affected() == 0) detail::throw_duplicate_request(answer);
      exec(
          "INSERT INTO encmol_budgets (identity, model) VALUES ($1, $2) "
          "ON CONFLICT (identity, model) DO NOTHING",
          {text(answer.identity), text(answer.model)});
      const Result charged = exec(kCharge, {text(answer.identity), text(answer.model),
                                            int8(answer.molecules), int8(default_limit)});
      if (charged.rows() == 0)
        detail::throw_exhausted(budget_row(answer.identity, answer.model, default_limit),
                                answer.molecules);
      BudgetStatus status{answer.identity, answer.model, 0, charged.count(0, 2),
                          charged.boolean(0, 1)};
      status.limit =
          detail::effective_limit(status.explicit_limit, charged.count(0, 0), default_limit);
      t.commit();
      return status;
    });
  }

  std::optional<Answer> find_answer(const std::string& identity,
                                    const std::string& request_id) override {
    detail::check_identity(identity);
    detail::check_request_id(request_id);
    return run([&]() -> std::optional<Answer> {
      const Result r = exec(
          "SELECT model, key_id, molecules, result FROM encmol_answers "
          "WHERE identity = $1 AND request_id = $2",
          {text(identity), text(request_id)});
      if (r.rows() == 0) return std::nullopt;
      return Answer{request_id, identity, r.text(0, 0), r.text(0, 1), r.count(0, 2), r.bytes(0, 3)};
    });
  }

  std::uint64_t prune_answers(std::int64_t max_age_seconds) override {
    if (max_age_seconds < 0)
      throw InputError("answer retention must be 0 or more seconds, not " +
                       std::to_string(max_age_seconds));
    return run([&] {
      return exec("DELETE FROM encmol_answers WHERE created_unix <= $1",
                  {int8(detail::now_unix() - max_age_seconds)})
          .affected();
    });
  }

 private:
  class Transaction {
   public:
    explicit Transaction(PostgresStore& s) : s_(s) { s_.exec("BEGIN", {}); }
    ~Transaction() {
      if (!done_) PQclear(PQexec(s_.conn_, "ROLLBACK"));
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
      s_.exec("COMMIT", {});
      done_ = true;
    }

   private:
    PostgresStore& s_;
    bool done_ = false;
  };

  // Runs one call under the mutex, reconnecting first when the connection is
  // known to be down and once more when it drops during the call.
  template <class F>
  std::invoke_result_t<F&> run(F&& f) {
    std::lock_guard lock(mutex_);
    if (PQstatus(conn_) != CONNECTION_OK) reconnect();
    try {
      return f();
    } catch (const ConnectionLost&) {
      reconnect();
      return f();
    }
  }

  void reconnect() {
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK)
      throw IoError(name_ + ": lost the connection to the state database and cannot reconnect (" +
                    scrub(PQerrorMessage(conn_)) + "); check that the server runs");
  }

  Result exec(const char* sql, const std::vector<Param>& params) {
    std::vector<Oid> types;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const Param& p : params) {
      types.push_back(p.type);
      values.push_back(p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.format);
    }
    Result r(PQexecParams(conn_, sql, static_cast<int>(params.size()), types.data(), values.data(),
                          lengths.data(), formats.data(), 0));
    check(r, sql);
    return r;
  }

  void exec_script(const char* sql) {
    Result r(PQexec(conn_, sql));
    check(r, "schema");
  }

  void check(const Result& r, const char* what) {
    const PGresult* raw = r.get();
    const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    const std::string why = scrub(raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_));
    if (PQstatus(conn_) == CONNECTION_BAD)
      throw ConnectionLost(name_ + ": lost the connection to the state database (" + why + ")");
    const std::string head = std::string(what).substr(0, 60);
    throw IoError(name_ + ": query failed (" + why + ") in \"" + head + "...\"");
  }

  // libpq's messages end with a newline and may, in principle, echo the
  // connection's parameters: the password never leaves this class.
  std::string scrub(std::string message) const {
    for (const std::string& p : passwords_) {
      for (std::size_t pos = 0; (pos = message.find(p, pos)) != std::string::npos;) {
        message.replace(pos, p.size(), "***");
        pos += 3;
      }
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    return message;
  }

  void create_schema() {
    run([&] {
      Transaction t(*this);
      exec("SELECT pg_advisory_xact_lock($1)", {int8(kSchemaLock)});
      exec_script("CREATE TABLE IF NOT EXISTS encmol_schema (version INTEGER NOT NULL)");
      const Result version = exec("SELECT max(version) FROM encmol_schema", {});
      std::int64_t current = 1;
      if (version.null(0, 0)) {
        exec_script(kSchema);
        exec_script("INSERT INTO encmol_schema (version) VALUES (1)");
      } else {
        current = version.integer(0, 0);
        if (current > detail::kSchemaVersion) detail::throw_newer_schema(name_, current);
        if (current < 1) detail::throw_bad_schema(name_, current);
      }
      if (current < detail::kSchemaVersion) {
        for (auto v = current; v < detail::kSchemaVersion; ++v) exec_script(kMigrations[v - 1]);
        exec("UPDATE encmol_schema SET version = $1", {int8(detail::kSchemaVersion)});
      }
      t.commit();
    });
  }

  bool exists(const std::string& identity) {
    return exec("SELECT 1 FROM encmol_identities WHERE name = $1", {text(identity)}).rows() > 0;
  }

  void require(const std::string& identity) {
    if (!exists(identity)) detail::throw_unknown_identity(identity);
  }

  std::optional<std::string> owner_of(const std::string& key_id) {
    const Result r = exec("SELECT identity FROM encmol_keys WHERE key_id = $1", {text(key_id)});
    if (r.rows() == 0) return std::nullopt;
    return r.text(0, 0);
  }

  BudgetStatus budget_row(const std::string& identity, const std::string& model,
                          std::uint64_t default_limit) {
    const Result r = exec(
        "SELECT limit_molecules, explicit_limit, used FROM encmol_budgets "
        "WHERE identity = $1 AND model = $2",
        {text(identity), text(model)});
    BudgetStatus status{identity, model, default_limit, 0, false};
    if (r.rows() > 0) {
      status.explicit_limit = r.boolean(0, 1);
      status.limit = detail::effective_limit(status.explicit_limit, r.count(0, 0), default_limit);
      status.used = r.count(0, 2);
    }
    return status;
  }

  std::string uri_;
  std::string name_;  // the redacted URI
  std::vector<std::string> passwords_;
  std::mutex mutex_;
  PGconn* conn_ = nullptr;
};

}  // namespace

std::string redact_postgres_uri(const std::string& uri) {
  std::string out = uri;
  const auto spans = password_spans(uri);
  // From the back, so that earlier positions stay valid.
  for (auto it = spans.rbegin(); it != spans.rend(); ++it)
    out.replace(it->first, it->second, "***");
  return out;
}

std::unique_ptr<Store> open_postgres_store(const std::string& uri) {
  return std::make_unique<PostgresStore>(uri);
}

}  // namespace encmol::service
