#include "encmol/audit/reconstruct.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <unordered_map>

#include "encmol/chem/coulomb_matrix.hpp"
#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::audit {
namespace {

/// Largest molecule refined by Levenberg–Marquardt after MDS.
constexpr std::size_t kMaxRefineAtoms = 200;

/// Relative tolerance for "this diagonal value is 0.5 Z^2.4 of an element".
constexpr double kSelfTermTolerance = 1e-6;

int element_from_self_term(double value, const std::string& where) {
  if (!std::isfinite(value) || value <= 0.0) {
    throw InputError(where + ": diagonal value " + std::to_string(value) +
                     " is not a Coulomb self term 0.5 Z^2.4");
  }
  const double z_real = std::pow(2.0 * value, 1.0 / 2.4);
  const double z_round = std::round(z_real);
  if (!(z_round >= 1.0 && z_round <= chem::kMaxAtomicNumber)) {
    throw InputError(where + ": diagonal value " + std::to_string(value) +
                     " corresponds to no element (Z = " + std::to_string(z_real) + ")");
  }
  const int z = static_cast<int>(z_round);
  const double expect = chem::coulomb_self_term(z);
  if (std::abs(expect - value) > kSelfTermTolerance * expect) {
    throw InputError(where + ": diagonal value " + std::to_string(value) +
                     " is not 0.5 Z^2.4 of any element (nearest: Z = " + std::to_string(z) +
                     ", " + std::to_string(expect) + ")");
  }
  return z;
}

double distance_from_value(double value, int za, int zb, const std::string& where) {
  if (!std::isfinite(value) || value <= 0.0) {
    throw InputError(where + ": off-diagonal value " + std::to_string(value) +
                     " is not a Coulomb term Z_i Z_j / r (must be positive)");
  }
  const double r = static_cast<double>(za) * zb / value;
  if (!(r >= chem::kMinInteratomicDistance * (1.0 - 1e-9))) {
    throw InputError(where + ": off-diagonal value " + std::to_string(value) + " means atoms " +
                     std::to_string(r) + " Å apart, closer than any real molecule");
  }
  return r;
}

}  // namespace

CmInversion invert_coulomb_matrix(std::span<const double> features, std::size_t max_atoms,
                                  const std::string& label) {
  if (features.size() != chem::coulomb_matrix_size(max_atoms)) {
    throw InputError(label + ": " + std::to_string(features.size()) +
                     " values is not a flattened Coulomb matrix of " + std::to_string(max_atoms) +
                     " atoms (" + std::to_string(chem::coulomb_matrix_size(max_atoms)) + " values)");
  }
  for (double v : features) {
    if (!std::isfinite(v)) throw InputError(label + ": non-finite value in the Coulomb matrix");
  }
  auto at = [&](std::size_t i, std::size_t j) { return features[i * (i + 1) / 2 + j]; };
  std::size_t n = 0;
  while (n < max_atoms && at(n, n) != 0.0) ++n;
  if (n == 0) throw InputError(label + ": empty Coulomb matrix (no atoms)");
  // Padding rows must be entirely zero.
  for (std::size_t i = n; i < max_atoms; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      if (at(i, j) != 0.0) {
        throw InputError(label + ": entry (" + std::to_string(i + 1) + ", " + std::to_string(j + 1) +
                         ") lies in the zero padding after " + std::to_string(n) +
                         " atoms but is not zero; not a sorted Coulomb matrix");
      }
    }
  }
  CmInversion out;
  chem::Molecule& m = out.molecule;
  m.charges.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    m.charges[i] = element_from_self_term(at(i, i), label + " atom " + std::to_string(i + 1));
  }
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const double r = distance_from_value(at(i, j), m.charges[i], m.charges[j],
                                           label + " pair (" + std::to_string(i + 1) + ", " +
                                               std::to_string(j + 1) + ")");
      d(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = r;
      d(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(i)) = r;
    }
  }
  const Eigen::MatrixXd start = classical_mds(d);
  // Exact distances make MDS exact already; the refinement (dense normal
  // equations, O(n^3) per step) is for noisy values and skipped for very
  // large "molecules" a hostile file might declare.
  const RefineResult refined = n <= kMaxRefineAtoms ? refine_to_distances(start, d)
                                                    : RefineResult{start, distance_rms_residual(start, d), 0};
  out.distance_residual = refined.rms_residual;
  m.positions.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) m.positions[i][c] = refined.coordinates(static_cast<Eigen::Index>(i), c);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Bag of Bonds

