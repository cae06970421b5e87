// read_molecules (format dispatch), directory + labels reading, property
// matrices and the extended-XYZ writer.
#include "encmol/chem/readers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "encmol/chem/elements.hpp"
#include "encmol/chem/reader_impl.hpp"
#include "encmol/chem/text_scan.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::chem {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Lower-case extension without a trailing ".gz" ("a.XYZ.gz" -> ".xyz").
std::string inner_extension(const fs::path& path) {
  std::string name = lower(path.filename().string());
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  const std::size_t dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(dot);
}

// File name without ".gz" and the molecule extension ("0001.xyz.gz" -> "0001").
std::string file_stem(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.size() > 3 && lower(name).ends_with(".gz")) name.resize(name.size() - 3);
  const std::size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

std::string format_from_extension(const std::string& ext) {
  if (ext == ".xyz" || ext == ".extxyz") return "xyz";
  if (ext == ".sdf" || ext == ".mol" || ext == ".sd") return "sdf";
  if (ext == ".smi" || ext == ".smiles") return "smiles";
  if (ext == ".csv") return "csv";
  return "";
}

const std::set<std::string>& molecule_file_extensions() {
  static const std::set<std::string> exts = {".xyz", ".extxyz", ".sdf", ".mol", ".sd"};
  return exts;
}

bool is_label_extension(const std::string& ext) {
  return ext == ".csv" || ext == ".txt" || ext == ".dat" || ext == ".tsv";
}

std::vector<Molecule> read_file(const fs::path& path, const std::string& format,
                                const ReadOptions& options) {
  const std::string text = core::read_text_maybe_gzip(path, options.max_file_bytes);
  const std::string source = path.string();
  const std::string base = path.filename().string();
  if (format == "xyz") return detail::read_xyz(text, source, base);
  if (format == "sdf") return detail::read_sdf(text, source, base);
  if (format == "smiles") return detail::read_smiles(text, source, base, options.seed);
  if (format == "csv") return detail::read_smiles_csv(text, source, base, options.seed);
  throw InputError(source + ": unknown format '" + format +
                   "' (known: xyz, sdf, smiles, csv, dir)");
}

