#include "encmol/audit/geometry.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <Eigen/Dense>

#include "encmol/core/error.hpp"

namespace encmol::audit {

Eigen::MatrixXd positions_matrix(const chem::Molecule& molecule) {
  Eigen::MatrixXd x(static_cast<Eigen::Index>(molecule.size()), 3);
  for (std::size_t i = 0; i < molecule.size(); ++i) {
    for (int c = 0; c < 3; ++c) x(static_cast<Eigen::Index>(i), c) = molecule.positions[i][c];
  }
  return x;
}

Eigen::MatrixXd distance_matrix(const Eigen::MatrixXd& x) {
  const Eigen::Index n = x.rows();
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < i; ++j) {
      d(i, j) = d(j, i) = (x.row(i) - x.row(j)).norm();
    }
  }
  return d;
}

Eigen::MatrixXd classical_mds(const Eigen::MatrixXd& distances) {
  const Eigen::Index n = distances.rows();
  if (distances.cols() != n) throw ParameterError("classical_mds: distance matrix is not square");
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, 3);
  if (n < 2) return x;
  const Eigen::MatrixXd d2 = distances.array().square().matrix();
  // B = -1/2 J D2 J with J = I - 11^T/n, computed by subtracting row/column means.
  const Eigen::VectorXd row_mean = d2.rowwise().mean();
  const double total_mean = row_mean.mean();
  Eigen::MatrixXd b(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) {
      b(i, j) = -0.5 * (d2(i, j) - row_mean(i) - row_mean(j) + total_mean);
    }
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(b);
  const Eigen::Index dims = std::min<Eigen::Index>(3, n);
  for (Eigen::Index k = 0; k < dims; ++k) {
    const Eigen::Index idx = n - 1 - k;  // eigenvalues ascend
    const double lambda = std::max(0.0, eig.eigenvalues()(idx));
    x.col(k) = eig.eigenvectors().col(idx) * std::sqrt(lambda);
  }
  return x;
}

double distance_rms_residual(const Eigen::MatrixXd& x, const Eigen::MatrixXd& distances) {
  const Eigen::Index n = x.rows();
  if (n < 2) return 0.0;
  double sum = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < i; ++j) {
      const double r = (x.row(i) - x.row(j)).norm() - distances(i, j);
      sum += r * r;
    }
  }
  return std::sqrt(sum / static_cast<double>(n * (n - 1) / 2));
}

