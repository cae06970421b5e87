// The contract of the service's state (store.hpp), run on both backends:
// SQLite on a fresh file and PostgreSQL on a fresh database of the test
// server. Identities and tokens, key ownership, budgets, the atomic charge
// with its answer, isolation between identities, pruning, reopening, and
// concurrent charges that never pass the limit.
#include "encmol/service/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <regex>
#include <thread>
#include <vector>

#include "encmol/core/error.hpp"
#include "store_test_util.hpp"

using namespace encmol;
using namespace encmol::service;
using encmol::service::store_test::Backend;

namespace {

std::string key(int n) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", n);
  return buf;
}

std::string request(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "request-%012d", n);
  return buf;
}

Answer answer(const std::string& identity, int request_number, std::uint64_t molecules,
              const std::string& model = "qm7.energy_v1") {
  Answer a;
  a.request_id = request(request_number);
  a.identity = identity;
  a.model = model;
  a.key_id = key(7);
  a.molecules = molecules;
  a.result = {0x45, 0x4e, 0x43, static_cast<std::uint8_t>(request_number & 0xff), 0x00, 0xff};
  return a;
}

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    try {
      url_ = GetParam().create();
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    store_ = open_store(url_);
  }

  void TearDown() override {
    store_.reset();
    if (!url_.empty()) GetParam().destroy(url_);
  }

  void reopen() {
    store_.reset();
    store_ = open_store(url_);
  }

  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, IdentitiesAreAddedOnceWithValidNames) {
  store_->add_identity("bob@example.org");
  store_->add_identity("alice");
  EXPECT_THROW(store_->add_identity("alice"), InputError);
  for (const std::string& bad :
       std::vector<std::string>{"", "a b", "x/y", "..", "é", std::string(65, 'a')})
    EXPECT_THROW(store_->add_identity(bad), InputError) << bad;
  EXPECT_TRUE(store_->has_identity("alice"));
  EXPECT_FALSE(store_->has_identity("carol"));
  EXPECT_FALSE(store_->has_identity("not valid"));
  const auto all = store_->identities();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(all[1].name, "bob@example.org");
  EXPECT_GT(all[0].created_unix, 1700000000);
  EXPECT_EQ(all[0].active_tokens, 0u);
}

TEST_P(StoreContract, TokensAuthenticateUntilRevoked) {
  store_->add_identity("alice");
  store_->add_identity("bob");
  EXPECT_THROW(store_->issue_token("carol"), InputError);
  const std::string t1 = store_->issue_token("alice");
  const std::string t2 = store_->issue_token("alice");
  const std::string tb = store_->issue_token("bob");
  EXPECT_TRUE(std::regex_match(t1, std::regex("emt_[0-9a-f]{16}_[0-9a-f]{64}"))) << t1;
  EXPECT_NE(t1, t2);
  EXPECT_EQ(store_->authenticate(t1), "alice");
  EXPECT_EQ(store_->authenticate(t2), "alice");
  EXPECT_EQ(store_->authenticate(tb), "bob");
  EXPECT_EQ(store_->identities()[0].active_tokens, 2u);

  EXPECT_EQ(store_->revoke_tokens("alice"), 2u);
  EXPECT_EQ(store_->revoke_tokens("alice"), 0u);
  EXPECT_THROW(store_->revoke_tokens("carol"), InputError);
  EXPECT_EQ(store_->authenticate(t1), std::nullopt);
  EXPECT_EQ(store_->authenticate(t2), std::nullopt);
  EXPECT_EQ(store_->authenticate(tb), "bob");
  EXPECT_EQ(store_->identities()[0].active_tokens, 0u);

  const std::string t3 = store_->issue_token("alice");
  EXPECT_EQ(store_->authenticate(t3), "alice");
}

