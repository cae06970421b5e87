#include "encmol/core/parallel.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace encmol::core {
namespace {

thread_local bool t_inside_worker = false;

class Pool {
 public:
  explicit Pool(unsigned threads) {
    for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  // Runs task(k) for k in [0, tasks); the caller takes part.
  void run(std::size_t tasks, const std::function<void(std::size_t)>& task) {
    std::unique_lock lock(mutex_);
    job_ = &task;
    job_tasks_ = tasks;
    next_task_ = 0;
    pending_ = tasks;
    error_ = nullptr;
    ++generation_;
    lock.unlock();
    wake_.notify_all();
    t_inside_worker = true;
    drain();
    t_inside_worker = false;
    lock.lock();
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void drain() {
    for (;;) {
      std::size_t k;
      const std::function<void(std::size_t)>* job;
      {
        std::lock_guard lock(mutex_);
        if (job_ == nullptr || next_task_ >= job_tasks_) return;
        k = next_task_++;
        job = job_;
      }
      try {
        (*job)(k);
      } catch (...) {
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) done_.notify_all();
    }
  }

  void worker_loop() {
    t_inside_worker = true;
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      drain();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t job_tasks_ = 0;
  std::size_t next_task_ = 0;
  std::size_t pending_ = 0;
  std::uint64_t generation_ = 0;
  std::exception_ptr error_;
  bool stopping_ = false;
};

unsigned hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

std::mutex g_pool_mutex;  // serialises top-level parallel regions and resizing
std::unique_ptr<Pool> g_pool;
unsigned g_threads = 0;  // 0 = not yet chosen

unsigned resolved_threads() { return g_threads == 0 ? hardware_threads() : g_threads; }

}  // namespace

void set_thread_count(unsigned threads) {
  std::lock_guard lock(g_pool_mutex);
  const unsigned wanted = threads == 0 ? hardware_threads() : threads;
  if (g_pool && g_pool->size() != wanted) g_pool.reset();
  g_threads = wanted;
}

unsigned thread_count() {
  std::lock_guard lock(g_pool_mutex);
  return resolved_threads();
}

void parallel_for_ranges(std::size_t n, const std::function<void(std::size_t, std::size_t)>& body,
                         std::size_t min_chunk) {
  if (n == 0) return;
  min_chunk = std::max<std::size_t>(1, min_chunk);
  if (t_inside_worker) {
    body(0, n);
    return;
  }
  std::unique_lock lock(g_pool_mutex);
  const unsigned threads = resolved_threads();
  const std::size_t chunks = std::min<std::size_t>(threads, (n + min_chunk - 1) / min_chunk);
  if (chunks <= 1) {
    lock.unlock();
    body(0, n);
    return;
  }
  if (!g_pool) g_pool = std::make_unique<Pool>(threads);
  const std::size_t base = n / chunks;
  const std::size_t extra = n % chunks;
  g_pool->run(chunks, [&](std::size_t k) {
    const std::size_t begin = k * base + std::min(k, extra);
    const std::size_t end = begin + base + (k < extra ? 1 : 0);
    body(begin, end);
  });
}

void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body,
                  std::size_t min_chunk) {
  parallel_for_ranges(
      n,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) body(i);
      },
      min_chunk);
}

}  // namespace encmol::core
