#include "encmol/ml/model_file.hpp"

#include <cmath>
#include <cstring>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::ml {
namespace {

constexpr std::size_t kMaxTargets = 4096;
constexpr std::size_t kMaxNameLength = 1024;
constexpr std::size_t kMaxTextLength = 1 << 16;

void write_matrix_rows(core::ByteWriter& w, const Eigen::MatrixXd& m) {
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) w.f64(m(i, j));
}

// Reads rows x cols finite doubles (row-major) after checking they fit.
template <typename MatrixT>
void read_matrix_rows(core::ByteReader& r, MatrixT& m, std::size_t rows, std::size_t cols,
                      const char* what) {
  if (cols != 0 && rows > r.remaining() / 8 / cols) {
    r.fail(std::string(what) + ": " + std::to_string(rows) + " x " + std::to_string(cols) +
           " values do not fit in the remaining data");
  }
  m.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  const auto bytes = r.bytes(rows * cols * 8);
  std::size_t k = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j, ++k) {
      double v;
      std::memcpy(&v, bytes.data() + 8 * k, 8);
      if (!std::isfinite(v)) {
        r.fail(std::string(what) + " value (" + std::to_string(i) + ", " + std::to_string(j) +
               ") is not a finite number");
      }
      m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = v;
    }
  }
}

}  // namespace

core::Bytes encode_model(const Model& model) {
  model.validate();
  core::ByteWriter w;
  model.representation.write(w);
  w.u8(static_cast<std::uint8_t>(model.kernel.kind));
  w.f64(model.kernel.sigma);
  w.f64(model.kernel.gamma);
  w.f64(model.kernel.coef0);
  w.u32(static_cast<std::uint32_t>(model.kernel.degree));
  w.f64(model.lambda);
  const Eigen::VectorXd sa = model.sum_abs_alpha();
  w.u64(model.targets.size());
  for (std::size_t t = 0; t < model.targets.size(); ++t) {
    w.string(model.targets[t]);
    w.string(model.units[t]);
    w.f64(model.label_scale[t]);
    w.f64(sa(static_cast<Eigen::Index>(t)));
  }
  w.u8(model.baseline.per_element ? 1 : 0);
  for (Eigen::Index t = 0; t < model.baseline.mean.size(); ++t) w.f64(model.baseline.mean(t));
  if (model.baseline.per_element) {
    w.u64(model.baseline.elements.size());
    for (int z : model.baseline.elements) w.u32(static_cast<std::uint32_t>(z));
    write_matrix_rows(w, model.baseline.coefficients);
  }
  w.u64(static_cast<std::uint64_t>(model.training_features.rows()));
  w.u64(static_cast<std::uint64_t>(model.training_features.cols()));
  // Row-major storage: rows are contiguous, write them as they are.
  for (Eigen::Index i = 0; i < model.training_features.size(); ++i) w.f64(model.training_features.data()[i]);
  write_matrix_rows(w, model.alpha);
  w.string(model.info.dataset);
  w.u64(model.info.seed);
  w.u32(model.info.folds);
  w.f64(model.info.cv_score);
  w.string(model.info.encmol_version);
  return w.take();
}

Model decode_model(std::span<const std::uint8_t> payload, const std::string& context) {
  core::ByteReader r(payload, context);
  Model m;
  m.representation = chem::RepresentationSpec::read(r);

  const std::uint8_t kind = r.u8();
  if (kind < 1 || kind > 4) r.fail("unknown kernel kind " + std::to_string(kind));
  m.kernel.kind = static_cast<KernelKind>(kind);
  m.kernel.sigma = r.finite_f64("kernel sigma");
  m.kernel.gamma = r.finite_f64("kernel gamma");
  m.kernel.coef0 = r.finite_f64("kernel coef0");
  const std::uint32_t degree = r.u32();
  if (degree < 1 || degree > 16) r.fail("kernel degree " + std::to_string(degree) + " outside 1..16");
  m.kernel.degree = static_cast<int>(degree);
  try {
    m.kernel.validate();
  } catch (const ParameterError& e) {
    r.fail(e.what());
  }
  m.lambda = r.finite_f64("lambda");
  if (m.lambda < 0) r.fail("lambda is negative");

  const std::size_t t = r.count("target", kMaxTargets, 32);
  if (t == 0) r.fail("model has no targets");
  std::vector<double> stored_sum(t);
  for (std::size_t k = 0; k < t; ++k) {
    m.targets.push_back(r.string(kMaxNameLength));
    m.units.push_back(r.string(kMaxNameLength));
    m.label_scale.push_back(r.finite_f64("label scale"));
    stored_sum[k] = r.finite_f64("sum|alpha|");
  }

  const std::uint8_t per_element = r.u8();
  if (per_element > 1) r.fail("baseline flag must be 0 or 1, got " + std::to_string(per_element));
  m.baseline.per_element = per_element == 1;
  m.baseline.mean.resize(static_cast<Eigen::Index>(t));
  for (std::size_t k = 0; k < t; ++k) m.baseline.mean(static_cast<Eigen::Index>(k)) = r.finite_f64("baseline mean");
  if (m.baseline.per_element) {
    const std::size_t e = r.count("baseline element", chem::kMaxAtomicNumber, 4);
    for (std::size_t k = 0; k < e; ++k) {
      const std::uint32_t z = r.u32();
      if (!chem::is_known_element(static_cast<int>(z))) r.fail("baseline element " + std::to_string(z) + " is not an element");
      if (k > 0 && static_cast<int>(z) <= m.baseline.elements.back()) r.fail("baseline elements are not strictly ascending");
      m.baseline.elements.push_back(static_cast<int>(z));
    }
    read_matrix_rows(r, m.baseline.coefficients, e, t, "baseline coefficient");
  }

  const std::size_t n = r.count("training molecule", std::size_t{1} << 40, 8);
  const std::uint64_t d = r.u64();
  if (d != m.representation.dimension()) {
    r.fail("training representations have " + std::to_string(d) +
           " values each but the representation spec has " +
           std::to_string(m.representation.dimension()));
  }
  if (n == 0) r.fail("model has no training molecules");
  read_matrix_rows(r, m.training_features, n, static_cast<std::size_t>(d), "training representation");
  read_matrix_rows(r, m.alpha, n, t, "alpha");

  m.info.dataset = r.string(kMaxTextLength);
  m.info.seed = r.u64();
  m.info.folds = r.u32();
  m.info.cv_score = r.finite_f64("CV score");
  m.info.encmol_version = r.string(kMaxNameLength);
  r.expect_end();

  const Eigen::VectorXd sa = m.sum_abs_alpha();
  for (std::size_t k = 0; k < t; ++k) {
    const double a = sa(static_cast<Eigen::Index>(k));
    if (std::fabs(a - stored_sum[k]) > 1e-9 * std::max(1.0, std::fabs(a))) {
      r.fail("stored sum|alpha| of target '" + m.targets[k] + "' does not match its weights");
    }
  }
  try {
    m.validate();
  } catch (const ParameterError& e) {
    r.fail(e.what());
  }
  return m;
}

void save_model_file(const std::filesystem::path& path, const Model& model) {
  const core::Bytes payload = encode_model(model);
  core::save_envelope_file(path, kModelKind, kModelFormatVersion, payload);
}

Model load_model_file(const std::filesystem::path& path) {
  const auto loaded =
      core::load_envelope_file(path, kModelKind, kModelFormatVersion, "model file", kMaxModelFileBytes);
  return decode_model(loaded.payload, path.string());
}

}  // namespace encmol::ml
