#pragma once
// PostgresLeaseStore: LeaseStore on the `leases` table of a cenv PostgreSQL database (schema
// version 4, postgres_schema.cc). Each call is one statement on its own connection
// (PostgresLink), under the caller's deadline, so a server that stops answering makes a renewal
// fail in time instead of hanging. Times are the server's (clock_timestamp()).
// Thread-safe (one call at a time).

#include <memory>
#include <mutex>
#include <string>

#include "controller/store/lease_store.h"
#include "controller/store/postgres_link.h"

namespace cenv {

class PostgresLeaseStore final : public LeaseStore {
 public:
  // For the database at `url` (a postgres:// URI whose schema PostgresStore::open() has made).
  // Does not connect yet. Invalid when the URL does not parse.
  static Result<std::unique_ptr<PostgresLeaseStore>> open(const std::string& url);

  Result<LeaseRecord> try_acquire(const std::string& name, const std::string& holder,
                                  std::chrono::milliseconds duration, Deadline deadline) override;
  Result<bool> renew(const std::string& name, const std::string& holder, int64_t generation,
                     std::chrono::milliseconds duration, Deadline deadline) override;
  Status release(const std::string& name, const std::string& holder, int64_t generation,
                 Deadline deadline) override;
  Result<std::optional<LeaseRecord>> read(const std::string& name, Deadline deadline) override;

 private:
  PostgresLeaseStore(std::string url, std::string target);
  Result<std::optional<LeaseRecord>> read_locked(const std::string& name, Deadline deadline);

  std::mutex mu_;
  PostgresLink link_;  // guarded by mu_
};

}  // namespace cenv
