// HE-friendly atomic networks on QM7 (issue study): 5,700 / 1,401 split =
// ml::random_split(7101, 5700, 42), dressed-atom baseline fitted on the 5,700,
// the network trained on the residual (10% of the 5,700 held back for early
// stopping), MAE on the 1,401 in kcal/mol. Labels: ae_pbe0 ("direct") or
// ae_pbe0 - 627.5094740631 * xtb_energy ("delta", Δ-learning on GFN2-xTB).
// Each benchmark trains once and prints one CSV row:
//   rep,labels,depth,width,power,skip,params,he_depth,epochs,best_epoch,seconds,test_mae,test_rmse,val_mse
// Slow (minutes per row); not part of any test. Environment overrides of the
// NetworkOptions defaults: ENCMOL_NN_EPOCHS, ENCMOL_NN_PATIENCE, ENCMOL_NN_LR,
// ENCMOL_NN_BATCH, ENCMOL_NN_DECAY, ENCMOL_NN_RIDGE_INIT (0/1).
// Run: build/bench/encmol_bench_ml_atomic_network --benchmark_filter='rep:4/delta:0'
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "encmol/chem/readers.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/network_training.hpp"
#include "encmol/ml/split.hpp"

namespace {

using namespace encmol;

constexpr double kHartreeToKcal = 627.5094740631;

struct Prepared {
  chem::AtomicFeatures train, test;
  Eigen::MatrixXd train_labels, test_labels;  // direct, then delta (columns 0, 1)
  std::vector<int> elements;
  Eigen::MatrixXd train_counts, test_counts;
};

const Prepared& prepared(chem::RepresentationKind kind) {
  static std::map<chem::RepresentationKind, Prepared> cache;
  auto it = cache.find(kind);
  if (it != cache.end()) return it->second;
  static const auto qm7 = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  const ml::Split split = ml::random_split(qm7.size(), 5700, 42);
  const auto train = ml::select(qm7, split.train), test = ml::select(qm7, split.test);
  Prepared p;
  const auto spec = chem::RepresentationSpec::fit(kind, train, chem::capacity_for(qm7));
  p.train = spec.featurize_atoms(train);
  p.test = spec.featurize_atoms(test);
  p.elements = spec.elements();
  auto labels = [](const std::vector<chem::Molecule>& mols) {
    const Eigen::MatrixXd raw = ml::label_matrix(mols, {"ae_pbe0", "xtb_energy"});
    Eigen::MatrixXd out(raw.rows(), 2);
    out.col(0) = raw.col(0);
    out.col(1) = raw.col(0) - kHartreeToKcal * raw.col(1);
    return out;
  };
  p.train_labels = labels(train);
  p.test_labels = labels(test);
  p.train_counts = ml::element_count_matrix(train, p.elements);
  p.test_counts = ml::element_count_matrix(test, p.elements);
  return cache.emplace(kind, std::move(p)).first->second;
}

double env(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atof(v) : fallback;
}

void BM_Network(benchmark::State& state) {
  core::set_thread_count(2);
  const auto kind = static_cast<chem::RepresentationKind>(state.range(0));
  const int column = static_cast<int>(state.range(1));
  const Prepared& p = prepared(kind);
  const Eigen::MatrixXd y = p.train_labels.col(column), y_test = p.test_labels.col(column);
  const ml::Baseline baseline = ml::Baseline::fit(p.train_counts, p.elements, y, true);
  const Eigen::MatrixXd residual = y - baseline.evaluate(p.train_counts);
  const double mean = residual.mean();
  const double scale = std::sqrt((residual.array() - mean).square().mean());

  ml::NetworkOptions o;
  o.depth = static_cast<std::size_t>(state.range(2));
  o.width = static_cast<std::size_t>(state.range(3));
  o.power = static_cast<int>(state.range(4));
  o.linear_skip = state.range(5) != 0;
  o.epochs = static_cast<std::size_t>(env("ENCMOL_NN_EPOCHS", static_cast<double>(o.epochs)));
  o.patience = static_cast<std::size_t>(env("ENCMOL_NN_PATIENCE", static_cast<double>(o.patience)));
  o.learning_rate = env("ENCMOL_NN_LR", o.learning_rate);
  o.batch_molecules = static_cast<std::size_t>(env("ENCMOL_NN_BATCH", static_cast<double>(o.batch_molecules)));
  o.weight_decay = env("ENCMOL_NN_DECAY", o.weight_decay);
  o.ridge_init = env("ENCMOL_NN_RIDGE_INIT", 1.0) != 0.0;
  for (auto _ : state) {
    const ml::NetworkFit fit = ml::train_atomic_network(p.train, residual, {scale}, o);
    const Eigen::MatrixXd predicted = baseline.evaluate(p.test_counts) + fit.network.predict(p.test);
    const Eigen::ArrayXd err = (predicted.col(0) - y_test).array();
    const double mae = err.abs().mean(), rmse = std::sqrt(err.square().mean());
    const double val = fit.best_epoch > 0 ? fit.validation_loss[fit.best_epoch - 1] : std::nan("");
    std::printf("%s,%s,%zu,%zu,%d,%d,%zu,%zu,%zu,%zu,%.1f,%.3f,%.3f,%.4g\n", std::string(chem::to_string(kind)).c_str(),
                column == 0 ? "direct" : "delta", o.depth, o.width, o.power, o.linear_skip ? 1 : 0,
                fit.network.parameter_count(), fit.network.multiplicative_depth(), fit.train_loss.size(), fit.best_epoch,
                fit.seconds, mae, rmse, val);
    std::fflush(stdout);
    state.counters["MAE"] = mae;
    state.counters["seconds"] = fit.seconds;
  }
}

// rep (3 = cMBDF, 4 = FCHL19), labels (0 direct, 1 delta), depth, width, power, skip.
void grid(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rep", "delta", "depth", "width", "power", "skip"});
  for (int rep : {4, 3}) {
    for (int delta : {0, 1}) {
      for (int depth : {0, 1, 2, 3}) b->Args({rep, delta, depth, 64, 2, 1});
      for (int width : {32, 128, 256}) b->Args({rep, delta, 2, width, 2, 1});
      b->Args({rep, delta, 2, 64, 3, 1});
      b->Args({rep, delta, 2, 64, 2, 0});
    }
  }
}

}  // namespace

BENCHMARK(BM_Network)->Apply(grid)->Iterations(1)->Unit(benchmark::kSecond);

BENCHMARK_MAIN();
