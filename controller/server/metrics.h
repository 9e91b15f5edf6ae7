#pragma once
// Metrics: the controller's counters, latency histograms and gauges, rendered in the
// Prometheus text format for GET /metrics. Thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv {

class Metrics {
 public:
  Metrics();

  // Counts one API call and its latency (cenv_api_requests_total, cenv_api_request_seconds).
  void observe_call(std::string_view call, Code code, std::chrono::nanoseconds latency);
  // A gauge read when /metrics is served; `read` must be thread-safe and cheap.
  void add_gauge(std::string name, std::string help, std::function<double()> read);
  // The whole exposition, Prometheus text format 0.0.4.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative counts per bound in bounds_
    uint64_t count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;  // guarded by mu_
  std::map<std::string, Histogram> latency_;                          // guarded by mu_
  std::vector<Gauge> gauges_;                                         // guarded by mu_
};

}  // namespace cenv
