// Prometheus metrics of `encmol serve` (docs/service.md), served as text on
// their own port by prometheus-cpp's exposer, apart from the gRPC port.
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Exposer;
class Registry;
class Family_Counter;
}  // namespace prometheus

namespace encmol::service {

/// Outcome labels of encmol_requests_total.
enum class Outcome { ok, invalid, unauthenticated, denied, budget, overloaded, error };
const char* outcome_name(Outcome outcome);

class Metrics {
 public:
  /// Without an address nothing is served (the counters still count, for
  /// tests). `listen` is "HOST:PORT".
  explicit Metrics(const std::string& listen = {});
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void request(const std::string& method, Outcome outcome, double seconds);
  void queue_depth(double depth);
  void key_cache(bool hit);
  void molecules(const std::string& model, double count);
  /// The text a scrape returns (tests).
  std::string scrape() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace encmol::service
