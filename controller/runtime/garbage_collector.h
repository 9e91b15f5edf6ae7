#pragma once
// GarbageCollector: deletes objects whose owners are gone (DESIGN section 5), as Kubernetes'
// garbage collector. The API server already deletes dependents with their owner (deletion
// plan); the collector catches what that cannot: a dependent created while its owner was being
// deleted, an ownerReference to an owner that never existed, or to an owner since recreated
// under the same name (a new uid). An object whose every ownerReference names an owner that
// does not exist (by uid) is deleted with background propagation.
//
// Owners are looked up by uid in the informer caches; before deleting, the collector confirms
// against the API (the caches of different kinds are not in step) and deletes with the
// dependent's resourceVersion as precondition. ownerReferences to kinds it does not know are
// left alone. A Runnable: one worker thread (std::jthread) until stopped.

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "api/owner_references.h"
#include "controller/runtime/client.h"
#include "controller/runtime/informer_cache.h"
#include "controller/runtime/runnable.h"
#include "controller/runtime/steady_clock.h"
#include "controller/runtime/work_queue.h"

namespace cenv {

struct GarbageCollectorOptions {
  // Back-off and rate limit of retries after a failed check or delete (work_queue.h).
  WorkQueueOptions queue;
};

class GarbageCollector : public Runnable {
 public:
  // Watches every kind in `kinds` (each owner and dependent kind, as objects spell them)
  // through `cache`; reads and deletes through `client`. References must outlive the collector.
  GarbageCollector(InformerCache& cache, Client& client, std::vector<std::string> kinds,
                   const SteadyClock& clock, GarbageCollectorOptions options = {});
  ~GarbageCollector() override;
  GarbageCollector(const GarbageCollector&) = delete;
  GarbageCollector& operator=(const GarbageCollector&) = delete;

  // Waits for the informers to sync, then checks queued dependents until `stop` is requested.
  void start(std::stop_token stop) override;

  // Nothing queued, waiting or being checked.
  bool idle() { return queue_->idle(); }
  // Objects deleted so far.
  uint64_t deleted() const { return deleted_.load(); }

 private:
  // Checks one dependent; deletes it when all its owners are gone.
  Status collect(const Request& key);
  // The owner is alive: found by uid in its kind's cache, or (with `live`) in the API.
  Result<bool> owner_exists(const OwnerReference& ref, std::string_view ns, bool live);

  InformerCache& cache_;
  Client& client_;
  const std::set<std::string, std::less<>> kinds_;
  std::shared_ptr<WorkQueue> queue_;
  std::atomic<uint64_t> deleted_{0};
};

}  // namespace cenv
