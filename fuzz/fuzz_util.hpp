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

}  // namespace encmol::fuzz
