#include "encmol/service/key_cache.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <system_error>
#include <vector>

#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/service/store.hpp"

namespace encmol::service {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSuffix = ".evks";

bool valid_key_id(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "." and ".." pass the identity alphabet but would leave the directory.
bool valid_identity_directory(const std::string& name) {
  return valid_identity_name(name) && name != "." && name != "..";
}

// "identity/key_id": also the file's path below the directory, less the suffix.
std::string entry_key(const std::string& identity, const std::string& key_id) {
  if (!valid_identity_directory(identity))
    throw InputError("key cache: invalid identity name (expected [A-Za-z0-9._@-]{1,64})");
  if (!valid_key_id(key_id))
    throw InputError("key cache: invalid key id (expected 64 lower-case hex digits)");
  return identity + "/" + key_id;
}

std::string identity_of(const std::string& entry) { return entry.substr(0, entry.find('/')); }

std::uint64_t now_ns() {
  const auto t = std::chrono::system_clock::now().time_since_epoch();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t).count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
}

// Best effort: a file removed behind our back is found out by the next get.
void set_mtime(const fs::path& path, std::uint64_t stamp_ns) {
  timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(stamp_ns / 1000000000u);
  times[1].tv_nsec = static_cast<long>(stamp_ns % 1000000000u);
  (void)::utimensat(AT_FDCWD, path.c_str(), times, 0);
}

bool is_temporary(const std::string& name) {
  return !name.empty() && name[0] == '.' && name.find(".tmp.") != std::string::npos;
}

}  // namespace

struct KeyCache::Loading {
  std::uint64_t generation = 0;
  std::promise<std::shared_ptr<const secure::EvalKeys>> promise;
  std::shared_future<std::shared_ptr<const secure::EvalKeys>> result = promise.get_future().share();
};

KeyCache::KeyCache(KeyCacheOptions options) : options_(std::move(options)) {
  const fs::path& dir = options_.directory;
  if (dir.empty()) throw IoError("key cache: no directory given");
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec)
      throw IoError(dir.string() + ": cannot create the key cache directory (" + ec.message() +
                    ")");
  }
  if (!fs::is_directory(dir, ec))
    throw IoError(dir.string() + ": the key cache directory is not a directory");
  scan();
}

fs::path KeyCache::path_of(const std::string& identity, const std::string& key_id) const {
  return options_.directory / identity / (key_id + std::string(kSuffix));
}

