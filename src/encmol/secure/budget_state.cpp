#include "encmol/secure/budget_state.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::secure {

BudgetUsage parse_budget_state(std::string_view text, const std::string& name) {
  BudgetUsage usage;
  try {
    const auto j = nlohmann::json::parse(text);
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const bool hex_id = it.key().size() == 64 &&
                          it.key().find_first_not_of("0123456789abcdef") == std::string::npos;
      if (!hex_id || !it.value().is_number_unsigned())
        throw std::runtime_error("entry \"" + it.key().substr(0, 80) +
                                 "\" is not a key id with a molecule count");
      usage[it.key()] = it.value().get<std::uint64_t>();
    }
  } catch (const std::exception& e) {
    throw FormatError(name + ": not a query-budget state file (" + e.what() + ")");
  }
  return usage;
}

std::string format_budget_state(const BudgetUsage& usage) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [id, count] : usage) j[id] = count;
  return j.dump(2) + "\n";
}

BudgetUsage load_budget_state(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return {};
  return parse_budget_state(core::read_file_text(path, kMaxBudgetStateBytes), path.string());
}

void save_budget_state(const std::filesystem::path& path, const BudgetUsage& usage) {
  core::write_file_atomic(path, format_budget_state(usage));
}

}  // namespace encmol::secure