namespace {

/// A multiset of distances with "used" marks, sorted ascending.
struct DistanceBag {
  std::vector<double> values;
  std::vector<char> used;

  /// Marks and returns the unused entry closest to d if it lies within tol, or -1.
  long take(double d, double tol) {
    auto it = std::lower_bound(values.begin(), values.end(), d - tol);
    long best = -1;
    double best_err = tol;
    for (; it != values.end() && *it <= d + tol; ++it) {
      const auto i = static_cast<std::size_t>(it - values.begin());
      if (!used[i] && std::abs(*it - d) <= best_err) {
        best = static_cast<long>(i);
        best_err = std::abs(*it - d);
      }
    }
    if (best >= 0) used[static_cast<std::size_t>(best)] = 1;
    return best;
  }
};

// Thresholds (Å) for an atom to define the plane / the third axis of the
// reference frame. The plane reference divides in the trilateration, so a
// nearly collinear one would amplify rounding; atoms closer to the axis than
// this are placed at azimuth 0, which the matching tolerance absorbs.
constexpr double kPlaneThreshold = 1e-4;
constexpr double kSpaceThreshold = 1e-5;

class BobAssembler {
 public:
  BobAssembler(std::vector<int> atoms, std::map<std::pair<int, int>, DistanceBag> bags,
               const BobSearchOptions& options)
      : z_(std::move(atoms)), bags_(std::move(bags)), options_(options), pos_(z_.size()),
        dist_(Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(z_.size()), static_cast<Eigen::Index>(z_.size()))) {}

  bool run() { return place(0); }
  bool exhausted() const { return exhausted_; }
  std::uint64_t nodes() const { return nodes_; }
  const std::vector<chem::Vec3>& positions() const { return pos_; }
  /// The distance of every pair as taken from the bags (valid after run()).
  const Eigen::MatrixXd& distances() const { return dist_; }

 private:
  DistanceBag& bag(int a, int b) { return bags_.at({std::min(a, b), std::max(a, b)}); }

  static double dist(const chem::Vec3& p, const chem::Vec3& q) {
    const double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
    return std::sqrt(dx * dx + dy * dy + dz * dz);
  }

  /// Checks atom k at `p` against every placed atom except `skip` (already
  /// consumed), consuming matches; undoes and returns false on a mismatch.
  /// `slack`: how far atom k may be from its true place (see slack_).
  bool try_position(std::size_t k, const chem::Vec3& p, double slack,
                    std::initializer_list<std::size_t> skip,
                    std::vector<std::pair<DistanceBag*, long>>& taken) {
    const std::size_t mark = taken.size();
    for (std::size_t j = 0; j < k; ++j) {
      if (std::find(skip.begin(), skip.end(), j) != skip.end()) continue;
      DistanceBag& b = bag(z_[j], z_[k]);
      const long idx = b.take(dist(p, pos_[j]), options_.tolerance + slack + slack_[j]);
      if (idx < 0) {
        undo(taken, mark);
        return false;
      }
      taken.emplace_back(&b, idx);
      set_distance(j, k, b.values[static_cast<std::size_t>(idx)]);
    }
    pos_[k] = p;
    slack_[k] = slack;
    return true;
  }

  void set_distance(std::size_t a, std::size_t b, double d) {
    dist_(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) = d;
    dist_(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(a)) = d;
  }

  static void undo(std::vector<std::pair<DistanceBag*, long>>& taken, std::size_t mark) {
    while (taken.size() > mark) {
      taken.back().first->used[static_cast<std::size_t>(taken.back().second)] = 0;
      taken.pop_back();
    }
  }

