// encmol admin: identities, tokens and budgets of the service's database
// (docs/service.md). Works on the same database `encmol serve --db` uses,
// also while the service runs.
//   encmol admin --db URL identity add NAME | identity list
//   encmol admin --db URL identity disable NAME | identity enable NAME
//   encmol admin --db URL token issue NAME [-o FILE] | token revoke NAME
//   encmol admin --db URL budget set NAME MODEL MOLECULES | budget show [NAME]
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "encmol/cli/commands.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/service/store.hpp"

namespace encmol::cli {
namespace {

struct AdminArgs {
  std::string database = "sqlite:encmol-service.db";
  std::string identity, model, output;
  std::string limit;  // a positive count or "unlimited"
};

void identity_add(const AdminArgs& a) {
  service::open_store(a.database)->add_identity(a.identity);
  std::cout << "added identity " << a.identity << "\n";
}

void identity_list(const AdminArgs& a) {
  const auto all = service::open_store(a.database)->identities();
  std::cout << fmt::format("{:<32} {:>8}  {}\n", "identity", "tokens", "status");
  for (const auto& i : all)
    std::cout << fmt::format("{:<32} {:>8}  {}\n", i.name, i.active_tokens,
                             i.disabled ? "disabled" : "enabled");
}

void identity_disable(const AdminArgs& a) {
  service::open_store(a.database)->set_identity_disabled(a.identity, true);
  std::cout << "disabled identity " << a.identity
            << ": its calls are refused from now on (tokens, keys and budgets kept)\n";
}

void identity_enable(const AdminArgs& a) {
  service::open_store(a.database)->set_identity_disabled(a.identity, false);
  std::cout << "enabled identity " << a.identity << "\n";
}

void token_issue(const AdminArgs& a) {
  const std::string token = service::open_store(a.database)->issue_token(a.identity);
  if (!a.output.empty()) {
    core::write_file_atomic(a.output, token + "\n", core::Access::OwnerOnly);
    std::cout << "wrote a new token of " << a.identity << " to " << a.output
              << " (mode 0600; hand it over privately)\n";
  } else {
    std::cout << token << "\n";
  }
}

void token_revoke(const AdminArgs& a) {
  const auto n = service::open_store(a.database)->revoke_tokens(a.identity);
  std::cout << "revoked " << n << " token(s) of " << a.identity << "\n";
}

void budget_set(const AdminArgs& a) {
  // The store reads 0 as unlimited; an owner typing 0 to cut a client off
  // would grant the opposite, so 0 is refused and "unlimited" is spelled out.
  std::uint64_t limit = 0;
  if (a.limit != "unlimited") {
    std::size_t used = 0;
    try {
      limit = std::stoull(a.limit, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != a.limit.size() || limit == 0 || a.limit.front() == '-')
      throw InputError("budget '" + a.limit +
                       "': give a positive number of molecules or 'unlimited' (to stop an "
                       "identity, set its budget to what it has used, or revoke its tokens)");
  }
  service::open_store(a.database)->set_budget(a.identity, a.model, limit);
  std::cout << "budget of " << a.identity << " for model " << a.model << ": "
            << (limit == 0 ? std::string("unlimited") : std::to_string(limit) + " molecules")
            << "\n";
}

void budget_show(const AdminArgs& a) {
  const auto rows = service::open_store(a.database)->budgets(a.identity);
  std::cout << fmt::format("{:<24} {:<24} {:>12} {:>12}\n", "identity", "model", "used", "limit");
  for (const auto& b : rows)
    std::cout << fmt::format(
        "{:<24} {:<24} {:>12} {:>12}\n", b.identity, b.model, b.used,
        b.explicit_limit ? (b.limit == 0 ? "unlimited" : std::to_string(b.limit)) : "default");
}

}  // namespace

void add_admin_command(CLI::App& app, GlobalOptions& global) {
  auto a = std::make_shared<AdminArgs>();
  auto* cmd =
      app.add_subcommand("admin", "Model owner: identities, tokens and budgets of encmol serve");
  cmd->add_option("--db", a->database, "sqlite:PATH or postgresql://...")->capture_default_str();
  cmd->require_subcommand(1);
  add_global_options(*cmd, global);
  auto with_global = [&global](void (*f)(const AdminArgs&), std::shared_ptr<AdminArgs> args) {
    return [f, args, &global] {
      apply_global_options(global);
      f(*args);
    };
  };

  auto* identity = cmd->add_subcommand("identity", "Add, list, disable or enable identities");
  identity->require_subcommand(1);
  auto* add = identity->add_subcommand("add", "Register a client identity");
  add->add_option("name", a->identity, "[A-Za-z0-9._@-]{1,64}; a client certificate's CN")
      ->required();
  add->callback(with_global(identity_add, a));
  identity->add_subcommand("list", "List identities")->callback(with_global(identity_list, a));
  auto* disable = identity->add_subcommand(
      "disable", "Refuse every call of an identity (token or certificate), keeping its state");
  disable->add_option("name", a->identity, "Identity")->required();
  disable->callback(with_global(identity_disable, a));
  auto* enable = identity->add_subcommand("enable", "Accept a disabled identity's calls again");
  enable->add_option("name", a->identity, "Identity")->required();
  enable->callback(with_global(identity_enable, a));

  auto* token = cmd->add_subcommand("token", "Issue or revoke bearer tokens");
  token->require_subcommand(1);
  auto* issue = token->add_subcommand("issue", "Issue a new token (shown once; stored hashed)");
  issue->add_option("name", a->identity, "Identity")->required();
  issue->add_option("-o,--output", a->output, "Write the token to this file (mode 0600)");
  issue->callback(with_global(token_issue, a));
  auto* revoke = token->add_subcommand("revoke", "Revoke every token of an identity");
  revoke->add_option("name", a->identity, "Identity")->required();
  revoke->callback(with_global(token_revoke, a));

  auto* budget = cmd->add_subcommand("budget", "Set or show query budgets");
  budget->require_subcommand(1);
  auto* set = budget->add_subcommand("set", "Set an identity's budget for a model");
  set->add_option("name", a->identity, "Identity")->required();
  set->add_option("model", a->model, "Model name as served")->required();
  set->add_option("molecules", a->limit, "Molecules it may have answered in all, or 'unlimited'")
      ->required();
  set->callback(with_global(budget_set, a));
  auto* show = budget->add_subcommand("show", "Show budgets and use");
  show->add_option("name", a->identity, "Only this identity");
  show->callback(with_global(budget_show, a));
}

}  // namespace encmol::cli
