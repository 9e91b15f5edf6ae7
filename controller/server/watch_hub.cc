#include "controller/server/watch_hub.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/environment_secrets.h"

namespace cenv {

bool WatchFilter::matches(const Object& o) const {
  if (o.kind() != kind) return false;
  if (!ns.empty() && o.ns() != ns) return false;
  return selector.matches(o.labels());
}

const std::string& SharedWatchEvent::json() const {
  std::call_once(once_, [this] {
    Object copy = event_.object;
    if (event_.revision > 0) copy.set_resource_version(event_.revision);
    json_ = to_client_json(copy);  // for API clients: secrets redacted
  });
  return json_;
}

Result<std::vector<std::shared_ptr<const SharedWatchEvent>>> WatchHub::Subscription::next_shared(
    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || gone_; });
  return take_locked();
}

Result<std::vector<std::shared_ptr<const SharedWatchEvent>>> WatchHub::Subscription::poll() {
  std::lock_guard lock(mu_);
  return take_locked();
}

Result<std::vector<std::shared_ptr<const SharedWatchEvent>>> WatchHub::Subscription::take_locked() {
  if (gone_) {
    return Status::Gone("the watch fell behind and was closed; relist and watch again");
  }
  std::vector<std::shared_ptr<const SharedWatchEvent>> out(std::make_move_iterator(queue_.begin()),
                                                           std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

Result<std::vector<WatchEvent>> WatchHub::Subscription::next(std::chrono::milliseconds timeout) {
  auto shared = next_shared(timeout);
  if (!shared.ok()) return shared.status();
  std::vector<WatchEvent> out;
  out.reserve(shared->size());
  for (const auto& e : shared.value()) out.push_back(e->event());
  return out;
}

WatchHub::WatchHub(Store& store, WatchHubOptions options) : store_(store), options_(options) {
  auto rev = store_.revision();
  dispatched_ = rev.ok() ? rev.value() : 0;
  dispatcher_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

WatchHub::~WatchHub() {
  dispatcher_.request_stop();
  cv_.notify_all();
  dispatcher_.join();
  std::vector<std::shared_ptr<Subscription>> woken;
  {
    std::lock_guard lock(mu_);
    woken = cut_off_all_locked();
  }
  wake(woken);
}

std::vector<std::shared_ptr<WatchHub::Subscription>> WatchHub::cut_off_all_locked() {
  std::vector<std::shared_ptr<Subscription>> out;
  for (auto& weak : subscribers_) {
    if (auto sub = weak.lock()) {
      std::lock_guard sl(sub->mu_);
      sub->gone_ = true;
      out.push_back(std::move(sub));
    }
  }
  return out;
}

void WatchHub::wake(const std::vector<std::shared_ptr<Subscription>>& subs) {
  for (const auto& sub : subs) {
    sub->cv_.notify_all();
    if (sub->on_ready_) sub->on_ready_();
  }
}

void WatchHub::notify() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

std::shared_ptr<WatchHub::Subscription> WatchHub::subscribe(WatchFilter filter,
                                                            std::function<void()> on_ready) {
  auto sub = std::make_shared<Subscription>();
  sub->filter_ = std::move(filter);
  sub->on_ready_ = std::move(on_ready);
  std::lock_guard lock(mu_);
  sub->start_revision_ = dispatched_;
  subscribers_.push_back(sub);
  return sub;
}

Result<WatchHub::Replay> WatchHub::subscribe_from(WatchFilter filter, int64_t after,
                                                  std::function<void()> on_ready) {
  // Events read from the history per round.
  constexpr size_t kHistoryBatch = 1000;
  Replay replay;
  replay.last = after;
  // Registered first, so nothing committed from here on can be missed.
  replay.subscription = subscribe(filter, std::move(on_ready));
  const int64_t start = replay.subscription->start_revision();
  while (replay.last < start) {
    auto events = store_.events_since(replay.last, kHistoryBatch);
    // Gone: `after` is older than the compacted history, and the store's message says to
    // relist. Returning drops the subscription.
    if (!events.ok()) return events.status();
    if (events->empty()) break;
    for (WatchEvent& e : events.value()) {
      if (e.revision > start) return replay;
      replay.last = e.revision;
      if (filter.matches(e.object)) replay.history.push_back(std::move(e));
    }
  }
  return replay;
}

size_t WatchHub::watcher_count() {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto& w : subscribers_) n += w.expired() ? 0 : 1;
  return n;
}

int64_t WatchHub::dispatched_revision() {
  std::lock_guard lock(mu_);
  return dispatched_;
}

void WatchHub::run(std::stop_token stop) {
  pthread_setname_np(pthread_self(), "cenv-watch-hub");
  while (!stop.stop_requested()) {
    int64_t from;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, options_.poll_interval, [&] { return pending_; });
      if (stop.stop_requested()) return;
      pending_ = false;
      from = dispatched_;
    }
    // Nobody to hand events to (a follower replica, a controller nobody watches): skip to the
    // store's revision instead of reading every event. A watcher that subscribes afterwards
    // starts there and reads older events from the history (subscribe_from).
    if (skip_unwatched()) continue;
    // Drain everything new, a batch at a time.
    for (;;) {
      auto events = store_.events_since(from, options_.batch);
      if (!events.ok()) {
        if (events.status().code() == Code::kGone) {
          // History was compacted past us: every watcher must relist.
          auto rev = store_.revision();
          std::vector<std::shared_ptr<Subscription>> woken;
          {
            std::lock_guard lock(mu_);
            woken = cut_off_all_locked();
            if (rev.ok()) dispatched_ = rev.value();
          }
          wake(woken);
        } else {
          spdlog::warn("watch dispatcher cannot read events: {}", events.status().message());
        }
        break;
      }
      if (events->empty()) break;
      from = events->back().revision;
      dispatch(events.value());
      if (events->size() < options_.batch) break;
    }
  }
}

