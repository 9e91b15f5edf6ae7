#pragma once
// WatchHub: fans the store's event history out to every watcher (DESIGN section 3, Watch).
// One dispatcher thread reads each new event from the Store once and pushes it into the
// bounded queue of every subscription whose filter matches; a subscription whose queue is full
// is cut off ("gone") so that a slow watcher never makes the controller grow without bound.
// Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/selector.h"
#include "controller/store/store.h"

namespace cenv {

struct WatchFilter {
  std::string kind;        // required
  std::string ns;          // empty: every namespace
  LabelSelector selector;  // empty: everything
  bool matches(const Object& o) const;
};

struct WatchHubOptions {
  // Events buffered for one watcher before it is cut off with Gone (default 10,000).
  size_t queue_limit = 10'000;
  // Longest wait between two reads of the store when nobody calls notify() (default 1 s).
  std::chrono::milliseconds poll_interval{1000};
  // Events read from the store per round (default 1,000).
  size_t batch = 1'000;
};

// One event as the hub hands it to every watcher: read from the store once, shared (never
// copied) by all the subscriptions it matches, and serialized to JSON at most once.
// Immutable apart from the lazily computed JSON; thread-safe.
class SharedWatchEvent {
 public:
  explicit SharedWatchEvent(WatchEvent event) : event_(std::move(event)) {}
  const WatchEvent& event() const { return event_; }
  // The object as JSON with metadata.resourceVersion set to the event's revision (for a
  // DELETED event, the revision of the deletion), serialized on the first call only.
  const std::string& json() const;

 private:
  WatchEvent event_;
  mutable std::once_flag once_;
  mutable std::string json_;  // written once under once_
};

class WatchHub {
 public:
  class Subscription {
   public:
    // Waits up to `timeout` for events; returns them oldest first (empty on timeout). Gone once
    // the subscription was cut off for falling behind or the hub stopped.
    Result<std::vector<std::shared_ptr<const SharedWatchEvent>>> next_shared(
        std::chrono::milliseconds timeout);
    // As next_shared(), with each event copied out (for consumers that keep the objects).
    Result<std::vector<WatchEvent>> next(std::chrono::milliseconds timeout);
    // As next_shared() without waiting: the events queued now (possibly none), or Gone.
    Result<std::vector<std::shared_ptr<const SharedWatchEvent>>> poll();
    // Events with revision > start_revision() arrive through next(); older ones must be read
    // from the store's history by the caller.
    int64_t start_revision() const { return start_revision_; }

   private:
    friend class WatchHub;
    // The queued events (emptying the queue), or Gone. Call with mu_ held.
    Result<std::vector<std::shared_ptr<const SharedWatchEvent>>> take_locked();
    WatchFilter filter_;
    int64_t start_revision_ = 0;
    std::function<void()> on_ready_;  // set before registration, then never changed
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<const SharedWatchEvent>> queue_;  // guarded by mu_
    bool gone_ = false;                                          // guarded by mu_
  };

  // A subscription together with the history that precedes it (subscribe_from()).
  struct Replay {
    std::shared_ptr<Subscription> subscription;
    // The store's events after the requested revision up to the subscription's start that
    // match its filter, oldest first: what the watcher delivers before the subscription's own.
    std::vector<WatchEvent> history;
    // Where the watcher stands once `history` is delivered: the requested revision, or the
    // last revision read from the history. The subscription may still hand over events at or
    // below it (they were read from the history already): skip those.
    int64_t last = 0;
  };

  WatchHub(Store& store, WatchHubOptions options = {});
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Wakes the dispatcher: new events may be in the store. Cheap; call after every commit.
  void notify();
  // Registers a watcher. The subscription stays registered until the returned pointer and
  // every copy of it are gone. `on_ready`, when set, is called after new events were queued
  // for it or it was cut off (poll() then has something to return), on the hub's dispatcher
  // thread (or the thread destroying the hub) and outside the hub's locks; it must not block
  // and must not call back into the hub.
  std::shared_ptr<Subscription> subscribe(WatchFilter filter,
                                          std::function<void()> on_ready = nullptr);
  // "Subscribe, then replay history from a resourceVersion", the start of every watch that
  // resumes: subscribes (as subscribe()), then reads the store's history after `after` up to
  // the revision the subscription starts at, so that the history and the subscription's events
  // together miss nothing after `after`. Gone ("... is too old (compacted to N); relist") when
  // `after` is older than the compacted history, any other error of Store::events_since() as
  // it is; nothing stays subscribed then. Reads the store: call it off the hub's callbacks.
  Result<Replay> subscribe_from(WatchFilter filter, int64_t after,
                                std::function<void()> on_ready = nullptr);
  // Watchers currently registered.
  size_t watcher_count();
  // Revision up to which events have been dispatched.
  int64_t dispatched_revision();

 private:
  void run(std::stop_token stop);
  void dispatch(const std::vector<WatchEvent>& events);
  // With no subscriber registered, moves dispatched_ to the store's revision without reading
  // the events between; true when it did.
  bool skip_unwatched();
  // Drops expired subscriptions; true when a live one remains. Requires mu_ held.
  bool has_subscribers_locked();
  // Cuts every subscription off (Gone) and wakes it. Requires mu_ held; returns the
  // subscriptions to wake() once it is released.
  std::vector<std::shared_ptr<Subscription>> cut_off_all_locked();
  // Wakes the given subscriptions' waiters and calls their on_ready. Call without locks.
  static void wake(const std::vector<std::shared_ptr<Subscription>>& subs);

  Store& store_;
  WatchHubOptions options_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool pending_ = false;                                // guarded by mu_
  int64_t dispatched_ = 0;                              // guarded by mu_
  std::list<std::weak_ptr<Subscription>> subscribers_;  // guarded by mu_
  std::jthread dispatcher_;
};

}  // namespace cenv
