// Molecules, readers, xTB and representations (layer chem).
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>
#include <pybind11/stl_bind.h>

#include <cmath>

#include "bindings.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/chem/xtb.hpp"
#include "encmol/cli/common.hpp"
#include "encmol/core/error.hpp"

namespace encmol::python {
namespace {

using chem::Molecule;
using Positions = Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>;

// A dict (or any mapping, e.g. another molecule's properties) as a std::map.
template <typename Value>
std::map<std::string, Value> mapping(const py::handle& items, const char* what) {
  std::map<std::string, Value> out;
  if (items.is_none()) return out;
  if (!py::hasattr(items, "items"))
    throw InputError(std::string(what) + " must be a mapping (a dict)");
  for (const auto& pair : items.attr("items")()) {
    const auto kv = pair.cast<py::tuple>();
    try {
      out[kv[0].cast<std::string>()] = kv[1].cast<Value>();
    } catch (const py::cast_error&) {
      throw InputError(std::string(what) + ": entry " + py::repr(kv[0]).cast<std::string>() +
                       " has value " + py::repr(kv[1]).cast<std::string>() + " of the wrong type");
    }
  }
  return out;
}

Molecule make_molecule(const std::vector<int>& charges, const Positions& positions,
                       std::string name, std::map<std::string, double> properties,
                       std::map<std::string, std::string> text_properties) {
  Molecule m{std::move(name), charges, {}, std::move(properties), std::move(text_properties)};
  if (static_cast<std::size_t>(positions.rows()) != charges.size()) {
    throw InputError("Molecule: " + std::to_string(charges.size()) + " charges but " +
                     std::to_string(positions.rows()) + " positions");
  }
  if (charges.size() > chem::kMaxAtomsPerMolecule) {
    throw InputError("Molecule: " + std::to_string(charges.size()) + " atoms, more than the " +
                     std::to_string(chem::kMaxAtomsPerMolecule) + " encmol accepts");
  }
  m.positions.resize(charges.size());
  for (std::size_t i = 0; i < charges.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    m.positions[i] = {positions(r, 0), positions(r, 1), positions(r, 2)};
  }
  chem::validate_molecule(m,
                          m.name.empty() ? std::string("Molecule") : "Molecule '" + m.name + "'");
  return m;
}

Positions positions_of(const Molecule& m) {
  Positions p(static_cast<Eigen::Index>(m.size()), 3);
  for (std::size_t i = 0; i < m.size(); ++i) {
    for (int k = 0; k < 3; ++k)
      p(static_cast<Eigen::Index>(i), k) = m.positions[i][static_cast<std::size_t>(k)];
  }
  return p;
}

std::string molecule_repr(const Molecule& m) {
  return "Molecule(" + (m.name.empty() ? std::string() : "'" + m.name + "', ") +
         chem::molecular_formula(m) + ", " + std::to_string(m.size()) + " atoms" +
         (m.properties.empty() ? std::string()
                               : ", " + std::to_string(m.properties.size()) + " properties") +
         ")";
}

void bind_molecule(py::module_& m) {
  py::bind_map<std::map<std::string, double>>(
      m, "PropertyMap", "Numeric properties (labels) of a molecule, by name.");
  py::bind_map<std::map<std::string, std::string>>(
      m, "TextPropertyMap", "Non-numeric key=value data of a molecule (e.g. smiles).");
  py::class_<Molecule>(m, "Molecule",
                       "A molecule: nuclear charges, Cartesian coordinates (angstrom), a name and "
                       "numeric properties (labels).")
      .def(
          py::init([](const std::vector<int>& charges, const Positions& positions, std::string name,
                      const py::object& properties, const py::object& text_properties) {
            return make_molecule(charges, positions, std::move(name),
                                 mapping<double>(properties, "properties"),
                                 mapping<std::string>(text_properties, "text_properties"));
          }),
          py::arg("charges"), py::arg("positions"), py::arg("name") = "",
          py::arg("properties") = py::none(), py::arg("text_properties") = py::none(),
          "Builds and validates a molecule (InputError for unknown elements, non-finite or "
          "coincident atoms, mismatched sizes).")
      .def_readwrite("name", &Molecule::name)
      .def_property_readonly(
          "charges",
          [](const Molecule& mol) {
            return py::array_t<int>(static_cast<py::ssize_t>(mol.size()), mol.charges.data());
          },
          "Nuclear charges Z (a copy, numpy int32).")
      .def_property_readonly("positions", &positions_of, "Coordinates in angstrom (a copy, n x 3).")
      .def_property(
          "properties",
          [](Molecule& mol) -> std::map<std::string, double>& { return mol.properties; },
          [](Molecule& mol, const py::object& p) {
            mol.properties = mapping<double>(p, "properties");
          },
          py::return_value_policy::reference_internal, "Numeric properties, a live mapping.")
      .def_property(
          "text_properties",
          [](Molecule& mol) -> std::map<std::string, std::string>& { return mol.text_properties; },
          [](Molecule& mol, const py::object& p) {
            mol.text_properties = mapping<std::string>(p, "text_properties");
          },
          py::return_value_policy::reference_internal, "Text properties, a live mapping.")
      .def_property_readonly("formula", &chem::molecular_formula,
                             "Molecular formula in Hill order.")
      .def("__len__", &Molecule::size)
      .def("__repr__", &molecule_repr)
      .def(py::pickle(
          [](const Molecule& mol) {
            py::dict properties, text;
            for (const auto& [k, v] : mol.properties) properties[py::str(k)] = v;
            for (const auto& [k, v] : mol.text_properties) text[py::str(k)] = v;
            return py::make_tuple(mol.name, mol.charges, positions_of(mol), properties, text);
          },
          [](const py::tuple& t) {
            if (t.size() != 5)
              throw FormatError("Molecule: pickled state of another encmol version");
            return make_molecule(t[1].cast<std::vector<int>>(), t[2].cast<Positions>(),
                                 t[0].cast<std::string>(), mapping<double>(t[3], "properties"),
                                 mapping<std::string>(t[4], "text_properties"));
          }));
}

chem::ReadOptions read_options(const std::string& format, const std::string& labels,
                               std::uint64_t seed, std::uint64_t max_file_bytes) {
  chem::ReadOptions o;
  o.format = format;
  o.labels_csv = labels;
  o.seed = seed;
  if (max_file_bytes != 0) o.max_file_bytes = max_file_bytes;
  return o;
}

std::vector<Molecule> read_text(const std::string& text, const std::string& format,
                                const std::string& source, std::uint64_t seed) {
  std::string f;
  for (char c : format) f.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (f == "xyz" || f == "extxyz" || f == "qm9") return chem::read_xyz_text(text, source);
  if (f == "sdf" || f == "mol" || f == "sd") return chem::read_sdf_text(text, source);
  if (f == "smiles" || f == "smi") return chem::read_smiles_text(text, source, seed);
  if (f == "csv") return chem::read_smiles_csv_text(text, source, seed);
  throw InputError("read_text: unknown format '" + format + "' (xyz, sdf, smiles or csv)");
}

void bind_readers(py::module_& m) {
  m.def(
      "read_molecules",
      [](const std::vector<std::string>& paths, const std::string& format,
         const std::string& labels, std::uint64_t seed, std::uint64_t max_file_bytes) {
        const auto options = read_options(format, labels, seed, max_file_bytes);
        py::gil_scoped_release release;
        return cli::load_molecules(paths, options);
      },
      py::arg("paths"), py::arg("format") = "", py::arg("labels") = "",
      py::arg("seed") = chem::kDefaultEmbeddingSeed, py::arg("max_file_bytes") = 0,
      "Reads molecule files or directories (see encmol.read).");
  m.def(
      "read_text",
      [](const std::string& text, const std::string& format, const std::string& source,
         std::uint64_t seed) {
        py::gil_scoped_release release;
        return read_text(text, format, source, seed);
      },
      py::arg("text"), py::arg("format"), py::arg("source") = "<string>",
      py::arg("seed") = chem::kDefaultEmbeddingSeed,
      "Parses molecules from a string: format xyz, sdf, smiles or csv.");
  m.def(
      "from_smiles",
      [](const std::string& smiles, std::uint64_t seed, const std::string& name) {
        Molecule mol;
        {
          py::gil_scoped_release release;
          mol = chem::molecule_from_smiles(smiles, seed, "SMILES '" + smiles + "'");
        }
        mol.name = name.empty() ? smiles : name;
        mol.text_properties["smiles"] = smiles;
        return mol;
      },
      py::arg("smiles"), py::arg("seed") = chem::kDefaultEmbeddingSeed, py::arg("name") = "",
      "A 3-D molecule from SMILES (RDKit ETKDG + MMFF94, seeded), as the CLI reads .smi files.");
  m.def(
      "with_properties",
      [](std::vector<Molecule> molecules, const std::vector<std::string>& names,
         const Eigen::Ref<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic,
                                              Eigen::RowMajor>>& values) {
        if (static_cast<std::size_t>(values.rows()) != molecules.size() ||
            static_cast<std::size_t>(values.cols()) != names.size()) {
          throw InputError("with_properties: values are " + std::to_string(values.rows()) + " x " +
                           std::to_string(values.cols()) + ", expected " +
                           std::to_string(molecules.size()) + " molecules x " +
                           std::to_string(names.size()) + " names");
        }
        for (std::size_t i = 0; i < molecules.size(); ++i) {
          for (std::size_t t = 0; t < names.size(); ++t) {
            const double v = values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(t));
            if (!std::isfinite(v)) {
              throw InputError("label " + names[t] + " of molecule " + std::to_string(i) +
                               " is not finite");
            }
            molecules[i].properties[names[t]] = v;
          }
        }
        return molecules;
      },
      py::arg("molecules"), py::arg("names"), py::arg("values"),
      "Copies of the molecules with the given properties set (labels from an array).");
  m.def("format_xyz", &chem::format_xyz, py::arg("molecules"),
        "Extended XYZ text of the molecules.");
  m.def(
      "write_xyz",
      [](const std::filesystem::path& path, const std::vector<Molecule>& molecules) {
        py::gil_scoped_release release;
        chem::write_xyz(path, molecules);
      },
      py::arg("path"), py::arg("molecules"), "Writes extended XYZ atomically (gzip for .gz).");
  m.def(
      "xtb",
      [](const std::vector<Molecule>& molecules, double accuracy, int max_iterations,
         double electronic_temperature, int total_charge) {
        chem::XtbOptions o{accuracy, max_iterations, electronic_temperature, total_charge};
        chem::validate_xtb_options(o);
        std::vector<chem::XtbResult> results;
        {
          py::gil_scoped_release release;
          results = chem::xtb_single_points(molecules, o);
        }
        Eigen::VectorXd energy(static_cast<Eigen::Index>(results.size())), gap(energy.size()),
            dipole(energy.size());
        for (std::size_t i = 0; i < results.size(); ++i) {
          const auto k = static_cast<Eigen::Index>(i);
          energy(k) = results[i].energy_hartree;
          gap(k) = results[i].gap_hartree;
          dipole(k) = results[i].dipole_debye;
        }
        py::dict out;
        out["energy_hartree"] = energy;
        out["gap_hartree"] = gap;
        out["dipole_debye"] = dipole;
        return out;
      },
      py::arg("molecules"), py::arg("accuracy") = 1.0, py::arg("max_iterations") = 250,
      py::arg("electronic_temperature") = 300.0, py::arg("total_charge") = 0,
      "GFN2-xTB single points: dict of energy_hartree, gap_hartree, dipole_debye arrays.");
}

void bind_representation(py::module_& m) {
  using chem::RepresentationSpec;
  py::class_<RepresentationSpec>(
      m, "RepresentationSpec",
      "A representation fitted on training molecules (padding, bag sizes, "
      "element set); featurizes any molecule it can hold.")
      .def_static(
          "fit",
          [](const std::string& kind, const std::vector<Molecule>& molecules,
             const std::vector<Molecule>& also_hold) {
            const auto parsed = chem::parse_representation_kind(kind);
            py::gil_scoped_release release;
            return RepresentationSpec::fit(parsed, molecules, chem::capacity_for(also_hold));
          },
          py::arg("kind"), py::arg("molecules"), py::arg("also_hold") = std::vector<Molecule>{},
          "Fits a representation (cm, bob, cmbdf, fchl19, fchl19+cmbdf) on molecules, with room "
          "for also_hold.")
      .def_property_readonly(
          "kind",
          [](const RepresentationSpec& s) { return std::string(chem::to_string(s.kind())); })
      .def_property_readonly("dimension", &RepresentationSpec::dimension)
      .def_property_readonly("atom_dimension", &RepresentationSpec::atom_dimension)
      .def_property_readonly("is_atomic", &RepresentationSpec::is_atomic)
      .def_property_readonly("max_atoms", &RepresentationSpec::max_atoms)
      .def_property_readonly("elements", &RepresentationSpec::elements)
      .def_property_readonly("element_capacity", &RepresentationSpec::element_capacity)
      .def("describe", &RepresentationSpec::describe, "One line: kind, sizes, elements.")
      .def("__repr__",
           [](const RepresentationSpec& s) { return "RepresentationSpec(" + s.describe() + ")"; })
      .def(
          "featurize",
          [](const RepresentationSpec& s, const std::vector<Molecule>& molecules) {
            py::gil_scoped_release release;
            return s.featurize(molecules);
          },
          py::arg("molecules"), "Global vectors, one row per molecule (numpy, C order).")
      .def(
          "featurize_atoms",
          [](const RepresentationSpec& s, const std::vector<Molecule>& molecules) {
            if (!s.is_atomic()) {
              throw InputError("featurize_atoms: " + std::string(chem::to_string(s.kind())) +
                               " is a global representation (atomic: cmbdf, fchl19, fchl19+cmbdf)");
            }
            chem::AtomicFeatures f;
            {
              py::gil_scoped_release release;
              f = s.featurize_atoms(molecules);
            }
            return py::make_tuple(std::move(f.values), f.charges, f.offsets);
          },
          py::arg("molecules"),
          "Atomic kinds: (values atoms x d, charges, offsets); molecule i is rows "
          "offsets[i]:offsets[i+1].")
      .def("__eq__",
           [](const RepresentationSpec& a, const RepresentationSpec& b) { return a == b; })
      .def(py::pickle(
          [](const RepresentationSpec& s) {
            core::ByteWriter out;
            s.write(out);
            return to_bytes(out.data());
          },
          [](const py::bytes& state) {
            const auto bytes = from_bytes(state);
            core::ByteReader in(bytes, "pickled RepresentationSpec");
            auto spec = RepresentationSpec::read(in);
            in.expect_end();
            return spec;
          }));
}

}  // namespace

void bind_chem(py::module_& m) {
  bind_molecule(m);
  bind_readers(m);
  bind_representation(m);
}

}  // namespace encmol::python
