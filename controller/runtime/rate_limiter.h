#pragma once
// The two limits of the work queue (client-go's default controller rate limiter): per-key
// exponential back-off for keys that keep failing, and one token bucket for the whole queue so
// that many failing keys together cannot flood the API. Plain values; not thread-safe (the
// WorkQueue guards them with its mutex).

#include <chrono>
#include <cstdint>
#include <unordered_map>

#include "controller/runtime/reconciler.h"
#include "controller/runtime/steady_clock.h"

namespace cenv {

// Delay for the n-th consecutive failure of a key: base * 2^n, at most `max`.
class ExponentialBackoff {
 public:
  ExponentialBackoff(std::chrono::milliseconds base, std::chrono::milliseconds max)
      : base_(base), max_(max) {}

  // Records one more failure of `key` and returns how long to wait before retrying it.
  SteadyClock::Duration next(const Request& key);
  // Forgets the failures of `key` (its next failure waits `base` again).
  void forget(const Request& key) { failures_.erase(key); }
  // Consecutive failures recorded for `key`.
  int64_t failures(const Request& key) const;
  // Keys with recorded failures (bounded by the number of keys that failed and were not
  // forgotten).
  size_t tracked() const { return failures_.size(); }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds max_;
  std::unordered_map<Request, int64_t> failures_;
};

// A token bucket: `burst` tokens, refilled at `qps` per second. take() always succeeds and
// returns how long the caller must wait for its token (0 while tokens are left); debts are
// paid in order, as Go's rate.Limiter reservations are. qps <= 0 disables the limit.
class TokenBucket {
 public:
  TokenBucket(double qps, int64_t burst, SteadyClock::TimePoint now)
      : qps_(qps),
        burst_(burst < 1 ? 1 : burst),
        tokens_(static_cast<double>(burst_)),
        last_(now) {}

  // Takes one token at time `now`; returns the wait until that token is available.
  SteadyClock::Duration take(SteadyClock::TimePoint now);

 private:
  double qps_;
  int64_t burst_;
  double tokens_;  // may be negative: tokens promised to waiting callers
  SteadyClock::TimePoint last_;
};

}  // namespace cenv
