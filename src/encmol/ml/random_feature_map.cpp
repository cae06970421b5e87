#include "encmol/ml/random_feature_map.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/linalg.hpp"
#include "encmol/ml/matrix_io.hpp"

namespace encmol::ml {
namespace {

constexpr std::size_t kChunkAtoms = 256;  // atoms per BLAS call in features()

std::string symbol_of(int z) {
  return chem::is_known_element(z) ? std::string(chem::element_symbol(z))
                                   : "Z=" + std::to_string(z);
}

std::string element_list(const std::vector<int>& elements) {
  std::string s;
  for (int z : elements) s += (s.empty() ? "" : " ") + symbol_of(z);
  return s;
}

// Top `k` eigenvectors of the symmetric `scatter` as rows, largest first; each
// row's largest-magnitude entry made positive (the sign is otherwise arbitrary).
ProjectionMatrix principal_axes(const Eigen::MatrixXd& scatter, std::size_t k) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(scatter);
  if (es.info() != Eigen::Success)
    throw ParameterError("PCA: the eigen-decomposition of the atom covariance failed");
  const Eigen::Index d = scatter.rows();
  ProjectionMatrix p(static_cast<Eigen::Index>(k), d);
  for (Eigen::Index i = 0; i < static_cast<Eigen::Index>(k); ++i) {
    Eigen::VectorXd v = es.eigenvectors().col(d - 1 - i);
    Eigen::Index arg = 0;
    v.cwiseAbs().maxCoeff(&arg);
    if (v(arg) < 0) v = -v;
    p.row(i) = v.transpose();
  }
  return p;
}

// Scatter matrix sum_a (x_a - mean)(x_a - mean)^T of the atoms `rows`.
Eigen::MatrixXd centered_scatter(const chem::AtomicFeatures& atoms,
                                 const std::vector<std::size_t>& rows) {
  chem::FeatureMatrix x(static_cast<Eigen::Index>(rows.size()), atoms.values.cols());
  for (std::size_t k = 0; k < rows.size(); ++k)
    x.row(static_cast<Eigen::Index>(k)) = atoms.values.row(static_cast<Eigen::Index>(rows[k]));
  const Eigen::RowVectorXd mean = x.colwise().mean();
  x.rowwise() -= mean;
  return syrk_xtx(x);
}

// The little-endian bytes of `n` doubles appended to `out` (what ByteWriter::f64 writes), in one
// pre-sized buffer: maps of a million values are hashed on every load.
void hash_doubles(std::vector<std::uint8_t>& out, const double* data, std::size_t n) {
  const std::size_t start = out.size();
  out.resize(start + 8 * n);
  std::uint8_t* p = out.data() + start;
  for (std::size_t i = 0; i < n; ++i) {
    const auto bits = std::bit_cast<std::uint64_t>(data[i]);
    for (int b = 0; b < 8; ++b) *p++ = static_cast<std::uint8_t>(bits >> (8 * b));
  }
}

}  // namespace

void RandomFeatureOptions::validate() const {
  if (features < 1 || features > kMaxRandomFeatures) {
    throw ParameterError("random features: the number of features must be between 1 and " +
                         std::to_string(kMaxRandomFeatures) + ", got " + std::to_string(features));
  }
  if (!std::isfinite(sigma) || !(sigma > 0))
    throw ParameterError("random features: sigma must be finite and > 0");
  if (pca > chem::kMaxRepresentationDimension)
    throw ParameterError("random features: PCA size is too large");
  if (kind != RandomFeatureKind::Fourier && kind != RandomFeatureKind::Orthogonal) {
    throw ParameterError("random features: unknown kind");
  }
}

