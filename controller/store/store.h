#pragma once
// Store: where every cenv object lives (DESIGN section 4). One global, monotonically
// increasing revision; each write stores the object, takes the next revision as its
// metadata.resourceVersion and appends an event row; watches resume from that event history.
// Engines: SqliteStore (default), PostgresStore (later). No engine type appears here.
// All methods are thread-safe.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "api/object.h"
#include "api/selector.h"
#include "api/status.h"

namespace cenv {

enum class WriteOp {
  // Stores a new object: AlreadyExists if the key exists. Sets uid (unless given),
  // creationTimestamp, generation 1 and resourceVersion; status is kept as given.
  kCreate,
  // Replaces metadata and spec of an existing object (NotFound if missing). When the object
  // carries metadata.resourceVersion it must equal the stored one (else Conflict). uid and
  // creationTimestamp are kept from the stored object; status is kept from the stored object;
  // generation is bumped only when spec changed. A write that changes nothing is not stored
  // and takes no revision.
  kUpdate,
  // Replaces status only (the status path); same precondition rules as kUpdate.
  kUpdateStatus,
  // Removes the object (NotFound if missing); resourceVersion precondition as kUpdate.
  kDelete,
};

struct Write {
  WriteOp op;
  Object object;  // for kDelete only kind/namespace/name/resourceVersion matter
};

enum class EventType { kAdded, kModified, kDeleted };
const char* event_type_name(EventType t);  // "ADDED", "MODIFIED", "DELETED"

struct WatchEvent {
  int64_t revision = 0;
  EventType type = EventType::kAdded;
  Object object;  // for kDeleted: the object as it was last stored
};

struct ListOptions {
  std::string kind;        // required
  std::string ns;          // empty: every namespace
  LabelSelector selector;  // empty: everything
};

struct ObjectList {
  std::vector<Object> items;  // ordered by namespace, then name
  int64_t revision = 0;       // the store revision the list was read at
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies every write in one transaction, all or nothing. Returns the stored objects (with
  // their new resourceVersion) in the order of `writes`; for kDelete the object as it was.
  // On failure nothing is written and the Status names the failing object.
  virtual Result<std::vector<Object>> commit(std::span<const Write> writes) = 0;

  // NotFound when absent.
  virtual Result<Object> get(const ObjectKey& key) = 0;
  virtual Result<ObjectList> list(const ListOptions& options) = 0;

  // Events with revision > `after`, oldest first, at most `limit`. Gone when `after` is older
  // than the compacted history (the caller must relist).
  virtual Result<std::vector<WatchEvent>> events_since(int64_t after, size_t limit) = 0;
  // Drops event history at or below `revision` (objects themselves are kept). A no-op when
  // already compacted that far; Invalid when `revision` is newer than revision().
  virtual Status compact(int64_t revision) = 0;
  // The newest revision written (0 for an empty store).
  virtual Result<int64_t> revision() = 0;
  // The oldest revision still in the event history minus one: events_since(x) is Gone for
  // x < compacted_revision().
  virtual Result<int64_t> compacted_revision() = 0;

  // Convenience wrappers over commit() for one write.
  Result<Object> create(const Object& obj);
  Result<Object> update(const Object& obj);
  Result<Object> update_status(const Object& obj);
  Result<Object> remove(const Object& obj);
};

}  // namespace cenv