std::string format_double(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

bool needs_quotes(const std::string& value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (detail::is_space(c) || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

std::string quote_value(const std::string& value) {
  if (!needs_quotes(value)) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '\n' || c == '\r') {
      out += ' ';  // the comment is one line
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void check_key(const std::string& key, const std::string& where) {
  bool ok = !key.empty() && key != "name" && key != "Properties";
  for (char c : key) ok = ok && !detail::is_space(c) && c != '=' && c != '"';
  if (!ok) {
    throw InputError(where + ": property name '" + key +
                     "' cannot be written as an extended-XYZ key (it must be non-empty, have no "
                     "spaces, '=' or quotes, and not be 'name' or 'Properties')");
  }
}

}  // namespace

LabelTable read_labels_text(std::string_view text, const std::string& source, bool comma) {
  LabelTable table;
  detail::LineReader lines(text);
  std::optional<std::size_t> key_column;
  std::vector<std::string> header;
  std::map<std::string, std::size_t> seen;  // key -> line
  bool first = true;
  while (const auto line = lines.next()) {
    if (detail::is_blank(*line)) continue;
    const std::string where = detail::at_line(source, lines.line_number());
    std::vector<std::string> fields;
    if (comma) {
      fields = detail::split_csv_record(*line, where);
    } else {
      for (auto t : detail::split_ws(*line)) fields.emplace_back(t);
    }
    if (first) {
      first = false;
      bool is_header = comma;
      if (!comma) {
        for (std::size_t c = 1; c < fields.size(); ++c) {
          if (!detail::parse_double(fields[c])) is_header = true;
        }
      }
      if (fields.size() < 2) {
        throw InputError(where +
                         ": a labels file needs a name column and at least one label column");
      }
      if (is_header) {
        header = fields;
      } else {
        header.push_back("name");
        for (std::size_t c = 1; c < fields.size(); ++c) header.push_back("y" + std::to_string(c));
      }
      for (std::size_t c = 0; c < header.size(); ++c) {
        if (header[c].empty())
          throw InputError(where + ": column " + std::to_string(c + 1) + " has no name");
        for (std::size_t d = 0; d < c; ++d) {
          if (header[d] == header[c]) {
            throw InputError(where + ": column name '" + header[c] + "' appears twice");
          }
        }
        const std::string l = lower(header[c]);
        if (!key_column && (l == "name" || l == "file" || l == "filename" || l == "id"))
          key_column = c;
      }
      if (!key_column) key_column = 0;
      for (std::size_t c = 0; c < header.size(); ++c) {
        if (c != *key_column) table.columns.push_back(header[c]);
      }
      if (is_header) continue;
    }
    if (fields.size() != header.size()) {
      throw InputError(where + ": " + std::to_string(fields.size()) + " fields, expected " +
                       std::to_string(header.size()) + " (one per column of the header)");
    }
    const std::string& key = fields[*key_column];
    if (key.empty()) throw InputError(where + ": the name field is empty");
    if (const auto it = seen.find(key); it != seen.end()) {
      throw InputError(where + ": duplicate name '" + key + "' (already on line " +
                       std::to_string(it->second) + ")");
    }
    seen.emplace(key, lines.line_number());
    std::vector<double> row;
    row.reserve(table.columns.size());
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (c == *key_column) continue;
      if (fields[c].empty()) {
        throw InputError(where + ": missing value of label '" + header[c] + "' for '" + key + "'");
      }
      const auto value = detail::parse_double(fields[c]);
      if (!value || !std::isfinite(*value)) {
        throw InputError(where + ": label '" + header[c] + "' of '" + key + "' is " +
                         detail::quote(fields[c]) + ", not a finite number");
      }
      row.push_back(*value);
    }
    table.keys.push_back(key);
    table.values.push_back(std::move(row));
    table.lines.push_back(lines.line_number());
  }
  if (first) throw InputError(source + ": the labels file is empty");
  return table;
}

std::vector<Molecule> read_xyz_directory(const fs::path& directory, const ReadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    throw IoError(directory.string() + ": is not a directory");
  }
  std::vector<fs::path> files;
  std::vector<fs::path> label_candidates;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const std::string ext = inner_extension(entry.path());
    if (molecule_file_extensions().count(ext)) {
      files.push_back(entry.path());
    } else if (is_label_extension(ext) &&
               !lower(entry.path().filename().string()).ends_with(".gz")) {
      label_candidates.push_back(entry.path());
    }
  }
  if (ec) throw IoError(directory.string() + ": cannot list the directory (" + ec.message() + ")");
  if (files.empty()) {
    throw InputError(
        directory.string() +
        ": no molecule files (*.xyz, *.extxyz, *.sdf, *.mol, optionally .gz) in the directory");
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  fs::path labels_path = options.labels_csv;
  if (labels_path.empty()) {
    if (fs::is_regular_file(directory / "labels.csv", ec)) {
      labels_path = directory / "labels.csv";
    } else if (label_candidates.size() == 1) {
      labels_path = label_candidates.front();
    } else if (label_candidates.size() > 1) {
      std::sort(label_candidates.begin(), label_candidates.end());
      std::string names;
      for (const auto& p : label_candidates)
        names += (names.empty() ? "" : ", ") + p.filename().string();
      throw InputError(directory.string() + ": several possible labels files (" + names +
                       "); name one with labels.csv in the directory or pass it explicitly");
    }
  }

  std::vector<Molecule> molecules;
  molecules.reserve(files.size());
  for (const auto& file : files) {
    auto read = read_file(file, format_from_extension(inner_extension(file)), options);
    if (read.size() != 1) {
      throw InputError(file.string() + ": holds " + std::to_string(read.size()) +
                       " molecules; in a directory every file must hold exactly one");
    }
    read.front().name = file.filename().string();
    molecules.push_back(std::move(read.front()));
  }
  if (labels_path.empty()) return molecules;

  const std::string labels_source = labels_path.string();
  const bool comma = inner_extension(labels_path) == ".csv";
  const LabelTable table = read_labels_text(
      core::read_text_maybe_gzip(labels_path, options.max_file_bytes), labels_source, comma);
  std::map<std::string, std::size_t> row_of;
  for (std::size_t r = 0; r < table.keys.size(); ++r) row_of.emplace(table.keys[r], r);
  std::vector<bool> used(table.keys.size(), false);
  for (std::size_t m = 0; m < molecules.size(); ++m) {
    auto it = row_of.find(files[m].filename().string());
    if (it == row_of.end()) it = row_of.find(file_stem(files[m]));
    if (it == row_of.end()) {
      throw InputError(labels_source + ": no labels for the molecule file '" +
                       files[m].filename().string() + "' (every molecule file in " +
                       directory.string() + " needs a row)");
    }
    const std::size_t r = it->second;
    if (used[r]) {
      throw InputError(detail::at_line(labels_source, table.lines[r]) + ": the row '" +
                       table.keys[r] + "' matches two molecule files (with and without extension)");
    }
    used[r] = true;
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      auto& props = molecules[m].properties;
      if (props.count(table.columns[c])) {
        throw InputError(detail::at_line(labels_source, table.lines[r]) + ": label '" +
                         table.columns[c] + "' is also given inside " + files[m].string() +
                         "; rename one of them");
      }
      props[table.columns[c]] = table.values[r][c];
    }
  }
  for (std::size_t r = 0; r < table.keys.size(); ++r) {
    if (!used[r]) {
      throw InputError(detail::at_line(labels_source, table.lines[r]) + ": '" + table.keys[r] +
                       "' names no molecule file in " + directory.string());
    }
  }
  return molecules;
}

