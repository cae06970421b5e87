#include "encmol/ml/network_pass.hpp"

#include <string>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/linalg.hpp"

namespace encmol::ml {
namespace {

// u^p and p u^(p-1), elementwise, for p = 2 or 3.
Eigen::MatrixXd power_of(const Eigen::MatrixXd& u, int power) {
  return power == 2 ? Eigen::MatrixXd(u.array().square()) : Eigen::MatrixXd(u.array().cube());
}
Eigen::MatrixXd power_derivative(const Eigen::MatrixXd& u, int power) {
  return power == 2 ? Eigen::MatrixXd(2.0 * u.array()) : Eigen::MatrixXd(3.0 * u.array().square());
}

}  // namespace

void standardize_rows_into(const ElementNetwork& net, const chem::AtomicFeatures::Matrix& x,
                           const std::vector<std::size_t>& row_index, std::size_t begin, std::size_t end,
                           Eigen::MatrixXd& z) {
  const Eigen::Index d = net.mean.size();
  z.resize(d, static_cast<Eigen::Index>(end - begin));
  for (std::size_t i = begin; i < end; ++i) {
    z.col(static_cast<Eigen::Index>(i - begin)) = x.row(static_cast<Eigen::Index>(row_index[i])).transpose();
  }
  z.colwise() -= net.mean;
  z.array().colwise() /= net.scale.array();
}

void forward(const ElementNetwork& net, int power, BlockPass& pass) {
  const Eigen::Index n = pass.z.cols(), width = net.b0.size();
  const std::size_t depth = net.w.size();
  pass.h.resize(depth + 1);
  pass.u.resize(depth);
  pass.h[0].resize(width, n);
  gemm_into(net.w0, false, pass.z, false, 0.0, pass.h[0]);
  pass.h[0].colwise() += net.b0;
  for (std::size_t l = 0; l < depth; ++l) {
    pass.u[l].resize(width, n);
    gemm_into(net.w[l], false, pass.h[l], false, 0.0, pass.u[l]);
    pass.u[l].colwise() += net.b[l];
    pass.h[l + 1] = pass.h[l] + net.c[l].asDiagonal() * power_of(pass.u[l], power);
  }
  pass.out.resize(net.v.rows(), n);
  gemm_into(net.v, false, pass.h[depth], false, 0.0, pass.out);
  if (net.skip.size() > 0) gemm_into(net.skip, false, pass.z, false, 1.0, pass.out);
  pass.out.colwise() += net.beta;
}

void backward(const ElementNetwork& net, int power, const BlockPass& pass, const Eigen::MatrixXd& d_out,
              ElementNetwork& grad) {
  const std::size_t depth = net.w.size();
  grad.element = net.element;
  grad.mean = net.mean;
  grad.scale = net.scale;
  grad.w.resize(depth);
  grad.b.resize(depth);
  grad.c.resize(depth);

  grad.v.resize(net.v.rows(), net.v.cols());
  gemm_into(d_out, false, pass.h[depth], true, 0.0, grad.v);
  grad.beta = d_out.rowwise().sum();
  if (net.skip.size() > 0) {
    grad.skip.resize(net.skip.rows(), net.skip.cols());
    gemm_into(d_out, false, pass.z, true, 0.0, grad.skip);
  } else {
    grad.skip.resize(0, 0);
  }
  // g = d loss / d h_l, walked down from l = L.
  Eigen::MatrixXd g(net.v.cols(), d_out.cols());
  gemm_into(net.v, true, d_out, false, 0.0, g);
  for (std::size_t l = depth; l-- > 0;) {
    grad.c[l] = (g.array() * power_of(pass.u[l], power).array()).rowwise().sum();
    const Eigen::MatrixXd du =
        ((net.c[l].asDiagonal() * g).array() * power_derivative(pass.u[l], power).array()).matrix();
    grad.w[l].resize(net.w[l].rows(), net.w[l].cols());
    gemm_into(du, false, pass.h[l], true, 0.0, grad.w[l]);
    grad.b[l] = du.rowwise().sum();
    gemm_into(net.w[l], true, du, false, 1.0, g);
  }
  grad.w0.resize(net.w0.rows(), net.w0.cols());
  gemm_into(g, false, pass.z, true, 0.0, grad.w0);
  grad.b0 = g.rowwise().sum();
}

AtomGroups group_atoms(const AtomicNetwork& network, const std::vector<int>& charges,
                       const std::vector<std::size_t>& offsets) {
  AtomGroups groups;
  groups.rows.resize(network.networks.size());
  std::size_t molecule = 0;
  for (std::size_t a = 0; a < charges.size(); ++a) {
    while (molecule + 1 < offsets.size() && offsets[molecule + 1] <= a) ++molecule;
    const int k = network.find(charges[a]);
    if (k < 0) {
      const auto symbol = chem::is_known_element(charges[a]) ? std::string(chem::element_symbol(charges[a]))
                                                              : "Z=" + std::to_string(charges[a]);
      throw InputError("molecule " + std::to_string(molecule + 1) + " has an atom of element " + symbol +
                       ", for which the network has no weights (no training molecule contained " + symbol + ")");
    }
    groups.rows[static_cast<std::size_t>(k)].push_back(a);
  }
  for (std::size_t k = 0; k < groups.rows.size(); ++k) {
    for (std::size_t begin = 0; begin < groups.rows[k].size(); begin += kNetworkChunkAtoms) {
      groups.chunks.push_back({k, begin, std::min(groups.rows[k].size(), begin + kNetworkChunkAtoms)});
    }
  }
  return groups;
}

}  // namespace encmol::ml
