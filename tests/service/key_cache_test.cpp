// The evaluation-key cache: both tiers' LRU order (also across a restart),
// identity isolation, corrupt files, name validation, concurrency, and real
// CKKS evaluation keys through disk and decode. Most tests use small
// synthetic EVKS envelopes whose "decoded keys" carry a tag byte.
#include "encmol/service/key_cache.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/params.hpp"
#include "encmol/ckks/serialization.hpp"
#include "encmol/core/error.hpp"

using namespace encmol;
using service::KeyCache;
using service::KeyCacheOptions;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kEnvelopeBytes = 1000;

// An EVKS envelope of `bytes` bytes whose payload is `tag` repeated.
core::Bytes envelope(std::uint8_t tag, std::size_t bytes = kEnvelopeBytes) {
  const core::Bytes payload(bytes - core::kEnvelopeOverheadBytes, tag);
  return core::seal_envelope(secure::kEvalKeysKind, secure::kSecureFormatVersion, payload);
}

std::string key_id(char digit) { return std::string(64, digit); }

// "Decodes" a synthetic envelope: the tag goes to plan_hash[0].
struct CountingDecoder {
  std::atomic<int> calls{0};
  std::chrono::milliseconds delay{0};
  service::EvalKeysDecoder fn() {
    return [this](std::span<const std::uint8_t> bytes) {
      ++calls;
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      secure::EvalKeys keys;
      keys.plan_hash[0] = bytes[core::kEnvelopeHeaderBytes];
      return keys;
    };
  }
};

int tag_of(const std::shared_ptr<const secure::EvalKeys>& keys) {
  return keys ? keys->plan_hash[0] : -1;
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777u;
}

class KeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() / "encmol_key_cache_tests" /
            (std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    dir_ = root_ / "keys";
  }
  void TearDown() override { fs::remove_all(root_); }

  KeyCacheOptions options(std::uint64_t disk, std::uint64_t memory) const {
    KeyCacheOptions o;
    o.directory = dir_;
    o.max_disk_bytes = disk;
    o.max_memory_bytes = memory;
    return o;
  }
  fs::path file(const std::string& identity, const std::string& id) const {
    return dir_ / identity / (id + ".evks");
  }

  fs::path root_, dir_;
  CountingDecoder decoder_;
};

TEST_F(KeyCacheTest, PutGetRoundTripAndStats) {
  KeyCache cache(options(1 << 20, 1 << 20));
  EXPECT_EQ(mode_of(dir_), 0700u);
  const std::string k = key_id('1');
  EXPECT_FALSE(cache.contains("alice", k));
  EXPECT_EQ(cache.get("alice", k, decoder_.fn()), nullptr);

  cache.put("alice", k, envelope(7));
  EXPECT_TRUE(cache.contains("alice", k));
  EXPECT_EQ(mode_of(dir_ / "alice"), 0700u);
  EXPECT_EQ(mode_of(file("alice", k)), 0600u);
  EXPECT_EQ(fs::file_size(file("alice", k)), kEnvelopeBytes);

  const auto first = cache.get("alice", k, decoder_.fn());
  EXPECT_EQ(tag_of(first), 7);
  const auto second = cache.get("alice", k, decoder_.fn());
  EXPECT_EQ(second, first);  // from memory: the same object, decoded once
  EXPECT_EQ(decoder_.calls, 1);

  const auto s = cache.stats();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.disk_hits, 1u);
  EXPECT_EQ(s.memory_hits, 1u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.corrupt, 0u);
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.disk_bytes, kEnvelopeBytes);
  EXPECT_EQ(s.memory_bytes, kEnvelopeBytes);

  cache.erase("alice", k);
  cache.erase("alice", k);  // no-op
  EXPECT_FALSE(cache.contains("alice", k));
  EXPECT_FALSE(fs::exists(file("alice", k)));
  EXPECT_EQ(cache.get("alice", k, decoder_.fn()), nullptr);
  EXPECT_EQ(tag_of(first), 7);  // a holder's keys outlive the entry
  const auto s2 = cache.stats();
  EXPECT_EQ(s2.files, 0u);
  EXPECT_EQ(s2.disk_bytes, 0u);
  EXPECT_EQ(s2.memory_bytes, 0u);
}

