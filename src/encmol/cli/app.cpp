#include "encmol/cli/app.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <new>

#include "encmol/cli/commands.hpp"
#include "encmol/core/error.hpp"

namespace encmol::cli {

int run(int argc, char** argv) {
  // Logs go to stderr so stdout stays machine-readable (CSV / JSON).
  auto logger = spdlog::stderr_color_mt("encmol");
  logger->set_pattern("[%H:%M:%S] %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"encmol: double-blind machine learning of molecular quantum properties"};
  app.set_version_flag("--version", std::string("encmol ") + ENCMOL_VERSION);
  app.require_subcommand(1, 1);
  GlobalOptions global;
  add_global_options(app, global);
  add_demo_command(app, global);
  add_train_command(app, global);
  add_predict_command(app, global);
  add_learning_curve_command(app, global);
  add_info_command(app, global);
  add_audit_command(app, global);
  add_secure_commands(app, global);
  add_party_command(app, global);
  add_serve_command(app, global);
  add_query_command(app, global);
  add_admin_command(app, global);
  add_xtb_command(app, global);

  int code = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    code = app.exit(e);
  } catch (const encmol::Error& e) {
    std::cerr << "encmol: error: " << e.what() << "\n";
    code = 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "encmol: error: out of memory\n";
    code = 2;
  } catch (const std::exception& e) {
    std::cerr << "encmol: internal error: " << e.what() << "\n";
    code = 2;
  }
  spdlog::drop_all();
  return code;
}

}  // namespace encmol::cli
