// The double-blind protocol (layer secure): model card, client, server and
// the files they exchange. Evaluation keys, queries and results cross Python
// as their sealed envelopes (the same bytes as the CLI's files); each party
// decodes them with its own CKKS context when it uses them.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <list>
#include <mutex>

#include "bindings.hpp"
#include "encmol/cli/common.hpp"
#include "encmol/cli/secure_report.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/secure/roles.hpp"

namespace encmol::python {
namespace {

using chem::Molecule;

// An evaluation-key bundle, query or result: its sealed envelope.
template <int Tag>
struct Envelope {
  core::Bytes bytes;
};
using EvalKeysFile = Envelope<0>;
using QueryFile = Envelope<1>;
using ResultFile = Envelope<2>;

template <int Tag>
struct EnvelopeTraits;
template <>
struct EnvelopeTraits<0> {
  static constexpr core::Kind kind = secure::kEvalKeysKind;
  static constexpr const char* name = "EvalKeys";
  static constexpr const char* what = "evaluation keys";
  static constexpr std::uint64_t max_bytes = secure::EvalKeys::kMaxFileBytes;
};
template <>
struct EnvelopeTraits<1> {
  static constexpr core::Kind kind = secure::kQueryKind;
  static constexpr const char* name = "Query";
  static constexpr const char* what = "query";
  static constexpr std::uint64_t max_bytes = std::uint64_t{16} << 30;
};
template <>
struct EnvelopeTraits<2> {
  static constexpr core::Kind kind = secure::kResultKind;
  static constexpr const char* name = "Result";
  static constexpr const char* what = "result";
  static constexpr std::uint64_t max_bytes = std::uint64_t{16} << 30;
};

template <int Tag>
Envelope<Tag> checked_envelope(core::Bytes bytes, const std::string& context) {
  using Traits = EnvelopeTraits<Tag>;
  if (core::peek_envelope_kind(bytes) != Traits::kind) {
    throw FormatError(context + " is not an encmol " + std::string(Traits::what) + " file");
  }
  return Envelope<Tag>{std::move(bytes)};
}

template <int Tag>
void bind_envelope(py::module_& m, const char* doc) {
  using Traits = EnvelopeTraits<Tag>;
  using E = Envelope<Tag>;
  py::class_<E>(m, Traits::name, doc)
      .def(
          "to_bytes", [](const E& e) { return to_bytes(e.bytes); },
          "The file's bytes (what travels).")
      .def_static(
          "from_bytes",
          [](const py::buffer& data) { return checked_envelope<Tag>(from_bytes(data), "bytes"); },
          py::arg("data"), "From received bytes (fully validated when used).")
      .def(
          "save",
          [](const E& e, const std::filesystem::path& path) {
            py::gil_scoped_release release;
            core::write_file_atomic(path, e.bytes);
          },
          py::arg("path"), "Writes the file atomically (the CLI reads it).")
      .def_static(
          "load",
          [](const std::filesystem::path& path) {
            py::gil_scoped_release release;
            return checked_envelope<Tag>(core::read_file_bytes(path, Traits::max_bytes),
                                         path.string());
          },
          py::arg("path"), "Reads a file (from the CLI or save).")
      .def_property_readonly("nbytes", [](const E& e) { return e.bytes.size(); })
      .def("__repr__", [](const E& e) {
        return std::string(Traits::name) + "(" +
               cli::human_bytes(static_cast<double>(e.bytes.size())) + ")";
      });
}

secure::PlanOptions plan_options(double tolerance, double relative_tolerance,
                                 std::uint32_t max_batch, int min_flood_bits, double query_margin) {
  secure::PlanOptions o;
  o.tolerance = tolerance;
  o.relative_tolerance = relative_tolerance;
  o.max_batch = max_batch;
  o.min_flood_bits = min_flood_bits;
  o.query_margin = query_margin;
  o.validate();
  return o;
}

std::string card_repr(const secure::ModelCard& card) {
  std::string out =
      "ModelCard(" + (card.description.empty() ? std::string() : card.description + "; ");
  for (std::size_t t = 0; t < card.targets.size(); ++t) {
    out += (t ? ", " : "") + card.targets[t];
    if (t < card.plan.budget.size()) {
      out += " to " + cli::format_number(card.plan.budget[t].rounding_step) +
             (card.units[t].empty() ? "" : " " + card.units[t]);
    }
  }
  out += std::string("; ") + (card.delta.active() ? "client-side xTB baseline; " : "") + "N = 2^" +
         std::to_string(card.plan.params.log_n) + ", " + std::to_string(card.plan.queries) +
         " molecule(s) per ciphertext)";
  return out;
}

struct PredictionTable {
  std::vector<std::string> names, targets, units;
  Eigen::MatrixXd values;  // rounded to each target's precision (+ the client's baseline)
  std::vector<double> precision;
};

PredictionTable prediction_table(const secure::ModelCard& card, secure::Predictions p) {
  PredictionTable t{std::move(p.names), card.targets, card.units, std::move(p.values), {}};
  for (const auto& b : card.plan.budget) t.precision.push_back(b.rounding_step);
  return t;
}

// The model owner's side: one secure::Server plus the decoded evaluation keys
// of the most recent clients (decoding a bundle costs about as much as one
// small query, so a notebook evaluating repeatedly should not pay it each time).
class ServerSession {
 public:
  ServerSession(const ml::Model& model, const secure::ModelCard& card,
                secure::ServerOptions options)
      : server_(model, card, std::move(options)) {}
  ServerSession(const ml::Model& model, const EvalKeysFile& keys, secure::ServerOptions options)
      : server_(model, secure::EvalKeys::peek(keys.bytes, "evaluation keys"), std::move(options)) {}

