// GFN2-xTB single points through libxtb (Bannwarth, Ehlert, Grimme, JCTC 15,
// 1652, 2019): the cheap physics baseline of Δ-learning. Models learn
// target − xTB; the client computes xTB on its own molecule and adds it back.
//
// What is computed, and how:
//  - Coordinates: Å → bohr with CODATA 2018 (0.529177210903 Å/bohr). (The xtb
//    program itself uses 0.52917726; the energies differ by < 1e-8 Eh.)
//  - Charge and spin: encmol's Molecule carries no total charge, so every
//    molecule gets XtbOptions::total_charge (default 0, neutral). xTB treats
//    valence electrons only: N = Σ valence electrons − charge. Unpaired
//    electrons: 0 when N is even, 1 when N is odd (a doublet), as the xtb
//    program does by default.
//  - Parameters: the GFN2 parameters built into libxtb, unless a file
//    param_gfn2-xtb.txt exists in the working directory or under $XTBPATH
//    (libxtb's own lookup; the Debian file gives identical results).
//  - Gap: orbitals in libxtb's (ascending energy) order are filled by the
//    aufbau rule; HOMO = orbital ⌈N/2⌉ (the singly occupied one for odd N),
//    LUMO = the next. Fermi smearing at the electronic temperature makes
//    occupations fractional near degeneracies, so "occupation > 0.5" would
//    move the HOMO there; the aufbau index does not, and equals the
//    "HOMO-LUMO GAP" the xtb program prints. N is the sum of libxtb's
//    occupations (checked to be a whole number).
//  - Dipole: |μ| of libxtb's dipole vector (e·bohr), in debye
//    (1 e·bohr = 2.541746473 D).
//  - Output: libxtb prints nothing (verbosity muted) and writes no files.
//  - Threads: libxtb parallelizes with OpenMP and its BLAS (OpenBLAS, pthread
//    build on Debian). For molecules this small both cost far more than they
//    save, and OpenBLAS threads spin against each other when several
//    molecules run at once. While xTB runs, the calling thread uses one
//    OpenMP thread and OpenBLAS is set to one thread (restored when the last
//    concurrent xTB call ends). Separate calls are independent, so different
//    threads may run xtb_single_point concurrently (tested: results are
//    bit-identical to serial runs).
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "encmol/chem/molecule.hpp"

namespace encmol::chem {

/// Property names of precomputed xTB values in data files (see `encmol xtb`
/// and data/README.md): energy and gap in hartree, |dipole| in debye.
inline constexpr const char* kXtbEnergyProperty = "xtb_energy";
inline constexpr const char* kXtbGapProperty = "xtb_gap";
inline constexpr const char* kXtbDipoleProperty = "xtb_dipole";

/// Highest nuclear charge GFN2-xTB has parameters for (radon).
inline constexpr int kMaxXtbAtomicNumber = 86;

struct XtbOptions {
  double accuracy = 1.0;                  // libxtb accuracy (0.0001 .. 1000; smaller is tighter)
  int max_iterations = 250;               // SCC iterations before giving up
  double electronic_temperature = 300.0;  // K, Fermi smearing
  int total_charge = 0;                   // e, applied to every molecule
};

struct XtbResult {
  double energy_hartree = 0.0;  // total GFN2-xTB energy
  double gap_hartree = 0.0;     // LUMO − HOMO (see the top of this file)
  double dipole_debye = 0.0;    // |dipole moment|
};

/// Checks options: accuracy in [1e-4, 1000], max_iterations >= 1,
/// electronic_temperature finite and >= 0. Throws ParameterError.
void validate_xtb_options(const XtbOptions& options);

/// GFN2-xTB single point of one molecule. Throws InputError naming the
/// molecule for a molecule xtb cannot take (an element beyond Z = 86, a
/// charge that leaves no electrons, atoms closer than
/// kMinInteratomicDistance), when libxtb reports an error (its message
/// included) or when the SCC does not converge within options.max_iterations.
XtbResult xtb_single_point(const Molecule& molecule, const XtbOptions& options = {});

/// Called after each finished molecule with (done, total); from worker threads,
/// one call at a time.
using XtbProgress = std::function<void(std::size_t done, std::size_t total)>;

/// xtb_single_point for every molecule, in parallel on core::thread_count()
/// threads (one molecule at a time per thread, taken in order). results[i]
/// belongs to molecules[i] and does not depend on the thread count. Every
/// molecule is checked before any is computed; the first failure is thrown.
std::vector<XtbResult> xtb_single_points(const std::vector<Molecule>& molecules,
                                         const XtbOptions& options = {},
                                         const XtbProgress& progress = {});

}  // namespace encmol::chem