  /// Calls f(index) for each distinct unused value of `b` within [lo, hi].
  template <typename F>
  bool for_each_value(DistanceBag& b, double lo, double hi, F&& f) {
    auto it = std::lower_bound(b.values.begin(), b.values.end(), lo - options_.tolerance);
    double last = -1.0;
    for (; it != b.values.end() && *it <= hi + options_.tolerance; ++it) {
      const auto i = static_cast<std::size_t>(it - b.values.begin());
      if (b.used[i] || (last >= 0.0 && *it - last < 1e-12)) continue;
      last = *it;
      if (++nodes_ > options_.node_budget) {
        exhausted_ = true;
        return true;
      }
      b.used[i] = 1;
      const bool done = f(*it);
      b.used[i] = 0;
      if (done) return true;
    }
    return false;
  }

  bool place(std::size_t k) {
    if (exhausted_) return false;
    if (k == z_.size()) return true;
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<std::pair<DistanceBag*, long>> taken;
    if (k == 0) {
      pos_[0] = {0.0, 0.0, 0.0};
      return place(1);
    }
    if (k == 1) {
      // WLOG atoms 0 and 1 are the pair of their elements at the shortest
      // distance of their bag (atoms of one element are interchangeable).
      DistanceBag& b = bag(z_[0], z_[1]);
      for (std::size_t i = 0; i < b.values.size(); ++i) {
        if (b.used[i]) continue;
        b.used[i] = 1;
        pos_[1] = {b.values[i], 0.0, 0.0};
        set_distance(0, 1, b.values[i]);
        const bool ok = place(2);
        b.used[i] = 0;
        return ok;
      }
      return false;
    }
    const double d01 = pos_[1][0];
    // Reference frame: atom 0 at the origin, atom 1 on +x, ref2 (the first atom
    // off the x axis) in the xy plane with y > 0, ref3 (the first atom off that
    // plane) with z > 0.
    const bool has_plane = ref2_ > 0 && ref2_ < k;
    const bool has_space = ref3_ > 0 && ref3_ < k;
    bool found = false;
    // Symmetry breaking: atoms of one element are interchangeable, so label
    // them by increasing distance from atom 0 (atom 1 already is the closest
    // of its element). Each atom's r0 is then at least its predecessor's.
    const double r0_min = (k >= 2 && z_[k - 1] == z_[k])
                              ? dist_(0, static_cast<Eigen::Index>(k - 1)) - options_.tolerance - slack_[k - 1]
                              : 0.0;
    for_each_value(bag(z_[0], z_[k]), r0_min, inf, [&](double r0) {
      return for_each_value(bag(z_[1], z_[k]), std::abs(r0 - d01), r0 + d01, [&](double r1) {
        const double x = (r0 * r0 - r1 * r1 + d01 * d01) / (2.0 * d01);
        const double rho2 = r0 * r0 - x * x;
        if (rho2 < -1e-6) return false;
        const double rho = std::sqrt(std::max(0.0, rho2));
        if (!has_plane) {
          // Everything so far is collinear: the new atom fixes the plane (y >= 0).
          const chem::Vec3 p{x, rho, 0.0};
          // Below the plane threshold the azimuth is a guess: allow for it.
          const double slack = rho > kPlaneThreshold ? 0.0 : 2.0 * rho;
          if (!try_position(k, p, slack, {0, 1}, taken)) return false;
          set_distance(0, k, r0);
          set_distance(1, k, r1);
          const std::size_t saved = ref2_;
          if (rho > kPlaneThreshold) ref2_ = k;
          if (place(k + 1)) return found = true;
          ref2_ = saved;
          undo(taken, 0);
          return false;
        }
        const chem::Vec3& q = pos_[ref2_];
        const double dx = x - q[0];
        const double lo = std::sqrt(dx * dx + (rho - q[1]) * (rho - q[1]));
        const double hi = std::sqrt(dx * dx + (rho + q[1]) * (rho + q[1]));
        return for_each_value(bag(z_[ref2_], z_[k]), lo, hi, [&](double r2) {
          const double y = (r0 * r0 - r2 * r2 + q[0] * q[0] + q[1] * q[1] - 2.0 * x * q[0]) / (2.0 * q[1]);
          const double z2 = r0 * r0 - x * x - y * y;
          if (z2 < -1e-6) return false;
          const double z = std::sqrt(std::max(0.0, z2));
          const int signs = (has_space && z > 1e-9) ? 2 : 1;
          for (int s = 0; s < signs; ++s) {
            const chem::Vec3 p{x, y, s == 0 ? z : -z};
            // Before the frame has a third axis the sign of a small z is a guess.
            const double slack = (has_space || z > kSpaceThreshold) ? 0.0 : 2.0 * z;
            if (!try_position(k, p, slack, {0, 1, ref2_}, taken)) continue;
            set_distance(0, k, r0);
            set_distance(1, k, r1);
            set_distance(ref2_, k, r2);
            const std::size_t saved = ref3_;
            if (!has_space && z > kSpaceThreshold) ref3_ = k;
            if (place(k + 1)) return found = true;
            ref3_ = saved;
            undo(taken, 0);
            if (exhausted_) return true;
          }
          return false;
        });
      });
    });
    return found && !exhausted_;
  }

