// chem benchmarks: the atomic representations (FCHL19, cMBDF) of all 7,101
// bundled QM7 molecules, molecules spread over threads with core::parallel_for,
// and the cMBDF table build on its own. The argument is the thread count.
// Each worker writes into its own buffer sized for one molecule (the full FCHL19
// matrix of QM7 would be 630 MB), so the figures are compute, not page faults.
// Run: build/bench/encmol_bench_chem_atomic_representations
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "encmol/chem/cmbdf.hpp"
#include "encmol/chem/cmbdf_tables.hpp"
#include "encmol/chem/fchl19.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/parallel.hpp"

namespace {

using namespace encmol;

const std::vector<chem::Molecule>& qm7() {
  static const auto molecules =
      chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  return molecules;
}

std::size_t largest_molecule() {
  std::size_t n = 0;
  for (const auto& m : qm7()) n = std::max(n, m.size());
  return n;
}

// Runs `one(molecule, buffer)` for every QM7 molecule, ranges of molecules per thread.
template <typename Fn>
void featurize_all(benchmark::State& state, std::size_t dimension, const Fn& one) {
  core::set_thread_count(static_cast<unsigned>(state.range(0)));
  const std::size_t capacity = largest_molecule() * dimension;
  std::size_t atoms = 0;
  for (const auto& m : qm7()) atoms += m.size();
  for (auto _ : state) {
    core::parallel_for_ranges(
        qm7().size(),
        [&](std::size_t begin, std::size_t end) {
          std::vector<double> buffer(capacity);
          for (std::size_t i = begin; i < end; ++i) {
            const auto& m = qm7()[i];
            one(m, std::span<double>(buffer.data(), m.size() * dimension));
            benchmark::DoNotOptimize(buffer.data());
          }
        },
        16);
  }
  state.counters["molecules"] = static_cast<double>(qm7().size());
  state.counters["atoms"] = static_cast<double>(atoms);
  state.counters["dimension"] = static_cast<double>(dimension);
}

void BM_Fchl19QM7(benchmark::State& state) {
  const chem::Fchl19Parameters p;
  const std::vector<int> elements = {1, 6, 7, 8, 16};
  featurize_all(state, chem::fchl19_dimension(p, elements.size()),
                [&](const chem::Molecule& m, std::span<double> out) {
                  chem::fchl19_atoms(m, elements, p, out);
                });
}

void cmbdf_bench(benchmark::State& state, bool reference) {
  chem::CmbdfParameters p;
  p.reference = reference;
  const auto tables = chem::cmbdf_tables(p);  // built outside the timed loop
  featurize_all(
      state, chem::cmbdf_dimension(p),
      [&](const chem::Molecule& m, std::span<double> out) { chem::cmbdf_atoms(m, *tables, out); });
}
void BM_CmbdfQM7(benchmark::State& state) { cmbdf_bench(state, false); }
void BM_CmbdfQM7Reference(benchmark::State& state) { cmbdf_bench(state, true); }

// The one-off table build (uncached; both modes build the same number of FFTs).
void BM_CmbdfTables(benchmark::State& state) {
  chem::CmbdfParameters p;
  p.reference = state.range(0) != 0;
  for (auto _ : state) {
    const chem::CmbdfTables tables(p);
    benchmark::DoNotOptimize(tables.radial_row(0).data());
  }
}

}  // namespace

BENCHMARK(BM_Fchl19QM7)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CmbdfQM7)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CmbdfQM7Reference)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CmbdfTables)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
