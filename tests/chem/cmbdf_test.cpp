#include "encmol/chem/cmbdf.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "chem_test_util.hpp"
#include "cmbdf_slow.hpp"
#include "encmol/chem/cmbdf_tables.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::chem {
namespace {

using testing::angular_weights;
using testing::direct_raw;
using testing::radial_weights;
using testing::slow_cmbdf;
using testing::slow_tables;
using testing::SlowTables;

Molecule h2(double r) { return {"H2", {1, 1}, {Vec3{0, 0, 0}, Vec3{r, 0, 0}}, {}}; }

Molecule water() {
  return {"water",
          {8, 1, 1},
          {Vec3{0, 0, 0.1173}, Vec3{0, 0.7572, -0.4692}, Vec3{0, -0.7572, -0.4692}},
          {}};
}

CmbdfParameters reference_mode() {
  CmbdfParameters p;
  p.reference = true;
  return p;
}

std::vector<double> features(const Molecule& m, const CmbdfParameters& p) {
  std::vector<double> x(m.size() * cmbdf_dimension(p));
  cmbdf_atoms(m, p, x);
  return x;
}

const std::vector<Molecule>& qm7() {
  static const auto molecules = read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  return molecules;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

double max_abs(const std::vector<double>& a) {
  double d = 0;
  for (double v : a) d = std::max(d, std::abs(v));
  return d;
}

TEST(Cmbdf, DimensionAndDefaults) {
  const CmbdfParameters p;
  EXPECT_EQ(cmbdf_dimension(p), 40u);
  CmbdfParameters q;
  q.power_decays.clear();
  q.angular_orders = 0;
  q.derivative_orders = 3;
  EXPECT_EQ(cmbdf_dimension(q), 6u);
}

// Spec §3.3: max |raw| of every table and sample normalised values.
TEST(Cmbdf, ReferenceTablesMatchTheSpec) {
  const CmbdfTables t(reference_mode());
  ASSERT_EQ(t.radial_rows(), 12500u);
  ASSERT_EQ(t.angular_rows(), 15750u);
  EXPECT_DOUBLE_EQ(t.radial_step(), 0.0008);
  EXPECT_NEAR(t.angular_step(), 1.9946620022792338e-4, 1e-19);
  const double radial_scales[20] = {0.3783330489,  0.1499971599,  0.2720995441,  0.1726128183,
                                    1.391811961,   0.6683894505,  0.9322251677,  0.6962278812,
                                    4.4947644336,  2.2205995576,  3.3977560551,  2.4182140905,
                                    4.8249474628,  2.7331939141,  3.4841841881,  2.7414057361,
                                    37.7946467674, 18.4622353492, 28.6835615482, 20.1575527774};
  const double angular_scales[20] = {0.6250706373,  0.608098968,   0.3395035307,  0.1709854665,
                                     3.484985774,   4.2000675769,  3.9345163488,  2.2957843469,
                                     7.4339809572,  9.5256269651,  9.1701026761,  6.8979728341,
                                     7.6117189831,  11.2418105161, 16.890981317,  16.5630988474,
                                     56.4003815539, 57.4331237274, 60.0006278986, 56.4552582257};
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_NEAR(t.radial_scales()[i], radial_scales[i], 1e-9 * radial_scales[i]) << i;
    EXPECT_NEAR(t.angular_scales()[i], angular_scales[i], 1e-9 * angular_scales[i]) << i;
  }
  // Columns (m, w) = (0,0) (0,1) (0,2) (0,3) (1,0) (2,0) (3,0) (4,0).
  const std::size_t columns[8] = {0, 1, 2, 3, 4, 8, 12, 16};
  struct Sample {
    bool radial;
    std::size_t row;
    double values[8];
  };
  const Sample samples[] = {
      {true, 0, {0.793675, 0.94386833, 0.84479905, 0.91746087, -1., 0.64069985, 1., -0.67414805}},
      {true,
       926,
       {0.88574862, 0.5779238, 0.82441578, 0.66629869, 0.67810089, 0.62373809, -0.79855314,
        -0.58918894}},
      {true,
       6250,
       {1.93902577e-03, 2.11574018e-09, 1.77702478e-02, 8.31645610e-04, 3.16248554e-03,
        -2.73815068e-04, 1.02628752e-03, -1.45656636e-03}},
      {false,
       0,
       {0.70584902, 0.49876927, 0.47842267, 0.3964767, -0.70510676, 0.44584587, 1., -0.54197456}},
      {false,
       7875,
       {2.79854470e-04, -9.99999920e-01, -5.74533492e-04, 7.83915234e-01, 9.99999980e-01,
        1.91843563e-04, -3.35907707e-01, -1.98019227e-04}},
      {false,
       15749,
       {-0.70618239, 0.49872353, -0.47777334, 0.39476374, -0.70480351, -0.44660149, 0.99993016,
        0.54266557}},
  };
  for (const auto& s : samples) {
    const auto row = s.radial ? t.radial_row(s.row) : t.angular_row(s.row);
    for (std::size_t c = 0; c < 8; ++c) {
      // Printed with 8 decimals, or 9 significant digits in exponent form.
      const double tol = std::max(6e-9, 6e-9 * std::abs(s.values[c]));
      EXPECT_NEAR(row[columns[c]], s.values[c], tol)
          << (s.radial ? "radial" : "angular") << " row " << s.row << " column " << c;
    }
  }
}

// Spec §3.6: H2 at 0.7412 Å (bin 926), tolerance 1e-10.
TEST(Cmbdf, H2WorkedExample) {
  const double expected[20] = {0.885748617,   0.5779238012,  0.8244157807,  0.6662986888,
                               0.6781008928,  0.9955050456,  0.8714930268,  0.9987476944,
                               0.6237380859,  0.1310725036,  0.4851891286,  0.2490684636,
                               -0.7985531444, -0.7834680501, -0.8950674731, -0.8500636226,
                               -0.5891889406, -0.1043036143, -0.4550539697, -0.2197974569};
  const auto x = features(h2(0.7412), reference_mode());
  for (std::size_t a = 0; a < 2; ++a) {
    for (std::size_t i = 0; i < 40; ++i) {
      EXPECT_NEAR(x[a * 40 + i], i < 20 ? expected[i] : 0.0, 1e-10) << "atom " << a << " " << i;
    }
  }
}

// Spec §3.6: water, all 40 values of O and H1 (H2 equal by symmetry).
TEST(Cmbdf, WaterWorkedExample) {
  const double o[40] = {4.1397711161,  2.0031520266,  3.6959309412,  2.573395203,   4.6748762198,
                        4.659809345,   5.2451921903,  5.0718824616,  1.8387512595,  -0.7954404524,
                        1.0611098425,  -0.2145652479, -3.3965729621, -1.5386454782, -3.1134707362,
                        -2.124111978,  -2.0777495581, 0.2651014182,  -1.4203058416, -0.2549426959,
                        -0.4483970273, -1.8230891005, 1.3814548269,  0.8355613411,  1.233364741,
                        -1.1156997225, -1.5352954901, 1.7126827266,  -0.343740264,  -1.7773977587,
                        1.4632566353,  1.1513913619,  -0.4996323998, 1.0315650176,  1.4526266723,
                        -1.7647838159, 0.2916160892,  1.8398364888,  -1.4574780125, -1.0793912683};
  const double h[40] = {2.4278053909,  1.0567345443,  2.1542812828,  1.4116990373,  2.8976532246,
                        2.5283866049,  3.1144342987,  2.8410765063,  0.9077618624,  -0.5282435418,
                        0.4917451247,  -0.2234716912, -1.6581186362, -0.5401279985, -1.4298935384,
                        -0.8565856693, -1.2418231616, 0.0758590193,  -0.8874929459, -0.2084610494,
                        -0.3987759963, 0.2523734475,  -1.165160761,  -2.0136607557, -0.106539101,
                        1.8065938273,  1.4823272176,  0.4804544435,  -0.3895243403, 0.8008163999,
                        -0.7363180324, -1.7432114106, 0.1306416687,  -1.7135243159, -1.7958408817,
                        -0.7792782783, 0.3611644739,  -0.6494207618, 0.5968848145,  1.657867533};
  const auto x = features(water(), reference_mode());
  for (std::size_t i = 0; i < 40; ++i) {
    EXPECT_NEAR(x[i], o[i], 1e-10) << "O " << i;
    EXPECT_NEAR(x[40 + i], h[i], 1e-10) << "H1 " << i;
    EXPECT_NEAR(x[80 + i], h[i], 1e-10) << "H2 " << i;
  }
  // The default mode is the same representation up to its small deviations
  // (no one-step shift, interpolation): close, but not equal.
  const auto y = features(water(), CmbdfParameters{});
  EXPECT_LT(max_abs_diff(x, y), 0.02);
  EXPECT_GT(max_abs_diff(x, y), 1e-4);
}

TEST(Cmbdf, SingleAtomIsZeroAndDiatomicHasNoThreeBody) {
  const Molecule c{"C", {6}, {Vec3{1, 2, 3}}, {}};
  for (double v : features(c, CmbdfParameters{})) EXPECT_EQ(v, 0.0);
  const auto x = features(h2(1.3), CmbdfParameters{});
  for (std::size_t a = 0; a < 2; ++a) {
    for (std::size_t i = 20; i < 40; ++i) EXPECT_EQ(x[a * 40 + i], 0.0);
  }
}

// The FFT tables against the direct sum of their definition, both modes, at
// spread-out rows and at each table's maximum.
TEST(Cmbdf, FftTablesMatchDirectSums) {
  for (const bool reference : {true, false}) {
    CmbdfParameters p;
    p.reference = reference;
    const CmbdfTables t(p);
    auto check = [&](bool radial, const std::vector<std::function<double(double)>>& weights) {
      const std::size_t rows = radial ? t.radial_rows() : t.angular_rows();
      const std::size_t n = radial ? p.radial_points : p.angular_points;
      const double length = radial ? p.rcut : std::numbers::pi;
      const double a = radial ? p.radial_exponent : p.angular_exponent;
      const auto& scales = radial ? t.radial_scales() : t.angular_scales();
      const std::size_t nw = weights.size();
      for (std::size_t m = 0; m < p.derivative_orders; ++m) {
        for (std::size_t w = 0; w < nw; ++w) {
          const std::size_t col = m * nw + w;
          std::vector<std::size_t> picks = {0, 1, rows / 3, rows / 2, rows - 2, rows - 1};
          for (std::size_t s = 0; s < rows; ++s) {  // the row where |T| = 1
            const double v = radial ? t.radial_row(s)[col] : t.angular_row(s)[col];
            if (std::abs(v) == 1.0) picks.push_back(s);
          }
          ASSERT_GE(picks.size(), 7u);
          for (std::size_t s : picks) {
            const double table = radial ? t.radial_row(s)[col] : t.angular_row(s)[col];
            const double direct = direct_raw(length, n, reference, a, m, weights[w], s);
            EXPECT_NEAR(table * scales[col], direct, 1e-13 * scales[col])
                << (radial ? "radial" : "angular") << " m " << m << " w " << w << " row " << s;
          }
        }
      }
    };
    check(true, radial_weights(p));
    check(false, angular_weights(p));
  }
}

// m = 0 with an exponential weight is a closed form in the continuum:
// int_0^inf e^(-alpha u) phi_0(t - u) du = exp(alpha^2/(4a) - alpha t) erfc(sqrt(a)(alpha/(2a) -
// t)) / 2.
TEST(Cmbdf, ExponentialTablesApproximateTheContinuousIntegral) {
  const CmbdfParameters p;  // default mode: row s is t = s h
  const CmbdfTables t(p);
  const double a = p.radial_exponent;
  for (std::size_t w = 0; w < 2; ++w) {
    const double alpha = p.exponential_decays[w];
    for (double r = 1.0; r <= 8.0; r += 0.25) {
      const auto s = static_cast<std::size_t>(std::lround(r / t.radial_step()));
      const double tt = static_cast<double>(s) * t.radial_step();
      const double exact = 0.5 * std::exp(alpha * alpha / (4 * a) - alpha * tt) *
                           std::erfc(std::sqrt(a) * (alpha / (2 * a) - tt));
      const double table = t.radial_row(s)[w] * t.radial_scales()[w];
      if (exact < 1e-9 * t.radial_scales()[w]) continue;  // below the tables' round-off
      EXPECT_NEAR(table, exact, 1e-3 * exact) << "alpha " << alpha << " r " << r;
    }
  }
}

TEST(Cmbdf, MatchesPlainLoopsWithDirectSumTables) {
  std::vector<const Molecule*> picks;
  for (const auto& m : qm7()) {  // a few small ones, one with sulphur
    const bool has_s = std::count(m.charges.begin(), m.charges.end(), 16) > 0;
    if ((picks.size() < 2 && m.size() <= 9) || (picks.size() == 2 && has_s && m.size() <= 12)) {
      picks.push_back(&m);
    }
    if (picks.size() == 3) break;
  }
  ASSERT_EQ(picks.size(), 3u);
  CmbdfParameters coarse;  // small tables keep the direct sums quick
  coarse.radial_points = 500;
  coarse.angular_points = 640;
  CmbdfParameters shortcut = coarse;  // distances across the cutoff and its switch
  shortcut.rcut = 3.0;
  shortcut.switch_width = 1.2;
  shortcut.derivative_orders = 4;
  shortcut.exponential_decays = {0.7};
  shortcut.power_decays = {2.5, 4.0, 6.0};
  shortcut.angular_orders = 3;
  shortcut.atm_exponent = 1.3;
  shortcut.radial_exponent = 3.0;
  shortcut.angular_exponent = 1.5;
  for (const bool reference : {false, true}) {
    for (CmbdfParameters p : {coarse, shortcut}) {
      p.reference = reference;
      const SlowTables tables = slow_tables(p);
      for (const Molecule* m : picks) {
        const auto fast = features(*m, p);
        const auto slow = slow_cmbdf(*m, p, tables);
        ASSERT_EQ(fast.size(), slow.size());
        EXPECT_LT(max_abs_diff(fast, slow), 1e-11 * std::max(1.0, max_abs(slow)))
            << m->name << (reference ? " reference" : " default") << " rcut " << p.rcut;
      }
    }
  }
}

std::vector<Vec3> rotated(const std::vector<Vec3>& pos, double angle, const Vec3& shift) {
  // Rotation about (1, 2, 2) / 3.
  const double ux = 1.0 / 3, uy = 2.0 / 3, uz = 2.0 / 3;
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

TEST(Cmbdf, InvariantUnderRotationTranslationAndPermutation) {
  const CmbdfParameters p;
  // The longest QM7 molecule, so some distances lie in the switching region.
  const Molecule* longest = &qm7().front();
  double longest_extent = 0;
  for (const auto& m : qm7()) {
    for (std::size_t a = 0; a < m.size(); ++a) {
      for (std::size_t b = 0; b < a; ++b) {
        double s = 0;
        for (int c = 0; c < 3; ++c) s += std::pow(m.positions[a][c] - m.positions[b][c], 2);
        if (std::sqrt(s) > longest_extent) {
          longest_extent = std::sqrt(s);
          longest = &m;
        }
      }
    }
  }
  EXPECT_GT(longest_extent, p.rcut - p.switch_width);
  for (const Molecule* m : {&qm7()[4321], longest}) {
    const std::size_t n = m->size();
    const auto x = features(*m, p);
    Molecule moved = *m;
    moved.positions = rotated(m->positions, 2.1, {-7.5, 0.25, 3.0});
    EXPECT_LT(max_abs_diff(features(moved, p), x), 1e-12 * max_abs(x)) << m->name;
    std::vector<std::size_t> perm(n);
    for (std::size_t a = 0; a < n; ++a) perm[a] = (5 * a + 2) % n;  // a bijection unless 5 | n
    if (n % 5 == 0) std::reverse(perm.begin(), perm.end());
    std::vector<std::size_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t a = 0; a < n; ++a) ASSERT_EQ(sorted[a], a);
    Molecule permuted = *m;
    for (std::size_t a = 0; a < n; ++a) {
      permuted.charges[a] = m->charges[perm[a]];
      permuted.positions[a] = m->positions[perm[a]];
    }
    const auto y = features(permuted, p);
    double worst = 0;
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t i = 0; i < 40; ++i) {
        worst = std::max(worst, std::abs(y[a * 40 + i] - x[perm[a] * 40 + i]));
      }
    }
    EXPECT_LT(worst, 1e-12 * max_abs(x)) << m->name;
  }
}

