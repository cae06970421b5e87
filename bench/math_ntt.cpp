// Benchmarks of the math layer: NTT on one prime per SIMD path, pointwise
// modular products, and RNS base conversion. Compare with ANCHORS.md §2
// (NTT forward, one prime: SEAL 105/224/474 µs, SEAL+HEXL 14.5/31/154 µs at
// N = 2^13/2^14/2^15). Run single-threaded, e.g.
//   encmol_bench_math_ntt --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "encmol/math/ntt.hpp"
#include "encmol/math/poly_ops.hpp"
#include "encmol/math/primes.hpp"
#include "encmol/math/rns.hpp"

namespace {

using namespace encmol::math;

std::vector<std::uint64_t> random_poly(std::size_t n, std::uint64_t q, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = rng() % q;
  return v;
}

std::vector<SimdPath> paths() {
  std::vector<SimdPath> out{SimdPath::Portable};
  if (cpu_supports(SimdPath::Avx2)) out.push_back(SimdPath::Avx2);
  if (cpu_supports(SimdPath::Avx512)) out.push_back(SimdPath::Avx512);
  if (cpu_supports(SimdPath::Avx512Ifma)) out.push_back(SimdPath::Avx512Ifma);
  return out;
}

void register_ntt() {
  for (int bits : {49, 55}) {
    for (int log_n = 12; log_n <= 16; ++log_n) {
      for (SimdPath path : paths()) {
        const std::size_t n = std::size_t{1} << log_n;
        const std::uint64_t p = generate_ntt_primes(bits, 1, n)[0];
        if (effective_simd_path(path, p) != path) continue;  // would only repeat another path
        for (bool fwd : {true, false}) {
          const std::string name = std::string(fwd ? "ntt_forward/" : "ntt_inverse/") +
                                   to_string(path) + "/" + std::to_string(bits) + "bit/N=2^" +
                                   std::to_string(log_n);
          benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
            const NttTables t(n, Modulus(p));
            auto a = random_poly(n, p, 1);
            for (auto _ : st) {
              if (fwd) {
                t.forward(a.data(), path);
              } else {
                t.inverse(a.data(), path);
              }
              benchmark::DoNotOptimize(a.data());
              benchmark::ClobberMemory();
            }
          })->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
}

void register_mul() {
  const std::size_t n = std::size_t{1} << 14;
  for (int bits : {49, 55}) {
    const std::uint64_t p = generate_ntt_primes(bits, 1, n)[0];
    for (SimdPath path : paths()) {
      if (path == SimdPath::Avx2) continue;  // element-wise products: scalar code there
      if (effective_simd_path(path, p) != path) continue;
      for (bool acc : {false, true}) {
        const std::string name = std::string(acc ? "mul_add_mod/" : "mul_mod/") + to_string(path) +
                                 "/" + std::to_string(bits) + "bit/N=2^14";
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
          const Modulus q(p);
          auto a = random_poly(n, p, 2), b = random_poly(n, p, 3), c = random_poly(n, p, 4);
          for (auto _ : st) {
            if (acc) {
              mul_add_mod(a.data(), b.data(), c.data(), n, q, path);
            } else {
              mul_mod(a.data(), b.data(), c.data(), n, q, path);
            }
            benchmark::DoNotOptimize(c.data());
            benchmark::ClobberMemory();
          }
        })->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

void register_base_convert() {
  // ModUp of one key-switching digit at N=2^15 with IFMA-friendly primes
  // (4 -> 13 limbs), and ModDown-like 2 -> 16.
  const std::size_t n = std::size_t{1} << 15;
  struct Case {
    std::size_t from, to;
  };
  for (Case cs : {Case{4, 13}, Case{2, 16}, Case{16, 4}}) {
    for (SimdPath path : paths()) {
      if (path == SimdPath::Avx2 || path == SimdPath::Avx512) continue;  // no such kernels
      const std::string name = "base_convert/" + std::string(to_string(path)) + "/49bit/" +
                               std::to_string(cs.from) + "to" + std::to_string(cs.to) +
                               "/N=2^15";
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
        const auto primes = generate_ntt_primes(49, cs.from + cs.to, n);
        std::vector<Modulus> fm, tm;
        for (std::size_t i = 0; i < cs.from; ++i) fm.emplace_back(primes[i]);
        for (std::size_t i = 0; i < cs.to; ++i) tm.emplace_back(primes[cs.from + i]);
        const BaseConverter conv{RnsBase(fm), RnsBase(tm)};
        std::vector<std::uint64_t> in(cs.from * n), out(cs.to * n);
        for (std::size_t i = 0; i < cs.from; ++i) {
          auto r = random_poly(n, primes[i], 10 + i);
          std::copy(r.begin(), r.end(), in.begin() + static_cast<std::ptrdiff_t>(i * n));
        }
        for (auto _ : st) {
          conv.convert(in.data(), out.data(), n, path);
          benchmark::DoNotOptimize(out.data());
          benchmark::ClobberMemory();
        }
      })->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_ntt();
  register_mul();
  register_base_convert();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
