// XYZ reader: plain, extended (key=value comment, Properties= columns) and the
// original QM9 format, one or several blocks per text.
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "encmol/chem/elements.hpp"
#include "encmol/chem/reader_impl.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/chem/text_scan.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace detail {
namespace {

// The 15 properties of a QM9 comment line after "gdb N", in file order.
constexpr std::array<const char*, 15> kQm9Keys = {
    "A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "U0", "U", "H", "G", "Cv"};

struct KeyValue {
  std::string key;
  std::string value;
  bool quoted = false;
  bool has_value = false;
};

// Tokenizes an extended-XYZ comment line. In probe mode returns nullopt when
// the line is not a clean list of key=value pairs; in strict mode throws.
std::optional<std::vector<KeyValue>> parse_key_values(std::string_view line, bool strict,
                                                      const std::string& where) {
  std::vector<KeyValue> out;
  std::size_t i = 0;
  auto fail = [&](const std::string& what) -> std::optional<std::vector<KeyValue>> {
    if (strict) throw InputError(where + ": malformed extended-XYZ comment line: " + what);
    return std::nullopt;
  };
  while (true) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) break;
    KeyValue kv;
    const std::size_t key_start = i;
    while (i < line.size() && !is_space(line[i]) && line[i] != '=') ++i;
    kv.key = std::string(line.substr(key_start, i - key_start));
    if (kv.key.empty()) return fail("'=' without a key at column " + std::to_string(i + 1));
    if (i < line.size() && line[i] == '=') {
      ++i;
      kv.has_value = true;
      if (i < line.size() && line[i] == '"') {
        kv.quoted = true;
        ++i;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '\\' && i < line.size()) {
            kv.value += line[i++];
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            kv.value += c;
          }
        }
        if (!closed) return fail("unterminated quoted value of key '" + kv.key + "'");
        if (i < line.size() && !is_space(line[i])) {
          return fail("text directly after the quoted value of key '" + kv.key + "'");
        }
      } else {
        const std::size_t value_start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        kv.value = std::string(line.substr(value_start, i - value_start));
        if (kv.value.empty()) return fail("key '" + kv.key + "' has an empty value");
      }
    } else if (!strict) {
      return std::nullopt;  // a bare word: free-text comment
    }
    out.push_back(std::move(kv));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// Columns of the atom lines of an extended-XYZ block.
struct ColumnLayout {
  std::size_t total = 4;
  std::size_t species = 0;  // column of the element symbol, or of Z when by_number
  bool by_number = false;
  std::size_t pos = 1;  // first of the three coordinate columns
};

ColumnLayout parse_properties_spec(const std::string& spec, const std::string& where) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = spec.find(':', start);
    parts.push_back(
        spec.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() % 3 != 0) {
    throw InputError(where + ": Properties=" + quote(spec) +
                     " must be a list of name:type:columns triples (e.g. species:S:1:pos:R:3)");
  }
  ColumnLayout layout;
  layout.total = 0;
  std::optional<std::size_t> species, z_column, pos;
  for (std::size_t k = 0; k < parts.size(); k += 3) {
    const std::string& name = parts[k];
    const std::string& type = parts[k + 1];
    const auto count = parse_int(parts[k + 2]);
    if (name.empty() || (type != "S" && type != "R" && type != "I" && type != "L") || !count ||
        *count < 1 || *count > 1000) {
      throw InputError(where + ": Properties= entry " +
                       quote(name + ":" + type + ":" + parts[k + 2]) +
                       " is not name:type:columns with type S, R, I or L and 1 to 1000 columns");
    }
    if (name == "species") {
      if (type != "S" || *count != 1)
        throw InputError(where + ": Properties= must declare species:S:1");
      species = layout.total;
    } else if (name == "Z") {
      if (type != "I" || *count != 1) throw InputError(where + ": Properties= must declare Z:I:1");
      z_column = layout.total;
    } else if (name == "pos") {
      if (type != "R" || *count != 3)
        throw InputError(where + ": Properties= must declare pos:R:3");
      pos = layout.total;
    }
    layout.total += static_cast<std::size_t>(*count);
    if (layout.total > 1000)
      throw InputError(where + ": Properties= declares more than 1000 columns");
  }
  if (!pos) throw InputError(where + ": Properties= has no pos:R:3 column (the coordinates)");
  if (species) {
    layout.species = *species;
  } else if (z_column) {
    layout.species = *z_column;
    layout.by_number = true;
  } else {
    throw InputError(where + ": Properties= has neither species:S:1 nor Z:I:1 (the elements)");
  }
  layout.pos = *pos;
  return layout;
}