TEST_P(StoreContract, TamperedAndMalformedTokensAreRefused) {
  store_->add_identity("alice");
  const std::string t = store_->issue_token("alice");
  // Every single-character change of id or secret.
  for (std::size_t i = 4; i < t.size(); ++i) {
    if (t[i] == '_') continue;
    std::string bad = t;
    bad[i] = bad[i] == '0' ? '1' : '0';
    EXPECT_EQ(store_->authenticate(bad), std::nullopt) << i;
  }
  std::string upper = t;
  for (char& c : upper)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  std::string with_nul = t;
  with_nul[30] = '\0';
  for (const std::string& bad : std::vector<std::string>{
           std::string(), std::string("emt_"), t.substr(0, t.size() - 1), t + "0",
           "xmt" + t.substr(3), t.substr(0, 20) + "-" + t.substr(21), upper, with_nul,
           std::string(100000, 'a'), std::string("emt_' OR 1=1 --"), "Bearer " + t})
    EXPECT_EQ(store_->authenticate(bad), std::nullopt) << bad.substr(0, 100);
  EXPECT_EQ(store_->authenticate(t), "alice");
}

TEST_P(StoreContract, AnotherIdentitysTokenIdWithAWrongSecretIsRefused) {
  store_->add_identity("alice");
  store_->add_identity("bob");
  const std::string a = store_->issue_token("alice");
  const std::string b = store_->issue_token("bob");
  // "emt_" + 16 hex id + "_" + secret
  const std::string alice_id_bob_secret = a.substr(0, 21) + b.substr(21);
  const std::string bob_id_alice_secret = b.substr(0, 21) + a.substr(21);
  EXPECT_EQ(store_->authenticate(alice_id_bob_secret), std::nullopt);
  EXPECT_EQ(store_->authenticate(bob_id_alice_secret), std::nullopt);
}

TEST_P(StoreContract, AKeyIdBelongsToOneIdentity) {
  store_->add_identity("alice");
  store_->add_identity("bob");
  EXPECT_EQ(store_->key_owner(key(1)), std::nullopt);
  store_->claim_key("alice", key(1));
  store_->claim_key("alice", key(1));  // idempotent
  EXPECT_EQ(store_->key_owner(key(1)), "alice");
  EXPECT_THROW(store_->claim_key("bob", key(1)), SecurityError);
  EXPECT_EQ(store_->key_owner(key(1)), "alice");
  store_->claim_key("bob", key(2));
  EXPECT_EQ(store_->key_owner(key(2)), "bob");
  EXPECT_THROW(store_->claim_key("carol", key(3)), InputError);
  EXPECT_EQ(store_->key_owner(key(3)), std::nullopt);
  std::string upper = key(0xabc);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : std::vector<std::string>{key(1).substr(1), key(1) + "0", upper,
                                                         std::string(64, 'g'), std::string()}) {
    EXPECT_THROW(store_->claim_key("alice", bad), InputError) << bad;
    EXPECT_THROW(store_->key_owner(bad), InputError) << bad;
  }
}

TEST_P(StoreContract, BudgetsUseTheDefaultUntilTheAdminSetsOne) {
  store_->add_identity("alice");
  BudgetStatus b = store_->budget("alice", "m1", 50);
  EXPECT_EQ(b.identity, "alice");
  EXPECT_EQ(b.model, "m1");
  EXPECT_EQ(b.limit, 50u);
  EXPECT_EQ(b.used, 0u);
  EXPECT_FALSE(b.explicit_limit);
  EXPECT_EQ(store_->budget("alice", "m1", 0).remaining(), UINT64_MAX);

  store_->set_budget("alice", "m1", 10);
  b = store_->budget("alice", "m1", 50);
  EXPECT_EQ(b.limit, 10u);
  EXPECT_TRUE(b.explicit_limit);
  EXPECT_EQ(b.remaining(), 10u);
  store_->set_budget("alice", "m1", 0);  // explicit: unlimited, whatever the default
  b = store_->budget("alice", "m1", 50);
  EXPECT_EQ(b.limit, 0u);
  EXPECT_TRUE(b.explicit_limit);
  EXPECT_EQ(b.remaining(), UINT64_MAX);

  EXPECT_THROW(store_->set_budget("carol", "m1", 5), InputError);
  EXPECT_THROW(store_->budget("carol", "m1", 5), InputError);
  for (const std::string& bad : std::vector<std::string>{"", "a b", "m/1", std::string(129, 'm')}) {
    EXPECT_THROW(store_->set_budget("alice", bad, 5), InputError) << bad;
    EXPECT_THROW(store_->budget("alice", bad, 5), InputError) << bad;
  }
  EXPECT_THROW(store_->set_budget("alice", "m1", UINT64_MAX), InputError);
  store_->set_budget("alice", std::string(128, 'm'), 3);

  store_->add_identity("bob");
  store_->set_budget("bob", "m2", 7);
  store_->record_answer(answer("bob", 1, 2, "m3"), 100);  // a row from a charge alone
  const auto all = store_->budgets("");
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].identity, "alice");
  const auto bobs = store_->budgets("bob");
  ASSERT_EQ(bobs.size(), 2u);
  EXPECT_EQ(bobs[0].model, "m2");
  EXPECT_EQ(bobs[0].limit, 7u);
  EXPECT_TRUE(bobs[0].explicit_limit);
  EXPECT_EQ(bobs[1].model, "m3");
  EXPECT_FALSE(bobs[1].explicit_limit);  // the caller's default applies
  EXPECT_EQ(bobs[1].used, 2u);
  EXPECT_THROW(store_->budgets("carol"), InputError);
}