  // One evaluation at a time: the budget count and the key cache are shared
  // (Python threads may call in parallel once the GIL is released).
  ResultFile evaluate(const QueryFile& query, const EvalKeysFile& keys) {
    const std::lock_guard lock(mutex_);
    const secure::EvalKeys& decoded = decoded_keys(keys);
    const secure::Query q =
        secure::Query::decode(query.bytes, *server_.context(), server_.plan().queries, "query");
    const secure::Result r = server_.evaluate(q, decoded);
    return ResultFile{r.encode(*server_.context())};
  }
  std::uint64_t used_budget(const EvalKeysFile& keys) {
    const std::lock_guard lock(mutex_);
    return server_.used_budget(decoded_keys(keys).key_id);
  }
  const secure::Server& server() const { return server_; }

 private:
  static constexpr std::size_t kCachedKeys = 2;
  const secure::EvalKeys& decoded_keys(const EvalKeysFile& keys) {
    const core::Digest digest = core::blake2b_256(keys.bytes);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->first == digest) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front().second;
      }
    }
    secure::EvalKeys decoded =
        secure::EvalKeys::decode(keys.bytes, *server_.context(), "evaluation keys");
    server_.check_keys(decoded);
    cache_.emplace_front(digest, std::move(decoded));
    if (cache_.size() > kCachedKeys) cache_.pop_back();
    return cache_.front().second;
  }
  std::mutex mutex_;
  secure::Server server_;
  std::list<std::pair<core::Digest, secure::EvalKeys>> cache_;
};

secure::ServerOptions server_options(const ml::Model& model,
                                     std::optional<std::uint64_t> query_budget,
                                     const std::string& budget_state, double cache_gib) {
  if (!(cache_gib >= 0.0 && cache_gib <= 1024.0)) throw InputError("cache_gib must lie in 0..1024");
  secure::ServerOptions o;
  o.query_budget = query_budget.value_or(secure::default_query_budget(model));
  o.budget_state = budget_state;
  o.plaintext_cache_bytes = static_cast<std::uint64_t>(cache_gib * 1073741824.0);
  return o;
}

}  // namespace

