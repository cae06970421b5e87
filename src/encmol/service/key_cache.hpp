// The server's evaluation-key cache (issue 11, docs/service.md). Uploaded
// evaluation keys (EVKS envelopes, 10-300 MB each) are kept on disk by
// (identity, key id) so a client uploads them once; the most recently used
// ones are also kept decoded in memory. Both tiers are bounded and evict the
// least recently used entry. Keys of one identity are never returned for
// another: the identity is part of every lookup and of the file's path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "encmol/core/binary.hpp"
#include "encmol/secure/roles.hpp"

namespace encmol::service {

struct KeyCacheOptions {
  std::filesystem::path directory;                          // created when missing
  std::uint64_t max_disk_bytes = std::uint64_t{16} << 30;   // all files together
  std::uint64_t max_memory_bytes = std::uint64_t{4} << 30;  // decoded keys (estimated by file size)
  // The files of one identity together: past it, that identity's own least
  // recently used keys go first, so no identity can push the others' keys
  // out of the cache by uploading many.
  std::uint64_t max_identity_disk_bytes = std::uint64_t{4} << 30;
};

struct KeyCacheStats {
  std::uint64_t memory_hits = 0;
  std::uint64_t disk_hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;  // files removed for space
  std::uint64_t corrupt = 0;    // files that failed their checksum and were removed
  std::uint64_t disk_bytes = 0;
  std::uint64_t memory_bytes = 0;
  std::uint64_t files = 0;
};

/// Decodes an EVKS envelope for the model it was uploaded for (throws
/// FormatError for keys that do not fit it).
using EvalKeysDecoder = std::function<secure::EvalKeys(std::span<const std::uint8_t>)>;

class KeyCache {
 public:
  /// Scans the directory (files of earlier runs count towards the cap;
  /// leftover temporaries are removed). IoError when it cannot be created.
  explicit KeyCache(KeyCacheOptions options);

  /// Stores the envelope of (identity, key id) atomically, replacing an
  /// earlier one, then evicts the identity's least recently used other files
  /// until its own total fits its quota, then anyone's until the total fits
  /// the cap. ParameterError when the file alone is larger than
  /// max_entry_bytes().
  /// The caller has validated the envelope (it decodes for the model).
  void put(const std::string& identity, const std::string& key_id,
           std::span<const std::uint8_t> envelope);
  /// The largest envelope put() accepts: the smaller of the cap and the
  /// per-identity quota.
  std::uint64_t max_entry_bytes() const;
  /// True when (identity, key id) is on disk.
  bool contains(const std::string& identity, const std::string& key_id) const;
  /// The decoded keys: from memory, else read from disk (checksum verified by
  /// the envelope), decoded with `decode` and kept in memory. nullptr when
  /// absent; a file that fails to read or decode is removed (counted in
  /// stats().corrupt) and nullptr returned. Safe from many threads: the cache
  /// is unlocked while a file is read and decoded, and a get of an entry that
  /// another get is reading waits for that read instead of decoding it again.
  /// Every get counts one memory hit, disk hit or miss (a corrupt file: a miss).
  std::shared_ptr<const secure::EvalKeys> get(const std::string& identity,
                                              const std::string& key_id,
                                              const EvalKeysDecoder& decode);
  /// Removes one entry from both tiers (no-op when absent).
  void erase(const std::string& identity, const std::string& key_id);
  KeyCacheStats stats() const;

 private:
  struct DiskEntry {
    std::uint64_t bytes = 0;       // file size (also the memory estimate of its decoded keys)
    std::uint64_t stamp = 0;       // last use, ns since the epoch; also the file's mtime
    std::uint64_t generation = 0;  // changes with every put, so a read that raced one is not kept
  };
  struct MemoryEntry {
    std::shared_ptr<const secure::EvalKeys> keys;
    std::uint64_t bytes = 0;
    std::list<std::string>::iterator order;
  };
  struct Loading;  // one read + decode in flight; concurrent gets of the entry wait for it

  std::filesystem::path path_of(const std::string& identity, const std::string& key_id) const;
  void scan();
  std::uint64_t next_stamp_locked();
  void touch_locked(const std::string& key, DiskEntry& entry);
  void remove_locked(const std::string& key);
  bool evict_oldest_locked(const std::string& prefix, const std::string& keep);
  void evict_disk_locked(const std::string& keep);
  void evict_identity_locked(const std::string& identity, const std::string& keep);
  void drop_memory_locked(const std::string& key);
  void insert_memory_locked(const std::string& key, std::shared_ptr<const secure::EvalKeys> keys,
                            std::uint64_t bytes);
  std::shared_ptr<const secure::EvalKeys> load(const std::string& identity,
                                               const std::string& key_id,
                                               const EvalKeysDecoder& decode,
                                               const std::shared_ptr<Loading>& loading);

  KeyCacheOptions options_;
  // Order: write_mutex_ before mutex_. write_mutex_ serializes the file
  // writers (put, erase, removal of a corrupt file), so the file on disk is
  // always the one disk_ describes once mutex_ is taken; mutex_ guards the
  // maps and is never held while a file is written, read or decoded.
  std::mutex write_mutex_;
  mutable std::mutex mutex_;
  // Disk tier, by "identity/key_id"; the LRU victim is the smallest stamp.
  std::map<std::string, DiskEntry> disk_;
  std::uint64_t disk_bytes_ = 0;
  std::map<std::string, std::uint64_t> identity_bytes_;  // disk bytes by identity (no zeros)
  // Memory tier: LRU list of keys, most recent at the front.
  std::list<std::string> memory_order_;
  std::map<std::string, MemoryEntry> memory_;
  std::uint64_t memory_bytes_ = 0;
  std::map<std::string, std::shared_ptr<Loading>> loading_;
  std::uint64_t last_stamp_ = 0;
  std::uint64_t next_generation_ = 0;
  KeyCacheStats stats_;
};

}  // namespace encmol::service
