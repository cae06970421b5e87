// Adding key=value properties to the comment lines of an extended-XYZ text
// while keeping every other byte (coordinates, number formats, key order) as
// it is: how computed properties (e.g. xTB) are added to a data file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace encmol::chem {

/// Appends " " + additions[k] to the comment line of the k-th XYZ block of
/// `text`; each addition is a list of numeric key=value pairs separated by
/// spaces ("xtb_energy=-4.17 xtb_gap=0.62"). Blocks are an atom-count line,
/// a comment line and that many atom lines; blank lines between blocks and
/// "\r\n" line ends are kept.
///
/// Returns nullopt when the text is not such a sequence of exactly
/// additions.size() blocks (e.g. QM9-format blocks with trailing lines), or
/// when a comment line is not read as key=value pairs, so the added values
/// would not read back. The result is checked by reading it back
/// (read_xyz_text): the same molecules, their old properties and the added
/// ones with the added values. Throws InputError naming `source` for a
/// malformed addition or a key a molecule already has.
std::optional<std::string> append_to_xyz_comments(std::string_view text,
                                                  const std::vector<std::string>& additions,
                                                  const std::string& source);

}  // namespace encmol::chem
