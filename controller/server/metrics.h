#pragma once
// Metrics: the controller's metrics, rendered in the Prometheus text format for GET /metrics.
// It owns the process's metrics::Registry (api/metrics_registry.h), where the lower layers
// and the API service count their own (work queues, reconciles, Docker calls, log bytes, store
// commits), adds the API's calls to it, and reports gauges read at scrape time and the
// standard process_* metrics. render() is the one place that writes the exposition. Thread-safe.

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/metrics_registry.h"
#include "api/status.h"

namespace cenv {

class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Counts one API call and its latency (cenv_api_requests_total, cenv_api_request_seconds).
  void observe_call(std::string_view call, Code code, std::chrono::nanoseconds latency);
  // A gauge read when /metrics is served; `read` must be thread-safe and cheap.
  void add_gauge(std::string name, std::string help, std::function<double()> read);
  // Where the other layers register their families; lives as long as this.
  metrics::Registry& registry() { return registry_; }
  // The whole exposition, Prometheus text format 0.0.4: the registry's families, the gauges,
  // then the process_* metrics (left out when /proc cannot be read).
  std::string render() const;

 private:
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  metrics::Registry registry_;
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& latency_;
  mutable std::mutex mu_;
  std::vector<Gauge> gauges_;  // guarded by mu_
};

}  // namespace cenv
