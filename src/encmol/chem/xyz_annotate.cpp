#include "encmol/chem/xyz_annotate.hpp"

#include <cmath>
#include <cstddef>
#include <utility>

#include "encmol/chem/readers.hpp"
#include "encmol/chem/text_scan.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

// One line of `text` starting at `begin`: [begin, content_end) without its
// terminator, next = start of the following line.
struct Line {
  std::size_t begin = 0;
  std::size_t content_end = 0;
  std::size_t next = 0;
};

Line line_at(std::string_view text, std::size_t begin) {
  Line line;
  line.begin = begin;
  std::size_t end = text.find('\n', begin);
  line.next = end == std::string_view::npos ? text.size() : end + 1;
  if (end == std::string_view::npos) end = text.size();
  if (end > begin && text[end - 1] == '\r') --end;
  line.content_end = end;
  return line;
}

using Pairs = std::vector<std::pair<std::string, double>>;

Pairs parse_addition(const std::string& addition, const std::string& source, std::size_t block) {
  Pairs pairs;
  for (std::string_view token : detail::split_ws(addition)) {
    const std::size_t eq = token.find('=');
    const auto value =
        eq == std::string_view::npos ? std::nullopt : detail::parse_double(token.substr(eq + 1));
    if (eq == 0 || !value || !std::isfinite(*value) || token.find('"') != std::string_view::npos) {
      throw InputError(source + ": molecule " + std::to_string(block + 1) + ": '" +
                       std::string(token) + "' is not a numeric key=value pair");
    }
    pairs.emplace_back(std::string(token.substr(0, eq)), *value);
  }
  return pairs;
}

}  // namespace

std::optional<std::string> append_to_xyz_comments(std::string_view text,
                                                  const std::vector<std::string>& additions,
                                                  const std::string& source) {
  std::vector<Pairs> added;
  added.reserve(additions.size());
  for (std::size_t k = 0; k < additions.size(); ++k) {
    added.push_back(parse_addition(additions[k], source, k));
  }

  std::string out;
  out.reserve(text.size() + 64 * additions.size());
  std::size_t pos = 0;
  std::size_t block = 0;
  while (pos < text.size()) {
    const Line count_line = line_at(text, pos);
    const std::string_view count_text =
        text.substr(count_line.begin, count_line.content_end - count_line.begin);
    if (detail::is_blank(count_text)) {
      out.append(text.substr(pos, count_line.next - pos));
      pos = count_line.next;
      continue;
    }
    const auto count = detail::parse_int(detail::trim(count_text));
    if (!count || *count < 1 || block >= additions.size() || count_line.next >= text.size()) {
      return std::nullopt;
    }
    out.append(text.substr(pos, count_line.next - pos));
    const Line comment = line_at(text, count_line.next);
    out.append(text.substr(comment.begin, comment.content_end - comment.begin));
    if (!additions[block].empty()) {
      out += ' ';
      out += additions[block];
    }
    out.append(text.substr(comment.content_end, comment.next - comment.content_end));
    pos = comment.next;
    for (long long a = 0; a < *count; ++a) {
      if (pos >= text.size()) return std::nullopt;  // fewer atom lines than counted
      const Line atom = line_at(text, pos);
      out.append(text.substr(pos, atom.next - pos));
      pos = atom.next;
    }
    ++block;
  }
  if (block != additions.size()) return std::nullopt;

  // Read both back: the annotation must change nothing but add the pairs.
  const auto before = read_xyz_text(text, source);
  if (before.size() != additions.size()) return std::nullopt;
  for (std::size_t k = 0; k < before.size(); ++k) {
    for (const auto& pair : added[k]) {
      const std::string& key = pair.first;
      if (before[k].properties.count(key) || before[k].text_properties.count(key)) {
        throw InputError(source + ": molecule " + std::to_string(k + 1) + " ('" + before[k].name +
                         "') already has the property '" + key + "'");
      }
    }
  }
  const auto after = read_xyz_text(out, source);
  if (after.size() != before.size()) return std::nullopt;
  for (std::size_t k = 0; k < before.size(); ++k) {
    const Molecule& a = before[k];
    const Molecule& b = after[k];
    for (const auto& [key, value] : added[k]) {
      const auto found = b.properties.find(key);
      if (found == b.properties.end() || found->second != value) return std::nullopt;
    }
    if (a.name != b.name || a.charges != b.charges || a.positions != b.positions ||
        a.text_properties != b.text_properties ||
        b.properties.size() != a.properties.size() + added[k].size()) {
      return std::nullopt;
    }
    for (const auto& [key, value] : a.properties) {
      const auto found = b.properties.find(key);
      if (found == b.properties.end() || found->second != value) return std::nullopt;
    }
  }
  return out;
}

}  // namespace encmol::chem
