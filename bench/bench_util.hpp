// Small helpers shared by the table-printing benchmark programs (the ones that
// are not Google Benchmarks because one configuration takes seconds).
#pragma once

#include <algorithm>
#include <chrono>
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

}  // namespace encmol::bench
