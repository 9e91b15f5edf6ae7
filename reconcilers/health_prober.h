#pragma once
// HealthProber: runs the Services' health checks (spec.healthCheck: exec or tcpPort) on its
// own threads, so a check never holds a reconcile worker for its timeout. The Service
// reconciler tells it what to probe (observe) and reads the health found so far; the prober
// calls on_change with the Service's key whenever a health changes, and the controller
// reconciles it again.
//
// Semantics, as Docker's HEALTHCHECK: a check that fails or takes longer than `timeout`
// fails; `retries` consecutive failures make the target Unhealthy, one success Healthy;
// failures in the first `startPeriod` after the target was first observed do not count.
// Until the first success checks run every min(interval, start_interval) (Docker's
// --health-start-interval), then every `interval`. A new target (another container, or the
// same one restarted) starts again from Unknown. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>

#include "api/status.h"
#include "controller/runtime/reconciler.h"
#include "controller/runtime/runnable.h"
#include "reconcilers/service_spec.h"
#include "reconcilers/workloads.h"

namespace cenv {

enum class Health { kUnknown, kHealthy, kUnhealthy };

struct HealthState {
  Health health = Health::kUnknown;
  std::string message;           // the last check's result, e.g. "tcp 172.18.0.2:80: ok"
  int consecutive_failures = 0;  // counted failures since the last success
};

// What to probe: a running workload and its check.
struct ProbeTarget {
  std::string workload_id;
  std::string started_at;  // tells a restarted workload from the same one
  std::string address;     // where tcpPort checks connect
  HealthCheckSpec check;
  bool operator==(const ProbeTarget&) const = default;
};

struct HealthProberOptions {
  // Threads running checks in parallel. Default 4.
  int workers = 4;
  // Longest time between checks until the first success. Default 1 s.
  std::chrono::milliseconds start_interval{1000};
};

class HealthProber : public Runnable {
 public:
  // Connects to host:port within `timeout`; Ok when the connection was accepted.
  using TcpDialer = std::function<Status(const std::string& host, uint16_t port,
                                         std::chrono::milliseconds timeout)>;

  // Exec checks run through `workloads` (must outlive the prober); tcp checks through `dialer`
  // (default: a real TCP connect).
  explicit HealthProber(Workloads& workloads, HealthProberOptions options = {},
                        TcpDialer dialer = dial_tcp);
  ~HealthProber() override;

  // Called (on a prober thread) with the key whose health changed. Set before start().
  void set_on_change(std::function<void(const Request&)> on_change);

  // Probes `target` for `key` from now on (a different earlier target is dropped) and returns
  // its health so far: Unknown for a target not probed yet.
  HealthState observe(const Request& key, const ProbeTarget& target);
  // Stops probing for `key`.
  void forget(const Request& key);
  // Keys being probed.
  size_t size() const;

  // Runs the checks until `stop` is requested.
  void start(std::stop_token stop) override;

  static Status dial_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

 private:
  using Clock = std::chrono::steady_clock;
  struct Probe {
    ProbeTarget target;
    HealthState state;
    Clock::time_point observed_at;  // when the target was first observed
    Clock::time_point next_due;
    bool running = false;
    bool ever_healthy = false;
    uint64_t generation = 0;  // changes when the target changes
  };

  void work(const std::stop_token& stop);
  Status check(const ProbeTarget& target);

  Workloads& workloads_;
  const HealthProberOptions options_;
  const TcpDialer dialer_;
  std::function<void(const Request&)> on_change_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<Request, Probe> probes_;  // guarded by mu_
  uint64_t next_generation_ = 0;     // guarded by mu_
};

}  // namespace cenv
