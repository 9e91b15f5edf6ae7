#include "controller/runtime/garbage_collector.h"

#include <spdlog/spdlog.h>

#include "api/finalizers.h"
#include "api/owner_references.h"

namespace cenv {

GarbageCollector::GarbageCollector(InformerCache& cache, Client& client,
                                   std::vector<std::string> kinds, const SteadyClock& clock,
                                   GarbageCollectorOptions options)
    : cache_(cache),
      client_(client),
      kinds_(kinds.begin(), kinds.end()),
      queue_(std::make_shared<WorkQueue>(clock, options.queue)) {
  // Handlers own what they use (the queue; the cache outlives its informers' handlers).
  std::shared_ptr<WorkQueue> q = queue_;
  InformerCache* c = &cache_;
  auto check_if_owned = [q](const Object& o) {
    if (!owner_references(o).empty()) q->add(Request::from(o));
  };
  for (const std::string& kind : kinds_) {
    EventHandler h;
    h.on_add = check_if_owned;
    h.on_update = [check_if_owned](const Object&, const Object& o) { check_if_owned(o); };
    // An owner went: check every dependent of it the caches know.
    h.on_delete = [q, c](const Object& o) {
      if (o.uid().empty()) return;
      for (Informer* inf : c->informers()) {
        for (const ObjectKey& k : inf->dependents_of(o.uid())) q->add(Request::from(k));
      }
    };
    cache_.informer(kind).add_handler(std::move(h));
  }
}

GarbageCollector::~GarbageCollector() { queue_->shutdown(); }

void GarbageCollector::start(std::stop_token stop) {
  if (!cache_.wait_for_sync(stop, std::chrono::hours(24 * 365))) {
    queue_->shutdown();
    return;
  }
  std::jthread worker([this] {
    while (auto key = queue_->get()) {
      Status s = collect(*key);
      if (s.ok()) {
        queue_->forget(*key);
      } else {
        spdlog::warn("garbage collector: {}: {}", key->to_string(), s.to_string());
        queue_->add_rate_limited(*key);
      }
      queue_->done(*key);
    }
  });
  wait_for_stop(stop);
  queue_->shutdown();
}

Result<bool> GarbageCollector::owner_exists(const OwnerReference& ref, std::string_view ns,
                                            bool live) {
  // An owner of a kind we do not know cannot be checked: keep the dependent.
  if (!kinds_.count(ref.kind)) return true;
  if (!live) {
    Informer* inf = cache_.find(ref.kind);
    return inf && inf->get_by_uid(ref.uid) != nullptr;
  }
  auto owner = client_.get({ref.kind, std::string(ns), ref.name});
  if (owner.ok()) return owner->uid() == ref.uid;  // recreated under the name: not the owner
  if (owner.status().code() == Code::kNotFound) return false;
  return owner.status();
}

Status GarbageCollector::collect(const Request& key) {
  Informer* inf = cache_.find(key.kind);
  ObjectPtr cached = inf ? inf->get(key.ns, key.name) : nullptr;
  if (!cached || is_being_deleted(*cached)) return Status::Ok();
  std::vector<OwnerReference> refs = owner_references(*cached);
  if (refs.empty()) return Status::Ok();
  for (const OwnerReference& ref : refs) {
    auto alive = owner_exists(ref, key.ns, /*live=*/false);
    if (!alive.ok()) return alive.status();
    if (alive.value()) return Status::Ok();
  }
  // Every owner is missing from the caches. Confirm with the API before deleting anything:
  // the owner may be too new for its informer, and the dependent may have changed.
  auto live = client_.get(key.key());
  if (!live.ok()) return live.status().code() == Code::kNotFound ? Status::Ok() : live.status();
  if (is_being_deleted(live.value())) return Status::Ok();
  refs = owner_references(live.value());
  if (refs.empty()) return Status::Ok();
  for (const OwnerReference& ref : refs) {
    auto alive = owner_exists(ref, key.ns, /*live=*/true);
    if (!alive.ok()) return alive.status();
    if (alive.value()) return Status::Ok();
  }
  DeleteOptions options;
  options.resource_version = live->resource_version();
  options.propagation = Propagation::kBackground;
  Status removed = client_.remove(key.key(), options);
  if (removed.code() == Code::kNotFound) return Status::Ok();
  if (!removed.ok()) return removed;  // Conflict: changed meanwhile; checked again after back-off
  deleted_++;
  spdlog::info("garbage collector: deleted {}: its owners are gone", key.to_string());
  return Status::Ok();
}

}  // namespace cenv
