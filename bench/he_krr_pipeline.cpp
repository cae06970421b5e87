// Server side of one encrypted Gaussian-kernel KRR prediction, built from the
// he layer only (the secure layer adds plans, masking policy and noise
// flooding): n training points x d features, N = 2^15 (16384 slots).
//
//   1. M x~ : x~ = (x, |x|^2, 1) padded to 512 and replicated; row i of M is
//      (2/T)*gamma*(-2 x_i, 1, |x_i|^2) - (0,..,0,1), so slot i holds
//      y_i = 2 gamma |x - x_i|^2 / T - 1 in [-1, 1] (the affine map of the
//      exp polynomial is folded into the matrix: no level for it)
//   2. alpha_i * exp(-gamma |x - x_i|^2) by he::evaluate_exp_weighted (normalized input;
//      alpha rides in the polynomial's leaves: no level of its own)
//   3. sum_i alpha_i k_i: he::sum_slots (log2(n) rotations)
//   4. he::multiply_vector by a 0/1 mask: only the prediction slots survive (1 level)
// Prints the plan, the op counts, max |encrypted - plain| and per-stage times.
//
//   encmol_bench_he_krr_pipeline --benchmark_min_time=1x      (defaults: n = 4096, d = 276)
//   ENCMOL_HE_BENCH_N=2048 ENCMOL_THREADS=2 encmol_bench_he_krr_pipeline
//   ENCMOL_HE_BENCH_MASK=0 (clean matvec without fold: depth 1, C diagonals; default 1: fold +
//   mask) ENCMOL_HE_BENCH_QUERIES=3 (batch: 3 queries per ciphertext; time per query = time / 3)
//   ENCMOL_HE_BENCH_CACHE=0|1|2 (diagonals: encoded per query | coefficients cached (default) |
//   plaintexts cached)
#include <benchmark/benchmark.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/he/approx.hpp"
#include "encmol/he/linear.hpp"

using namespace encmol;

