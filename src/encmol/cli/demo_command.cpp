// encmol demo: the mission end to end on bundled QM7, both roles in one
// process. The model owner trains (or loads) a model of PBE0 atomization
// energies and publishes a model card; the client makes keys, computes its own
// xTB baseline, encrypts held-out molecules, the owner evaluates them blind,
// the client decrypts and adds its baseline. Prints the clear-text training
// report, plain and encrypted MAE, max |encrypted - plain| beside the plan's
// bound, client (with xTB) and server time per molecule, bytes up and down,
// key sizes and the published OT/MPC system's figures at the same N
// (ANCHORS.md §1).
//
// Default: the quadratic atomic model on FCHL19 + cMBDF projected to 63 values
// per atom, learning the difference to GFN2-xTB (the most accurate setting whose
// encrypted evaluation stays under 0.1 s per molecule, docs/benchmarks.md),
// 5,700 training molecules, 100 encrypted, tolerance 0.03 kcal/mol (a tenth of
// its MAE): a few minutes on 2 cores. `-f krr` trains the Gaussian kernel
// model under the encrypted error budget instead (sigma and lambda chosen so
// the plan fits the tolerance).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>

#include "encmol/cli/commands.hpp"
#include "encmol/cli/model_options.hpp"
#include "encmol/cli/report.hpp"
#include "encmol/cli/secure_report.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/secure/budget.hpp"
#include "encmol/secure/roles.hpp"