TEST_F(KeyCacheTest, IdentitiesAreIsolated) {
  KeyCache cache(options(1 << 20, 1 << 20));
  const std::string k = key_id('a');
  cache.put("alice", k, envelope(1));
  cache.put("bob", k, envelope(2));
  EXPECT_EQ(tag_of(cache.get("alice", k, decoder_.fn())), 1);
  EXPECT_EQ(tag_of(cache.get("bob", k, decoder_.fn())), 2);
  EXPECT_EQ(cache.get("carol", k, decoder_.fn()), nullptr);
  EXPECT_FALSE(cache.contains("carol", k));
  EXPECT_EQ(cache.stats().files, 2u);

  cache.erase("alice", k);
  EXPECT_EQ(cache.get("alice", k, decoder_.fn()), nullptr);
  EXPECT_EQ(tag_of(cache.get("bob", k, decoder_.fn())), 2);
  EXPECT_TRUE(fs::exists(file("bob", k)));
}

TEST_F(KeyCacheTest, DiskEvictsLeastRecentlyUsedAndGetRefreshes) {
  KeyCache cache(options(3 * kEnvelopeBytes, 0));  // nothing kept in memory
  const std::string a = key_id('a'), b = key_id('b'), c = key_id('c'), d = key_id('d'),
                    e = key_id('e');
  cache.put("alice", a, envelope(1));
  cache.put("alice", b, envelope(2));
  cache.put("bob", c, envelope(3));
  EXPECT_EQ(tag_of(cache.get("alice", a, decoder_.fn())), 1);  // a is now newer than b
  cache.put("alice", d, envelope(4));
  EXPECT_FALSE(cache.contains("alice", b));
  EXPECT_FALSE(fs::exists(file("alice", b)));
  EXPECT_TRUE(cache.contains("alice", a));
  EXPECT_TRUE(cache.contains("bob", c));
  EXPECT_EQ(cache.stats().evictions, 1u);

  EXPECT_EQ(tag_of(cache.get("bob", c, decoder_.fn())), 3);  // order now a, d, c
  cache.put("bob", e, envelope(5));
  EXPECT_FALSE(cache.contains("alice", a));
  EXPECT_TRUE(cache.contains("alice", d));
  EXPECT_TRUE(cache.contains("bob", c));
  EXPECT_TRUE(cache.contains("bob", e));

  // The entry just stored is never the victim, however old the others.
  cache.put("carol", a, envelope(6, 2500));
  const auto s = cache.stats();
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.disk_bytes, 2500u);
  EXPECT_EQ(s.evictions, 5u);
  EXPECT_EQ(s.memory_bytes, 0u);
  EXPECT_EQ(tag_of(cache.get("carol", a, decoder_.fn())), 6);
}

