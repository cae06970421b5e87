// Shared helpers of the libFuzzer targets (fuzz/README.md). A target returns
// normally when the input is rejected with an encmol::Error (the expected
// outcome for garbage) and calls fail() when an invariant breaks, which
// aborts so libFuzzer records the input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"

namespace encmol::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "invariant broken: %s\n", what.c_str());
  std::abort();
}

inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::span<const std::uint8_t> bytes(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

/// The input as the payload of a fresh envelope: the checksum would stop
/// almost every mutation at the envelope, so the binary targets fuzz the
/// payload parsers behind it (the envelope has its own target).
inline core::Bytes sealed(core::Kind kind, std::uint32_t version,
                          std::span<const std::uint8_t> payload) {
  return core::seal_envelope(kind, version, payload);
}

}  // namespace encmol::fuzz
