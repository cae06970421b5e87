// Δ-learning on a physics baseline the client computes itself.
//
// In double-blind prediction the client holds its molecule in the clear, so
// it can run a cheap public method on it (GFN2-xTB, chem/xtb.hpp) and the
// model only learns target - factor * baseline; the client adds its baseline
// back after decrypting, and the server never sees it. Per target the model
// records which xTB quantity (total energy, HOMO-LUMO gap, |dipole|) serves
// as the baseline and the factor converting it into the target's unit.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/xtb.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::ml {

enum class DeltaSource : std::uint8_t { None = 0, XtbEnergy = 1, XtbGap = 2, XtbDipole = 3 };

/// "none", "xtb-energy", "xtb-gap", "xtb-dipole".
std::string_view to_string(DeltaSource source);
/// Accepts those names and "xtb" (= xtb-energy), any case; InputError otherwise.
DeltaSource parse_delta_source(std::string_view name);

struct DeltaBaseline {
  std::vector<DeltaSource> sources;  // one per target; empty = no Δ
  std::vector<double> factors;       // one per target: xTB unit -> target unit
  chem::XtbOptions xtb;              // settings the baseline was computed with

  bool active() const;
  /// Builds the baseline for `targets` with `units` (the unit strings of the
  /// model). `sources` has one entry per target, or one for all. Throws
  /// InputError when a target with a source has no or an incompatible unit.
  static DeltaBaseline make(const std::vector<DeltaSource>& sources,
                            const std::vector<std::string>& units, std::size_t targets);

  /// molecules x targets: factor * xTB quantity (0 for targets without a
  /// source). A molecule carrying the quantity as a property (xtb_energy in
  /// hartree, xtb_gap in hartree, xtb_dipole in debye, as the bundled data do
  /// and `encmol xtb` writes) uses it; the others are computed with libxtb,
  /// in parallel.
  Eigen::MatrixXd evaluate(const std::vector<chem::Molecule>& molecules) const;

  /// Throws ParameterError unless sizes match `targets` and factors are finite.
  void validate(std::size_t targets) const;
  nlohmann::json describe_json() const;
  void write(core::ByteWriter& out) const;
  static DeltaBaseline read(core::ByteReader& in, std::size_t targets);
};

}  // namespace encmol::ml
