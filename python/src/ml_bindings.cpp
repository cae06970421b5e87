// Training, models and learning curves (layer ml). Training options arrive as
// a dict of the `encmol train` option names and go through the CLI's own
// ModelOptions conversion, so Python and the CLI accept and refuse exactly the
// same settings with the same messages.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "encmol/cli/model_options.hpp"
#include "encmol/cli/report.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/model_file.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::python {
namespace {

using chem::Molecule;

// A scalar, a list or a comma-separated string, as the CLI's list of strings.
std::vector<std::string> string_list(const py::handle& value) {
  std::vector<std::string> out;
  if (value.is_none()) return out;
  if (py::isinstance<py::str>(value)) return {value.cast<std::string>()};
  if (py::isinstance<py::bool_>(value)) throw InputError("expected a number or a list, got a bool");
  if (py::isinstance<py::iterable>(value)) {
    for (const auto& item : value) out.push_back(py::str(item).cast<std::string>());
    return out;
  }
  return {py::str(value).cast<std::string>()};
}

template <typename T>
T scalar(const py::handle& value, const std::string& key) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw InputError("option " + key + ": expected a " +
                     std::string(std::is_same_v<T, bool> ? "bool" : "number") + ", got " +
                     py::repr(value).cast<std::string>());
  }
}

}  // namespace

cli::ModelOptions model_options_from_dict(const py::dict& options) {
  cli::ModelOptions o;
  for (const auto& [k, v] : options) {
    const std::string key = k.cast<std::string>();
    if (v.is_none()) continue;
    if (key == "targets")
      o.targets = string_list(v);
    else if (key == "units")
      o.units = string_list(v);
    else if (key == "family")
      o.family = v.cast<std::string>();
    else if (key == "representation")
      o.representation = v.cast<std::string>();
    else if (key == "kernel")
      o.kernel = v.cast<std::string>();
    else if (key == "sigmas")
      o.sigmas = string_list(v);
    else if (key == "lambdas")
      o.lambdas = string_list(v);
    else if (key == "gamma")
      o.gamma = scalar<double>(v, key);
    else if (key == "coef0")
      o.coef0s = string_list(v);
    else if (key == "degree")
      o.degree = scalar<int>(v, key);
    else if (key == "weights")
      o.weights = string_list(v);
    else if (key == "features")
      o.feature_counts = string_list(v);
    else if (key == "pca")
      o.pca_dimensions = string_list(v);
    else if (key == "rf_kind")
      o.feature_kind = v.cast<std::string>();
    else if (key == "feature_seed")
      o.feature_seed = scalar<std::uint64_t>(v, key);
    else if (key == "depth")
      o.depths = string_list(v);
    else if (key == "width")
      o.widths = string_list(v);
    else if (key == "power")
      o.powers = string_list(v);
    else if (key == "epochs")
      o.epochs = scalar<std::size_t>(v, key);
    else if (key == "learning_rate")
      o.learning_rate = scalar<double>(v, key);
    else if (key == "patience")
      o.patience = scalar<std::size_t>(v, key);
    else if (key == "batch_size")
      o.batch = scalar<std::size_t>(v, key);
    else if (key == "folds")
      o.folds = scalar<int>(v, key);
    else if (key == "baseline")
      o.no_baseline = !scalar<bool>(v, key);
    else if (key == "delta")
      o.delta = string_list(v);
    else if (key == "seed")
      o.seed = scalar<std::uint64_t>(v, key);
    else
      throw InputError("unknown training option '" + key + "'");
  }
  // The CLI's option ranges (CLI11 checks these before the conversion).
  if (o.folds < 2 || o.folds > 100)
    throw InputError("folds must lie in 2..100, got " + std::to_string(o.folds));
  if (o.degree < 1 || o.degree > 16)
    throw InputError("degree must lie in 1..16, got " + std::to_string(o.degree));
  return o;
}

namespace {

ml::TrainOptions train_options(const py::dict& options, const std::string& dataset,
                               const std::vector<Molecule>& also_hold) {
  ml::TrainOptions o = model_options_from_dict(options).to_train_options();
  if (o.targets.empty()) throw InputError("no targets: give the property names to learn");
  o.dataset = dataset;
  // Like `encmol train` with a test split: the representation also holds these.
  o.representation_options = chem::capacity_for(also_hold);
  return o;
}

py::bytes model_bytes(const ml::Model& model) {
  return to_bytes(
      core::seal_envelope(ml::kModelKind, ml::kModelFormatVersion, ml::encode_model(model)));
}

ml::Model model_from_bytes(const py::buffer& data) {
  const core::Bytes bytes = from_bytes(data);
  const auto opened = core::open_envelope(bytes, ml::kModelKind, ml::kModelFormatVersion,
                                          "model bytes", "model file");
  return ml::decode_model(opened.payload, "model bytes", opened.version);
}

py::dict curve_point(const ml::LearningCurvePoint& p) {
  py::dict d;
  d["n"] = p.n;
  d["target"] = p.target;
  d["sigma"] = p.sigma;
  d["lambda"] = p.lambda;
  d["mae"] = p.mae;
  d["rmse"] = p.rmse;
  d["train_seconds"] = p.train_seconds;
  return d;
}

}  // namespace

