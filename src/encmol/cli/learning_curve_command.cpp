// encmol learning-curve: test error as a function of the training-set size,
// written as CSV and drawn as a log–log plot.
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "encmol/cli/commands.hpp"
#include "encmol/cli/model_options.hpp"
#include "encmol/cli/plot.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/split.hpp"

namespace encmol::cli {
namespace {

struct CurveArgs {
  std::vector<std::string> inputs;
  ModelOptions model;
  std::string output;
  std::string plot;
  bool no_plot = false;
  std::size_t test_size = 0;
  double test_fraction = 0.2;
  std::vector<std::string> sizes;
  std::size_t min_size = 32;
  bool json = false;
};

std::string curve_csv(const std::vector<ml::LearningCurvePoint>& points) {
  std::ostringstream out;
  out << "n_train,target,sigma,lambda,mae,rmse,train_seconds\n";
  for (const auto& p : points) {
    out << p.n << "," << p.target << "," << format_number(p.sigma) << ","
        << format_number(p.lambda) << "," << format_number(p.mae) << "," << format_number(p.rmse)
        << "," << format_number(p.train_seconds) << "\n";
  }
  return out.str();
}

void run_learning_curve(const CurveArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  ml::TrainOptions options = args.model.to_train_options();
  Progress progress(Progress::detect_mode(global.quiet || args.json));
  options.progress = [&](std::string_view step, double fraction) { progress.update(step, fraction); };

  chem::ReadOptions read_options;
  read_options.seed = args.model.embedding_seed;
  const auto molecules = load_molecules(args.inputs, read_options);
  const std::size_t n = molecules.size();
  std::size_t n_test = args.test_size;
  if (n_test == 0) {
    if (!(args.test_fraction > 0.0 && args.test_fraction < 1.0)) {
      throw InputError("--test-fraction must be in (0, 1)");
    }
    n_test = static_cast<std::size_t>(static_cast<double>(n) * args.test_fraction + 0.5);
  }
  if (n_test == 0 || n_test >= n) {
    throw InputError("the test set would hold " + std::to_string(n_test) + " of " +
                     std::to_string(n) + " molecules; choose --test-size between 1 and " +
                     std::to_string(n - 1));
  }
  const ml::Split split = ml::random_split(n, n - n_test, args.model.seed);
  const auto train = ml::select(molecules, split.train);
  const auto test = ml::select(molecules, split.test);

  std::vector<std::size_t> sizes;
  for (double s : parse_numbers(args.sizes, "--sizes", true)) {
    if (s != static_cast<double>(static_cast<std::size_t>(s)) || s > static_cast<double>(train.size())) {
      throw InputError("--sizes: " + format_number(s) + " is not a whole number of molecules <= " +
                       std::to_string(train.size()) + " (the training part)");
    }
    sizes.push_back(static_cast<std::size_t>(s));
  }
  if (sizes.empty()) sizes = ml::default_learning_curve_sizes(train.size(), args.min_size);
  spdlog::info("learning curve on {} training / {} test molecules, sizes {}", train.size(),
               test.size(), fmt::join(sizes, " "));

  Stopwatch watch;
  const auto points = ml::learning_curve(train, test, options, sizes);
  progress.finish();
  write_output(args.output, curve_csv(points));
  spdlog::info("wrote {} ({:.1f} s)", args.output, watch.seconds());

  std::string plot_path;
  if (!args.no_plot && args.output != "-") {
    plot_path = args.plot.empty()
                    ? std::filesystem::path(args.output).replace_extension(".png").string()
                    : args.plot;
    PlotSpec spec;
    spec.title = "encmol learning curve: " + std::string(chem::to_string(options.representation)) +
                 ", " + std::string(ml::to_string(options.kernel)) + " kernel";
    spec.x_label = "training molecules N";
    spec.y_label = "test MAE";
    std::map<std::string, PlotSeries> by_target;
    for (const auto& p : points) {
      auto& series = by_target[p.target];
      series.title = p.target;
      series.x.push_back(static_cast<double>(p.n));
      series.y.push_back(p.mae);
    }
    for (auto& [name, series] : by_target) spec.series.push_back(std::move(series));
    render_plot_png(spec, plot_path);
    spdlog::info("wrote {}", plot_path);
  }

  if (args.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& p : points) {
      rows.push_back({{"n_train", p.n}, {"target", p.target}, {"sigma", p.sigma},
                      {"lambda", p.lambda}, {"mae", p.mae}, {"rmse", p.rmse},
                      {"train_seconds", p.train_seconds}});
    }
    nlohmann::json j{{"csv", args.output}, {"points", rows}, {"test_size", test.size()}};
    if (!plot_path.empty()) j["plot"] = plot_path;
    std::cout << j.dump(2) << "\n";
  } else if (args.output != "-") {
    std::cout << fmt::format("{:>8} {:>12} {:>12} {:>10} {:>12} {:>12} {:>9}\n", "N", "target",
                             "sigma", "lambda", "MAE", "RMSE", "time (s)");
    for (const auto& p : points) {
      std::cout << fmt::format("{:>8} {:>12} {:>12.5g} {:>10.3g} {:>12.4f} {:>12.4f} {:>9.2f}\n",
                               p.n, p.target, p.sigma, p.lambda, p.mae, p.rmse, p.train_seconds);
    }
  }
}

}  // namespace

void add_learning_curve_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<CurveArgs>();
  auto* cmd = app.add_subcommand(
      "learning-curve", "Test error versus training-set size (CSV and a log-log plot)");
  cmd->add_option("inputs", args->inputs, "Molecule files or directories")->required();
  args->model.add_to(*cmd, true);
  cmd->add_option("-o,--output", args->output, "CSV file to write (- = stdout, no plot)")->required();
  cmd->add_option("--plot", args->plot, "PNG plot to write (default: the CSV name with .png)");
  cmd->add_flag("--no-plot", args->no_plot, "Do not draw the plot");
  cmd->add_option("--test-size", args->test_size, "Held-out test molecules (overrides --test-fraction)");
  cmd->add_option("--test-fraction", args->test_fraction, "Held-out fraction of the molecules")
      ->capture_default_str();
  cmd->add_option("--sizes", args->sizes,
                  "Training sizes, comma separated (default: powers of two from --min-size, "
                  "then the whole training part)");
  cmd->add_option("--min-size", args->min_size, "Smallest default training size")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 30));
  cmd->add_flag("--json", args->json, "Print the points as JSON");
  add_global_options(*cmd, global);
  cmd->callback([args, &global] { run_learning_curve(*args, global); });
}

}  // namespace encmol::cli