// Default mode: continuous across table grid points (reference mode jumps).
TEST(Cmbdf, DefaultModeIsContinuousAcrossGridPoints) {
  const double eps = 1e-10;
  for (const bool reference : {false, true}) {
    CmbdfParameters p;
    p.reference = reference;
    const CmbdfTables t(p);
    // A distance on a radial grid point, approached from both sides.
    const double r = 1000 * t.radial_step();
    const double radial_jump = max_abs_diff(features(h2(r - eps), p), features(h2(r + eps), p));
    // An angle at O on an angular grid point.
    auto bent = [](double theta) {
      return Molecule{"OH2",
                      {8, 1, 1},
                      {Vec3{0, 0, 0}, Vec3{0.97, 0, 0},
                       Vec3{1.02 * std::cos(theta), 1.02 * std::sin(theta), 0}},
                      {}};
    };
    const double theta = 9000 * t.angular_step();
    const auto below = features(bent(theta - eps), p), above = features(bent(theta + eps), p);
    double angular_jump = 0;  // the centre O's three-body part
    for (std::size_t i = 20; i < 40; ++i)
      angular_jump = std::max(angular_jump, std::abs(below[i] - above[i]));
    if (reference) {
      EXPECT_GT(radial_jump, 1e-5);
      EXPECT_GT(angular_jump, 1e-5);
    } else {
      EXPECT_LT(radial_jump, 1e-7);
      EXPECT_LT(angular_jump, 1e-7);
    }
  }
}

