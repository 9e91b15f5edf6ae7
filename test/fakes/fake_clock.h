#pragma once
// FakeClock: the wall Clock (api/clock.h) of tests. It stands still at 1,800,000,000 s after
// the epoch (2027-01-15T08:00:00Z) or the time it was made with, until set() or advance().
// Thread-safe.

#include <atomic>
#include <chrono>

#include "api/clock.h"

namespace cenv::testing {

class FakeClock : public Clock {
 public:
  FakeClock() : FakeClock(std::chrono::system_clock::from_time_t(1'800'000'000)) {}
  explicit FakeClock(std::chrono::system_clock::time_point t) : t_(t.time_since_epoch()) {}

  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(t_.load());
  }
  void set(std::chrono::system_clock::time_point t) { t_ = t.time_since_epoch(); }
  void advance(std::chrono::system_clock::duration d) { t_ = t_.load() + d; }

 private:
  std::atomic<std::chrono::system_clock::duration> t_;
};

}  // namespace cenv::testing
