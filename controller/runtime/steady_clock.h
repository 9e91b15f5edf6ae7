#pragma once
// SteadyClock: the seam for monotonic time in the controller runtime (work queue delays,
// back-off, rate limits, informer resync), so tests step time instead of sleeping.
// MonotonicClock is the real one; FakeSteadyClock moves only when a test advances it.

#include <chrono>
#include <condition_variable>
#include <list>
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

// A clock that stands still until advance() moves it. Waiters in wait_until() are woken on
// every advance() and re-check their deadlines; nothing ever waits on real time. Thread-safe.
// A FakeSteadyClock must outlive every object that uses it.
class FakeSteadyClock final : public SteadyClock {
 public:
  // Starts at an arbitrary fixed point (steady_clock's epoch + 1 h).
  FakeSteadyClock() : now_(TimePoint{} + std::chrono::hours(1)) {}

  TimePoint now() const override;
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  TimePoint deadline) const override;
  // Moves time forward by `d` and wakes every waiter.
  void advance(Duration d);
  // Threads currently blocked in wait_until(), for tests that must know a waiter is parked.
  size_t waiters() const;

 private:
  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
  };
  mutable std::mutex mu_;
  TimePoint now_;                      // guarded by mu_
  mutable std::list<Waiter> waiters_;  // guarded by mu_
};

}  // namespace cenv