std::vector<std::size_t> allocate_features(std::size_t total,
                                           const std::vector<std::size_t>& atom_counts) {
  const std::size_t e = atom_counts.size();
  if (e == 0) throw ParameterError("random features: no elements to allocate features to");
  if (total < e) {
    throw ParameterError("random features: " + std::to_string(total) + " features cannot cover " +
                         std::to_string(e) + " elements (at least one each)");
  }
  std::vector<double> weight(e);
  double sum = 0;
  for (std::size_t i = 0; i < e; ++i)
    sum += weight[i] = std::sqrt(static_cast<double>(atom_counts[i]));
  std::vector<std::size_t> out(e, 1);
  const std::size_t spare = total - e;
  std::vector<double> remainder(e, 0.0);
  std::size_t given = e;
  for (std::size_t i = 0; i < e; ++i) {
    const double ideal = sum > 0 ? static_cast<double>(spare) * weight[i] / sum
                                 : static_cast<double>(spare) / static_cast<double>(e);
    const auto whole = static_cast<std::size_t>(std::floor(ideal));
    out[i] += whole;
    given += whole;
    remainder[i] = ideal - static_cast<double>(whole);
  }
  std::vector<std::size_t> order(e);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  for (std::size_t k = 0; given < total; k = (k + 1) % e, ++given) ++out[order[k]];
  return out;
}

RandomFeatureMap RandomFeatureMap::make(const RandomFeatureOptions& options,
                                        const chem::AtomicFeatures& atoms) {
  options.validate();
  atoms.validate();
  if (atoms.atom_count() == 0) throw InputError("random features: no training atoms");
  RandomFeatureMap m;
  m.kind = options.kind;
  m.sigma = options.sigma;
  m.seed = options.seed;
  m.input_dimension = atoms.dimension();
  if (options.pca > m.input_dimension) {
    throw ParameterError("random features: PCA size " + std::to_string(options.pca) +
                         " exceeds the " + std::to_string(m.input_dimension) +
                         " values per atom of the representation");
  }
  m.pca = options.pca;
  m.shared_pca = options.pca > 0 && options.shared_pca;
  std::vector<std::vector<std::size_t>> rows;
  for (std::size_t a = 0; a < atoms.atom_count(); ++a) {
    const int z = atoms.charges[a];
    auto it = std::lower_bound(m.elements.begin(), m.elements.end(), z);
    const auto k = static_cast<std::size_t>(it - m.elements.begin());
    if (it == m.elements.end() || *it != z) {
      m.elements.insert(it, z);
      rows.insert(rows.begin() + static_cast<std::ptrdiff_t>(k), std::vector<std::size_t>{});
    }
    rows[k].push_back(a);
  }
  std::vector<std::size_t> atom_counts;
  for (const auto& r : rows) atom_counts.push_back(r.size());
  m.counts = allocate_features(options.features, atom_counts);
  if (m.pca > 0) {
    if (m.shared_pca) {
      Eigen::MatrixXd pooled = Eigen::MatrixXd::Zero(atoms.values.cols(), atoms.values.cols());
      for (const auto& r : rows) pooled += centered_scatter(atoms, r);
      m.projections.push_back(principal_axes(pooled, m.pca));
    } else {
      for (const auto& r : rows)
        m.projections.push_back(principal_axes(centered_scatter(atoms, r), m.pca));
    }
  }
  m.generate();
  return m;
}

std::size_t RandomFeatureMap::feature_count() const {
  return std::accumulate(counts.begin(), counts.end(), std::size_t{0});
}

std::size_t RandomFeatureMap::projected_dimension() const {
  return pca > 0 ? pca : input_dimension;
}

std::size_t RandomFeatureMap::offset(std::size_t element_index) const {
  return std::accumulate(
      counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(element_index), std::size_t{0});
}

const ProjectionMatrix* RandomFeatureMap::projection(std::size_t element_index) const {
  if (pca == 0) return nullptr;
  return &projections[shared_pca ? 0 : element_index];
}

void RandomFeatureMap::generate() {
  if (!std::isfinite(sigma) || !(sigma > 0))
    throw ParameterError("random features: sigma must be finite and > 0");
  if (counts.size() != elements.size())
    throw ParameterError("random features: one feature count per element needed");
  const std::size_t total = feature_count(), k = projected_dimension();
  if (total > kMaxRandomFeatures || (k > 0 && total > kMaxFrequencyValues / k)) {
    throw ParameterError("random features: " + std::to_string(total) + " features of " +
                         std::to_string(k) + " values each exceed the supported size");
  }
  frequencies.assign(elements.size(), FrequencyMatrix());
  phases.assign(elements.size(), Eigen::VectorXd());
  for (std::size_t e = 0; e < elements.size(); ++e) {
    sample_frequencies(kind, seed, elements[e], counts[e], k, frequencies[e], phases[e]);
    frequencies[e] /= sigma;  // one correctly rounded division per value: reproducible
  }
}

