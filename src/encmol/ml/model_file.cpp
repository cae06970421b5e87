#include "encmol/ml/model_file.hpp"

#include <cmath>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/matrix_io.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::ml {
namespace {

constexpr std::size_t kMaxTargets = 4096;
constexpr std::size_t kMaxNameLength = 1024;
constexpr std::size_t kMaxTextLength = 1 << 16;

void write_baseline(core::ByteWriter& w, const Baseline& b) {
  w.u8(b.per_element ? 1 : 0);
  for (Eigen::Index t = 0; t < b.mean.size(); ++t) w.f64(b.mean(t));
  if (b.per_element) {
    w.u64(b.elements.size());
    for (int z : b.elements) w.u32(static_cast<std::uint32_t>(z));
    write_matrix_rows(w, b.coefficients);
  }
}

Baseline read_baseline(core::ByteReader& r, std::size_t t) {
  Baseline b;
  const std::uint8_t per_element = r.u8();
  if (per_element > 1) r.fail("baseline flag must be 0 or 1, got " + std::to_string(per_element));
  b.per_element = per_element == 1;
  b.mean.resize(static_cast<Eigen::Index>(t));
  for (std::size_t k = 0; k < t; ++k)
    b.mean(static_cast<Eigen::Index>(k)) = r.finite_f64("baseline mean");
  if (b.per_element) {
    const std::size_t e = r.count("baseline element", chem::kMaxAtomicNumber, 4);
    for (std::size_t k = 0; k < e; ++k) {
      const std::uint32_t z = r.u32();
      if (!chem::is_known_element(static_cast<int>(z)))
        r.fail("baseline element " + std::to_string(z) + " is not an element");
      if (k > 0 && static_cast<int>(z) <= b.elements.back())
        r.fail("baseline elements are not strictly ascending");
      b.elements.push_back(static_cast<int>(z));
    }
    read_matrix_rows(r, b.coefficients, e, t, "baseline coefficient");
  }
  return b;
}

void read_provenance(core::ByteReader& r, TrainingInfo& info) {
  info.dataset = r.string(kMaxTextLength);
  info.seed = r.u64();
  info.folds = r.u32();
  info.cv_score = r.finite_f64("CV score");
  info.encmol_version = r.string(kMaxNameLength);
}

void validate_decoded(core::ByteReader& r, const Model& m) {
  r.expect_end();
  try {
    m.validate();
  } catch (const ParameterError& e) {
    r.fail(e.what());
  }
}

// Format 1: global KRR only, fields in the order of encmol 0.1.
Model decode_v1(core::ByteReader& r) {
  Model m;
  m.representation = chem::RepresentationSpec::read(r);
  GlobalKrr krr;
  const std::uint8_t kind = r.u8();
  if (kind < 1 || kind > 4) r.fail("unknown kernel kind " + std::to_string(kind));
  krr.kernel.kind = static_cast<KernelKind>(kind);
  krr.kernel.sigma = r.finite_f64("kernel sigma");
  krr.kernel.gamma = r.finite_f64("kernel gamma");
  krr.kernel.coef0 = r.finite_f64("kernel coef0");
  const std::uint32_t degree = r.u32();
  if (degree < 1 || degree > 16)
    r.fail("kernel degree " + std::to_string(degree) + " outside 1..16");
  krr.kernel.degree = static_cast<int>(degree);
  try {
    krr.kernel.validate();
  } catch (const ParameterError& e) {
    r.fail(e.what());
  }
  krr.lambda = r.finite_f64("lambda");
  if (krr.lambda < 0) r.fail("lambda is negative");
  const std::size_t t = r.count("target", kMaxTargets, 32);
  if (t == 0) r.fail("model has no targets");
  std::vector<double> stored_sum(t);
  for (std::size_t k = 0; k < t; ++k) {
    m.targets.push_back(r.string(kMaxNameLength));
    m.units.push_back(r.string(kMaxNameLength));
    m.label_scale.push_back(r.finite_f64("label scale"));
    stored_sum[k] = r.finite_f64("sum|alpha|");
  }
  m.baseline = read_baseline(r, t);
  const std::size_t n = r.count("training molecule", std::size_t{1} << 40, 8);
  const std::uint64_t d = r.u64();
  if (d != m.representation.dimension()) {
    r.fail("training representations have " + std::to_string(d) +
           " values each but the representation spec has " +
           std::to_string(m.representation.dimension()));
  }
  if (n == 0) r.fail("model has no training molecules");
  read_matrix_rows(r, krr.training_features, n, static_cast<std::size_t>(d),
                   "training representation");
  read_matrix_rows(r, krr.alpha, n, t, "alpha");
  read_provenance(r, m.info);
  m.info.training_size = n;
  const Eigen::VectorXd sa = krr.sum_abs_alpha();
  for (std::size_t k = 0; k < t; ++k) {
    const double a = sa(static_cast<Eigen::Index>(k));
    if (std::fabs(a - stored_sum[k]) > 1e-9 * std::max(1.0, std::fabs(a))) {
      r.fail("stored sum|alpha| of target '" + m.targets[k] + "' does not match its weights");
    }
  }
  m.body = std::move(krr);
  validate_decoded(r, m);
  return m;
}

}  // namespace

