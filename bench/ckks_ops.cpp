// Benchmarks of the CKKS engine at the anchor sizes of ANCHORS.md §2:
// public-key encryption, decryption, multiply + relinearize, rescale, rotate
// by 1 and 8 hoisted rotations (steps 1..8), at N = 2^13, 2^14, 2^15, 2^16 with
// log2(P*Q) about 218, 438, 881 and 1270 bits (all primes below 2^50 so the
// IFMA NTT applies), with 1 and 2 threads. Ciphertexts are at the top level.
//
//   encmol_bench_ckks_ops --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   encmol_bench_ckks_ops --benchmark_filter='N=2\^14'      (one ring size)
//   ENCMOL_CKKS_BENCH_LOGN=13,14 encmol_bench_ckks_ops     (limit the sizes built)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/core/parallel.hpp"

using namespace encmol;
using namespace encmol::ckks;

namespace {

// (ciphertext prime bits, special prime bits, dnum) per ring size.
ParameterSet bench_params(int log_n) {
  switch (log_n) {
    case 13:  // 4 q + 1 p, like SEAL's 5-prime default (217 bits)
      return Parameters::from_bit_sizes(13, {44, 43, 43, 43}, {44}, 4, 43);
    case 14:  // 7 q + 2 p, dnum 4 (435 bits)
      return Parameters::from_bit_sizes(14, {49, 48, 48, 48, 48, 48, 48}, {49, 49}, 4, 48);
    case 15: {  // 15 q + 3 p, dnum 5 (~868 bits)
      std::vector<int> q(15, 48);
      q[0] = 49;
      return Parameters::from_bit_sizes(15, q, {49, 49, 49}, 5, 48);
    }
    default: {  // 2^16: 22 q + 4 p, dnum 6 (~1253 bits)
      std::vector<int> q(22, 48);
      q[0] = 49;
      return Parameters::from_bit_sizes(16, q, {49, 49, 49, 49}, 6, 48);
    }
  }
}

struct Fixture {
  std::shared_ptr<const Context> ctx;
  std::unique_ptr<KeyGenerator> keygen;
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<Encryptor> encryptor;
  std::unique_ptr<Decryptor> decryptor;
  std::unique_ptr<Evaluator> evaluator;
  RelinKey relin;
  GaloisKeys galois;
  Plaintext pt;
  Ciphertext a, b, product;

  explicit Fixture(int log_n) {
    ctx = Context::create(bench_params(log_n));
    keygen = std::make_unique<KeyGenerator>(ctx);
    encoder = std::make_unique<Encoder>(ctx);
    encryptor = std::make_unique<Encryptor>(ctx, keygen->create_public_key());
    decryptor = std::make_unique<Decryptor>(ctx, keygen->secret_key());
    evaluator = std::make_unique<Evaluator>(ctx);
    relin = keygen->create_relin_key();
    const std::vector<int> steps = {1, 2, 3, 4, 5, 6, 7, 8};
    galois = keygen->create_galois_keys(steps, false);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> v(ctx->slots());
    for (auto& x : v) x = u(rng);
    pt = encoder->encode(v);
    a = encryptor->encrypt(pt);
    b = encryptor->encrypt(pt);
    product = evaluator->multiply_relin(a, b, relin);
  }
};

std::unique_ptr<Fixture> g_fixture;
int g_log_n = 0;

Fixture& fixture(int log_n) {
  if (g_log_n != log_n) {
    g_fixture.reset();  // one ring size in memory at a time (2^16 keys are large)
    g_fixture = std::make_unique<Fixture>(log_n);
    g_log_n = log_n;
    std::fprintf(stderr, "# %s\n", g_fixture->ctx->params().describe().c_str());
  }
  return *g_fixture;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Besides Google Benchmark's times (real time, and CPU time of the calling
// thread), reports proc_cpu_ms: CPU time of all threads per iteration. On a
// shared, loaded machine the calling thread's CPU time is the most stable
// single-thread figure; with 2 threads, (proc_cpu - cpu) is the worker's share.
template <class Op>
void run(benchmark::State& state, int log_n, unsigned threads, Op op) {
  Fixture& f = fixture(log_n);
  core::set_thread_count(threads);
  const double start = process_cpu_seconds();
  for (auto _ : state) op(f);
  const double used = process_cpu_seconds() - start;
  state.counters["proc_cpu_ms"] =
      benchmark::Counter(1e3 * used / static_cast<double>(state.iterations()));
  core::set_thread_count(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {13, 14, 15, 16};
  if (const char* env = std::getenv("ENCMOL_CKKS_BENCH_LOGN")) {
    sizes.clear();
    std::stringstream ss(env);
    std::string tok;
    while (std::getline(ss, tok, ',')) sizes.push_back(std::stoi(tok));
  }
  for (int log_n : sizes) {
    for (unsigned threads : {1u, 2u}) {
      const std::string prefix = "ckks/N=2^" + std::to_string(log_n) + "/threads=" + std::to_string(threads) + "/";
      auto reg = [&](const std::string& name, auto op) {
        auto* b = benchmark::RegisterBenchmark((prefix + name).c_str(), [=](benchmark::State& st) {
          run(st, log_n, threads, op);
        });
        b->Unit(benchmark::kMillisecond)->UseRealTime();
        if (log_n >= 16) b->MinTime(0.5);
      };
      reg("encrypt_pk", [](Fixture& f) { benchmark::DoNotOptimize(f.encryptor->encrypt(f.pt)); });
      reg("decrypt", [](Fixture& f) { benchmark::DoNotOptimize(f.decryptor->decrypt(f.a)); });
      reg("multiply_relin",
          [](Fixture& f) { benchmark::DoNotOptimize(f.evaluator->multiply_relin(f.a, f.b, f.relin)); });
      reg("rescale", [](Fixture& f) { benchmark::DoNotOptimize(f.evaluator->rescale(f.product)); });
      reg("rotate_1", [](Fixture& f) { benchmark::DoNotOptimize(f.evaluator->rotate(f.a, 1, f.galois)); });
      reg("rotate_hoisted_8", [](Fixture& f) {
        static const std::vector<int> steps = {1, 2, 3, 4, 5, 6, 7, 8};
        benchmark::DoNotOptimize(f.evaluator->rotate_hoisted(f.a, steps, f.galois));
      });
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_fixture.reset();
  return 0;
}
