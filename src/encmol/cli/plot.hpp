// Renders simple log–log line plots to PNG with gnuplot (Debian gnuplot-nox).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace encmol::cli {

struct PlotSeries {
  std::string title;
  std::vector<double> x;
  std::vector<double> y;
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = true;
  bool log_y = true;
  std::vector<PlotSeries> series;
};

/// Writes `output` (PNG) atomically. Throws IoError if gnuplot is missing or
/// fails, with its message.
void render_plot_png(const PlotSpec& spec, const std::filesystem::path& output);

}  // namespace encmol::cli
