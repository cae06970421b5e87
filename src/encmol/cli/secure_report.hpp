// Reports shared by the secure commands and the encrypted demo: plan JSON,
// prediction CSV/JSON, byte counts, and the published OT/MPC system's figures
// (ANCHORS.md §1) at a given training-set size.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "encmol/secure/roles.hpp"

namespace encmol::cli {

std::string human_bytes(double bytes);
nlohmann::json plan_json(const secure::ModelCard& card);
/// name,target1,...: values rounded to each target's rounding step (printed with its decimals).
std::string predictions_csv(const secure::ModelCard& card, const secure::Predictions& p);
nlohmann::json predictions_json(const secure::ModelCard& card, const secure::Predictions& p);

/// Weinreich et al. 2023 (MP-SPDZ, sorted CM, QM9), read from their plots
/// (about +-15%), linearly interpolated in N (clamped to the table's range).
struct PublishedFigures {
  double hours_p10 = 0;  // time per prediction, fixed point P = 10
  double hours_p26 = 0;  // P = 26
  double gigabytes = 0;  // data sent per prediction (P = 10), linear between 7.5 GB (N=32) and ~3,900 GB (N=16384)
  double enc_plain_p26 = 0;  // kcal/mol, quoted at N = 4096 only (0 elsewhere)
};
PublishedFigures published_figures(std::size_t n_train);

}  // namespace encmol::cli
