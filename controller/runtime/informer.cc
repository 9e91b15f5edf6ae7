#include "controller/runtime/informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/owner_references.h"

namespace cenv {

Informer::Informer(std::string kind, EventSource& source, const SteadyClock& clock,
                   InformerOptions options)
    : kind_(std::move(kind)), source_(source), clock_(clock), options_(options) {}

Informer::~Informer() { stop(); }

void Informer::start() {
  std::lock_guard lock(sync_mu_);
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void Informer::request_stop() {
  std::lock_guard lock(sync_mu_);
  if (thread_.joinable()) thread_.request_stop();
}

void Informer::stop() {
  std::jthread t;
  {
    std::lock_guard lock(sync_mu_);
    t = std::move(thread_);
  }
  if (t.joinable()) {
    t.request_stop();
    t.join();
  }
}

void Informer::add_handler(EventHandler handler) {
  std::lock_guard lock(dispatch_mu_);
  if (synced_.load() && handler.on_add) {
    for (const ObjectPtr& o : list()) handler.on_add(*o);
  }
  handlers_.push_back(std::move(handler));
}

bool Informer::wait_for_sync(const std::stop_token& stop, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(sync_mu_);
  sync_cv_.wait_for(lock, stop, timeout, [&] { return synced_.load(); });
  return synced_.load();
}

ObjectPtr Informer::get(std::string_view ns, std::string_view name) const {
  std::shared_lock lock(cache_mu_);
  auto it = objects_.find(ObjectKey{kind_, std::string(ns), std::string(name)});
  return it == objects_.end() ? nullptr : it->second;
}

ObjectPtr Informer::get_by_uid(std::string_view uid) const {
  std::shared_lock lock(cache_mu_);
  auto it = by_uid_.find(std::string(uid));
  if (it == by_uid_.end()) return nullptr;
  auto obj = objects_.find(it->second);
  return obj == objects_.end() ? nullptr : obj->second;
}

std::vector<ObjectPtr> Informer::list(std::string_view ns, const LabelSelector& selector) const {
  std::vector<ObjectPtr> out;
  std::shared_lock lock(cache_mu_);
  // Keys order by (kind, namespace, name): one namespace is one contiguous range.
  auto it =
      ns.empty() ? objects_.begin() : objects_.lower_bound(ObjectKey{kind_, std::string(ns), ""});
  for (; it != objects_.end(); ++it) {
    if (!ns.empty() && it->first.ns != ns) break;
    if (selector.empty() || selector.matches(it->second->labels())) out.push_back(it->second);
  }
  return out;
}

std::vector<ObjectKey> Informer::dependents_of(std::string_view owner_uid) const {
  std::shared_lock lock(cache_mu_);
  auto it = by_owner_.find(owner_uid);
  if (it == by_owner_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

size_t Informer::size() const {
  std::shared_lock lock(cache_mu_);
  return objects_.size();
}

void Informer::insert_locked(ObjectPtr obj) {
  ObjectKey key = obj->key();
  erase_locked(key);
  if (!obj->uid().empty()) by_uid_[std::string(obj->uid())] = key;
  for (const OwnerReference& ref : owner_references(*obj)) by_owner_[ref.uid].insert(key);
  objects_[key] = std::move(obj);
}

void Informer::erase_locked(const ObjectKey& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  const Object& old = *it->second;
  if (auto u = by_uid_.find(std::string(old.uid())); u != by_uid_.end() && u->second == key) {
    by_uid_.erase(u);
  }
  for (const OwnerReference& ref : owner_references(old)) {
    auto o = by_owner_.find(ref.uid);
    if (o == by_owner_.end()) continue;
    o->second.erase(key);
    if (o->second.empty()) by_owner_.erase(o);
  }
  objects_.erase(it);
}

void Informer::sleep(const std::stop_token& stop, std::chrono::milliseconds d) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
}

void Informer::run(const std::stop_token& stop) {
  SteadyClock::TimePoint next_resync = clock_.now() + options_.resync_period;
  while (!stop.stop_requested()) {
    auto listed = source_.list(kind_);
    list_count_++;
    if (!listed.ok()) {
      spdlog::warn("informer {}: list failed: {}; retrying", kind_, listed.status().message());
      sleep(stop, options_.retry_delay);
      continue;
    }
    int64_t revision = listed->revision;
    replace(std::move(listed->items), revision);
    auto stream = source_.watch(kind_, revision);
    if (!stream.ok()) {
      if (stream.status().code() != Code::kGone) {
        spdlog::warn("informer {}: watch failed: {}; relisting", kind_, stream.status().message());
        sleep(stop, options_.retry_delay);
      }
      continue;
    }
    while (!stop.stop_requested()) {
      auto wait = options_.poll_interval;
      if (options_.resync_period.count() > 0) {
        auto until_resync =
            std::chrono::ceil<std::chrono::milliseconds>(next_resync - clock_.now());
        wait = std::clamp(until_resync, std::chrono::milliseconds(0), wait);
      }
      auto events = stream.value()->next(wait);
      if (!events.ok()) {
        if (events.status().code() == Code::kGone) {
          spdlog::debug("informer {}: watch gone ({}); relisting", kind_,
                        events.status().message());
        } else {
          spdlog::warn("informer {}: watch failed: {}; relisting", kind_,
                       events.status().message());
          sleep(stop, options_.retry_delay);
        }
        break;
      }
      if (!events->empty()) apply(std::move(events.value()));
      if (options_.resync_period.count() > 0 && clock_.now() >= next_resync) {
        resync();
        next_resync = clock_.now() + options_.resync_period;
      }
    }
  }
}

void Informer::replace(std::vector<Object> items, int64_t revision) {
  std::lock_guard dispatch(dispatch_mu_);
  std::map<ObjectKey, ObjectPtr> old;
  std::vector<ObjectPtr> fresh;
  fresh.reserve(items.size());
  for (Object& o : items) fresh.push_back(std::make_shared<const Object>(std::move(o)));
  {
    std::unique_lock lock(cache_mu_);
    old.swap(objects_);
    by_uid_.clear();
    by_owner_.clear();
    for (const ObjectPtr& o : fresh) insert_locked(o);
  }
  for (const ObjectPtr& o : fresh) {
    auto prev = old.find(o->key());
    if (prev == old.end()) {
      for (auto& h : handlers_) {
        if (h.on_add) h.on_add(*o);
      }
    } else {
      if (prev->second->resource_version() != o->resource_version() ||
          prev->second->uid() != o->uid()) {
        for (auto& h : handlers_) {
          if (h.on_update) h.on_update(*prev->second, *o);
        }
      }
      old.erase(prev);
    }
  }
  for (const auto& [key, o] : old) {  // listed no more: deleted while we were not watching
    for (auto& h : handlers_) {
      if (h.on_delete) h.on_delete(*o);
    }
  }
  last_revision_ = revision;
  if (!synced_.load()) {
    std::lock_guard lock(sync_mu_);
    synced_ = true;
    sync_cv_.notify_all();
  }
}

void Informer::apply(std::vector<WatchEvent> events) {
  std::lock_guard dispatch(dispatch_mu_);
  for (WatchEvent& e : events) {
    ObjectKey key = e.object.key();
    if (e.type == EventType::kDeleted) {
      ObjectPtr old;
      {
        std::unique_lock lock(cache_mu_);
        auto it = objects_.find(key);
        if (it != objects_.end()) {
          old = it->second;
          erase_locked(key);
        }
      }
      if (old) {
        for (auto& h : handlers_) {
          if (h.on_delete) h.on_delete(e.object);
        }
      }
    } else {
      auto obj = std::make_shared<const Object>(std::move(e.object));
      ObjectPtr old;
      {
        std::unique_lock lock(cache_mu_);
        auto it = objects_.find(key);
        if (it != objects_.end()) {
          old = it->second;
          // Already cached at this version or newer (the list covered it).
          if (old->uid() == obj->uid() && old->resource_version() >= obj->resource_version()) {
            last_revision_ = std::max(last_revision_.load(), e.revision);
            continue;
          }
        }
        insert_locked(obj);
      }
      for (auto& h : handlers_) {
        if (old) {
          if (h.on_update) h.on_update(*old, *obj);
        } else if (h.on_add) {
          h.on_add(*obj);
        }
      }
    }
    last_revision_ = std::max(last_revision_.load(), e.revision);
  }
}

void Informer::resync() {
  std::lock_guard dispatch(dispatch_mu_);
  for (const ObjectPtr& o : list()) {
    for (auto& h : handlers_) {
      if (h.on_update) h.on_update(*o, *o);
    }
  }
}

}  // namespace cenv
