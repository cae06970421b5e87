#include "encmol/core/file_io.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>

#include "encmol/core/error.hpp"

using namespace encmol;
using namespace encmol::core;

namespace {
// One directory per test and process: CTest runs tests in parallel processes
// that share gtest's random seed, so the seed alone would collide.
std::filesystem::path temp_dir() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() /
             ("encmol_io_test_" + std::string(test->name()) + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

TEST(FileIo, AtomicWriteReplacesAndLeavesNoTemporaries) {
  const auto dir = temp_dir();
  const auto path = dir / "out.txt";
  write_file_atomic(path, std::string_view("first"));
  write_file_atomic(path, std::string_view("second"));
  EXPECT_EQ(read_file_text(path), "second");
  std::size_t files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}

TEST(FileIo, AtomicWriteRemovesTemporariesOfKilledWritersOnly) {
  const auto dir = temp_dir();
  const auto path = dir / "out.bin";
  // A pid that no longer exists: a child that has exited and been reaped.
  const pid_t gone = ::fork();
  ASSERT_GE(gone, 0);
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const auto stale = dir / (".out.bin.tmp." + std::to_string(gone) + ".123");
  const auto live = dir / (".out.bin.tmp." + std::to_string(::getppid()) + ".456");  // alive
  const auto other = dir / (".other.bin.tmp." + std::to_string(gone) + ".789");  // another file's
  const auto odd = dir / ".out.bin.tmp.notapid.1";
  for (const auto& p : {stale, live, other, odd}) write_file_atomic(p, std::string_view("x"));
  write_file_atomic(path, std::string_view("new"));
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_TRUE(std::filesystem::exists(odd));
  EXPECT_EQ(read_file_text(path), "new");
  std::filesystem::remove_all(dir);
}

TEST(FileIo, OwnerOnlyFilesAreNotReadableByOthers) {
  const auto dir = temp_dir();
  write_file_atomic(dir / "secret.key", std::string_view("s"), Access::OwnerOnly);
  write_file_atomic(dir / "public.bin", std::string_view("p"));
  namespace fs = std::filesystem;
  const auto others = fs::perms::group_all | fs::perms::others_all;
  EXPECT_EQ(fs::status(dir / "secret.key").permissions() & others, fs::perms::none);
  EXPECT_NE(fs::status(dir / "public.bin").permissions() & fs::perms::others_read, fs::perms::none);
  fs::remove_all(dir);
}

TEST(FileIo, FileLockIsExclusiveAndReleasedOnDestruction) {
  const auto dir = temp_dir();
  const auto path = dir / "state.lock";
  {
    const FileLock first(path, "a test");
    try {
      const FileLock second(path, "a test");
      ADD_FAILURE() << "a second holder got the lock";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("in use by another encmol process"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(FileLock(path, "a test"));  // released with the first holder
  EXPECT_THROW(FileLock(dir / "missing" / "x.lock", "a test"), IoError);
  std::filesystem::remove_all(dir);
}

TEST(FileIo, WriteIntoMissingDirectoryFailsClearly) {
  try {
    write_file_atomic("/nonexistent-encmol-dir/x.bin", std::string_view("x"));
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-encmol-dir/x.bin"), std::string::npos);
  }
}

TEST(FileIo, SizeLimitAndMissingFile) {
  const auto dir = temp_dir();
  const auto path = dir / "big.txt";
  write_file_atomic(path, std::string(1000, 'a'));
  EXPECT_THROW(read_file_bytes(path, 999), FormatError);
  EXPECT_EQ(read_file_bytes(path, 1000).size(), 1000u);
  EXPECT_THROW(read_file_bytes(dir / "missing.txt"), IoError);
  EXPECT_THROW(read_file_bytes(dir), IoError);
  std::filesystem::remove_all(dir);
}

TEST(FileIo, ReadsGzipTransparentlyAndRejectsCorruptGzip) {
  const auto dir = temp_dir();
  const std::string text = "3\ncomment\nH 0 0 0\nH 0 0 1\nH 0 0 2\n";
  std::vector<std::uint8_t> packed(compressBound(text.size()) + 64);
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = packed.data();
  zs.avail_out = static_cast<uInt>(packed.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  packed.resize(zs.total_out);
  deflateEnd(&zs);

  write_file_atomic(dir / "a.xyz.gz", packed);
  EXPECT_EQ(read_text_maybe_gzip(dir / "a.xyz.gz"), text);
  EXPECT_THROW(read_text_maybe_gzip(dir / "a.xyz.gz", 10), FormatError);

  auto truncated = packed;
  truncated.resize(truncated.size() / 2);
  write_file_atomic(dir / "b.xyz.gz", truncated);
  EXPECT_THROW(read_text_maybe_gzip(dir / "b.xyz.gz"), FormatError);
  std::filesystem::remove_all(dir);
}

TEST(FileIo, GzipIsReproducibleAndReadsBack) {
  const auto dir = temp_dir();
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i * 7919 % 10007) + "\n";
  const std::string a = gzip_compress(text, 9, "test");
  const std::string b = gzip_compress(text, 9, "test");
  EXPECT_EQ(a, b);
  ASSERT_GT(a.size(), 10u);
  EXPECT_LT(a.size(), text.size() / 2);
  // Header: magic, deflate, no flags (no file name), mtime 0.
  EXPECT_EQ(static_cast<unsigned char>(a[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(a[1]), 0x8b);
  EXPECT_EQ(a[2], 8);
  EXPECT_EQ(a[3], 0);
  EXPECT_EQ(a.substr(4, 4), std::string(4, '\0'));
  write_file_atomic(dir / "t.gz", std::string_view(a));
  EXPECT_EQ(read_text_maybe_gzip(dir / "t.gz"), text);
  write_file_atomic(dir / "empty.gz", std::string_view(gzip_compress("", 6, "test")));
  EXPECT_EQ(read_text_maybe_gzip(dir / "empty.gz"), "");
  EXPECT_THROW(gzip_compress(text, 0, "test"), IoError);
  std::filesystem::remove_all(dir);
}
