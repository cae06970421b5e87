// Internal helpers shared by the chem readers: line iteration with line
// numbers, whitespace splitting and strict number parsing. Not public API.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace encmol::chem::detail {

/// Walks a text line by line ("\n" or "\r\n"), counting lines from 1.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  /// Next line without its terminator, or nullopt at the end.
  std::optional<std::string_view> next() {
    if (pos_ >= text_.size()) return std::nullopt;
    std::size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++line_;
    return line;
  }

  /// Looks at the next line without consuming it.
  std::optional<std::string_view> peek() const {
    LineReader copy = *this;
    return copy.next();
  }

  /// Number of the line most recently returned by next() (0 before the first).
  std::size_t line_number() const { return line_; }
  bool at_end() const { return pos_ >= text_.size(); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 0;
};

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

inline bool is_blank(std::string_view s) { return trim(s).empty(); }

/// Splits on whitespace into `out` (cleared first; its capacity is reused,
/// which keeps per-line parsing free of allocations).
inline void split_ws_into(std::string_view s, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
}

inline std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

/// Parses a whole token as a double (leading '+' and Mathematica's "*^"
/// exponent accepted). Returns nullopt unless every character is used. The
/// value may be inf/nan; callers check finiteness where it matters.
inline std::optional<double> parse_double(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  std::string buffer;
  const std::size_t mathematica = s.find("*^");
  if (mathematica != std::string_view::npos) {
    buffer.assign(s.substr(0, mathematica));
    buffer += 'e';
    buffer.append(s.substr(mathematica + 2));
    s = buffer;
  }
  if (s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || s.front() == '-' || s.front() == '+') return std::nullopt;
  }
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

/// Parses a whole token as a base-10 integer (optional sign).
inline std::optional<long long> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  long long value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

/// A short, printable excerpt of user text for error messages.
inline std::string quote(std::string_view s, std::size_t max_chars = 60) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max_chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) || c >= 0x80 ? static_cast<char>(c) : '?';
  }
  if (s.size() > max_chars) out += "...";
  return "'" + out + "'";
}

inline std::string at_line(const std::string& source, std::size_t line) {
  return source + " line " + std::to_string(line);
}

/// A position in the input whose text is built only when an error needs it.
struct Where {
  const std::string& source;
  std::size_t line;
  std::string str() const { return at_line(source, line); }
};

/// Default molecule names: "<base>" for a single unnamed molecule,
/// "<base>#k" when there are several.
template <class Molecules>
void assign_default_names(Molecules& molecules, const std::string& base,
                          const std::vector<bool>& named) {
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    if (named[i]) continue;
    molecules[i].name = molecules.size() == 1 ? base : base + "#" + std::to_string(i + 1);
  }
}

}  // namespace encmol::chem::detail
