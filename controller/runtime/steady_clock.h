#pragma once
// SteadyClock: the seam for monotonic time in the controller runtime (work queue delays,
// back-off, rate limits, informer resync), so tests step time instead of sleeping.
// MonotonicClock is the real one; tests use FakeSteadyClock (test/fakes/fake_steady_clock.h),
// which moves only when a test advances it.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace cenv {

class SteadyClock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~SteadyClock() = default;
  // The current time on this clock. Thread-safe.
  virtual TimePoint now() const = 0;
  // Blocks on `cv` (which releases `lock` while waiting, as condition_variable::wait does)
  // until it is notified or `deadline` has passed on this clock; may also wake spuriously, so
  // callers loop and re-check their state. `lock` must hold the mutex `cv` is used with.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline) const = 0;
};

// std::chrono::steady_clock.
class MonotonicClock final : public SteadyClock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) const override {
    cv.wait_until(lock, deadline);
  }
};

}  // namespace cenv