void bind_ml(py::module_& m) {
  py::class_<ml::Model>(m, "Model",
                        "A trained model of one or more molecular properties (any family); the "
                        "same file as `encmol train -o`.")
      .def_static("load", &ml::Model::load, py::arg("path"),
                  "Reads and validates a model file (FormatError when corrupt or foreign).",
                  py::call_guard<py::gil_scoped_release>())
      .def("save", &ml::Model::save, py::arg("path"), "Writes the model file atomically.",
           py::call_guard<py::gil_scoped_release>())
      .def("to_bytes", &model_bytes, "The model file's bytes.")
      .def_static("from_bytes", &model_from_bytes, py::arg("data"),
                  "A model from a model file's bytes (validated).")
      .def(
          "predict",
          [](const ml::Model& model, const std::vector<Molecule>& molecules) {
            py::gil_scoped_release release;
            return model.predict(molecules);
          },
          py::arg("molecules"),
          "Predictions, molecules x targets (InputError for a molecule the model cannot hold).")
      .def_property_readonly(
          "family",
          [](const ml::Model& model) { return std::string(ml::to_string(model.family())); })
      .def_readonly("targets", &ml::Model::targets)
      .def_readonly("units", &ml::Model::units)
      .def_readonly("representation", &ml::Model::representation)
      .def_property_readonly("training_size", &ml::Model::training_size)
      .def("describe", &ml::Model::describe, "Multi-line summary, as `encmol info`.")
      .def(
          "info", [](const ml::Model& model) { return to_python(model.describe_json()); },
          "The summary as a dict, as `encmol info --json`.")
      .def("__repr__",
           [](const ml::Model& model) {
             std::string targets;
             for (std::size_t t = 0; t < model.targets.size(); ++t) {
               targets += (t ? ", " : "") + model.targets[t] +
                          (model.units[t].empty() ? std::string() : " [" + model.units[t] + "]");
             }
             return "Model(" + std::string(ml::to_string(model.family())) + " on " +
                    std::string(chem::to_string(model.representation.kind())) + ", " +
                    std::to_string(model.training_size()) + " training molecules, targets " +
                    targets + ")";
           })
      .def(py::pickle([](const ml::Model& model) { return model_bytes(model); },
                      [](const py::bytes& state) { return model_from_bytes(state); }));

  m.def(
      "train",
      [](const std::vector<Molecule>& molecules, const py::dict& options,
         const std::string& dataset, const std::vector<Molecule>& also_hold) {
        const ml::TrainOptions o = train_options(options, dataset, also_hold);
        ml::TrainResult result;
        {
          py::gil_scoped_release release;
          result = ml::train(molecules, o);
        }
        return py::make_tuple(std::move(result.model),
                              to_python(cli::training_report_json(result, nullptr)));
      },
      py::arg("molecules"), py::arg("options"), py::arg("dataset") = "python",
      py::arg("also_hold") = std::vector<Molecule>{},
      "Trains a model (options: encmol train's, as Regressor takes them); returns (model, report "
      "dict).");
  m.def(
      "random_split",
      [](std::size_t n, std::size_t train_size, std::uint64_t seed) {
        if (train_size == 0 || train_size >= n) {
          throw InputError("split: train_size must lie between 1 and " +
                           std::to_string(n ? n - 1 : 0) + " (" + std::to_string(n) +
                           " molecules), got " + std::to_string(train_size));
        }
        const ml::Split split = ml::random_split(n, train_size, seed);
        return py::make_tuple(split.train, split.test);
      },
      py::arg("n"), py::arg("train_size"), py::arg("seed") = 42,
      "Indices of a seeded random split, the one `encmol train --test-size` and `encmol demo` "
      "use.");
  m.def(
      "check_options", [](const py::dict& options) { (void)train_options(options, "", {}); },
      py::arg("options"), "Raises InputError for options `train` would refuse.");
  m.def(
      "learning_curve",
      [](const std::vector<Molecule>& train, const std::vector<Molecule>& test,
         const py::dict& options, std::vector<std::size_t> sizes, std::size_t min_size) {
        const ml::TrainOptions o = train_options(options, "python", test);
        for (std::size_t s : sizes) {
          if (s < 2 || s > train.size())
            throw InputError("learning_curve: size " + std::to_string(s) +
                             " is not between 2 and " + std::to_string(train.size()) +
                             " (the training molecules)");
        }
        if (sizes.empty()) sizes = ml::default_learning_curve_sizes(train.size(), min_size);
        std::vector<ml::LearningCurvePoint> points;
        {
          py::gil_scoped_release release;
          points = ml::learning_curve(train, test, o, sizes);
        }
        py::list out;
        for (const auto& p : points) out.append(curve_point(p));
        return out;
      },
      py::arg("train"), py::arg("test"), py::arg("options"),
      py::arg("sizes") = std::vector<std::size_t>{}, py::arg("min_size") = 32,
      "Test error against training size (see encmol.learning_curve).");
}

}  // namespace encmol::python
