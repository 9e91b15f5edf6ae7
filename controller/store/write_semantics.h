#pragma once
// The rules of a store write (store.h, WriteOp), independent of any engine: every engine reads
// the stored object inside its transaction, calls apply_write() and stores what it returns, so
// SQLite and PostgreSQL behave identically. Pure functions; thread-safe.

#include <cstdint>
#include <functional>
#include <string>

#include "api/clock.h"
#include "api/object.h"
#include "api/status.h"
#include "controller/store/store.h"

namespace cenv {

// Returns a new metadata.uid. Must be thread-safe when the store is shared between threads.
using UidGenerator = std::function<std::string()>;

// A random RFC 4122 version 4 UUID ("0b5c6f4e-8f1a-4c7e-9d2b-3a1f0e6d5c4b") from OpenSSL's
// CSPRNG. Thread-safe. Aborts only if the CSPRNG cannot be seeded at all.
std::string random_uuid_v4();

// What an engine must do for one write.
struct WriteOutcome {
  // false: an update that changes nothing but metadata.resourceVersion. The engine writes
  // nothing, consumes no revision and returns `object` (the stored object) to the caller.
  bool changed = true;
  // The object to store (kAdded, kModified) or the object as it was last stored (kDeleted).
  // Its metadata.resourceVersion is the new revision, except for kDeleted and !changed.
  Object object;
  EventType type = EventType::kAdded;
};

// Applies `write` to `stored` (nullptr when no object has write.object's key) at revision
// `revision`, the revision the write takes if it changes anything.
// Errors, each naming the object (Kubernetes' wording):
//   Invalid        kind or metadata.name missing; resourceVersion set on create
//   AlreadyExists  create of an existing key
//   NotFound       update, update_status or delete of a missing key
//   Conflict       the write carries a metadata.resourceVersion other than the stored one
// `clock` stamps creationTimestamp on create; `new_uid` is called on create when the object
// has no metadata.uid.
Result<WriteOutcome> apply_write(const Write& write, const Object* stored, int64_t revision,
                                 const Clock& clock, const UidGenerator& new_uid);

}  // namespace cenv