// An identity past its quota loses its own oldest keys, never another's,
// even when the other's keys are older; a lowered quota applies at the scan.
TEST_F(KeyCacheTest, AnIdentityPastItsQuotaEvictsOnlyItsOwnKeys) {
  const std::string a = key_id('a'), b = key_id('b'), c = key_id('c'), d = key_id('d'),
                    e = key_id('e');
  {
    KeyCacheOptions o = options(10 * kEnvelopeBytes, 0);
    o.max_identity_disk_bytes = 2 * kEnvelopeBytes;
    KeyCache cache(o);
    EXPECT_EQ(cache.max_entry_bytes(), 2 * kEnvelopeBytes);
    cache.put("bob", e, envelope(9));  // the oldest file of all
    cache.put("alice", a, envelope(1));
    cache.put("alice", b, envelope(2));
    EXPECT_EQ(tag_of(cache.get("alice", a, decoder_.fn())), 1);  // b is now alice's oldest
    cache.put("alice", c, envelope(3));
    EXPECT_FALSE(cache.contains("alice", b));
    EXPECT_TRUE(cache.contains("alice", a));
    EXPECT_TRUE(cache.contains("bob", e));
    cache.put("alice", d, envelope(4));
    cache.put("alice", b, envelope(2));
    EXPECT_TRUE(cache.contains("bob", e));
    EXPECT_TRUE(cache.contains("alice", d));
    EXPECT_TRUE(cache.contains("alice", b));
    auto s = cache.stats();
    EXPECT_EQ(s.files, 3u);
    EXPECT_EQ(s.evictions, 3u);
    // Replacing a key with a larger one counts the new size once.
    cache.put("alice", b, envelope(5, 2 * kEnvelopeBytes));
    EXPECT_FALSE(cache.contains("alice", d));
    EXPECT_EQ(tag_of(cache.get("alice", b, decoder_.fn())), 5);
    EXPECT_EQ(cache.stats().disk_bytes, 3 * kEnvelopeBytes);
    // One envelope larger than the quota is refused, whatever the cap.
    EXPECT_THROW(cache.put("bob", a, envelope(6, 2 * kEnvelopeBytes + 1)), ParameterError);
    EXPECT_TRUE(cache.contains("bob", e));
    cache.erase("alice", b);
    cache.put("alice", a, envelope(7));
    cache.put("alice", c, envelope(8));
    EXPECT_EQ(cache.stats().files, 3u);
  }
  KeyCacheOptions o = options(10 * kEnvelopeBytes, 0);
  o.max_identity_disk_bytes = kEnvelopeBytes;
  KeyCache smaller(o);  // alice keeps only her newest key
  EXPECT_TRUE(smaller.contains("alice", c));
  EXPECT_FALSE(smaller.contains("alice", a));
  EXPECT_TRUE(smaller.contains("bob", e));
  EXPECT_EQ(smaller.stats().evictions, 1u);
}

TEST_F(KeyCacheTest, MemoryEvictsLeastRecentlyUsedAndGetRefreshes) {
  KeyCache cache(options(1 << 20, 2 * kEnvelopeBytes));
  const std::string a = key_id('a'), b = key_id('b'), c = key_id('c');
  cache.put("alice", a, envelope(1));
  cache.put("alice", b, envelope(2));
  cache.put("alice", c, envelope(3));
  cache.get("alice", a, decoder_.fn());
  const auto held_b = cache.get("alice", b, decoder_.fn());
  EXPECT_EQ(decoder_.calls, 2);
  EXPECT_EQ(cache.stats().memory_bytes, 2 * kEnvelopeBytes);
  cache.get("alice", a, decoder_.fn());  // memory hit; b is now the oldest
  EXPECT_EQ(decoder_.calls, 2);
  cache.get("alice", c, decoder_.fn());  // decoded; pushes b out of memory
  EXPECT_EQ(decoder_.calls, 3);
  cache.get("alice", a, decoder_.fn());
  EXPECT_EQ(decoder_.calls, 3);
  EXPECT_EQ(tag_of(cache.get("alice", b, decoder_.fn())), 2);
  EXPECT_EQ(decoder_.calls, 4);
  EXPECT_EQ(tag_of(held_b), 2);  // memory eviction does not touch what callers hold

  const auto s = cache.stats();
  EXPECT_EQ(s.memory_hits, 2u);
  EXPECT_EQ(s.disk_hits, 4u);
  EXPECT_EQ(s.memory_bytes, 2 * kEnvelopeBytes);
  EXPECT_EQ(s.evictions, 0u);  // memory evictions keep the files
  EXPECT_EQ(s.files, 3u);
}

TEST_F(KeyCacheTest, EntryLargerThanMemoryIsReturnedButNotKept) {
  KeyCache cache(options(1 << 20, kEnvelopeBytes / 2));
  const std::string k = key_id('f');
  cache.put("alice", k, envelope(9));
  EXPECT_EQ(tag_of(cache.get("alice", k, decoder_.fn())), 9);
  EXPECT_EQ(tag_of(cache.get("alice", k, decoder_.fn())), 9);
  EXPECT_EQ(decoder_.calls, 2);
  EXPECT_EQ(cache.stats().memory_bytes, 0u);
  EXPECT_EQ(cache.stats().disk_hits, 2u);
}

