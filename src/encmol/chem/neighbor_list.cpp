#include "encmol/chem/neighbor_list.hpp"

#include <cmath>

namespace encmol::chem {

double distance(const Vec3& a, const Vec3& b) {
  const double dx = b[0] - a[0], dy = b[1] - a[1], dz = b[2] - a[2];
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

NeighborList::NeighborList(const Molecule& m, double cutoff) {
  const std::size_t n = m.size();
  // Pairs are found once (i < j) and stored for both atoms.
  std::vector<std::size_t> count(n, 0);
  struct Pair {
    std::size_t i, j;
    double r;
  };
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const double r = distance(m.positions[i], m.positions[j]);
      if (r <= cutoff) {
        pairs.push_back({i, j, r});
        ++count[i];
        ++count[j];
      }
    }
  }
  start_.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) start_[i + 1] = start_[i] + count[i];
  items_.resize(start_[n]);
  std::vector<std::size_t> fill(start_.begin(), start_.end() - 1);
  // Pairs come sorted by (i, j), so atom x first receives its partners i < x
  // (from pairs (i, x), ascending i) and then j > x (from (x, j)): each list
  // ends up in ascending neighbour order without sorting.
  for (const Pair& p : pairs) {
    const Vec3& a = m.positions[p.i];
    const Vec3& b = m.positions[p.j];
    items_[fill[p.i]++] = {p.j, p.r, Vec3{b[0] - a[0], b[1] - a[1], b[2] - a[2]}};
    items_[fill[p.j]++] = {p.i, p.r, Vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]}};
  }
}

}  // namespace encmol::chem
