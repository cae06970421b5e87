// Random-feature study on the bundled QM7 (not a Google Benchmark: one table
// row per configuration). Split ml::random_split(7101, 5700, 42), dressed-atom
// baseline, label ae_pbe0 (kcal/mol) or, with --delta, ae_pbe0 - 627.5094740631
// * xtb_energy. Each row: sigma and lambda chosen by 4-fold CV on the training
// molecules, then the held-out MAE on the 1,401 test molecules.
//
//   encmol_bench_ml_rf_study                       quick smoke run (cMBDF, 1,000 molecules)
//   encmol_bench_ml_rf_study --rep fchl19 --features 1024,4096,16384 --kind both --pca 0,128
//
// Options (lists are comma-separated; every combination is run):
//   --rep cmbdf|fchl19      representation                  --features D,...  total features
//   --kind orthogonal|fourier|both                          --pca K,...       0 = none
//   --shared-pca            one projection for all elements --allocation sqrt|count|equal
//   --sigmas s,... | --sigma-multiples m,...  (x median same-element distance; default: the
//   library's)
//   --lambdas l,...         --folds K   --train N (first N of the training part)   --delta
//   --threads T             --grid (print the CV table)    --ranges (cos argument extents)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "encmol/chem/readers.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "encmol/ml/random_feature_training.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"

