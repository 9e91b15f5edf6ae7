#pragma once
// LeaderElector: decides which of several controller replicas sharing one store runs the
// reconcilers (DESIGN section 5), on a LeaseStore, as Kubernetes' leaderelection package does:
// a replica tries to take the lease every retry period; the leader renews it every retry period
// and steps down when it could not renew within the renew deadline — before the lease can expire
// for the others (lease duration > renew deadline), so two replicas never both lead.
//
// Fencing: a leader's work checks check(generation) before every Docker mutation (the
// FencedDockerClient). It passes only while this replica holds that generation of the lease
// and its last successful renewal was *sent* less than the renew deadline ago on the local
// monotonic clock: a replica frozen past its lease (SIGSTOP, a VM paused) fails the check the
// moment it wakes, before its elector thread has even noticed.
//
// Leadership changes are handed to callbacks on a thread of the elector's own, in order: a term
// starts (on_started_leading(generation)) and later ends (on_stopped_leading()), which must
// return only once the term's work has stopped. The lease loop never waits for them.
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "api/metrics_registry.h"
#include "api/status.h"
#include "controller/runtime/steady_clock.h"
#include "controller/store/lease_store.h"

namespace cenv {

struct LeaderElectionOptions {
  std::string lease_name = "cenv-controller";
  // Who this replica is ("host:pid:random" by default, made by default_identity()).
  std::string identity;
  // As Kubernetes' defaults: the lease lasts 15 s after a renewal; the leader steps down when it
  // could not renew for 10 s; every try (acquire or renew) is 2 s apart.
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};

  // Invalid unless 0 < retry_period < renew_deadline < lease_duration.
  Status validate() const;
  // "HOSTNAME:PID:RANDOM".
  static std::string default_identity();
};

struct Leadership {
  bool leading = false;     // this replica leads
  int64_t generation = 0;   // of the term this replica leads (0: none)
  std::string leader;       // the holder of the lease as last seen ("" unknown or none)
  int64_t transitions = 0;  // leadership changes of this replica (terms started and ended)
};

class LeaderElector {
 public:
  using StartedLeading = std::function<void(int64_t generation)>;
  using StoppedLeading = std::function<void()>;

  // `leases`, `clock` and `metrics` (may be nullptr) must outlive the elector.
  LeaderElector(LeaseStore& leases, const SteadyClock& clock, LeaderElectionOptions options,
                metrics::Registry* metrics = nullptr);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Starts the lease loop and the callback thread.
  void start(StartedLeading on_started, StoppedLeading on_stopped);
  // Ends a term that is running (on_stopped_leading), releases the lease so that another
  // replica takes over at once, and joins the threads. Idempotent.
  void stop();

  // Ok while this replica holds `generation` of the lease within its renew deadline;
  // FailedPrecondition ("not the leader ...") otherwise. Cheap: no store access.
  Status check(int64_t generation) const;
  Leadership leadership() const;
  const std::string& identity() const { return options_.identity; }

 private:
  void lease_loop(std::stop_token stop);
  void callback_loop(std::stop_token stop, StartedLeading on_started, StoppedLeading on_stopped);
  // One try to take or renew the lease; updates the state under mu_.
  void tick();
  void set_leading_locked(bool leading, int64_t generation);

  LeaseStore& leases_;
  const SteadyClock& clock_;
  const LeaderElectionOptions options_;
  metrics::Gauge* leader_gauge_ = nullptr;
  metrics::Counter* transitions_counter_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;            // wakes the callback thread and stop()
  bool leading_ = false;                  // guarded by mu_
  int64_t generation_ = 0;                // guarded by mu_
  SteadyClock::TimePoint valid_until_{};  // guarded by mu_: last renewal sent + deadline
  std::string leader_;                    // guarded by mu_
  int64_t transitions_ = 0;               // guarded by mu_
  int64_t running_term_ = 0;              // guarded by mu_: the term the callbacks started
  bool stopping_ = false;                 // guarded by mu_
  std::jthread lease_thread_;
  std::jthread callback_thread_;
};

}  // namespace cenv
