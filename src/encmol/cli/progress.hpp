// Progress reporting for long CLI steps: a redrawn bar when stderr is a
// terminal, plain log lines (at most one per 10 %) otherwise, nothing with
// --quiet.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace encmol::cli {

class Progress {
 public:
  enum class Mode { Bar, Lines, Silent };
  /// Bar when stderr is a terminal, Lines otherwise; Silent if `quiet`.
  static Mode detect_mode(bool quiet);

  explicit Progress(Mode mode) : mode_(mode) {}
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Reports `fraction` (0..1) of the current step named `step`. A new step
  /// name ends the previous bar.
  void update(std::string_view step, double fraction);
  /// Ends the current bar (newline) if one is drawn.
  void finish();

 private:
  Mode mode_;
  std::string step_;
  int last_decile_ = -1;
  int last_width_ = -1;
  bool bar_open_ = false;
  std::chrono::steady_clock::time_point step_start_{};
};

}  // namespace encmol::cli
