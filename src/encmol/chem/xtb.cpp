#include "encmol/chem/xtb.hpp"

#include <dlfcn.h>
#include <omp.h>
#include <xtb.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

#include "encmol/chem/elements.hpp"
#include "encmol/chem/units.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::chem {
namespace {

// ---- RAII ownership of the four libxtb handle types ------------------------

template <typename T, void (*Delete)(T*)>
class XtbHandle {
 public:
  explicit XtbHandle(T handle) : handle_(handle) {}
  ~XtbHandle() {
    if (handle_ != nullptr) Delete(&handle_);
  }
  XtbHandle(const XtbHandle&) = delete;
  XtbHandle& operator=(const XtbHandle&) = delete;
  T get() const { return handle_; }

 private:
  T handle_;
};

using Environment = XtbHandle<xtb_TEnvironment, xtb_delEnvironment>;
using XtbMolecule = XtbHandle<xtb_TMolecule, xtb_delMolecule>;
using Calculator = XtbHandle<xtb_TCalculator, xtb_delCalculator>;
using Results = XtbHandle<xtb_TResults, xtb_delResults>;

// ---- thread settings -------------------------------------------------------

// One OpenMP thread for the calling thread while in scope. The OpenMP thread
// count is a per-thread setting, so this does not touch other threads.
class SingleOmpThread {
 public:
  SingleOmpThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleOmpThread() { omp_set_num_threads(saved_); }
  SingleOmpThread(const SingleOmpThread&) = delete;
  SingleOmpThread& operator=(const SingleOmpThread&) = delete;

 private:
  int saved_;
};

// OpenBLAS's thread count is process-wide. Looked up at run time, because
// libxtb brings its own BLAS dependency; with another BLAS this does nothing.
struct OpenBlasControls {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
};

const OpenBlasControls& openblas_controls() {
  static const OpenBlasControls controls = [] {
    OpenBlasControls c;
    c.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    c.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (c.get == nullptr || c.set == nullptr) c = {};
    return c;
  }();
  return controls;
}

std::mutex g_blas_mutex;
int g_blas_users = 0;  // xTB calls in flight that need single-threaded BLAS
int g_blas_saved = 0;  // OpenBLAS thread count before the first of them

// Single-threaded OpenBLAS while at least one of these exists: the first
// saves the thread count, the last restores it, so concurrent callers nest.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    const OpenBlasControls& c = openblas_controls();
    if (c.set == nullptr) return;
    std::lock_guard lock(g_blas_mutex);
    if (g_blas_users++ == 0) {
      g_blas_saved = c.get();
      c.set(1);
    }
  }
  ~SingleThreadedBlas() {
    const OpenBlasControls& c = openblas_controls();
    if (c.set == nullptr) return;
    std::lock_guard lock(g_blas_mutex);
    if (--g_blas_users == 0) c.set(std::max(1, g_blas_saved));
  }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

// libxtb allocates a global environment on its first call without a lock;
// doing that once here keeps concurrent first calls from racing on it.
void initialize_libxtb() {
  static std::once_flag once;
  std::call_once(once, [] { Environment env(xtb_newEnvironment()); });
}

// ---- checks ----------------------------------------------------------------

constexpr std::size_t kNoIndex = std::numeric_limits<std::size_t>::max();

// "xTB: molecule 3 (molecule 'name')", the form validate_molecule uses.
std::string context_of(std::size_t index) {
  return index == kNoIndex ? std::string("xTB") : "xTB: molecule " + std::to_string(index + 1);
}
std::string describe(const Molecule& molecule, std::size_t index) {
  const std::string context = context_of(index);
  return molecule.name.empty() ? context : context + " (molecule '" + molecule.name + "')";
}

