// Internal entry points of the readers: like the public text-level functions,
// but with `name_base` (the default molecule name, e.g. the file name) kept
// apart from `source` (what error messages call the input, e.g. the path).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "encmol/chem/molecule.hpp"

namespace encmol::chem::detail {

std::vector<Molecule> read_xyz(std::string_view text, const std::string& source,
                               const std::string& name_base);
std::vector<Molecule> read_sdf(std::string_view text, const std::string& source,
                               const std::string& name_base);
std::vector<Molecule> read_smiles(std::string_view text, const std::string& source,
                                  const std::string& name_base, std::uint64_t seed);
std::vector<Molecule> read_smiles_csv(std::string_view text, const std::string& source,
                                      const std::string& name_base, std::uint64_t seed);

/// Splits one CSV record (RFC 4180 quoting, fields trimmed of surrounding
/// blanks). Throws InputError naming `where` on an unterminated quote.
std::vector<std::string> split_csv_record(std::string_view line, const std::string& where);

/// Stores key=value data: finite numbers in properties, everything else in
/// text_properties. Throws InputError naming `where` on a duplicate key.
void store_property(Molecule& molecule, const std::string& key, const std::string& value,
                    bool quoted, const std::string& where);

}  // namespace encmol::chem::detail