// Default mode: every term goes to 0 continuously as a distance reaches rcut,
// whichever of a triangle's distances crosses (and whatever the atom order).
TEST(Cmbdf, DefaultModeVanishesContinuouslyAtTheCutoff) {
  CmbdfParameters p;
  p.rcut = 4.0;
  p.switch_width = 1.0;
  double eps = 1e-6;
  // (The switch is ~ (pi eps / 2w)^2 an eps inside the cutoff.)
  for (double v : features(h2(p.rcut - eps), p)) EXPECT_LT(std::abs(v), 1e-10);
  for (double v : features(h2(p.rcut), p)) EXPECT_EQ(v, 0.0);
  for (double v : features(h2(p.rcut + 0.5), p)) EXPECT_EQ(v, 0.0);
  EXPECT_GT(max_abs(features(h2(p.rcut - 0.5), p)), 1e-3);
  // Moving an atom by 2 eps also changes the other terms by O(eps): a jump
  // would show as O(1e-2) here. (eps not smaller: within ~1e-8 of rcut the switch
  // rounds to exactly 0, which would hide a factor that is 1 instead of tiny.)
  eps = 1e-5;
  // A (0,0,0), B (2,0,0), C (x,1,0): only |AC| crosses rcut (|BC| ~ 2.1, |AB| = 2).
  const double x_cross = std::sqrt(p.rcut * p.rcut - 1.0);
  auto triangle = [](double x, int rotate) {
    std::vector<Vec3> pos = {Vec3{0, 0, 0}, Vec3{2, 0, 0}, Vec3{x, 1, 0}};
    std::vector<int> z = {6, 8, 1};
    std::rotate(pos.begin(), pos.begin() + rotate, pos.end());
    std::rotate(z.begin(), z.begin() + rotate, z.end());
    return Molecule{"ABC", z, pos, {}};
  };
  for (int rotate = 0; rotate < 3; ++rotate) {
    const auto in = features(triangle(x_cross - eps, rotate), p);
    const auto out = features(triangle(x_cross + eps, rotate), p);
    EXPECT_LT(max_abs_diff(in, out), 1e-4) << "order " << rotate;
    // Not trivially continuous: the crossing pair still matters well inside.
    const auto inside = features(triangle(x_cross - 0.5, rotate), p);
    EXPECT_GT(max_abs_diff(inside, out), 1e-3) << "order " << rotate;
  }
  // The reference's hard cutoff jumps when the smallest index's distance crosses.
  p.reference = true;
  const auto in = features(triangle(x_cross - eps, 0), p);
  const auto out = features(triangle(x_cross + eps, 0), p);
  EXPECT_GT(max_abs_diff(in, out), 1e-3);
}

