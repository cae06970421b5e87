// MDL molfile / SD file reader: V2000 and V3000 connection tables, several
// records separated by $$$$, and "> <name>" data items.
#include <cctype>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "encmol/chem/elements.hpp"
#include "encmol/chem/reader_impl.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/chem/text_scan.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace detail {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string_view field(std::string_view line, std::size_t begin, std::size_t width) {
  if (begin >= line.size()) return {};
  return trim(line.substr(begin, width));
}

std::size_t count_field(std::string_view token, const char* what, const std::string& where) {
  const auto value = parse_int(token);
  if (!value || *value < 0) {
    throw InputError(where + ": the " + std::string(what) + " count " + quote(token) +
                     " on the counts line is not a non-negative integer");
  }
  if (static_cast<unsigned long long>(*value) > kMaxAtomsPerMolecule * 10) {
    throw InputError(where + ": the " + std::string(what) + " count " + std::to_string(*value) +
                     " is larger than encmol accepts (" + std::to_string(kMaxAtomsPerMolecule) +
                     " atoms per molecule)");
  }
  return static_cast<std::size_t>(*value);
}

double sdf_coordinate(std::string_view token, const std::string& where, std::size_t atom) {
  const auto v = parse_double(token);
  if (!v) {
    throw InputError(where + ": coordinate " + quote(token) + " of atom " + std::to_string(atom) +
                     " is not a number");
  }
  if (!std::isfinite(*v)) {
    throw InputError(where + ": coordinate " + quote(token) + " of atom " + std::to_string(atom) +
                     " is not finite");
  }
  return *v;
}

// One V2000 atom line: fixed columns x(0-9) y(10-19) z(20-29) symbol(31-33);
// falls back to whitespace-separated fields for hand-written files.
void read_v2000_atom(std::string_view line, const std::string& where, std::size_t atom,
                     std::size_t n_atoms, std::size_t counts_line, Molecule& molecule) {
  std::string_view xs = field(line, 0, 10), ys = field(line, 10, 10), zs = field(line, 20, 10);
  std::string_view symbol = field(line, 31, 3);
  if (!(parse_double(xs) && parse_double(ys) && parse_double(zs)) || symbol.empty()) {
    const auto tokens = split_ws(line);
    if (tokens.size() < 4) {
      throw InputError(where + ": expected atom line " + std::to_string(atom) + " of " +
                       std::to_string(n_atoms) + " ('x y z symbol ...'), found " + quote(line) +
                       " (does the atom count on line " + std::to_string(counts_line) +
                       " match the number of atom lines?)");
    }
    xs = tokens[0];
    ys = tokens[1];
    zs = tokens[2];
    symbol = tokens[3];
  }
  if (!symbol.empty() && !std::isalpha(static_cast<unsigned char>(symbol.front()))) {
    throw InputError(where + ": expected atom line " + std::to_string(atom) + " of " +
                     std::to_string(n_atoms) + " ('x y z symbol ...'), found " + quote(line) +
                     " (does the atom count on line " + std::to_string(counts_line) +
                     " match the number of atom lines?)");
  }
  const double x = sdf_coordinate(xs, where, atom);
  const double y = sdf_coordinate(ys, where, atom);
  const double z = sdf_coordinate(zs, where, atom);
  molecule.charges.push_back(atomic_number(symbol, where));
  molecule.positions.push_back({x, y, z});
}

// A logical V3000 line: "M  V30 " stripped, continuations ('-' at the end)
// joined, with the number of the line it starts on.
struct V30Line {
  std::string text;
  std::size_t line = 0;
};