double coordinate(std::string_view token, const Where& where, std::size_t atom) {
  const auto value = parse_double(token);
  if (value && std::isfinite(*value)) return *value;
  if (!value) {
    throw InputError(where.str() + ": coordinate " + quote(token) + " of atom " +
                     std::to_string(atom) + " is not a number");
  }
  throw InputError(where.str() + ": coordinate " + quote(token) + " of atom " +
                   std::to_string(atom) + " is not finite");
}

int element_of(std::string_view token, bool by_number, const Where& where) {
  if (by_number || (!token.empty() && token.front() >= '0' && token.front() <= '9')) {
    const auto z = parse_int(token);
    if (!z || !is_known_element(static_cast<int>(*z)) || *z != static_cast<int>(*z)) {
      throw InputError(where.str() + ": unknown element " + quote(token) +
                       " (expected an atomic number from 1 to " + std::to_string(kMaxAtomicNumber) +
                       ")");
    }
    return static_cast<int>(*z);
  }
  if (const auto z = find_atomic_number(token)) return *z;
  return atomic_number(token, where.str());  // throws the "unknown element" error
}

enum class BlockKind { kPlain, kExtended, kQm9 };

// Reads the optional three lines after a QM9 block: harmonic frequencies,
// SMILES (GDB and relaxed), InChI (GDB and relaxed).
void read_qm9_trailer(LineReader& lines, Molecule& molecule, const std::string& source) {
  for (int kind = 0; kind < 3; ++kind) {
    const auto peeked = lines.peek();
    if (!peeked || is_blank(*peeked)) return;
    const auto tokens = split_ws(*peeked);
    if (kind == 0) {
      // A lone integer is the atom count of the next block, not frequencies.
      if (tokens.size() == 1 && parse_int(tokens[0])) return;
      lines.next();
      for (auto t : tokens) {
        if (!parse_double(t)) {
          throw InputError(at_line(source, lines.line_number()) +
                           ": expected the harmonic frequencies of the QM9 molecule (numbers), "
                           "found " +
                           quote(t));
        }
      }
    } else if (kind == 1) {
      if (tokens.size() > 2 || (tokens.size() == 1 && parse_int(tokens[0]))) {
        if (tokens.size() == 1) return;  // next block
        throw InputError(
            at_line(source, lines.line_number() + 1) +
            ": expected the SMILES line of the QM9 molecule (one or two SMILES), found " +
            quote(*peeked));
      }
      lines.next();
      molecule.text_properties["smiles"] = std::string(tokens[0]);
      if (tokens.size() == 2) molecule.text_properties["smiles_relaxed"] = std::string(tokens[1]);
    } else {
      if (tokens.empty() || tokens[0].substr(0, 6) != "InChI=" || tokens.size() > 2) {
        throw InputError(at_line(source, lines.line_number() + 1) +
                         ": expected the InChI line of the QM9 molecule, found " + quote(*peeked));
      }
      lines.next();
      molecule.text_properties["inchi"] = std::string(tokens[0]);
      if (tokens.size() == 2) molecule.text_properties["inchi_relaxed"] = std::string(tokens[1]);
    }
  }
}

}  // namespace

