#include "encmol/core/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

using namespace encmol::core;

TEST(Parallel, CoversEveryIndexExactlyOnceForAnyThreadCount) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    set_thread_count(threads);
    for (std::size_t n : {0u, 1u, 7u, 1000u}) {
      std::vector<int> hits(n, 0);
      parallel_for(n, [&](std::size_t i) { ++hits[i]; });
      for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i], 1) << "n=" << n << " i=" << i;
    }
  }
  set_thread_count(0);
}

TEST(Parallel, NestedCallsRunAndExceptionsPropagate) {
  set_thread_count(4);
  std::atomic<int> total{0};
  parallel_for(4, [&](std::size_t) { parallel_for(10, [&](std::size_t) { ++total; }); });
  EXPECT_EQ(total.load(), 40);
  EXPECT_THROW(parallel_for(100,
                            [](std::size_t i) {
                              if (i == 57) throw std::runtime_error("boom");
                            }),
               std::runtime_error);
  // The pool still works after an exception.
  std::atomic<int> after{0};
  parallel_for(100, [&](std::size_t) { ++after; });
  EXPECT_EQ(after.load(), 100);
  set_thread_count(0);
}
