#include "encmol/ml/local_krr.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "encmol/ml/matrix_io.hpp"

namespace encmol::ml {

Eigen::VectorXd LocalKrr::sum_abs_alpha() const { return alpha.cwiseAbs().colwise().sum().transpose(); }

Eigen::MatrixXd LocalKrr::predict(const chem::AtomicFeatures& atoms) const {
  const double sigmas[] = {sigma};
  return local_gram(atoms, training_atoms, sigmas).front() * alpha;
}

void LocalKrr::validate(std::size_t atom_dimension, std::size_t targets, const std::vector<int>& elements) const {
  auto fail = [](const std::string& what) { throw ParameterError("invalid model: " + what); };
  if (!std::isfinite(sigma) || !(sigma > 0)) fail("sigma must be finite and > 0");
  if (!std::isfinite(lambda) || lambda < 0) fail("lambda is not finite and >= 0");
  if (alpha.rows() == 0) fail("no training molecules");
  if (alpha.cols() != static_cast<Eigen::Index>(targets)) fail("alpha does not have one column per target");
  if (training_atoms.molecule_count() != training_size()) fail("training atoms and alpha differ in molecules");
  if (training_atoms.dimension() != atom_dimension) fail("training atoms do not match the representation");
  training_atoms.validate();
  for (int z : training_atoms.charges) {
    if (!std::binary_search(elements.begin(), elements.end(), z)) fail("training atom of an element the representation lacks");
  }
  if (!alpha.allFinite()) fail("non-finite weights");
}

std::string LocalKrr::describe() const {
  char buf[200];
  std::snprintf(buf, sizeof(buf), "kernel: elemental local Gaussian (sigma = %.6g) over %zu training atoms\nlambda: %.6g\n",
                sigma, training_atoms.atom_count(), lambda);
  return buf;
}

nlohmann::json LocalKrr::describe_json() const {
  nlohmann::json j;
  j["kernel"] = {{"kind", "local-gaussian"}, {"sigma", sigma}};
  j["lambda"] = lambda;
  j["training_atoms"] = training_atoms.atom_count();
  const Eigen::VectorXd sa = sum_abs_alpha();
  j["sum_abs_alpha"] = std::vector<double>(sa.data(), sa.data() + sa.size());
  return j;
}

void write_atomic_features(core::ByteWriter& w, const chem::AtomicFeatures& f) {
  w.u64(f.molecule_count());
  w.u64(f.atom_count());
  for (std::size_t o : f.offsets) w.u64(o);
  for (int z : f.charges) w.u32(static_cast<std::uint32_t>(z));
  write_matrix_rows(w, f.values);
}

chem::AtomicFeatures read_atomic_features(core::ByteReader& r, std::size_t dimension, const char* what) {
  chem::AtomicFeatures f;
  const std::size_t n = r.count(std::string(what) + " molecule", std::size_t{1} << 32, 8);
  const std::size_t atoms = r.count(std::string(what) + " atom", std::size_t{1} << 40, 4 + 8 * std::max<std::size_t>(dimension, 1));
  if (n == 0) r.fail(std::string(what) + ": no molecules");
  f.offsets.resize(n + 1);
  for (std::size_t i = 0; i <= n; ++i) {
    f.offsets[i] = r.u64();
    if (i == 0 ? f.offsets[0] != 0 : (f.offsets[i] <= f.offsets[i - 1] || f.offsets[i] > atoms)) {
      r.fail(std::string(what) + ": molecule offsets are not strictly increasing from 0 within the atoms");
    }
  }
  if (f.offsets.back() != atoms) r.fail(std::string(what) + ": molecule offsets do not cover the atoms");
  f.charges.resize(atoms);
  for (auto& z : f.charges) {
    const std::uint32_t v = r.u32();
    if (!chem::is_known_element(static_cast<int>(v))) r.fail(std::string(what) + ": nuclear charge " + std::to_string(v) + " is not an element");
    z = static_cast<int>(v);
  }
  read_matrix_rows(r, f.values, atoms, dimension, what);
  return f;
}

void LocalKrr::write(core::ByteWriter& w) const {
  w.f64(sigma);
  w.f64(lambda);
  write_atomic_features(w, training_atoms);
  write_matrix_rows(w, alpha);
}

LocalKrr LocalKrr::read(core::ByteReader& r, std::size_t atom_dimension, std::size_t targets) {
  LocalKrr m;
  m.sigma = r.finite_f64("sigma");
  m.lambda = r.finite_f64("lambda");
  if (!(m.sigma > 0) || m.lambda < 0) r.fail("sigma must be > 0 and lambda >= 0");
  m.training_atoms = read_atomic_features(r, atom_dimension, "training atoms");
  read_matrix_rows(r, m.alpha, m.training_atoms.molecule_count(), targets, "alpha");
  return m;
}

}  // namespace encmol::ml