void store_property(Molecule& molecule, const std::string& key, const std::string& value,
                    bool quoted, const std::string& where) {
  // A key extended XYZ cannot hold (a stray quote, e.g.) means the line is malformed; accepting
  // it would also make the molecule unwritable (found by fuzzing: fuzz/README.md).
  if (key.find('"') != std::string::npos || key.find('=') != std::string::npos) {
    throw InputError(where + ": property name " + quote(key) + " contains a quote or '='; check the quoting of the comment line");
  }
  if (molecule.properties.count(key) || molecule.text_properties.count(key)) {
    throw InputError(where + ": property '" + key + "' is given twice");
  }
  if (!quoted) {
    if (const auto number = parse_double(value)) {
      if (!std::isfinite(*number)) {
        throw InputError(where + ": property '" + key + "' has the non-finite value " +
                         quote(value) + "; give a finite number or leave the property out");
      }
      molecule.properties[key] = *number;
      return;
    }
  }
  molecule.text_properties[key] = value;
}

std::vector<Molecule> read_xyz(std::string_view text, const std::string& source,
                               const std::string& name_base) {
  LineReader lines(text);
  std::vector<Molecule> molecules;
  std::vector<bool> named;
  while (true) {
    // Blank lines between blocks (and at the end) are allowed.
    while (lines.peek() && is_blank(*lines.peek())) lines.next();
    const auto count_line = lines.next();
    if (!count_line) break;
    const std::size_t count_line_number = lines.line_number();
    const std::string count_where = at_line(source, count_line_number);
    const auto count_tokens = split_ws(*count_line);
    const auto count = count_tokens.size() == 1 ? parse_int(count_tokens[0]) : std::nullopt;
    if (!count) {
      if (molecules.empty()) {
        throw InputError(count_where +
                         ": expected the number of atoms (an integer alone on the line), found " +
                         quote(*count_line));
      }
      throw InputError(count_where + ": expected the number of atoms of molecule " +
                       std::to_string(molecules.size() + 1) +
                       " (an integer alone on the line), found " + quote(*count_line) +
                       "; does the atom count of the previous molecule match its atom lines?");
    }
    if (*count < 1 || static_cast<unsigned long long>(*count) > kMaxAtomsPerMolecule) {
      throw InputError(count_where + ": atom count " + std::to_string(*count) +
                       " is out of range (1 to " + std::to_string(kMaxAtomsPerMolecule) + ")");
    }
    const auto n = static_cast<std::size_t>(*count);

    const auto comment = lines.next();
    if (!comment) {
      throw InputError(source + ": file ends after the atom count on line " +
                       std::to_string(count_line_number) + "; expected a comment line and " +
                       std::to_string(n) + " atom lines");
    }
    const std::string comment_where = at_line(source, lines.line_number());

    Molecule molecule;
    bool has_name = false;
    BlockKind kind = BlockKind::kPlain;
    ColumnLayout layout;
    const auto comment_tokens = split_ws(*comment);
    if (comment_tokens.size() >= 2 && comment_tokens[0] == "gdb" && parse_int(comment_tokens[1])) {
      kind = BlockKind::kQm9;
      if (comment_tokens.size() != 2 + kQm9Keys.size()) {
        throw InputError(comment_where + ": QM9 property line has " +
                         std::to_string(comment_tokens.size() - 2) + " values after 'gdb " +
                         std::string(comment_tokens[1]) +
                         "', expected 15 (A B C mu alpha homo lumo gap r2 zpve U0 U H G Cv)");
      }
      for (std::size_t k = 0; k < kQm9Keys.size(); ++k) {
        const auto value = parse_double(comment_tokens[2 + k]);
        if (!value || !std::isfinite(*value)) {
          throw InputError(comment_where + ": QM9 property " + kQm9Keys[k] + " = " +
                           quote(comment_tokens[2 + k]) + " is not a finite number");
        }
        molecule.properties[kQm9Keys[k]] = *value;
      }
      molecule.text_properties["gdb_index"] = std::string(comment_tokens[1]);
    } else {
      const bool declared = comment->find("Properties=") != std::string_view::npos;
      if (auto pairs = parse_key_values(*comment, declared, comment_where)) {
        kind = BlockKind::kExtended;
        for (auto& kv : *pairs) {
          if (kv.key == "Properties") {
            layout = parse_properties_spec(kv.value, comment_where);
          } else if (kv.key == "name") {
            if (has_name) throw InputError(comment_where + ": key 'name' is given twice");
            if (kv.value.empty())
              throw InputError(comment_where + ": key 'name' has an empty value");
            molecule.name = kv.value;
            has_name = true;
          } else if (!kv.has_value) {
            store_property(molecule, kv.key, "T", true, comment_where);  // a flag, as in ASE
          } else {
            store_property(molecule, kv.key, kv.value, kv.quoted, comment_where);
          }
        }
      }
    }

    molecule.charges.reserve(n);
    molecule.positions.reserve(n);
    std::vector<std::string_view> tokens;
    for (std::size_t a = 1; a <= n; ++a) {
      const auto line = lines.next();
      if (!line) {
        throw InputError(source + ": file ends after " + std::to_string(a - 1) + " of the " +
                         std::to_string(n) + " atom lines announced on line " +
                         std::to_string(count_line_number));
      }
      const Where where{source, lines.line_number()};
      split_ws_into(*line, tokens);
      if (kind == BlockKind::kExtended) {
        if (tokens.size() != layout.total) {
          throw InputError(where.str() + ": atom line has " + std::to_string(tokens.size()) +
                           " columns, the Properties= spec on line " +
                           std::to_string(count_line_number + 1) + " declares " +
                           std::to_string(layout.total) +
                           (tokens.size() <= 1 ? " (is the atom count on line " +
                                                     std::to_string(count_line_number) +
                                                     " larger than the number of atom lines?)"
                                               : std::string()));
        }
      } else if (tokens.size() < 4 || (kind == BlockKind::kQm9 && tokens.size() != 5)) {
        throw InputError(where.str() + ": expected an atom line 'symbol x y z'" +
                         std::string(kind == BlockKind::kQm9 ? " plus the Mulliken charge" : "") +
                         ", found " + quote(*line) + " (does the atom count on line " +
                         std::to_string(count_line_number) + " match the number of atom lines?)");
      }
      if (kind != BlockKind::kExtended) {
        for (std::size_t k = 4; k < tokens.size(); ++k) {
          const auto extra = parse_double(tokens[k]);
          if (!extra) {
            throw InputError(where.str() + ": column " + std::to_string(k + 1) +
                             " of the atom line, " + quote(tokens[k]) + ", is not a number");
          }
        }
      }
      const std::size_t sp = kind == BlockKind::kExtended ? layout.species : 0;
      const std::size_t p = kind == BlockKind::kExtended ? layout.pos : 1;
      molecule.charges.push_back(
          element_of(tokens[sp], kind == BlockKind::kExtended && layout.by_number, where));
      molecule.positions.push_back({coordinate(tokens[p], where, a),
                                    coordinate(tokens[p + 1], where, a),
                                    coordinate(tokens[p + 2], where, a)});
    }
    if (kind == BlockKind::kQm9) read_qm9_trailer(lines, molecule, source);
    validate_molecule(molecule, source + " (molecule starting on line " +
                                    std::to_string(count_line_number) + ")");
    molecules.push_back(std::move(molecule));
    named.push_back(has_name);
  }
  if (molecules.empty()) {
    throw InputError(source + ": no molecules found (the file is empty or blank)");
  }
  assign_default_names(molecules, name_base, named);
  return molecules;
}

}  // namespace detail

std::vector<Molecule> read_xyz_text(std::string_view text, const std::string& source) {
  return detail::read_xyz(text, source, source);
}

}  // namespace encmol::chem
