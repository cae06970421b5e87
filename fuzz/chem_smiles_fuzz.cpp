// SMILES lines and SMILES tables (first byte picks which), embedded in 3-D
// through RDKit: every molecule read is valid. Inputs are capped at 96 bytes
// so one run stays within the 2 s limit of a 3-D embedding.
#include "encmol/chem/readers.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 97) return 0;
  const std::string_view text = fuzz::text(data + 1, size - 1);
  try {
    const auto molecules = (data[0] & 1) ? chem::read_smiles_csv_text(text, "fuzz.csv", 42)
                                         : chem::read_smiles_text(text, "fuzz.smi", 42);
    for (const auto& m : molecules) chem::validate_molecule(m, "fuzzed molecule");
  } catch (const Error&) {
  }
  return 0;
}