TEST_F(KeyCacheTest, RecencySurvivesReopen) {
  const std::string a = key_id('a'), b = key_id('b'), c = key_id('c'), d = key_id('d');
  {
    KeyCache cache(options(3 * kEnvelopeBytes, 1 << 20));
    cache.put("alice", a, envelope(1));
    cache.put("alice", b, envelope(2));
    cache.put("alice", c, envelope(3));
    cache.get("alice", a, decoder_.fn());  // order b, c, a
    cache.get("alice", b, decoder_.fn());  // memory hit; order c, a, b
  }
  KeyCache cache(options(3 * kEnvelopeBytes, 1 << 20));
  auto s = cache.stats();
  EXPECT_EQ(s.files, 3u);
  EXPECT_EQ(s.disk_bytes, 3 * kEnvelopeBytes);
  EXPECT_EQ(s.memory_bytes, 0u);
  EXPECT_EQ(s.disk_hits + s.memory_hits + s.misses, 0u);
  cache.put("alice", d, envelope(4));
  EXPECT_FALSE(cache.contains("alice", c));
  EXPECT_TRUE(cache.contains("alice", a));
  EXPECT_TRUE(cache.contains("alice", b));
  EXPECT_EQ(tag_of(cache.get("alice", b, decoder_.fn())), 2);  // read from disk after reopen

  // A smaller cap at the next start evicts the oldest at the scan (a, then d).
  KeyCache smaller(options(1 * kEnvelopeBytes, 1 << 20));
  s = smaller.stats();
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_TRUE(smaller.contains("alice", b));
}

TEST_F(KeyCacheTest, CorruptFileIsRemovedAndCounted) {
  KeyCache cache(options(1 << 20, 1 << 20));
  const std::string flipped = key_id('1'), truncated = key_id('2'), foreign = key_id('3'),
                    gone = key_id('4'), good = key_id('5');
  cache.put("alice", flipped, envelope(1));
  cache.put("alice", truncated, envelope(2));
  cache.put("alice", foreign, envelope(3));
  cache.put("alice", gone, envelope(4));
  cache.put("alice", good, envelope(5));
  {
    std::fstream f(file("alice", flipped), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(500);
    const char byte = static_cast<char>(f.get());
    f.seekp(500);
    f.put(static_cast<char>(byte ^ 0x10));
  }
  fs::resize_file(file("alice", truncated), 600);
  // Valid envelope, but keys the model cannot use: the decoder refuses them.
  const auto refusing = [](std::span<const std::uint8_t>) -> secure::EvalKeys {
    throw FormatError("evaluation keys: not for this model");
  };
  fs::remove(file("alice", gone));

  EXPECT_EQ(cache.get("alice", flipped, decoder_.fn()), nullptr);
  EXPECT_EQ(cache.get("alice", truncated, decoder_.fn()), nullptr);
  EXPECT_EQ(cache.get("alice", foreign, refusing), nullptr);
  EXPECT_EQ(cache.get("alice", gone, decoder_.fn()), nullptr);  // vanished: a miss, not corrupt
  EXPECT_EQ(tag_of(cache.get("alice", good, decoder_.fn())), 5);
  EXPECT_EQ(decoder_.calls, 1);  // the checksum failed before any decoding
  for (const auto& id : {flipped, truncated, foreign, gone}) {
    EXPECT_FALSE(cache.contains("alice", id));
    EXPECT_FALSE(fs::exists(file("alice", id)));
  }
  const auto s = cache.stats();
  EXPECT_EQ(s.corrupt, 3u);
  EXPECT_EQ(s.misses, 4u);
  EXPECT_EQ(s.disk_hits, 1u);
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.disk_bytes, kEnvelopeBytes);
}

TEST_F(KeyCacheTest, EnvelopeLargerThanDiskCapIsParameterError) {
  KeyCache cache(options(kEnvelopeBytes, 1 << 20));
  cache.put("alice", key_id('a'), envelope(1));
  EXPECT_THROW(cache.put("alice", key_id('b'), envelope(2, kEnvelopeBytes + 1)), ParameterError);
  EXPECT_FALSE(cache.contains("alice", key_id('b')));
  EXPECT_FALSE(fs::exists(file("alice", key_id('b'))));
  EXPECT_TRUE(cache.contains("alice", key_id('a')));
  EXPECT_EQ(cache.stats().evictions, 0u);
}

