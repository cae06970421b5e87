// Periodic table lookups: element symbol <-> nuclear charge Z for Z = 1..118.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace encmol::chem {

/// Largest nuclear charge encmol knows (oganesson).
inline constexpr int kMaxAtomicNumber = 118;

/// True for 1 <= z <= kMaxAtomicNumber.
constexpr bool is_known_element(int z) { return z >= 1 && z <= kMaxAtomicNumber; }

/// Canonical symbol ("H", "He", ..., "Og"). Throws InputError for unknown z.
std::string_view element_symbol(int z);

/// Parses a symbol case-insensitively ("c", "C", "CL", "cl" -> Z). Surrounding
/// whitespace is not accepted. Returns nullopt for anything that is not an
/// element symbol.
std::optional<int> find_atomic_number(std::string_view symbol);

/// Like find_atomic_number, but throws InputError "<context>: unknown element
/// 'Xx'" when the symbol is not an element.
int atomic_number(std::string_view symbol, const std::string& context);

}  // namespace encmol::chem
