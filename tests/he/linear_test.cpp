#include "encmol/he/linear.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "encmol/core/error.hpp"
#include "he_test_util.hpp"

namespace encmol::he {
namespace {

class LinearTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { s_ = std::make_unique<test::Suite>(test::params(12, 3)); }
  static void TearDownTestSuite() { s_.reset(); }
  static std::unique_ptr<test::Suite> s_;

  // Encrypted M x (keys for exactly the plan's steps) vs the plain product.
  // pending: the input goes through enforce_replication without its rescale first.
  void check_matvec(std::size_t rows, std::size_t cols, const MatVecOptions& o, DiagonalCache cache,
                    unsigned seed, bool pending = false) {
    MatVecOptions oo = o;
    if (pending) oo.period = cols + 3;  // exact period: the windows come from enforce_replication
    const MatVecPlan plan = plan_matvec(rows, cols, s_->slots(), oo);
    const auto M = test::uniform(rows * cols, -1, 1, seed);
    const auto x = test::uniform(cols, -1, 1, seed + 1);
    const ReplicationLayout layout =
        pending ? plan_replication(rows + plan.period - 1, plan.period, 1, s_->slots()) : ReplicationLayout{};
    const auto gk = s_->galois(
        pending ? merge_steps({plan.galois_steps(), layout.galois_steps()}, s_->slots()) : plan.galois_steps());
    const MatVecOperator op(s_->encoder, plan, M, s_->ctx->max_level(), cache, pending);
    const auto ct = s_->encrypt(matvec_input_layout(plan, x));
    const auto out =
        op.apply(s_->evaluator,
                 pending ? enforce_replication(s_->evaluator, *s_->encoder, ct, layout,
                                               std::vector<double>(plan.period, 1.0), gk, false)
                         : ct,
                 gk);
    ASSERT_EQ(out.size(), plan.blocks);
    double err = 0;
    for (std::size_t b = 0; b < plan.blocks; ++b) {
      EXPECT_EQ(out[b].level, ct.level - static_cast<std::size_t>(op.depth()));
      EXPECT_EQ(out[b].scale, ct.scale);
      const auto got = s_->decrypt(out[b]);
      for (std::size_t i = 0; i < plan.rows_per_block; ++i) {
        const std::size_t row = b * plan.rows_per_block + i;
        if (row >= rows) break;
        double want = 0;
        for (std::size_t j = 0; j < cols; ++j) want += M[row * cols + j] * x[j];
        err = std::max(err, std::fabs(got[i] - want));
      }
      if (o.clean_output)  // everything past the block's rows decrypts to 0
        for (std::size_t i = plan.rows_per_block; i < plan.slots; ++i)
          err = std::max(err, std::fabs(got[i]));
    }
    EXPECT_LE(err, 1e-6) << plan.describe();
  }
};
std::unique_ptr<test::Suite> LinearTest::s_;

TEST_F(LinearTest, PlanShapes) {
  // KRR sizes of issue 4 (N = 2^15): 4096 training points x 276 features.
  const MatVecPlan p = plan_matvec(4096, 276, 16384, {.clean_output = false});
  EXPECT_EQ(p.period, 512u);
  EXPECT_EQ(p.blocks, 1u);
  EXPECT_EQ(p.fold, 3u);
  EXPECT_EQ(p.diagonals, 171u);
  EXPECT_LE(p.hoisted_rotations() + p.full_rotations(), 40u) << p.describe();
  const MatVecPlan c = plan_matvec(4096, 276, 16384);
  EXPECT_EQ(c.fold, 1u);
  EXPECT_EQ(c.diagonals, 512u);
  EXPECT_LE(c.hoisted_rotations() + c.full_rotations(), 50u) << c.describe();
  const MatVecPlan q = plan_matvec(100, 20, 2048, {.baby = 4, .max_fold = 1});
  EXPECT_EQ(q.fold, 1u);
  EXPECT_EQ(q.diagonals, 32u);
  EXPECT_EQ(q.giants, 8u);
  EXPECT_EQ(q.galois_steps(), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_THROW(plan_matvec(0, 5, 2048), InputError);
  EXPECT_THROW(plan_matvec(5, 4096, 2048), InputError);
  EXPECT_THROW(plan_matvec(5000, 5, 2048, {.blocks = 2}), InputError);
}

TEST_F(LinearTest, MatVecSmallFolded) {
  check_matvec(100, 20, {.clean_output = false}, DiagonalCache::none, 1);
}
TEST_F(LinearTest, MatVecSmallClean) { check_matvec(100, 20, {}, DiagonalCache::coefficients, 2); }
TEST_F(LinearTest, MatVecAfterReplicationWithPendingRescale) {
  check_matvec(100, 20, {}, DiagonalCache::coefficients, 2, true);
  check_matvec(300, 50, {.baby = 4, .max_fold = 1}, DiagonalCache::plaintexts, 3, true);
}
TEST_F(LinearTest, MatVecNoFoldForcedBaby) {
  check_matvec(300, 50, {.baby = 4, .max_fold = 1}, DiagonalCache::plaintexts, 3);
}
TEST_F(LinearTest, MatVecFullSlots) { check_matvec(2048, 64, {}, DiagonalCache::plaintexts, 5); }
TEST_F(LinearTest, MatVecRowsExceedSlots) {
  check_matvec(5000, 37, {.clean_output = false}, DiagonalCache::none, 7);
}
TEST_F(LinearTest, MatVecRowsExceedSlotsClean) {
  check_matvec(5000, 37, {}, DiagonalCache::coefficients, 8);
}
TEST_F(LinearTest, MatVecFoldedAndMasked) {
  const MatVecPlan p = plan_matvec(700, 100, s_->slots(), {.mask_allowed = true});
  EXPECT_GT(p.fold, 1u);
  EXPECT_TRUE(p.masked);
  EXPECT_EQ(p.depth(), 2);
  check_matvec(700, 100, {.mask_allowed = true}, DiagonalCache::coefficients, 10);
  check_matvec(2500, 30, {.mask_allowed = true}, DiagonalCache::plaintexts,
               12);  // two blocks, the last one shorter
}
TEST_F(LinearTest, MatVecNonPowerOfTwoFold) {
  check_matvec(600, 128, {.baby = 5, .clean_output = false, .max_fold = 3}, DiagonalCache::none, 9);
}

TEST_F(LinearTest, MatVecBatchedQueries) {
  const std::size_t rows = 300, cols = 40, Q = 5;
  const MatVecPlan plan = plan_matvec(rows, cols, s_->slots(), {.queries = Q});
  EXPECT_EQ(plan.query_stride, rows + 63);
  const auto M = test::uniform(rows * cols, -1, 1, 21);
  std::vector<std::vector<double>> xs;
  for (std::size_t q = 0; q < Q; ++q)
    xs.push_back(test::uniform(cols, -1, 1, 30 + static_cast<unsigned>(q)));
  const auto gk = s_->galois(plan.galois_steps());
  const MatVecOperator op(s_->encoder, plan, M, s_->ctx->max_level());
  const auto out = op.apply(s_->evaluator, s_->encrypt(matvec_input_layout(plan, xs)), gk);
  ASSERT_EQ(out.size(), 1u);
  const auto got = s_->decrypt(out[0]);
  std::vector<bool> used(s_->slots(), false);
  for (std::size_t q = 0; q < Q; ++q)
    for (std::size_t i = 0; i < rows; ++i) {
      double want = 0;
      for (std::size_t j = 0; j < cols; ++j) want += M[i * cols + j] * xs[q][j];
      const std::size_t slot = matvec_output_slot(plan, q, i);
      used[slot] = true;
      EXPECT_NEAR(got[slot], want, 1e-6) << "query " << q << " row " << i;
    }
  for (std::size_t s = 0; s < s_->slots(); ++s) {
    if (!used[s]) {
      EXPECT_NEAR(got[s], 0.0, 1e-6) << s;
    }
  }
  EXPECT_THROW(plan_matvec(rows, cols, s_->slots(), {.queries = 6}), InputError);
  EXPECT_THROW(
      matvec_input_layout(plan, std::vector<std::vector<double>>(6, std::vector<double>(cols))),
      InputError);
}

TEST_F(LinearTest, MatVecRejectsWrongInputs) {
  const MatVecPlan plan = plan_matvec(10, 10, s_->slots());
  const std::vector<double> M(99, 1.0);
  EXPECT_THROW(MatVecOperator(s_->encoder, plan, M, s_->ctx->max_level()), InputError);
  const std::vector<double> M2(100, 1.0);
  EXPECT_THROW(MatVecOperator(s_->encoder, plan, M2, 0), InputError);
  EXPECT_THROW(matvec_input_layout(plan, std::vector<double>(9)), InputError);
  // A missing Galois key is a clear error, not a crash.
  const MatVecOperator op(s_->encoder, plan, M2, s_->ctx->max_level());
  const auto ct = s_->encrypt(matvec_input_layout(plan, std::vector<double>(10, 0.5)));
  EXPECT_THROW(op.apply(s_->evaluator, ct, s_->galois({1})), ParameterError);
}

TEST_F(LinearTest, SlotSumsReplicateMaskWeightedSum) {
  const std::size_t S = s_->slots();
  const auto v = test::uniform(S, -1, 1, 11);
  const auto ct = s_->encrypt(v);
  const auto gk = s_->galois(merge_steps({sum_slots_steps(S, S), replicate_steps(8, 16, S)}, S));
  // Sum within blocks of 64: slot 64*b holds the block sum.
  {
    const auto got = s_->decrypt(sum_slots(s_->evaluator, ct, 64, gk));
    for (std::size_t b = 0; b < S / 64; ++b) {
      double want = 0;
      for (std::size_t k = 0; k < 64; ++k) want += v[b * 64 + k];
      EXPECT_NEAR(got[b * 64], want, 1e-6);
    }
  }
  // Sum of all slots in every slot.
  {
    const auto got = s_->decrypt(sum_slots(s_->evaluator, ct, S, gk));
    double want = 0;
    for (double x : v) want += x;
    for (std::size_t i = 0; i < S; i += 97) EXPECT_NEAR(got[i], want, 1e-5);
  }
  // Mask keeps [100, 150) and zeroes everything else (within noise).
  {
    const auto m = mask(s_->evaluator, *s_->encoder, ct, 100, 50);
    EXPECT_EQ(m.level, ct.level - 1);
    EXPECT_EQ(m.scale, ct.scale);
    const auto got = s_->decrypt(m);
    for (std::size_t i = 0; i < S; ++i)
      EXPECT_NEAR(got[i], (i >= 100 && i < 150) ? v[i] : 0.0, 1e-7) << i;
  }
  // Replicate the first 8 slots 16 times.
  {
    std::vector<double> first8(S, 0.0);
    for (std::size_t i = 0; i < 8; ++i) first8[i] = v[i];
    const auto got = s_->decrypt(replicate(s_->evaluator, s_->encrypt(first8), 8, 16, gk));
    for (std::size_t i = 0; i < 128; ++i) EXPECT_NEAR(got[i], v[i % 8], 1e-6);
    for (std::size_t i = 128; i < S; ++i) EXPECT_NEAR(got[i], 0.0, 1e-6);
  }
  // Weighted sum of the first 1000 slots lands in slot 0.
  {
    const auto w = test::uniform(1000, -2, 2, 12);
    const auto got = s_->decrypt(weighted_sum(s_->evaluator, *s_->encoder, ct, w, gk));
    double want = 0;
    for (std::size_t i = 0; i < w.size(); ++i) want += w[i] * v[i];
    EXPECT_NEAR(got[0], want, 1e-5);
  }
  // Three weighted sums of stride 256 (e.g. three targets sharing the kernel values).
  {
    const std::vector<std::vector<double>> w = {
        test::uniform(200, -1, 1, 13), test::uniform(256, -1, 1, 14), test::uniform(17, -1, 1, 15)};
    const auto got = s_->decrypt(block_weighted_sums(s_->evaluator, *s_->encoder, ct, w, 256, gk));
    for (std::size_t t = 0; t < w.size(); ++t) {
      double want = 0;
      for (std::size_t i = 0; i < w[t].size(); ++i) want += w[t][i] * v[t * 256 + i];
      EXPECT_NEAR(got[t * 256], want, 1e-5) << "sum " << t;
    }
    EXPECT_THROW(block_weighted_sums(s_->evaluator, *s_->encoder, ct, w, 128, gk), InputError);
    EXPECT_THROW(block_weighted_sums(s_->evaluator, *s_->encoder, ct,
                                     std::vector<std::vector<double>>(9), 256, gk),
                 InputError);
  }
  // Blocks of 2^a + 2^b slots: 48 = 32 + 16 and 3 = 2 + 1.
  for (std::size_t block : {std::size_t{48}, std::size_t{3}}) {
    const auto got = s_->decrypt(sum_slots(s_->evaluator, ct, block, gk));
    for (std::size_t start : {std::size_t{0}, std::size_t{100}, S - block}) {
      double want = 0;
      for (std::size_t k = 0; k < block; ++k) want += v[start + k];
      EXPECT_NEAR(got[start], want, 1e-6) << "block " << block << " at " << start;
    }
  }
  EXPECT_EQ(sum_slots_steps(48, S), (std::vector<int>{1, 2, 4, 8, 16, 32}));
  EXPECT_EQ(two_power_sum_ceil(6000), 6144u);
  EXPECT_EQ(two_power_sum_ceil(4096), 4096u);
  EXPECT_EQ(two_power_sum_ceil(4097), 4097u);  // 2^12 + 2^0
  EXPECT_EQ(two_power_sum_ceil(4099), 4100u);
  EXPECT_EQ(two_power_sum_ceil(7000), 8192u);
  EXPECT_THROW(sum_slots(s_->evaluator, ct, 7, gk), InputError);
  EXPECT_THROW(replicate(s_->evaluator, ct, 1000, 4, gk), InputError);
  EXPECT_THROW(mask(s_->evaluator, *s_->encoder, ct, S - 1, 2), InputError);
  EXPECT_EQ(merge_steps({{1, 2}, {2, -1, 0}}, 16), (std::vector<int>{1, 2, 15}));
}

// The server-side layout: from random junk everywhere, only the source block
// of each window survives (times keep, plus fill) and is copied over its window.
TEST_F(LinearTest, EnforceReplicationRebuildsEveryWindow) {
  const std::size_t S = s_->slots();  // 2048
  struct Case {
    std::size_t needed, period, windows, copies;
  };
  const std::vector<Case> cases = {
      {70, 16, 3, 5},     // 2^2 + 1 copies
      {100, 32, 4, 4},    // 2^2
      {40, 8, 1, 5},      // one window, 2^2 + 1
      {1900, 64, 1, 32},  // 30 blocks: 2^5, the whole slot vector
      {257, 128, 2, 3},   // 2^1 + 1
      {300, 23, 2, 16},   // period not a power of two: 14 blocks -> 2^4
      {250, 23, 2, 12},   // 11 blocks -> 2^3 + 2^2
      {120, 10, 3, 12},   // 2^3 + 2^2 exactly
      {60, 10, 1, 6},     // 2^2 + 2^1
  };
  for (const auto& c : cases) {
    const ReplicationLayout l = plan_replication(c.needed, c.period, c.windows, S);
    ASSERT_EQ(l.copies, c.copies) << c.needed << "/" << c.period;
    ASSERT_GE(l.stride(), c.needed);
    const auto v = test::uniform(S, -1, 1, static_cast<unsigned>(c.needed));
    std::vector<double> keep(c.period, 1.0);
    keep[1] = 0.5;
    keep[c.period - 1] = 0.0;  // forced zero
    const auto gk = s_->galois(l.galois_steps());
    const auto ct = s_->encrypt(v);
    // Without the rescale (left to the next product) the result decrypts the same after one.
    const bool rescale = c.copies % 2 == 0;
    auto out = enforce_replication(s_->evaluator, *s_->encoder, ct, l, keep, gk, rescale);
    if (!rescale) {
      EXPECT_EQ(out.level, ct.level);
      const double q = static_cast<double>(s_->ctx->modulus(ct.level).value());
      EXPECT_EQ(out.scale, ct.scale * q);
      out = s_->evaluator.rescale(out);
      out.scale = ct.scale;
    }
    EXPECT_EQ(out.level, ct.level - 1);
    const auto got = s_->decrypt(out);
    const std::size_t stride = l.stride();
    double err = 0;
    for (std::size_t s = 0; s < S; ++s) {
      const std::size_t q = s / stride;
      double want = 0;
      if (q < l.windows) {
        const std::size_t j = (s - q * stride) % c.period;
        const std::size_t source = q * stride + l.source_block() * c.period + j;
        want = keep[j] * v[source];
      }
      err = std::max(err, std::fabs(got[s] - want));
    }
    EXPECT_LE(err, 1e-6) << "needed " << c.needed << ", period " << c.period;
  }
  EXPECT_THROW(plan_replication(1000, 64, 3, S), InputError);
  EXPECT_THROW(plan_replication(100, 48, 0, S), InputError);
  const ReplicationLayout l = plan_replication(70, 16, 3, S);
  const auto ct = s_->encrypt(std::vector<double>(S, 1.0));
  EXPECT_THROW(enforce_replication(s_->evaluator, *s_->encoder, ct, l, std::vector<double>(8, 1.0),
                                   s_->galois(l.galois_steps())),
               InputError);
}

}  // namespace
}  // namespace encmol::he
