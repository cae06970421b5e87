// Admission control of `encmol serve`: at most `workers` evaluations run at
// once and at most `queue` more wait for one. A caller beyond that is refused
// at once (the server answers RESOURCE_EXHAUSTED with a retry hint), so memory
// stays bounded under any load; a waiting caller gives up when its deadline
// passes or it cancels. Waiting callers are admitted in arrival order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>

namespace encmol::service {

class Admission {
 public:
  enum class Entry { admitted, overloaded, cancelled };

  /// ParameterError unless workers >= 1.
  Admission(unsigned workers, unsigned queue);

  /// Waits for a worker slot. `cancelled` is polled while waiting (the
  /// caller's deadline or cancellation). Every `admitted` must be followed by
  /// one release().
  Entry acquire(const std::function<bool()>& cancelled);
  void release();

  unsigned running() const;
  unsigned waiting() const;
  unsigned workers() const { return workers_; }
  /// A retry hint for refused callers: about one evaluation's time per
  /// position in the queue ahead, from the mean of the last evaluations.
  std::chrono::milliseconds retry_hint() const;
  void record_evaluation(double seconds);

 private:
  const unsigned workers_;
  const unsigned queue_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  unsigned running_ = 0;
  std::list<int> line_;  // one place per waiting caller, in arrival order
  double mean_seconds_ = 1.0;
};

/// RAII release of an admitted slot.
class AdmissionSlot {
 public:
  explicit AdmissionSlot(Admission& admission) : admission_(admission) {}
  ~AdmissionSlot() { admission_.release(); }
  AdmissionSlot(const AdmissionSlot&) = delete;
  AdmissionSlot& operator=(const AdmissionSlot&) = delete;

 private:
  Admission& admission_;
};

}  // namespace encmol::service
