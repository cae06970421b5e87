// The `_encmol` extension module: exception types, threads, logging, and the
// per-layer bindings. The public package (`encmol`) re-exports these names.
#include <spdlog/spdlog.h>

#include "bindings.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::python {

py::object to_python(const nlohmann::json& document) {
  return py::module_::import("json").attr("loads")(document.dump());
}

py::bytes to_bytes(std::span<const std::uint8_t> data) {
  return py::bytes(reinterpret_cast<const char*>(data.data()), data.size());
}

core::Bytes from_bytes(const py::buffer& data) {
  const py::buffer_info info = data.request();
  if (info.ndim != 1 || info.itemsize != 1)
    throw InputError("expected bytes (a one-dimensional byte buffer)");
  const auto* begin = static_cast<const std::uint8_t*>(info.ptr);
  return core::Bytes(begin, begin + info.size);
}

namespace {

// One Python class per C++ error type, so `except encmol.InputError` works and
// the messages are the C++ ones unchanged. Input, format and parameter errors
// are also ValueErrors, I/O errors OSErrors, for code that catches those.
struct ErrorTypes {
  PyObject* error = nullptr;
  PyObject* input = nullptr;
  PyObject* format = nullptr;
  PyObject* parameter = nullptr;
  PyObject* security = nullptr;
  PyObject* io = nullptr;
};
ErrorTypes error_types;  // module lifetime: the interpreter owns the classes

PyObject* new_error(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  const std::string qualified = std::string("encmol.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

}  // namespace

void bind_errors(py::module_& m) {
  auto& t = error_types;
  const py::handle exception(PyExc_Exception), value_error(PyExc_ValueError),
      os_error(PyExc_OSError);
  t.error = new_error(m, "Error", py::make_tuple(exception),
                      "Base of every error encmol raises on purpose.");
  const py::handle error(t.error);
  t.input = new_error(m, "InputError", py::make_tuple(error, value_error),
                      "Malformed or unsupported input: molecule files, labels, options.");
  t.format = new_error(m, "FormatError", py::make_tuple(error, value_error),
                       "A binary file or message that is corrupt, truncated, foreign or hostile.");
  t.parameter = new_error(m, "ParameterError", py::make_tuple(error, value_error),
                          "Parameters that are inconsistent or cannot be met (CKKS, model, plan).");
  t.security = new_error(m, "SecurityError", py::make_tuple(error),
                         "A request that would weaken security or exceed a query budget.");
  t.io = new_error(m, "IoError", py::make_tuple(error, os_error),
                   "Operating-system failure: a file cannot be opened, written or renamed.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      PyErr_SetString(error_types.input, e.what());
    } catch (const FormatError& e) {
      PyErr_SetString(error_types.format, e.what());
    } catch (const ParameterError& e) {
      PyErr_SetString(error_types.parameter, e.what());
    } catch (const SecurityError& e) {
      PyErr_SetString(error_types.security, e.what());
    } catch (const IoError& e) {
      PyErr_SetString(error_types.io, e.what());
    } catch (const Error& e) {
      PyErr_SetString(error_types.error, e.what());
    }
  });
}

}  // namespace encmol::python

PYBIND11_MODULE(_encmol, m) {
  namespace py = pybind11;
  using namespace encmol::python;
  m.doc() = "Compiled core of encmol (use the `encmol` package, not this module directly).";
  m.attr("__version__") = ENCMOL_VERSION;
  // The library logs progress at info level for the command line; a notebook
  // only wants warnings unless it asks for more (set_log_level).
  spdlog::set_level(spdlog::level::warn);
  bind_errors(m);
  m.def(
      "set_threads", [](unsigned threads) { encmol::core::set_thread_count(threads); },
      py::arg("threads"),
      "Threads used by featurization, training and encrypted evaluation (0 = all cores).");
  m.def(
      "threads", [] { return encmol::core::thread_count(); }, "Threads currently used.");
  m.def(
      "set_log_level",
      [](const std::string& level) {
        const auto parsed = spdlog::level::from_str(level);
        if (parsed == spdlog::level::off && level != "off") {
          throw encmol::InputError("unknown log level '" + level +
                                   "' (trace, debug, info, warning, error, critical, off)");
        }
        spdlog::set_level(parsed);
      },
      py::arg("level"),
      "Library log messages shown on stderr: 'info', 'warning' (default), 'error', 'off'.");
  bind_chem(m);
  bind_ml(m);
  bind_secure(m);
  bind_audit(m);
}
