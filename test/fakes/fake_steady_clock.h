#pragma once
// FakeSteadyClock: a SteadyClock for tests (controller/runtime/steady_clock.h).

#include <condition_variable>
#include <list>
#include <mutex>

#include "controller/runtime/steady_clock.h"

namespace cenv {

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
