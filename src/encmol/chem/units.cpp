#include "encmol/chem/units.hpp"

#include <array>
#include <initializer_list>

#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

// CODATA 2018 (exact where the SI fixes them).
constexpr double kHartreeJoule = 4.3597447222071e-18;
constexpr double kElementaryCharge = 1.602176634e-19;  // C
constexpr double kAvogadro = 6.02214076e23;            // 1/mol
constexpr double kCalorie = 4.184;                     // J, thermochemical
constexpr double kSpeedOfLight = 299792458.0;          // m/s
constexpr double kBohrMetre = kAngstromPerBohr * 1e-10;

struct UnitInfo {
  const char* name;  // canonical spelling, used in messages
  UnitKind kind;
  double si;                                   // size of one unit: J for energies, C·m for dipoles
  std::initializer_list<const char*> aliases;  // normalized spellings (see normalize)
};

const std::array<UnitInfo, 8>& units() {
  static const std::array<UnitInfo, 8> table = {{
      {"hartree", UnitKind::kEnergy, kHartreeJoule, {"hartree", "hartrees", "ha", "eh", "e_h"}},
      {"kcal/mol",
       UnitKind::kEnergy,
       kCalorie * 1e3 / kAvogadro,
       {"kcal/mol", "kcal*mol^-1", "kcalmol^-1", "kcalmol-1"}},
      {"kJ/mol",
       UnitKind::kEnergy,
       1e3 / kAvogadro,
       {"kj/mol", "kj*mol^-1", "kjmol^-1", "kjmol-1"}},
      {"eV", UnitKind::kEnergy, kElementaryCharge, {"ev"}},
      {"meV", UnitKind::kEnergy, kElementaryCharge * 1e-3, {"mev"}},
      {"debye", UnitKind::kDipole, 1e-21 / kSpeedOfLight, {"debye", "d"}},
      {"e*bohr",
       UnitKind::kDipole,
       kElementaryCharge * kBohrMetre,
       {"e*bohr", "ebohr", "e*a0", "ea0"}},
      {"e*Å",
       UnitKind::kDipole,
       kElementaryCharge * 1e-10,
       {"e*\xc3\x85", "e\xc3\x85", "e*\xc3\xa5", "e\xc3\xa5", "e*a", "e*ang", "e*angstrom",
        "eangstrom"}},
  }};
  return table;
}

// Drops ASCII spaces, turns the middle dot (U+00B7) into '*', lowercases ASCII.
std::string normalize(std::string_view unit) {
  std::string out;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    const char c = unit[i];
    if (c == ' ' || c == '\t') continue;
    if (c == '\xc2' && i + 1 < unit.size() && unit[i + 1] == '\xb7') {
      out += '*';
      ++i;
      continue;
    }
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

const UnitInfo* find_unit(std::string_view unit) {
  const std::string key = normalize(unit);
  // "MeV" is a million electronvolts; only the lower-case m means milli.
  if (key == "mev") {
    for (char c : unit) {
      if (c == 'M') return nullptr;
      if (c == 'm') break;
    }
  }
  for (const UnitInfo& info : units()) {
    for (const char* alias : info.aliases) {
      if (key == alias) return &info;
    }
  }
  return nullptr;
}

const char* kind_name(UnitKind kind) {
  return kind == UnitKind::kEnergy ? "an energy" : "a dipole moment";
}

const UnitInfo& require_unit(std::string_view unit) {
  if (const UnitInfo* info = find_unit(unit)) return *info;
  throw InputError("unknown unit '" + std::string(unit) + "'; known units: " + known_units());
}

}  // namespace

std::optional<UnitKind> unit_kind(std::string_view unit) {
  if (const UnitInfo* info = find_unit(unit)) return info->kind;
  return std::nullopt;
}

double conversion_factor(std::string_view from, std::string_view to) {
  const UnitInfo& a = require_unit(from);
  const UnitInfo& b = require_unit(to);
  if (a.kind != b.kind) {
    throw InputError("cannot convert '" + std::string(from) + "' (" + kind_name(a.kind) + ") to '" +
                     std::string(to) + "' (" + kind_name(b.kind) + ")");
  }
  if (&a == &b) return 1.0;  // exact, no rounding from the division
  return a.si / b.si;
}

double convert(double value, std::string_view from, std::string_view to) {
  return value * conversion_factor(from, to);
}

std::string known_units() {
  return "energies hartree (Ha, Eh), kcal/mol, kJ/mol, eV, meV; dipole moments debye (D), "
         "e*bohr (e*a0), e*\xc3\x85 (e*A)";
}

}  // namespace encmol::chem
