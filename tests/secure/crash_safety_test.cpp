// Crash safety of every file writer: a child process rewrites a file again
// and again, alternating two versions, and is killed with SIGKILL at a random
// moment; the file on disk must then be one of the two versions, whole
// (checksum and decoding pass), and the next writer must start cleanly.
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
  // The next run starts cleanly: a writer succeeds, and what it wrote is read back.
  write(1);
  EXPECT_EQ(check(path), 1);
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

TEST_F(CrashSafety, ModelCardAndSessionFilesAreNeverTorn) {
  const auto all = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
  const std::vector<chem::Molecule> few(all.begin(), all.begin() + 60);
  ml::TrainOptions o;
  o.targets = {"ae_pbe0"};
  o.sigmas = {100};
  o.lambdas = {1e-1};  // small weights, so a card compiles at a loose tolerance
  const ml::Model models[2] = {
      ml::train(few, o).model,
      ml::train(std::vector<chem::Molecule>(few.begin(), few.begin() + 30), o).model};
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

}  // namespace
}  // namespace encmol