TEST_F(KeyCacheTest, InvalidNamesAreInputError) {
  KeyCache cache(options(1 << 20, 1 << 20));
  const std::string k = key_id('0');
  const core::Bytes env = envelope(1);
  for (const std::string& identity :
       {std::string(), std::string("."), std::string(".."), std::string("a/b"), std::string("../x"),
        std::string("a b"), std::string("\xc3\xa9lise"), std::string("a\0b", 3),
        std::string(65, 'a')}) {
    EXPECT_THROW(cache.put(identity, k, env), InputError) << identity;
    EXPECT_THROW(cache.get(identity, k, decoder_.fn()), InputError) << identity;
    EXPECT_THROW(cache.contains(identity, k), InputError) << identity;
    EXPECT_THROW(cache.erase(identity, k), InputError) << identity;
  }
  for (const std::string& id :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
        std::string(64, 'g'), std::string("../") + std::string(61, 'a'),
        std::string(60, 'a') + ".evk"}) {
    EXPECT_THROW(cache.put("alice", id, env), InputError) << id;
    EXPECT_THROW(cache.get("alice", id, decoder_.fn()), InputError) << id;
    EXPECT_THROW(cache.contains("alice", id), InputError) << id;
    EXPECT_THROW(cache.erase("alice", id), InputError) << id;
  }
  EXPECT_FALSE(fs::exists(root_ / "x"));
  EXPECT_EQ(cache.stats().files, 0u);
  EXPECT_EQ(cache.stats().misses, 0u);  // refused before any lookup

  for (const std::string identity : {"alice@example.org", "a.b-c_D9", ".hidden", "..."}) {
    cache.put(identity, k, env);
    EXPECT_TRUE(fs::exists(file(identity, k))) << identity;
  }
}

TEST_F(KeyCacheTest, ScanRemovesTemporariesAndLeavesForeignFiles) {
  const std::string k = key_id('c');
  {
    KeyCache cache(options(1 << 20, 1 << 20));
    cache.put("alice", k, envelope(1));
  }
  const fs::path temp = dir_ / "alice" / ("." + k + ".evks.tmp.12345.678");
  const fs::path notes = dir_ / "alice" / "notes.txt";
  const fs::path upper = dir_ / "alice" / (key_id('C') + ".evks");
  const fs::path loose = dir_ / (key_id('d') + ".evks");
  const fs::path odd_dir = dir_ / "not an identity";
  fs::create_directories(odd_dir);
  for (const auto& p : {temp, notes, upper, loose, odd_dir / (k + ".evks")})
    core::write_file_atomic(p, envelope(2));

  KeyCache cache(options(1 << 20, 1 << 20));
  EXPECT_FALSE(fs::exists(temp));
  for (const auto& p : {notes, upper, loose, odd_dir / (k + ".evks")})
    EXPECT_TRUE(fs::exists(p)) << p;
  const auto s = cache.stats();
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.disk_bytes, kEnvelopeBytes);
  EXPECT_EQ(tag_of(cache.get("alice", k, decoder_.fn())), 1);
}

TEST_F(KeyCacheTest, PutReplacesBothTiers) {
  KeyCache cache(options(1 << 20, 1 << 20));
  const std::string k = key_id('e');
  cache.put("alice", k, envelope(1));
  const auto old_keys = cache.get("alice", k, decoder_.fn());
  cache.put("alice", k, envelope(2, 1500));
  const auto s = cache.stats();
  EXPECT_EQ(s.files, 1u);
  EXPECT_EQ(s.disk_bytes, 1500u);
  EXPECT_EQ(s.memory_bytes, 0u);
  EXPECT_EQ(tag_of(cache.get("alice", k, decoder_.fn())), 2);
  EXPECT_EQ(decoder_.calls, 2);
  EXPECT_EQ(tag_of(old_keys), 1);
  EXPECT_EQ(fs::file_size(file("alice", k)), 1500u);
}