RefineResult refine_to_distances(const Eigen::MatrixXd& start, const Eigen::MatrixXd& distances,
                                 int max_iterations) {
  const Eigen::Index n = start.rows();
  RefineResult result;
  result.coordinates = start;
  if (n < 2) return result;
  const Eigen::Index p = 3 * n;
  auto cost_of = [&](const Eigen::MatrixXd& x) {
    double sum = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = 0; j < i; ++j) {
        const double r = (x.row(i) - x.row(j)).norm() - distances(i, j);
        sum += r * r;
      }
    }
    return sum;
  };
  Eigen::MatrixXd x = start;
  double cost = cost_of(x);
  double mu = 1e-3;
  Eigen::MatrixXd jtj(p, p);
  Eigen::VectorXd jtr(p);
  int it = 0;
  for (; it < max_iterations && cost > 1e-26; ++it) {
    // Normal equations of the residuals r_ij = |x_i - x_j| - D_ij.
    jtj.setZero();
    jtr.setZero();
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = 0; j < i; ++j) {
        Eigen::Vector3d diff = (x.row(i) - x.row(j)).transpose();
        const double len = diff.norm();
        if (len < 1e-12) continue;  // gradient undefined; the damping moves the atoms apart
        const Eigen::Vector3d g = diff / len;
        const double r = len - distances(i, j);
        const Eigen::Matrix3d gg = g * g.transpose();
        jtj.block(3 * i, 3 * i, 3, 3) += gg;
        jtj.block(3 * j, 3 * j, 3, 3) += gg;
        jtj.block(3 * i, 3 * j, 3, 3) -= gg;
        jtj.block(3 * j, 3 * i, 3, 3) -= gg;
        jtr.segment<3>(3 * i) += g * r;
        jtr.segment<3>(3 * j) -= g * r;
      }
    }
    if (jtr.norm() < 1e-15) break;
    bool improved = false;
    for (int attempt = 0; attempt < 30; ++attempt) {
      // Damping with the identity: J^T J is singular along the 6 rigid motions.
      Eigen::MatrixXd a = jtj;
      a.diagonal().array() += mu;
      const Eigen::VectorXd step = a.ldlt().solve(-jtr);
      Eigen::MatrixXd trial = x;
      for (Eigen::Index i = 0; i < n; ++i) trial.row(i) += step.segment<3>(3 * i).transpose();
      const double trial_cost = cost_of(trial);
      if (std::isfinite(trial_cost) && trial_cost < cost) {
        const double gain = cost - trial_cost;
        x = std::move(trial);
        cost = trial_cost;
        mu = std::max(mu / 3.0, 1e-12);
        improved = true;
        if (gain < 1e-15 * std::max(cost, 1e-30) + 1e-30) it = max_iterations;  // converged
        break;
      }
      mu *= 4.0;
    }
    if (!improved) break;
  }
  result.coordinates = x;
  result.iterations = it;
  result.rms_residual = distance_rms_residual(x, distances);
  return result;
}

namespace {

Eigen::MatrixXd centred(const Eigen::MatrixXd& x) {
  return x.rowwise() - x.colwise().mean();
}

}  // namespace

double superposed_rmsd(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  if (a.rows() != b.rows() || a.cols() != 3 || b.cols() != 3) {
    throw ParameterError("superposed_rmsd: point sets of different sizes");
  }
  if (a.rows() == 0) return 0.0;
  const Eigen::MatrixXd ac = centred(a);
  const Eigen::MatrixXd bc = centred(b);
  const Eigen::Matrix3d h = ac.transpose() * bc;
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(h, Eigen::ComputeFullU | Eigen::ComputeFullV);
  // Q = U V^T maximizes trace(Q^T H) over all orthogonal Q (reflections included).
  const Eigen::Matrix3d q = svd.matrixU() * svd.matrixV().transpose();
  const Eigen::MatrixXd diff = ac * q - bc;
  return std::sqrt(diff.squaredNorm() / static_cast<double>(a.rows()));
}