RandomFeatureMap RandomFeatureMap::with_sigma(double new_sigma) const {
  RandomFeatureMap m = *this;
  m.sigma = new_sigma;
  m.generate();
  return m;
}

chem::AtomicFeatures RandomFeatureMap::project(const chem::AtomicFeatures& atoms) const {
  atoms.validate();
  if (atoms.dimension() != input_dimension) {
    throw InputError("random features: atoms have " + std::to_string(atoms.dimension()) +
                     " values each, this feature map expects " + std::to_string(input_dimension));
  }
  chem::AtomicFeatures out;
  out.charges = atoms.charges;
  out.offsets = atoms.offsets;
  out.values.resize(atoms.values.rows(), static_cast<Eigen::Index>(projected_dimension()));
  for (std::size_t a = 0; a < atoms.atom_count(); ++a) {
    const auto it = std::lower_bound(elements.begin(), elements.end(), atoms.charges[a]);
    if (it == elements.end() || *it != atoms.charges[a]) {
      throw InputError("atom " + std::to_string(a + 1) + ": element " +
                       symbol_of(atoms.charges[a]) +
                       " did not occur in the training set of this model (it has " +
                       element_list(elements) + ")");
    }
    const auto row = static_cast<Eigen::Index>(a);
    if (const ProjectionMatrix* p = projection(static_cast<std::size_t>(it - elements.begin()))) {
      out.values.row(row) = (*p * atoms.values.row(row).transpose()).transpose();
    } else {
      out.values.row(row) = atoms.values.row(row);
    }
  }
  return out;
}

Eigen::MatrixXd RandomFeatureMap::features(const chem::AtomicFeatures& atoms) const {
  atoms.validate();
  if (atoms.dimension() != input_dimension) {
    throw InputError("random features: atoms have " + std::to_string(atoms.dimension()) +
                     " values each, this feature map expects " + std::to_string(input_dimension));
  }
  if (frequencies.size() != elements.size())
    throw ParameterError("random features: map not generated");
  const std::size_t n = atoms.molecule_count();
  // Atoms of each element in order, with their molecule.
  std::vector<std::vector<std::size_t>> rows(elements.size());
  std::vector<std::size_t> molecule_of(atoms.atom_count());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t a = atoms.offsets[i]; a < atoms.offsets[i + 1]; ++a) {
      const int z = atoms.charges[a];
      auto it = std::lower_bound(elements.begin(), elements.end(), z);
      if (it == elements.end() || *it != z) {
        throw InputError("molecule " + std::to_string(i + 1) + ", atom " +
                         std::to_string(a - atoms.offsets[i] + 1) + ": element " + symbol_of(z) +
                         " did not occur in the training set of this model (it has " +
                         element_list(elements) + ")");
      }
      rows[static_cast<std::size_t>(it - elements.begin())].push_back(a);
      molecule_of[a] = i;
    }
  }
  // Chunks of ~kChunkAtoms atoms of one element that never split a molecule,
  // so every output entry is summed by one chunk in atom order.
  struct Chunk {
    std::size_t element, begin, end;
  };
  std::vector<Chunk> chunks;
  for (std::size_t e = 0; e < rows.size(); ++e) {
    const auto& r = rows[e];
    for (std::size_t begin = 0; begin < r.size();) {
      std::size_t end = std::min(r.size(), begin + kChunkAtoms);
      while (end < r.size() && molecule_of[r[end]] == molecule_of[r[end - 1]]) ++end;
      chunks.push_back({e, begin, end});
      begin = end;
    }
  }
  std::vector<std::size_t> offsets(elements.size());
  for (std::size_t e = 0; e < elements.size(); ++e) offsets[e] = offset(e);
  Eigen::MatrixXd phi = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(n),
                                              static_cast<Eigen::Index>(feature_count()));
  const std::size_t d = input_dimension, k = projected_dimension();
  SingleThreadedBlas single;
  core::parallel_for(chunks.size(), [&](std::size_t c) {
    const Chunk& ch = chunks[c];
    const auto& r = rows[ch.element];
    const std::size_t b = ch.end - ch.begin, count = counts[ch.element];
    thread_local std::vector<double> x, y, u;
    x.resize(b * d);
    for (std::size_t a = 0; a < b; ++a) {
      std::memcpy(x.data() + a * d,
                  atoms.values.row(static_cast<Eigen::Index>(r[ch.begin + a])).data(),
                  d * sizeof(double));
    }
    const double* in = x.data();
    if (const ProjectionMatrix* p = projection(ch.element)) {
      // Column-major k x b of P x_a is row-major b x k.
      y.resize(b * k);
      gemm_rows_into(p->data(), k, x.data(), b, d, y.data());
      in = y.data();
    }
    u.resize(b * count);
    gemm_rows_into(in, b, frequencies[ch.element].data(), count, k,
                   u.data());  // column j: w_j . x_a
    const double scale = std::sqrt(2.0 / static_cast<double>(count));
    const Eigen::VectorXd& phase = phases[ch.element];
    for (std::size_t j = 0; j < count; ++j) {
      double* out = phi.col(static_cast<Eigen::Index>(offsets[ch.element] + j)).data();
      const double* uj = u.data() + j * b;
      const double bj = phase(static_cast<Eigen::Index>(j));
      for (std::size_t a = 0; a < b; ++a)
        out[molecule_of[r[ch.begin + a]]] += scale * std::cos(uj[a] + bj);
    }
  });
  return phi;
}