bool WatchHub::skip_unwatched() {
  {
    std::lock_guard lock(mu_);
    if (has_subscribers_locked()) return false;
  }
  // Every event up to the committed revision is committed too (commits are serialised), so
  // jumping there loses nothing a later subscriber could still get from the hub.
  auto rev = store_.revision();
  if (!rev.ok()) return false;
  std::lock_guard lock(mu_);
  if (has_subscribers_locked()) return false;  // one came meanwhile: read its events
  dispatched_ = std::max(dispatched_, rev.value());
  return true;
}

bool WatchHub::has_subscribers_locked() {
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    if (it->expired()) {
      it = subscribers_.erase(it);
    } else {
      return true;
    }
  }
  return false;
}

void WatchHub::dispatch(const std::vector<WatchEvent>& events) {
  // Each event is wrapped once and shared by every subscription it matches.
  std::vector<std::shared_ptr<const SharedWatchEvent>> shared;
  shared.reserve(events.size());
  for (const WatchEvent& e : events) shared.push_back(std::make_shared<const SharedWatchEvent>(e));
  std::vector<std::shared_ptr<Subscription>> woken;
  {
    std::lock_guard lock(mu_);
    for (auto it = subscribers_.begin(); it != subscribers_.end();) {
      auto sub = it->lock();
      if (!sub) {
        it = subscribers_.erase(it);
        continue;
      }
      bool wake = false;
      {
        std::lock_guard sl(sub->mu_);
        for (const auto& e : shared) {
          const WatchEvent& ev = e->event();
          if (ev.revision <= sub->start_revision_ || sub->gone_) continue;
          if (!sub->filter_.matches(ev.object)) continue;
          if (sub->queue_.size() >= options_.queue_limit) {
            sub->gone_ = true;
            sub->queue_.clear();
            break;
          }
          sub->queue_.push_back(e);
          wake = true;
        }
        wake = wake || sub->gone_;
      }
      if (wake) woken.push_back(std::move(sub));
      ++it;
    }
    dispatched_ = events.back().revision;
  }
  // Woken outside every lock, so that a watcher runs at once instead of blocking on ours.
  wake(woken);
}

}  // namespace cenv
