#include "encmol/ml/local_krr.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "encmol/ml/matrix_io.hpp"

namespace encmol::ml {

Eigen::VectorXd LocalKrr::sum_abs_alpha() const {
  return alpha.cwiseAbs().colwise().sum().transpose();
}

Eigen::MatrixXd local_block_gram(const chem::AtomicFeatures& x, const chem::AtomicFeatures* y,
                                 std::span<const LocalKrr::Block> blocks) {
  Eigen::MatrixXd sum;
  for (const auto& b : blocks) {
    const double sigmas[] = {b.sigma};
    const bool whole = b.begin == 0 && b.end == x.dimension();
    const chem::AtomicFeatures xb = whole ? chem::AtomicFeatures{} : x.columns(b.begin, b.end);
    const chem::AtomicFeatures& xs = whole ? x : xb;
    Eigen::MatrixXd k;
    if (y == nullptr) {
      k = std::move(local_gram_symmetric(xs, sigmas).front());
    } else {
      const chem::AtomicFeatures yb = whole ? chem::AtomicFeatures{} : y->columns(b.begin, b.end);
      k = std::move(local_gram(xs, whole ? *y : yb, sigmas).front());
    }
    if (b.weight != 1.0) k *= b.weight;
    if (sum.size() == 0) {
      sum = std::move(k);
    } else {
      sum += k;
    }
  }
  return sum;
}

Eigen::MatrixXd LocalKrr::predict(const chem::AtomicFeatures& atoms) const {
  return local_block_gram(atoms, &training_atoms, blocks) * alpha;
}

void LocalKrr::validate(std::size_t atom_dimension, std::size_t targets,
                        const std::vector<int>& elements) const {
  auto fail = [](const std::string& what) { throw ParameterError("invalid model: " + what); };
  if (blocks.empty()) fail("the local kernel has no blocks");
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const Block& b = blocks[k];
    if (b.begin != (k == 0 ? 0 : blocks[k - 1].end) || b.end <= b.begin)
      fail("kernel blocks are not consecutive");
    if (!std::isfinite(b.sigma) || !(b.sigma > 0)) fail("sigma must be finite and > 0");
    if (!std::isfinite(b.weight) || !(b.weight > 0)) fail("block weight must be finite and > 0");
  }
  if (blocks.back().end != atom_dimension) fail("kernel blocks do not cover the atom vector");
  if (!std::isfinite(lambda) || lambda < 0) fail("lambda is not finite and >= 0");
  if (alpha.rows() == 0) fail("no training molecules");
  if (alpha.cols() != static_cast<Eigen::Index>(targets))
    fail("alpha does not have one column per target");
  if (training_atoms.molecule_count() != training_size())
    fail("training atoms and alpha differ in molecules");
  if (training_atoms.dimension() != atom_dimension)
    fail("training atoms do not match the representation");
  training_atoms.validate();
  for (int z : training_atoms.charges) {
    if (!std::binary_search(elements.begin(), elements.end(), z))
      fail("training atom of an element the representation lacks");
  }
  if (!alpha.allFinite()) fail("non-finite weights");
}

std::string LocalKrr::describe() const {
  char buf[200];
  std::string s;
  if (blocks.size() == 1) {
    std::snprintf(buf, sizeof(buf), "kernel: elemental local Gaussian (sigma = %.6g)",
                  blocks[0].sigma);
    s = buf;
  } else {
    s = "kernel: elemental local sum of Gaussians over blocks of the atom vector:";
    for (const auto& b : blocks) {
      std::snprintf(buf, sizeof(buf), " [%zu, %zu) sigma %.6g weight %.3g;", b.begin, b.end,
                    b.sigma, b.weight);
      s += buf;
    }
    s.pop_back();
  }
  std::snprintf(buf, sizeof(buf), " over %zu training atoms\nlambda: %.6g\n",
                training_atoms.atom_count(), lambda);
  return s + buf;
}

