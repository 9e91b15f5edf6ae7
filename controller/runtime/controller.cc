#include "controller/runtime/controller.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <set>
#include <thread>
#include <utility>

#include "api/owner_references.h"

namespace cenv {

MapFunc enqueue_owner(std::string owner_kind, Scope owner_scope, bool only_controller) {
  return [owner_kind = std::move(owner_kind), owner_scope, only_controller](const Object& o) {
    std::vector<Request> out;
    for (const OwnerReference& ref : owner_references(o)) {
      if (ref.kind != owner_kind) continue;
      if (only_controller && !ref.controller) continue;
      out.push_back(
          {owner_kind, owner_scope == Scope::kNamespaced ? std::string(o.ns()) : "", ref.name});
    }
    return out;
  };
}

Controller::Controller(std::string name, std::string kind, Reconciler& reconciler,
                       InformerCache& cache, const SteadyClock& clock, ControllerOptions options)
    : name_(std::move(name)),
      kind_(std::move(kind)),
      reconciler_(reconciler),
      cache_(cache),
      clock_(clock),
      options_(std::move(options)),
      counted_(counted()),
      queue_(std::make_shared<WorkQueue>(clock, [this] {
        WorkQueueOptions q = options_.queue;
        if (options_.metrics != nullptr) {
          q.metrics = options_.metrics;
          q.name = name_;
        }
        return q;
      }())) {
  Informer& primary = cache_.informer(kind_);
  sources_.push_back(&primary);
  // Handlers own the queue: an informer may outlive the controller (adds are then ignored).
  std::shared_ptr<WorkQueue> q = queue_;
  EventHandler h;
  h.on_add = [q](const Object& o) { q->add(Request::from(o)); };
  h.on_update = [q](const Object&, const Object& o) { q->add(Request::from(o)); };
  h.on_delete = [q](const Object& o) { q->add(Request::from(o)); };
  primary.add_handler(std::move(h));
}

Controller::~Controller() { queue_->shutdown(); }

void Controller::watches(std::string_view kind, MapFunc mapper) {
  Informer& informer = cache_.informer(kind);
  {
    std::lock_guard lock(mu_);
    sources_.push_back(&informer);
  }
  std::shared_ptr<WorkQueue> q = queue_;
  auto map = std::make_shared<MapFunc>(std::move(mapper));
  EventHandler h;
  h.on_add = [q, map](const Object& o) {
    for (const Request& r : (*map)(o)) q->add(r);
  };
  h.on_update = [q, map](const Object& old_obj, const Object& new_obj) {
    std::set<Request> requests;
    for (Request& r : (*map)(old_obj)) requests.insert(std::move(r));
    for (Request& r : (*map)(new_obj)) requests.insert(std::move(r));
    for (const Request& r : requests) q->add(r);
  };
  h.on_delete = [q, map](const Object& o) {
    for (const Request& r : (*map)(o)) q->add(r);
  };
  informer.add_handler(std::move(h));
}

void Controller::enqueue(const Request& req) { queue_->add(req); }

void Controller::start(std::stop_token stop) {
  std::vector<Informer*> sources;
  {
    std::lock_guard lock(mu_);
    sources = sources_;
  }
  for (Informer* informer : sources) {
    while (!informer->wait_for_sync(stop, std::chrono::seconds(30))) {
      if (stop.stop_requested()) {
        queue_->shutdown();
        return;
      }
      spdlog::warn("controller {}: still waiting for the {} informer to sync", name_,
                   informer->kind());
    }
  }
  spdlog::debug("controller {}: starting {} workers", name_, options_.workers);
  {
    std::vector<std::jthread> workers;
    for (int i = 0; i < std::max(1, options_.workers); ++i) {
      workers.emplace_back([this] { work(); });
    }
    wait_for_stop(stop);
    queue_->shutdown();
  }  // joins the workers: each finishes its current reconcile
  spdlog::debug("controller {}: stopped", name_);
}

void Controller::work() {
  while (auto req = queue_->get()) {
    process(*req);
    queue_->done(*req);
  }
}

Controller::Counted Controller::counted() const {
  if (options_.metrics == nullptr) return {};
  metrics::Registry& r = *options_.metrics;
  // Every result from the start, at 0, as controller-runtime does.
  auto& total = r.counter("cenv_reconcile_total", "Reconciles, by controller, kind and result.",
                          {"controller", "kind", "result"});
  return {
      .success = &total.with({name_, kind_, "success"}),
      .error = &total.with({name_, kind_, "error"}),
      .requeue = &total.with({name_, kind_, "requeue"}),
      .requeue_after = &total.with({name_, kind_, "requeue_after"}),
      .errors = &r.counter("cenv_reconcile_errors_total", "Reconciles that returned an error.",
                           {"controller", "kind"})
                     .with({name_, kind_}),
      .seconds = &r.histogram("cenv_reconcile_duration_seconds", "How long reconciles took.",
                              {"controller", "kind"})
                      .with({name_, kind_}),
  };
}

void Controller::count(const ReconcileResult& result, SteadyClock::Duration took) {
  if (counted_.seconds == nullptr) return;
  counted_.seconds->observe(took);
  if (!result.error.ok()) {
    counted_.error->inc();
    counted_.errors->inc();
  } else if (result.requeue_after.count() > 0) {
    counted_.requeue_after->inc();
  } else if (result.requeue) {
    counted_.requeue->inc();
  } else {
    counted_.success->inc();
  }
}

void Controller::process(const Request& req) {
  SteadyClock::TimePoint started = clock_.now();
  ReconcileResult result;
  try {
    result = reconciler_.reconcile(req);
  } catch (const std::exception& e) {
    result.error = Status::Internal(std::string("reconcile threw: ") + e.what());
  } catch (...) {
    result.error = Status::Internal("reconcile threw an unknown exception");
  }
  count(result, clock_.now() - started);
  if (!result.error.ok()) {
    spdlog::warn("controller {}: reconcile {} failed (retry {}): {}", name_, req.to_string(),
                 queue_->num_requeues(req) + 1, result.error.to_string());
    queue_->add_rate_limited(req);
  } else if (result.requeue_after.count() > 0) {
    queue_->forget(req);
    queue_->add_after(req, result.requeue_after);
  } else if (result.requeue) {
    queue_->add_rate_limited(req);
  } else {
    queue_->forget(req);
  }
}

}  // namespace cenv