void bind_secure(py::module_& m) {
  bind_envelope<0>(m,
                   "Evaluation keys (relinearization, Galois and public key) a client sends the "
                   "model owner once.");
  bind_envelope<1>(m, "An encrypted query: a client's molecules, featurized and encrypted.");
  bind_envelope<2>(m, "The model owner's encrypted answer to a query.");

  py::class_<secure::ModelCard>(
      m, "ModelCard",
      "What a model owner publishes: the encrypted-evaluation plan (CKKS "
      "parameters, packing, guaranteed precision) and the representation; no "
      "weights, no training data.")
      .def_static(
          "from_model",
          [](const ml::Model& model, double tolerance, double relative_tolerance,
             std::uint32_t max_batch, int min_flood_bits, double query_margin) {
            const auto o = plan_options(tolerance, relative_tolerance, max_batch, min_flood_bits,
                                        query_margin);
            py::gil_scoped_release release;
            return secure::ModelCard::from_model(model, o);
          },
          py::arg("model"), py::arg("tolerance") = 0.0, py::arg("relative_tolerance") = 1e-4,
          py::arg("max_batch") = 0,
          py::arg("min_flood_bits") = secure::PlanOptions{}.min_flood_bits,
          py::arg("query_margin") = secure::PlanOptions{}.query_margin,
          "Compiles the encrypted-evaluation plan of a model (ParameterError when the tolerance "
          "cannot be met).")
      .def_static("load", &secure::ModelCard::load, py::arg("path"),
                  "Reads and validates a card file.", py::call_guard<py::gil_scoped_release>())
      .def("save", &secure::ModelCard::save, py::arg("path"), "Writes the card atomically.",
           py::call_guard<py::gil_scoped_release>())
      .def(
          "to_bytes", [](const secure::ModelCard& c) { return to_bytes(c.encode()); },
          "The card file's bytes.")
      .def_static(
          "from_bytes",
          [](const py::buffer& data) {
            return secure::ModelCard::decode(from_bytes(data), "model card bytes");
          },
          py::arg("data"), "A card from its bytes (validated).")
      .def_readonly("targets", &secure::ModelCard::targets)
      .def_readonly("units", &secure::ModelCard::units)
      .def_readonly("description", &secure::ModelCard::description)
      .def_readonly("representation", &secure::ModelCard::representation)
      .def_property_readonly("plan_hash",
                             [](const secure::ModelCard& c) { return core::to_hex(c.plan_hash()); })
      .def_property_readonly("precision",
                             [](const secure::ModelCard& c) {
                               std::vector<double> out;
                               for (const auto& b : c.plan.budget) out.push_back(b.rounding_step);
                               return out;
                             })
      .def_property_readonly("needs_molecules_to_decrypt",
                             [](const secure::ModelCard& c) { return c.delta.active(); })
      .def(
          "plan", [](const secure::ModelCard& c) { return to_python(cli::plan_json(c)); },
          "The plan as a dict (as `encmol card --json`): parameters, per-target bound and rounding "
          "step, sizes.")
      .def(
          "describe", [](const secure::ModelCard& c) { return c.plan.describe(); },
          "The plan in words.")
      .def("__repr__", &card_repr);

  py::class_<PredictionTable>(m, "Predictions",
                              "Decrypted predictions, rounded to the card's precision.")
      .def_readonly("names", &PredictionTable::names)
      .def_readonly("targets", &PredictionTable::targets)
      .def_readonly("units", &PredictionTable::units)
      .def_readonly("values", &PredictionTable::values)
      .def_readonly("precision", &PredictionTable::precision)
      .def("__len__", [](const PredictionTable& t) { return t.names.size(); })
      .def("__repr__", [](const PredictionTable& t) {
        return "Predictions(" + std::to_string(t.names.size()) + " molecules x " +
               std::to_string(t.targets.size()) + " targets)";
      });

  py::class_<secure::Client>(m, "Client", "The client: its secret key, queries and decryption.")
      .def(py::init<secure::ModelCard>(), py::arg("card"),
           "A client with a fresh secret key for the card.",
           py::call_guard<py::gil_scoped_release>())
      .def_static("load", &secure::Client::load, py::arg("secret_key_file"),
                  "A client from its saved secret key (the file holds the card).",
                  py::call_guard<py::gil_scoped_release>())
      .def("save_secret_key", &secure::Client::save_secret_key, py::arg("path"),
           "Writes the secret key (and card) with mode 0600; keep it private.",
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("card", &secure::Client::card)
      .def_property_readonly("key_id",
                             [](const secure::Client& c) { return core::to_hex(c.key_id()); })
      .def(
          "make_eval_keys",
          [](const secure::Client& c) {
            py::gil_scoped_release release;
            return EvalKeysFile{c.make_eval_keys().encode(*c.context())};
          },
          "Relinearization, Galois and public key for the model owner (sent once).")
      .def(
          "encrypt",
          [](const secure::Client& c, const std::vector<Molecule>& molecules) {
            py::gil_scoped_release release;
            return QueryFile{c.encrypt(molecules).encode(*c.context())};
          },
          py::arg("molecules"),
          "Featurizes the molecules locally and encrypts them (names sealed too).")
      .def(
          "decrypt",
          [](const secure::Client& c, const ResultFile& result,
             const std::vector<Molecule>& molecules) {
            py::gil_scoped_release release;
            const auto r =
                secure::Result::decode(result.bytes, *c.context(), c.card().plan.queries, "result");
            return prediction_table(c.card(), c.decrypt(r, molecules));
          },
          py::arg("result"), py::arg("molecules") = std::vector<Molecule>{},
          "Decrypts and rounds to the card's precision; with an xTB baseline in the card, the "
          "query's molecules "
          "give the client's own baseline, added here.")
      .def("__repr__", [](const secure::Client& c) {
        return "Client(key " + core::to_hex(c.key_id()).substr(0, 16) + "..., " +
               card_repr(c.card()) + ")";
      });

  py::class_<ServerSession>(m, "Server", "The model owner's encrypted evaluation of one model.")
      .def(py::init([](const ml::Model& model, const secure::ModelCard& card,
                       std::optional<std::uint64_t> budget, const std::string& state,
                       double cache_gib) {
             auto o = server_options(model, budget, state, cache_gib);
             py::gil_scoped_release release;
             return std::make_unique<ServerSession>(model, card, std::move(o));
           }),
           py::arg("model"), py::arg("card"), py::arg("query_budget") = py::none(),
           py::arg("budget_state") = "", py::arg("cache_gib") = 0.25)
      .def(py::init([](const ml::Model& model, const EvalKeysFile& keys,
                       std::optional<std::uint64_t> budget, const std::string& state,
                       double cache_gib) {
             auto o = server_options(model, budget, state, cache_gib);
             py::gil_scoped_release release;
             return std::make_unique<ServerSession>(model, keys, std::move(o));
           }),
           py::arg("model"), py::arg("keys"), py::arg("query_budget") = py::none(),
           py::arg("budget_state") = "", py::arg("cache_gib") = 0.25)
      .def_property_readonly("card", [](const ServerSession& s) { return s.server().card(); })
      .def("evaluate", &ServerSession::evaluate, py::arg("query"), py::arg("keys"),
           "Evaluates the model on an encrypted query (FormatError for another card or key, "
           "SecurityError past "
           "the key's budget).",
           py::call_guard<py::gil_scoped_release>())
      .def("used_budget", &ServerSession::used_budget, py::arg("keys"),
           "Molecules evaluated so far for this key.", py::call_guard<py::gil_scoped_release>());
}

}  // namespace encmol::python