std::vector<Molecule> read_molecules(const fs::path& path, const ReadOptions& options) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  std::string format = lower(options.format);
  if (format.empty()) {
    if (is_dir) {
      format = "dir";
    } else {
      if (!fs::exists(path, ec)) throw IoError(path.string() + ": no such file or directory");
      format = format_from_extension(inner_extension(path));
      if (format.empty()) {
        throw InputError(
            path.string() +
            ": cannot tell the format from the file name; use .xyz/.extxyz, .sdf/.mol, "
            ".smi/.smiles or .csv (optionally .gz), or name the format explicitly");
      }
    }
  }
  if (format == "directory") format = "dir";
  if (format == "dir") {
    if (!is_dir) throw InputError(path.string() + ": format 'dir' needs a directory");
    return read_xyz_directory(path, options);
  }
  if (is_dir)
    throw InputError(path.string() + ": is a directory, but format '" + format + "' needs a file");
  if (format == "mol" || format == "sd") format = "sdf";
  if (format == "smi") format = "smiles";
  if (format == "extxyz" || format == "qm9") format = "xyz";
  return read_file(path, format, options);
}

Eigen::MatrixXd property_matrix(const std::vector<Molecule>& molecules,
                                const std::vector<std::string>& names, const std::string& context) {
  Eigen::MatrixXd y(static_cast<Eigen::Index>(molecules.size()),
                    static_cast<Eigen::Index>(names.size()));
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    for (std::size_t t = 0; t < names.size(); ++t) {
      const auto it = molecules[i].properties.find(names[t]);
      if (it == molecules[i].properties.end()) {
        std::string available;
        for (const auto& n : common_property_names(molecules))
          available += (available.empty() ? "" : ", ") + n;
        throw InputError(
            context + ": molecule " + std::to_string(i + 1) + " ('" + molecules[i].name +
            "') has no property '" + names[t] +
            "'; properties every molecule has: " + (available.empty() ? "none" : available));
      }
      y(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(t)) = it->second;
    }
  }
  return y;
}

std::vector<std::string> common_property_names(const std::vector<Molecule>& molecules) {
  std::vector<std::string> out;
  if (molecules.empty()) return out;
  for (const auto& [name, value] : molecules.front().properties) {
    (void)value;
    bool everywhere = true;
    for (const auto& m : molecules) everywhere = everywhere && m.properties.count(name) > 0;
    if (everywhere) out.push_back(name);
  }
  return out;
}

std::string format_xyz(const std::vector<Molecule>& molecules) {
  std::string out;
  for (std::size_t k = 0; k < molecules.size(); ++k) {
    const Molecule& m = molecules[k];
    const std::string where =
        "write_xyz: molecule " + std::to_string(k + 1) + " ('" + m.name + "')";
    if (m.charges.empty() || m.charges.size() != m.positions.size()) {
      throw InputError(where + ": needs at least one atom and one position per nuclear charge");
    }
    out += std::to_string(m.size());
    out += "\nProperties=species:S:1:pos:R:3";
    if (!m.name.empty()) out += " name=" + quote_value(m.name);
    for (const auto& [key, value] : m.properties) {
      check_key(key, where);
      if (!std::isfinite(value)) throw InputError(where + ": property '" + key + "' is not finite");
      out += " " + key + "=" + format_double(value);
    }
    for (const auto& [key, value] : m.text_properties) {
      check_key(key, where);
      if (m.properties.count(key))
        throw InputError(where + ": property '" + key + "' is both numeric and text");
      // Quoted so that the reader keeps it as text even when it looks numeric.
      std::string quoted = quote_value(value);
      if (quoted.front() != '"') quoted = "\"" + quoted + "\"";
      out += " " + key + "=" + quoted;
    }
    out += '\n';
    for (std::size_t a = 0; a < m.size(); ++a) {
      if (!is_known_element(m.charges[a])) {
        throw InputError(where + ": atom " + std::to_string(a + 1) + " has nuclear charge " +
                         std::to_string(m.charges[a]) + ", not an element");
      }
      out += element_symbol(m.charges[a]);
      for (double x : m.positions[a]) {
        if (!std::isfinite(x))
          throw InputError(where + ": atom " + std::to_string(a + 1) +
                           " has a non-finite coordinate");
        out += ' ';
        out += format_double(x);
      }
      out += '\n';
    }
  }
  return out;
}

void write_xyz(const fs::path& path, const std::vector<Molecule>& molecules) {
  const std::string text = format_xyz(molecules);
  if (lower(path.filename().string()).ends_with(".gz")) {
    core::write_file_atomic(path, core::gzip_compress(text, 6, path.string()));
  } else {
    core::write_file_atomic(path, text);
  }
}

}  // namespace encmol::chem