std::vector<std::size_t> min_cost_assignment(const Eigen::MatrixXd& cost) {
  // Hungarian algorithm with row/column potentials (shortest augmenting paths).
  const std::size_t n = static_cast<std::size_t>(cost.rows());
  if (cost.cols() != cost.rows()) throw ParameterError("min_cost_assignment: cost is not square");
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(n + 1, 0.0);
  std::vector<std::size_t> match(n + 1, 0), way(n + 1, 0);  // match[col] = row (1-based)
  for (std::size_t i = 1; i <= n; ++i) {
    match[0] = i;
    std::size_t j0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<char> used(n + 1, 0);
    do {
      used[j0] = 1;
      const std::size_t i0 = match[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur = cost(static_cast<Eigen::Index>(i0 - 1), static_cast<Eigen::Index>(j - 1)) -
                           u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (std::size_t j = 0; j <= n; ++j) {
        if (used[j]) {
          u[match[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (match[j0] != 0);
    do {
      const std::size_t j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<std::size_t> result(n, 0);
  for (std::size_t j = 1; j <= n; ++j) result[match[j] - 1] = j - 1;
  return result;
}

MatchResult compare_molecules(const chem::Molecule& reconstructed, const chem::Molecule& truth) {
  MatchResult out;
  out.rmsd = std::numeric_limits<double>::infinity();
  std::vector<int> za = reconstructed.charges, zb = truth.charges;
  std::sort(za.begin(), za.end());
  std::sort(zb.begin(), zb.end());
  if (za != zb || reconstructed.positions.size() != reconstructed.size() ||
      truth.positions.size() != truth.size()) {
    return out;
  }
  out.same_composition = true;
  const std::size_t n = truth.size();
  const Eigen::MatrixXd a = positions_matrix(reconstructed);
  const Eigen::MatrixXd b = positions_matrix(truth);
  if (n == 1) {
    out.rmsd = 0.0;
    return out;
  }
  std::map<int, std::vector<std::size_t>> atoms_a, atoms_b;
  for (std::size_t i = 0; i < n; ++i) {
    atoms_a[reconstructed.charges[i]].push_back(i);
    atoms_b[truth.charges[i]].push_back(i);
  }
  // perm[i] = atom of `truth` paired with atom i of `reconstructed`.
  std::vector<std::size_t> perm(n, 0);
  auto assign = [&](const auto& cost_of) {
    for (const auto& [z, ia] : atoms_a) {
      const auto& ib = atoms_b[z];
      Eigen::MatrixXd cost(static_cast<Eigen::Index>(ia.size()), static_cast<Eigen::Index>(ib.size()));
      for (std::size_t r = 0; r < ia.size(); ++r) {
        for (std::size_t c = 0; c < ib.size(); ++c) {
          cost(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = cost_of(ia[r], ib[c]);
        }
      }
      const auto best = min_cost_assignment(cost);
      for (std::size_t r = 0; r < ia.size(); ++r) perm[ia[r]] = ib[best[r]];
    }
  };
  // Iterative closest point from an initial pairing: superpose with the
  // pairing, re-pair by optimal assignment on the superposed positions, until
  // the pairing no longer changes. Returns the smallest RMSD seen.
  auto icp = [&](std::vector<std::size_t> start) {
    perm = std::move(start);
    double best = std::numeric_limits<double>::infinity();
    for (int round = 0; round < 12; ++round) {
      Eigen::MatrixXd bp(static_cast<Eigen::Index>(n), 3);
      for (std::size_t i = 0; i < n; ++i) bp.row(static_cast<Eigen::Index>(i)) = b.row(static_cast<Eigen::Index>(perm[i]));
      best = std::min(best, superposed_rmsd(a, bp));
      const Eigen::MatrixXd ac = a.rowwise() - a.colwise().mean();
      const Eigen::RowVector3d bmean = bp.colwise().mean();
      const Eigen::MatrixXd bc = bp.rowwise() - bmean;
      Eigen::JacobiSVD<Eigen::Matrix3d> svd(Eigen::Matrix3d(ac.transpose() * bc),
                                            Eigen::ComputeFullU | Eigen::ComputeFullV);
      const Eigen::Matrix3d q = svd.matrixU() * svd.matrixV().transpose();
      const Eigen::MatrixXd moved = (ac * q).rowwise() + bmean;
      const std::vector<std::size_t> previous = perm;
      assign([&](std::size_t i, std::size_t j) {
        return (moved.row(static_cast<Eigen::Index>(i)) - b.row(static_cast<Eigen::Index>(j))).squaredNorm();
      });
      if (perm == previous) break;
    }
    return best;
  };
  // Start 1: pair atoms by their sorted distance profiles (rotation invariant).
  const Eigen::MatrixXd da = distance_matrix(a), db = distance_matrix(b);
  std::vector<std::vector<double>> pa(n), pb(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      pa[i].push_back(da(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
      pb[i].push_back(db(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
    }
    std::sort(pa[i].begin(), pa[i].end());
    std::sort(pb[i].begin(), pb[i].end());
  }
  assign([&](std::size_t i, std::size_t j) {
    double sum = 0.0;
    for (std::size_t k = 0; k < n; ++k) sum += (pa[i][k] - pb[j][k]) * (pa[i][k] - pb[j][k]);
    return sum;
  });
  out.rmsd = icp(perm);
  if (out.rmsd < 1e-6 || n < 3) return out;
  // Symmetric molecules give ambiguous profiles, and ICP can stop in a local
  // minimum. More starts: align a well-spread triple of `reconstructed` onto
  // every triple of `truth` with the same elements and similar distances
  // (both mirror images), pair by assignment, then ICP.
  auto at = [](const Eigen::MatrixXd& m, std::size_t i, std::size_t j) {
    return m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
  };
  std::size_t a0 = 0, a1 = 0, a2 = 0;
  for (std::size_t j = 0; j < n; ++j) {
    if (at(da, a0, j) > at(da, a0, a1)) a1 = j;
  }
  double spread = -1.0;
  for (std::size_t j = 0; j < n; ++j) {
    const double s = std::min(at(da, a0, j), at(da, a1, j));
    if (s > spread) {
      spread = s;
      a2 = j;
    }
  }
  if (a1 == a0 || a2 == a0 || a2 == a1) return out;
  const Eigen::Matrix3d ta = (Eigen::Matrix3d() << a.row(static_cast<Eigen::Index>(a0)),
                              a.row(static_cast<Eigen::Index>(a1)), a.row(static_cast<Eigen::Index>(a2)))
                                 .finished();
  constexpr double kTripleTolerance = 0.5;  // Å
  constexpr int kMaxStarts = 400;
  int starts = 0;
  for (std::size_t b0 = 0; b0 < n && starts < kMaxStarts; ++b0) {
    if (truth.charges[b0] != reconstructed.charges[a0]) continue;
    for (std::size_t b1 = 0; b1 < n && starts < kMaxStarts; ++b1) {
      if (b1 == b0 || truth.charges[b1] != reconstructed.charges[a1] ||
          std::abs(at(db, b0, b1) - at(da, a0, a1)) > kTripleTolerance) {
        continue;
      }
      for (std::size_t b2 = 0; b2 < n && starts < kMaxStarts; ++b2) {
        if (b2 == b0 || b2 == b1 || truth.charges[b2] != reconstructed.charges[a2] ||
            std::abs(at(db, b0, b2) - at(da, a0, a2)) > kTripleTolerance ||
            std::abs(at(db, b1, b2) - at(da, a1, a2)) > kTripleTolerance) {
          continue;
        }
        const Eigen::Matrix3d tb = (Eigen::Matrix3d() << b.row(static_cast<Eigen::Index>(b0)),
                                    b.row(static_cast<Eigen::Index>(b1)), b.row(static_cast<Eigen::Index>(b2)))
                                       .finished();
        const Eigen::RowVector3d ma = ta.colwise().mean(), mb = tb.colwise().mean();
        const Eigen::Matrix3d ca = ta.rowwise() - ma, cb = tb.rowwise() - mb;
        Eigen::JacobiSVD<Eigen::Matrix3d> svd(Eigen::Matrix3d(ca.transpose() * cb),
                                              Eigen::ComputeFullU | Eigen::ComputeFullV);
        for (double sign : {1.0, -1.0}) {  // three points do not fix the mirror image
          ++starts;
          const Eigen::Matrix3d q =
              svd.matrixU() * Eigen::Vector3d(1.0, 1.0, sign).asDiagonal() * svd.matrixV().transpose();
          const Eigen::MatrixXd moved = ((a.rowwise() - ma) * q).rowwise() + mb;
          assign([&](std::size_t i, std::size_t j) {
            return (moved.row(static_cast<Eigen::Index>(i)) - b.row(static_cast<Eigen::Index>(j))).squaredNorm();
          });
          out.rmsd = std::min(out.rmsd, icp(perm));
          if (out.rmsd < 1e-6) return out;
        }
      }
    }
  }
  return out;
}

}  // namespace encmol::audit
