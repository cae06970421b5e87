#include "encmol/chem/atomic_features.hpp"

#include <string>

#include "encmol/core/error.hpp"

namespace encmol::chem {

AtomicFeatures AtomicFeatures::select(const std::vector<std::size_t>& indices) const {
  AtomicFeatures out;
  std::size_t atoms = 0;
  for (std::size_t i : indices) {
    if (i >= molecule_count()) throw ParameterError("AtomicFeatures::select: molecule index out of range");
    atoms += offsets[i + 1] - offsets[i];
  }
  out.values.resize(static_cast<Eigen::Index>(atoms), values.cols());
  out.charges.reserve(atoms);
  out.offsets.reserve(indices.size() + 1);
  out.offsets.push_back(0);
  std::size_t row = 0;
  for (std::size_t i : indices) {
    const std::size_t begin = offsets[i], count = offsets[i + 1] - offsets[i];
    out.values.middleRows(static_cast<Eigen::Index>(row), static_cast<Eigen::Index>(count)) =
        values.middleRows(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(count));
    out.charges.insert(out.charges.end(), charges.begin() + static_cast<std::ptrdiff_t>(begin),
                       charges.begin() + static_cast<std::ptrdiff_t>(begin + count));
    row += count;
    out.offsets.push_back(row);
  }
  return out;
}

void AtomicFeatures::validate() const {
  auto fail = [](const std::string& what) { throw ParameterError("invalid atomic features: " + what); };
  if (offsets.empty() || offsets.front() != 0) fail("offsets must start at 0");
  for (std::size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] <= offsets[i - 1]) fail("molecule " + std::to_string(i - 1) + " has no atoms");
  }
  if (offsets.back() != charges.size()) fail("offsets do not cover the atoms");
  if (static_cast<std::size_t>(values.rows()) != charges.size()) fail("one row per atom needed");
  if (!values.allFinite()) fail("non-finite values");
}

}  // namespace encmol::chem

namespace encmol::chem {

AtomicFeatures AtomicFeatures::columns(std::size_t begin, std::size_t end) const {
  if (begin >= end || end > dimension()) throw ParameterError("AtomicFeatures::columns: range outside the atom vector");
  AtomicFeatures out;
  out.charges = charges;
  out.offsets = offsets;
  out.values = values.middleCols(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin));
  return out;
}

}  // namespace encmol::chem