TEST_F(KeyCacheTest, ConcurrentGetsOfOneEntryDecodeOnce) {
  KeyCache cache(options(1 << 20, 1 << 20));
  const std::string k = key_id('9');
  cache.put("alice", k, envelope(4));
  decoder_.delay = std::chrono::milliseconds(200);
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (tag_of(cache.get("alice", k, decoder_.fn())) == 4) ++right;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(right, 8);
  EXPECT_EQ(decoder_.calls, 1);
  const auto s = cache.stats();
  EXPECT_EQ(s.disk_hits + s.memory_hits, 8u);
  EXPECT_EQ(s.misses, 0u);
}

TEST_F(KeyCacheTest, ConcurrentPutsGetsAndErasesStayConsistent) {
  constexpr int kThreads = 4, kKeys = 6, kSteps = 300;
  KeyCache cache(options(5 * kEnvelopeBytes, 2 * kEnvelopeBytes));
  std::atomic<std::uint64_t> gets{0};
  std::atomic<int> wrong{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      CountingDecoder decoder;
      for (int step = 0; step < kSteps; ++step) {
        // Each identity's keys carry its own tag, so any cross-identity answer shows.
        const int owner = static_cast<int>(rng() % kThreads);
        const int key = static_cast<int>(rng() % kKeys);
        const std::string identity = "id" + std::to_string(owner);
        const std::string id = key_id(static_cast<char>('0' + key));
        const auto tag = static_cast<std::uint8_t>(owner * 16 + key);
        try {
          switch (rng() % 8) {
            case 0:
            case 1:
              cache.put(identity, id, envelope(tag));
              break;
            case 2:
              cache.erase(identity, id);
              break;
            default: {
              ++gets;
              const auto keys = cache.get(identity, id, decoder.fn());
              if (keys && keys->plan_hash[0] != tag) ++wrong;
            }
          }
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(errors, 0);
  const auto s = cache.stats();
  EXPECT_EQ(s.memory_hits + s.disk_hits + s.misses, gets.load());
  EXPECT_EQ(s.corrupt, 0u);
  EXPECT_LE(s.disk_bytes, 5 * kEnvelopeBytes);
  EXPECT_LE(s.memory_bytes, 2 * kEnvelopeBytes);
  std::uint64_t files = 0, bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    if (!e.is_regular_file()) continue;
    ++files;
    bytes += e.file_size();
  }
  EXPECT_EQ(s.files, files);
  EXPECT_EQ(s.disk_bytes, bytes);
}

// Real CKKS evaluation keys (a small insecure context: N = 2^12) go to disk,
// survive a restart, verify and decode, and encode back to the same bytes.
TEST_F(KeyCacheTest, RealEvalKeysRoundTripThroughDiskAndDecode) {
  const auto ctx = ckks::Context::create(
      ckks::Parameters::from_bit_sizes(12, {50, 40}, {53}, 2, 40, /*allow_insecure=*/true));
  ckks::KeyGenerator keygen(ctx);
  secure::EvalKeys keys;
  keys.public_key = keygen.create_public_key();
  keys.key_id = core::blake2b_256(ckks::serialize(*ctx, keys.public_key));
  keys.relin = keygen.create_relin_key();
  const int steps[] = {1, 2};
  keys.galois = keygen.create_galois_keys(steps, false);
  const core::Bytes encoded = keys.encode(*ctx);
  const std::string id = core::to_hex(keys.key_id);
  const service::EvalKeysDecoder decode = [&](std::span<const std::uint8_t> bytes) {
    return secure::EvalKeys::decode(bytes, *ctx, "cached evaluation keys");
  };
  {
    KeyCache cache(options(std::uint64_t{1} << 30, std::uint64_t{1} << 30));
    cache.put("alice", id, encoded);
  }
  KeyCache cache(options(std::uint64_t{1} << 30, std::uint64_t{1} << 30));
  EXPECT_EQ(cache.get("bob", id, decode), nullptr);
  const auto loaded = cache.get("alice", id, decode);
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->key_id, keys.key_id);
  EXPECT_EQ(loaded->encode(*ctx), encoded);
  EXPECT_EQ(cache.get("alice", id, decode), loaded);
  const auto s = cache.stats();
  EXPECT_EQ(s.disk_hits, 1u);
  EXPECT_EQ(s.memory_hits, 1u);
  EXPECT_EQ(s.memory_bytes, encoded.size());
}

}  // namespace
