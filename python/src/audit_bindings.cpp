// The privacy audits (layer audit), through the same functions as `encmol
// audit`; each returns the figures of the CLI's --json report as a dict.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "encmol/cli/audit_cli.hpp"
#include "encmol/cli/common.hpp"
#include "encmol/core/error.hpp"

namespace encmol::python {
namespace {

using chem::Molecule;
namespace ac = cli::audit_cli;

py::dict reconstruct(const ml::Model& model, const std::optional<std::vector<Molecule>>& reference,
                     std::size_t limit, double rmsd_tolerance, std::uint64_t node_budget) {
  ac::ReconstructArgs args;
  args.limit = limit;
  args.rmsd_tolerance = rmsd_tolerance;
  args.node_budget = node_budget;
  ac::require_kernel_model(model, "the model", "reconstruction");
  audit::ReconstructionReport report;
  {
    py::gil_scoped_release release;
    report = ac::run_reconstruction(model, reference ? &*reference : nullptr, args);
  }
  py::dict out = to_python(ac::reconstruction_json(report));
  py::list molecules;  // the recovered geometries, row order (None where none was assembled)
  for (const auto& item : report.items) {
    if (item.molecule)
      molecules.append(py::cast(*item.molecule));
    else
      molecules.append(py::none());
  }
  out["molecules"] = molecules;
  return out;
}

py::object membership(std::vector<Molecule> data, const ml::Model* model, const std::string& target,
                      std::size_t train_size, std::size_t shadows, double regularized_lambda,
                      double round_step, std::uint64_t seed, const py::dict& model_options) {
  ac::MembershipArgs args;
  args.model = model_options_from_dict(model_options);
  args.model.seed = seed;
  args.train_size = train_size;
  args.shadows = shadows;
  args.regularized_lambda = regularized_lambda;
  args.round_step = round_step;
  cli::Progress progress(cli::Progress::Mode::Silent);
  audit::MembershipReport report;
  {
    py::gil_scoped_release release;
    audit::MembershipSetup setup;
    if (model != nullptr) {
      ac::require_kernel_model(*model, "the model",
                               "membership inference against a given model (without a model, "
                               "the audit trains any family but nn itself from the options)");
      setup = ac::setup_from_model(*model, data, target);
    } else {
      setup = ac::setup_fresh(std::move(data), args, progress);
    }
    report = ac::run_membership_audit(setup, args, progress);
  }
  return to_python(ac::membership_json(report));
}

py::object extraction(const ml::Model& model, const std::vector<Molecule>& data,
                      std::size_t max_budget, const std::vector<std::size_t>& budgets,
                      std::size_t eval_size, double tolerance, double round_step,
                      std::size_t perturbed_copies, double perturbation_sigma, bool surrogate_cv,
                      const std::string& target, std::uint64_t seed) {
  ac::ExtractionArgs args;
  args.attack.max_budget = max_budget;
  args.attack.eval_size = eval_size;
  args.attack.tolerance = tolerance;
  args.attack.round_step = round_step;
  args.attack.perturbed_copies = perturbed_copies;
  args.attack.perturbation_sigma = perturbation_sigma;
  args.attack.surrogate_cv = surrogate_cv;
  for (std::size_t b : budgets) args.budgets.push_back(std::to_string(b));
  args.target = target;
  args.seed = seed;
  cli::Progress progress(cli::Progress::Mode::Silent);
  audit::ExtractionReport report;
  {
    py::gil_scoped_release release;
    report = ac::run_extraction_audit(model, data, args, progress);
  }
  return to_python(ac::extraction_json(report));
}

}  // namespace

void bind_audit(py::module_& m) {
  m.def("audit_reconstruct", &reconstruct, py::arg("model"), py::arg("reference") = py::none(),
        py::arg("limit") = 0, py::arg("rmsd_tolerance") = 0.1,
        py::arg("node_budget") = audit::BobSearchOptions{}.node_budget,
        "See encmol.audit.reconstruct.");
  m.def(
      "audit_membership",
      [](std::vector<Molecule> data, const ml::Model* model, const std::string& target,
         std::size_t train_size, std::size_t shadows, double regularized_lambda, double round_step,
         std::uint64_t seed, const py::dict& options) {
        return membership(std::move(data), model, target, train_size, shadows, regularized_lambda,
                          round_step, seed, options);
      },
      py::arg("data"), py::arg("model") = nullptr, py::arg("target") = "",
      py::arg("train_size") = 0, py::arg("shadows") = 16, py::arg("regularized_lambda") = 0.0,
      py::arg("round_step") = 1.0, py::arg("seed") = 42, py::arg("options") = py::dict(),
      "See encmol.audit.membership.");
  m.def("audit_extraction", &extraction, py::arg("model"), py::arg("data"),
        py::arg("max_budget") = 2048, py::arg("budgets") = std::vector<std::size_t>{},
        py::arg("eval_size") = 500, py::arg("tolerance") = 1.0, py::arg("round_step") = 0.0,
        py::arg("perturbed_copies") = 0, py::arg("perturbation_sigma") = 0.05,
        py::arg("surrogate_cv") = false, py::arg("target") = "", py::arg("seed") = 42,
        "See encmol.audit.extraction.");
}

}  // namespace encmol::python
