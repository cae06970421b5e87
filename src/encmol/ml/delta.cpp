#include "encmol/ml/delta.hpp"

#include <cctype>
#include <cmath>

#include "encmol/chem/units.hpp"
#include "encmol/core/error.hpp"

namespace encmol::ml {
namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Unit of the stored / computed xTB quantity.
const char* native_unit(DeltaSource s) { return s == DeltaSource::XtbDipole ? "debye" : "hartree"; }

const char* property_of(DeltaSource s) {
  switch (s) {
    case DeltaSource::XtbEnergy:
      return chem::kXtbEnergyProperty;
    case DeltaSource::XtbGap:
      return chem::kXtbGapProperty;
    case DeltaSource::XtbDipole:
      return chem::kXtbDipoleProperty;
    case DeltaSource::None:
      break;
  }
  return "";
}

double pick(const chem::XtbResult& r, DeltaSource s) {
  switch (s) {
    case DeltaSource::XtbEnergy:
      return r.energy_hartree;
    case DeltaSource::XtbGap:
      return r.gap_hartree;
    case DeltaSource::XtbDipole:
      return r.dipole_debye;
    case DeltaSource::None:
      break;
  }
  return 0.0;
}

}  // namespace

std::string_view to_string(DeltaSource source) {
  switch (source) {
    case DeltaSource::None:
      return "none";
    case DeltaSource::XtbEnergy:
      return "xtb-energy";
    case DeltaSource::XtbGap:
      return "xtb-gap";
    case DeltaSource::XtbDipole:
      return "xtb-dipole";
  }
  return "unknown";
}

DeltaSource parse_delta_source(std::string_view name) {
  const std::string n = lower(name);
  if (n == "none") return DeltaSource::None;
  if (n == "xtb" || n == "xtb-energy") return DeltaSource::XtbEnergy;
  if (n == "xtb-gap") return DeltaSource::XtbGap;
  if (n == "xtb-dipole") return DeltaSource::XtbDipole;
  throw InputError(
      "unknown Δ baseline '" + std::string(name) +
      "': use xtb (= xtb-energy, the GFN2-xTB total energy), xtb-gap, xtb-dipole or none");
}

bool DeltaBaseline::active() const {
  for (DeltaSource s : sources)
    if (s != DeltaSource::None) return true;
  return false;
}

DeltaBaseline DeltaBaseline::make(const std::vector<DeltaSource>& sources,
                                  const std::vector<std::string>& units, std::size_t targets) {
  DeltaBaseline d;
  if (sources.empty()) return d;
  if (sources.size() != 1 && sources.size() != targets) {
    throw InputError("give one Δ baseline for all targets or one per target (" +
                     std::to_string(targets) + " targets, " + std::to_string(sources.size()) +
                     " baselines)");
  }
  for (std::size_t t = 0; t < targets; ++t) {
    const DeltaSource s = sources.size() == 1 ? sources.front() : sources[t];
    double factor = 0.0;
    if (s != DeltaSource::None) {
      const std::string unit = t < units.size() ? units[t] : "";
      if (unit.empty()) {
        throw InputError("the Δ baseline " + std::string(to_string(s)) +
                         " needs the unit of target " + std::to_string(t + 1) +
                         " (--units, e.g. kcal/mol or hartree) to convert the xTB value");
      }
      factor = chem::conversion_factor(native_unit(s), unit);
    }
    d.sources.push_back(s);
    d.factors.push_back(factor);
  }
  return d;
}