namespace encmol::cli {
namespace {

struct DemoArgs {
  std::string data;
  ModelOptions model;
  std::size_t train_size = 5700;
  std::size_t encrypted = 100;
  double tolerance = 0.03;
  std::uint32_t max_batch = 0;
  int min_flood_bits = secure::PlanOptions{}.min_flood_bits;
  std::string model_input;
  std::string model_output;
  bool json = false;
};

void run_demo(DemoArgs args, const GlobalOptions& global) {
  apply_global_options(global);
  if (args.data.empty()) args.data = (bundled_data_dir() / "qm7.xyz.gz").string();
  if (args.model.targets.empty()) args.model.targets = {"ae_pbe0"};
  const bool kernel_family =
      ml::parse_model_family(args.model.family) == ml::ModelFamily::GlobalKrr;
  if (args.model.representation.empty()) {
    args.model.representation = kernel_family ? "cm" : "fchl19+cmbdf";
    // The joined FCHL19 + cMBDF atom vector (760 values) projected to 63: an atom window of 128
    // slots, two molecules per N = 2^14 ciphertext, ~0.08 s per molecule; 0.28 kcal/mol on QM7
    // (--pca 120: 0.25 at ~0.2 s; FCHL19 alone at 63: 0.39, docs/benchmarks.md).
    if (!kernel_family && args.model.pca_dimensions.empty()) args.model.pca_dimensions = {"63"};
  }
  if (!kernel_family && args.model.delta.empty()) args.model.delta = {"xtb"};
  if (args.model.lambdas.empty() && kernel_family)
    args.model.lambdas = {"1e-4", "1e-3", "1e-2", "1e-1", "1"};
  ml::TrainOptions options = args.model.to_train_options();
  if (options.units.empty() && options.targets == std::vector<std::string>{"ae_pbe0"})
    options.units = {"kcal/mol"};
  options.dataset = args.data;
  Progress progress(Progress::detect_mode(global.quiet || args.json));
  options.progress = [&](std::string_view step, double fraction) {
    progress.update(step, fraction);
  };

  Stopwatch total;
  const auto molecules = load_molecules({args.data}, chem::ReadOptions{});
  if (args.train_size == 0 || args.train_size >= molecules.size())
    throw InputError("--train-size must be between 1 and " + std::to_string(molecules.size() - 1) +
                     " (the data set has " + std::to_string(molecules.size()) + " molecules)");
  if (args.encrypted == 0) throw InputError("--encrypted must be at least 1");
  const ml::Split split = ml::random_split(molecules.size(), args.train_size, args.model.seed);
  const auto train = ml::select(molecules, split.train);
  const auto test = ml::select(molecules, split.test);
  options.representation_options = chem::capacity_for(test);
  const std::string unit = options.units.empty() ? "" : options.units.front();

  if (!args.json) {
    std::cout << "encmol demo: " << options.targets.front() << " of " << molecules.size()
              << " molecules from " << args.data << "\n"
              << "model owner trains on " << train.size() << " random molecules (seed "
              << args.model.seed << "); the client holds the other " << test.size() << "\n";
  }
  // ---- model owner: train under the encrypted error budget (or load)
  secure::PlanOptions plan_options;
  plan_options.tolerance = args.tolerance;
  plan_options.max_batch = args.max_batch;
  plan_options.min_flood_bits = args.min_flood_bits;
  ml::TrainResult result;
  if (!args.model_input.empty()) {
    result.model = ml::Model::load(args.model_input);
    if (result.model.family() == ml::ModelFamily::GlobalKrr) {
      result.sigma = result.model.global_krr().kernel.sigma;
      result.lambda = result.model.global_krr().lambda;
    }
  } else if (!kernel_family) {
    // Atomic families evaluate exactly: the tolerance only sizes the noise and the flood, not the
    // training.
    result = ml::train(train, options);
  } else {
    secure::BudgetSearchOptions budget;
    budget.train = options;
    budget.choose_baseline = options.baseline;  // --no-baseline: the mean only
    budget.plan = plan_options;
    secure::BudgetSearchResult chosen = secure::choose_hyperparameters_for_budget(train, budget);
    for (const auto& why : chosen.skipped) spdlog::debug("encrypted budget: skipped {}", why);
    result = std::move(chosen.train);
  }
  progress.finish();
  if (!args.model_output.empty()) {
    result.model.save(args.model_output);
    spdlog::info("wrote model {}", args.model_output);
  }
  const ml::Model& model = result.model;
  HeldOut held_out;
  Stopwatch watch;
  const Eigen::MatrixXd predicted = model.predict(test);
  held_out.predict_seconds = watch.seconds();
  held_out.molecules = test.size();
  const Eigen::MatrixXd labels = ml::label_matrix(test, model.targets);
  held_out.errors = ml::prediction_errors(predicted, labels);
  if (!args.json) {
    std::cout << training_report_text(result, &held_out, 5);
    std::cout << fmt::format("held-out MAE in the clear: {:.3f} {} on {} molecules\n\n",
                             held_out.errors.mae.front(), unit, test.size());
  }

  // ---- model owner: compile the plan, publish the card
  Stopwatch t_plan;
  secure::ServerOptions server_options;
  server_options.plaintext_cache_bytes = std::uint64_t{2}
                                         << 30;  // many ciphertexts: keep the encoded diagonals
  secure::Server server(model, plan_options, server_options);
  const double plan_s = t_plan.seconds();
  const secure::ModelCard& card = server.card();
  const secure::Plan& plan = card.plan;
  const auto& ctx = *server.context();
  // ---- client: keys, its own xTB baseline (never sent), encrypt
  Stopwatch t_keys;
  secure::Client client(card);
  const secure::EvalKeys keys = client.make_eval_keys();
  const double keygen_s = t_keys.seconds();
  const std::size_t eval_key_bytes = keys.encode(ctx).size();
  const std::size_t card_bytes = card.encode().size();
  // A client can only send molecules its card covers (InputError naming the molecule otherwise);
  // the demo leaves out the held-out molecules beyond that range and says how many.
  std::vector<std::size_t> kept;
  std::size_t refused = 0;
  std::string first_refusal;
  for (std::size_t i = 0; i < test.size() && kept.size() < args.encrypted; ++i) {
    try {
      (void)client.query_vectors({test[i]});
      kept.push_back(i);
    } catch (const InputError& e) {
      if (refused++ == 0) first_refusal = e.what();
    }
  }
  if (kept.empty())
    throw InputError("no held-out molecule lies within the model card's range: " + first_refusal);
  if (refused > 0)
    spdlog::warn("left out {} held-out molecule{} the model card does not cover (the first: {})",
                 refused, refused == 1 ? "" : "s", first_refusal);
  const std::size_t m = kept.size();
  std::vector<chem::Molecule> queries;
  for (std::size_t i : kept) queries.push_back(test[i]);
  std::vector<chem::Molecule> own = queries;
  for (auto& mol : own)  // the client runs xTB itself instead of reading the bundled values
    for (const char* key : {"xtb_energy", "xtb_gap", "xtb_dipole"}) mol.properties.erase(key);
  Stopwatch t_xtb;
  const Eigen::MatrixXd client_baseline =
      card.delta.active() ? card.delta.evaluate(own)
                          : Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(own.size()), 1);
  const double xtb_s = card.delta.active() ? t_xtb.seconds() : 0.0;
  Stopwatch t_enc;
  const secure::Query query = client.encrypt(queries);
  const core::Bytes query_bytes = query.encode(ctx);
  const double enc_s = t_enc.seconds();
  // ---- model owner: evaluate blind
  const secure::Query received =
      secure::Query::decode(query_bytes, ctx, plan.queries, "query message");
  const secure::Result reply = server.evaluate(received, keys);
  const core::Bytes reply_bytes = reply.encode(ctx);
  // ---- client: decrypt
  Stopwatch t_dec;
  const secure::Result got =
      secure::Result::decode(reply_bytes, ctx, plan.queries, "result message");
  const secure::Predictions pred = client.decrypt_with_baseline(got, client_baseline);
  const double dec_s = t_dec.seconds();

