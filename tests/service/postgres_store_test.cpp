// The PostgreSQL backend's own promises, against the real test server
// (scripts/pg_test_server.sh; ctest starts it): replicas creating the schema
// at once, reconnecting after the server dropped the connection, and never
// showing the connection's password.
#include "encmol/service/postgres_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "encmol/core/error.hpp"
#include "encmol/service/store.hpp"
#include "store_test_util.hpp"

using namespace encmol;
using namespace encmol::service;
namespace st = encmol::service::store_test;

namespace {

// A fresh database on the test server; fails (not skips) without a server.
class PostgresStore : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      url_ = st::postgres_create();
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  void TearDown() override {
    if (!url_.empty()) st::postgres_destroy(url_);
  }
  std::string url_;
};

Answer answer_of(const std::string& identity, int n, std::uint64_t molecules) {
  return {"request-" + std::to_string(100000000 + n),
          identity,
          "m",
          std::string(64, 'b'),
          molecules,
          {9, 8, 7}};
}

TEST_F(PostgresStore, ReplicasStartingAtOnceCreateTheSchemaOnce) {
  constexpr int kReplicas = 6;
  std::atomic<int> ready{0};
  std::atomic<int> opened{0};
  std::vector<std::thread> pool;
  for (int r = 0; r < kReplicas; ++r) {
    pool.emplace_back([&] {
      ++ready;
      while (ready < kReplicas) std::this_thread::yield();
      try {
        auto store = open_store(url_);
        ++opened;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(opened, kReplicas);
  auto store = open_store(url_);
  store->add_identity("alice");
  EXPECT_EQ(store->record_answer(answer_of("alice", 1, 4), 10).used, 4u);
}

TEST_F(PostgresStore, ReconnectsAfterTheServerDroppedTheConnection) {
  auto store = open_store(url_);
  store->add_identity("alice");
  const std::string token = store->issue_token("alice");
  const std::string kill_others =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()";
  st::pg_sql(url_, kill_others);
  EXPECT_TRUE(store->has_identity("alice"));
  st::pg_sql(url_, kill_others);
  EXPECT_EQ(store->record_answer(answer_of("alice", 1, 3), 10).used, 3u);
  st::pg_sql(url_, kill_others);
  EXPECT_EQ(store->authenticate(token), "alice");
  EXPECT_EQ(store->budget("alice", "m", 10).used, 3u);
}

TEST_F(PostgresStore, ErrorsNeverShowThePassword) {
  const std::string password = "Sup3r-Secret-pw";
  // The test server's URL with a password and a database that does not exist.
  std::string url = st::pg_with_database(url_, "encmol_no_such_database");
  const std::size_t at = url.find('@');
  ASSERT_NE(at, std::string::npos) << url;
  url.insert(at, ":" + password);
  const std::string refused_port =
      "postgresql://postgres:" + password + "@127.0.0.1:1/db?connect_timeout=3";
  const std::string as_parameter =
      "postgresql://postgres@127.0.0.1:1/db?password=" + password + "&connect_timeout=3";
  for (const std::string& u : {url, refused_port, as_parameter}) {
    try {
      open_store(u);
      FAIL() << "connected to " << redact_postgres_uri(u);
    } catch (const IoError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find(password), std::string::npos) << what;
      EXPECT_NE(what.find("***"), std::string::npos) << what;
      EXPECT_NE(what.find("cannot connect"), std::string::npos) << what;
    }
  }
}

TEST_F(PostgresStore, RedactsPasswordsInUris) {
  EXPECT_EQ(redact_postgres_uri("postgresql://u:pw@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(redact_postgres_uri("postgres://u@h/db?password=pw&sslmode=require"),
            "postgres://u@h/db?password=***&sslmode=require");
  EXPECT_EQ(redact_postgres_uri("postgresql://u:p%40w@h/db?password=x"),
            "postgresql://u:***@h/db?password=***");
  EXPECT_EQ(redact_postgres_uri("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(redact_postgres_uri("postgresql://h:5432/db"), "postgresql://h:5432/db");
}

TEST_F(PostgresStore, ChargesFromManyReplicasWithLargeQueriesNeverPassTheLimit) {
  {
    auto store = open_store(url_);
    store->add_identity("alice");
  }
  // The default limit (no explicit one), queries of 7 molecules: at most 14
  // of them fit into 100.
  constexpr int kReplicas = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> pool;
  for (int r = 0; r < kReplicas; ++r) {
    pool.emplace_back([&, r] {
      try {
        auto store = open_store(url_);
        for (int i = 0; i < 10; ++i) {
          try {
            store->record_answer(answer_of("alice", r * 100 + i, 7), 100);
            ++ok;
          } catch (const BudgetExhausted&) {
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(ok, 14);
  EXPECT_EQ(open_store(url_)->budget("alice", "m", 100).used, 98u);
}

}  // namespace
