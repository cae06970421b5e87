// XYZ / extended XYZ / QM9 XYZ text: every molecule read is valid, and
// writing and reading it again gives the same atoms (exact coordinates).
#include "encmol/chem/readers.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<chem::Molecule> molecules;
  try {
    molecules = chem::read_xyz_text(fuzz::text(data, size), "fuzz.xyz");
  } catch (const Error&) {
    return 0;
  }
  for (const auto& m : molecules) chem::validate_molecule(m, "fuzzed molecule");
  if (molecules.empty()) return 0;
  const auto again = chem::read_xyz_text(chem::format_xyz(molecules), "rewritten.xyz");
  fuzz::check(again.size() == molecules.size(), "rewritten XYZ has another molecule count");
  for (std::size_t i = 0; i < again.size(); ++i) {
    fuzz::check(again[i].charges == molecules[i].charges, "rewritten XYZ has other elements");
    fuzz::check(again[i].positions == molecules[i].positions,
                "rewritten XYZ has other coordinates");
    fuzz::check(again[i].properties == molecules[i].properties,
                "rewritten XYZ has other properties");
  }
  return 0;
}
