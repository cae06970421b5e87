// The service's durable state (issue 11, docs/service.md): identities, bearer
// tokens (stored only as salted hashes), which identity owns which evaluation
// key, query budgets per identity and model, and the answers already given.
//
// Two backends behind one interface: SQLite (embedded, WAL, one file; the
// default) and PostgreSQL (several replicas share one database). Every method
// is safe to call from many threads at once, and from several processes or
// replicas on the same database.
//
// The budget rule: a query's molecules are charged in the same transaction
// that records its answer (record_answer). A crash before the commit charges
// nothing and sends nothing; a crash after it loses at most that one reply,
// which the client gets back without a second charge by retrying with the
// same request id (find_answer). So no client ever receives more answers
// than its budget, and no budget is charged twice for one request.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"

namespace encmol::service {

/// A query that would go past its identity's budget (nothing was charged).
class BudgetExhausted : public SecurityError {
 public:
  using SecurityError::SecurityError;
};

struct BudgetStatus {
  std::string identity;
  std::string model;
  std::uint64_t limit = 0;  // molecules; 0 = unlimited
  std::uint64_t used = 0;
  bool explicit_limit = false;  // set by the admin (else the model's default)
  std::uint64_t remaining() const {
    return limit == 0 ? UINT64_MAX : limit - std::min(limit, used);
  }
};

struct IdentityInfo {
  std::string name;
  std::uint64_t active_tokens = 0;
  std::int64_t created_unix = 0;
  bool disabled = false;
};

/// What record_answer stores: the reply, so that a retried request gets it
/// again without a second charge.
struct Answer {
  std::string request_id;  // chosen by the client (16-128 chars of [A-Za-z0-9_-])
  std::string identity;
  std::string model;
  std::string key_id;  // 64 lower-case hex digits
  std::uint64_t molecules = 0;
  core::Bytes result;  // the encoded secure::Result envelope
};

class Store {
 public:
  virtual ~Store() = default;

  // ------------------------------------------------------------- identities
  /// Adds an identity. InputError for a name outside [A-Za-z0-9._@-]{1,64} or
  /// one that exists already.
  virtual void add_identity(const std::string& name) = 0;
  virtual bool has_identity(const std::string& name) = 0;
  /// True when the identity exists and is not disabled: what a client
  /// certificate's common name must be.
  virtual bool identity_enabled(const std::string& name) = 0;
  /// Disables (or enables again) an identity: while disabled, its tokens and
  /// certificate are refused on the next call, and on every replica; its
  /// tokens, keys, budgets and stored answers are kept. InputError when
  /// unknown.
  virtual void set_identity_disabled(const std::string& name, bool disabled) = 0;
  virtual std::vector<IdentityInfo> identities() = 0;

  // ----------------------------------------------------------------- tokens
  /// A new bearer token for the identity (InputError when unknown), returned
  /// once and stored only as a salted BLAKE2b hash. Format "emt_<id>_<secret>"
  /// (docs/service.md): the id finds the row, the secret is compared in
  /// constant time.
  virtual std::string issue_token(const std::string& identity) = 0;
  /// Revokes every token of the identity; returns how many.
  virtual std::uint64_t revoke_tokens(const std::string& identity) = 0;
  /// The identity a token belongs to; nullopt for an unknown, revoked or
  /// malformed token, or one of a disabled identity (never throws for a bad
  /// token).
  virtual std::optional<std::string> authenticate(const std::string& token) = 0;

  // ------------------------------------------------------------------- keys
  /// Records that the evaluation key `key_id` (64 hex digits) belongs to the
  /// identity; idempotent for the same identity. SecurityError when another
  /// identity owns it (a key id belongs to one identity).
  virtual void claim_key(const std::string& identity, const std::string& key_id) = 0;
  virtual std::optional<std::string> key_owner(const std::string& key_id) = 0;

  // ---------------------------------------------------------------- budgets
  /// Sets the identity's budget for a model (molecules; 0 = unlimited).
  /// InputError for an unknown identity.
  virtual void set_budget(const std::string& identity, const std::string& model,
                          std::uint64_t limit) = 0;
  /// Budget and use; `default_limit` applies when the admin set none.
  /// InputError for an unknown identity.
  virtual BudgetStatus budget(const std::string& identity, const std::string& model,
                              std::uint64_t default_limit) = 0;
  /// Every budget row (all identities when `identity` is empty; InputError for
  /// an unknown one). Where no explicit limit was set the row shows limit 0
  /// and explicit_limit false: the serving model's default applies.
  virtual std::vector<BudgetStatus> budgets(const std::string& identity) = 0;

  // ---------------------------------------------------------------- answers
  /// In one transaction: checks used + molecules <= limit (the explicit limit,
  /// else default_limit; 0 = unlimited), adds the molecules to the use and
  /// stores the answer. Returns the status after. Throws BudgetExhausted (and
  /// changes nothing) past the limit, InputError when the request id was
  /// already answered.
  virtual BudgetStatus record_answer(const Answer& answer, std::uint64_t default_limit) = 0;
  /// A stored answer of this identity (another identity's request id is not
  /// found).
  virtual std::optional<Answer> find_answer(const std::string& identity,
                                            const std::string& request_id) = 0;
  /// Deletes stored answers older than `max_age_seconds`; returns how many.
  /// Charges are kept (they live in the budget rows).
  virtual std::uint64_t prune_answers(std::int64_t max_age_seconds) = 0;
};

/// Opens (creating the schema when needed) "sqlite:PATH" or
/// "postgresql://..." / "postgres://..." (a libpq connection URI).
/// InputError for any other form, IoError when the database cannot be opened,
/// FormatError for a file that is no state database or a newer schema.
std::unique_ptr<Store> open_store(const std::string& url);

/// Identity names: [A-Za-z0-9._@-]{1,64}. Request ids: [A-Za-z0-9_-]{16,128}.
bool valid_identity_name(const std::string& name);
bool valid_request_id(const std::string& id);

}  // namespace encmol::service
