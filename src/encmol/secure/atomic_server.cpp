#include "encmol/secure/atomic_server.hpp"

#include "encmol/core/error.hpp"
#include "encmol/he/chebyshev.hpp"
#include "encmol/secure/atomic_plan.hpp"
#include "encmol/secure/stage_timer.hpp"

namespace encmol::secure {

AtomicEvaluator::AtomicEvaluator(const ml::Model& model, const Plan& plan,
                                 std::shared_ptr<const ckks::Encoder> encoder,
                                 std::uint64_t plaintext_cache_bytes)
    : plan_(plan), encoder_(std::move(encoder)) {
  const Plan& p = plan_;
  const AtomicCircuit& a = p.atomic;
  const AtomicWeights w = atomic_weights(model, p);
  const std::size_t H = p.rows, C = p.period, S = a.window_stride, M = p.query_stride;
  // One matrix per element; window k of a molecule belongs to the element whose capacity range
  // holds it.
  std::vector<double> matrices;
  std::vector<std::size_t> element_matrix(a.elements.size(), he::MatVecOperator::kNoMatrix);
  for (std::size_t e = 0; e < a.elements.size(); ++e) {
    if (!w.elements[e].present) continue;
    element_matrix[e] = matrices.size() / (H * C);
    matrices.insert(matrices.end(), w.elements[e].hidden.begin(), w.elements[e].hidden.end());
  }
  std::vector<std::size_t> window_element(a.windows,
                                          a.elements.size());  // past the capacities: empty
  for (std::size_t e = 0; e < a.elements.size(); ++e)
    for (std::size_t k = 0; k < a.capacity[e]; ++k) window_element[a.first_window(e) + k] = e;
  std::vector<std::size_t> query_matrix;
  for (std::size_t g = 0; g < p.queries; ++g)
    for (std::size_t k = 0; k < a.windows; ++k)
      query_matrix.push_back(window_element[k] < a.elements.size()
                                 ? element_matrix[window_element[k]]
                                 : he::MatVecOperator::kNoMatrix);
  const he::MatVecPlan mv = p.matvec_plan();
  const ckks::Context& ctx = encoder_->context();
  const double plaintext_bytes = static_cast<double>(mv.diagonals) *
                                 static_cast<double>(ctx.max_level() + 1) *
                                 static_cast<double>(ctx.n()) * 8.0;
  const auto mode = plaintext_bytes <= static_cast<double>(plaintext_cache_bytes)
                        ? he::DiagonalCache::plaintexts
                        : he::DiagonalCache::coefficients;
  if (matrices.empty()) matrices.assign(H * C, 0.0);  // a model without terms: every window gives 0
  op_ = std::make_unique<he::MatVecOperator>(encoder_, mv, matrices, std::move(query_matrix),
                                             ctx.max_level(), mode,
                                             /*pending_input_rescale=*/true);
  layout_ = p.replication();
  keep_.assign(C, 1.0);
  output_.assign(p.targets, std::vector<double>(p.slots, 0.0));
  linear_ = output_;
  mean_ = output_;
  for (std::size_t t = 0; t < p.targets; ++t) {
    const double W = p.weight_scale[t];
    const double mean =
        model.baseline.mean.size() > 0 ? model.baseline.mean(static_cast<Eigen::Index>(t)) : 0.0;
    for (std::size_t g = 0; g < p.queries; ++g) {
      mean_[t][g * M] = mean / W;
      for (std::size_t k = 0; k < a.windows; ++k) {
        const std::size_t e = window_element[k];
        if (e >= a.elements.size()) continue;
        const std::size_t base = g * M + k * S;
        for (std::size_t i = 0; i < H; ++i) output_[t][base + i] = w.elements[e].output[t][i] / W;
        for (std::size_t j = 0; j < C; ++j) linear_[t][base + j] = w.elements[e].linear[t][j] / W;
      }
    }
  }
}

ckks::Ciphertext AtomicEvaluator::evaluate(const ckks::Evaluator& ev, const ckks::Ciphertext& query,
                                           const ckks::RelinKey& relin,
                                           const ckks::GaloisKeys& galois, std::size_t live) const {
  const Plan& p = plan_;
  const AtomicCircuit& a = p.atomic;
  StageTimer timer;
  // Only the last block of every window survives; the server makes the replicas (see plan.hpp, step
  // 0).
  const ckks::Ciphertext xh =
      he::enforce_replication(ev, *encoder_, query, layout_, keep_, galois, false);
  timer.lap("layout");
  const ckks::Ciphertext u = op_->apply(ev, xh, galois)[0];
  timer.lap("matvec");
  ckks::Ciphertext q = ev.rescale(ev.square_relin(u, relin));
  if (a.power == 3) q = ev.rescale(ev.multiply_relin(q, ev.mod_drop_to(u, q.level), relin));
  timer.lap("power");
  ckks::Ciphertext xr = ev.rescale(xh);  // the atoms at their own scale, for the linear terms
  xr.scale = query.scale;
  std::vector<double> mask(p.slots, 0.0);
  for (std::size_t g = 0; g < live && g < p.queries; ++g) mask[g * p.query_stride] = 1.0;
  ckks::Ciphertext acc;
  for (std::size_t t = 0; t < p.targets; ++t) {
    ckks::Ciphertext s = he::multiply_vector(ev, *encoder_, q, output_[t]);
    const ckks::Ciphertext lin = he::multiply_vector(ev, *encoder_, xr, linear_[t]);
    s = ev.add(s, he::bring_to(ev, lin, s.level, s.scale));
    s = he::strided_sum(ev, s, a.window_sum, 1, galois);
    s = he::strided_sum(ev, s, a.windows, static_cast<long long>(a.window_stride), galois);
    s = ev.add_plain(s, encoder_->encode(mean_[t], s.scale, s.level));
    s = he::multiply_vector(ev, *encoder_, s, mask);
    if (t > 0) s = ev.rotate(s, -static_cast<int>(t), galois);
    acc = t == 0 ? std::move(s) : ev.add(acc, s);
  }
  timer.lap("sums+mask");
  return acc;
}

}  // namespace encmol::secure