// Throws when the molecule is unfit for xtb. The electron count is checked
// loosely here (all electrons, ΣZ − charge >= 1); xtb counts valence electrons
// only, which is checked after the single point.
void check_molecule(const Molecule& molecule, const XtbOptions& options, std::size_t index) {
  validate_molecule(molecule, context_of(index));
  const std::string where = describe(molecule, index);
  long electrons = 0;
  for (std::size_t i = 0; i < molecule.size(); ++i) {
    const int z = molecule.charges[i];
    if (z > kMaxXtbAtomicNumber) {
      throw InputError(where + ": atom " + std::to_string(i + 1) + " is " +
                       std::string(element_symbol(z)) + " (Z = " + std::to_string(z) +
                       "); GFN2-xTB has parameters for Z = 1 to " +
                       std::to_string(kMaxXtbAtomicNumber) + " only");
    }
    electrons += z;
  }
  electrons -= options.total_charge;
  if (electrons < 1) {
    throw InputError(where + ": total charge " + std::to_string(options.total_charge) + " leaves " +
                     std::to_string(electrons) + " electrons; xTB needs at least one");
  }
}

// libxtb's error log (emptied by reading it), or "" when it holds no error.
std::string take_xtb_error(const Environment& env) {
  if (xtb_checkEnvironment(env.get()) == 0) return "";
  char buffer[2048] = {};
  const int size = static_cast<int>(sizeof(buffer));
  xtb_getError(env.get(), buffer, &size);
  std::string message(buffer);
  // libxtb separates log entries with newlines and pads with blanks.
  std::replace(message.begin(), message.end(), '\n', ' ');
  while (!message.empty() && (message.back() == ' ' || message.back() == '\0')) message.pop_back();
  return message.empty() ? "libxtb reported an error without a message" : message;
}

void throw_if_failed(const Environment& env, const std::string& where, const char* stage,
                     const XtbOptions& options) {
  const std::string error = take_xtb_error(env);
  if (error.empty()) return;
  std::string hint;
  if (error.find("did not converge") != std::string::npos) {
    hint = " (the SCC did not converge within " + std::to_string(options.max_iterations) +
           " iterations; check the geometry and the total charge, or allow more iterations)";
  }
  throw InputError(where + ": GFN2-xTB " + stage + " failed: " + error + hint);
}

XtbResult run_single_point(const Molecule& molecule, const XtbOptions& options, std::size_t index) {
  check_molecule(molecule, options, index);
  const std::string where = describe(molecule, index);
  initialize_libxtb();
  SingleOmpThread omp_guard;
  SingleThreadedBlas blas_guard;

  const int natoms = static_cast<int>(molecule.size());
  std::vector<double> bohr(3 * molecule.size());
  for (std::size_t i = 0; i < molecule.size(); ++i) {
    for (int k = 0; k < 3; ++k) bohr[3 * i + k] = molecule.positions[i][k] / kAngstromPerBohr;
  }
  const double charge = options.total_charge;
  // No spin given: libxtb then leaves one electron unpaired when its (valence)
  // electron count is odd and none when it is even, as the xtb program does.
  const int unpaired = 0;

  Environment env(xtb_newEnvironment());
  if (env.get() == nullptr) throw InputError(where + ": libxtb could not create an environment");
  xtb_setVerbosity(env.get(), XTB_VERBOSITY_MUTED);

  XtbMolecule mol(xtb_newMolecule(env.get(), &natoms, molecule.charges.data(), bohr.data(), &charge,
                                  &unpaired, nullptr, nullptr));
  throw_if_failed(env, where, "setup", options);
  if (mol.get() == nullptr) throw InputError(where + ": libxtb rejected the molecule");

  Calculator calc(xtb_newCalculator());
  xtb_loadGFN2xTB(env.get(), mol.get(), calc.get(), nullptr);
  throw_if_failed(env, where, "parameter loading", options);
  xtb_setAccuracy(env.get(), calc.get(), options.accuracy);
  xtb_setMaxIter(env.get(), calc.get(), options.max_iterations);
  xtb_setElectronicTemp(env.get(), calc.get(), options.electronic_temperature);
  throw_if_failed(env, where, "setup", options);

  Results res(xtb_newResults());
  xtb_singlepoint(env.get(), mol.get(), calc.get(), res.get());
  throw_if_failed(env, where, "single point", options);

  XtbResult out;
  xtb_getEnergy(env.get(), res.get(), &out.energy_hartree);
  double dipole[3] = {};
  xtb_getDipole(env.get(), res.get(), dipole);
  int nao = 0;
  xtb_getNao(env.get(), res.get(), &nao);
  throw_if_failed(env, where, "reading results", options);
  out.dipole_debye =
      std::sqrt(dipole[0] * dipole[0] + dipole[1] * dipole[1] + dipole[2] * dipole[2]) *
      conversion_factor("e*bohr", "debye");

  std::vector<double> energies(static_cast<std::size_t>(std::max(nao, 0)));
  std::vector<double> occupations(energies.size());
  if (nao > 0) {
    xtb_getOrbitalEigenvalues(env.get(), res.get(), energies.data());
    xtb_getOrbitalOccupations(env.get(), res.get(), occupations.data());
    throw_if_failed(env, where, "reading orbitals", options);
  }
  // Fermi smearing conserves the electron count: the occupations sum to the
  // integer number N of valence electrons libxtb placed.
  double occupied = 0.0;
  for (double f : occupations) occupied += f;
  const long electrons = std::lround(occupied);
  if (std::abs(occupied - static_cast<double>(electrons)) > 1e-6) {
    throw InputError(where + ": libxtb's orbital occupations sum to " + std::to_string(occupied) +
                     ", not to a whole number of electrons");
  }
  // HOMO = orbital ceil(N/2) (1-based) in libxtb's order; see the header.
  const long homo = (electrons + 1) / 2 - 1;
  if (homo < 0 || homo + 1 >= nao) {
    throw InputError(where + ": no HOMO-LUMO gap: " + std::to_string(electrons) +
                     " valence electrons in " + std::to_string(nao) +
                     " orbitals (check the total charge " + std::to_string(options.total_charge) +
                     ")");
  }
  out.gap_hartree =
      energies[static_cast<std::size_t>(homo + 1)] - energies[static_cast<std::size_t>(homo)];

  if (!std::isfinite(out.energy_hartree) || !std::isfinite(out.gap_hartree) ||
      !std::isfinite(out.dipole_debye)) {
    throw InputError(where + ": GFN2-xTB gave a non-finite result");
  }
  return out;
}

}  // namespace