namespace {

using namespace encmol;
using Clock = std::chrono::steady_clock;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::vector<double> doubles(const std::string& s) {
  std::vector<double> v;
  for (const auto& x : split_list(s)) v.push_back(std::stod(x));
  return v;
}

double seconds(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Args {
  std::string rep = "cmbdf", allocation = "sqrt";
  std::vector<std::size_t> features{1024}, pca{0};
  std::vector<ml::RandomFeatureKind> kinds{ml::RandomFeatureKind::Orthogonal};
  std::vector<double> sigmas, multiples, lambdas;
  bool shared_pca = false, delta = false, grid = false, ranges = false;
  std::size_t folds = 4, train = 1000;
  unsigned threads = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc > 1) a.train = 5700;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--rep")
      a.rep = value();
    else if (k == "--features") {
      a.features.clear();
      for (double d : doubles(value())) a.features.push_back(static_cast<std::size_t>(d));
    } else if (k == "--pca") {
      a.pca.clear();
      for (double d : doubles(value())) a.pca.push_back(static_cast<std::size_t>(d));
    } else if (k == "--kind") {
      const std::string v = value();
      a.kinds = v == "both"
                    ? std::vector{ml::RandomFeatureKind::Orthogonal, ml::RandomFeatureKind::Fourier}
                    : std::vector{ml::parse_random_feature_kind(v)};
    } else if (k == "--sigmas")
      a.sigmas = doubles(value());
    else if (k == "--sigma-multiples")
      a.multiples = doubles(value());
    else if (k == "--lambdas")
      a.lambdas = doubles(value());
    else if (k == "--folds")
      a.folds = static_cast<std::size_t>(std::stoul(value()));
    else if (k == "--train")
      a.train = static_cast<std::size_t>(std::stoul(value()));
    else if (k == "--threads")
      a.threads = static_cast<unsigned>(std::stoul(value()));
    else if (k == "--allocation")
      a.allocation = value();
    else if (k == "--shared-pca")
      a.shared_pca = true;
    else if (k == "--delta")
      a.delta = true;
    else if (k == "--grid")
      a.grid = true;
    else if (k == "--ranges")
      a.ranges = true;
    else {
      std::fprintf(stderr, "unknown option %s (see the top of bench/ml_rf_study.cpp)\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

// Per element: the largest |w . (P x - c)| over the atoms, c = mean of P x
// over the element's atoms: the cos argument an encrypted evaluation must
// cover (plus pi for the phase reduced to [-pi, pi)). Also its 99.9th percentile.
void print_ranges(const ml::RandomFeatureMap& map, const chem::AtomicFeatures& atoms) {
  const chem::AtomicFeatures p = map.project(atoms);
  for (std::size_t e = 0; e < map.elements.size(); ++e) {
    std::vector<Eigen::Index> rows;
    for (std::size_t a = 0; a < p.atom_count(); ++a)
      if (p.charges[a] == map.elements[e]) rows.push_back(static_cast<Eigen::Index>(a));
    Eigen::MatrixXd x = p.values(rows, Eigen::all);
    x.rowwise() -= x.colwise().mean();
    const Eigen::MatrixXd t = x * map.frequencies[e].transpose();
    std::vector<double> v(t.data(), t.data() + t.size());
    for (auto& y : v) y = std::fabs(y);
    std::sort(v.begin(), v.end());
    std::printf(
        "  cos argument Z=%d: %zu atoms x %zu features, max |w.(Px-c)| = %.2f, 99.9%% = %.2f, rms "
        "= %.2f\n",
        map.elements[e], rows.size(), map.counts[e], v.back(), v[v.size() * 999 / 1000],
        std::sqrt(t.squaredNorm() / static_cast<double>(t.size())));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  if (args.threads) core::set_thread_count(args.threads);
  const auto mols = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  const ml::Split split = ml::random_split(mols.size(), 5700, 42);
  const std::vector<chem::Molecule> train = ml::select(
      mols, std::vector<std::size_t>(split.train.begin(),
                                     split.train.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                               args.train, split.train.size()))));
  const std::vector<chem::Molecule> test = ml::select(mols, split.test);

  auto t0 = Clock::now();
  const auto kind = chem::parse_representation_kind(args.rep);
  const chem::RepresentationSpec spec = chem::RepresentationSpec::fit(kind, mols);
  const chem::AtomicFeatures train_atoms = spec.featurize_atoms(train),
                             test_atoms = spec.featurize_atoms(test);
  std::printf(
      "# %s, %zu train / %zu test molecules, %zu values per atom, featurized in %.1f s, %u "
      "threads, %s labels\n",
      args.rep.c_str(), train.size(), test.size(), spec.atom_dimension(), seconds(t0),
      core::thread_count(), args.delta ? "delta (ae_pbe0 - xTB)" : "ae_pbe0");

  auto labels_of = [&](const std::vector<chem::Molecule>& m) {
    Eigen::MatrixXd y = ml::label_matrix(m, {"ae_pbe0"});
    if (args.delta) y -= 627.5094740631 * ml::label_matrix(m, {"xtb_energy"});
    return y;
  };
  const Eigen::MatrixXd y_train = labels_of(train), y_test = labels_of(test);
  const auto& elements = spec.elements();
  const Eigen::MatrixXd counts = ml::element_count_matrix(train, elements);
  const Eigen::MatrixXd test_counts = ml::element_count_matrix(test, elements);
  const ml::Baseline full = ml::Baseline::fit(counts, elements, y_train, true);
  const Eigen::MatrixXd r = y_train - full.evaluate(counts);
  const double scale = std::sqrt((r.array() - r.mean()).square().mean());
  std::printf("# baseline-only test MAE %.3f kcal/mol, residual sd %.3f\n",
              ml::prediction_errors(full.evaluate(test_counts), y_test).mae[0], scale);
  std::printf(
      "| rep | labels | kind | D | PCA | sigma | lambda | CV MAE | test MAE | test RMSE | setup s "
      "| features s | gram s | CV s | fit s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");

  for (std::size_t pca : args.pca) {
    for (auto fkind : args.kinds) {
      for (std::size_t d : args.features) {
        t0 = Clock::now();
        ml::RandomFeatureOptions o;
        o.features = d;
        o.pca = pca;
        o.shared_pca = args.shared_pca;
        o.kind = fkind;
        ml::RandomFeatureMap map = ml::RandomFeatureMap::make(o, train_atoms);
        if (args.allocation != "sqrt") {
          std::vector<std::size_t> atoms_per(elements.size(), 0), weights;
          for (int z : train_atoms.charges)
            ++atoms_per[static_cast<std::size_t>(
                std::lower_bound(map.elements.begin(), map.elements.end(), z) -
                map.elements.begin())];
          for (std::size_t c : atoms_per)
            weights.push_back(args.allocation == "equal" ? 1 : c * c);  // sqrt(c^2) = c
          map.counts = ml::allocate_features(d, weights);
          map.generate();
        }
        const double setup = seconds(t0);
        ml::RandomFeatureSearch search;
        search.lambdas = args.lambdas;
        search.folds = args.folds;
        search.sigmas = args.sigmas;
        if (!args.multiples.empty()) {
          const double m = ml::median_atomic_distance(map.project(train_atoms));
          for (double k : args.multiples) search.sigmas.push_back(k * m);
        }
        const ml::RandomFeatureFit fit = ml::fit_random_features(
            train_atoms, y_train, counts, elements, true, {scale}, map, search);
        const Eigen::MatrixXd pred =
            fit.model.predict(test_atoms) + fit.baseline.evaluate(test_counts);
        const ml::Errors e = ml::prediction_errors(pred, y_test);
        const double cv_mae = fit.cv.empty() ? NAN : fit.cv[fit.best].mae[0];
        std::printf(
            "| %s | %s | %s | %zu | %s | %.4g | %.0e | %.3f | %.3f | %.3f | %.1f | %.1f | %.1f | "
            "%.1f | %.1f |\n",
            args.rep.c_str(), args.delta ? "delta" : "direct",
            std::string(ml::to_string(fkind)).c_str(), d,
            pca ? (std::to_string(pca) + (args.shared_pca ? " shared" : "")).c_str() : "-",
            fit.sigma, fit.lambda, cv_mae, e.mae[0], e.rmse[0], setup + fit.setup_seconds,
            fit.feature_seconds, fit.gram_seconds, fit.cv_seconds, fit.fit_seconds);
        if (args.grid) {
          for (const auto& row : fit.cv) {
            std::printf("  sigma %.4g lambda %.0e: %s", row.sigma, row.lambda,
                        row.ok ? "" : "not positive definite\n");
            if (row.ok)
              std::printf("CV MAE %.3f, max sum|w| %.3g\n", row.mae[0], row.sum_abs_alpha[0]);
          }
          for (const auto& w : fit.warnings) std::printf("  warning: %s\n", w.c_str());
        }
        if (args.ranges) print_ranges(fit.model.map, train_atoms);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
