#pragma once
// Store: where every cenv object lives (DESIGN section 4). One global, monotonically
// increasing revision; each write stores the object, takes the next revision as its
// metadata.resourceVersion and appends an event row; watches resume from that event history.
// Engines: SqliteStore (the default) and PostgresStore; open_store() picks one from a URL.
// No engine type appears here.
// All methods are thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/limits.h"
#include "api/object.h"
#include "api/selector.h"
#include "api/status.h"

namespace cenv {

enum class WriteOp {
  // Stores a new object: AlreadyExists if the key exists. Sets uid, creationTimestamp and
  // generation 1 unless given, and resourceVersion; status is kept as given.
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

// ---- output of CommandRuns (DESIGN section 4) ----

enum class LogStream { kStdout = 1, kStderr = 2 };
const char* log_stream_name(LogStream s);  // "stdout", "stderr"

// Output to append to an object's log: one stream's bytes (not aligned to lines).
struct LogPiece {
  LogStream stream = LogStream::kStdout;
  int attempt = 0;  // which attempt of the run produced it (1-based; 0: not tied to one)
  std::chrono::system_clock::time_point time{};  // when it was read
  std::string data;                              // must not be empty
};

// A stored piece of an object's log. An object's chunks are numbered from 0 without gaps
// (seq); `offset` is the position of the chunk's first byte in the whole log (both streams
// together, in append order), so a reader resumes from a byte offset.
struct LogChunk {
  int64_t seq = 0;
  int64_t offset = 0;
  LogStream stream = LogStream::kStdout;
  int attempt = 0;
  std::chrono::system_clock::time_point time{};
  std::string data;
  int64_t end() const { return offset + static_cast<int64_t>(data.size()); }
};

// What is stored of an object's log.
struct LogSummary {
  int64_t chunks = 0;  // the next seq
  int64_t bytes = 0;   // the next offset
  struct Part {
    int attempt = 0;
    LogStream stream = LogStream::kStdout;
    int64_t bytes = 0;
  };
  std::vector<Part> parts;  // bytes per (attempt, stream), ordered by attempt then stream

  // Bytes stored for `attempt` and `stream` (0 when none).
  int64_t bytes_of(int attempt, LogStream stream) const;
};

// Invalid when `uid` is empty or a piece is empty, of no known stream or larger than
// kMaxLogChunkBytes (api/limits.h); for engines.
Status check_log_pieces(const std::string& uid, std::span<const LogPiece> pieces);
// `pieces` with every piece larger than kMaxLogChunkBytes split into pieces of at most that
// size (same stream, attempt and time; nothing dropped), in order.
std::vector<LogPiece> split_log_pieces(std::span<const LogPiece> pieces);

class Store {
 public:
  virtual ~Store() = default;

  // Applies every write in one transaction, all or nothing. Returns the stored objects (with
  // their new resourceVersion) in the order of `writes`; for kDelete the object as it was.
  // On failure nothing is written and the Status names the failing object.
  virtual Result<std::vector<Object>> commit(std::span<const Write> writes) = 0;

  // NotFound when absent.
  virtual Result<Object> get(const ObjectKey& key) = 0;
  // The stored objects of `keys`, in their order, nullopt for each key that is absent: one
  // read where the engine can (PostgreSQL: one round trip instead of one per key). Errors as
  // get() has them, other than NotFound. This default calls get() per key.
  virtual Result<std::vector<std::optional<Object>>> get_many(std::span<const ObjectKey> keys);
  // get_many() with each object's memory from `storage` (a shared monotonic arena, so that many
  // objects read and dropped together cost few allocations; each object keeps `storage` alive).
  // Same results and errors as get_many(). This default calls get_many() and ignores `storage`.
  virtual Result<std::vector<std::optional<Object>>> get_many_into(
      std::span<const ObjectKey> keys, boost::json::storage_ptr storage);
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

  // Logs, keyed by the owning object's uid. Deleting the object (commit) deletes its log in
  // the same transaction. An object's log has one writer at a time (its reconciler); readers
  // may read while it appends.
  //
  // Appends `pieces` in one transaction as the next chunks of `uid`'s log and returns the
  // log's size in bytes after it. Invalid for an empty piece or uid.
  virtual Result<int64_t> append_log(const std::string& uid, std::span<const LogPiece> pieces) = 0;
  // Chunks of `uid`'s log from byte `offset` on, in order, about `max_bytes` at most (always
  // at least one chunk when there is output past `offset`). The first chunk is cut to start
  // exactly at `offset`. Empty when nothing is stored past `offset` (or no such log).
  virtual Result<std::vector<LogChunk>> read_log(const std::string& uid, int64_t offset,
                                                 size_t max_bytes) = 0;
  // The summary of `uid`'s log (all zero when there is none).
  virtual Result<LogSummary> log_summary(const std::string& uid) = 0;
  // Deletes `uid`'s log; Ok when there is none.
  virtual Status delete_log(const std::string& uid) = 0;
  // Deletes the chunks of `uid`'s log written by attempts before `keep_from_attempt` (an
  // Environment's old builds); the rest keep their offsets, and a read from an offset that
  // was trimmed starts at the first chunk kept. Ok when there are none.
  virtual Status trim_log(const std::string& uid, int keep_from_attempt) = 0;

  // Source archives: module sources the CLI packed (a tar of the module's folder), stored by
  // their content digest ("sha256:<64 hex>", computed and checked by the caller), so the same
  // folder is stored once however often it is applied. Kept until deleted explicitly.
  //
  // Stores `bytes` under `digest`; Ok without writing when the digest is already stored.
  // Invalid for an empty digest.
  virtual Status put_archive(const std::string& digest, std::string_view bytes) = 0;
  // The bytes stored under `digest`; NotFound when there are none.
  virtual Result<std::string> get_archive(const std::string& digest) = 0;
  // Whether `digest` is stored.
  virtual Result<bool> has_archive(const std::string& digest) = 0;
  // Every stored digest, in byte order (for copying a store).
  virtual Result<std::vector<std::string>> list_archives() = 0;

  // Convenience wrappers over commit() for one write.
  Result<Object> create(const Object& obj);
  Result<Object> update(const Object& obj);
  Result<Object> update_status(const Object& obj);
  Result<Object> remove(const Object& obj);
};

}  // namespace cenv