TEST(Cmbdf, IndependentOfThreadCountAndTablesShared) {
  const CmbdfParameters p;
  const std::vector<Molecule> some(qm7().begin(), qm7().begin() + 300);
  std::vector<std::size_t> offset(some.size() + 1, 0);
  for (std::size_t i = 0; i < some.size(); ++i) offset[i + 1] = offset[i] + some[i].size() * 40;
  auto run = [&](unsigned threads) {
    core::set_thread_count(threads);
    std::vector<double> x(offset.back());
    core::parallel_for(some.size(), [&](std::size_t i) {
      cmbdf_atoms(some[i], p, std::span<double>(x.data() + offset[i], offset[i + 1] - offset[i]));
    });
    return x;
  };
  const auto one = run(1), two = run(2);
  EXPECT_EQ(one, two);
  core::set_thread_count(2);
  std::vector<const CmbdfTables*> seen(8);
  core::parallel_for(seen.size(), [&](std::size_t i) { seen[i] = cmbdf_tables(p).get(); });
  for (const auto* t : seen) EXPECT_EQ(t, seen[0]);
  EXPECT_NE(cmbdf_tables(reference_mode()).get(), seen[0]);
  core::set_thread_count(0);
}

TEST(Cmbdf, RejectsBadMoleculesAndOutputSizes) {
  Molecule close = h2(0.01);
  close.name = "squashed";
  testing::expect_input_error([&] { features(close, CmbdfParameters{}); }, {"squashed"});
  Molecule inf = h2(1.0);
  inf.positions[0][1] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(features(inf, CmbdfParameters{}), InputError);
  Molecule mismatched = h2(1.0);
  mismatched.charges.push_back(1);
  EXPECT_THROW(features(mismatched, CmbdfParameters{}), InputError);
  std::vector<double> small(79);
  EXPECT_THROW(cmbdf_atoms(h2(1.0), CmbdfParameters{}, small), ParameterError);
}