// Reads V3000 lines up to and including "M  END".
std::vector<V30Line> read_v30_lines(LineReader& lines, const std::string& source,
                                    std::size_t record_line) {
  std::vector<V30Line> out;
  bool continuing = false;
  while (true) {
    const auto line = lines.next();
    if (!line) {
      throw InputError(source + ": the V3000 record starting on line " +
                       std::to_string(record_line) + " ends without 'M  END'");
    }
    if (starts_with(*line, "M  END")) {
      if (continuing) {
        throw InputError(at_line(source, lines.line_number()) +
                         ": 'M  END' after a continued V3000 line");
      }
      return out;
    }
    if (starts_with(*line, "$$$$")) {
      throw InputError(at_line(source, lines.line_number()) +
                       ": record ends ($$$$) before 'M  END' of the V3000 connection table");
    }
    if (!starts_with(*line, "M  V30 ")) {
      if (starts_with(*line, "M  ")) continue;  // other V2000-style property lines
      throw InputError(at_line(source, lines.line_number()) +
                       ": expected a V3000 line starting with 'M  V30 ', found " + quote(*line));
    }
    std::string_view body = line->substr(7);
    while (!body.empty() && is_space(body.back())) body.remove_suffix(1);
    const bool continues = !body.empty() && body.back() == '-';
    if (continues) body.remove_suffix(1);
    if (continuing) {
      out.back().text += body;
    } else {
      out.push_back({std::string(body), lines.line_number()});
    }
    if (out.back().text.size() > 100000) {
      throw InputError(at_line(source, out.back().line) +
                       ": V3000 line longer than 100000 characters");
    }
    continuing = continues;
  }
}

void read_v3000_ctab(LineReader& lines, const std::string& source, std::size_t record_line,
                     Molecule& molecule) {
  const auto v30 = read_v30_lines(lines, source, record_line);
  std::optional<std::size_t> declared;
  bool in_atoms = false, saw_atoms = false;
  std::size_t atoms_begin_line = 0;
  for (const auto& l : v30) {
    const std::string where = at_line(source, l.line);
    const auto tokens = split_ws(l.text);
    if (tokens.empty()) continue;
    if (tokens[0] == "COUNTS") {
      if (tokens.size() < 3)
        throw InputError(where + ": V3000 COUNTS line needs atom and bond counts");
      declared = count_field(tokens[1], "atom", where);
      count_field(tokens[2], "bond", where);
      if (*declared > kMaxAtomsPerMolecule) {
        throw InputError(where + ": " + std::to_string(*declared) +
                         " atoms, more than the limit of " + std::to_string(kMaxAtomsPerMolecule));
      }
      molecule.charges.reserve(*declared);
      molecule.positions.reserve(*declared);
    } else if (tokens.size() >= 2 && tokens[0] == "BEGIN" && tokens[1] == "ATOM") {
      if (!declared) throw InputError(where + ": V3000 atom block before the COUNTS line");
      in_atoms = true;
      saw_atoms = true;
      atoms_begin_line = l.line;
    } else if (tokens.size() >= 2 && tokens[0] == "END" && tokens[1] == "ATOM") {
      in_atoms = false;
    } else if (in_atoms) {
      if (tokens[0] == "BEGIN" || tokens[0] == "END") {
        throw InputError(
            where + ": " + quote(l.text) + " inside the atom block that begins on line " +
            std::to_string(atoms_begin_line) + "; the atom block must be closed by END ATOM");
      }
      const std::size_t atom = molecule.size() + 1;
      if (atom > *declared) {
        throw InputError(where + ": more atom lines than the " + std::to_string(*declared) +
                         " atoms declared by COUNTS (or END ATOM is missing)");
      }
      if (tokens.size() < 6) {
        throw InputError(where + ": V3000 atom line needs 'index type x y z aamap', found " +
                         quote(l.text));
      }
      std::string_view symbol = tokens[1];
      if (symbol.size() >= 2 && symbol.front() == '"' && symbol.back() == '"') {
        symbol = symbol.substr(1, symbol.size() - 2);
      }
      const double x = sdf_coordinate(tokens[2], where, atom);
      const double y = sdf_coordinate(tokens[3], where, atom);
      const double z = sdf_coordinate(tokens[4], where, atom);
      molecule.charges.push_back(atomic_number(symbol, where));
      molecule.positions.push_back({x, y, z});
    }
  }
  if (!declared) {
    throw InputError(source + ": the V3000 record starting on line " + std::to_string(record_line) +
                     " has no 'M  V30 COUNTS' line");
  }
  if (!saw_atoms && *declared > 0) {
    throw InputError(source + ": the V3000 record starting on line " + std::to_string(record_line) +
                     " has no atom block");
  }
  if (in_atoms) {
    throw InputError(at_line(source, atoms_begin_line) +
                     ": V3000 atom block is not closed by END ATOM");
  }
  if (molecule.size() != *declared) {
    throw InputError(at_line(source, atoms_begin_line) + ": COUNTS declares " +
                     std::to_string(*declared) + " atoms but the atom block has " +
                     std::to_string(molecule.size()));
  }
}

