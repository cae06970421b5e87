// encmol audit: what a shared plaintext model or an open prediction interface
// leaks (reconstruction, membership inference, extraction) and a Markdown
// report of all three.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "encmol/chem/readers.hpp"
#include "encmol/cli/audit_cli.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::cli {
namespace {

using namespace audit_cli;

// ---------------------------------------------------------------- report

void run_report_command(ReportArgs args, const GlobalOptions& global) {
  apply_global_options(global);
  Progress progress(Progress::detect_mode(global.quiet));
  const ml::Model model = ml::Model::load(args.model);
  require_kernel_model(model, args.model,
                       "the full report (reconstruction, membership, extraction)");
  const auto data = load_data(args.data, 42);
  const std::filesystem::path out(args.output);
  const std::string stem = out.stem().string();
  const std::filesystem::path dir = out.parent_path();
  auto sibling = [&](const std::string& suffix) { return (dir / (stem + suffix)).string(); };
  std::ostringstream md;
  md << "# encmol privacy audit\n\n";
  md << "- model: `" << args.model << "` — " << model.representation.describe() << "; "
     << model.global_krr().kernel.describe() << ", lambda "
     << format_number(model.global_krr().lambda) << "; " << model.training_size()
     << " training molecules; targets";
  for (const auto& t : model.targets) md << " " << t;
  md << "\n- data: ";
  for (const auto& d : args.data.empty() ? std::vector<std::string>{"bundled QM7"} : args.data)
    md << "`" << d << "` ";
  md << "(" << data.size() << " molecules)\n- seed: " << args.seed << "\n\n";

  // 1. Reconstruction.
  Stopwatch watch;
  const auto rec = run_reconstruction(model, &data, args.reconstruct);
  const std::string xyz = sibling("_reconstructed.xyz");
  write_reconstructed(rec, xyz);
  md << "## 1. Reconstruction of the training set from the model file\n\n";
  md << "A plaintext kernel model stores its training representations. ";
  if (rec.kind == chem::RepresentationKind::CoulombMatrix) {
    md << "Each sorted Coulomb matrix was inverted (elements from the diagonal, distances from the "
          "off-diagonal entries, classical MDS refined on all distances).\n\n";
  } else {
    md << "Bag of Bonds gives the composition and the distance multiset of every element pair; a "
          "geometry was assembled from them by a bounded backtracking search.\n\n";
  }
  md << "```\n" << reconstruction_text(rec, args.reconstruct.rmsd_tolerance) << "```\n\n";
  md << "Recovered molecules: `" << std::filesystem::path(xyz).filename().string() << "`.\n\n";

  // 2. Membership inference.
  if (!args.skip_membership) {
    args.membership.model.seed = args.seed;
    const auto setup = setup_from_model(model, data, "");
    const auto mem = run_membership_audit(setup, args.membership, progress);
    const std::string roc = sibling("_membership_roc.png");
    const bool plotted = try_plot(roc_plot(mem), roc);
    md << "## 2. Membership inference through the prediction interface\n\n";
    md << fmt::format(
        "Population {} molecules of the data ({} of them training molecules of the model), {} "
        "shadow models (LiRA, Carlini et al. 2022), target `{}`; {:.1f} s.\n\n",
        mem.population, mem.members, mem.shadows, mem.target, mem.seconds);
    md << membership_table(mem, true) << "\n";
    md << "Held-out MAE: error on the non-members (the change against (a) is the accuracy cost of "
          "the "
          "mitigation).\n\n";
    if (plotted) md << "![ROC](" << std::filesystem::path(roc).filename().string() << ")\n\n";
  }

  // 3. Extraction.
  if (!args.skip_extraction) {
    args.extraction.seed = args.seed;
    const auto ext = run_extraction_audit(model, data, args.extraction, progress);
    const std::string png = sibling("_extraction.png");
    const bool plotted = try_plot(extraction_plot(ext), png);
    md << "## 3. Model extraction with black-box queries\n\n";
    md << fmt::format(
        "Attacker: {} molecules of the data that are not training molecules ({} held out for "
        "evaluation, {} queries available); surrogate KRR with the victim's kernel and {}; "
        "{:.1f} s.\n\n",
        ext.pool, ext.eval_size, ext.available_queries,
        args.extraction.attack.surrogate_cv ? "cross-validated sigma and lambda"
                                            : "hyper-parameters",
        ext.seconds);
    md << "| queries | MAE vs victim | MAE vs true labels |\n|---|---|---|\n";
    for (const auto& p : ext.points) {
      md << fmt::format("| {} | {:.3f} | {} |\n", p.queries, p.mae_vs_victim,
                        p.mae_vs_truth ? fmt::format("{:.3f}", *p.mae_vs_truth) : "-");
    }
    if (ext.victim_mae_vs_truth)
      md << fmt::format("\nThe victim's own MAE on these molecules: {:.3f}.\n",
                        *ext.victim_mae_vs_truth);
    md << "\n" << extraction_summary(ext) << ".\n\n";
    if (plotted)
      md << "![extraction](" << std::filesystem::path(png).filename().string() << ")\n\n";
  }
  md << "## What encmol does about it\n\n"
        "- The model never leaves its owner: the service evaluates it on encrypted queries, so the "
        "reconstruction of section 1 needs the model file, which a client never gets.\n"
        "- A reply reveals only the requested predictions (other slots zeroed, noise-flooded).\n"
        "- A per-client query budget bounds extraction (section 3) and, with rounding, limits what "
        "the "
        "membership attacks of section 2 can measure.\n"
        "- See docs/privacy.md.\n";
  md << fmt::format("\nTotal time {:.1f} s.\n", watch.seconds());
  core::write_file_atomic(out, md.str());
  spdlog::info("wrote {}", args.output);
  std::cout << "wrote " << args.output << "\n";
}

}  // namespace

