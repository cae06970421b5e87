// Model files (MODL, every version; the first byte picks it, the rest is the
// payload, sealed here): a model that decodes is valid, and at the current
// version it re-encodes to the same payload.
#include <algorithm>

#include "encmol/core/binary.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/model_file.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto opened = core::open_envelope(fuzz::bytes(data, size), ml::kModelKind,
                                            ml::kModelFormatVersion, "fuzz.model", "model file");
    const ml::Model model = ml::decode_model(opened.payload, "fuzz.model", opened.version);
    model.validate();
    if (opened.version == ml::kModelFormatVersion) {
      const core::Bytes again = ml::encode_model(model);
      fuzz::check(
          std::equal(again.begin(), again.end(), opened.payload.begin(), opened.payload.end()),
          "a decoded model re-encodes to other bytes");
    }
  } catch (const Error&) {
  }
  return 0;
}
