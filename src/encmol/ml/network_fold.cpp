#include "encmol/ml/network_fold.hpp"

#include <string>

#include "encmol/core/error.hpp"

namespace encmol::ml {

FoldedNetwork fold(const AtomicNetwork& network) {
  FoldedNetwork folded;
  folded.power = network.power;
  for (const ElementNetwork& e : network.networks) {
    FoldedElementNetwork f;
    f.element = e.element;
    const Eigen::VectorXd inv_scale = e.scale.cwiseInverse();
    const Eigen::MatrixXd p = e.w0 * inv_scale.asDiagonal();
    const Eigen::VectorXd p0 = e.b0 - p * e.mean;
    const std::size_t depth = e.w.size();
    for (std::size_t l = 0; l <= depth; ++l) {
      const Eigen::MatrixXd& out = l < depth ? e.w[l] : e.v;  // the linear map applied to h_l
      f.input.push_back(out * p);
      f.bias.push_back(out * p0 + (l < depth ? e.b[l] : e.beta));
      std::vector<Eigen::MatrixXd> mix;
      for (std::size_t k = 0; k < l; ++k) mix.push_back(out * e.c[k].asDiagonal());
      f.mix.push_back(std::move(mix));
    }
    if (e.skip.size() > 0) {
      const Eigen::MatrixXd s = e.skip * inv_scale.asDiagonal();
      f.input[depth] += s;
      f.bias[depth] -= s * e.mean;
    }
    folded.networks.push_back(std::move(f));
  }
  return folded;
}

Eigen::VectorXd FoldedNetwork::evaluate_atom(int element, const Eigen::VectorXd& x) const {
  for (const FoldedElementNetwork& f : networks) {
    if (f.element != element) continue;
    std::vector<Eigen::VectorXd> q;
    for (std::size_t l = 0; l < f.input.size(); ++l) {
      Eigen::VectorXd stage = f.input[l] * x + f.bias[l];
      for (std::size_t k = 0; k < l; ++k) stage += f.mix[l][k] * q[k];
      if (l + 1 == f.input.size()) return stage;
      q.push_back(power == 2 ? Eigen::VectorXd(stage.array().square()) : Eigen::VectorXd(stage.array().cube()));
    }
  }
  throw ParameterError("folded network has no stage for element Z=" + std::to_string(element));
}

}  // namespace encmol::ml
