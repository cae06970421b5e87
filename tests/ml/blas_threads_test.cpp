// ENCMOL_BLAS_THREADS caps BLAS's threads. The cap is read once per process,
// so tests/ml/CMakeLists.txt runs this case again in processes with the
// variable set to 1 and to a value that is not a count.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "encmol/core/parallel.hpp"
#include "encmol/ml/linalg.hpp"

extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads() __attribute__((weak));
}

namespace encmol::ml {
namespace {

TEST(BlasThreadCap, FollowsTheEnvironment) {
  if (openblas_set_num_threads == nullptr || openblas_get_num_threads == nullptr) {
    GTEST_SKIP() << "BLAS is not OpenBLAS";
  }
  const char* env = std::getenv("ENCMOL_BLAS_THREADS");
  const std::string value = env == nullptr ? "" : env;
  const unsigned saved = core::thread_count();
  // What OpenBLAS grants for two threads on this machine, asked directly.
  openblas_set_num_threads(2);
  const int uncapped = openblas_get_num_threads();
  openblas_set_num_threads(1);

  core::set_thread_count(2);
  sync_blas_threads();
  const int synced = openblas_get_num_threads();
  core::set_thread_count(saved);
  sync_blas_threads();

  if (value == "1") {
    EXPECT_EQ(blas_thread_cap(), 1U);
    EXPECT_EQ(synced, 1);
  } else if (value.empty() || value == "two") {
    EXPECT_EQ(blas_thread_cap(), 0U);
    EXPECT_EQ(synced, uncapped);
  } else {
    GTEST_SKIP() << "ENCMOL_BLAS_THREADS=" << value << " is not one of the values this test knows";
  }
}

}  // namespace
}  // namespace encmol::ml