  double max_diff = 0, max_diff_rounded = 0, enc_mae = 0, plain_mae = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const auto ii = static_cast<Eigen::Index>(i), ti = static_cast<Eigen::Index>(kept[i]);
    const double base = client_baseline(ii, 0);
    max_diff = std::max(max_diff, std::fabs(pred.raw(ii, 0) + base - predicted(ti, 0)));
    max_diff_rounded = std::max(max_diff_rounded, std::fabs(pred.values(ii, 0) - predicted(ti, 0)));
    enc_mae += std::fabs(pred.values(ii, 0) - labels(ti, 0));
    plain_mae += std::fabs(predicted(ti, 0) - labels(ti, 0));
  }
  enc_mae /= static_cast<double>(m);
  plain_mae /= static_cast<double>(m);
  const double md = static_cast<double>(m);
  const double server_per = reply.server_seconds / md;
  const double client_per = (enc_s + dec_s + xtb_s) / md;
  const double up = static_cast<double>(query_bytes.size()) / md,
               down = static_cast<double>(reply_bytes.size()) / md;
  const PublishedFigures pub = published_figures(model.training_size());
  const auto& b = plan.budget.front();

  if (args.json) {
    auto j = training_report_json(result, &held_out);
    j["data"] = args.data;
    j["plan"] = plan_json(card);
    j["encrypted"] = {{"molecules", m},
                      {"left_out_beyond_card", refused},
                      {"threads", core::thread_count()},
                      {"plain_mae", plain_mae},
                      {"encrypted_mae", enc_mae},
                      {"max_abs_encrypted_minus_plain", max_diff},
                      {"max_abs_rounded_minus_plain", max_diff_rounded},
                      {"bound", b.bound},
                      {"tolerance", b.tolerance},
                      {"plan_seconds", plan_s},
                      {"keygen_seconds", keygen_s},
                      {"client_seconds_per_molecule", client_per},
                      {"client_xtb_seconds_per_molecule", xtb_s / md},
                      {"baseline", card.delta.describe_json()},
                      {"flood_bits", plan.flood_bits},
                      {"server_seconds_per_molecule", server_per},
                      {"server_seconds_per_ciphertext",
                       reply.server_seconds / static_cast<double>(reply.ciphertexts.size())},
                      {"upload_bytes_per_molecule", up},
                      {"download_bytes_per_molecule", down},
                      {"eval_key_bytes", eval_key_bytes},
                      {"card_bytes", card_bytes}};
    j["published_ot_mpc"] = {{"training_size", model.training_size()},
                             {"hours_per_prediction_p10", pub.hours_p10},
                             {"hours_per_prediction_p26", pub.hours_p26},
                             {"gigabytes_per_prediction_p10", pub.gigabytes}};
    j["total_seconds"] = total.seconds();
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "encrypted evaluation plan (model card: "
            << human_bytes(static_cast<double>(card_bytes)) << ", no weights, no training data):\n"
            << plan.describe();
  std::cout << fmt::format(
      "\nclient encrypted {} held-out molecules ({} per ciphertext{}); model owner evaluated them "
      "blind "
      "({} thread{}):\n",
      m, plan.queries,
      refused > 0 ? fmt::format("; {} left out, beyond the card's range", refused) : "",
      core::thread_count(), core::thread_count() == 1 ? "" : "s");
  std::cout << fmt::format(
      "  MAE            plain {:.3f} {}   encrypted {:.3f} {}  (same {} molecules)\n", plain_mae,
      unit, enc_mae, unit, m);
  std::cout << fmt::format(
      "  |enc - plain|  max {:.3g} {} (after rounding to {:g}: {:.3g}); plan's bound {:.3g}, "
      "tolerance {:.3g}\n",
      max_diff, unit, b.rounding_step, max_diff_rounded, b.bound, b.tolerance);
  std::cout << fmt::format(
      "  time           server {:.3f} s per molecule ({:.2f} s per ciphertext); client {:.3f} s "
      "per molecule{}; keygen {:.1f} s, plan + server setup {:.1f} s\n",
      server_per, reply.server_seconds / static_cast<double>(reply.ciphertexts.size()), client_per,
      card.delta.active() ? fmt::format(" (of which its own xTB {:.3f} s)", xtb_s / md) : "",
      keygen_s, plan_s);
  std::cout << fmt::format(
      "  bytes          up {} per molecule, down {} per molecule; evaluation keys {} (once per "
      "client)\n",
      human_bytes(up), human_bytes(down), human_bytes(static_cast<double>(eval_key_bytes)));
  std::cout << fmt::format(
      "published OT/MPC system (Weinreich et al. 2023, MP-SPDZ, CM, QM9) at N = {}: {:.2f} h "
      "(P=10) / {:.2f} h "
      "(P=26) and ~{:.0f} GB per prediction{}\n",
      model.training_size(), pub.hours_p10, pub.hours_p26, pub.gigabytes,
      pub.enc_plain_p26 > 0
          ? fmt::format("; |enc - plain| {:.3g} kcal/mol at P=26", pub.enc_plain_p26)
          : "");
  std::cout << fmt::format(
      "encmol: {:.3g}x faster per prediction than P=26, {:.3g}x less data (total {:.0f} s)\n",
      pub.hours_p26 * 3600.0 / std::max(server_per + client_per, 1e-9),
      pub.gigabytes * 1e9 / std::max(up + down, 1.0), total.seconds());
}

}  // namespace