namespace {

std::size_t env_size(const char* name, std::size_t def) {
  const char* v = std::getenv(name);
  return v ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) : def;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Pipeline {
  std::size_t n = 0, d = 0;
  double T = 32.0, gamma = 0.0;
  he::ExpApproximation approx;
  he::MatVecPlan plan;
  std::shared_ptr<const ckks::Context> ctx;
  std::unique_ptr<ckks::KeyGenerator> keygen;
  std::shared_ptr<const ckks::Encoder> encoder;
  std::unique_ptr<ckks::Encryptor> encryptor;
  std::unique_ptr<ckks::Decryptor> decryptor;
  std::unique_ptr<ckks::Evaluator> ev;
  ckks::RelinKey relin;
  ckks::GaloisKeys galois;
  std::unique_ptr<he::MatVecOperator> op;
  std::vector<double> alpha;  // weights laid out per query region
  std::vector<double> keep;   // 0/1: the slots that carry predictions
  std::vector<double> plain_prediction;
  ckks::Ciphertext query;
  double sum_abs_alpha = 0;

  Pipeline() {
    core::set_thread_count(static_cast<unsigned>(env_size("ENCMOL_THREADS", 1)));
    n = env_size("ENCMOL_HE_BENCH_N", 4096);
    d = env_size("ENCMOL_HE_BENCH_D", 276);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const std::size_t Q = std::max<std::size_t>(1, env_size("ENCMOL_HE_BENCH_QUERIES", 1));
    std::vector<double> X(n * d);
    std::vector<std::vector<double>> xq(Q, std::vector<double>(d));
    for (auto& v : X) v = u(rng);
    for (auto& x : xq)
      for (auto& v : x) v = u(rng);
    // gamma so that every gamma*|x - x_i|^2 lies in [0, T] (a bound the plan would prove from data
    // ranges).
    gamma = T / static_cast<double>(d);
    std::vector<double> a0(n);
    std::normal_distribution<double> g(0.0, 1.0);
    for (auto& a : a0) a = g(rng) / std::sqrt(static_cast<double>(n));

    he::ExpApproxOptions eo;
    eo.affine_in_polynomial = false;
    eo.extra_depth = 1;
    eo.weighted = true;
    approx = he::choose_exp_approximation(T, 1e-7, eo);
    he::MatVecOptions mo;
    mo.mask_allowed = env_size("ENCMOL_HE_BENCH_MASK", 1) != 0;
    mo.queries = env_size("ENCMOL_HE_BENCH_QUERIES", 1);
    plan = he::plan_matvec(n, d + 2, 16384, mo);
    const int depth = plan.depth() + he::exp_weighted_depth(approx) + 1;
    auto t0 = std::chrono::steady_clock::now();
    ctx = ckks::Context::create(ckks::Parameters::for_circuit(depth, 40, 16384));
    std::vector<int> steps = he::merge_steps(
        {plan.galois_steps(), he::sum_slots_steps(std::bit_ceil(n), ctx->slots())}, ctx->slots());
    keygen = std::make_unique<ckks::KeyGenerator>(ctx);
    encoder = std::make_shared<const ckks::Encoder>(ctx);
    encryptor = std::make_unique<ckks::Encryptor>(ctx, keygen->secret_key());
    decryptor = std::make_unique<ckks::Decryptor>(ctx, keygen->secret_key());
    ev = std::make_unique<ckks::Evaluator>(ctx);
    relin = keygen->create_relin_key();
    galois = keygen->create_galois_keys(steps, false);
    const double keygen_s = seconds_since(t0);

    // Matrix rows (2/T) gamma (-2 x_i, 1, |x_i|^2) with -1 in the constant column.
    const std::size_t C = d + 2;
    std::vector<double> M(n * C);
    const double s = 2.0 * gamma / T;
    for (std::size_t i = 0; i < n; ++i) {
      double nx = 0;
      for (std::size_t j = 0; j < d; ++j) {
        M[i * C + j] = -2.0 * s * X[i * d + j];
        nx += X[i * d + j] * X[i * d + j];
      }
      M[i * C + d] = s;
      M[i * C + d + 1] = s * nx - 1.0;
    }
    t0 = std::chrono::steady_clock::now();
    const std::size_t cache = env_size("ENCMOL_HE_BENCH_CACHE", 1);
    const char* cache_names[] = {"encoded per query", "coefficients cached", "plaintexts cached"};
    op = std::make_unique<he::MatVecOperator>(
        encoder, plan, M, ctx->max_level(),
        static_cast<he::DiagonalCache>(std::min<std::size_t>(cache, 2)));
    const double prep_s = seconds_since(t0);
    std::vector<std::vector<double>> xts;
    alpha.assign(ctx->slots(), 0.0);
    keep.assign(ctx->slots(), 0.0);
    for (std::size_t q = 0; q < Q; ++q) {
      const auto& x = xq[q];
      std::vector<double> xt(C);
      double nxq = 0;
      for (std::size_t j = 0; j < d; ++j) {
        xt[j] = x[j];
        nxq += x[j] * x[j];
      }
      xt[d] = nxq;
      xt[d + 1] = 1.0;
      xts.push_back(xt);
      double pred = 0;
      for (std::size_t i = 0; i < n; ++i) {
        double dist = 0;
        for (std::size_t j = 0; j < d; ++j) dist += (x[j] - X[i * d + j]) * (x[j] - X[i * d + j]);
        pred += a0[i] * std::exp(-gamma * dist);
        alpha[he::matvec_output_slot(plan, q, i)] = a0[i];
      }
      plain_prediction.push_back(pred);
      keep[he::matvec_output_slot(plan, q, 0)] = 1.0;
    }
    query = encryptor->encrypt(
        encoder->encode(std::span<const double>(he::matvec_input_layout(plan, xts))));
    sum_abs_alpha = 0;
    for (double a : a0) sum_abs_alpha += std::fabs(a);
    std::printf("parameters: %s\n", ctx->params().describe().c_str());
    std::printf(
        "threads %u; n = %zu, d = %zu; keygen (relin + %zu Galois keys) %.2f s; matrix prep %.2f "
        "s\n",
        core::thread_count(), n, d, steps.size(), keygen_s, prep_s);
    std::printf("exp: %s\n", approx.describe().c_str());
    std::printf("matvec: %s\n", plan.describe().c_str());
    std::printf(
        "depth: %d (matvec) + %d (alpha * exp) + 1 (mask) = %d of %zu levels; diagonals %s "
        "(%.0f MB)\n",
        plan.depth(), he::exp_weighted_depth(approx), depth, ctx->max_level(),
        cache_names[std::min<std::size_t>(cache, 2)],
        static_cast<double>(op->memory_bytes()) / 1e6);
    std::printf(
        "key switches per query: matvec %zu hoisted + %zu full, exp %zu relinearizations, "
        "weighted sum %zu rotations\n",
        plan.hoisted_rotations(), plan.full_rotations(), approx.nonscalar_mults,
        he::sum_slots_steps(std::bit_ceil(n), ctx->slots()).size());
  }

  ckks::Ciphertext run(double* t_matvec, double* t_exp, double* t_sum, double* t_mask) const {
    auto t0 = std::chrono::steady_clock::now();
    auto blocks = op->apply(*ev, query, galois);
    if (t_matvec) *t_matvec = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto k = he::evaluate_exp_weighted(*ev, *encoder, blocks[0], approx, alpha, relin);
    if (t_exp) *t_exp = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    // alpha is zero outside the rows, so the block sums starting at q*R' are the predictions
    auto s = he::sum_slots(*ev, k, std::bit_ceil(n), galois);
    if (t_sum) *t_sum = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto r = he::multiply_vector(*ev, *encoder, s, keep);
    if (t_mask) *t_mask = seconds_since(t0);
    return r;
  }
};

Pipeline& pipeline() {
  static Pipeline p;
  return p;
}

void BM_KrrServerQuery(benchmark::State& state) {
  Pipeline& p = pipeline();
  if (p.plan.blocks != 1) {
    state.SkipWithError("this pipeline handles one output block (n <= slots)");
    return;
  }
  double tm = 0, te = 0, ts = 0, tk = 0;
  ckks::Ciphertext r;
  for (auto _ : state) {
    r = p.run(&tm, &te, &ts, &tk);
    benchmark::DoNotOptimize(r);
  }
  const auto dec = p.encoder->decode(p.decryptor->decrypt(r));
  double other = 0, diff = 0;
  for (std::size_t i = 0; i < dec.size(); ++i)
    if (p.keep[i] == 0.0) other = std::max(other, std::fabs(dec[i]));
  for (std::size_t q = 0; q < p.plain_prediction.size(); ++q)
    diff = std::max(diff,
                    std::fabs(dec[he::matvec_output_slot(p.plan, q, 0)] - p.plain_prediction[q]));
  std::printf(
      "%zu queries per ciphertext; prediction[0]: plain %.10f encrypted %.10f; max |diff| %.3g "
      "(approx bound x sum|alpha| = %.3g); max |other slots| %.3g\n",
      p.plain_prediction.size(), p.plain_prediction[0], dec[0], diff,
      p.approx.error_bound * p.sum_abs_alpha, other);
  state.counters["queries"] = static_cast<double>(p.plain_prediction.size());
  state.counters["matvec_s"] = tm;
  state.counters["exp_s"] = te;
  state.counters["wsum_s"] = ts;
  state.counters["mask_s"] = tk;
}
BENCHMARK(BM_KrrServerQuery)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
