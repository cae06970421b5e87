#include "encmol/service/admission.hpp"

#include <algorithm>

#include "encmol/core/error.hpp"

namespace encmol::service {

Admission::Admission(unsigned workers, unsigned queue) : workers_(workers), queue_(queue) {
  if (workers == 0) throw ParameterError("the service needs at least one evaluation worker");
}

Admission::Entry Admission::acquire(const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  // Nobody overtakes a queued caller: a free slot goes to the queue first.
  if (running_ < workers_ && waiting_ == 0) {
    ++running_;
    return Entry::admitted;
  }
  if (waiting_ >= queue_) return Entry::overloaded;
  ++waiting_;
  for (;;) {
    // Poll so a caller whose deadline passes leaves the queue without a wake-up.
    freed_.wait_for(lock, std::chrono::milliseconds(50));
    if (running_ < workers_) {
      --waiting_;
      ++running_;
      return Entry::admitted;
    }
    lock.unlock();
    const bool gone = cancelled && cancelled();
    lock.lock();
    if (gone) {
      --waiting_;
      return Entry::cancelled;
    }
  }
}

void Admission::release() {
  {
    std::lock_guard lock(mutex_);
    if (running_ > 0) --running_;
  }
  freed_.notify_one();
}

unsigned Admission::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

unsigned Admission::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

std::chrono::milliseconds Admission::retry_hint() const {
  std::lock_guard lock(mutex_);
  const double ahead = 1.0 + static_cast<double>(waiting_) / static_cast<double>(workers_);
  return std::chrono::milliseconds(
      static_cast<long long>(std::clamp(ahead * mean_seconds_ * 1000.0, 100.0, 600000.0)));
}

void Admission::record_evaluation(double seconds) {
  std::lock_guard lock(mutex_);
  mean_seconds_ = 0.8 * mean_seconds_ + 0.2 * std::max(0.0, seconds);
}

}  // namespace encmol::service
