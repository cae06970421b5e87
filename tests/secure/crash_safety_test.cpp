// Crash safety of every file writer: a child process rewrites a file again
// and again, alternating two versions, and is killed with SIGKILL at a random
// moment; the file on disk must then be one of the two versions, whole
// (checksum and decoding pass), and the next writer must start cleanly and
// remove the killed writers' temporary files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "encmol/chem/readers.hpp"
#include "encmol/core/binary.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/budget_state.hpp"
#include "encmol/secure/multiparty.hpp"
#include "encmol/secure/roles.hpp"

namespace encmol {
namespace {

namespace fs = std::filesystem;

// Kills a writer `rounds` times at random moments; after each kill, `check`
// must accept the file (it returns which version it found: 0 or 1).
void kill_while_writing(const fs::path& path, const std::function<void(int)>& write,
                        const std::function<int(const fs::path&)>& check, int rounds) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> delay_us(0, 40000);
  write(0);  // a complete first version
  for (int r = 0; r < rounds; ++r) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (int i = 1;; ++i) write(i % 2);  // never returns; killed below
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    check(path);  // throws (failing the test) unless the file is one whole version
  }
  // The next run starts cleanly: a writer succeeds, what it wrote is read back,
  // and no temporary file of a killed writer is left.
  write(1);
  EXPECT_EQ(check(path), 1);
  std::string temporary = ".";  // appended piecewise: "." + string trips gcc 12's -Wrestrict
  temporary += path.filename().string();
  temporary += ".tmp";
  for (const auto& entry : fs::directory_iterator(path.parent_path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_NE(name.rfind(temporary, 0), 0u) << name << " left behind";
  }
}

class CrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("encmol_crash_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CrashSafety, EnvelopeFilesAreNeverTorn) {
  const fs::path path = dir_ / "data.bin";
  const core::Bytes a(3 << 20, 0xA5), b(1 << 20, 0x5A);  // versions of different sizes
  kill_while_writing(
      path, [&](int v) { core::save_envelope_file(path, core::make_kind("TEST"), 1, v ? b : a); },
      [&](const fs::path& p) {
        const auto loaded =
            core::load_envelope_file(p, core::make_kind("TEST"), 1, "test file", 16 << 20);
        if (loaded.payload == a) return 0;
        EXPECT_EQ(loaded.payload, b);
        return 1;
      },
      25);
}

std::vector<chem::Molecule> first_qm7(std::size_t count) {
  const auto all = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
  return {all.begin(), all.begin() + static_cast<std::ptrdiff_t>(count)};
}

// A kernel model of the first `count` QM7 molecules whose card compiles at a loose tolerance.
ml::Model small_model(const std::vector<chem::Molecule>& molecules, std::size_t count) {
  ml::TrainOptions o;
  o.targets = {"ae_pbe0"};
  o.sigmas = {100};
  o.lambdas = {1e-1};  // small weights, so a card compiles at a loose tolerance
  return ml::train(std::vector<chem::Molecule>(
                       molecules.begin(), molecules.begin() + static_cast<std::ptrdiff_t>(count)),
                   o)
      .model;
}

TEST_F(CrashSafety, ModelCardAndSessionFilesAreNeverTorn) {
  const auto few = first_qm7(60);
  const ml::Model models[2] = {small_model(few, 60), small_model(few, 30)};
  const fs::path model = dir_ / "m.model";
  kill_while_writing(
      model, [&](int v) { models[v].save(model); },
      [&](const fs::path& p) { return ml::Model::load(p).training_size() == 60 ? 0 : 1; }, 15);

  secure::PlanOptions loose;
  loose.tolerance = 1.0;
  const secure::ModelCard cards[2] = {secure::ModelCard::from_model(models[0], loose),
                                      secure::ModelCard::from_model(models[1], loose)};
  const fs::path card = dir_ / "m.card";
  kill_while_writing(
      card, [&](int v) { cards[v].save(card); },
      [&](const fs::path& p) {
        return secure::ModelCard::load(p).plan_hash() == cards[0].plan_hash() ? 0 : 1;
      },
      15);

  secure::PartySessionOptions so;
  so.elements = {1, 6, 7, 8, 16};
  so.feature_counts = {8, 8, 4, 4, 1};
  so.sigma = 4;
  so.targets = {"ae_pbe0"};
  const secure::PartySession sessions[2] = {secure::create_session(so), secure::create_session(so)};
  const fs::path session = dir_ / "s.pses";
  kill_while_writing(
      session, [&](int v) { sessions[v].save(session); },
      [&](const fs::path& p) { return secure::PartySession::load(p).id == sessions[0].id ? 0 : 1; },
      15);
}

TEST_F(CrashSafety, ClientAndServerFilesAreNeverTorn) {
  const auto few = first_qm7(30);
  const ml::Model model = small_model(few, 30);
  secure::PlanOptions loose;
  loose.tolerance = 1.0;
  const secure::ModelCard card = secure::ModelCard::from_model(model, loose);
  const secure::Client clients[2] = {secure::Client(card), secure::Client(card)};
  const auto& ctx = *clients[0].context();

  const fs::path skey = dir_ / "me.key";
  kill_while_writing(
      skey, [&](int v) { clients[v].save_secret_key(skey); },
      [&](const fs::path& p) {
        return secure::Client::load(p).key_id() == clients[0].key_id() ? 0 : 1;
      },
      10);

  const secure::EvalKeys keys = clients[0].make_eval_keys();
  const fs::path evk = dir_ / "me.evk";
  ASSERT_GE(keys.galois.keys.size(), 2u);
  secure::EvalKeys fewer = keys;  // a second version: one Galois key less
  fewer.galois.keys.erase(fewer.galois.keys.begin());
  kill_while_writing(
      evk, [&](int v) { (v ? fewer : keys).save(evk, ctx); },
      [&](const fs::path& p) {
        return secure::EvalKeys::load(p, ctx).galois.keys.size() == keys.galois.keys.size() ? 0 : 1;
      },
      6);

  const std::size_t per_ct = card.plan.queries;
  const secure::Query queries[2] = {clients[0].encrypt({few[0], few[1], few[2]}),
                                    clients[0].encrypt({few[3]})};
  const fs::path query = dir_ / "q.query";
  kill_while_writing(
      query, [&](int v) { queries[v].save(query, ctx); },
      [&](const fs::path& p) { return secure::Query::load(p, ctx, per_ct).molecules == 3 ? 0 : 1; },
      10);

  secure::Server server(model, card);
  const secure::Result results[2] = {server.evaluate(queries[0], keys),
                                     server.evaluate(queries[1], keys)};
  const fs::path result = dir_ / "r.result";
  kill_while_writing(
      result, [&](int v) { results[v].save(result, ctx); },
      [&](const fs::path& p) {
        return secure::Result::load(p, ctx, per_ct).molecules == 3 ? 0 : 1;
      },
      10);

  // Budget state: a server would write the next count after each answer.
  const std::string id = core::to_hex(keys.key_id);
  const secure::BudgetUsage usage[2] = {{{id, 3}}, {{id, 4}, {std::string(64, 'a'), 7}}};
  const fs::path budget = dir_ / "budget.json";
  kill_while_writing(
      budget, [&](int v) { secure::save_budget_state(budget, usage[v]); },
      [&](const fs::path& p) { return secure::load_budget_state(p) == usage[0] ? 0 : 1; }, 15);
}

}  // namespace
}  // namespace encmol
