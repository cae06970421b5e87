#include "encmol/audit/refit_options.hpp"

#include <variant>

namespace encmol::audit {

ml::TrainOptions refit_options(const ml::Model& victim, std::size_t target,
                               const std::vector<chem::Molecule>& eval, std::uint64_t seed) {
  ml::TrainOptions to;
  to.family = victim.family();
  to.representation = victim.representation.kind();
  to.representation_options = chem::capacity_for(eval);
  to.atom_pca = victim.atom_projection.components;
  to.baseline = victim.baseline.per_element;
  to.seed = seed;
  to.units = {victim.units[target]};
  if (victim.baseline.delta.active()) {
    to.delta = {victim.baseline.delta.sources[target]};
    to.xtb = victim.baseline.delta.xtb;
  }
  if (const auto* q = std::get_if<ml::QuadraticAtomicModel>(&victim.body)) {
    to.coef0s = {q->coef0};
    to.lambdas = {q->lambda};
  } else if (const auto* n = std::get_if<ml::AtomicNetwork>(&victim.body)) {
    to.network.depth = n->depth;
    to.network.width = n->width;
    to.network.power = n->power;
    to.network.linear_skip = n->linear_skip;
  } else if (const auto* r = std::get_if<ml::RandomFeatureModel>(&victim.body)) {
    to.sigmas = {r->map.sigma};
    to.lambdas = {r->lambda};
    std::size_t features = 0;
    for (std::size_t c : r->map.counts) features += c;
    to.feature_counts = {features};
    to.feature_seed = r->map.seed;
    to.feature_kind = r->map.kind;
    if (r->map.pca > 0) to.pca_dimensions = {r->map.pca};
  } else if (const auto* k = std::get_if<ml::LocalKrr>(&victim.body)) {
    to.lambdas = {k->lambda};
    if (k->blocks.size() == 1) to.sigmas = {k->blocks.front().sigma};
  }
  return to;
}

}  // namespace encmol::audit
