// Local (elemental) Gaussian kernel matrices at QM7 scale: 5,700 training
// molecules with QM7's real element composition (H, C, N, O, S; 15.4 atoms
// per molecule on average), d = 40 (cMBDF-sized) or 720 (FCHL19-sized)
// random values per atom, for 1 or 8 sigmas at once (also at 1,000
// molecules, small enough for callgrind). Run: build/bench/encmol_bench_ml_local_kernel
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/local_kernel.hpp"

namespace {

using namespace encmol;

chem::AtomicFeatures qm7_shaped(std::size_t molecules, int d) {
  static const auto qm7 = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0.0, 1.0);
  chem::AtomicFeatures f;
  f.offsets.push_back(0);
  std::vector<double> values;
  for (std::size_t i = 0; i < molecules; ++i) {
    for (int z : qm7[i].charges) {
      f.charges.push_back(z);
      for (int k = 0; k < d; ++k) values.push_back(g(rng));
    }
    f.offsets.push_back(f.charges.size());
  }
  f.values = Eigen::Map<chem::AtomicFeatures::Matrix>(values.data(), static_cast<Eigen::Index>(f.charges.size()), d);
  return f;
}

void BM_LocalGramSymmetric(benchmark::State& state) {
  const auto x = qm7_shaped(static_cast<std::size_t>(state.range(0)), static_cast<int>(state.range(1)));
  std::vector<double> sigmas;
  for (int s = 0; s < state.range(2); ++s) sigmas.push_back(2.0 * (1 << s));
  core::set_thread_count(static_cast<unsigned>(state.range(3)));
  for (auto _ : state) {
    auto k = ml::local_gram_symmetric(x, sigmas);
    benchmark::DoNotOptimize(k.front().data());
  }
  state.counters["atoms"] = static_cast<double>(x.atom_count());
}
BENCHMARK(BM_LocalGramSymmetric)
    ->ArgNames({"molecules", "d", "sigmas", "threads"})
    ->ArgsProduct({{1000, 5700}, {40, 720}, {1, 8}, {1, 2}})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
