// Figures of the encrypted atomic models (quadratic, nn --depth 1): a trained
// model file (or, without --model, a quadratic model on cMBDF trained here on
// 2,000 QM7 molecules) is compiled into a plan at the given tolerance; the
// client encrypts held-out molecules, the server evaluates them (1 and 2
// threads, with and without the encoded-diagonal cache), the client decrypts.
// Prints one row per configuration: server seconds per ciphertext and per
// molecule (median over the ciphertexts), max |enc - plain| beside the plan's
// bound, bytes up/down per molecule, evaluation-key bytes, flooding bits.
//
//   encmol_bench_secure_atomic [--model FILE] [--molecules 8] [--threads 1,2] [--tolerance 0.03]
//
// The held-out molecules are the QM7 molecules the model's own 5,700/1,401
// seed-42 split holds out (the last --molecules of them). Not a Google
// Benchmark: one configuration is seconds long.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/roles.hpp"

using namespace encmol;
using encmol::bench::median;
using encmol::bench::now;

namespace {}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  std::size_t molecules = 8;
  std::vector<std::size_t> threads{1, 2};
  double tolerance = 0.03;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model"))
      model_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--molecules"))
      molecules = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--tolerance"))
      tolerance = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) {
      threads.clear();
      for (const char* p = argv[i + 1]; *p;) {
        threads.push_back(std::strtoul(p, const_cast<char**>(&p), 10));
        if (*p == ',') ++p;
      }
    }
  }
  const auto all = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  const ml::Split split = ml::random_split(all.size(), 5700, 42);
  auto test = ml::select(all, split.test);
  test.erase(test.begin(),
             test.end() - static_cast<std::ptrdiff_t>(std::min(molecules, test.size())));
  ml::Model model;
  if (!model_path.empty()) {
    model = ml::Model::load(model_path);
  } else {
    ml::TrainOptions o;
    o.family = ml::ModelFamily::Quadratic;
    o.representation = chem::RepresentationKind::Cmbdf;
    o.representation_options = chem::capacity_for(test);
    o.targets = {"ae_pbe0"};
    o.units = {"kcal/mol"};
    o.coef0s = {2.0};
    o.lambdas = {1e-5};
    auto train = ml::select(all, split.train);
    train.resize(2000);
    model = ml::train(train, o).model;
  }
  secure::PlanOptions po;
  po.tolerance = tolerance;
  std::printf("model: %s, %zu held-out molecules, tolerance %g\n",
              std::string(ml::to_string(model.family())).c_str(), test.size(), tolerance);
  std::printf(
      "| threads | cache | molecules/ct | server s/ct | server s/molecule | max |enc-plain| | "
      "bound | up kB/mol "
      "| down kB/mol | eval keys MB | flood bits "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  const Eigen::MatrixXd plain = model.predict(test);
  const Eigen::MatrixXd baseline = model.baseline.delta.active()
                                       ? model.baseline.delta.evaluate(test)
                                       : Eigen::MatrixXd::Zero(plain.rows(), plain.cols());
  for (const bool cache : {false, true}) {
    secure::ServerOptions so;
    so.plaintext_cache_bytes = cache ? std::uint64_t{4} << 30 : 0;
    secure::Server server(model, po, so);
    const secure::Plan& plan = server.plan();
    secure::Client client(server.card());
    const secure::EvalKeys keys = client.make_eval_keys();
    const std::size_t key_bytes = keys.encode(*server.context()).size();
    const secure::Query query = client.encrypt(test);
    const std::size_t up = query.encode(*server.context()).size();
    for (std::size_t t : threads) {
      core::set_thread_count(static_cast<unsigned>(t));
      const ckks::Encryptor rerandomizer(server.context(), keys.public_key);
      std::vector<double> per_ct;
      std::vector<ckks::Ciphertext> replies;
      for (std::size_t c = 0; c < query.ciphertexts.size(); ++c) {
        const double t0 = now();
        replies.push_back(server.evaluate_one(
            query.ciphertexts[c], keys, std::min(plan.queries, test.size() - c * plan.queries),
            rerandomizer));
        per_ct.push_back(now() - t0);
      }
      secure::Result r;
      r.plan_hash = query.plan_hash;
      r.key_id = query.key_id;
      r.molecules = query.molecules;
      r.sealed_names = query.sealed_names;
      r.ciphertexts = replies;
      const std::size_t down = r.encode(*server.context()).size();
      const secure::Predictions p = client.decrypt(r, test);
      double worst = 0;
      for (Eigen::Index i = 0; i < plain.rows(); ++i)
        worst = std::max(worst, std::fabs(p.raw(i, 0) + baseline(i, 0) - plain(i, 0)));
      const double m = static_cast<double>(test.size());
      std::printf("| %zu | %s | %zu | %.3f | %.3f | %.3g | %.3g | %.0f | %.0f | %.1f | %d |\n", t,
                  cache ? "on" : "off", plan.queries, median(per_ct),
                  median(per_ct) / static_cast<double>(plan.queries), worst, plan.budget[0].bound,
                  static_cast<double>(up) / m / 1e3, static_cast<double>(down) / m / 1e3,
                  static_cast<double>(key_bytes) / 1e6, plan.flood_bits);
    }
  }
  return 0;
}