TEST(Cmbdf, ParametersValidate) {
  EXPECT_NO_THROW(CmbdfParameters{}.validate());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::function<void(CmbdfParameters&)>> bad = {
      [](auto& p) { p.rcut = 0; },
      [&](auto& p) { p.rcut = nan; },
      [](auto& p) { p.rcut = 1e5; },
      [](auto& p) { p.radial_points = 10; },
      [](auto& p) { p.radial_points = kMaxCmbdfTablePoints + 1; },
      [](auto& p) { p.angular_points = std::size_t{1} << 40; },
      [](auto& p) { p.radial_exponent = 0; },
      [](auto& p) { p.angular_exponent = std::numeric_limits<double>::infinity(); },
      [](auto& p) { p.derivative_orders = 0; },
      [](auto& p) { p.derivative_orders = 6; },
      [](auto& p) {
        p.exponential_decays = {1, 2, 3, 4, 5};
      },
      [](auto& p) { p.power_decays = {-1.0}; },
      [&](auto& p) { p.exponential_decays = {nan}; },
      [](auto& p) {
        p.exponential_decays.clear();
        p.power_decays.clear();
      },
      [](auto& p) { p.angular_orders = kMaxCmbdfAngularOrders + 1; },
      [](auto& p) { p.atm_exponent = -2; },
      [](auto& p) { p.switch_width = 0; },
      [](auto& p) { p.switch_width = 10.5; },  // wider than rcut
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    CmbdfParameters p;
    bad[i](p);
    EXPECT_THROW(p.validate(), ParameterError) << "case " << i;
    EXPECT_THROW(cmbdf_dimension(p), ParameterError) << "case " << i;
    EXPECT_THROW(cmbdf_tables(p), ParameterError) << "case " << i;
  }
}