  std::vector<int> z_;
  std::map<std::pair<int, int>, DistanceBag> bags_;
  BobSearchOptions options_;
  std::vector<chem::Vec3> pos_;
  Eigen::MatrixXd dist_;
  // Per placed atom, how far it may lie from the position consistent with the
  // frame (atoms placed before the frame was fixed); widens its matches.
  std::vector<double> slack_ = std::vector<double>(z_.size(), 0.0);
  std::size_t ref2_ = 0, ref3_ = 0;
  std::uint64_t nodes_ = 0;
  bool exhausted_ = false;
};

}  // namespace

BobInversion invert_bag_of_bonds(std::span<const double> features, const chem::BagLayout& layout,
                                 const BobSearchOptions& options, const std::string& label) {
  if (features.size() != layout.dimension) {
    throw InputError(label + ": " + std::to_string(features.size()) +
                     " values does not match the Bag-of-Bonds layout (" +
                     std::to_string(layout.dimension) + " values)");
  }
  for (double v : features) {
    if (!std::isfinite(v)) throw InputError(label + ": non-finite value in the Bag of Bonds");
  }
  BobInversion out;
  std::map<int, std::size_t> count;
  for (const auto& bag : layout.bags) {
    if (!bag.self) continue;
    const double expect = chem::coulomb_self_term(bag.z_a);
    std::size_t c = 0;
    for (std::size_t i = 0; i < bag.size; ++i) {
      const double v = features[bag.offset + i];
      if (v == 0.0) continue;
      if (std::abs(v - expect) > kSelfTermTolerance * expect) {
        throw InputError(label + ": self bag of " + std::string(chem::element_symbol(bag.z_a)) +
                         " holds " + std::to_string(v) + ", expected 0.5 Z^2.4 = " +
                         std::to_string(expect));
      }
      ++c;
    }
    count[bag.z_a] = c;
  }
  for (const auto& [z, c] : count) out.charges.insert(out.charges.end(), c, z);
  if (out.charges.empty()) throw InputError(label + ": empty Bag of Bonds (no atoms)");
  std::map<std::pair<int, int>, DistanceBag> bags;
  for (const auto& bag : layout.bags) {
    if (bag.self) continue;
    PairDistances pd{bag.z_a, bag.z_b, {}};
    for (std::size_t i = 0; i < bag.size; ++i) {
      const double v = features[bag.offset + i];
      if (v == 0.0) continue;
      pd.distances.push_back(distance_from_value(
          v, bag.z_a, bag.z_b,
          label + " bag " + std::string(chem::element_symbol(bag.z_a)) + "-" +
              std::string(chem::element_symbol(bag.z_b))));
    }
    const std::size_t na = count[bag.z_a], nb = count[bag.z_b];
    const std::size_t expect = bag.z_a == bag.z_b ? na * (na - (na ? 1 : 0)) / 2 : na * nb;
    if (pd.distances.size() != expect) {
      throw InputError(label + ": bag " + std::string(chem::element_symbol(bag.z_a)) + "-" +
                       std::string(chem::element_symbol(bag.z_b)) + " holds " +
                       std::to_string(pd.distances.size()) + " distances but the composition needs " +
                       std::to_string(expect));
    }
    std::sort(pd.distances.begin(), pd.distances.end());
    if (!pd.distances.empty()) {
      bags[{bag.z_a, bag.z_b}] = DistanceBag{pd.distances, std::vector<char>(pd.distances.size(), 0)};
      out.pairs.push_back(std::move(pd));
    }
  }
  // Place heavy atoms first (fewer of them, more distinctive distances).
  std::vector<int> atoms = out.charges;
  std::sort(atoms.begin(), atoms.end(), std::greater<>());
  if (atoms.size() == 1) {
    chem::Molecule m;
    m.charges = atoms;
    m.positions = {chem::Vec3{0.0, 0.0, 0.0}};
    out.geometry = std::move(m);
    return out;
  }
  BobAssembler assembler(atoms, std::move(bags), options);
  const bool ok = assembler.run();
  out.nodes = assembler.nodes();
  out.budget_exhausted = assembler.exhausted();
  if (ok) {
    // The search matched distances within the tolerance; refine the structure
    // against the exact distances it assigned to every pair.
    chem::Molecule m;
    m.charges = atoms;
    m.positions = assembler.positions();
    const RefineResult refined = refine_to_distances(positions_matrix(m), assembler.distances());
    for (std::size_t i = 0; i < m.size(); ++i) {
      for (int c = 0; c < 3; ++c) m.positions[i][c] = refined.coordinates(static_cast<Eigen::Index>(i), c);
    }
    out.geometry = std::move(m);
  }
  return out;
}

