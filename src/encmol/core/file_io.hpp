// Whole-file reading with a size cap and atomic writing (temp file + rename).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace encmol::core {

/// Default cap for files read into memory: 4 GiB. Callers with a tighter
/// natural bound should pass it.
inline constexpr std::uint64_t kDefaultMaxFileBytes = std::uint64_t{4} << 30;

/// Reads a whole file. Throws IoError naming the file if it cannot be read and
/// FormatError if it is larger than `max_bytes`.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path,
                                          std::uint64_t max_bytes = kDefaultMaxFileBytes);
std::string read_file_text(const std::filesystem::path& path,
                           std::uint64_t max_bytes = kDefaultMaxFileBytes);

/// Reads a file that may be gzip-compressed (detected by its magic bytes, not
/// its name). The decompressed size is capped by `max_bytes` as well.
std::string read_text_maybe_gzip(const std::filesystem::path& path,
                                 std::uint64_t max_bytes = kDefaultMaxFileBytes);

/// Gzip (RFC 1952) of `data` at zlib `level` (1..9). The header holds no file
/// name and a zero timestamp, so equal input gives equal bytes (reproducible
/// data files). Throws IoError naming `what` if zlib fails.
std::string gzip_compress(std::string_view data, int level, std::string_view what);

/// Writes `data` to `path` atomically: a temporary file in the same directory
/// is written, flushed to disk and renamed over `path`. Either the old file or
/// the complete new one exists at every moment; a failure leaves no temp file.
/// Temporary files of `path` left by writers that were killed (their process
/// is gone) are removed after a successful write.
/// `Access::OwnerOnly` creates the file with mode 0600 (secret keys).
enum class Access { Public, OwnerOnly };
void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                       Access access = Access::Public);
void write_file_atomic(const std::filesystem::path& path, std::string_view text,
                       Access access = Access::Public);

/// An exclusive advisory lock (flock) on `path`, created (mode 0600) if
/// missing and held until destruction, e.g. around a read-modify-write of a
/// state file that several processes may share. Never waits: throws IoError
/// naming the file and `purpose` when another holder has it.
class FileLock {
 public:
  FileLock(const std::filesystem::path& path, std::string_view purpose);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace encmol::core
