// The encmol command-line interface: builds the CLI11 app with every command
// and runs it. Returns the process exit code (0 ok, 1 user error, 2 internal).
#pragma once

namespace encmol::cli {

int run(int argc, char** argv);

}  // namespace encmol::cli
