// The parts of an encrypted plan's error budget every circuit shares (see the
// top of plan.hpp): the CKKS noise model, the output scales W_t, and the noise
// flood with the per-target bounds it leaves. Internal to the secure layer.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "encmol/secure/plan.hpp"

namespace encmol::secure::budget_math {

inline constexpr double kTail = 10.0;  // standard deviations in every noise bound

/// Per-slot std of the noise one rescale or key switch adds, in slot units at scale delta.
double op_sigma(std::size_t n, std::size_t dnum, double delta);
/// Per-slot std of a fresh encryption's (and encoding's) noise at scale delta.
double fresh_sigma(std::size_t n, double delta);
/// The step the client rounds to: the smallest 1, 2 or 5 x 10^k >= bound.
double rounding_step(double bound);
/// Integer bits left in the first prime at this scale (10 up to 2^50).
int integer_bits(int scale_bits);

/// Sets p.weight_scale: W_t = 2^k proportional to the targets' tolerances (one
/// flood then costs every target the same fraction of its tolerance), times a
/// common power of two so that |value_t| <= magnitude[t] stays below
/// 2^(integer bits - 3) in the reply's slots.
void choose_weight_scales(Plan& p, const std::vector<double>& magnitude);

/// Chooses the flood (the most bits in [min, max] whose bound still fits every
/// tolerance) and fills p.flood_bits, p.flood_sigma and every p.budget[t]
/// (approximation, noise, flooding, bound, rounding step). `noise[t]` is the
/// reply's noise bound in target units. Returns max_t bound_t / tolerance_t
/// and sets `ok` when a flood of at least min_flood_bits fits.
double finish_budget(Plan& p, const PlanOptions& options, const std::vector<double>& approximation,
                     const std::vector<double>& noise, bool& ok);

/// A plan of `family` with the model's identity, the options, the target count and the training
/// size set.
Plan plan_skeleton(const ml::Model& model, const PlanOptions& options, PlanFamily family);
/// The tolerance of target t: the absolute one, or the relative one times the target's label
/// spread.
double target_tolerance(const ml::Model& model, const PlanOptions& options, std::size_t t);
/// Among plans that fit: the smaller ring, then scales up to 2^50 (IFMA primes), then more flooding
/// bits.
bool preferred_plan(const Plan& candidate, const Plan& best);

/// "at scale 2^s the bound of target t is r x its tolerance ..." for the target furthest over.
std::string over_budget_message(const Plan& p, double worst, const char* weights_name);

}  // namespace encmol::secure::budget_math
