#pragma once
// LeaseStore: a named lease in the store that controller replicas sharing the store elect a
// leader with (DESIGN section 5; Kubernetes' coordination Lease). The lease has a holder, a
// generation that grows by one each time it changes hands, and a duration counted from its last
// renewal on the store's own clock, so the replicas' clocks never matter. Only PostgreSQL
// stores have one (open_lease_store()); a SQLite store has one controller (its lock file).
// Implementations are thread-safe unless they say otherwise.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "api/status.h"

namespace cenv {

struct LeaseRecord {
  std::string holder;                          // "" when released
  int64_t generation = 0;                      // grows by one each time the lease is taken
  int64_t transitions = 0;                     // how many times it was taken
  std::chrono::milliseconds since_renewal{0};  // on the store's clock
  std::chrono::milliseconds duration{0};
  bool expired() const { return holder.empty() || since_renewal >= duration; }
};

class LeaseStore {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  virtual ~LeaseStore() = default;

  // Takes lease `name` for `holder` for `duration` when it is free (never taken, released, or
  // not renewed within its duration): a new generation. Returns the lease as it stands
  // afterwards (holder == `holder` when taken). Unavailable when the store does not answer by
  // `deadline`.
  virtual Result<LeaseRecord> try_acquire(const std::string& name, const std::string& holder,
                                          std::chrono::milliseconds duration,
                                          Deadline deadline) = 0;
  // Renews the lease when `holder` still holds `generation` of it: true; false when it does not
  // (it was taken by another). Unavailable as try_acquire().
  virtual Result<bool> renew(const std::string& name, const std::string& holder, int64_t generation,
                             std::chrono::milliseconds duration, Deadline deadline) = 0;
  // Gives the lease up when `holder` holds `generation` of it, so another replica takes it at
  // once instead of after its duration. Ok when it was not held.
  virtual Status release(const std::string& name, const std::string& holder, int64_t generation,
                         Deadline deadline) = 0;
  // The lease as it stands; nullopt when it was never taken.
  virtual Result<std::optional<LeaseRecord>> read(const std::string& name, Deadline deadline) = 0;
};

}  // namespace cenv
