#include "encmol/service/admission.hpp"

#include <algorithm>

#include "encmol/core/error.hpp"

namespace encmol::service {

Admission::Admission(unsigned workers, unsigned queue) : workers_(workers), queue_(queue) {
  if (workers == 0) throw ParameterError("the service needs at least one evaluation worker");
}

Admission::Entry Admission::acquire(const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  if (running_ < workers_ && line_.empty()) {
    ++running_;
    return Entry::admitted;
  }
  if (line_.size() >= queue_) return Entry::overloaded;
  // First come, first served: only the caller at the front of the line takes
  // a free slot, so nobody waits behind later arrivals.
  const auto place = line_.insert(line_.end(), 0);
  for (;;) {
    if (line_.begin() == place && running_ < workers_) {
      line_.erase(place);
      ++running_;
      freed_.notify_all();  // the next in line may take another free slot
      return Entry::admitted;
    }
    // Poll so a caller whose deadline passes leaves the line without a wake-up.
    freed_.wait_for(lock, std::chrono::milliseconds(50));
    lock.unlock();
    const bool gone = cancelled && cancelled();
    lock.lock();
    if (gone) {
      line_.erase(place);
      freed_.notify_all();  // a new front may take a free slot
      return Entry::cancelled;
    }
  }
}

void Admission::release() {
  {
    std::lock_guard lock(mutex_);
    if (running_ > 0) --running_;
  }
  freed_.notify_all();  // only the front of the line acts on it
}

unsigned Admission::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

unsigned Admission::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<unsigned>(line_.size());
}

std::chrono::milliseconds Admission::retry_hint() const {
  std::lock_guard lock(mutex_);
  const double ahead = 1.0 + static_cast<double>(line_.size()) / static_cast<double>(workers_);
  return std::chrono::milliseconds(
      static_cast<long long>(std::clamp(ahead * mean_seconds_ * 1000.0, 100.0, 600000.0)));
}

void Admission::record_evaluation(double seconds) {
  std::lock_guard lock(mutex_);
  mean_seconds_ = 0.8 * mean_seconds_ + 0.2 * std::max(0.0, seconds);
}

}  // namespace encmol::service
