#include "encmol/core/file_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "encmol/core/error.hpp"

namespace encmol::core {
namespace {

std::string describe_errno(int err) { return std::strerror(err); }

// Temporary files of write_file_atomic: ".<name>.tmp.<pid>.<random>".
std::string temp_prefix(const std::filesystem::path& path) {
  std::string prefix = ".";  // appended piecewise: "." + string trips gcc 12's -Wrestrict
  prefix += path.filename().string();
  prefix += ".tmp.";
  return prefix;
}

// Removes the temporary files that writers of `path` killed mid-write left
// behind: those whose process no longer exists on this host. A live writer's
// file is never touched (its pid answers kill(pid, 0)); a pid reused since
// only delays the clean-up. Best effort: a directory that cannot be listed is
// left as it is.
void remove_stale_temporaries(const std::filesystem::path& dir, const std::filesystem::path& path) {
  const std::string prefix = temp_prefix(path);
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::size_t dot = name.find('.', prefix.size());
    if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 9) continue;
    const std::string digits = name.substr(prefix.size(), dot - prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      std::filesystem::remove(it->path(), ignored);
    }
  }
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path,
                                          std::uint64_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw IoError(path.string() + ": is a directory, expected a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IoError(path.string() + ": cannot open for reading (" + describe_errno(errno) + ")");
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw IoError(path.string() + ": cannot determine file size");
  if (static_cast<std::uint64_t>(size) > max_bytes) {
    throw FormatError(path.string() + ": file is " + std::to_string(size) +
                      " bytes, more than the limit of " + std::to_string(max_bytes) + " bytes");
  }
  in.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> data(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(data.data()), size)) {
    throw IoError(path.string() + ": read failed");
  }
  return data;
}

std::string read_file_text(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const auto bytes = read_file_bytes(path, max_bytes);
  return std::string(bytes.begin(), bytes.end());
}

std::string gzip_compress(std::string_view data, int level, std::string_view what) {
  if (level < 1 || level > 9) {
    throw IoError(std::string(what) + ": gzip level " + std::to_string(level) + " is not 1..9");
  }
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper; zlib writes mtime 0 and no name.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw IoError(std::string(what) + ": zlib init failed");
  }
  std::string out;
  std::size_t done = 0;
  int rc = Z_OK;
  // Input in pieces below 4 GiB (zlib counts in uInt).
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  const auto* in = reinterpret_cast<const Bytef*>(data.data());
  do {
    const std::size_t piece = std::min(kPiece, data.size() - done);
    zs.next_in = const_cast<Bytef*>(in + done);
    zs.avail_in = static_cast<uInt>(piece);
    done += piece;
    const int flush = done == data.size() ? Z_FINISH : Z_NO_FLUSH;
    do {
      const std::size_t old = out.size();
      out.resize(old + std::max<std::size_t>(deflateBound(&zs, zs.avail_in), 1 << 16));
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      zs.avail_out = static_cast<uInt>(out.size() - old);
      rc = deflate(&zs, flush);
      out.resize(out.size() - zs.avail_out);
      if (rc == Z_STREAM_ERROR) break;
    } while (zs.avail_in > 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  } while (done < data.size() && rc != Z_STREAM_ERROR);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw IoError(std::string(what) + ": gzip compression failed");
  return out;
}

std::string read_text_maybe_gzip(const std::filesystem::path& path, std::uint64_t max_bytes) {
  auto raw = read_file_bytes(path, max_bytes);
  const bool gzip = raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
  if (!gzip) return std::string(raw.begin(), raw.end());

  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw IoError(path.string() + ": zlib init failed");
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END && zs.avail_in > 0) {
      // Concatenated gzip members (as produced by `cat a.gz b.gz`): continue.
      out.append(buffer, sizeof(buffer) - zs.avail_out);
      inflateReset(&zs);
      rc = Z_OK;
      continue;
    }
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw FormatError(path.string() + ": corrupt gzip data (" +
                        (zs.msg ? zs.msg : "zlib error " + std::to_string(rc)) + ")");
    }
    out.append(buffer, sizeof(buffer) - zs.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&zs);
      throw FormatError(path.string() + ": decompressed size exceeds the limit of " +
                        std::to_string(max_bytes) + " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw FormatError(path.string() + ": truncated gzip data");
    }
  }
  inflateEnd(&zs);
  return out;
}

void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                       Access access) {
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::random_device rd;
  std::string tmp_name = temp_prefix(path);
  tmp_name += std::to_string(::getpid());
  tmp_name += '.';
  tmp_name += std::to_string(rd());
  const std::filesystem::path tmp = dir / tmp_name;

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                        access == Access::OwnerOnly ? 0600 : 0644);
  if (fd < 0) {
    throw IoError(path.string() + ": cannot create temporary file in " + dir.string() + " (" +
                  describe_errno(errno) + ")");
  }
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError(path.string() + ": " + what + " (" + describe_errno(err) + ")");
  };
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IoError(path.string() + ": close failed (" + describe_errno(err) + ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IoError(path.string() + ": cannot rename temporary file into place (" +
                  describe_errno(err) + ")");
  }
  // Make the rename itself durable (a power loss right after it must not bring
  // the old directory entry back). Best effort: some file systems refuse.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  remove_stale_temporaries(dir, path);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view text, Access access) {
  write_file_atomic(path,
                    std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                                  text.size()),
                    access);
}

FileLock::FileLock(const std::filesystem::path& path, std::string_view purpose) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw IoError(path.string() + ": cannot open the lock file (" + std::strerror(errno) + ")");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw IoError(path.string() + ": in use by another encmol process (" + std::string(purpose) +
                    "); run again when it has finished");
    throw IoError(path.string() + ": cannot lock (" + std::strerror(err) + ")");
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

}  // namespace encmol::core
