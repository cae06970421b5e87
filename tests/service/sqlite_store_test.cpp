// The SQLite backend's own promises (owner-only files, several processes on
// one file, refusing foreign files), open_store's URL forms, and the token
// format and hashing (token.hpp).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "encmol/core/error.hpp"
#include "encmol/service/store.hpp"
#include "encmol/service/token.hpp"
#include "store_test_util.hpp"

using namespace encmol;
using namespace encmol::service;
namespace st = encmol::service::store_test;

namespace {

// A fresh SQLite URL, removed with its directory at the end of the test.
class SqliteStore : public ::testing::Test {
 protected:
  void SetUp() override { url_ = st::sqlite_create(); }
  void TearDown() override { st::sqlite_destroy(url_); }
  std::filesystem::path path() const { return st::sqlite_path(url_); }
  std::string url_;
};

Answer one_molecule(int n) {
  Answer a;
  a.request_id = "request-" + std::to_string(100000000 + n);
  a.identity = "alice";
  a.model = "m";
  a.key_id = std::string(64, 'a');
  a.molecules = 1;
  a.result = {1, 2, 3};
  return a;
}

TEST_F(SqliteStore, FilesAreOwnerOnly) {
  auto store = open_store(url_);
  store->add_identity("alice");
  store->issue_token("alice");
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    const std::string file = path().string() + suffix;
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(SqliteStore, SeveralProcessesChargingOneFileNeverPassTheLimit) {
  {
    auto store = open_store(url_);
    store->add_identity("alice");
    store->set_budget("alice", "m", 100);
  }  // closed before fork: a child must not inherit an open connection
  constexpr int kProcesses = 4;
  constexpr int kAttempts = 50;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int ok = 0;
      try {
        auto store = open_store(url_);
        for (int i = 0; i < kAttempts; ++i) {
          try {
            store->record_answer(one_molecule(p * 1000 + i), 0);
            ++ok;
          } catch (const BudgetExhausted&) {
          }
        }
      } catch (...) {
        ::_exit(255);
      }
      ::_exit(ok);
    }
    children.push_back(pid);
  }
  int charged = 0;
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 255) << "a child process failed";
    charged += WEXITSTATUS(status);
  }
  EXPECT_EQ(charged, 100);
  EXPECT_EQ(open_store(url_)->budget("alice", "m", 0).used, 100u);
}

// Crash safety (reliability issue): a process charging answers is killed
// with SIGKILL at random points, ten times. After every kill the database
// opens, and the budget's use equals the molecules of the answers stored:
// no answer without its charge, no charge without its answer.
TEST_F(SqliteStore, SigkillWhileChargingNeverTearsChargeFromAnswer) {
  {
    auto store = open_store(url_);
    store->add_identity("alice");
  }
  std::srand(7);
  int next = 0;
  for (int round = 0; round < 10; ++round) {
    const int first = next;
    // The child reports its first charge through a pipe, so the kill comes
    // after it (a loaded machine may take long to start it) without the
    // parent touching the database it hammers.
    int charged[2];
    ASSERT_EQ(::pipe(charged), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(charged[0]);
      try {
        auto store = open_store(url_);
        store->record_answer(one_molecule(first), 0);
        const char one = 1;
        if (::write(charged[1], &one, 1) != 1) _exit(4);
        for (int i = first + 1;; ++i) store->record_answer(one_molecule(i), 0);
      } catch (...) {
      }
      _exit(3);
    }
    ::close(charged[1]);
    struct KillOnExit {  // never leave the child running, whatever fails below
      pid_t pid;
      ~KillOnExit() {
        if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
      }
    } guard{pid};
    pollfd ready{charged[0], POLLIN, 0};
    ASSERT_EQ(::poll(&ready, 1, 60000), 1) << "the child did not charge within 60 s";
    char byte = 0;
    ASSERT_EQ(::read(charged[0], &byte, 1), 1) << "the child stopped before its first charge";
    ::close(charged[0]);
    ::usleep(static_cast<useconds_t>(std::rand() % 150000));  // at a random moment
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    guard.pid = 0;  // reaped
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself";
    auto store = open_store(url_);
    while (store->find_answer("alice", one_molecule(next).request_id)) ++next;
    for (int gap = 1; gap <= 3; ++gap)
      EXPECT_FALSE(store->find_answer("alice", one_molecule(next + gap).request_id));
    EXPECT_EQ(store->budget("alice", "m", 0).used, static_cast<std::uint64_t>(next))
        << "round " << round;
    EXPECT_GT(next, first) << "the child charged nothing before it was killed";
  }
  // The next run starts cleanly.
  auto store = open_store(url_);
  EXPECT_EQ(store->record_answer(one_molecule(next), 0).used, static_cast<std::uint64_t>(next + 1));
}

