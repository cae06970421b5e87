#include "encmol/chem/fchl19.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "chem_test_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

const std::vector<int> kHCNOS = {1, 6, 7, 8, 16};

Molecule h2(double r = 0.74) { return {"H2", {1, 1}, {Vec3{0, 0, 0}, Vec3{r, 0, 0}}, {}}; }

Molecule water() {
  return {"water",
          {8, 1, 1},
          {Vec3{0, 0, 0.1173}, Vec3{0, 0.7572, -0.4692}, Vec3{0, -0.7572, -0.4692}},
          {}};
}

std::vector<double> features(const Molecule& m, const Fchl19Parameters& p = {},
                             const std::vector<int>& elements = kHCNOS) {
  std::vector<double> x(m.size() * fchl19_dimension(p, elements.size()));
  fchl19_atoms(m, elements, p, x);
  return x;
}

const std::vector<Molecule>& qm7() {
  static const auto molecules = read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  return molecules;
}

// The equations of the header, written out plainly: every ordered neighbour j
// for the two-body part, every pair j < k for the three-body part, no shared
// subexpressions, angles through acos/cos/sin.
std::vector<double> slow_fchl19(const Molecule& m, const std::vector<int>& elements,
                                const Fchl19Parameters& p) {
  const std::size_t n = m.size(), ne = elements.size();
  const std::size_t d = ne * p.n2 + ne * (ne + 1) / 2 * p.n3 * 2 * p.fourier_orders;
  std::vector<double> x(n * d, 0.0);
  auto index_of = [&](int z) {
    return static_cast<std::size_t>(std::find(elements.begin(), elements.end(), z) -
                                    elements.begin());
  };
  auto dist = [&](std::size_t a, std::size_t b) {
    double s = 0;
    for (int c = 0; c < 3; ++c) s += std::pow(m.positions[a][c] - m.positions[b][c], 2);
    return std::sqrt(s);
  };
  auto angle = [&](std::size_t at, std::size_t a, std::size_t b) {  // angle at `at`
    double dot = 0;
    for (int c = 0; c < 3; ++c) {
      dot += (m.positions[a][c] - m.positions[at][c]) * (m.positions[b][c] - m.positions[at][c]);
    }
    return std::acos(std::max(-1.0, std::min(1.0, dot / (dist(at, a) * dist(at, b)))));
  };
  auto fc = [](double r, double c) { return 0.5 * (std::cos(std::numbers::pi * r / c) + 1); };
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double r = dist(i, j);
      if (j == i || r > p.rcut) continue;
      const double s2 = std::log(1 + p.eta2 / (r * r));
      const double mu = std::log(r) - s2 / 2;
      for (std::size_t k = 1; k <= p.n2; ++k) {
        const double rk = p.rcut * static_cast<double>(k) / static_cast<double>(p.n2);
        const double ln = std::exp(-std::pow(std::log(rk) - mu, 2) / (2 * s2)) /
                          (rk * std::sqrt(s2) * std::sqrt(2 * std::numbers::pi));
        x[i * d + index_of(m.charges[j]) * p.n2 + k - 1] +=
            ln * fc(r, p.rcut) / std::pow(r, p.two_body_decay);
      }
    }
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t k = j + 1; k < n; ++k) {
        if (j == i || k == i) continue;
        const double rij = dist(i, j), rik = dist(i, k), rjk = dist(j, k);
        if (rij > p.acut || rik > p.acut) continue;
        const double ti = angle(i, j, k), tj = angle(j, i, k), tk = angle(k, i, j);
        const double w = p.three_body_weight * std::sqrt(p.eta3 / std::numbers::pi) *
                         (1 + 3 * std::cos(ti) * std::cos(tj) * std::cos(tk)) /
                         std::pow(rij * rik * rjk, p.three_body_decay);
        std::size_t a = index_of(m.charges[j]), b = index_of(m.charges[k]);
        if (a > b) std::swap(a, b);
        const std::size_t pair = a * ne - a * (a + 1) / 2 + b;
        for (std::size_t l = 1; l <= p.n3; ++l) {
          const double sl = p.acut * static_cast<double>(l) / static_cast<double>(p.n3);
          const double g = std::exp(-p.eta3 * std::pow((rij + rik) / 2 - sl, 2)) * fc(rij, p.acut) *
                           fc(rik, p.acut);
          for (std::size_t f = 0; f < p.fourier_orders; ++f) {
            const double o = 2.0 * static_cast<double>(f) + 1;
            const double damp = std::exp(-std::pow(p.zeta * o, 2) / 2);
            const std::size_t at = i * d + ne * p.n2 + pair * p.n3 * 2 * p.fourier_orders +
                                   (l - 1) * 2 * p.fourier_orders + 2 * f;
            x[at] += w * g * 2 * damp * std::cos(o * ti);
            x[at + 1] += w * g * 2 * damp * std::sin(o * ti);
          }
        }
      }
    }
  }
  return x;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double rel,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], rel * scale) << what << " index " << i;
  }
}

