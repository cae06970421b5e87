#include "encmol/cli/secure_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "encmol/chem/elements.hpp"

namespace encmol::cli {

std::string human_bytes(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

nlohmann::json plan_json(const secure::ModelCard& card) {
  const secure::Plan& p = card.plan;
  nlohmann::json j;
  const bool atomic = p.family == secure::PlanFamily::Atomic;
  const bool features = p.family == secure::PlanFamily::Features;
  j["circuit"] = atomic ? "atomic" : features ? "features" : "kernel";
  if (atomic) {
    j["power"] = p.atomic.power;
    j["hidden"] = p.rows;
    j["atom_windows"] = p.atomic.windows;
    nlohmann::json capacity = nlohmann::json::object();
    for (std::size_t e = 0; e < p.atomic.elements.size(); ++e)
      capacity[std::string(chem::element_symbol(p.atomic.elements[e]))] = p.atomic.capacity[e];
    j["atoms_per_element"] = capacity;
  } else if (features) {
    j["random_features"] = p.features.features;
  } else {
    j["kernel"] = std::string(ml::to_string(p.kernel));
  }
  j["representation"] = card.representation.describe();
  j["baseline"] = card.delta.describe_json();
  j["training_size"] = p.training_size;
  j["dimension"] = p.dimension;
  j["ring_degree"] = p.params.n();
  j["slots"] = p.slots;
  j["depth"] = p.depth;
  j["scale_bits"] = p.scale_bits;
  j["log2_pq"] = p.params.log2_pq();
  j["dnum"] = p.params.dnum;
  j["galois_keys"] = p.galois_steps.size();
  j["queries_per_ciphertext"] = p.queries;
  j["max_query_norm"] = p.max_query_norm;
  if (atomic || features) {
    j["approximation"] = "none (exact)";
  } else if (p.kernel == ml::KernelKind::Gaussian) {
    j["exp_interval"] = p.T;
    j["exp_degree"] = p.exp_degree;
    j["exp_squarings"] = p.exp_squarings;
    j["exp_error_bound"] = p.exp_error;
  } else {
    j["degree"] = p.degree;
  }
  j["flood_bits"] = p.flood_bits;
  nlohmann::json targets = nlohmann::json::array();
  for (std::size_t t = 0; t < p.targets; ++t) {
    const auto& b = p.budget[t];
    targets.push_back({{"name", card.targets[t]},
                       {"unit", card.units[t]},
                       {"tolerance", b.tolerance},
                       {"bound", b.bound},
                       {"approximation", b.approximation},
                       {"noise", b.noise},
                       {"flooding", b.flooding},
                       {"sum_abs_alpha", b.sum_abs_alpha},
                       {"rounding_step", b.rounding_step}});
  }
  j["targets"] = targets;
  return j;
}

namespace {
int decimals(double step) {
  return std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
}
std::string csv_name(const std::string& name) {
  if (name.find_first_of(",\"\n") == std::string::npos) return name;
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
}  // namespace

std::string predictions_csv(const secure::ModelCard& card, const secure::Predictions& p) {
  std::ostringstream out;
  out << "name";
  for (const auto& t : card.targets) out << "," << t;
  out << "\n";
  for (Eigen::Index i = 0; i < p.values.rows(); ++i) {
    out << csv_name(p.names[static_cast<std::size_t>(i)]);
    for (Eigen::Index t = 0; t < p.values.cols(); ++t)
      out << ","
          << fmt::format("{:.{}f}", p.values(i, t),
                         decimals(card.plan.budget[static_cast<std::size_t>(t)].rounding_step));
    out << "\n";
  }
  return out.str();
}

nlohmann::json predictions_json(const secure::ModelCard& card, const secure::Predictions& p) {
  nlohmann::json j;
  j["targets"] = card.targets;
  j["units"] = card.units;
  std::vector<double> precision;
  for (const auto& b : card.plan.budget) precision.push_back(b.rounding_step);
  j["precision"] = precision;
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < p.values.rows(); ++i) {
    nlohmann::json r;
    r["name"] = p.names[static_cast<std::size_t>(i)];
    for (Eigen::Index t = 0; t < p.values.cols(); ++t)
      r[card.targets[static_cast<std::size_t>(t)]] = p.values(i, t);
    rows.push_back(r);
  }
  j["predictions"] = rows;
  return j;
}

PublishedFigures published_figures(std::size_t n_train) {
  // ANCHORS.md §1.
  const std::vector<double> ns{32, 512, 2048, 4096, 8192, 16384};
  const std::vector<double> p10{100.0 / 3600.0, 0.44, 1.8, 3.6, 7.2, 14.0};
  const std::vector<double> p26{0.085, 1.4, 5.5, 11.0, 22.0};
  auto interp = [](double n, const std::vector<double>& xs, const std::vector<double>& ys,
                   std::size_t count) {
    if (n <= xs[0]) return ys[0];
    for (std::size_t i = 1; i < count; ++i)
      if (n <= xs[i])
        return ys[i - 1] + (ys[i] - ys[i - 1]) * (n - xs[i - 1]) / (xs[i] - xs[i - 1]);
    return ys[count - 1] * n / xs[count - 1];  // linear growth beyond the table
  };
  const double n = static_cast<double>(n_train);
  PublishedFigures f;
  f.hours_p10 = interp(n, ns, p10, 6);
  f.hours_p26 = interp(n, ns, p26, 5);
  f.gigabytes = 7.5 + (3900.0 - 7.5) * (std::max(n, 32.0) - 32.0) / (16384.0 - 32.0);
  f.enc_plain_p26 = n_train == 4096 ? 5e-3 : 0.0;
  return f;
}

}  // namespace encmol::cli
