// Shared declarations of the `_encmol` extension module (one binding file per
// layer: chem, ml, secure, audit). Every binding file includes this header
// first, so the opaque-type declarations below are seen everywhere.
#pragma once

#include <pybind11/pybind11.h>

#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "encmol/cli/model_options.hpp"
#include "encmol/core/binary.hpp"

// Molecule properties are exposed as live mappings (mol.properties["x"] = 1
// changes the molecule), not as copies.
PYBIND11_MAKE_OPAQUE(std::map<std::string, double>)
PYBIND11_MAKE_OPAQUE(std::map<std::string, std::string>)

namespace encmol::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_chem(py::module_& m);
void bind_ml(py::module_& m);
void bind_secure(py::module_& m);
void bind_audit(py::module_& m);

/// The `encmol train` options given as a dict (keys: the CLI's long option
/// names with _ for -, e.g. sigmas, lambdas, batch_size, baseline=False for
/// --no-baseline); InputError for unknown keys or bad values.
cli::ModelOptions model_options_from_dict(const py::dict& options);

/// A JSON document (the CLI's --json reports) as Python dicts and lists.
py::object to_python(const nlohmann::json& document);

/// Python bytes holding a copy of `data`.
py::bytes to_bytes(std::span<const std::uint8_t> data);
/// A copy of Python bytes (or bytearray / memoryview) as core::Bytes.
core::Bytes from_bytes(const py::buffer& data);

}  // namespace encmol::python
