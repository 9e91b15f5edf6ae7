#include "controller/server/heap_trimmer.h"

#include <malloc.h>

namespace cenv {

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

HeapTrimmer::HeapTrimmer(HeapTrimmerOptions options) : options_(options) {
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

HeapTrimmer::~HeapTrimmer() {
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void HeapTrimmer::notify() { last_activity_ns_.store(steady_ns(), std::memory_order_relaxed); }

void HeapTrimmer::run(std::stop_token stop) {
  const int64_t quiet = std::chrono::nanoseconds(options_.quiet).count();
  const int64_t busy = std::chrono::nanoseconds(options_.busy_interval).count();
  int64_t last_trim = steady_ns();
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, options_.poll, [] { return false; });
    }
    if (stop.stop_requested()) return;
    int64_t activity = last_activity_ns_.load(std::memory_order_relaxed);
    if (activity == 0) continue;
    int64_t now = steady_ns();
    if (now - activity < quiet && now - last_trim < busy) continue;
    // Cleared first: activity from here on asks for the next trim.
    last_activity_ns_.compare_exchange_strong(activity, 0);
    malloc_trim(0);
    last_trim = steady_ns();
    trims_.fetch_add(1);
  }
}

}  // namespace cenv
