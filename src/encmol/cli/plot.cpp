#include "encmol/cli/plot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <sstream>

#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

extern char** environ;

namespace encmol::cli {
namespace {

std::string quote_gnuplot(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') continue;
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

void render_plot_png(const PlotSpec& spec, const std::filesystem::path& output) {
  std::random_device rd;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("encmol-plot-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};

  std::ostringstream script;
  const auto png = dir / "plot.png";
  script << "set terminal pngcairo size 900,600 enhanced font 'sans,11'\n";
  script << "set output " << quote_gnuplot(png.string()) << "\n";
  script << "set title " << quote_gnuplot(spec.title) << "\n";
  script << "set xlabel " << quote_gnuplot(spec.x_label) << "\n";
  script << "set ylabel " << quote_gnuplot(spec.y_label) << "\n";
  if (spec.log_x) script << "set logscale x 2\n";
  if (spec.log_y) script << "set logscale y\n";
  script << "set grid\nset key top right\n";
  script << "plot ";
  for (std::size_t s = 0; s < spec.series.size(); ++s) {
    const auto data = dir / ("series" + std::to_string(s) + ".dat");
    std::ostringstream rows;
    rows.precision(17);
    for (std::size_t i = 0; i < spec.series[s].x.size(); ++i) {
      rows << spec.series[s].x[i] << " " << spec.series[s].y[i] << "\n";
    }
    core::write_file_atomic(data, rows.str());
    script << (s ? ", " : "") << quote_gnuplot(data.string())
           << " using 1:2 with linespoints lw 2 pt 7 title " << quote_gnuplot(spec.series[s].title);
  }
  script << "\n";
  const auto script_path = dir / "plot.gp";
  core::write_file_atomic(script_path, script.str());

  // Run gnuplot without a shell; its stderr goes to a file we can report.
  const auto log_path = dir / "gnuplot.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::string prog = "gnuplot";
  std::string arg = script_path.string();
  char* argv[] = {prog.data(), arg.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw IoError("cannot run gnuplot to draw " + output.string() +
                  " (install the Debian package gnuplot-nox)");
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !std::filesystem::exists(png)) {
    std::string log;
    try {
      log = core::read_file_text(log_path, 1 << 16);
    } catch (const Error&) {
    }
    throw IoError("gnuplot failed to draw " + output.string() + ": " + log);
  }
  core::write_file_atomic(output, core::read_file_bytes(png));
}

}  // namespace encmol::cli