std::vector<PairDistances> pair_distances(const chem::Molecule& molecule) {
  std::map<std::pair<int, int>, std::vector<double>> by_pair;
  for (std::size_t i = 0; i < molecule.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const int a = std::min(molecule.charges[i], molecule.charges[j]);
      const int b = std::max(molecule.charges[i], molecule.charges[j]);
      const auto& p = molecule.positions[i];
      const auto& q = molecule.positions[j];
      by_pair[{a, b}].push_back(std::sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) +
                                          (p[2] - q[2]) * (p[2] - q[2])));
    }
  }
  std::vector<PairDistances> out;
  for (auto& [key, d] : by_pair) {
    std::sort(d.begin(), d.end());
    out.push_back({key.first, key.second, std::move(d)});
  }
  return out;
}

bool same_pair_distances(const std::vector<PairDistances>& a, const std::vector<PairDistances>& b,
                         double tolerance) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].z_a != b[k].z_a || a[k].z_b != b[k].z_b || a[k].distances.size() != b[k].distances.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a[k].distances.size(); ++i) {
      if (std::abs(a[k].distances[i] - b[k].distances[i]) > tolerance) return false;
    }
  }
  return true;
}

namespace {

struct RowHash {
  std::size_t operator()(const std::vector<double>& v) const {
    std::size_t h = 1469598103934665603ull;
    for (double x : v) {
      std::uint64_t bits = 0;
      std::memcpy(&bits, &x, sizeof bits);
      h = (h ^ bits) * 1099511628211ull;
    }
    return h;
  }
};

}  // namespace

