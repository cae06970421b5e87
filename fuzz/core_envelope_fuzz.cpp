// The core envelope: whatever opens re-seals to the same bytes.
#include <algorithm>

#include "encmol/core/binary.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  const core::Kind kind = core::peek_envelope_kind(input);
  try {
    const auto opened = core::open_envelope(input, kind, 16, "fuzz envelope", "fuzzed file");
    const core::Bytes resealed = core::seal_envelope(kind, opened.version, opened.payload);
    fuzz::check(resealed.size() == size && std::equal(resealed.begin(), resealed.end(), data),
                "an opened envelope does not re-seal to the same bytes");
  } catch (const Error&) {
  }
  return 0;
}
