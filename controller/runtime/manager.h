#pragma once
// Manager: runs the controller runtime of one process (DESIGN section 5), as
// controller-runtime's manager: it owns the shared informers (InformerCache, one informer per
// kind) and a set of Runnables (controllers, the garbage collector) and knows nothing else of
// them. start() starts the informers, waits until each has listed, then starts every runnable
// on its own thread; stop() stops the runnables (joining their threads), then the informers.
// Thread-safe.

#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "api/status.h"
#include "controller/runtime/event_source.h"
#include "controller/runtime/informer_cache.h"
#include "controller/runtime/runnable.h"
#include "controller/runtime/steady_clock.h"

namespace cenv {

struct ManagerOptions {
  // Options of every informer (informer.h for their defaults).
  InformerOptions informers;
  // Longest wait in start() for the informers' first lists. Default 60 s.
  std::chrono::milliseconds sync_timeout{60'000};
};

class Manager {
 public:
  // `source` and `clock` must outlive the manager.
  Manager(EventSource& source, const SteadyClock& clock, ManagerOptions options = {});
  ~Manager();  // stop()
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  InformerCache& cache() { return cache_; }
  const SteadyClock& clock() const { return clock_; }

  // Takes ownership of `runnable`, started by start() or at once when already started;
  // returns it (for instance a Controller, to enqueue external events into).
  template <typename T>
  T& add(std::unique_ptr<T> runnable) {
    T& ref = *runnable;
    add_runnable(std::move(runnable));
    return ref;
  }

  // Starts the informers and waits until all have synced, then every runnable. Unavailable
  // (naming the informers still listing) when they do not sync within sync_timeout; the
  // informers keep trying, and stop() is still required. Unavailable too when stop() cut the
  // start short; FailedPrecondition when called twice or after stop().
  Status start();
  // Stops the runnables, then the informers; returns when every thread has been joined.
  // Idempotent. A stopped manager is not started again.
  void stop();

 private:
  void add_runnable(std::unique_ptr<Runnable> runnable);
  void run_locked(Runnable& runnable);

  const SteadyClock& clock_;
  const ManagerOptions options_;
  InformerCache cache_;
  std::stop_source stopping_;  // cuts start()'s wait for the informers short
  std::mutex mu_;
  bool started_ = false;                              // guarded by mu_
  bool stopped_ = false;                              // guarded by mu_
  std::vector<std::unique_ptr<Runnable>> runnables_;  // guarded by mu_
  std::vector<std::jthread> threads_;                 // guarded by mu_
};

}  // namespace cenv
