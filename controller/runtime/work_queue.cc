#include "controller/runtime/work_queue.h"

#include <algorithm>
#include <utility>

namespace cenv {

WorkQueue::WorkQueue(const SteadyClock& clock, WorkQueueOptions options)
    : clock_(clock),
      options_(std::move(options)),
      backoff_(options_.base_delay, options_.max_delay),
      bucket_(options_.qps, options_.burst, clock.now()),
      counted_(counted(options_)) {
  if (options_.metrics != nullptr) {
    refresh_ = options_.metrics->on_collect([this] { refresh_in_progress(); });
  }
}

WorkQueue::Counted WorkQueue::counted(const WorkQueueOptions& options) {
  if (options.metrics == nullptr) return {};
  metrics::Registry& r = *options.metrics;
  const std::vector<std::string> name{"name"};
  return {
      .depth = &r.gauge("cenv_workqueue_depth", "Keys ready in the work queue.", name)
                    .with({options.name}),
      .adds = &r.counter("cenv_workqueue_adds_total", "Keys added to the work queue.", name)
                   .with({options.name}),
      .retries = &r.counter("cenv_workqueue_retries_total",
                            "Rate-limited adds (retries) to the work queue.", name)
                      .with({options.name}),
      .queue_seconds = &r.histogram("cenv_workqueue_queue_duration_seconds",
                                    "How long a key waits in the work queue before a worker "
                                    "takes it.",
                                    name)
                            .with({options.name}),
      .work_seconds = &r.histogram("cenv_workqueue_work_duration_seconds",
                                   "How long a worker takes to process a key.", name)
                           .with({options.name}),
      .unfinished_seconds =
          &r.gauge("cenv_workqueue_unfinished_work_seconds",
                   "Seconds the keys being processed have been so far, summed.", name)
               .with({options.name}),
      .longest_seconds = &r.gauge("cenv_workqueue_longest_running_processor_seconds",
                                  "Seconds the longest-running key being processed has been so "
                                  "far.",
                                  name)
                              .with({options.name}),
  };
}

void WorkQueue::refresh_in_progress() {
  std::lock_guard lock(mu_);
  SteadyClock::TimePoint now = clock_.now();
  SteadyClock::Duration sum{0}, longest{0};
  for (const auto& [key, since] : processing_) {
    sum += now - since;
    longest = std::max(longest, now - since);
  }
  counted_.unfinished_seconds->set(std::chrono::duration<double>(sum).count());
  counted_.longest_seconds->set(std::chrono::duration<double>(longest).count());
}

SteadyClock::TimePoint WorkQueue::stamp() const {
  return counted_.depth != nullptr ? clock_.now() : SteadyClock::TimePoint{};
}

WorkQueue::~WorkQueue() { shutdown(); }

void WorkQueue::add(const Request& key) {
  std::lock_guard lock(mu_);
  add_locked(key);
}

void WorkQueue::add_locked(const Request& key) {
  if (shutting_down_) return;
  // Already queued, or queued again after done().
  if (!dirty_.emplace(key, stamp()).second) return;
  if (counted_.adds != nullptr) counted_.adds->inc();
  if (processing_.count(key)) return;  // done() queues it
  queue_.push_back(key);
  if (counted_.depth != nullptr) counted_.depth->set(static_cast<double>(queue_.size()));
  cv_.notify_one();
}

void WorkQueue::add_after(const Request& key, SteadyClock::Duration delay) {
  std::lock_guard lock(mu_);
  add_after_locked(key, delay);
}

void WorkQueue::add_after_locked(const Request& key, SteadyClock::Duration delay) {
  if (shutting_down_) return;
  if (delay <= SteadyClock::Duration::zero()) {
    add_locked(key);
    return;
  }
  SteadyClock::TimePoint at = clock_.now() + delay;
  auto [it, inserted] = waiting_.emplace(key, at);
  if (!inserted) {
    if (it->second <= at) return;
    by_time_.erase({it->second, key});
    it->second = at;
  }
  by_time_.emplace(at, key);
  // A getter may be sleeping until a later deadline (or none): let it recompute.
  cv_.notify_all();
}

void WorkQueue::add_rate_limited(const Request& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (counted_.retries != nullptr) counted_.retries->inc();
  SteadyClock::Duration delay = std::max(backoff_.next(key), bucket_.take(clock_.now()));
  add_after_locked(key, delay);
}

void WorkQueue::forget(const Request& key) {
  std::lock_guard lock(mu_);
  backoff_.forget(key);
}

int64_t WorkQueue::num_requeues(const Request& key) {
  std::lock_guard lock(mu_);
  return backoff_.failures(key);
}

void WorkQueue::promote_locked(SteadyClock::TimePoint now) {
  while (!by_time_.empty() && by_time_.begin()->first <= now) {
    Request key = by_time_.begin()->second;
    by_time_.erase(by_time_.begin());
    waiting_.erase(key);
    add_locked(key);
  }
}

std::optional<Request> WorkQueue::get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (shutting_down_) return std::nullopt;
    promote_locked(clock_.now());
    if (!queue_.empty()) {
      Request key = std::move(queue_.front());
      queue_.pop_front();
      auto added = dirty_.find(key);
      SteadyClock::TimePoint now = stamp();
      if (counted_.depth != nullptr) {
        counted_.depth->set(static_cast<double>(queue_.size()));
        counted_.queue_seconds->observe(now - added->second);
      }
      dirty_.erase(added);
      processing_.emplace(key, now);
      if (!queue_.empty()) cv_.notify_one();  // more ready work for another worker
      return key;
    }
    if (by_time_.empty()) {
      cv_.wait(lock);
    } else {
      clock_.wait_until(lock, cv_, by_time_.begin()->first);
    }
  }
}

void WorkQueue::done(const Request& key) {
  std::lock_guard lock(mu_);
  auto it = processing_.find(key);
  if (it == processing_.end()) return;
  if (counted_.work_seconds != nullptr) counted_.work_seconds->observe(stamp() - it->second);
  processing_.erase(it);
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    if (counted_.depth != nullptr) counted_.depth->set(static_cast<double>(queue_.size()));
    cv_.notify_one();
  }
}

size_t WorkQueue::len() {
  std::lock_guard lock(mu_);
  promote_locked(clock_.now());
  return queue_.size();
}

size_t WorkQueue::waiting() {
  std::lock_guard lock(mu_);
  promote_locked(clock_.now());
  return waiting_.size();
}

size_t WorkQueue::processing() {
  std::lock_guard lock(mu_);
  return processing_.size();
}

bool WorkQueue::idle() {
  std::lock_guard lock(mu_);
  promote_locked(clock_.now());
  return queue_.empty() && processing_.empty() && waiting_.empty();
}

void WorkQueue::shutdown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::shutting_down() {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

}  // namespace cenv