void add_demo_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<DemoArgs>();
  args->model.family = "quadratic";
  args->model.representation = "";  // run_demo: fchl19+cmbdf (atomic families) or cm (krr)
  args->model.kernel = "gaussian";
  auto* cmd = app.add_subcommand("demo",
                                 "Double-blind prediction on bundled QM7: train, publish a card, "
                                 "encrypt, evaluate blind, decrypt");
  cmd->add_option("--data", args->data, "Data set (default: the bundled data/qm7.xyz.gz)");
  args->model.add_to(*cmd, false);
  cmd->add_option("--train-size", args->train_size, "Training molecules; the rest are held out")
      ->capture_default_str();
  cmd->add_option("--encrypted", args->encrypted, "Held-out molecules the client encrypts")
      ->capture_default_str();
  cmd->add_option("--tolerance", args->tolerance,
                  "Encrypted error budget |encrypted - plain| in the target's unit (krr: training "
                  "chooses sigma, "
                  "lambda and the baseline under it)")
      ->capture_default_str();
  cmd->add_option("--max-batch", args->max_batch,
                  "Molecules per ciphertext (0 = as many as fit, 1 = no batching)")
      ->capture_default_str();
  add_min_flood_bits_option(*cmd, args->min_flood_bits);
  cmd->add_option("--model", args->model_input,
                  "Use this model instead of training (must fit the tolerance)");
  cmd->add_option("--model-output", args->model_output, "Also write the trained model here");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  add_global_options(*cmd, global);
  cmd->callback([args, &global] { run_demo(*args, global); });
}

}  // namespace encmol::cli
