// GFN2-xTB single points (chem::xtb_single_points) on 100 molecules of each
// bundled data set (every 71st of QM7, every 61st of C7O2H10), on 1 and 2
// threads (the argument). Counter ms_per_molecule: wall time per molecule.
// Run: build/bench/encmol_bench_chem_xtb
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "encmol/chem/readers.hpp"
#include "encmol/chem/xtb.hpp"
#include "encmol/core/parallel.hpp"

namespace {

using namespace encmol;

std::vector<chem::Molecule> every(const std::string& file, std::size_t stride) {
  const auto all = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/" + file);
  std::vector<chem::Molecule> out;
  for (std::size_t i = 0; i < all.size() && out.size() < 100; i += stride) out.push_back(all[i]);
  return out;
}

const std::vector<chem::Molecule>& qm7_100() {
  static const auto molecules = every("qm7.xyz.gz", 71);
  return molecules;
}

const std::vector<chem::Molecule>& c7o2h10_100() {
  static const auto molecules = every("c7o2h10.xyz.gz", 61);
  return molecules;
}

void run(benchmark::State& state, const std::vector<chem::Molecule>& molecules) {
  core::set_thread_count(static_cast<unsigned>(state.range(0)));
  double seconds = 0.0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto results = chem::xtb_single_points(molecules);
    benchmark::DoNotOptimize(results.data());
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  state.counters["ms_per_molecule"] =
      1e3 * seconds /
      (static_cast<double>(state.iterations()) * static_cast<double>(molecules.size()));
}

void BM_XtbQm7(benchmark::State& state) { run(state, qm7_100()); }
void BM_XtbC7o2h10(benchmark::State& state) { run(state, c7o2h10_100()); }

BENCHMARK(BM_XtbQm7)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_XtbC7o2h10)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
