#include "encmol/ml/atomic_pca.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "encmol/core/error.hpp"
#include "encmol/ml/matrix_io.hpp"

namespace encmol::ml {
namespace {

constexpr std::size_t kMaxElements = 128;

std::map<int, std::vector<std::size_t>> rows_by_element(const chem::AtomicFeatures& atoms) {
  std::map<int, std::vector<std::size_t>> rows;
  for (std::size_t a = 0; a < atoms.atom_count(); ++a) rows[atoms.charges[a]].push_back(a);
  return rows;
}

}  // namespace

AtomicPca AtomicPca::fit(const chem::AtomicFeatures& atoms, std::size_t components) {
  atoms.validate();
  const std::size_t d = atoms.dimension();
  if (components == 0 || components >= d) {
    throw ParameterError("PCA components must lie in 1.." + std::to_string(d - 1) +
                         " (the atom vectors have " + std::to_string(d) + " values); got " +
                         std::to_string(components));
  }
  AtomicPca pca;
  pca.input_dimension = d;
  pca.components = components;
  const auto di = static_cast<Eigen::Index>(d);
  const auto ki = static_cast<Eigen::Index>(components);
  for (const auto& [z, rows] : rows_by_element(atoms)) {
    Element e;
    e.z = z;
    Eigen::MatrixXd x(static_cast<Eigen::Index>(rows.size()), di);
    for (std::size_t r = 0; r < rows.size(); ++r)
      x.row(static_cast<Eigen::Index>(r)) = atoms.values.row(static_cast<Eigen::Index>(rows[r]));
    e.mean = x.colwise().mean();
    x.rowwise() -= e.mean;
    Eigen::MatrixXd covariance = Eigen::MatrixXd::Zero(di, di);
    covariance.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
    covariance = covariance.selfadjointView<Eigen::Lower>();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(covariance);
    if (solver.info() != Eigen::Success)
      throw Error("PCA of element Z=" + std::to_string(z) + " did not converge");
    // Eigenvalues ascend: the leading directions are the last columns.
    e.basis = solver.eigenvectors().rightCols(ki).rowwise().reverse();
    for (Eigen::Index c = 0; c < ki; ++c) {
      Eigen::Index at = 0;
      e.basis.col(c).cwiseAbs().maxCoeff(&at);
      if (e.basis(at, c) < 0) e.basis.col(c) *= -1.0;
    }
    const double total = solver.eigenvalues().cwiseMax(0.0).sum();
    e.retained =
        total > 0 ? std::min(1.0, solver.eigenvalues().tail(ki).cwiseMax(0.0).sum() / total) : 1.0;
    pca.elements.push_back(std::move(e));
  }
  return pca;
}

chem::AtomicFeatures AtomicPca::project(const chem::AtomicFeatures& atoms) const {
  if (!active()) return atoms;
  if (atoms.dimension() != input_dimension) {
    throw ParameterError("PCA expects " + std::to_string(input_dimension) +
                         " values per atom, got " + std::to_string(atoms.dimension()));
  }
  chem::AtomicFeatures out;
  out.charges = atoms.charges;
  out.offsets = atoms.offsets;
  out.values.resize(atoms.values.rows(), static_cast<Eigen::Index>(components));
  for (const auto& [z, rows] : rows_by_element(atoms)) {
    const auto it = std::find_if(elements.begin(), elements.end(),
                                 [z = z](const Element& e) { return e.z == z; });
    if (it == elements.end())
      throw InputError("the model's PCA has no projection for element Z=" + std::to_string(z));
    Eigen::MatrixXd x(static_cast<Eigen::Index>(rows.size()),
                      static_cast<Eigen::Index>(input_dimension));
    for (std::size_t r = 0; r < rows.size(); ++r)
      x.row(static_cast<Eigen::Index>(r)) = atoms.values.row(static_cast<Eigen::Index>(rows[r]));
    x.rowwise() -= it->mean;
    const Eigen::MatrixXd y = x * it->basis;
    for (std::size_t r = 0; r < rows.size(); ++r)
      out.values.row(static_cast<Eigen::Index>(rows[r])) = y.row(static_cast<Eigen::Index>(r));
  }
  return out;
}

void AtomicPca::validate(const std::vector<int>& spec_elements) const {
  if (!active()) {
    if (!elements.empty()) throw ParameterError("an inactive PCA has projections");
    return;
  }
  if (components >= input_dimension)
    throw ParameterError("PCA keeps as many components as it has inputs");
  for (std::size_t k = 0; k < elements.size(); ++k) {
    const Element& e = elements[k];
    if (k > 0 && e.z <= elements[k - 1].z) throw ParameterError("PCA elements do not ascend");
    if (static_cast<std::size_t>(e.mean.size()) != input_dimension ||
        static_cast<std::size_t>(e.basis.rows()) != input_dimension ||
        static_cast<std::size_t>(e.basis.cols()) != components) {
      throw ParameterError("PCA of element Z=" + std::to_string(e.z) + " has the wrong shape");
    }
    if (!e.mean.allFinite() || !e.basis.allFinite() || !(e.retained >= 0 && e.retained <= 1)) {
      throw ParameterError("PCA of element Z=" + std::to_string(e.z) + " has non-finite values");
    }
  }
  for (int z : spec_elements) {
    if (std::none_of(elements.begin(), elements.end(),
                     [z](const Element& e) { return e.z == z; })) {
      throw ParameterError("PCA has no projection for element Z=" + std::to_string(z) +
                           " of the representation");
    }
  }
}

std::string AtomicPca::describe() const {
  if (!active()) return "";
  std::string s = "atom projection: per-element PCA, " + std::to_string(components) + " of " +
                  std::to_string(input_dimension) + " values per atom (variance kept:";
  char buf[64];
  for (const auto& e : elements) {
    std::snprintf(buf, sizeof buf, " Z=%d %.6f", e.z, e.retained);
    s += buf;
  }
  return s + ")\n";
}

nlohmann::json AtomicPca::describe_json() const {
  nlohmann::json j = {{"components", components}, {"input_dimension", input_dimension}};
  nlohmann::json kept = nlohmann::json::object();
  for (const auto& e : elements) kept[std::to_string(e.z)] = e.retained;
  j["variance_kept"] = kept;
  return j;
}

void AtomicPca::write(core::ByteWriter& out) const {
  out.u64(components);
  if (!active()) return;
  out.u64(elements.size());
  for (const auto& e : elements) {
    out.u32(static_cast<std::uint32_t>(e.z));
    out.f64(e.retained);
    write_matrix_rows(out, e.mean);
    write_matrix_rows(out, e.basis);
  }
}

AtomicPca AtomicPca::read(core::ByteReader& in, std::size_t input_dimension) {
  AtomicPca pca;
  pca.input_dimension = input_dimension;
  pca.components = in.count("PCA component", input_dimension == 0 ? 0 : input_dimension - 1, 0);
  if (!pca.active()) return pca;
  const std::size_t n = in.count("PCA element", kMaxElements, 4);
  for (std::size_t k = 0; k < n; ++k) {
    Element e;
    const std::uint32_t z = in.u32();
    if (z == 0 || z > 118) in.fail("PCA element Z=" + std::to_string(z) + " is not an element");
    e.z = static_cast<int>(z);
    e.retained = in.finite_f64("PCA retained variance");
    Eigen::MatrixXd mean;
    read_matrix_rows(in, mean, 1, input_dimension, "PCA mean");
    e.mean = mean.row(0);
    read_matrix_rows(in, e.basis, input_dimension, pca.components, "PCA basis");
    pca.elements.push_back(std::move(e));
  }
  return pca;
}

}  // namespace encmol::ml
