// A molecule: nuclear charges and Cartesian coordinates (Å), a name, and
// optional scalar properties (labels) read from the input file.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace encmol::chem {

using Vec3 = std::array<double, 3>;

struct Molecule {
  std::string name;                          // file name, record title or id
  std::vector<int> charges;                  // nuclear charges Z (1 = H, 6 = C, ...)
  std::vector<Vec3> positions;               // Å, same order as charges
  std::map<std::string, double> properties;  // labels, e.g. {"ae_pbe0", -417.03}
  // Non-numeric key=value data from the input (e.g. {"smiles", "CCO"}); kept
  // so a writer can carry it along, never used as a label. The initializer
  // keeps aggregate initialization with four members warning-free.
  std::map<std::string, std::string> text_properties = {};

  std::size_t size() const { return charges.size(); }
};

/// Smallest allowed distance between two atoms (Å); closer pairs are rejected
/// as coincident.
inline constexpr double kMinInteratomicDistance = 0.1;

/// Checks a molecule: at least one atom, charges and positions of equal
/// length, every Z a known element (1..118), every coordinate finite, no two
/// atoms closer than kMinInteratomicDistance. Throws InputError starting with
/// `context` (e.g. "qm7.xyz line 12") otherwise.
void validate_molecule(const Molecule& molecule, const std::string& context);

/// Largest molecule the readers accept (atoms). A cap keeps hostile files from
/// making the readers allocate without bound.
inline constexpr std::size_t kMaxAtomsPerMolecule = 10000;

/// Molecular formula in Hill order: C first, then H, then the other elements
/// alphabetically (all alphabetical when there is no carbon), e.g. "C2H6O".
std::string molecular_formula(const Molecule& molecule);

}  // namespace encmol::chem