void KeyCache::scan() {
  std::lock_guard lock(mutex_);
  std::error_code ec;
  fs::directory_iterator top(options_.directory, ec);
  if (ec)
    throw IoError(options_.directory.string() + ": cannot read the key cache (" + ec.message() +
                  ")");
  for (const fs::directory_entry& sub : top) {
    const std::string identity = sub.path().filename().string();
    std::error_code sub_ec;
    if (!valid_identity_directory(identity) || !sub.is_directory(sub_ec) || sub.is_symlink(sub_ec))
      continue;
    fs::directory_iterator files(sub.path(), sub_ec);
    if (sub_ec) {
      spdlog::warn("key cache: cannot read {} ({})", sub.path().string(), sub_ec.message());
      continue;
    }
    for (const fs::directory_entry& file : files) {
      const std::string name = file.path().filename().string();
      if (is_temporary(name)) {  // an interrupted write_file_atomic of an earlier run
        std::error_code rm_ec;
        fs::remove(file.path(), rm_ec);
        continue;
      }
      if (name.size() != 64 + kSuffix.size() || !name.ends_with(kSuffix) ||
          !valid_key_id(std::string_view(name).substr(0, 64)))
        continue;
      struct stat st {};
      if (::lstat(file.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      DiskEntry entry;
      entry.bytes = static_cast<std::uint64_t>(st.st_size);
      const std::int64_t mtime_ns =
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      entry.stamp = mtime_ns > 0 ? static_cast<std::uint64_t>(mtime_ns) : 0;
      entry.generation = ++next_generation_;
      last_stamp_ = std::max(last_stamp_, entry.stamp);
      disk_bytes_ += entry.bytes;
      identity_bytes_[identity] += entry.bytes;
      disk_.emplace(identity + "/" + name.substr(0, 64), entry);
    }
  }
  // The cap or the quota may have been lowered since the last run.
  std::vector<std::string> identities;
  for (const auto& [identity, bytes] : identity_bytes_) identities.push_back(identity);
  for (const auto& identity : identities) evict_identity_locked(identity, {});
  evict_disk_locked({});
}

// Strictly increasing, so uses within one clock tick keep their order on disk.
std::uint64_t KeyCache::next_stamp_locked() {
  last_stamp_ = std::max(now_ns(), last_stamp_ + 1);
  return last_stamp_;
}

void KeyCache::touch_locked(const std::string& key, DiskEntry& entry) {
  entry.stamp = next_stamp_locked();
  set_mtime(options_.directory / (key + std::string(kSuffix)), entry.stamp);
}

void KeyCache::remove_locked(const std::string& key) {
  const auto it = disk_.find(key);
  if (it == disk_.end()) return;
  std::error_code ec;
  fs::remove(options_.directory / (key + std::string(kSuffix)), ec);
  if (ec) spdlog::warn("key cache: cannot remove the keys of {} ({})", key, ec.message());
  disk_bytes_ -= it->second.bytes;
  const auto owner = identity_bytes_.find(identity_of(key));
  if (owner != identity_bytes_.end() && (owner->second -= it->second.bytes) == 0)
    identity_bytes_.erase(owner);
  disk_.erase(it);
  drop_memory_locked(key);
}

// Removes the least recently used file whose entry starts with `prefix`
// ("" for any, "identity/" for one identity's), other than `keep`; false when
// there is none.
bool KeyCache::evict_oldest_locked(const std::string& prefix, const std::string& keep) {
  auto victim = disk_.end();
  for (auto it = disk_.lower_bound(prefix); it != disk_.end() && it->first.starts_with(prefix);
       ++it) {
    if (it->first != keep && (victim == disk_.end() || it->second.stamp < victim->second.stamp))
      victim = it;
  }
  if (victim == disk_.end()) return false;
  const std::string key = victim->first;
  remove_locked(key);
  ++stats_.evictions;
  return true;
}

void KeyCache::evict_disk_locked(const std::string& keep) {
  while (disk_bytes_ > options_.max_disk_bytes && evict_oldest_locked({}, keep)) {
  }
}

void KeyCache::evict_identity_locked(const std::string& identity, const std::string& keep) {
  const auto over = [&] {
    const auto owned = identity_bytes_.find(identity);
    return owned != identity_bytes_.end() && owned->second > options_.max_identity_disk_bytes;
  };
  while (over() && evict_oldest_locked(identity + "/", keep)) {
  }
}

void KeyCache::drop_memory_locked(const std::string& key) {
  const auto it = memory_.find(key);
  if (it == memory_.end()) return;
  memory_bytes_ -= it->second.bytes;
  memory_order_.erase(it->second.order);
  memory_.erase(it);
}

void KeyCache::insert_memory_locked(const std::string& key,
                                    std::shared_ptr<const secure::EvalKeys> keys,
                                    std::uint64_t bytes) {
  drop_memory_locked(key);
  if (bytes > options_.max_memory_bytes) return;  // returned to the caller, not kept
  memory_order_.push_front(key);
  memory_.emplace(key, MemoryEntry{std::move(keys), bytes, memory_order_.begin()});
  memory_bytes_ += bytes;
  while (memory_bytes_ > options_.max_memory_bytes && memory_order_.size() > 1)
    drop_memory_locked(memory_order_.back());  // holders keep their shared_ptr
}

void KeyCache::put(const std::string& identity, const std::string& key_id,
                   std::span<const std::uint8_t> envelope) {
  const std::string key = entry_key(identity, key_id);
  const std::uint64_t bytes = envelope.size();
  if (bytes > max_entry_bytes())
    throw ParameterError("key cache: evaluation keys of " + std::to_string(bytes) +
                         " bytes are larger than the cache holds for one identity (" +
                         std::to_string(max_entry_bytes()) + " bytes)");
  std::lock_guard write_lock(write_mutex_);
  const fs::path dir = options_.directory / identity;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw IoError(dir.string() + ": cannot create directory (" + std::strerror(errno) + ")");
  core::write_file_atomic(path_of(identity, key_id), envelope, core::Access::OwnerOnly);

  std::lock_guard lock(mutex_);
  DiskEntry& entry = disk_[key];
  disk_bytes_ = disk_bytes_ - entry.bytes + bytes;
  std::uint64_t& owned = identity_bytes_[identity];
  owned = owned - entry.bytes + bytes;
  entry.bytes = bytes;
  entry.generation = ++next_generation_;
  touch_locked(key, entry);
  drop_memory_locked(key);  // the next get decodes the new keys
  evict_identity_locked(identity, key);
  evict_disk_locked(key);
}

std::uint64_t KeyCache::max_entry_bytes() const {
  return std::min(options_.max_disk_bytes, options_.max_identity_disk_bytes);
}

bool KeyCache::contains(const std::string& identity, const std::string& key_id) const {
  const std::string key = entry_key(identity, key_id);
  std::lock_guard lock(mutex_);
  return disk_.count(key) != 0;
}

std::shared_ptr<const secure::EvalKeys> KeyCache::get(const std::string& identity,
                                                      const std::string& key_id,
                                                      const EvalKeysDecoder& decode) {
  const std::string key = entry_key(identity, key_id);
  std::shared_ptr<Loading> loading;
  bool wait = false;
  {
    std::lock_guard lock(mutex_);
    const auto d = disk_.find(key);
    if (d == disk_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    // Used now, not when the read ends: a put meanwhile must not evict it.
    touch_locked(key, d->second);
    if (const auto m = memory_.find(key); m != memory_.end()) {
      memory_order_.splice(memory_order_.begin(), memory_order_, m->second.order);
      ++stats_.memory_hits;
      return m->second.keys;
    }
    const auto l = loading_.find(key);
    if (l != loading_.end() && l->second->generation == d->second.generation) {
      loading = l->second;
      wait = true;
    } else {
      loading = std::make_shared<Loading>();
      loading->generation = d->second.generation;
      loading_[key] = loading;
    }
  }
  if (wait) {
    auto keys = loading->result.get();  // rethrows what the reader could not handle
    std::lock_guard lock(mutex_);
    ++(keys ? stats_.disk_hits : stats_.misses);
    return keys;
  }
  try {
    return load(identity, key_id, decode, loading);
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (const auto l = loading_.find(key); l != loading_.end() && l->second == loading)
      loading_.erase(l);
    loading->promise.set_exception(std::current_exception());
    throw;
  }
}

// Reads, verifies and decodes the file of one generation of an entry, with
// the cache unlocked; then publishes the outcome to the waiting gets.
std::shared_ptr<const secure::EvalKeys> KeyCache::load(const std::string& identity,
                                                       const std::string& key_id,
                                                       const EvalKeysDecoder& decode,
                                                       const std::shared_ptr<Loading>& loading) {
  const std::string key = identity + "/" + key_id;
  const fs::path path = path_of(identity, key_id);
  std::shared_ptr<const secure::EvalKeys> keys;
  std::string failure;
  try {
    const core::Bytes bytes = core::read_file_bytes(path, options_.max_disk_bytes);
    // Checked here too, so that no decoder can skip the checksum.
    core::open_envelope(bytes, secure::kEvalKeysKind, secure::kSecureFormatVersion, path.string(),
                        "evaluation keys");
    keys = std::make_shared<const secure::EvalKeys>(decode(bytes));
  } catch (const Error& e) {
    failure = e.what();  // names the file and what is wrong, never key bytes
  }
  // Anything else (out of memory, ...) is not the file's fault: get passes it
  // on to its waiters and the file stays.

  const std::uint64_t generation = loading->generation;
  // A get after a put may have started a read of the new generation meanwhile.
  const auto publish = [&] {
    if (const auto l = loading_.find(key); l != loading_.end() && l->second == loading)
      loading_.erase(l);
    loading->promise.set_value(keys);
  };
  if (keys) {
    std::lock_guard lock(mutex_);
    const auto d = disk_.find(key);
    // Replaced, erased or evicted meanwhile: the keys are still valid for this
    // get, but no longer the entry's.
    if (d != disk_.end() && d->second.generation == generation)
      insert_memory_locked(key, keys, d->second.bytes);
    ++stats_.disk_hits;
    publish();
    return keys;
  }
  std::lock_guard write_lock(write_mutex_);  // no put is between its rename and its update
  std::lock_guard lock(mutex_);
  ++stats_.misses;
  const auto d = disk_.find(key);
  if (d != disk_.end() && d->second.generation == generation) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
      ++stats_.corrupt;
      spdlog::warn("key cache: removed unreadable evaluation keys of identity {}, key {}: {}",
                   identity, key_id, failure);
    }  // else removed by someone else: just forget it
    remove_locked(key);
  }
  publish();
  return nullptr;
}

void KeyCache::erase(const std::string& identity, const std::string& key_id) {
  const std::string key = entry_key(identity, key_id);
  std::lock_guard write_lock(write_mutex_);
  std::lock_guard lock(mutex_);
  remove_locked(key);
}

KeyCacheStats KeyCache::stats() const {
  std::lock_guard lock(mutex_);
  KeyCacheStats s = stats_;
  s.disk_bytes = disk_bytes_;
  s.memory_bytes = memory_bytes_;
  s.files = disk_.size();
  return s;
}

}  // namespace encmol::service
