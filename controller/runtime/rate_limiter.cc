#include "controller/runtime/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace cenv {

SteadyClock::Duration ExponentialBackoff::next(const Request& key) {
  int64_t n = failures_[key]++;
  // Doubling past 2^40 overflows nothing useful: any real max is reached long before.
  double factor = std::ldexp(1.0, static_cast<int>(std::min<int64_t>(n, 40)));
  double ms = static_cast<double>(base_.count()) * factor;
  if (ms >= static_cast<double>(max_.count())) return max_;
  return std::chrono::round<SteadyClock::Duration>(std::chrono::duration<double, std::milli>(ms));
}

int64_t ExponentialBackoff::failures(const Request& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

SteadyClock::Duration TokenBucket::take(SteadyClock::TimePoint now) {
  if (qps_ <= 0) return SteadyClock::Duration::zero();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return SteadyClock::Duration::zero();
  return std::chrono::round<SteadyClock::Duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

}  // namespace cenv
