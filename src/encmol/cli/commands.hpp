// Registration of the encmol commands. Each add_* function adds one CLI11
// subcommand whose callback does the work; errors are thrown as
// encmol::Error and turned into messages by run().
#pragma once

#include <CLI/CLI.hpp>

#include "encmol/cli/common.hpp"

namespace encmol::cli {

void add_train_command(CLI::App& app, GlobalOptions& global);
void add_predict_command(CLI::App& app, GlobalOptions& global);
void add_learning_curve_command(CLI::App& app, GlobalOptions& global);
void add_info_command(CLI::App& app, GlobalOptions& global);
void add_audit_command(CLI::App& app, GlobalOptions& global);
void add_demo_command(CLI::App& app, GlobalOptions& global);
/// GFN2-xTB properties for molecule files (xtb_command.cpp).
void add_xtb_command(CLI::App& app, GlobalOptions& global);
/// card, keygen, encrypt, evaluate, decrypt (secure_commands.cpp).
void add_secure_commands(CLI::App& app, GlobalOptions& global);
/// party init|keygen|contribute|aggregate|decrypt-share|finish (party_command.cpp).
void add_party_command(CLI::App& app, GlobalOptions& global);
/// serve, query, admin: the network service (serve_command.cpp, query_command.cpp,
/// admin_command.cpp).
void add_serve_command(CLI::App& app, GlobalOptions& global);
void add_query_command(CLI::App& app, GlobalOptions& global);
void add_admin_command(CLI::App& app, GlobalOptions& global);

}  // namespace encmol::cli