TEST_P(StoreContract, RecordAnswerChargesAndRefusesPastTheLimitChangingNothing) {
  store_->add_identity("alice");
  store_->set_budget("alice", "m", 10);
  BudgetStatus b = store_->record_answer(answer("alice", 1, 6, "m"), 1000);
  EXPECT_EQ(b.used, 6u);
  EXPECT_EQ(b.limit, 10u);
  EXPECT_TRUE(b.explicit_limit);
  try {
    store_->record_answer(answer("alice", 2, 5, "m"), 1000);
    FAIL() << "charged past the limit";
  } catch (const BudgetExhausted& e) {
    EXPECT_NE(std::string(e.what()).find("6 of 10"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store_->budget("alice", "m", 1000).used, 6u);
  EXPECT_EQ(store_->find_answer("alice", request(2)), std::nullopt);
  EXPECT_EQ(store_->record_answer(answer("alice", 2, 4, "m"), 1000).used, 10u);  // exactly full
  EXPECT_THROW(store_->record_answer(answer("alice", 3, 1, "m"), 1000), BudgetExhausted);
  EXPECT_EQ(store_->budget("alice", "m", 1000).remaining(), 0u);

  // Without an explicit limit the caller's default applies; 0 is unlimited.
  EXPECT_EQ(store_->record_answer(answer("alice", 4, 3, "d"), 5).limit, 5u);
  EXPECT_THROW(store_->record_answer(answer("alice", 5, 3, "d"), 5), BudgetExhausted);
  EXPECT_EQ(store_->record_answer(answer("alice", 5, 3, "d"), 6).used, 6u);
  b = store_->record_answer(answer("alice", 6, 1000000, "u"), 0);
  EXPECT_EQ(b.used, 1000000u);
  EXPECT_EQ(b.remaining(), UINT64_MAX);
}

TEST_P(StoreContract, RecordAnswerValidatesEveryField) {
  store_->add_identity("alice");
  const auto refused = [&](Answer a) { EXPECT_THROW(store_->record_answer(a, 0), InputError); };
  Answer a = answer("alice", 1, 1);
  a.request_id = "short";
  refused(a);
  a = answer("alice", 1, 1);
  a.request_id = std::string(16, '.');
  refused(a);
  a = answer("alice", 1, 1);
  a.key_id = "abc";
  refused(a);
  a = answer("alice", 1, 1);
  a.model = "bad model";
  refused(a);
  a = answer("alice", 1, 1);
  a.molecules = UINT64_MAX;
  refused(a);
  refused(answer("carol", 1, 1));
  EXPECT_TRUE(store_->budgets("").empty());
  EXPECT_THROW(store_->find_answer("alice", "short"), InputError);
  EXPECT_THROW(store_->find_answer("not valid", request(1)), InputError);
}

TEST_P(StoreContract, ADuplicateRequestIdIsRefusedWithoutACharge) {
  store_->add_identity("alice");
  store_->add_identity("bob");
  store_->record_answer(answer("alice", 1, 3), 100);
  EXPECT_THROW(store_->record_answer(answer("alice", 1, 3), 100), InputError);
  EXPECT_THROW(store_->record_answer(answer("alice", 1, 3, "other"), 100), InputError);
  EXPECT_EQ(store_->budget("alice", "qm7.energy_v1", 100).used, 3u);
  EXPECT_EQ(store_->budget("alice", "other", 100).used, 0u);
  // Request ids are per identity.
  EXPECT_EQ(store_->record_answer(answer("bob", 1, 2), 100).used, 2u);
}

TEST_P(StoreContract, AnswersAreFoundOnlyByTheirIdentity) {
  store_->add_identity("alice");
  store_->add_identity("bob");
  Answer a = answer("alice", 42, 5);
  a.result.assign(100000, 0);
  for (std::size_t i = 0; i < a.result.size(); ++i) a.result[i] = static_cast<std::uint8_t>(i * 7);
  store_->record_answer(a, 0);
  const auto found = store_->find_answer("alice", request(42));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->request_id, a.request_id);
  EXPECT_EQ(found->identity, "alice");
  EXPECT_EQ(found->model, a.model);
  EXPECT_EQ(found->key_id, a.key_id);
  EXPECT_EQ(found->molecules, 5u);
  EXPECT_EQ(found->result, a.result);
  EXPECT_EQ(store_->find_answer("bob", request(42)), std::nullopt);
  EXPECT_EQ(store_->find_answer("alice", request(43)), std::nullopt);
  Answer empty = answer("bob", 42, 1);
  empty.result.clear();
  store_->record_answer(empty, 0);
  EXPECT_EQ(store_->find_answer("bob", request(42))->result, core::Bytes{});
  EXPECT_EQ(store_->find_answer("alice", request(42))->result, a.result);
}

TEST_P(StoreContract, PruneDeletesOldAnswersAndKeepsTheCharges) {
  store_->add_identity("alice");
  for (int i = 1; i <= 3; ++i) store_->record_answer(answer("alice", i, 2), 0);
  GetParam().sql(url_, "UPDATE encmol_answers SET created_unix = 1000 WHERE request_id IN ('" +
                           request(1) + "', '" + request(2) + "')");
  EXPECT_EQ(store_->prune_answers(3600), 2u);
  EXPECT_EQ(store_->find_answer("alice", request(1)), std::nullopt);
  EXPECT_TRUE(store_->find_answer("alice", request(3)).has_value());
  EXPECT_EQ(store_->prune_answers(3600), 0u);
  EXPECT_EQ(store_->prune_answers(0), 1u);  // everything up to now
  EXPECT_EQ(store_->budget("alice", "qm7.energy_v1", 0).used, 6u);
  EXPECT_THROW(store_->prune_answers(-1), InputError);
  // A pruned request id stays charged; reusing it is a new request.
  EXPECT_EQ(store_->record_answer(answer("alice", 1, 1), 0).used, 7u);
}

TEST_P(StoreContract, ReopeningKeepsEverything) {
  store_->add_identity("alice");
  const std::string t = store_->issue_token("alice");
  store_->claim_key("alice", key(9));
  store_->set_budget("alice", "m", 20);
  store_->record_answer(answer("alice", 1, 8, "m"), 0);
  reopen();
  reopen();  // a second open finds the schema in place
  EXPECT_TRUE(store_->has_identity("alice"));
  EXPECT_EQ(store_->authenticate(t), "alice");
  EXPECT_EQ(store_->key_owner(key(9)), "alice");
  const BudgetStatus b = store_->budget("alice", "m", 0);
  EXPECT_EQ(b.limit, 20u);
  EXPECT_EQ(b.used, 8u);
  EXPECT_TRUE(store_->find_answer("alice", request(1)).has_value());
  EXPECT_THROW(store_->record_answer(answer("alice", 2, 13, "m"), 0), BudgetExhausted);
}

TEST_P(StoreContract, ADisabledIdentityCannotAuthenticateAndKeepsItsState) {
  store_->add_identity("alice");
  store_->add_identity("bob");
  const std::string t = store_->issue_token("alice");
  const std::string bob = store_->issue_token("bob");
  store_->claim_key("alice", key(9));
  store_->record_answer(answer("alice", 1, 3), 0);
  EXPECT_TRUE(store_->identity_enabled("alice"));
  store_->set_identity_disabled("alice", true);
  EXPECT_FALSE(store_->identity_enabled("alice"));
  EXPECT_TRUE(store_->has_identity("alice"));
  EXPECT_FALSE(store_->authenticate(t).has_value());
  EXPECT_EQ(store_->authenticate(bob), "bob");  // others are untouched
  reopen();
  EXPECT_FALSE(store_->authenticate(t).has_value());
  const auto all = store_->identities();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].disabled);
  EXPECT_EQ(all[0].active_tokens, 1u);  // disabled, not revoked
  EXPECT_FALSE(all[1].disabled);
  EXPECT_EQ(store_->key_owner(key(9)), "alice");
  EXPECT_EQ(store_->budget("alice", "qm7.energy_v1", 0).used, 3u);
  store_->set_identity_disabled("alice", false);
  EXPECT_TRUE(store_->identity_enabled("alice"));
  EXPECT_EQ(store_->authenticate(t), "alice");
  EXPECT_THROW(store_->set_identity_disabled("carol", true), InputError);
  EXPECT_THROW(store_->set_identity_disabled("bad name", true), InputError);
  EXPECT_FALSE(store_->identity_enabled("carol"));
  EXPECT_FALSE(store_->identity_enabled("bad name"));
}

