#include "controller/server/metrics.h"

#include <cstdio>

namespace cenv {

Metrics::Metrics()
    : bounds_{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
              0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10} {}

void Metrics::observe_call(std::string_view call, Code code, std::chrono::nanoseconds latency) {
  double secs = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mu_);
  ++requests_[{std::string(call), code_name(code)}];
  Histogram& h = latency_[std::string(call)];
  if (h.buckets.empty()) h.buckets.assign(bounds_.size(), 0);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (secs <= bounds_[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += secs;
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

static std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP cenv_api_requests_total API calls served, by call and result code.\n";
  out += "# TYPE cenv_api_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "cenv_api_requests_total{call=\"" + key.first + "\",code=\"" + key.second + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP cenv_api_request_seconds Latency of API calls, by call.\n";
  out += "# TYPE cenv_api_request_seconds histogram\n";
  for (const auto& [call, h] : latency_) {
    for (size_t i = 0; i < bounds_.size(); ++i) {
      out += "cenv_api_request_seconds_bucket{call=\"" + call + "\",le=\"" + num(bounds_[i]) +
             "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "cenv_api_request_seconds_bucket{call=\"" + call + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "cenv_api_request_seconds_sum{call=\"" + call + "\"} " + num(h.sum) + "\n";
    out +=
        "cenv_api_request_seconds_count{call=\"" + call + "\"} " + std::to_string(h.count) + "\n";
  }
  for (const Gauge& g : gauges_) {
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    out += g.name + " " + num(g.read()) + "\n";
  }
  return out;
}

}  // namespace cenv
