// Load on `encmol serve` (network-service issue): an in-process service::Server
// on loopback with TLS and a SQLite database, and C concurrent clients (each
// its own gRPC channel and token session of one identity) that send encrypted
// queries back to back for S seconds. Queries are encrypted before the clock
// starts (each call still has a fresh request id, so each is evaluated and
// charged), so the figures are the server's: per (workers, clients) one row
// of answered queries, refusals (RESOURCE_EXHAUSTED past workers + queue),
// molecules per second, and call latency percentiles as the client sees them
// (TLS, gRPC, queueing, evaluation, the charge's transaction).
//
//   encmol_bench_service_load [--model FILE] [--workers 1,2] [--clients 1,2,4,8]
//                             [--threads T] [--queue 8] [--molecules 1] [--seconds 10]
//                             [--tolerance 0.5]
// Without --model it trains the service tests' model (linear kernel, 120 QM7
// molecules). The clients share the machine with the server: on a small
// machine, read the rows as lower bounds of what the server alone sustains.
// Not a Google Benchmark: one configuration is a multi-second run.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/service/remote_client.hpp"
#include "encmol/service/server.hpp"
#include "encmol/service/store.hpp"

using namespace encmol;
using encmol::bench::now;
namespace fs = std::filesystem;

namespace {

std::vector<unsigned> list(const char* text) {
  std::vector<unsigned> v;
  for (const double x : bench::number_list(text)) v.push_back(static_cast<unsigned>(x));
  return v;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

struct Row {
  std::size_t answered = 0, refused = 0, failed = 0, molecules = 0;
  std::vector<double> latency;
  double server_seconds = 0;
  double wall = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string model_file;
  std::vector<unsigned> workers{1, 2}, clients{1, 2, 4, 8};
  unsigned threads = 0, queue = 8;
  std::size_t molecules = 1;
  double seconds = 10, tolerance = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--model")
      model_file = v, ++i;
    else if (a == "--workers")
      workers = list(v), ++i;
    else if (a == "--clients")
      clients = list(v), ++i;
    else if (a == "--threads")
      threads = static_cast<unsigned>(std::strtoul(v, nullptr, 10)), ++i;
    else if (a == "--queue")
      queue = static_cast<unsigned>(std::strtoul(v, nullptr, 10)), ++i;
    else if (a == "--molecules")
      molecules = std::strtoul(v, nullptr, 10), ++i;
    else if (a == "--seconds")
      seconds = std::atof(v), ++i;
    else if (a == "--tolerance")
      tolerance = std::atof(v), ++i;
    else {
      std::fprintf(stderr, "unknown option %s (see the top of bench/service_load.cpp)\n",
                   a.c_str());
      return 2;
    }
  }
  const fs::path dir =
      fs::temp_directory_path() / ("encmol_bench_service_" + std::to_string(::getpid()));
  try {
    fs::create_directories(dir);
    const std::string certs = std::string(ENCMOL_SOURCE_DIR) + "/scripts/make_certs.sh " +
                              (dir / "tls").string() + " localhost >/dev/null";
    if (std::system(certs.c_str()) != 0) throw IoError("scripts/make_certs.sh failed");
    const auto all = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
    const ml::Split split = ml::random_split(all.size(), 120, 11);
    std::vector<chem::Molecule> test = ml::select(all, split.test);
    test.resize(std::min<std::size_t>(test.size(), 64));
    std::shared_ptr<const ml::Model> model;
    if (!model_file.empty()) {
      model = std::make_shared<const ml::Model>(ml::Model::load(model_file));
    } else {
      ml::TrainOptions o;
      o.kernel = ml::KernelKind::Linear;
      o.targets = {"ae_pbe0"};
      o.representation_options = chem::capacity_for(test);
      o.lambdas = {1e4};
      model =
          std::make_shared<const ml::Model>(ml::train_krr(ml::select(all, split.train), o).model);
    }
    const std::string db = "sqlite:" + (dir / "service.db").string();
    std::string token;
    {
      auto admin = service::open_store(db);
      admin->add_identity("bench");
      admin->set_budget("bench", "m", 0);  // unlimited
      token = admin->issue_token("bench");
    }
    std::printf("%-7s %-7s %-8s %-8s %-8s %-10s %-9s %-9s %-9s %-9s\n", "workers", "clients",
                "answered", "refused", "failed", "mol/s", "p50_s", "p95_s", "p99_s", "server_s");
    for (const unsigned w : workers) {
      service::ServerOptions o;
      o.listen = "127.0.0.1:0";
      o.tls.certificate = dir / "tls" / "server.pem";
      o.tls.private_key = dir / "tls" / "server.key";
      o.database = db;
      o.key_cache.directory = dir / "keys";
      o.workers = w;
      o.queue = queue;
      o.threads_per_evaluation = threads;
      o.plan.tolerance = tolerance;
      service::Server server({{"m", model}}, o);
      service::RemoteOptions r;
      r.address = "127.0.0.1:" + std::to_string(server.port());
      r.tls.ca = dir / "tls" / "ca.pem";
      r.tls.server_name = "localhost";
      r.token = token;
      r.max_attempts = 1;  // a refusal is counted, not retried
      service::RemoteClient setup(r);
      const service::RemoteModel m = setup.model("m");
      const secure::Client client(m.card);
      const core::Bytes keys = client.make_eval_keys().encode(*client.context());
      setup.upload_keys(m, client.key_id(), keys);
      std::printf("# workers %u: %u molecules per ciphertext, evaluation keys %.1f MB\n", w,
                  static_cast<unsigned>(m.card.plan.queries),
                  static_cast<double>(keys.size()) / 1e6);
      std::vector<secure::Query> queries;
      for (std::size_t q = 0; q < 16; ++q) {
        std::vector<chem::Molecule> batch;
        for (std::size_t k = 0; k < molecules; ++k)
          batch.push_back(test[(q * molecules + k) % test.size()]);
        queries.push_back(client.encrypt(batch));
      }
      setup.evaluate(m, client, queries.front());  // warm: keys decoded, plan caches filled
      for (const unsigned c : clients) {
        Row row;
        std::mutex mutex;
        const double t0 = now();
        const double stop = t0 + seconds;
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < c; ++t)
          pool.emplace_back([&, t] {
            service::RemoteClient remote(r);
            for (std::size_t i = t; now() < stop; i += c) {
              const double start = now();
              try {
                const auto answer = remote.evaluate(m, client, queries[i % queries.size()]);
                const double took = now() - start;
                std::lock_guard lock(mutex);
                ++row.answered;
                row.molecules += queries[i % queries.size()].molecules;
                row.latency.push_back(took);
                row.server_seconds += answer.server_seconds;
              } catch (const service::ServiceError& e) {
                std::lock_guard lock(mutex);
                ++(e.code() == 8 /* RESOURCE_EXHAUSTED */ ? row.refused : row.failed);
                if (e.code() == 8) std::this_thread::sleep_for(std::chrono::milliseconds(50));
              }
            }
          });
        for (auto& t : pool) t.join();
        row.wall = now() - t0;
        std::printf("%-7u %-7u %-8zu %-8zu %-8zu %-10.2f %-9.3f %-9.3f %-9.3f %-9.3f\n", w, c,
                    row.answered, row.refused, row.failed,
                    static_cast<double>(row.molecules) / row.wall, percentile(row.latency, 0.5),
                    percentile(row.latency, 0.95), percentile(row.latency, 0.99),
                    row.answered ? row.server_seconds / static_cast<double>(row.answered) : 0.0);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "encmol_bench_service_load: %s\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
