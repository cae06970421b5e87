// ENCMOL_SECURE_PROFILE=1 prints the time of each stage of an encrypted
// evaluation to stderr (for the benchmark notes). Internal to the secure layer.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace encmol::secure {

class StageTimer {
 public:
  void lap(const char* what) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "secure profile: %-12s %.3f s\n", what,
                 std::chrono::duration<double>(now - start_).count());
    start_ = now;
  }

 private:
  bool enabled_ = std::getenv("ENCMOL_SECURE_PROFILE") != nullptr;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace encmol::secure
