// Load on `encmol serve` (network-service issue): in-process service::Server
// replicas on loopback with TLS, sharing one database (SQLite for one
// replica; PostgreSQL, started here with scripts/pg_test_server.sh, for
// two), and C concurrent clients (each its own gRPC channel, spread over the
// replicas) that each send Q pre-encrypted queries back to back under fresh
// request ids, retrying refusals with the server's hint as `encmol query`
// does. Per (replicas, clients) one row: molecules/s beside the in-process
// figure (secure::Server::answer on the same query, same machine, same run),
// their ratio, latency percentiles as the client sees them (TLS, gRPC,
// queueing, retries, evaluation, the charge's transaction), refusals
// retried, and the check that every query was answered and charged exactly
// once (the database's use and stored answers against the queries sent).
// Also: key upload time and resident memory per decoded key set.
//
//   encmol_bench_service_load [--model FILE] [--clients 1,64] [--queries 3]
//                             [--replicas 1,2] [--workers 1] [--threads T]
//                             [--queue 8] [--molecules 1] [--tolerance 0.5]
// Without --model it trains the service tests' model (linear kernel, 120 QM7
// molecules). The clients share the machine with the servers.
// Not a Google Benchmark: one configuration is a multi-second run.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/core/parallel.hpp"
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

double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1e6;
}

