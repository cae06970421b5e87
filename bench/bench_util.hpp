// Small helpers shared by the table-printing benchmark programs (the ones that
// are not Google Benchmarks because one configuration takes seconds).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace encmol::bench {

/// Seconds on a monotonic clock.
inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// The upper median (0 for an empty list).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// The numbers of a comma-separated option value ("1,2,4").
inline std::vector<double> number_list(const char* text) {
  std::vector<double> v;
  const std::string s(text);
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const std::size_t comma = s.find(',', pos);
    v.push_back(std::atof(s.substr(pos, comma - pos).c_str()));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return v;
}

}  // namespace encmol::bench