TEST(Fchl19, DimensionAndDefaults) {
  const Fchl19Parameters p;
  EXPECT_EQ(fchl19_dimension(p, 5), 720u);
  EXPECT_EQ(fchl19_dimension(p, 1), 24u + 40u);
  Fchl19Parameters q;
  q.fourier_orders = 2;
  EXPECT_EQ(fchl19_dimension(q, 5), 120u + 15u * 20u * 4u);
  EXPECT_THROW(fchl19_dimension(p, 0), ParameterError);
  EXPECT_THROW(fchl19_dimension(p, 119), ParameterError);
}

// Spec §1.7: H2 at 0.74 Å, values printed with 11 significant digits.
TEST(Fchl19, H2WorkedExample) {
  const std::vector<double> block = {
      2.0932645662e+00, 1.4596774052e+00, 7.2858040543e-01, 3.5831759097e-01, 1.8256405239e-01,
      9.7107806729e-02, 5.3824450325e-02, 3.0964056717e-02, 1.8411444975e-02, 1.1272905490e-02,
      7.0840552296e-03, 4.5562682379e-03, 2.9921127838e-03, 2.0021528632e-03, 1.3627018039e-03,
      9.4194611561e-04, 6.6038407764e-04, 4.6903842972e-04, 3.3714631767e-04, 2.4503884982e-04,
      1.7993274849e-04, 1.3339328293e-04, 9.9776486852e-05, 7.5256307128e-05};
  const auto x = features(h2());
  ASSERT_EQ(x.size(), 2u * 720u);
  for (std::size_t a = 0; a < 2; ++a) {
    for (std::size_t k = 0; k < 720; ++k) {
      const double got = x[a * 720 + k];
      if (k < 24) {
        EXPECT_NEAR(got, block[k], 6e-11 * block[k]) << "atom " << a << " k " << k;
      } else {
        EXPECT_EQ(got, 0.0) << "atom " << a << " k " << k;
      }
    }
  }
}

// Spec §1.7: water, the values given to full precision (1e-12 relative).
TEST(Fchl19, WaterWorkedExample) {
  const auto x = features(water());
  std::size_t nonzero = 0;
  for (std::size_t k = 0; k < 720; ++k) {
    const bool expected = k < 24 || (k >= 120 && k < 160);
    if (x[k] != 0.0) ++nonzero;
    EXPECT_EQ(x[k] != 0.0, expected) << k;
  }
  EXPECT_EQ(nonzero, 64u);
  auto near = [](double got, double want) { EXPECT_NEAR(got, want, 1e-12 * std::abs(want)); };
  near(x[2], 1.4296810543035392);
  near(x[3], 0.7758230211038538);
  near(x[124], -0.015640145023479175);
  near(x[125], 0.060563861116968945);
  const double* h1 = x.data() + 720;
  near(h1[74], 0.7148405271517696);
  near(h1[4], 0.2597144528975342);
  near(h1[244], 0.05469191501020307);
  near(h1[245], 0.04236239851226109);
  for (std::size_t k = 0; k < 720; ++k) EXPECT_NEAR(x[1440 + k], h1[k], 1e-14) << k;
}