void validate_xtb_options(const XtbOptions& options) {
  if (!(options.accuracy >= 1e-4 && options.accuracy <= 1000.0)) {
    throw ParameterError("xTB accuracy " + std::to_string(options.accuracy) +
                         " is outside libxtb's range 0.0001 to 1000");
  }
  if (options.max_iterations < 1) {
    throw ParameterError("xTB max_iterations must be at least 1, got " +
                         std::to_string(options.max_iterations));
  }
  if (!std::isfinite(options.electronic_temperature) || options.electronic_temperature < 0.0) {
    throw ParameterError("xTB electronic temperature must be a finite number of kelvin >= 0, got " +
                         std::to_string(options.electronic_temperature));
  }
}

XtbResult xtb_single_point(const Molecule& molecule, const XtbOptions& options) {
  validate_xtb_options(options);
  return run_single_point(molecule, options, kNoIndex);
}

std::vector<XtbResult> xtb_single_points(const std::vector<Molecule>& molecules,
                                         const XtbOptions& options, const XtbProgress& progress) {
  validate_xtb_options(options);
  const std::size_t n = molecules.size();
  for (std::size_t i = 0; i < n; ++i) check_molecule(molecules[i], options, i);
  std::vector<XtbResult> results(n);
  if (n == 0) return results;

  initialize_libxtb();
  SingleThreadedBlas blas_guard;  // once for the batch rather than per molecule
  // Workers take molecules in index order. After a failure no new molecule is
  // started; every lower index has been started already and finishes, so the
  // error thrown is that of the lowest failing index whatever the timing.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;  // guards errors and progress
  std::size_t done = 0;
  std::size_t first_error_index = n;
  std::exception_ptr first_error;
  const std::size_t workers = std::min<std::size_t>(core::thread_count(), n);
  core::parallel_for(workers, [&](std::size_t) {
    while (!failed.load()) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        results[i] = run_single_point(molecules[i], options, i);
        if (progress) {
          std::lock_guard lock(mutex);
          progress(++done, n);
        }
      } catch (...) {
        std::lock_guard lock(mutex);
        failed = true;
        if (i < first_error_index) {
          first_error_index = i;
          first_error = std::current_exception();
        }
      }
    }
  });
  if (first_error) std::rethrow_exception(first_error);
  return results;
}

}  // namespace encmol::chem
