#include "encmol/chem/bag_of_bonds.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "encmol/chem/coulomb_matrix.hpp"
#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

std::string molecule_label(const Molecule& m) {
  return m.name.empty() ? std::string("molecule (unnamed)") : "molecule '" + m.name + "'";
}

std::string symbol_or_z(int z) {
  if (is_known_element(z)) return std::string(element_symbol(z));
  return "Z=" + std::to_string(z);
}

std::string element_list(const std::vector<int>& elements) {
  std::string s;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i) s += ", ";
    s += symbol_or_z(elements[i]);
  }
  return s;
}

}  // namespace

BagLayout BagLayout::from_capacities(std::vector<int> elements, std::vector<std::size_t> capacity) {
  if (elements.size() != capacity.size()) {
    throw ParameterError("Bag-of-Bonds layout: " + std::to_string(elements.size()) +
                         " elements but " + std::to_string(capacity.size()) + " capacities");
  }
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (!is_known_element(elements[i])) {
      throw ParameterError("Bag-of-Bonds layout: nuclear charge " + std::to_string(elements[i]) +
                           " is not an element");
    }
    if (i > 0 && elements[i] <= elements[i - 1]) {
      throw ParameterError("Bag-of-Bonds layout: elements must be strictly ascending");
    }
    if (capacity[i] < 1 || capacity[i] > kMaxAtomsPerMolecule) {
      throw ParameterError("Bag-of-Bonds layout: capacity " + std::to_string(capacity[i]) +
                           " for element " + symbol_or_z(elements[i]) + " is outside 1.." +
                           std::to_string(kMaxAtomsPerMolecule));
    }
  }
  BagLayout layout;
  layout.elements = std::move(elements);
  layout.capacity = std::move(capacity);
  std::size_t offset = 0;
  const std::size_t e = layout.elements.size();
  for (std::size_t a = 0; a < e; ++a) {
    layout.bags.push_back({layout.elements[a], layout.elements[a], true, offset, layout.capacity[a]});
    offset += layout.capacity[a];
  }
  for (std::size_t a = 0; a < e; ++a) {
    for (std::size_t b = a; b < e; ++b) {
      const std::size_t size = a == b ? layout.capacity[a] * (layout.capacity[a] - 1) / 2
                                      : layout.capacity[a] * layout.capacity[b];
      if (size == 0) continue;
      layout.bags.push_back({layout.elements[a], layout.elements[b], false, offset, size});
      offset += size;
    }
  }
  layout.dimension = offset;
  return layout;
}

void bag_of_bonds(const Molecule& molecule, const BagLayout& layout, std::span<double> out) {
  if (out.size() != layout.dimension) {
    throw ParameterError("bag_of_bonds: output holds " + std::to_string(out.size()) +
                         " values, expected " + std::to_string(layout.dimension));
  }
  const std::size_t n = molecule.size();
  const std::size_t e = layout.elements.size();
  // Element slot of every atom, and per-element counts checked against capacity.
  std::vector<std::size_t> slot(n);
  std::vector<std::size_t> count(e, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const int z = molecule.charges[i];
    auto it = std::lower_bound(layout.elements.begin(), layout.elements.end(), z);
    if (it == layout.elements.end() || *it != z) {
      throw InputError(molecule_label(molecule) + " contains element " + symbol_or_z(z) +
                       ", which this Bag-of-Bonds representation does not know (training "
                       "elements: " +
                       element_list(layout.elements) + ")");
    }
    slot[i] = static_cast<std::size_t>(it - layout.elements.begin());
    ++count[slot[i]];
  }
  for (std::size_t a = 0; a < e; ++a) {
    if (count[a] > layout.capacity[a]) {
      throw InputError(molecule_label(molecule) + " has " + std::to_string(count[a]) + " " +
                       symbol_or_z(layout.elements[a]) +
                       " atoms; this Bag-of-Bonds representation holds at most " +
                       std::to_string(layout.capacity[a]) +
                       " (the most in any training molecule)");
    }
  }
  const std::vector<double> m = coulomb_matrix_full(molecule);
  // Bag index of the pair (a, b), a <= b: pair bags follow the e self bags.
  std::vector<std::size_t> pair_bag(e * e, static_cast<std::size_t>(-1));
  for (std::size_t k = e; k < layout.bags.size(); ++k) {
    const Bag& bag = layout.bags[k];
    const std::size_t a = static_cast<std::size_t>(
        std::lower_bound(layout.elements.begin(), layout.elements.end(), bag.z_a) -
        layout.elements.begin());
    const std::size_t b = static_cast<std::size_t>(
        std::lower_bound(layout.elements.begin(), layout.elements.end(), bag.z_b) -
        layout.elements.begin());
    pair_bag[a * e + b] = k;
  }
  std::vector<std::size_t> fill(layout.bags.size(), 0);
  std::fill(out.begin(), out.end(), 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const Bag& self = layout.bags[slot[i]];
    out[self.offset + fill[slot[i]]++] = m[i * n + i];
    for (std::size_t j = 0; j < i; ++j) {
      const std::size_t a = std::min(slot[i], slot[j]);
      const std::size_t b = std::max(slot[i], slot[j]);
      const std::size_t k = pair_bag[a * e + b];
      // Counts were checked above, so the bag exists and has room.
      out[layout.bags[k].offset + fill[k]++] = m[i * n + j];
    }
  }
  for (std::size_t k = 0; k < layout.bags.size(); ++k) {
    auto first = out.begin() + static_cast<std::ptrdiff_t>(layout.bags[k].offset);
    std::sort(first, first + static_cast<std::ptrdiff_t>(fill[k]), std::greater<double>());
  }
}

}  // namespace encmol::chem
