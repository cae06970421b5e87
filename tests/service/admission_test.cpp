// Admission control: workers, a bounded queue, refusals and cancellation.
#include "encmol/service/admission.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

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

// First come, first served: waiters get the freed slots in arrival order,
// also when one in the middle gives up.
TEST(Admission, WaitersAreAdmittedInArrivalOrder) {
  constexpr int kWaiters = 8;
  Admission a(1, kWaiters);
  ASSERT_EQ(a.acquire({}), Admission::Entry::admitted);
  std::mutex mutex;
  std::vector<int> order;
  std::atomic<bool> third_gone{false};
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      const auto entry = a.acquire([&] { return i == 2 && third_gone.load(); });
      if (entry != Admission::Entry::admitted) return;
      {
        std::lock_guard lock(mutex);
        order.push_back(i);
      }
      // Hold the slot past a poll interval, so the others' polls fire while it is busy.
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      a.release();
    });
    while (a.waiting() != static_cast<unsigned>(i + 1)) std::this_thread::yield();
  }
  third_gone = true;
  while (a.waiting() != kWaiters - 1) std::this_thread::yield();
  a.release();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3, 4, 5, 6, 7}));
  EXPECT_EQ(a.running(), 0u);
  EXPECT_EQ(a.waiting(), 0u);
}
