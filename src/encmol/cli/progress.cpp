#include "encmol/cli/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace encmol::cli {

Progress::Mode Progress::detect_mode(bool quiet) {
  if (quiet) return Mode::Silent;
  return ::isatty(STDERR_FILENO) ? Mode::Bar : Mode::Lines;
}

void Progress::update(std::string_view step, double fraction) {
  if (mode_ == Mode::Silent) return;
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  if (step != step_) {
    finish();
    step_ = step;
    last_decile_ = -1;
    last_width_ = -1;
    step_start_ = std::chrono::steady_clock::now();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start_).count();
  if (mode_ == Mode::Lines) {
    const int decile = static_cast<int>(fraction * 10.0);
    if (decile != last_decile_) {
      last_decile_ = decile;
      spdlog::info("{}: {:3.0f}% ({:.1f} s)", step_, fraction * 100.0, elapsed);
    }
    return;
  }
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  const int permille = static_cast<int>(fraction * 1000.0);
  if (permille == last_width_) return;  // redraw only when the text changes
  last_width_ = permille;
  std::fprintf(stderr, "\r%-28.28s [%.*s%*s] %5.1f%% %6.1fs", step_.c_str(), filled,
               "##############################", kWidth - filled, "", fraction * 100.0, elapsed);
  std::fflush(stderr);
  bar_open_ = true;
}

void Progress::finish() {
  if (bar_open_) {
    std::fputc('\n', stderr);
    bar_open_ = false;
  }
}

}  // namespace encmol::cli