TEST(Cmbdf, ParametersRoundTripAndHostileBytes) {
  CmbdfParameters p;
  p.reference = true;
  p.power_decays = {2.5};
  p.angular_orders = 3;
  p.switch_width = 0.75;
  core::ByteWriter w;
  p.write(w);
  {
    core::ByteReader r(w.data(), "params");
    EXPECT_EQ(CmbdfParameters::read(r), p);
    r.expect_end();
  }
  auto expect_format_error = [](core::Bytes bytes, const std::string& what) {
    core::ByteReader r(bytes, "hostile.params");
    try {
      CmbdfParameters::read(r);
      ADD_FAILURE() << what << ": expected a FormatError";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("hostile.params"), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": expected a FormatError, got " << e.what();
    }
  };
  // Layout: rcut f64 [0,8), radial points u64 [8,16), angular points u64 [16,24),
  // a1 [24,32), a2 [32,40), orders u64 [40,48), exponential decays (u64 count + f64s) ...
  auto bytes = w.data();
  bytes[14] = 0x7f;  // radial points ~ 2^62
  expect_format_error(bytes, "huge table");
  bytes = w.data();
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = 0xff;  // rcut = NaN
  expect_format_error(bytes, "NaN cutoff");
  bytes = w.data();
  bytes[48 + 6] = 0x10;  // exponential decay count ~ 2^52
  expect_format_error(bytes, "huge vector");
  bytes = w.data();
  bytes.back() = 7;  // mode flag
  expect_format_error(bytes, "mode flag");
  bytes = w.data();
  bytes.resize(bytes.size() - 2);
  expect_format_error(bytes, "truncated");
}

}  // namespace
}  // namespace encmol::chem