void add_audit_command(CLI::App& app, GlobalOptions& global) {
  auto* audit_cmd = app.add_subcommand(
      "audit",
      "Measure what a shared model or an open prediction interface leaks about its training data");
  audit_cmd->require_subcommand(1, 1);
  add_global_options(*audit_cmd, global);

  {
    auto args = std::make_shared<ReconstructArgs>();
    auto* cmd = audit_cmd->add_subcommand("reconstruct",
                                          "Recover the training molecules from a plaintext KRR "
                                          "model file (CM: exact; BoB: best effort)");
    cmd->add_option("--model", args->model, "Model file")->required();
    cmd->add_option("-o,--output", args->output, "XYZ file for the recovered molecules")
        ->required();
    cmd->add_option(
        "--reference", args->reference,
        "The original molecules (files or directories): report how many were recovered exactly");
    cmd->add_option("--csv", args->csv, "Per-molecule results (CSV, - = stdout)");
    cmd->add_option("--limit", args->limit, "Only the first N training molecules (0 = all)")
        ->capture_default_str();
    cmd->add_option("--node-budget", args->node_budget,
                    "Bag of Bonds: candidate placements tried per molecule before giving up")
        ->capture_default_str();
    cmd->add_option("--rmsd-tolerance", args->rmsd_tolerance,
                    "RMSD (Å) below which a molecule counts as recovered")
        ->capture_default_str();
    cmd->add_flag("--json", args->json, "Print the summary as JSON");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] { run_reconstruct_command(*args, global); });
  }
  {
    auto args = std::make_shared<MembershipArgs>();
    auto* cmd = audit_cmd->add_subcommand("membership",
                                          "Membership inference (loss threshold and LiRA) for the "
                                          "default, a regularized and a rounding interface");
    cmd->add_option("--data", args->data,
                    "Molecules with labels: the population (default: bundled QM7)");
    cmd->add_option("--model", args->model_file,
                    "Audit this model (members = its training molecules found in --data) instead "
                    "of training one");
    args->model.add_to(*cmd, false);
    cmd->add_option("--train-size", args->train_size,
                    "Molecules the fresh target model is trained on (default: half the data)");
    add_membership_attack_options(*cmd, *args);
    cmd->add_option("--plot", args->plot, "ROC plot (PNG, log-log)");
    cmd->add_option("--csv", args->csv, "ROC curves (CSV)");
    cmd->add_flag("--json", args->json, "Print JSON");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] {
      if (args->model_file.empty() && args->model.targets.empty()) {
        throw InputError("give --target (the property to attack) or --model");
      }
      run_membership_command(*args, global);
    });
  }
  {
    auto args = std::make_shared<ExtractionArgs>();
    auto* cmd = audit_cmd->add_subcommand(
        "extraction", "Black-box model stealing: surrogate error versus the number of queries");
    cmd->add_option("--model", args->model, "Victim model file")->required();
    cmd->add_option(
        "--data", args->data,
        "The attacker's molecules (training molecules are removed; default: bundled QM7)");
    add_extraction_attack_options(*cmd, *args);
    cmd->add_option("--target", args->target, "Property to attack (default: the model's first)");
    cmd->add_option("--seed", args->seed, "Seed of the query order and evaluation split")
        ->capture_default_str();
    cmd->add_option("-o,--output", args->output, "CSV of the curve (- = stdout)");
    cmd->add_option("--plot", args->plot, "Plot of the curve (PNG)");
    cmd->add_flag("--json", args->json, "Print JSON");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] { run_extraction_command(*args, global); });
  }
  {
    auto args = std::make_shared<ReportArgs>();
    auto* cmd = audit_cmd->add_subcommand(
        "report",
        "Run all three audits on a model and a data set and write one Markdown report with plots");
    cmd->add_option("--model", args->model, "Model file")->required();
    cmd->add_option("--data", args->data,
                    "The data set the model was trained from, with labels (default: bundled QM7)");
    cmd->add_option("-o,--output", args->output,
                    "Markdown report; plots and XYZ are written beside it")
        ->required();
    cmd->add_option("--seed", args->seed, "Seed of every random choice")->capture_default_str();
    cmd->add_option("--limit", args->reconstruct.limit,
                    "Reconstruct only the first N training molecules");
    cmd->add_option("--node-budget", args->reconstruct.node_budget,
                    "Bag of Bonds search budget per molecule")
        ->capture_default_str();
    add_membership_attack_options(*cmd, args->membership);
    add_extraction_attack_options(*cmd, args->extraction);
    cmd->add_flag("--skip-membership", args->skip_membership, "Leave out the membership audit");
    cmd->add_flag("--skip-extraction", args->skip_extraction, "Leave out the extraction audit");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] { run_report_command(*args, global); });
  }
}

}  // namespace encmol::cli
