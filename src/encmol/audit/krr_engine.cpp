#include "encmol/audit/krr_engine.hpp"

#include "encmol/core/error.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/krr.hpp"

namespace encmol::audit {

KrrEngine::KrrEngine(const std::vector<chem::Molecule>& molecules, const chem::RepresentationSpec& spec,
                     const ml::Kernel& kernel, const std::string& target, bool per_element_baseline)
    : kernel_(kernel), per_element_(per_element_baseline) {
  const Eigen::MatrixXd y = ml::label_matrix(molecules, {target});
  labels_.assign(y.data(), y.data() + y.size());
  init(molecules, spec);
}

KrrEngine::KrrEngine(const std::vector<chem::Molecule>& molecules, const chem::RepresentationSpec& spec,
                     const ml::Kernel& kernel, std::vector<double> labels, bool per_element_baseline)
    : kernel_(kernel), per_element_(per_element_baseline), labels_(std::move(labels)) {
  if (labels_.size() != molecules.size()) {
    throw ParameterError("KrrEngine: " + std::to_string(labels_.size()) + " labels for " +
                         std::to_string(molecules.size()) + " molecules");
  }
  init(molecules, spec);
}

void KrrEngine::init(const std::vector<chem::Molecule>& molecules, const chem::RepresentationSpec& spec) {
  if (molecules.size() > kMaxEngineMolecules) {
    throw InputError("the attack would hold " + std::to_string(molecules.size()) +
                     " molecules at once; at most " + std::to_string(kMaxEngineMolecules) +
                     " are supported (the pairwise matrix needs 8 n^2 bytes). Use a subset of the data "
                     "or a smaller budget");
  }
  kernel_.validate();
  elements_ = spec.elements();
  counts_ = ml::element_count_matrix(molecules, elements_);
  const chem::FeatureMatrix x = spec.featurize(molecules);
  measure_ = ml::pairwise_symmetric(ml::measure_of(kernel_.kind), x);
}

std::vector<std::vector<double>> KrrEngine::fit_predict(const std::vector<std::size_t>& train,
                                                        const std::vector<double>& lambdas,
                                                        const std::vector<std::size_t>& eval) const {
  const auto m = static_cast<Eigen::Index>(train.size());
  if (m == 0) throw ParameterError("KrrEngine: empty training set");
  for (std::size_t i : train) {
    if (i >= labels_.size()) throw ParameterError("KrrEngine: training index out of range");
  }
  for (std::size_t i : eval) {
    if (i >= labels_.size()) throw ParameterError("KrrEngine: evaluation index out of range");
  }
  Eigen::MatrixXd k(m, m);
  Eigen::MatrixXd counts(m, counts_.cols());
  Eigen::MatrixXd y(m, 1);
  // Column by column: measure_ is symmetric and column-major, so reads stay in one column.
  for (Eigen::Index b = 0; b < m; ++b) {
    const auto ib = static_cast<Eigen::Index>(train[static_cast<std::size_t>(b)]);
    for (Eigen::Index a = 0; a < m; ++a) k(a, b) = measure_(static_cast<Eigen::Index>(train[static_cast<std::size_t>(a)]), ib);
    counts.row(b) = counts_.row(ib);
    y(b, 0) = labels_[static_cast<std::size_t>(ib)];
  }
  ml::apply_kernel(kernel_, k);
  const ml::Baseline baseline = ml::Baseline::fit(counts, elements_, y, per_element_);
  const Eigen::MatrixXd residual = y - baseline.evaluate(counts);
  Eigen::MatrixXd alpha(m, static_cast<Eigen::Index>(lambdas.size()));
  for (std::size_t l = 0; l < lambdas.size(); ++l) {
    // The last solve may consume k (saves a copy of the largest matrix).
    alpha.col(static_cast<Eigen::Index>(l)) =
        (l + 1 == lambdas.size() ? ml::solve_krr(std::move(k), lambdas[l], residual)
                                 : ml::solve_krr(k, lambdas[l], residual))
            .col(0);
  }
  k.resize(0, 0);
  std::vector<std::vector<double>> out(lambdas.size(), std::vector<double>(eval.size()));
  constexpr std::size_t kBlock = 1024;  // bounds the memory of the cross-kernel block
  for (std::size_t begin = 0; begin < eval.size(); begin += kBlock) {
    const std::size_t end = std::min(eval.size(), begin + kBlock);
    const auto rows = static_cast<Eigen::Index>(end - begin);
    Eigen::MatrixXd kb(rows, m);
    Eigen::MatrixXd cb(rows, counts_.cols());
    for (Eigen::Index b = 0; b < m; ++b) {
      const auto ib = static_cast<Eigen::Index>(train[static_cast<std::size_t>(b)]);
      for (Eigen::Index r = 0; r < rows; ++r) {
        kb(r, b) = measure_(static_cast<Eigen::Index>(eval[begin + static_cast<std::size_t>(r)]), ib);
      }
    }
    for (Eigen::Index r = 0; r < rows; ++r) {
      cb.row(r) = counts_.row(static_cast<Eigen::Index>(eval[begin + static_cast<std::size_t>(r)]));
    }
    ml::apply_kernel(kernel_, kb);
    const Eigen::MatrixXd pred = kb * alpha;
    const Eigen::MatrixXd base = baseline.evaluate(cb);
    for (std::size_t l = 0; l < lambdas.size(); ++l) {
      for (Eigen::Index r = 0; r < rows; ++r) {
        out[l][begin + static_cast<std::size_t>(r)] = pred(r, static_cast<Eigen::Index>(l)) + base(r, 0);
      }
    }
  }
  return out;
}

}  // namespace encmol::audit