struct Options {
  std::string model_file;
  std::vector<unsigned> clients{1, 64}, replicas{1, 2};
  unsigned queries = 3, workers = 1, threads = 0, queue = 8;
  std::size_t molecules = 1;
  double tolerance = 0.5;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--model")
      opt.model_file = v, ++i;
    else if (a == "--clients")
      opt.clients = list(v), ++i;
    else if (a == "--replicas")
      opt.replicas = list(v), ++i;
    else if (a == "--queries")
      opt.queries = static_cast<unsigned>(std::strtoul(v, nullptr, 10)), ++i;
    else if (a == "--workers")
      opt.workers = static_cast<unsigned>(std::strtoul(v, nullptr, 10)), ++i;
    else if (a == "--threads")
      opt.threads = static_cast<unsigned>(std::strtoul(v, nullptr, 10)), ++i;
    else if (a == "--queue")
      opt.queue = static_cast<unsigned>(std::strtoul(v, nullptr, 10)), ++i;
    else if (a == "--molecules")
      opt.molecules = std::strtoul(v, nullptr, 10), ++i;
    else if (a == "--tolerance")
      opt.tolerance = std::atof(v), ++i;
    else {
      std::fprintf(stderr, "unknown option %s (see the top of bench/service_load.cpp)\n",
                   a.c_str());
      return 2;
    }
  }
  const fs::path dir =
      fs::temp_directory_path() / ("encmol_bench_service_" + std::to_string(::getpid()));
  const std::string source = ENCMOL_SOURCE_DIR;
  bool postgres = false;
  int status = 0;
  try {
    fs::create_directories(dir);
    if (std::system(
            (source + "/scripts/make_certs.sh " + (dir / "tls").string() + " localhost >/dev/null")
                .c_str()) != 0)
      throw IoError("scripts/make_certs.sh failed");
    const auto all = chem::read_molecules(fs::path(source) / "data" / "qm7.xyz.gz");
    const ml::Split split = ml::random_split(all.size(), 120, 11);
    std::vector<chem::Molecule> test = ml::select(all, split.test);
    test.resize(std::min<std::size_t>(test.size(), 64));
    std::shared_ptr<const ml::Model> model;
    if (!opt.model_file.empty()) {
      model = std::make_shared<const ml::Model>(ml::Model::load(opt.model_file));
    } else {
      ml::TrainOptions o;
      o.kernel = ml::KernelKind::Linear;
      o.targets = {"ae_pbe0"};
      o.representation_options = chem::capacity_for(test);
      o.lambdas = {1e4};
      model =
          std::make_shared<const ml::Model>(ml::train_krr(ml::select(all, split.train), o).model);
    }
    if (opt.threads > 0) core::set_thread_count(opt.threads);

    // The in-process figure: the same plan, keys and query shape, no network.
    secure::PlanOptions plan;
    plan.tolerance = opt.tolerance;
    const secure::Server direct(*model, plan, secure::ServerOptions{});
    const secure::Client client(direct.card());
    const secure::EvalKeys direct_keys = client.make_eval_keys();
    const core::Bytes key_file = direct_keys.encode(*client.context());
    std::vector<secure::Query> queries;
    for (std::size_t q = 0; q < 16; ++q) {
      std::vector<chem::Molecule> batch;
      for (std::size_t k = 0; k < opt.molecules; ++k)
        batch.push_back(test[(q * opt.molecules + k) % test.size()]);
      queries.push_back(client.encrypt(batch));
    }
    (void)direct.answer(queries[0], direct_keys);  // warm
    const double t_direct = now();
    constexpr int kDirectRuns = 5;
    for (int r = 0; r < kDirectRuns; ++r)
      (void)direct.answer(queries[static_cast<std::size_t>(r)], direct_keys);
    // One evaluation at a time with all threads: what this machine can do.
    const double direct_rate =
        static_cast<double>(kDirectRuns * opt.molecules) / (now() - t_direct);
    std::printf(
        "# model: %u molecules per ciphertext, evaluation keys %.1f MB; in-process %.2f "
        "molecules/s\n",
        static_cast<unsigned>(direct.plan().queries), static_cast<double>(key_file.size()) / 1e6,
        direct_rate);
    std::printf("%-8s %-7s %-8s %-8s %-9s %-10s %-9s %-9s %-9s %-8s %s\n", "replicas", "clients",
                "queries", "retried", "mol/s", "in-proc", "ratio", "p50_s", "p99_s", "charged",
                "lost/dup");

    std::string pg_url;
    for (const unsigned replicas : opt.replicas) {
      std::string db = "sqlite:" + (dir / ("service" + std::to_string(replicas) + ".db")).string();
      if (replicas > 1) {
        if (pg_url.empty()) {
          const fs::path pg = dir / "postgres";
          if (std::system(("bash " + source + "/scripts/pg_test_server.sh start " + pg.string() +
                           " >/dev/null")
                              .c_str()) != 0)
            throw IoError("scripts/pg_test_server.sh could not start PostgreSQL");
          postgres = true;
          pg_url = core::read_file_text(pg / "url");
          while (!pg_url.empty() && (pg_url.back() == '\n' || pg_url.back() == ' '))
            pg_url.pop_back();
        }
        db = pg_url;
      }
      // One identity per database (the key belongs to it); each row counts its own use.
      const std::string identity = "bench";
      std::string token;
      {
        auto admin = service::open_store(db);
        admin->add_identity(identity);
        admin->set_budget(identity, "m", 0);  // unlimited
        token = admin->issue_token(identity);
      }
      for (const unsigned clients : opt.clients) {
        std::vector<std::unique_ptr<service::Server>> servers;
        for (unsigned r = 0; r < replicas; ++r) {
          service::ServerOptions o;
          o.listen = "127.0.0.1:0";
          o.tls.certificate = dir / "tls" / "server.pem";
          o.tls.private_key = dir / "tls" / "server.key";
          o.database = db;
          o.key_cache.directory = dir / ("keys" + std::to_string(r));
          o.workers = opt.workers;
          o.queue = opt.queue;
          o.threads_per_evaluation = opt.threads;
          o.plan = plan;
          servers.push_back(
              std::make_unique<service::Server>(std::vector<service::NamedModel>{{"m", model}}, o));
        }
        const auto remote_of = [&](unsigned r) {
          service::RemoteOptions ro;
          ro.address = "127.0.0.1:" + std::to_string(servers[r % replicas]->port());
          ro.tls.ca = dir / "tls" / "ca.pem";
          ro.tls.server_name = "localhost";
          ro.token = token;
          ro.max_attempts = 1000;          // refusals are retried after the hinted time
          ro.call_timeout_seconds = 1800;  // uploads may ask for at most an hour
          return ro;
        };
        service::RemoteModel m;
        for (unsigned r = 0; r < replicas; ++r) {
          service::RemoteClient setup(remote_of(r));
          m = setup.model("m");
          const double before = resident_mb();
          const double t0 = now();
          setup.upload_keys(m, client.key_id(), key_file);
          const double upload = now() - t0;
          (void)setup.evaluate(m, client, queries[0]);  // warm: the keys are decoded in memory
          std::printf(
              "# replica %u: key upload %.2f s; resident memory +%.0f MB over the upload and the "
              "first evaluation (buffered upload, decoded keys, caches)\n",
              r, upload, resident_mb() - before);
        }
        service::RemoteBudget start;
        {
          service::RemoteClient probe(remote_of(0));
          start = probe.budget("m");
        }
        std::mutex mutex;
        std::vector<double> latency;
        std::vector<std::string> ids;
        std::atomic<unsigned> retried{0}, failed{0};
        const double t0 = now();
        std::vector<std::thread> pool;
        for (unsigned c = 0; c < clients; ++c)
          pool.emplace_back([&, c] {
            service::RemoteClient remote(remote_of(c));
            for (unsigned q = 0; q < opt.queries; ++q) {
              const std::string id = service::new_request_id();
              const double start_call = now();
              try {
                const auto answer =
                    remote.evaluate(m, client, queries[(c + q) % queries.size()], id);
                const double took = now() - start_call;
                retried += answer.attempts - 1;
                std::lock_guard lock(mutex);
                latency.push_back(took);
                ids.push_back(id);
              } catch (const std::exception& e) {
                ++failed;
                std::fprintf(stderr, "client %u: %s\n", c, e.what());
              }
            }
          });
        for (auto& t : pool) t.join();
        const double wall = now() - t0;
        const std::uint64_t molecules =
            static_cast<std::uint64_t>(clients) * opt.queries * opt.molecules;
        // Exactly once: every answered id stored once, the use grew by exactly the molecules sent.
        std::uint64_t stored = 0;
        std::uint64_t charged = 0;
        {
          auto store = service::open_store(db);
          for (const auto& id : ids) stored += store->find_answer(identity, id) ? 1 : 0;
          charged = store->budget(identity, "m", 0).used - start.used;
        }
        const bool exact = failed == 0 && stored == ids.size() &&
                           ids.size() == std::size_t{clients} * opt.queries && charged == molecules;
        const double rate = static_cast<double>(molecules) / wall;
        const double in_process = direct_rate;  // the replicas share this machine
        std::printf("%-8u %-7u %-8zu %-8u %-9.2f %-10.2f %-9.2f %-9.3f %-9.3f %-8llu %s\n",
                    replicas, clients, ids.size(), retried.load(), rate, in_process,
                    rate / in_process, percentile(latency, 0.5), percentile(latency, 0.99),
                    static_cast<unsigned long long>(charged), exact ? "0/0" : "MISMATCH");
        std::fflush(stdout);
        if (!exact) status = 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "encmol_bench_service_load: %s\n", e.what());
    status = 1;
  }
  if (postgres)
    (void)std::system(("bash " + source + "/scripts/pg_test_server.sh stop " +
                       (dir / "postgres").string() + " >/dev/null")
                          .c_str());
  fs::remove_all(dir);
  return status;
}
