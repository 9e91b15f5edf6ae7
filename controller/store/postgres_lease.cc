#include "controller/store/postgres_lease.h"

#include "controller/store/libpq.h"
#include "controller/store/postgres_url.h"

namespace cenv {

namespace {

// Takes the lease when it is free: a new generation, renewed now. A holder taking it again (after
// it stepped down without releasing) starts a new generation too, so nothing of its previous
// term passes the fence of the new one.
constexpr const char* kAcquire =
    "INSERT INTO leases(name, holder, generation, renew_time, duration_ms, transitions) "
    "VALUES ($1, $2, 1, clock_timestamp(), $3::bigint, 1) "
    "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
    "generation = leases.generation + 1, renew_time = EXCLUDED.renew_time, "
    "duration_ms = EXCLUDED.duration_ms, transitions = leases.transitions + 1 "
    "WHERE leases.holder = '' OR leases.holder = EXCLUDED.holder OR "
    "leases.renew_time + leases.duration_ms * interval '1 millisecond' <= clock_timestamp()";

constexpr const char* kRenew =
    "UPDATE leases SET renew_time = clock_timestamp(), duration_ms = $4::bigint "
    "WHERE name = $1 AND holder = $2 AND generation = $3::bigint";

constexpr const char* kRelease =
    "UPDATE leases SET holder = '', renew_time = 'epoch' "
    "WHERE name = $1 AND holder = $2 AND generation = $3::bigint";

constexpr const char* kRead =
    "SELECT holder, generation, transitions, "
    "floor(extract(epoch FROM clock_timestamp() - renew_time) * 1000)::bigint, duration_ms "
    "FROM leases WHERE name = $1";

int64_t affected(const PGresult* r) {
  const char* n = pq().PQcmdTuples(const_cast<PGresult*>(r));
  return n && *n ? std::stoll(n) : 0;
}

}  // namespace

Result<std::unique_ptr<PostgresLeaseStore>> PostgresLeaseStore::open(const std::string& url) {
  auto lib = LibPq::load();
  if (!lib.ok()) return lib.status();
  auto parsed = parse_connection_url(url);
  if (!parsed.ok()) return parsed.status();
  return std::unique_ptr<PostgresLeaseStore>(new PostgresLeaseStore(url, redacted_url(url)));
}

PostgresLeaseStore::PostgresLeaseStore(std::string url, std::string target)
    : link_(std::move(url), std::move(target)) {}

Result<LeaseRecord> PostgresLeaseStore::try_acquire(const std::string& name,
                                                    const std::string& holder,
                                                    std::chrono::milliseconds duration,
                                                    Deadline deadline) {
  std::lock_guard lock(mu_);
  auto r = link_.query(kAcquire, {name, holder, std::to_string(duration.count())}, deadline);
  if (!r.ok()) return r.status();
  auto now = read_locked(name, deadline);
  if (!now.ok()) return now.status();
  if (!now->has_value()) return Status::Internal("postgres: lease " + name + " vanished");
  return std::move(**now);
}

Result<bool> PostgresLeaseStore::renew(const std::string& name, const std::string& holder,
                                       int64_t generation, std::chrono::milliseconds duration,
                                       Deadline deadline) {
  std::lock_guard lock(mu_);
  auto r = link_.query(kRenew,
                       {name, holder, std::to_string(generation), std::to_string(duration.count())},
                       deadline);
  if (!r.ok()) return r.status();
  return affected(r->get()) == 1;
}

Status PostgresLeaseStore::release(const std::string& name, const std::string& holder,
                                   int64_t generation, Deadline deadline) {
  std::lock_guard lock(mu_);
  auto r = link_.query(kRelease, {name, holder, std::to_string(generation)}, deadline);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::optional<LeaseRecord>> PostgresLeaseStore::read(const std::string& name,
                                                            Deadline deadline) {
  std::lock_guard lock(mu_);
  return read_locked(name, deadline);
}

Result<std::optional<LeaseRecord>> PostgresLeaseStore::read_locked(const std::string& name,
                                                                   Deadline deadline) {
  auto r = link_.query(kRead, {name}, deadline);
  if (!r.ok()) return r.status();
  const PGresult* res = r->get();
  if (pq().PQntuples(res) == 0) return std::optional<LeaseRecord>();
  LeaseRecord lease;
  lease.holder = std::string(pg_column(res, 0, 0));
  auto generation = pg_int(res, 0, 1, "lease generation");
  auto transitions = pg_int(res, 0, 2, "lease transitions");
  auto since = pg_int(res, 0, 3, "lease age");
  auto duration = pg_int(res, 0, 4, "lease duration");
  for (const auto* v : {&generation, &transitions, &since, &duration}) {
    if (!v->ok()) return v->status();
  }
  lease.generation = *generation;
  lease.transitions = *transitions;
  lease.since_renewal = std::chrono::milliseconds(*since);
  lease.duration = std::chrono::milliseconds(*duration);
  return std::optional<LeaseRecord>(std::move(lease));
}

}  // namespace cenv