TEST(Fchl19, MatchesPlainLoopsOnQm7) {
  // A few QM7 molecules: the first, one with sulphur, the largest.
  std::vector<const Molecule*> picks = {&qm7().front()};
  const auto with_s = std::find_if(qm7().begin(), qm7().end(), [](const Molecule& m) {
    return std::count(m.charges.begin(), m.charges.end(), 16) > 0;
  });
  ASSERT_NE(with_s, qm7().end());
  picks.push_back(&*with_s);
  picks.push_back(
      &*std::max_element(qm7().begin(), qm7().end(),
                         [](const Molecule& a, const Molecule& b) { return a.size() < b.size(); }));
  Fchl19Parameters other;  // short cutoffs (some pairs beyond), two Fourier orders
  other.n2 = 11;
  other.n3 = 7;
  other.fourier_orders = 2;
  other.rcut = 3.1;
  other.acut = 2.6;
  other.zeta = 1.3;
  Fchl19Parameters sharp;  // narrow Gaussians on a coarse grid: values down to underflow
  sharp.n3 = 5;
  sharp.eta3 = 40;
  sharp.eta2 = 0.01;
  sharp.two_body_decay = 0;
  for (const Molecule* m : picks) {
    for (const auto& p : {Fchl19Parameters{}, other, sharp}) {
      expect_close(features(*m, p), slow_fchl19(*m, kHCNOS, p), 1e-12, m->name);
    }
  }
}

std::vector<Vec3> transformed(const std::vector<Vec3>& pos, double angle, const Vec3& axis,
                              const Vec3& shift) {
  const double n = std::sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
  const double ux = axis[0] / n, uy = axis[1] / n, uz = axis[2] / n;
  const double c = std::cos(angle), s = std::sin(angle), t = 1 - c;
  const double r[3][3] = {{t * ux * ux + c, t * ux * uy - s * uz, t * ux * uz + s * uy},
                          {t * ux * uy + s * uz, t * uy * uy + c, t * uy * uz - s * ux},
                          {t * ux * uz - s * uy, t * uy * uz + s * ux, t * uz * uz + c}};
  std::vector<Vec3> out;
  for (const auto& p : pos) {
    Vec3 q{};
    for (int i = 0; i < 3; ++i) q[i] = r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2] + shift[i];
    out.push_back(q);
  }
  return out;
}

TEST(Fchl19, InvariantUnderRotationTranslationAndPermutation) {
  const Molecule& m = qm7()[1234];
  const std::size_t n = m.size(), d = 720;
  const auto x = features(m);
  Molecule moved = m;
  moved.positions = transformed(m.positions, 1.234, {0.3, -1.1, 0.7}, {5.5, -3.25, 12.0});
  expect_close(features(moved), x, 1e-12, "rotated + translated");
  // Reverse and rotate the atom order: row a of the permuted molecule is atom perm[a].
  std::vector<std::size_t> perm(n);
  for (std::size_t a = 0; a < n; ++a) perm[a] = (n - 1 - a + 3) % n;
  Molecule permuted = m;
  for (std::size_t a = 0; a < n; ++a) {
    permuted.charges[a] = m.charges[perm[a]];
    permuted.positions[a] = m.positions[perm[a]];
  }
  const auto y = features(permuted);
  std::vector<double> expected(n * d);
  for (std::size_t a = 0; a < n; ++a) {
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(perm[a] * d), d,
                expected.begin() + static_cast<std::ptrdiff_t>(a * d));
  }
  expect_close(y, expected, 1e-12, "permuted");
}

TEST(Fchl19, VanishesContinuouslyAtTheCutoffs) {
  Fchl19Parameters p;
  p.rcut = 4.0;
  p.acut = 3.0;
  // Two-body: a C-H pair approaching rcut from inside goes to 0 like (rcut - r)^2.
  auto ch = [](double r) { return Molecule{"CH", {6, 1}, {Vec3{0, 0, 0}, Vec3{0, 0, r}}, {}}; };
  const double eps = 1e-5;
  for (double v : features(ch(p.rcut - eps), p)) EXPECT_LT(std::abs(v), 1e-9);
  for (double v : features(ch(p.rcut), p)) EXPECT_EQ(v, 0.0);
  for (double v : features(ch(p.rcut + eps), p)) EXPECT_EQ(v, 0.0);
  const auto far = features(ch(p.rcut - 0.5), p);
  EXPECT_GT(*std::max_element(far.begin(), far.end()), 1e-4);  // not trivially zero
  // Three-body: O at the origin, H at 1 Å, C sliding out through acut (still
  // inside rcut): the centre's three-body block tends to 0.
  auto triple = [](double r) {
    return Molecule{"OHC", {8, 1, 6}, {Vec3{0, 0, 0}, Vec3{1.0, 0, 0}, Vec3{0, r, 0}}, {}};
  };
  auto three_body = [&](double r) {
    const auto x = features(triple(r), p);
    return std::vector<double>(x.begin() + 120, x.begin() + 720);  // atom 0
  };
  const auto inside = three_body(p.acut - eps), outside = three_body(p.acut + eps);
  for (std::size_t k = 0; k < inside.size(); ++k) {
    EXPECT_LT(std::abs(inside[k]), 1e-9) << k;
    EXPECT_EQ(outside[k], 0.0) << k;
  }
  const auto mid = three_body(p.acut - 1.0);
  EXPECT_GT(*std::max_element(mid.begin(), mid.end()), 1e-4);
}