TEST_F(SqliteStore, SeveralProcessesCreatingOneFileAtOnceAllSucceed) {
  constexpr int kProcesses = 6;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        auto store = open_store(url_);
        store->has_identity("alice");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
        ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a process could not open";
  }
  auto store = open_store(url_);
  store->add_identity("alice");
  EXPECT_EQ(store->identities().size(), 1u);
}

TEST_F(SqliteStore, TheTokenSecretIsNeverStored) {
  std::string token;
  {
    auto store = open_store(url_);
    store->add_identity("alice");
    token = store->issue_token("alice");
  }  // closing checkpoints the WAL into the file
  const auto parsed = token::parse(token);
  ASSERT_TRUE(parsed.has_value());
  std::string file;
  for (const std::string suffix : {"", "-wal"}) {
    std::ifstream in(path().string() + suffix, std::ios::binary);
    file += std::string(std::istreambuf_iterator<char>(in), {});
  }
  const std::string raw(parsed->secret.begin(), parsed->secret.end());
  EXPECT_NE(file.find(parsed->id), std::string::npos);  // the search itself works
  EXPECT_EQ(file.find(token.substr(21)), std::string::npos);
  EXPECT_EQ(file.find(raw), std::string::npos);
}

TEST_F(SqliteStore, AFileThatIsNotADatabaseIsAFormatError) {
  std::ofstream(path()) << std::string(4096, 'x');
  EXPECT_THROW(open_store(url_), FormatError);
  EXPECT_THROW(open_store("sqlite:" + path().parent_path().string()), IoError);  // a directory
}

TEST(OpenStore, AMissingDirectoryIsAnIoError) {
  try {
    open_store("sqlite:/nonexistent-encmol-dir/state.db");
    FAIL() << "opened a database in a missing directory";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-encmol-dir/state.db"), std::string::npos)
        << e.what();
  }
}

TEST(OpenStore, OtherFormsAreRefusedNamingTheAcceptedOnes) {
  for (const std::string url : {"", "state.db", "sqlite:", "sqlite://state.db", "SQLITE:x.db",
                                "mysql://user:hunter2pw@host/db", "postgresqlx://h/db"}) {
    try {
      open_store(url);
      FAIL() << "accepted " << url;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("sqlite:"), std::string::npos) << what;
      EXPECT_EQ(what.find("hunter2pw"), std::string::npos) << what;
    }
  }
}

TEST(StoreToken, IssuedTokensHaveTheDocumentedFormat) {
  const token::Issued a = token::issue();
  const token::Issued b = token::issue();
  EXPECT_EQ(a.text.size(), token::kTokenChars);
  EXPECT_EQ(a.text.substr(0, 4), "emt_");
  EXPECT_EQ(a.text.substr(4, 16), a.id);
  EXPECT_EQ(a.text[20], '_');
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.text.substr(21), b.text.substr(21));
  // The stored parts hold no trace of the secret.
  const std::string secret = a.text.substr(21);
  EXPECT_EQ(core::to_hex(a.hash).find(secret.substr(0, 8)), std::string::npos);
}

TEST(StoreToken, ParseAndMatch) {
  const token::Issued issued = token::issue();
  const auto parsed = token::parse(issued.text);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->id, issued.id);
  EXPECT_TRUE(token::matches(*parsed, issued.salt, issued.hash));

  token::Salt other_salt = issued.salt;
  other_salt[0] ^= 1;
  EXPECT_FALSE(token::matches(*parsed, other_salt, issued.hash));
  token::Hash other_hash = issued.hash;
  other_hash[31] ^= 0x80;
  EXPECT_FALSE(token::matches(*parsed, issued.salt, other_hash));
  EXPECT_FALSE(token::matches(*parsed, std::span(issued.salt).first(8), issued.hash));
  EXPECT_FALSE(token::matches(*parsed, issued.salt, std::span(issued.hash).first(16)));

  // The id is part of the hash: the same secret under another id does not match.
  const std::string moved = "emt_" + std::string(16, '0') + issued.text.substr(20);
  const auto moved_parsed = token::parse(moved);
  ASSERT_TRUE(moved_parsed.has_value());
  EXPECT_FALSE(token::matches(*moved_parsed, issued.salt, issued.hash));
  EXPECT_NE(token::hash("0000000000000000", parsed->secret, issued.salt), issued.hash);
}

TEST(StoreToken, MalformedTokensDoNotParse) {
  const std::string good = token::issue().text;
  std::string upper = good;
  upper[25] = 'G';
  for (const std::string& bad :
       std::vector<std::string>{std::string(), good.substr(1), good + "a", "EMT_" + good.substr(4),
                                good.substr(0, 20) + ":" + good.substr(21), upper,
                                good.substr(0, 30) + "A" + good.substr(31)})
    EXPECT_FALSE(token::parse(bad).has_value()) << bad;
}

}  // namespace