void read_v2000_ctab(LineReader& lines, const std::string& source, std::string_view counts,
                     std::size_t counts_line, Molecule& molecule) {
  const std::string counts_where = at_line(source, counts_line);
  std::size_t n_atoms = 0, n_bonds = 0;
  std::string_view a = field(counts, 0, 3), b = field(counts, 3, 3);
  if (!parse_int(a) || !parse_int(b)) {
    const auto tokens = split_ws(counts);  // hand-written files
    if (tokens.size() < 2) {
      throw InputError(counts_where + ": expected the counts line ('aaabbb... V2000'), found " +
                       quote(counts));
    }
    a = tokens[0];
    b = tokens[1];
  }
  n_atoms = count_field(a, "atom", counts_where);
  n_bonds = count_field(b, "bond", counts_where);
  if (n_atoms > kMaxAtomsPerMolecule) {
    throw InputError(counts_where + ": " + std::to_string(n_atoms) +
                     " atoms, more than the limit of " + std::to_string(kMaxAtomsPerMolecule));
  }
  molecule.charges.reserve(n_atoms);
  molecule.positions.reserve(n_atoms);
  for (std::size_t i = 1; i <= n_atoms; ++i) {
    const auto line = lines.next();
    if (!line || starts_with(*line, "M  END") || starts_with(*line, "$$$$")) {
      throw InputError((line ? at_line(source, lines.line_number()) : source + " (end of file)") +
                       ": the atom block ends after " + std::to_string(i - 1) + " of the " +
                       std::to_string(n_atoms) + " atoms declared on line " +
                       std::to_string(counts_line));
    }
    read_v2000_atom(*line, at_line(source, lines.line_number()), i, n_atoms, counts_line, molecule);
  }
  for (std::size_t i = 1; i <= n_bonds; ++i) {
    const auto line = lines.next();
    if (!line || starts_with(*line, "M  ") || starts_with(*line, "$$$$")) {
      throw InputError((line ? at_line(source, lines.line_number()) : source + " (end of file)") +
                       ": the bond block ends after " + std::to_string(i - 1) + " of the " +
                       std::to_string(n_bonds) + " bonds declared on line " +
                       std::to_string(counts_line));
    }
    const auto tokens = split_ws(*line);
    auto first = parse_int(field(*line, 0, 3));
    auto second = parse_int(field(*line, 3, 3));
    if ((!first || !second) && tokens.size() >= 3) {  // hand-written, not fixed-width
      first = parse_int(tokens[0]);
      second = parse_int(tokens[1]);
    }
    if (tokens.size() < 3) first.reset();
    const bool ok = first && second && *first >= 1 && *second >= 1 &&
                    static_cast<std::size_t>(*first) <= n_atoms &&
                    static_cast<std::size_t>(*second) <= n_atoms;
    if (!ok) {
      throw InputError(at_line(source, lines.line_number()) +
                       ": expected a bond line 'atom1 atom2 order' with atoms 1 to " +
                       std::to_string(n_atoms) + ", found " + quote(*line));
    }
  }
  // Property lines (M  CHG, M  ISO, ...) up to M  END. Charges and isotopes do
  // not change the nuclear charges, so they are not needed here.
  while (true) {
    const auto line = lines.next();
    if (!line || starts_with(*line, "$$$$")) {
      throw InputError((line ? at_line(source, lines.line_number()) : source + " (end of file)") +
                       ": the connection table starting on line " + std::to_string(counts_line) +
                       " ends without 'M  END'");
    }
    if (starts_with(*line, "M  END")) return;
  }
}

