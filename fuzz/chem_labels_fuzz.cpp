// Label tables (CSV with header, or whitespace separated with an optional
// header; first byte picks which): every row has one value per column, every
// value is finite, keys are unique.
#include <cmath>
#include <set>

#include "encmol/chem/readers.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  chem::LabelTable table;
  try {
    table = chem::read_labels_text(fuzz::text(data + 1, size - 1), "fuzz.csv", (data[0] & 1) != 0);
  } catch (const Error&) {
    return 0;
  }
  fuzz::check(table.keys.size() == table.values.size() && table.lines.size() == table.keys.size(),
              "label table rows disagree");
  std::set<std::string> keys(table.keys.begin(), table.keys.end());
  fuzz::check(keys.size() == table.keys.size(), "duplicate label keys accepted");
  for (const auto& row : table.values) {
    fuzz::check(row.size() == table.columns.size(), "ragged label row accepted");
    for (double v : row) fuzz::check(std::isfinite(v), "non-finite label accepted");
  }
  return 0;
}