TEST(Fchl19, RejectsUnknownElementNamingMoleculeAndSymbol) {
  Molecule m = water();
  m.name = "chlorine-test";
  m.charges[1] = 17;
  testing::expect_input_error([&] { features(m); }, {"chlorine-test", "Cl", "H C N O S"});
  // The element list decides: with Cl in it the same molecule works.
  EXPECT_NO_THROW(features(m, {}, {1, 6, 7, 8, 16, 17}));
}

TEST(Fchl19, RejectsBadMoleculesElementListsAndOutputSizes) {
  Molecule close = h2(0.01);
  close.name = "squashed";
  testing::expect_input_error([&] { features(close); }, {"squashed"});
  Molecule nan = h2();
  nan.positions[1][2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(features(nan), InputError);
  EXPECT_THROW(features(h2(), {}, {}), ParameterError);
  EXPECT_THROW(features(h2(), {}, {6, 1}), ParameterError);
  EXPECT_THROW(features(h2(), {}, {1, 1}), ParameterError);
  EXPECT_THROW(features(h2(), {}, {0, 1}), ParameterError);
  std::vector<double> small(100);
  EXPECT_THROW(fchl19_atoms(h2(), kHCNOS, {}, small), ParameterError);
}

TEST(Fchl19, ParametersValidate) {
  EXPECT_NO_THROW(Fchl19Parameters{}.validate());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::function<void(Fchl19Parameters&)>> bad = {
      [](auto& p) { p.n2 = 0; },
      [](auto& p) { p.n2 = kMaxFchl19GridPoints + 1; },
      [](auto& p) { p.n3 = 0; },
      [](auto& p) { p.n3 = std::size_t{1} << 40; },
      [](auto& p) { p.fourier_orders = 0; },
      [](auto& p) { p.fourier_orders = kMaxFchl19FourierOrders + 1; },
      [&](auto& p) { p.eta2 = nan; },
      [](auto& p) { p.eta2 = 0; },
      [](auto& p) { p.eta3 = -1; },
      [&](auto& p) { p.zeta = inf; },
      [](auto& p) { p.rcut = 0; },
      [](auto& p) { p.acut = 1e9; },
      [](auto& p) { p.two_body_decay = -0.1; },
      [&](auto& p) { p.three_body_decay = nan; },
      [](auto& p) { p.three_body_weight = -1; },
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    Fchl19Parameters p;
    bad[i](p);
    EXPECT_THROW(p.validate(), ParameterError) << "case " << i;
    EXPECT_THROW(fchl19_dimension(p, 5), ParameterError) << "case " << i;
  }
}

TEST(Fchl19, ParametersRoundTripAndHostileBytes) {
  Fchl19Parameters p;
  p.n2 = 17;
  p.fourier_orders = 3;
  p.eta3 = 1.25;
  p.acut = 6.5;
  core::ByteWriter w;
  p.write(w);
  {
    core::ByteReader r(w.data(), "params");
    EXPECT_EQ(Fchl19Parameters::read(r), p);
    r.expect_end();
  }
  // Byte 0..7: n2 as u64. A huge grid size is refused before anything is sized.
  auto bytes = w.data();
  bytes[5] = 0x01;  // n2 = 17 + 2^40
  core::ByteReader huge(bytes, "hostile.params");
  try {
    Fchl19Parameters::read(huge);
    ADD_FAILURE() << "expected a FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("hostile.params"), std::string::npos) << e.what();
  }
  // eta2 (first f64, bytes 24..31) set to NaN.
  bytes = w.data();
  for (int i = 24; i < 32; ++i) bytes[static_cast<std::size_t>(i)] = 0xff;
  core::ByteReader nan(bytes, "nan.params");
  EXPECT_THROW(Fchl19Parameters::read(nan), FormatError);
  // Truncated.
  bytes = w.data();
  bytes.resize(bytes.size() - 3);
  core::ByteReader cut(bytes, "cut.params");
  EXPECT_THROW(Fchl19Parameters::read(cut), FormatError);
}

}  // namespace
}  // namespace encmol::chem
