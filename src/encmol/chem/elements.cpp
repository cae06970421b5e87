#include "encmol/chem/elements.hpp"

#include <array>
#include <cctype>

#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

// Index z - 1 holds the symbol of element z.
constexpr std::array<std::string_view, kMaxAtomicNumber> kSymbols = {
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",
    "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh",
    "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re",
    "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db",
    "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

}  // namespace

std::string_view element_symbol(int z) {
  if (!is_known_element(z)) {
    throw InputError("unknown element with nuclear charge " + std::to_string(z) +
                     " (encmol knows Z = 1 to " + std::to_string(kMaxAtomicNumber) + ")");
  }
  return kSymbols[static_cast<std::size_t>(z - 1)];
}

std::optional<int> find_atomic_number(std::string_view symbol) {
  if (symbol.empty() || symbol.size() > 2) return std::nullopt;
  for (std::size_t i = 0; i < kSymbols.size(); ++i) {
    const std::string_view s = kSymbols[i];
    if (s.size() != symbol.size()) continue;
    bool same = true;
    for (std::size_t k = 0; k < s.size(); ++k) same = same && lower(s[k]) == lower(symbol[k]);
    if (same) return static_cast<int>(i + 1);
  }
  return std::nullopt;
}

int atomic_number(std::string_view symbol, const std::string& context) {
  if (auto z = find_atomic_number(symbol)) return *z;
  std::string shown(symbol.substr(0, 32));
  for (char& c : shown) {
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  }
  throw InputError(context + ": unknown element '" + shown + "'" +
                   (symbol.size() > 32 ? "..." : "") +
                   " (expected an element symbol such as H, C, N, O, S, Cl)");
}

}  // namespace encmol::chem
