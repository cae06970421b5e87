// QM7 regressions of the reference Python toolkit (ANCHORS.md §3): first 1,000
// QM7 molecules by name, random 700 / 300 split, Laplacian kernel KRR on the
// PBE0 atomization energy (kcal/mol), fixed sigma and lambda = 1e-10.
//
// The split is the reference's own (numpy's legacy shuffle with seed 666,
// reimplemented below). As in the reference, the representation's padding (CM
// size / BoB bag sizes) covers all 1,000 molecules — it uses no labels — so
// every test molecule can be featurized. Each case is checked twice: the bare
// reference computation (alpha = (K + lambda I)^-1 y, nothing subtracted) and
// encmol's pipeline (train_krr with only the mean subtracted, then
// Model::predict). With other random splits the MAE varies by about ±0.3
// kcal/mol (BoB 2.3–3.0, CM 5.0–6.3 over seeds 1–10; DISABLED_SplitSpread).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "encmol/chem/readers.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/krr.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::ml {
namespace {

const std::vector<chem::Molecule>& qm7_first_1000() {
  static const std::vector<chem::Molecule> molecules = [] {
    auto all = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
    std::vector<chem::Molecule> first(all.begin(), all.begin() + 1000);
    return first;
  }();
  return molecules;
}

// The reference protocol shuffles with numpy's legacy global generator:
// np.random.seed(666) seeds MT19937 with the 32-bit init_genrand (the same as
// std::mt19937(666)), and RandomState.shuffle runs Fisher-Yates from the end,
// drawing j in [0, i] by masking 32-bit outputs to the next power of two minus
// one and rejecting values above i. This reimplements that permutation so the
// split is the reference's own 700 / 300 split.
std::vector<std::size_t> numpy_legacy_shuffle(std::size_t n, std::uint32_t seed) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937 rng(seed);
  for (std::size_t i = n - 1; i >= 1; --i) {
    std::uint32_t mask = static_cast<std::uint32_t>(i);
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    std::uint32_t j;
    do {
      j = static_cast<std::uint32_t>(rng()) & mask;
    } while (j > i);
    std::swap(p[i], p[j]);
  }
  return p;
}

Split reference_split(std::size_t n) {
  const auto p = numpy_legacy_shuffle(n, 666);
  return {std::vector<std::size_t>(p.begin(), p.begin() + 700),
          std::vector<std::size_t>(p.begin() + 700, p.end())};
}

struct AnchorResult {
  double reference_mae = 0;  // the reference computation: K alpha = y, nothing subtracted
  double pipeline_mae = 0;   // encmol's train_krr (mean subtracted) + Model::predict
};

AnchorResult anchor(chem::RepresentationKind rep, double sigma, const Split& split) {
  const auto& mols = qm7_first_1000();
  const auto train = select(mols, split.train), test = select(mols, split.test);
  const Eigen::MatrixXd y = label_matrix(train, {"ae_pbe0"}), ys = label_matrix(test, {"ae_pbe0"});
  AnchorResult out;
  {
    const auto spec = chem::RepresentationSpec::fit(rep, mols);
    const FeatureMatrix x = spec.featurize(train), xs = spec.featurize(test);
    const Kernel k{KernelKind::Laplacian, sigma, 1, 1, 2};
    const Eigen::MatrixXd alpha = solve_krr(gram_symmetric(k, x), 1e-10, y);
    out.reference_mae = prediction_errors(gram(k, xs, x) * alpha, ys).mae[0];
  }
  TrainOptions opt;
  opt.representation = rep;
  opt.representation_options = chem::capacity_for(mols);
  opt.kernel = KernelKind::Laplacian;
  opt.sigmas = {sigma};
  opt.lambdas = {1e-10};
  opt.baseline = false;
  opt.targets = {"ae_pbe0"};
  const TrainResult r = train_krr(train, opt);
  const Errors e = prediction_errors(r.model.predict(test), ys);
  out.pipeline_mae = e.mae[0];
  std::printf("[anchor] %-3s sigma=%-8g reference MAE %.4f, pipeline MAE %.4f RMSE %.4f kcal/mol, sum|alpha| %.4g\n",
              std::string(chem::to_string(rep)).c_str(), sigma, out.reference_mae, e.mae[0], e.rmse[0],
              r.model.global_krr().sum_abs_alpha()(0));
  return out;
}

TEST(Qm7Anchor, FirstThousandAreInNameOrder) {
  const auto& mols = qm7_first_1000();
  ASSERT_EQ(mols.size(), 1000u);
  EXPECT_EQ(mols.front().name, "0001.xyz");
  EXPECT_TRUE(std::is_sorted(mols.begin(), mols.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
}

TEST(Qm7Anchor, SortedCoulombMatrixLaplacian) {
  const AnchorResult r = anchor(chem::RepresentationKind::CoulombMatrix, std::pow(10.0, 4.2), reference_split(1000));
  EXPECT_LT(r.reference_mae, 6.0);
  EXPECT_LT(r.pipeline_mae, 6.0);
}

TEST(Qm7Anchor, BagOfBondsLaplacian) {
  const AnchorResult r = anchor(chem::RepresentationKind::BagOfBonds, 26214.4, reference_split(1000));
  EXPECT_LT(r.reference_mae, 2.6);
  EXPECT_LT(r.pipeline_mae, 2.6);
}

// Not a regression: shows how much the MAE depends on the split (encmol's own
// seeded splits). Run with --gtest_also_run_disabled_tests.
TEST(Qm7Anchor, DISABLED_SplitSpread) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
    anchor(chem::RepresentationKind::CoulombMatrix, std::pow(10.0, 4.2), random_split(1000, 700, seed));
    anchor(chem::RepresentationKind::BagOfBonds, 26214.4, random_split(1000, 700, seed));
  }
}

}  // namespace
}  // namespace encmol::ml
