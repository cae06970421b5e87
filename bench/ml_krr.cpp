// ml benchmarks on bundled QM7 (7,101 molecules): featurization, Gram
// matrices and the Cholesky solve at N = 5,700, and a full cross-validated
// training run. The argument is the thread count (core::set_thread_count,
// which also sets OpenBLAS's). Run: build/bench/encmol_bench_ml_krr
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "encmol/chem/readers.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/kernels.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/krr.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"

namespace {

using namespace encmol;

const std::vector<chem::Molecule>& qm7() {
  static const auto molecules = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  return molecules;
}

// First 5,700 molecules of a seeded permutation: a typical QM7 training set.
const std::vector<chem::Molecule>& train5700() {
  static const auto molecules = [] {
    const auto p = ml::random_permutation(qm7().size(), 1);
    return ml::select(qm7(), std::vector<std::size_t>(p.begin(), p.begin() + 5700));
  }();
  return molecules;
}

const chem::FeatureMatrix& features(chem::RepresentationKind kind) {
  static const auto cm = chem::RepresentationSpec::fit(chem::RepresentationKind::CoulombMatrix, qm7()).featurize(train5700());
  static const auto bob = chem::RepresentationSpec::fit(chem::RepresentationKind::BagOfBonds, qm7()).featurize(train5700());
  return kind == chem::RepresentationKind::CoulombMatrix ? cm : bob;
}

void featurize(benchmark::State& state, chem::RepresentationKind kind) {
  core::set_thread_count(static_cast<unsigned>(state.range(0)));
  const auto spec = chem::RepresentationSpec::fit(kind, qm7());
  for (auto _ : state) {
    auto x = spec.featurize(qm7());
    benchmark::DoNotOptimize(x.data());
  }
  state.counters["molecules"] = static_cast<double>(qm7().size());
  state.counters["dimension"] = static_cast<double>(spec.dimension());
}
void BM_FeaturizeQM7_CM(benchmark::State& s) { featurize(s, chem::RepresentationKind::CoulombMatrix); }
void BM_FeaturizeQM7_BoB(benchmark::State& s) { featurize(s, chem::RepresentationKind::BagOfBonds); }

void gram_bench(benchmark::State& state, ml::KernelKind kernel, chem::RepresentationKind rep) {
  const auto& x = features(rep);
  core::set_thread_count(static_cast<unsigned>(state.range(0)));
  const ml::Kernel k{kernel, 1000.0, 1, 1, 2};
  for (auto _ : state) {
    auto g = ml::gram_symmetric(k, x);
    benchmark::DoNotOptimize(g.data());
  }
  state.counters["n"] = static_cast<double>(x.rows());
  state.counters["d"] = static_cast<double>(x.cols());
}
void BM_Gram5700_Gaussian_CM(benchmark::State& s) { gram_bench(s, ml::KernelKind::Gaussian, chem::RepresentationKind::CoulombMatrix); }
void BM_Gram5700_Laplacian_CM(benchmark::State& s) { gram_bench(s, ml::KernelKind::Laplacian, chem::RepresentationKind::CoulombMatrix); }
void BM_Gram5700_Laplacian_BoB(benchmark::State& s) { gram_bench(s, ml::KernelKind::Laplacian, chem::RepresentationKind::BagOfBonds); }

void BM_CholeskySolve5700(benchmark::State& state) {
  const auto& x = features(chem::RepresentationKind::CoulombMatrix);
  core::set_thread_count(static_cast<unsigned>(state.range(0)));
  const Eigen::MatrixXd k = ml::gram_symmetric({ml::KernelKind::Laplacian, 15848.9, 1, 1, 2}, x);
  const Eigen::MatrixXd y = ml::label_matrix(train5700(), {"ae_pbe0"});
  for (auto _ : state) {
    auto alpha = ml::solve_krr(k, 1e-8, y);  // includes the n^2 copy of K
    benchmark::DoNotOptimize(alpha.data());
  }
}

// `encmol train` at N = 5,700: featurize, distances, 4-fold CV over an 8 x 4
// (sigma, lambda) grid (128 Cholesky factorizations of 4,275 x 4,275; 3 folds:
// 96 of 3,800 x 3,800), final fit.
// Arguments: threads, folds.
void train_bench(benchmark::State& state, chem::RepresentationKind rep, ml::KernelKind kernel) {
  core::set_thread_count(static_cast<unsigned>(state.range(0)));
  ml::TrainOptions opt;
  opt.representation = rep;
  opt.kernel = kernel;
  opt.targets = {"ae_pbe0"};
  opt.folds = static_cast<int>(state.range(1));
  for (auto _ : state) {
    const auto r = ml::train_krr(train5700(), opt);
    state.counters["featurize_s"] = r.featurize_seconds;
    state.counters["distances_s"] = r.distance_seconds;
    state.counters["cv_s"] = r.cv_seconds;
    state.counters["fit_s"] = r.fit_seconds;
    state.counters["grid"] = static_cast<double>(r.cv.size());
  }
}
void BM_TrainCV5700_CM_Laplacian(benchmark::State& s) { train_bench(s, chem::RepresentationKind::CoulombMatrix, ml::KernelKind::Laplacian); }
void BM_TrainCV5700_CM_Gaussian(benchmark::State& s) { train_bench(s, chem::RepresentationKind::CoulombMatrix, ml::KernelKind::Gaussian); }

}  // namespace

BENCHMARK(BM_FeaturizeQM7_CM)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FeaturizeQM7_BoB)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gram5700_Gaussian_CM)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gram5700_Laplacian_CM)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gram5700_Laplacian_BoB)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CholeskySolve5700)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainCV5700_CM_Laplacian)->Args({2, 4})->Args({2, 3})->Args({1, 4})->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_TrainCV5700_CM_Gaussian)->Args({2, 4})->Iterations(1)->Unit(benchmark::kSecond);

BENCHMARK_MAIN();
