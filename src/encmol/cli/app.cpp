#include "encmol/cli/app.hpp"

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "encmol/core/error.hpp"

namespace encmol::cli {

int run(int argc, char** argv) {
  CLI::App app{"encmol: double-blind machine learning of molecular quantum properties"};
  app.set_version_flag("--version", std::string("encmol ") + ENCMOL_VERSION);
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const encmol::Error& e) {
    std::cerr << "encmol: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "encmol: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace encmol::cli
