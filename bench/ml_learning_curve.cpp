// Full-QM7 learning curves (issue 2 figures): sorted CM and Bag of Bonds with
// Gaussian and Laplacian kernels, N = 1,000, 2,000, 4,000, 5,700 training
// molecules (nested subsets of a seeded 5,700 / 1,401 split), sigma and lambda
// chosen per N by 4-fold CV over the default 8 x 4 grid, PBE0 atomization
// energy. Each benchmark runs once and prints its rows (N, MAE, RMSE, sigma,
// lambda, seconds) to stdout. Slow (minutes); not part of any test.
// Run: build/bench/encmol_bench_ml_learning_curve [--benchmark_filter=CM_Laplacian]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "encmol/chem/readers.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"

namespace {

using namespace encmol;

void curve(benchmark::State& state, chem::RepresentationKind rep, ml::KernelKind kernel) {
  core::set_thread_count(static_cast<unsigned>(state.range(0)));
  static const auto qm7 = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  const ml::Split split = ml::random_split(qm7.size(), 5700, 2026);
  const auto train = ml::select(qm7, split.train), test = ml::select(qm7, split.test);
  ml::TrainOptions opt;
  opt.representation = rep;
  opt.kernel = kernel;
  opt.targets = {"ae_pbe0"};
  opt.folds = static_cast<int>(state.range(1));
  opt.seed = 2026;
  for (auto _ : state) {
    const auto rows = ml::learning_curve(train, test, opt, {1000, 2000, 4000, 5700});
    for (const auto& r : rows) {
      std::printf("%s,%s,%zu,%s,MAE=%.3f,RMSE=%.3f,sigma=%.6g,lambda=%.3g,seconds=%.2f\n",
                  std::string(chem::to_string(rep)).c_str(), std::string(ml::to_string(kernel)).c_str(), r.n,
                  r.target.c_str(), r.mae, r.rmse, r.sigma, r.lambda, r.train_seconds);
      state.counters["MAE_" + std::to_string(r.n)] = r.mae;
    }
    std::fflush(stdout);
  }
}

void BM_CM_Gaussian(benchmark::State& s) { curve(s, chem::RepresentationKind::CoulombMatrix, ml::KernelKind::Gaussian); }
void BM_CM_Laplacian(benchmark::State& s) { curve(s, chem::RepresentationKind::CoulombMatrix, ml::KernelKind::Laplacian); }
void BM_BoB_Gaussian(benchmark::State& s) { curve(s, chem::RepresentationKind::BagOfBonds, ml::KernelKind::Gaussian); }
void BM_BoB_Laplacian(benchmark::State& s) { curve(s, chem::RepresentationKind::BagOfBonds, ml::KernelKind::Laplacian); }

}  // namespace

// Arguments: threads, CV folds.
BENCHMARK(BM_CM_Gaussian)->Args({2, 4})->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_CM_Laplacian)->Args({2, 4})->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_BoB_Gaussian)->Args({2, 4})->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_BoB_Laplacian)->Args({2, 4})->Iterations(1)->Unit(benchmark::kSecond);

BENCHMARK_MAIN();