core::Digest RandomFeatureMap::digest() const {
  std::vector<std::uint8_t> digests;
  for (std::size_t e = 0; e < frequencies.size(); ++e) {
    std::vector<std::uint8_t> bytes;
    hash_doubles(bytes, frequencies[e].data(), static_cast<std::size_t>(frequencies[e].size()));
    hash_doubles(bytes, phases[e].data(), static_cast<std::size_t>(phases[e].size()));
    const core::Digest d = core::blake2b_256(bytes);
    digests.insert(digests.end(), d.begin(), d.end());
  }
  return core::blake2b_256(digests);
}

void RandomFeatureMap::validate() const {
  auto fail = [](const std::string& what) {
    throw ParameterError("invalid random-feature map: " + what);
  };
  if (kind != RandomFeatureKind::Fourier && kind != RandomFeatureKind::Orthogonal)
    fail("unknown kind");
  if (!std::isfinite(sigma) || !(sigma > 0)) fail("sigma must be finite and > 0");
  if (elements.empty()) fail("no elements");
  for (std::size_t e = 0; e < elements.size(); ++e) {
    if (!chem::is_known_element(elements[e]) || (e > 0 && elements[e] <= elements[e - 1])) {
      fail("elements must be known and strictly increasing");
    }
  }
  if (counts.size() != elements.size()) fail("one feature count per element needed");
  for (std::size_t c : counts)
    if (c == 0) fail("an element has no features");
  if (feature_count() > kMaxRandomFeatures) fail("too many features");
  if (input_dimension == 0) fail("zero input dimension");
  if (pca > input_dimension) fail("PCA size exceeds the input dimension");
  const std::size_t expected = pca == 0 ? 0 : (shared_pca ? 1 : elements.size());
  if (projections.size() != expected) fail("wrong number of projections");
  for (const auto& p : projections) {
    if (p.rows() != static_cast<Eigen::Index>(pca) ||
        p.cols() != static_cast<Eigen::Index>(input_dimension) || !p.allFinite()) {
      fail("projection of the wrong size or with non-finite values");
    }
  }
  if (frequencies.size() != elements.size() || phases.size() != elements.size())
    fail("not generated");
  for (std::size_t e = 0; e < elements.size(); ++e) {
    if (frequencies[e].rows() != static_cast<Eigen::Index>(counts[e]) ||
        frequencies[e].cols() != static_cast<Eigen::Index>(projected_dimension()) ||
        phases[e].size() != static_cast<Eigen::Index>(counts[e])) {
      fail("generated frequencies do not match the feature counts");
    }
  }
}

