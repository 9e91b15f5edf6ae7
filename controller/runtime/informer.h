#pragma once
// Informer: an in-memory, indexed cache of every object of one kind, kept current by a list
// followed by a watch (DESIGN section 5), with handlers told of each change. On Gone (the
// watch fell behind or the history was compacted) it lists again and tells the handlers the
// differences. A periodic resync hands every cached object to on_update(o, o) again.
//
// Threads: one std::jthread per informer (start()/stop()) lists, watches, updates the cache
// and calls the handlers, one event at a time, in revision order. Cache reads are thread-safe
// (std::shared_mutex) and return immutable shared objects. Handlers run on the informer's
// thread and must be quick (enqueue a key); they may read any informer's cache but must not
// call add_handler().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/object.h"
#include "api/selector.h"
#include "controller/runtime/event_source.h"
#include "controller/runtime/steady_clock.h"

namespace cenv {

struct InformerOptions {
  // How often every cached object is handed to on_update(o, o) again, so controllers re-check
  // state that drifts outside the API. 0 disables resync. Default 10 min.
  std::chrono::milliseconds resync_period{600'000};
  // Longest wait for watch events before the informer checks for resync and stop; bounds how
  // long stop() takes. Default 250 ms.
  std::chrono::milliseconds poll_interval{250};
  // Wait before listing again after a list or watch failed (not after Gone). Default 1 s.
  std::chrono::milliseconds retry_delay{1000};
};

// Callbacks of one informer; any may be empty. Objects are valid for the call only.
struct EventHandler {
  std::function<void(const Object& obj)> on_add;
  // old_obj == new_obj (same resourceVersion) on resync.
  std::function<void(const Object& old_obj, const Object& new_obj)> on_update;
  // The object as it was last stored.
  std::function<void(const Object& obj)> on_delete;
};

using ObjectPtr = std::shared_ptr<const Object>;

class Informer {
 public:
  // `kind` as objects spell it ("Service"). `source` and `clock` must outlive the informer.
  Informer(std::string kind, EventSource& source, const SteadyClock& clock,
           InformerOptions options = {});
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  const std::string& kind() const { return kind_; }

  // Registers handlers. Once synced, they are first given every cached object as on_add.
  // Thread-safe; must not be called from a handler.
  void add_handler(EventHandler handler);

  // Starts the informer's thread (a no-op when running). An informer is started at most once.
  void start();
  // Asks the thread to stop, without waiting (so many informers stop in parallel).
  void request_stop();
  // Stops the thread and waits for it (at most about poll_interval); handlers are not called
  // afterwards. Idempotent.
  void stop();

  // True once the first list is in the cache and its objects were handed to the handlers.
  bool has_synced() const { return synced_.load(); }
  // Waits until has_synced(), `stop` is requested or `timeout` passes (real time); returns
  // has_synced().
  bool wait_for_sync(const std::stop_token& stop, std::chrono::milliseconds timeout) const;

  // Cache reads; nullptr / empty when absent. `ns` is empty for cluster-scoped kinds.
  ObjectPtr get(std::string_view ns, std::string_view name) const;
  ObjectPtr get_by_uid(std::string_view uid) const;
  // Objects in namespace `ns` (every namespace when empty) matching `selector`, ordered by
  // namespace, then name.
  std::vector<ObjectPtr> list(std::string_view ns = {}, const LabelSelector& selector = {}) const;
  // Keys of cached objects whose ownerReferences name `owner_uid`.
  std::vector<ObjectKey> dependents_of(std::string_view owner_uid) const;
  size_t size() const;

  // The revision of the last list or event applied to the cache and handed to the handlers.
  int64_t last_revision() const { return last_revision_.load(); }
  // Lists done so far (1 after the first sync; more after each Gone).
  uint64_t list_count() const { return list_count_.load(); }

 private:
  void run(const std::stop_token& stop);
  // Replaces the cache with a fresh list and tells the handlers what differs.
  void replace(std::vector<Object> items, int64_t revision);
  void apply(std::vector<WatchEvent> events);
  void resync();
  void insert_locked(ObjectPtr obj);
  void erase_locked(const ObjectKey& key);
  void sleep(const std::stop_token& stop, std::chrono::milliseconds d);

  const std::string kind_;
  EventSource& source_;
  const SteadyClock& clock_;
  const InformerOptions options_;

  // Serialises handler calls, and add_handler() against them.
  std::mutex dispatch_mu_;
  std::vector<EventHandler> handlers_;  // guarded by dispatch_mu_

  mutable std::shared_mutex cache_mu_;
  std::map<ObjectKey, ObjectPtr> objects_;                            // guarded by cache_mu_
  std::unordered_map<std::string, ObjectKey> by_uid_;                 // guarded by cache_mu_
  std::map<std::string, std::set<ObjectKey>, std::less<>> by_owner_;  // guarded by cache_mu_

  mutable std::mutex sync_mu_;
  mutable std::condition_variable_any sync_cv_;
  std::atomic<bool> synced_{false};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<uint64_t> list_count_{0};
  std::jthread thread_;  // last member: stopped and joined first
};

}  // namespace cenv