Eigen::MatrixXd DeltaBaseline::evaluate(const std::vector<chem::Molecule>& molecules) const {
  const auto n = static_cast<Eigen::Index>(molecules.size());
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(sources.size()));
  if (!active()) return out;
  // Molecules lacking a stored value for some needed quantity get one xTB run.
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    for (DeltaSource s : sources) {
      if (s != DeltaSource::None && !molecules[i].properties.contains(property_of(s))) {
        missing.push_back(i);
        break;
      }
    }
  }
  std::vector<chem::XtbResult> computed;
  if (!missing.empty()) {
    std::vector<chem::Molecule> todo;
    todo.reserve(missing.size());
    for (std::size_t i : missing) todo.push_back(molecules[i]);
    computed = chem::xtb_single_points(todo, xtb);
  }
  std::size_t next = 0;
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    const bool run = next < missing.size() && missing[next] == i;
    for (std::size_t t = 0; t < sources.size(); ++t) {
      const DeltaSource s = sources[t];
      if (s == DeltaSource::None) continue;
      double value;
      if (run) {
        value = pick(computed[next], s);
      } else {
        value = molecules[i].properties.at(property_of(s));
        if (!std::isfinite(value)) {
          throw InputError("molecule '" + molecules[i].name + "': property " + property_of(s) +
                           " is not a finite number");
        }
      }
      out(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(t)) = factors[t] * value;
    }
    if (run) ++next;
  }
  return out;
}

void DeltaBaseline::validate(std::size_t targets) const {
  if (sources.empty() && factors.empty()) return;
  if (sources.size() != targets || factors.size() != targets) {
    throw ParameterError("invalid model: Δ baseline does not have one entry per target");
  }
  for (std::size_t t = 0; t < targets; ++t) {
    if (!std::isfinite(factors[t]) || (sources[t] != DeltaSource::None && factors[t] == 0.0)) {
      throw ParameterError("invalid model: Δ baseline factor of target " + std::to_string(t + 1) +
                           " is not usable");
    }
  }
  chem::validate_xtb_options(xtb);
}

nlohmann::json DeltaBaseline::describe_json() const {
  nlohmann::json j = nlohmann::json::array();
  for (std::size_t t = 0; t < sources.size(); ++t) {
    j.push_back({{"source", std::string(to_string(sources[t]))}, {"factor", factors[t]}});
  }
  return j;
}

void DeltaBaseline::write(core::ByteWriter& w) const {
  w.u8(active() ? 1 : 0);
  if (!active()) return;
  for (std::size_t t = 0; t < sources.size(); ++t) {
    w.u8(static_cast<std::uint8_t>(sources[t]));
    w.f64(factors[t]);
  }
  w.f64(xtb.accuracy);
  w.u32(static_cast<std::uint32_t>(xtb.max_iterations));
  w.f64(xtb.electronic_temperature);
  w.i64(xtb.total_charge);
}

DeltaBaseline DeltaBaseline::read(core::ByteReader& r, std::size_t targets) {
  DeltaBaseline d;
  const std::uint8_t flag = r.u8();
  if (flag > 1) r.fail("Δ baseline flag must be 0 or 1, got " + std::to_string(flag));
  if (flag == 0) return d;
  for (std::size_t t = 0; t < targets; ++t) {
    const std::uint8_t s = r.u8();
    if (s > 3) r.fail("unknown Δ baseline source " + std::to_string(s));
    d.sources.push_back(static_cast<DeltaSource>(s));
    d.factors.push_back(r.finite_f64("Δ baseline factor"));
  }
  d.xtb.accuracy = r.finite_f64("xTB accuracy");
  const std::uint32_t iterations = r.u32();
  if (iterations > 100000)
    r.fail("xTB iteration limit " + std::to_string(iterations) + " is out of range");
  d.xtb.max_iterations = static_cast<int>(iterations);
  d.xtb.electronic_temperature = r.finite_f64("xTB electronic temperature");
  const std::int64_t charge = r.i64();
  if (charge < -1000 || charge > 1000)
    r.fail("xTB total charge " + std::to_string(charge) + " is out of range");
  d.xtb.total_charge = static_cast<int>(charge);
  if (!d.active()) r.fail("Δ baseline flagged but every target has source none");
  try {
    d.validate(targets);
  } catch (const Error& e) {
    r.fail(e.what());
  }
  return d;
}

}  // namespace encmol::ml