nlohmann::json LocalKrr::describe_json() const {
  nlohmann::json j;
  j["kernel"] = {{"kind", blocks.size() == 1 ? "local-gaussian" : "local-gaussian-sum"},
                 {"sigma", blocks[0].sigma}};
  nlohmann::json bj = nlohmann::json::array();
  for (const auto& b : blocks)
    bj.push_back({{"begin", b.begin}, {"end", b.end}, {"sigma", b.sigma}, {"weight", b.weight}});
  j["kernel"]["blocks"] = bj;
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

chem::AtomicFeatures read_atomic_features(core::ByteReader& r, std::size_t dimension,
                                          const char* what) {
  chem::AtomicFeatures f;
  const std::size_t n = r.count(std::string(what) + " molecule", std::size_t{1} << 32, 8);
  const std::size_t atoms = r.count(std::string(what) + " atom", std::size_t{1} << 40,
                                    4 + 8 * std::max<std::size_t>(dimension, 1));
  if (n == 0) r.fail(std::string(what) + ": no molecules");
  f.offsets.resize(n + 1);
  for (std::size_t i = 0; i <= n; ++i) {
    f.offsets[i] = r.u64();
    if (i == 0 ? f.offsets[0] != 0 : (f.offsets[i] <= f.offsets[i - 1] || f.offsets[i] > atoms)) {
      r.fail(std::string(what) +
             ": molecule offsets are not strictly increasing from 0 within the atoms");
    }
  }
  if (f.offsets.back() != atoms)
    r.fail(std::string(what) + ": molecule offsets do not cover the atoms");
  f.charges.resize(atoms);
  for (auto& z : f.charges) {
    const std::uint32_t v = r.u32();
    if (!chem::is_known_element(static_cast<int>(v)))
      r.fail(std::string(what) + ": nuclear charge " + std::to_string(v) + " is not an element");
    z = static_cast<int>(v);
  }
  read_matrix_rows(r, f.values, atoms, dimension, what);
  return f;
}

void LocalKrr::write(core::ByteWriter& w) const {
  w.u64(blocks.size());
  for (const auto& b : blocks) {
    w.u64(b.begin);
    w.u64(b.end);
    w.f64(b.sigma);
    w.f64(b.weight);
  }
  w.f64(lambda);
  write_atomic_features(w, training_atoms);
  write_matrix_rows(w, alpha);
}

LocalKrr LocalKrr::read(core::ByteReader& r, std::size_t atom_dimension, std::size_t targets,
                        std::uint32_t format_version) {
  LocalKrr m;
  if (format_version < 3) {
    m.blocks.push_back({0, atom_dimension, r.finite_f64("sigma"), 1.0});
  } else {
    const std::size_t n = r.count("kernel block", 16, 32);
    for (std::size_t k = 0; k < n; ++k) {
      Block b;
      b.begin = r.u64();
      b.end = r.u64();
      b.sigma = r.finite_f64("sigma");
      b.weight = r.finite_f64("block weight");
      if (b.begin != (k == 0 ? 0 : m.blocks.back().end) || b.end <= b.begin ||
          b.end > atom_dimension) {
        r.fail("kernel blocks are not consecutive within the atom vector");
      }
      if (!(b.sigma > 0) || !(b.weight > 0)) r.fail("block sigma and weight must be > 0");
      m.blocks.push_back(b);
    }
    if (m.blocks.empty() || m.blocks.back().end != atom_dimension)
      r.fail("kernel blocks do not cover the atom vector");
  }
  m.lambda = r.finite_f64("lambda");
  if (m.lambda < 0) r.fail("lambda must be >= 0");
  m.training_atoms = read_atomic_features(r, atom_dimension, "training atoms");
  read_matrix_rows(r, m.alpha, m.training_atoms.molecule_count(), targets, "alpha");
  return m;
}

}  // namespace encmol::ml
