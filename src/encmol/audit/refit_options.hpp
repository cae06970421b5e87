// Training options that refit a model's family on other molecules: the same
// family, representation, projection size, baseline kind, Δ baseline and
// fitted hyper-parameters (one point, no grid). Attackers use it (Kerckhoffs:
// the card publishes family and representation) to train a surrogate on a
// victim's answers (extraction) or shadow models (membership).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::audit {

/// Options for target `target` of `model` (one target; the caller sets
/// options.targets); capacities cover `molecules`.
ml::TrainOptions refit_options(const ml::Model& model, std::size_t target,
                               const std::vector<chem::Molecule>& molecules, std::uint64_t seed);

}  // namespace encmol::audit
