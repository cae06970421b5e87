#include "encmol/ml/quadratic_model.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/matrix_io.hpp"

namespace encmol::ml {

QuadraticAtomicModel QuadraticAtomicModel::from_dual(const chem::AtomicFeatures& training,
                                                     const Eigen::MatrixXd& alpha, double coef0,
                                                     double scale, double lambda) {
  training.validate();
  if (static_cast<std::size_t>(alpha.rows()) != training.molecule_count()) {
    throw ParameterError("quadratic model: one dual weight row per training molecule needed");
  }
  QuadraticAtomicModel m;
  m.coef0 = coef0;
  m.scale = scale;
  m.lambda = lambda;
  const auto d = static_cast<Eigen::Index>(training.dimension());
  const Eigen::Index t = alpha.cols();
  // Weight of each atom = its molecule's dual weights.
  std::map<int, std::vector<std::size_t>> rows;
  std::vector<std::size_t> molecule_of(training.atom_count());
  for (std::size_t i = 0; i < training.molecule_count(); ++i)
    for (std::size_t a = training.offsets[i]; a < training.offsets[i + 1]; ++a) molecule_of[a] = i;
  for (std::size_t a = 0; a < training.atom_count(); ++a) rows[training.charges[a]].push_back(a);
  for (const auto& [z, r] : rows) {
    ElementTerms e;
    e.z = z;
    const auto m_e = static_cast<Eigen::Index>(r.size());
    Eigen::MatrixXd x(m_e, d), w(m_e, t);
    for (Eigen::Index k = 0; k < m_e; ++k) {
      x.row(k) = training.values.row(static_cast<Eigen::Index>(r[static_cast<std::size_t>(k)]));
      w.row(k) = alpha.row(static_cast<Eigen::Index>(molecule_of[r[static_cast<std::size_t>(k)]]));
    }
    e.constant = coef0 * coef0 * w.colwise().sum();
    e.linear = (2.0 * coef0 / scale) * (x.transpose() * w);
    for (Eigen::Index q = 0; q < t; ++q) {
      const Eigen::MatrixXd wx = x.array().colwise() * w.col(q).array();
      Eigen::MatrixXd h = (x.transpose() * wx) / (scale * scale);
      e.quadratic.push_back(0.5 * (h + h.transpose()));
    }
    m.elements.push_back(std::move(e));
  }
  return m;
}

Eigen::MatrixXd QuadraticAtomicModel::predict(const chem::AtomicFeatures& atoms) const {
  const std::size_t t = targets();
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(atoms.molecule_count()),
                                              static_cast<Eigen::Index>(t));
  core::parallel_for(
      atoms.molecule_count(),
      [&](std::size_t i) {
        for (std::size_t a = atoms.offsets[i]; a < atoms.offsets[i + 1]; ++a) {
          const auto it = std::lower_bound(elements.begin(), elements.end(), atoms.charges[a],
                                           [](const ElementTerms& e, int z) { return e.z < z; });
          if (it == elements.end() || it->z != atoms.charges[a]) continue;
          const auto x = atoms.values.row(static_cast<Eigen::Index>(a)).transpose();
          for (std::size_t q = 0; q < t; ++q) {
            const auto qi = static_cast<Eigen::Index>(q);
            out(static_cast<Eigen::Index>(i), qi) +=
                it->constant(qi) + it->linear.col(qi).dot(x) + x.dot(it->quadratic[q] * x);
          }
        }
      },
      8);
  return out;
}

FoldedNetwork QuadraticAtomicModel::folded() const {
  FoldedNetwork f;
  f.power = 2;
  const auto t = static_cast<Eigen::Index>(targets());
  for (const ElementTerms& e : elements) {
    const Eigen::Index d = e.linear.rows();
    FoldedElementNetwork n;
    n.element = e.z;
    Eigen::MatrixXd hidden(t * d, d);
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(t, t * d);
    for (Eigen::Index q = 0; q < t; ++q) {
      const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(
          e.quadratic[static_cast<std::size_t>(q)]);
      hidden.middleRows(q * d, d) = es.eigenvectors().transpose();
      out.block(q, q * d, 1, d) = es.eigenvalues().transpose();
    }
    n.input = {hidden, e.linear.transpose()};
    n.mix = {{}, {out}};
    n.bias = {Eigen::VectorXd::Zero(t * d), e.constant.transpose()};
    f.networks.push_back(std::move(n));
  }
  return f;
}

