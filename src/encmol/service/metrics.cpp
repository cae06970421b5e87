#include "encmol/service/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "encmol/core/error.hpp"

namespace encmol::service {

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::invalid:
      return "invalid";
    case Outcome::unauthenticated:
      return "unauthenticated";
    case Outcome::denied:
      return "denied";
    case Outcome::budget:
      return "budget_exhausted";
    case Outcome::overloaded:
      return "overloaded";
    case Outcome::error:
      return "error";
  }
  return "error";
}

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests = prometheus::BuildCounter()
                                                          .Name("encmol_requests_total")
                                                          .Help("Calls by method and outcome")
                                                          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("encmol_request_seconds")
          .Help("Call latency by method, queueing included")
          .Register(*registry);
  prometheus::Gauge& queue = prometheus::BuildGauge()
                                 .Name("encmol_queue_depth")
                                 .Help("Queries waiting for an evaluation worker")
                                 .Register(*registry)
                                 .Add({});
  prometheus::Family<prometheus::Counter>& cache =
      prometheus::BuildCounter()
          .Name("encmol_key_cache_total")
          .Help("Evaluation-key lookups by result (hit: memory or disk, miss: not held)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& answered =
      prometheus::BuildCounter()
          .Name("encmol_molecules_answered_total")
          .Help("Molecules answered (charged) by model")
          .Register(*registry);
  std::unique_ptr<prometheus::Exposer> exposer;
};

Metrics::Metrics(const std::string& listen) : impl_(std::make_unique<Impl>()) {
  if (listen.empty()) return;
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    throw IoError("cannot serve metrics on " + listen + ": " + e.what());
  }
  impl_->exposer->RegisterCollectable(impl_->registry);
}

Metrics::~Metrics() = default;

void Metrics::request(const std::string& method, Outcome outcome, double seconds) {
  impl_->requests.Add({{"method", method}, {"outcome", outcome_name(outcome)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  impl_->latency.Add({{"method", method}}, buckets).Observe(seconds);
}

void Metrics::queue_depth(double depth) { impl_->queue.Set(depth); }

void Metrics::key_cache(bool hit) {
  impl_->cache.Add({{"result", hit ? "hit" : "miss"}}).Increment();
}

void Metrics::molecules(const std::string& model, double count) {
  impl_->answered.Add({{"model", model}}).Increment(count);
}

std::string Metrics::scrape() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->registry->Collect());
  return out.str();
}

}  // namespace encmol::service