// A database of schema 1 (before identities could be disabled) is migrated
// when opened, keeping its contents.
TEST_P(StoreContract, ASchemaOneDatabaseIsMigrated) {
  store_->add_identity("alice");
  const std::string t = store_->issue_token("alice");
  store_->record_answer(answer("alice", 1, 4), 0);
  store_.reset();
  GetParam().sql(url_, "ALTER TABLE encmol_identities DROP COLUMN disabled");
  GetParam().sql(url_, "UPDATE encmol_schema SET version = 1");
  reopen();
  EXPECT_EQ(store_->authenticate(t), "alice");
  EXPECT_TRUE(store_->identity_enabled("alice"));
  EXPECT_EQ(store_->budget("alice", "qm7.energy_v1", 0).used, 4u);
  store_->set_identity_disabled("alice", true);
  EXPECT_FALSE(store_->authenticate(t).has_value());
  reopen();  // migrated once: the second open finds schema 2
  EXPECT_FALSE(store_->identity_enabled("alice"));
}

TEST_P(StoreContract, ASchemaVersionBelowOneIsRefused) {
  store_.reset();
  GetParam().sql(url_, "UPDATE encmol_schema SET version = 0");
  try {
    open_store(url_);
    FAIL() << "opened a database of schema version 0";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
}

TEST_P(StoreContract, ANewerSchemaIsRefused) {
  store_.reset();
  GetParam().sql(url_, "UPDATE encmol_schema SET version = 99");
  try {
    open_store(url_);
    FAIL() << "opened a database of a newer schema";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

// Charges `attempts` one-molecule queries per thread; returns how many passed.
int charge_concurrently(const std::function<Store&(int)>& store_of, int threads, int attempts) {
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        Store& store = store_of(t);
        for (int i = 0; i < attempts; ++i) {
          try {
            store.record_answer(answer("alice", t * 1000 + i, 1, "m"), 0);
            ++ok;
          } catch (const BudgetExhausted&) {
            ++refused;
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << "thread " << t << ": " << e.what();
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(ok + refused, threads * attempts);
  return ok;
}

TEST_P(StoreContract, ConcurrentChargesThroughOneStoreNeverPassTheLimit) {
  store_->add_identity("alice");
  store_->set_budget("alice", "m", 100);
  EXPECT_EQ(charge_concurrently([&](int) -> Store& { return *store_; }, 8, 50), 100);
  EXPECT_EQ(store_->budget("alice", "m", 0).used, 100u);
  int answers = 0;
  for (int t = 0; t < 8; ++t)
    for (int i = 0; i < 50; ++i)
      answers += store_->find_answer("alice", request(t * 1000 + i)) ? 1 : 0;
  EXPECT_EQ(answers, 100);
}

TEST_P(StoreContract, ConcurrentChargesThroughSeveralConnectionsNeverPassTheLimit) {
  store_->add_identity("alice");
  store_->set_budget("alice", "m", 100);
  // One store per thread: separate connections, as separate replicas have.
  std::vector<std::unique_ptr<Store>> stores(6);
  for (auto& s : stores) s = open_store(url_);
  EXPECT_EQ(charge_concurrently([&](int t) -> Store& { return *stores[t]; }, 6, 40), 100);
  EXPECT_EQ(store_->budget("alice", "m", 0).used, 100u);
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract, ::testing::Values(store_test::sqlite_backend()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Postgres, StoreContract, ::testing::Values(store_test::postgres_backend()),
                         backend_name);

}  // namespace