// Data items after M  END: "> <name>" (or ">  <name>", "> 12 <name>") then
// value lines up to a blank line. Stops after $$$$ or at the end of the text.
void read_data_items(LineReader& lines, const std::string& source, Molecule& molecule) {
  while (true) {
    const auto line = lines.next();
    if (!line || starts_with(*line, "$$$$")) return;
    if (is_blank(*line)) continue;
    const std::string where = at_line(source, lines.line_number());
    if (line->front() != '>') {
      throw InputError(where +
                       ": expected a data item header '> <name>' or the record end '$$$$', found " +
                       quote(*line));
    }
    const std::size_t open = line->find('<');
    const std::size_t close = open == std::string_view::npos ? open : line->find('>', open);
    if (close == std::string_view::npos || close == open + 1) {
      throw InputError(where + ": data item header " + quote(*line) + " has no <name>");
    }
    const std::string name(trim(line->substr(open + 1, close - open - 1)));
    std::string value;
    std::size_t value_lines = 0;
    while (true) {
      const auto v = lines.peek();
      if (!v || is_blank(*v) || starts_with(*v, "$$$$")) break;
      lines.next();
      if (value_lines++ > 0) value += '\n';
      value += trim(*v);
      if (value.size() > 1000000)
        throw InputError(where + ": data item '" + name + "' is too long");
    }
    const bool numeric = value_lines == 1 && parse_double(value).has_value();
    store_property(molecule, name, value, !numeric, where);
  }
}

}  // namespace

std::vector<Molecule> read_sdf(std::string_view text, const std::string& source,
                               const std::string& name_base) {
  LineReader lines(text);
  std::vector<Molecule> molecules;
  std::vector<bool> named;
  while (true) {
    // Records: the rest must hold something other than blank lines.
    {
      LineReader probe = lines;
      bool any = false;
      while (const auto l = probe.next()) {
        if (!is_blank(*l)) {
          any = true;
          break;
        }
      }
      if (!any) break;
    }
    const auto title = lines.next();
    const std::size_t record_line = lines.line_number();
    const auto program = lines.next();
    const auto comment = lines.next();
    const auto counts = lines.next();
    if (!program || !comment || !counts) {
      throw InputError(source + ": the record starting on line " + std::to_string(record_line) +
                       " ends inside its 4-line header (title, program, comment, counts)");
    }
    const std::size_t counts_line = lines.line_number();
    if (field(*program, 20, 2) == "2D") {
      throw InputError(
          at_line(source, record_line + 1) +
          ": the record is marked 2D (columns 21-22 of the header); encmol needs 3D "
          "coordinates with explicit hydrogens, e.g. give the molecule as SMILES instead");
    }
    Molecule molecule;
    if (counts->find("V3000") != std::string_view::npos) {
      read_v3000_ctab(lines, source, record_line, molecule);
    } else {
      read_v2000_ctab(lines, source, *counts, counts_line, molecule);
    }
    read_data_items(lines, source, molecule);
    const std::string name(trim(*title));
    named.push_back(!name.empty());
    molecule.name = name;
    validate_molecule(molecule,
                      source + " (record starting on line " + std::to_string(record_line) + ")");
    molecules.push_back(std::move(molecule));
  }
  if (molecules.empty()) {
    throw InputError(source + ": no molecules found (the file is empty or blank)");
  }
  assign_default_names(molecules, name_base, named);
  return molecules;
}

}  // namespace detail

std::vector<Molecule> read_sdf_text(std::string_view text, const std::string& source) {
  return detail::read_sdf(text, source, source);
}

}  // namespace encmol::chem
