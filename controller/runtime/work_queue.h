#pragma once
// WorkQueue: the keys a controller still has to reconcile (DESIGN section 5), as client-go's
// rate-limiting work queue:
//  * deduplicated: a key waiting in the queue is not added twice; a key being processed that
//    is added again is marked dirty and queued once done() is called for it, so one key is
//    never handed to two workers at once;
//  * delayed adds (add_after) for requeue-after, and rate-limited adds (add_rate_limited) for
//    retries: per-key exponential back-off together with one token bucket for the queue;
//  * bounded by construction: at most one ready entry and one delayed entry per key;
//  * counted as client-go's queues are, when given a registry: cenv_workqueue_depth (keys
//    ready), cenv_workqueue_adds_total (adds that queued a key), cenv_workqueue_retries_total
//    (rate-limited adds), cenv_workqueue_queue_duration_seconds (from add to get) and
//    cenv_workqueue_work_duration_seconds (from get to done), and, at each collect, the
//    seconds the keys being processed have been so far: cenv_workqueue_unfinished_work_seconds
//    (their sum) and cenv_workqueue_longest_running_processor_seconds (the longest); each
//    labelled name=<its name>.
// Thread-safe. Time comes from a SteadyClock, so tests step a FakeSteadyClock.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "api/metrics_registry.h"
#include "controller/runtime/rate_limiter.h"
#include "controller/runtime/reconciler.h"
#include "controller/runtime/steady_clock.h"

namespace cenv {

struct WorkQueueOptions {
  // Back-off of a key's first rate-limited add; it doubles with each consecutive one until
  // forget(). Default 5 ms.
  std::chrono::milliseconds base_delay{5};
  // Longest back-off of one key. Default 30 s.
  std::chrono::milliseconds max_delay{30'000};
  // Rate-limited adds per second across all keys, once `burst` is spent; <= 0 disables the
  // bucket. Default 50.
  double qps = 50;
  // Rate-limited adds allowed at once before `qps` applies. Default 300.
  int64_t burst = 300;
  // Where the queue counts (above); nullptr (default): nowhere. Must outlive the queue.
  metrics::Registry* metrics = nullptr;
  // The `name` label of its metrics (the controller's name). Default empty.
  std::string name;
};

class WorkQueue {
 public:
  // `clock` must outlive the queue.
  explicit WorkQueue(const SteadyClock& clock, WorkQueueOptions options = {});
  ~WorkQueue();  // shuts down
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already queued; a key being processed is queued again after
  // done(). Ignored after shutdown().
  void add(const Request& key);
  // Adds `key` once `delay` has passed (at once when delay <= 0). A key already waiting keeps
  // the earlier of its two times.
  void add_after(const Request& key, SteadyClock::Duration delay);
  // Adds `key` after the longer of its back-off (base_delay * 2^failures, at most max_delay)
  // and the token bucket's wait; counts one more failure of `key`.
  void add_rate_limited(const Request& key);
  // Resets the back-off of `key` (call when it was processed successfully).
  void forget(const Request& key);
  // Rate-limited adds of `key` since it was last forgotten.
  int64_t num_requeues(const Request& key);

  // Blocks until a key is ready and returns it, marked as processing: the caller must call
  // done(key) when finished. Returns nullopt once shutdown() was called (keys still queued
  // are dropped).
  std::optional<Request> get();
  // Ends the processing of `key`; re-queues it if it was added meanwhile.
  void done(const Request& key);

  // Keys ready to be handed out (delayed keys whose time has come included).
  size_t len();
  // Keys waiting for their delay.
  size_t waiting();
  // Keys handed out by get() and not yet done().
  size_t processing();
  // Nothing ready, waiting or processing.
  bool idle();

  // Wakes every get() (which return nullopt) and ignores later adds. Idempotent.
  void shutdown();
  bool shutting_down();

 private:
  void add_locked(const Request& key);
  void add_after_locked(const Request& key, SteadyClock::Duration delay);
  // Moves the delayed keys whose time has come to the ready queue.
  void promote_locked(SteadyClock::TimePoint now);
  // The time to record for an add or a get: now when counting, else nothing.
  SteadyClock::TimePoint stamp() const;

  // The queue's metrics (see above), all null without a registry.
  struct Counted {
    metrics::Gauge* depth = nullptr;
    metrics::Counter* adds = nullptr;
    metrics::Counter* retries = nullptr;
    metrics::Histogram* queue_seconds = nullptr;
    metrics::Histogram* work_seconds = nullptr;
    metrics::Gauge* unfinished_seconds = nullptr;
    metrics::Gauge* longest_seconds = nullptr;
  };
  static Counted counted(const WorkQueueOptions& options);
  // Sets the gauges of the work in progress (the registry's refresh before each collect).
  void refresh_in_progress();

  const SteadyClock& clock_;
  const WorkQueueOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;  // guarded by mu_; ready, in order
  // guarded by mu_; need processing, with when they were added (when counting)
  std::unordered_map<Request, SteadyClock::TimePoint> dirty_;
  // guarded by mu_; with when they were handed out (when counting)
  std::unordered_map<Request, SteadyClock::TimePoint> processing_;
  std::map<Request, SteadyClock::TimePoint> waiting_;             // guarded by mu_
  std::set<std::pair<SteadyClock::TimePoint, Request>> by_time_;  // guarded by mu_
  ExponentialBackoff backoff_;                                    // guarded by mu_
  TokenBucket bucket_;                                            // guarded by mu_
  bool shutting_down_ = false;                                    // guarded by mu_
  const Counted counted_;
  // Last: the refresh stops before anything it reads goes.
  std::unique_ptr<metrics::Registry::RefreshHandle> refresh_;
};

}  // namespace cenv