void QuadraticAtomicModel::validate(std::size_t atom_dimension, std::size_t n_targets,
                                    const std::vector<int>& spec_elements) const {
  auto fail = [](const std::string& what) { throw ParameterError("invalid model: " + what); };
  if (elements.empty()) fail("quadratic model without element terms");
  if (!std::isfinite(coef0) || !std::isfinite(scale) || !(scale > 0) || !std::isfinite(lambda) ||
      lambda < 0) {
    fail("quadratic model fit parameters are not usable");
  }
  const auto d = static_cast<Eigen::Index>(atom_dimension);
  for (std::size_t k = 0; k < elements.size(); ++k) {
    const ElementTerms& e = elements[k];
    if (k > 0 && e.z <= elements[k - 1].z)
      fail("quadratic model elements are not strictly ascending");
    if (!std::binary_search(spec_elements.begin(), spec_elements.end(), e.z))
      fail("quadratic model element not in the representation");
    if (e.constant.size() != static_cast<Eigen::Index>(n_targets) || e.linear.rows() != d ||
        e.linear.cols() != static_cast<Eigen::Index>(n_targets) ||
        e.quadratic.size() != n_targets) {
      fail("quadratic model terms do not match the representation and targets");
    }
    if (!e.constant.allFinite() || !e.linear.allFinite()) fail("non-finite quadratic model terms");
    for (const auto& h : e.quadratic) {
      if (h.rows() != d || h.cols() != d || !h.allFinite())
        fail("quadratic model matrix has the wrong size or non-finite values");
    }
  }
}

std::string QuadraticAtomicModel::describe() const {
  char buf[240];
  const std::size_t d =
      elements.empty() ? 0 : static_cast<std::size_t>(elements.front().linear.rows());
  std::snprintf(buf, sizeof(buf),
                "quadratic atomic model: per element c + g.x + x^T H x over %zu values per atom "
                "(%zu parameters per "
                "element and target); fitted with coef0 %.6g, scale %.6g\nlambda: %.6g\n",
                d, 1 + d + d * (d + 1) / 2, coef0, scale, lambda);
  return buf;
}

nlohmann::json QuadraticAtomicModel::describe_json() const {
  nlohmann::json j;
  j["kernel"] = {{"kind", "local-polynomial"},
                 {"degree", 2},
                 {"coef0", coef0},
                 {"scale", scale},
                 {"description", "quadratic atomic model (local polynomial kernel, degree 2)"}};
  j["lambda"] = lambda;
  nlohmann::json els = nlohmann::json::array();
  for (const auto& e : elements) els.push_back(std::string(chem::element_symbol(e.z)));
  j["quadratic_elements"] = els;
  return j;
}

void QuadraticAtomicModel::write(core::ByteWriter& w) const {
  w.f64(coef0);
  w.f64(scale);
  w.f64(lambda);
  w.u64(elements.size());
  for (const auto& e : elements) {
    w.u32(static_cast<std::uint32_t>(e.z));
    write_matrix_rows(w, e.constant);
    write_matrix_rows(w, e.linear);
    for (const auto& h : e.quadratic)
      for (Eigen::Index r = 0; r < h.rows(); ++r)
        for (Eigen::Index c = r; c < h.cols(); ++c) w.f64(h(r, c));
  }
}

QuadraticAtomicModel QuadraticAtomicModel::read(core::ByteReader& r, std::size_t atom_dimension,
                                                std::size_t targets) {
  QuadraticAtomicModel m;
  m.coef0 = r.finite_f64("coef0");
  m.scale = r.finite_f64("scale");
  m.lambda = r.finite_f64("lambda");
  const std::size_t d = atom_dimension;
  const std::size_t per_element = 4 + 8 * targets * (1 + d + d * (d + 1) / 2);
  const std::size_t count = r.count("quadratic model element", chem::kMaxAtomicNumber, per_element);
  for (std::size_t k = 0; k < count; ++k) {
    ElementTerms e;
    const std::uint32_t z = r.u32();
    if (!chem::is_known_element(static_cast<int>(z)))
      r.fail("quadratic model element " + std::to_string(z) + " is not an element");
    e.z = static_cast<int>(z);
    read_matrix_rows(r, e.constant, 1, targets, "quadratic model constant");
    read_matrix_rows(r, e.linear, d, targets, "quadratic model linear term");
    if (r.remaining() / 8 / std::max<std::size_t>(1, d * (d + 1) / 2) < targets)
      r.fail("quadratic model matrices do not fit in the remaining data");
    for (std::size_t q = 0; q < targets; ++q) {
      Eigen::MatrixXd h(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t b = a; b < d; ++b) {
          const double v = r.finite_f64("quadratic model matrix");
          h(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) = v;
          h(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(a)) = v;
        }
      e.quadratic.push_back(std::move(h));
    }
    m.elements.push_back(std::move(e));
  }
  return m;
}

}  // namespace encmol::ml
