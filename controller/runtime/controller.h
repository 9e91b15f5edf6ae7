#pragma once
// Controller: one Reconciler fed by a work queue (DESIGN section 5), as controller-runtime's
// controller: every change of an object of its kind (the shared informer of that kind)
// enqueues the object's key; watches() adds other kinds mapped to keys of its kind (e.g. a
// dependent to its owner, enqueue_owner); enqueue() takes external events (Docker's event
// stream). N worker threads take keys from the queue and reconcile them: the queue hands one
// key to one worker at a time, retries errors with per-key back-off and honours
// requeue_after. With nothing changing, nothing is enqueued and the workers sleep.
// Given a registry, it counts as controller-runtime does: cenv_reconcile_total{controller,
// kind,result} (result success, error, requeue or requeue_after), cenv_reconcile_errors_total
// and cenv_reconcile_duration_seconds, and its queue's metrics (work_queue.h) under its name.
//
// Threads: start() runs the workers (std::jthread each) until its stop token is requested.
// The informer handlers only touch the queue (a shared_ptr they own), so they stay safe
// whatever the order in which the informers and the controller are torn down.

#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "api/metrics_registry.h"
#include "controller/runtime/informer.h"
#include "controller/runtime/informer_cache.h"
#include "controller/runtime/reconciler.h"
#include "controller/runtime/runnable.h"
#include "controller/runtime/steady_clock.h"
#include "controller/runtime/work_queue.h"

namespace cenv {

struct ControllerOptions {
  // Workers reconciling in parallel (never the same key twice at once). Default 2.
  int workers = 2;
  // Back-off and rate limit of retries (work_queue.h for their defaults).
  WorkQueueOptions queue;
  // Where the controller and its queue count (above); nullptr (default): nowhere. Must outlive
  // the controller.
  metrics::Registry* metrics = nullptr;
};

// Maps an object of a watched kind to the requests of the controller's kind it affects.
using MapFunc = std::function<std::vector<Request>(const Object&)>;

enum class Scope { kNamespaced, kCluster };

// A MapFunc for dependents: the owners of kind `owner_kind` named in the object's
// ownerReferences (only the managing one, ownerReference.controller, with
// `only_controller`). `owner_scope` says whether owners live in the dependent's namespace or
// are cluster-scoped (then their requests carry no namespace).
MapFunc enqueue_owner(std::string owner_kind, Scope owner_scope = Scope::kNamespaced,
                      bool only_controller = false);

class Controller : public Runnable {
 public:
  // Reconciles objects of `kind` ("Service") with `reconciler`, fed by `cache`'s informer of
  // that kind. `name` appears in logs. Every reference must outlive the controller.
  Controller(std::string name, std::string kind, Reconciler& reconciler, InformerCache& cache,
             const SteadyClock& clock, ControllerOptions options = {});
  ~Controller() override;
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Enqueues mapper(o) for every add, update (old and new object) and delete of an object of
  // `kind`. Best called before start(); later calls first map every cached object.
  void watches(std::string_view kind, MapFunc mapper);
  // Enqueues `req` now (deduplicated). Thread-safe.
  void enqueue(const Request& req);

  // Waits for its informers to sync, then runs the workers until `stop` is requested; shuts
  // the queue down (a controller runs once).
  void start(std::stop_token stop) override;

  const std::string& name() const { return name_; }
  const std::string& kind() const { return kind_; }
  // Nothing queued, waiting (requeue-after, back-off) or being reconciled.
  bool idle() { return queue_->idle(); }
  WorkQueue& queue() { return *queue_; }

 private:
  void work();
  void process(const Request& req);
  // Counts one reconcile that took `took` and returned `result`.
  void count(const ReconcileResult& result, SteadyClock::Duration took);

  // The controller's metrics (see above), all null without a registry.
  struct Counted {
    metrics::Counter* success = nullptr;
    metrics::Counter* error = nullptr;
    metrics::Counter* requeue = nullptr;
    metrics::Counter* requeue_after = nullptr;
    metrics::Counter* errors = nullptr;
    metrics::Histogram* seconds = nullptr;
  };
  Counted counted() const;

  const std::string name_;
  const std::string kind_;
  Reconciler& reconciler_;
  InformerCache& cache_;
  const SteadyClock& clock_;
  const ControllerOptions options_;
  const Counted counted_;
  std::shared_ptr<WorkQueue> queue_;
  std::mutex mu_;
  std::vector<Informer*> sources_;  // guarded by mu_; informers to wait for before working
};

}  // namespace cenv
