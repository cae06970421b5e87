// Admission control: workers, a bounded queue, refusals and cancellation.
#include "encmol/service/admission.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "encmol/core/error.hpp"

using encmol::service::Admission;

TEST(Admission, RefusesBeyondWorkersPlusQueueAndAdmitsWhenFreed) {
  Admission a(2, 1);
  EXPECT_EQ(a.acquire({}), Admission::Entry::admitted);
  EXPECT_EQ(a.acquire({}), Admission::Entry::admitted);
  EXPECT_EQ(a.running(), 2u);
  auto waiter = std::async(std::launch::async, [&] { return a.acquire([] { return false; }); });
  while (a.waiting() == 0) std::this_thread::yield();
  EXPECT_EQ(a.acquire({}), Admission::Entry::overloaded);  // queue of one is full
  a.release();
  EXPECT_EQ(waiter.get(), Admission::Entry::admitted);
  EXPECT_EQ(a.running(), 2u);
  EXPECT_EQ(a.waiting(), 0u);
  EXPECT_GE(a.retry_hint().count(), 100);
}

TEST(Admission, AWaiterWhoseDeadlinePassesLeavesTheQueue) {
  Admission a(1, 4);
  ASSERT_EQ(a.acquire({}), Admission::Entry::admitted);
  std::atomic<bool> gone{false};
  auto waiter =
      std::async(std::launch::async, [&] { return a.acquire([&] { return gone.load(); }); });
  while (a.waiting() == 0) std::this_thread::yield();
  gone = true;
  EXPECT_EQ(waiter.get(), Admission::Entry::cancelled);
  EXPECT_EQ(a.waiting(), 0u);
  EXPECT_EQ(a.running(), 1u);
}

TEST(Admission, NeedsAWorker) { EXPECT_THROW(Admission(0, 1), encmol::ParameterError); }
