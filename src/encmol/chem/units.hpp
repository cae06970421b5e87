// Units of the molecular quantities encmol converts between: energies (for a
// Δ-learning baseline in a target's unit) and dipole moments.
//
// Known units (names are matched ignoring ASCII case and spaces, except that
// "meV" must not be written with a capital M, which would read as MeV):
//   energy  hartree (also Ha, Eh), kcal/mol, kJ/mol, eV, meV
//   dipole  debye (also D), e*bohr (also e*a0), e*Å (also e*A, e*angstrom)
// Factors come from CODATA 2018 (Hartree energy, elementary charge, Avogadro
// constant, Bohr radius) and the thermochemical calorie (4.184 J); one debye
// is 1e-21 / c C·m. Per-mole units are per mole of molecules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace encmol::chem {

/// Bohr radius in Å (CODATA 2018).
inline constexpr double kAngstromPerBohr = 0.529177210903;

enum class UnitKind { kEnergy, kDipole };

/// What a unit measures, or nullopt when the name is not a known unit.
std::optional<UnitKind> unit_kind(std::string_view unit);

/// Factor f with value_in_`to` = f * value_in_`from`. Throws InputError naming
/// the unit when either is unknown, or both when they measure different kinds
/// of quantity.
double conversion_factor(std::string_view from, std::string_view to);

/// `value` in unit `from`, expressed in unit `to` (see conversion_factor).
double convert(double value, std::string_view from, std::string_view to);

/// The known units, for messages: "hartree (Ha, Eh), kcal/mol, ...".
std::string known_units();

}  // namespace encmol::chem
