// Multi-party training study on bundled QM7 (not a Google Benchmark: one
// table row per variant; docs/multiparty.md). Split ml::random_split(7101,
// 5700, 42); the 5,700 training molecules are the members, split evenly among
// the parties; the 1,401 others are the non-members and the test set.
//
// For each variant (plain sums, and DP sums at each epsilon) the statistics
// are computed exactly as `encmol party contribute` computes them (quantized,
// with each party's DP noise share) and summed; threshold decryption returns
// exactly that sum (tests/secure/multiparty_test.cpp), so the encryption is
// skipped here. Each row: lambda (GCV), held-out MAE, and the loss-threshold
// membership attack of audit/membership.hpp on the model's answers (score
// -log|f(x) - y|, members vs non-members): AUC and TPR at 1 % FPR.
//
//   encmol_bench_secure_multiparty_study [--parties 3] [--features 2048] [--sigma 27.4336]
//                                        [--epsilons 1,0.1] [--label-bound 20] [--max-atoms 23]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "encmol/audit/membership.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/secure/multiparty.hpp"

using namespace encmol;

namespace {

std::vector<double> numbers(const std::string& text) {
  std::vector<double> out;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = text.find(',', begin);
    out.push_back(std::stod(text.substr(begin, end - begin)));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return out;
}

void row(const char* name, const secure::PartySession& session,
         const std::vector<std::vector<chem::Molecule>>& parts,
         const std::vector<chem::Molecule>& train, const std::vector<chem::Molecule>& test) {
  std::vector<math::i128> sum;
  for (const auto& part : parts) {
    const auto stats = secure::party_statistics(session, part);
    if (sum.empty()) sum.assign(stats.size(), 0);
    for (std::size_t j = 0; j < stats.size(); ++j) sum[j] += stats[j];
  }
  std::vector<double> upper(sum.size());
  for (std::size_t j = 0; j < sum.size(); ++j)
    upper[j] = std::ldexp(static_cast<double>(sum[j]), -48);
  ml::StatisticsFit fit;
  try {
    fit = ml::fit_from_statistics(ml::statistics_matrix(upper, session.layout()), session.layout(),
                                  session.representation.elements(), session.lambdas);
  } catch (const Error& e) {
    std::printf("%-12s  no model: %s\n", name, e.what());
    return;
  }
  const ml::Model model = secure::model_from_fit(session, fit);
  const Eigen::MatrixXd in = model.predict(train), out = model.predict(test);
  const Eigen::MatrixXd y_in = ml::label_matrix(train, session.targets),
                        y_out = ml::label_matrix(test, session.targets);
  std::vector<double> scores;
  std::vector<char> member;
  for (Eigen::Index i = 0; i < in.rows(); ++i) {
    scores.push_back(-std::log(std::abs(in(i, 0) - y_in(i, 0)) + 1e-9));
    member.push_back(1);
  }
  for (Eigen::Index i = 0; i < out.rows(); ++i) {
    scores.push_back(-std::log(std::abs(out(i, 0) - y_out(i, 0)) + 1e-9));
    member.push_back(0);
  }
  const auto attack = audit::evaluate_attack("loss", scores, member);
  std::printf(
      "%-12s  lambda %-8.0e  train MAE %8.3f  test MAE %8.3f  loss-attack AUC %.3f  TPR@1%%FPR "
      "%.3f\n",
      name, fit.lambda, (in - y_in).cwiseAbs().mean(), (out - y_out).cwiseAbs().mean(), attack.auc,
      attack.tpr_at_1pct);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t parties = 3;
  std::size_t features = 2048;
  double sigma = 27.4336, label_bound = 20;
  std::uint32_t max_atoms = 23;
  std::vector<double> epsilons{1.0, 0.1};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--parties")
      parties = static_cast<std::uint32_t>(std::stoul(value));
    else if (key == "--features")
      features = std::stoul(value);
    else if (key == "--sigma")
      sigma = std::stod(value);
    else if (key == "--epsilons")
      epsilons = numbers(value);
    else if (key == "--label-bound")
      label_bound = std::stod(value);
    else if (key == "--max-atoms")
      max_atoms = static_cast<std::uint32_t>(std::stoul(value));
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  core::set_thread_count(0);
  const auto all = chem::read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  const ml::Split split = ml::random_split(all.size(), 5700, 42);
  const auto train = ml::select(all, split.train), test = ml::select(all, split.test);
  std::vector<std::vector<chem::Molecule>> parts(parties);
  for (std::size_t i = 0; i < train.size(); ++i)
    parts[i * parties / train.size()].push_back(train[i]);

  secure::PartySessionOptions o;
  o.parties = parties;
  o.elements = {1, 6, 7, 8, 16};
  std::vector<std::size_t> atoms(o.elements.size(), 0);
  for (const auto& m : parts[0]) {
    for (int z : m.charges) {
      for (std::size_t e = 0; e < o.elements.size(); ++e) atoms[e] += z == o.elements[e];
    }
  }
  o.feature_counts = ml::allocate_features(features, atoms);
  o.sigma = sigma;
  o.targets = {"ae_pbe0"};
  o.units = {"kcal/mol"};
  o.delta = {ml::DeltaSource::XtbEnergy};
  // Party 1's per-element reference energies as the public offset.
  const auto delta = ml::DeltaBaseline::make(o.delta, o.units, 1);
  o.label_offset =
      ml::Baseline::fit(ml::element_count_matrix(parts[0], o.elements), o.elements,
                        ml::label_matrix(parts[0], o.targets) - delta.evaluate(parts[0]), true)
          .coefficients;
  std::printf(
      "QM7, %u parties x ~%zu molecules, %zu random features of cMBDF (sigma %g), Δ-xTB; %zu test "
      "molecules\n",
      parties, train.size() / parties, features, sigma, test.size());
  const secure::PartySession plain = secure::create_session(o);
  row("plain sums", plain, parts, train, test);
  for (double epsilon : epsilons) {
    o.privacy = {epsilon, 1e-5, label_bound, max_atoms};
    // The noise puts eigenvalues of order sigma sqrt(D) into Phi^T Phi: lambda must exceed them.
    o.lambdas = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    const secure::PartySession dp = secure::create_session(o);
    char name[64];
    std::snprintf(name, sizeof(name), "DP eps %g", epsilon);
    std::printf("  (DP: sensitivity %.0f, noise std %.3g per statistic)\n",
                dp.privacy.sensitivity(1), dp.privacy.sigma(1));
    row(name, dp, parts, train, test);
  }
  return 0;
}
