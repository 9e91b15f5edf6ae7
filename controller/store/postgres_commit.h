#pragma once
// The write transactions of PostgresStore: commit() and compact(). Both lock meta's "revision"
// row (SELECT ... FOR UPDATE) for their transaction, so writers in every process sharing the
// database serialise and the revision stays gap-free; a commit reads the stored objects (for
// the resourceVersion checks) after taking the lock.

#include <cstdint>
#include <span>
#include <vector>

#include "api/clock.h"
#include "api/object.h"
#include "api/status.h"
#include "controller/store/postgres_connection.h"
#include "controller/store/postgres_store.h"
#include "controller/store/store.h"

namespace cenv {

// Applies `writes` in one transaction on `c`: lock, read the keys, apply_write() in memory,
// then write events, objects, the deleted objects' logs and the revision (compacting past
// options.auto_compact_keep) in one pipeline with the COMMIT. Returns the stored objects in
// the order of `writes`. Sets `retry_safe` to false once COMMIT has been sent: a lost
// connection then leaves the outcome unknown (said in the Unavailable message). On failure
// the transaction may be left open for the caller to roll back.
Result<std::vector<Object>> postgres_commit(PostgresConnection& c, std::span<const Write> writes,
                                            const Clock& clock, const PostgresStoreOptions& options,
                                            bool& retry_safe);

// Drops the event history at or below `revision` in one transaction on `c`. Invalid when
// `revision` is newer than the current revision; a no-op when already compacted past it.
Status postgres_compact(PostgresConnection& c, int64_t revision);

}  // namespace cenv
