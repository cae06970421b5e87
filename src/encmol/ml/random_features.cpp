#include "encmol/ml/random_features.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/matrix_io.hpp"

namespace encmol::ml {

Eigen::MatrixXd RandomFeatureModel::predict(const chem::AtomicFeatures& atoms) const {
  if (weights.rows() != static_cast<Eigen::Index>(map.feature_count())) {
    throw ParameterError("random-feature model: weights do not match the feature map");
  }
  return map.features(atoms) * weights;
}

Eigen::VectorXd RandomFeatureModel::sum_abs_weights() const {
  return weights.cwiseAbs().colwise().sum().transpose();
}

void RandomFeatureModel::validate(std::size_t atom_dimension, std::size_t targets,
                                  const std::vector<int>& elements) const {
  auto fail = [](const std::string& what) { throw ParameterError("invalid model: " + what); };
  map.validate();
  if (map.input_dimension != atom_dimension)
    fail("the random-feature map does not match the representation");
  for (int z : map.elements) {
    if (!std::binary_search(elements.begin(), elements.end(), z))
      fail("random features for an element the representation lacks");
  }
  if (!std::isfinite(lambda) || lambda < 0) fail("lambda is not finite and >= 0");
  if (weights.rows() != static_cast<Eigen::Index>(map.feature_count()))
    fail("weights do not have one row per feature");
  if (weights.cols() != static_cast<Eigen::Index>(targets))
    fail("weights do not have one column per target");
  if (!weights.allFinite()) fail("non-finite weights");
}

std::string RandomFeatureModel::describe() const {
  std::string per_element;
  for (std::size_t e = 0; e < map.elements.size(); ++e) {
    per_element += (e ? ", " : "") + std::string(chem::element_symbol(map.elements[e])) + " " +
                   std::to_string(map.counts[e]);
  }
  std::string pca = "none";
  if (map.pca > 0)
    pca = std::to_string(map.pca) +
          (map.shared_pca ? " components (shared)" : " components per element");
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "random features: %s, %zu (%s), sigma = %.6g, seed %llu\nPCA: %s\nlambda: %.6g\n",
                std::string(to_string(map.kind)).c_str(), map.feature_count(), per_element.c_str(),
                map.sigma, static_cast<unsigned long long>(map.seed), pca.c_str(), lambda);
  return buf;
}

nlohmann::json RandomFeatureModel::describe_json() const {
  nlohmann::json j;
  nlohmann::json counts = nlohmann::json::object();
  for (std::size_t e = 0; e < map.elements.size(); ++e)
    counts[std::string(chem::element_symbol(map.elements[e]))] = map.counts[e];
  j["random_features"] = {{"kind", std::string(to_string(map.kind))},
                          {"features", map.feature_count()},
                          {"per_element", counts},
                          {"sigma", map.sigma},
                          {"seed", map.seed},
                          {"pca", map.pca},
                          {"shared_pca", map.shared_pca},
                          {"digest", core::to_hex(map.digest())}};
  j["lambda"] = lambda;
  const Eigen::VectorXd sa = sum_abs_weights();
  j["sum_abs_weights"] = std::vector<double>(sa.data(), sa.data() + sa.size());
  return j;
}

void RandomFeatureModel::write(core::ByteWriter& w) const {
  map.write(w);
  w.f64(lambda);
  write_matrix_rows(w, weights);
}

RandomFeatureModel RandomFeatureModel::read(core::ByteReader& r, std::size_t atom_dimension,
                                            std::size_t targets) {
  RandomFeatureModel m;
  // The weights that follow the map (8 bytes per target per feature) bound its size.
  m.map = RandomFeatureMap::read(r, atom_dimension, 8 * std::max<std::size_t>(targets, 1));
  m.lambda = r.finite_f64("lambda");
  if (m.lambda < 0) r.fail("lambda is negative");
  read_matrix_rows(r, m.weights, m.map.feature_count(), targets, "random-feature weights");
  return m;
}

}  // namespace encmol::ml