core::Bytes encode_model(const Model& model) {
  model.validate();
  core::ByteWriter w;
  w.u8(static_cast<std::uint8_t>(model.family()));
  model.representation.write(w);
  w.u64(model.targets.size());
  for (std::size_t t = 0; t < model.targets.size(); ++t) {
    w.string(model.targets[t]);
    w.string(model.units[t]);
    w.f64(model.label_scale[t]);
  }
  write_baseline(w, model.baseline);
  model.baseline.delta.write(w);
  model.atom_projection.write(w);
  model.atom_frame.write(w);
  std::visit([&](const auto& body) { body.write(w); }, model.body);
  w.string(model.info.dataset);
  w.u64(model.info.seed);
  w.u32(model.info.folds);
  w.f64(model.info.cv_score);
  w.string(model.info.encmol_version);
  w.u64(model.info.training_size);
  return w.take();
}

Model decode_model(std::span<const std::uint8_t> payload, const std::string& context,
                   std::uint32_t version) {
  core::ByteReader r(payload, context);
  if (version == 1) return decode_v1(r);
  if (version < 2 || version > kModelFormatVersion) {
    r.fail("model format version " + std::to_string(version) +
           " is not supported (this encmol reads 1 to " + std::to_string(kModelFormatVersion) +
           ")");
  }
  Model m;
  const std::uint8_t family = r.u8();
  m.representation = chem::RepresentationSpec::read(r);
  const std::size_t t = r.count("target", kMaxTargets, 24);
  if (t == 0) r.fail("model has no targets");
  for (std::size_t k = 0; k < t; ++k) {
    m.targets.push_back(r.string(kMaxNameLength));
    m.units.push_back(r.string(kMaxNameLength));
    m.label_scale.push_back(r.finite_f64("label scale"));
  }
  m.baseline = read_baseline(r, t);
  m.baseline.delta = DeltaBaseline::read(r, t);
  if (version >= 3) {
    m.atom_projection =
        AtomicPca::read(r, m.representation.is_atomic() ? m.representation.atom_dimension() : 0);
  }
  if (version >= 4)
    m.atom_frame = AtomFrame::read(r, m.representation.is_atomic() ? m.atom_input_dimension() : 0);
  switch (family) {
    case static_cast<std::uint8_t>(ModelFamily::GlobalKrr):
      m.body = GlobalKrr::read(r, m.representation.dimension(), t);
      break;
    case static_cast<std::uint8_t>(ModelFamily::LocalKrr):
      if (!m.representation.is_atomic())
        r.fail("a local kernel model needs an atomic representation");
      m.body = LocalKrr::read(r, m.atom_input_dimension(), t, version);
      break;
    case static_cast<std::uint8_t>(ModelFamily::RandomFeatures):
      if (!m.representation.is_atomic())
        r.fail("a random-feature model needs an atomic representation");
      m.body = RandomFeatureModel::read(r, m.atom_input_dimension(), t);
      break;
    case static_cast<std::uint8_t>(ModelFamily::Quadratic):
      if (!m.representation.is_atomic())
        r.fail("a quadratic atomic model needs an atomic representation");
      m.body = QuadraticAtomicModel::read(r, m.atom_input_dimension(), t);
      break;
    case static_cast<std::uint8_t>(ModelFamily::Network):
      if (!m.representation.is_atomic())
        r.fail("an atomic network model needs an atomic representation");
      m.body = AtomicNetwork::read(r, m.atom_input_dimension(), t);
      break;
    default:
      r.fail("unknown model family " + std::to_string(family) + " (written by a newer encmol?)");
  }
  read_provenance(r, m.info);
  m.info.training_size = r.u64();
  validate_decoded(r, m);
  return m;
}

void save_model_file(const std::filesystem::path& path, const Model& model) {
  const core::Bytes payload = encode_model(model);
  core::save_envelope_file(path, kModelKind, kModelFormatVersion, payload);
}

Model load_model_file(const std::filesystem::path& path) {
  const auto loaded = core::load_envelope_file(path, kModelKind, kModelFormatVersion, "model file",
                                               kMaxModelFileBytes);
  return decode_model(loaded.payload, path.string(), loaded.version);
}

}  // namespace encmol::ml
