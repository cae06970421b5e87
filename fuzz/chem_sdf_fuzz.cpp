// SD files / molfiles (V2000, V3000): every molecule read is valid.
#include "encmol/chem/readers.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    for (const auto& m : chem::read_sdf_text(fuzz::text(data, size), "fuzz.sdf")) {
      chem::validate_molecule(m, "fuzzed molecule");
    }
  } catch (const Error&) {
  }
  return 0;
}