void RandomFeatureMap::write(core::ByteWriter& w) const {
  w.u8(static_cast<std::uint8_t>(kind));
  w.f64(sigma);
  w.u64(seed);
  w.u64(input_dimension);
  w.u64(elements.size());
  for (std::size_t e = 0; e < elements.size(); ++e) {
    w.u32(static_cast<std::uint32_t>(elements[e]));
    w.u64(counts[e]);
  }
  w.u64(pca);
  w.u8(shared_pca ? 1 : 0);
  for (const auto& p : projections) write_matrix_rows(w, p);
  const core::Digest d = digest();
  w.bytes(d);
}

RandomFeatureMap RandomFeatureMap::read(core::ByteReader& r, std::size_t atom_dimension,
                                        std::size_t bytes_per_feature,
                                        std::size_t max_frequency_values) {
  RandomFeatureMap m;
  const std::uint8_t kind = r.u8();
  if (kind < 1 || kind > 2) r.fail("unknown random-feature kind " + std::to_string(kind));
  m.kind = static_cast<RandomFeatureKind>(kind);
  m.sigma = r.finite_f64("random-feature sigma");
  if (!(m.sigma > 0)) r.fail("random-feature sigma must be > 0");
  m.seed = r.u64();
  m.input_dimension = r.u64();
  if (m.input_dimension != atom_dimension) {
    r.fail("random features expect " + std::to_string(m.input_dimension) +
           " values per atom but the representation has " + std::to_string(atom_dimension));
  }
  const std::size_t e_count = r.count("random-feature element", chem::kMaxAtomicNumber, 12);
  if (e_count == 0) r.fail("random features without elements");
  std::size_t total = 0;
  for (std::size_t e = 0; e < e_count; ++e) {
    const std::uint32_t z = r.u32();
    if (!chem::is_known_element(static_cast<int>(z)) ||
        (e > 0 && static_cast<int>(z) <= m.elements.back())) {
      r.fail("random-feature elements must be known and strictly increasing");
    }
    const std::uint64_t c = r.u64();
    if (c == 0 || c > kMaxRandomFeatures || total + c > kMaxRandomFeatures) {
      r.fail("random-feature counts must be between 1 and " + std::to_string(kMaxRandomFeatures) +
             " in all");
    }
    m.elements.push_back(static_cast<int>(z));
    m.counts.push_back(static_cast<std::size_t>(c));
    total += static_cast<std::size_t>(c);
  }
  const std::uint64_t pca = r.u64();
  if (pca > m.input_dimension) r.fail("random-feature PCA size exceeds the values per atom");
  m.pca = static_cast<std::size_t>(pca);
  const std::uint8_t shared = r.u8();
  if (shared > 1 || (shared == 1 && m.pca == 0)) r.fail("invalid shared-PCA flag");
  m.shared_pca = shared == 1;
  const std::size_t k = m.projected_dimension();
  if (total > std::min(kMaxFrequencyValues, max_frequency_values) / std::max<std::size_t>(k, 1))
    r.fail("random-feature map is larger than supported (" + std::to_string(total) +
           " features of " + std::to_string(k) + " values)");
  const std::size_t projections = m.pca == 0 ? 0 : (m.shared_pca ? 1 : e_count);
  for (std::size_t p = 0; p < projections; ++p) {
    m.projections.emplace_back();
    read_matrix_rows(r, m.projections.back(), m.pca, m.input_dimension, "PCA projection");
  }
  const auto stored = r.bytes(32);
  if (bytes_per_feature > 0 && r.remaining() / bytes_per_feature < total) {
    r.fail("the data after the random-feature map is too short for its " + std::to_string(total) +
           " features");
  }
  m.generate();
  const core::Digest d = m.digest();
  if (!std::equal(d.begin(), d.end(), stored.begin())) {
    r.fail(
        "the random features do not regenerate identically from the stored seed (written by an "
        "incompatible "
        "encmol version, or corrupted)");
  }
  return m;
}

}  // namespace encmol::ml
