// The query-budget state file of `encmol evaluate --budget-state`: molecules
// answered so far per evaluation-key id, as a JSON object
// {"<64 hex digits>": count, ...} (docs/formats.md). Written atomically after
// every answered query.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace encmol::secure {

/// Molecules answered per key id (lower-case hex of the 32-byte id).
using BudgetUsage = std::map<std::string, std::uint64_t>;

/// Largest budget-state file read (16 MiB: ~200,000 key ids).
inline constexpr std::uint64_t kMaxBudgetStateBytes = std::uint64_t{1} << 24;

/// The usage a state file's text holds; FormatError naming `name` for anything
/// but an object of key ids with unsigned counts.
BudgetUsage parse_budget_state(std::string_view text, const std::string& name);
/// The text of a state file (parse_budget_state reads it back unchanged).
std::string format_budget_state(const BudgetUsage& usage);

/// Reads `path` (empty usage when it does not exist yet).
BudgetUsage load_budget_state(const std::filesystem::path& path);
/// Writes `path` atomically.
void save_budget_state(const std::filesystem::path& path, const BudgetUsage& usage);

}  // namespace encmol::secure