std::vector<std::optional<std::size_t>> match_training_rows(const ml::Model& model,
                                                            const std::vector<chem::Molecule>& data) {
  std::unordered_map<std::vector<double>, std::size_t, RowHash> index;
  const std::size_t dim = model.representation.dimension();
  std::vector<double> row(dim);
  for (std::size_t i = 0; i < data.size(); ++i) {
    try {
      model.representation.featurize(data[i], row);
    } catch (const InputError&) {
      continue;  // cannot be a training molecule of this model
    }
    index.emplace(row, i);  // first occurrence wins for duplicates
  }
  std::vector<std::optional<std::size_t>> out(model.training_size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    const auto* p = model.global_krr().training_features.row(static_cast<Eigen::Index>(r)).data();
    const auto it = index.find(std::vector<double>(p, p + dim));
    if (it != index.end()) out[r] = it->second;
  }
  return out;
}

ReconstructionReport reconstruct_model(const ml::Model& model,
                                       const std::vector<chem::Molecule>* reference,
                                       const ReconstructionOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ReconstructionReport report;
  report.kind = model.representation.kind();
  report.training_rows = model.training_size();
  const std::size_t n = options.limit ? std::min(options.limit, report.training_rows) : report.training_rows;
  report.attempted = n;
  if (static_cast<std::size_t>(model.global_krr().training_features.rows()) != report.training_rows ||
      static_cast<std::size_t>(model.global_krr().training_features.cols()) != model.representation.dimension()) {
    throw InputError("the model's training representations (" +
                     std::to_string(model.global_krr().training_features.rows()) + " x " +
                     std::to_string(model.global_krr().training_features.cols()) +
                     ") do not match its representation; the model file is inconsistent");
  }
  std::vector<std::optional<std::size_t>> matches;
  if (reference) matches = match_training_rows(model, *reference);
  report.items.resize(n);
  const std::size_t dim = model.representation.dimension();
  core::parallel_for(n, [&](std::size_t r) {
    ReconstructedItem& item = report.items[r];
    item.row = r;
    const std::span<const double> features(model.global_krr().training_features.row(static_cast<Eigen::Index>(r)).data(), dim);
    const std::string label = "training row " + std::to_string(r + 1);
    std::vector<PairDistances> recovered_pairs;
    if (report.kind == chem::RepresentationKind::CoulombMatrix) {
      CmInversion inv = invert_coulomb_matrix(features, model.representation.max_atoms(), label);
      item.distance_residual = inv.distance_residual;
      recovered_pairs = pair_distances(inv.molecule);
      item.molecule = std::move(inv.molecule);
      item.formula = chem::molecular_formula(*item.molecule);
    } else {
      chem::BagLayout layout;
      layout.elements = model.representation.elements();
      layout.capacity = model.representation.element_capacity();
      layout.bags = model.representation.bags();
      layout.dimension = dim;
      BobInversion inv = invert_bag_of_bonds(features, layout, options.bob, label);
      item.budget_exhausted = inv.budget_exhausted;
      chem::Molecule composition;
      composition.charges = inv.charges;
      item.formula = chem::molecular_formula(composition);
      recovered_pairs = std::move(inv.pairs);
      if (inv.geometry) item.molecule = std::move(inv.geometry);
    }
    if (item.molecule) item.molecule->name = "reconstructed-" + std::to_string(r + 1);
    if (reference && matches[r]) {
      const chem::Molecule& truth = (*reference)[*matches[r]];
      item.reference = matches[r];
      if (item.molecule && !truth.name.empty()) item.molecule->name += " " + truth.name;
      item.composition_match = item.formula == chem::molecular_formula(truth);
      item.distances_match = same_pair_distances(recovered_pairs, pair_distances(truth));
      if (item.molecule) {
        const MatchResult m = compare_molecules(*item.molecule, truth);
        item.rmsd = m.rmsd;
        item.exact = m.exact(options.rmsd_tolerance);
      }
    }
  });
  for (const auto& item : report.items) {
    if (item.molecule) ++report.geometries;
    if (item.budget_exhausted) ++report.budget_exhausted;
    if (item.reference) {
      ++report.with_reference;
      if (item.composition_match) ++report.composition_recovered;
      if (item.distances_match) ++report.distances_recovered;
      if (item.exact) ++report.exact;
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace encmol::audit
