#pragma once
// SqliteStore: the Store engine on one SQLite file in WAL mode (DESIGN section 4), the default
// for the local controller ($CENV_HOME/cenv.db).
//
// Tables (schema version in PRAGMA user_version, see kSqliteSchemaVersion):
//   objects(kind, namespace, name, uid, revision, labels, data)  one row per stored object
//   events(revision, type, kind, namespace, name, data)          the watch history
//   meta(key, value)  "revision" (newest written) and "compacted_revision"
//   log_chunks(uid, seq, byte_offset, stream, attempt, time_ns, data)  objects' output (v2)
//   archives(digest, size, data)  module sources by content digest (v3)
// Cluster-scoped objects have namespace ''. `data` is the object's JSON text; `labels` the
// JSON text of metadata.labels (NULL when it has none).
//
// Thread-safe: one connection guarded by a mutex serialises every call. Other processes may
// open the same file; writers wait for each other up to busy_timeout. A background thread with
// a connection of its own copies the WAL into the database file (a PASSIVE checkpoint, which
// waits for no reader or writer), so that no commit stalls for that copy and its fsync (SQLite's
// default makes the commit that passes 1,000 WAL pages do it: 10-100 ms every ~300 small
// commits here, seen as write and watch latency spikes).

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/clock.h"
#include "controller/store/store.h"
#include "controller/store/write_semantics.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cenv {

inline constexpr int kSqliteSchemaVersion = 3;

struct SqliteStoreOptions {
  // How long a write waits for another process holding the database's write lock before it
  // fails with Unavailable. Default 5 s.
  std::chrono::milliseconds busy_timeout{5000};
  // Keeps at least this many newest events: when the history grows past it by 10%, commit()
  // compacts it back to this size in the same transaction. 0 disables auto-compaction.
  // Default 100000.
  int64_t auto_compact_keep = 100000;
  // The background thread checkpoints this often (a PASSIVE checkpoint of an already copied
  // WAL costs a look at its header). 0: no thread; commits checkpoint as SQLite does by
  // default. Default 200 ms.
  std::chrono::milliseconds checkpoint_interval{200};
  // Makes metadata.uid for created objects that carry none. Empty (the default):
  // random_uuid_v4(). Called under the store's lock.
  UidGenerator uid_generator;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when missing) the database at `path` and migrates its schema to
  // kSqliteSchemaVersion. ":memory:" gives a private in-memory database (no WAL).
  // Unavailable when the file cannot be opened or locked; FailedPrecondition when its schema
  // is newer than this binary knows; Internal on other SQLite errors. `clock` must outlive
  // the store.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, const Clock& clock,
                                                   SqliteStoreOptions options = {});
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Store. Failures of the rules (write_semantics.h) are returned as apply_write() words
  // them (each names its object); SQLite failures are Internal or Unavailable (database
  // locked), prefixed with the failing object when one is being written.
  Result<std::vector<Object>> commit(std::span<const Write> writes) override;
  Result<Object> get(const ObjectKey& key) override;
  // Every key in one read transaction (one snapshot), under one hold of the lock.
  Result<std::vector<std::optional<Object>>> get_many(std::span<const ObjectKey> keys) override;
  Result<std::vector<std::optional<Object>>> get_many_into(
      std::span<const ObjectKey> keys, boost::json::storage_ptr storage) override;
  Result<ObjectList> list(const ListOptions& options) override;
  Result<std::vector<WatchEvent>> events_since(int64_t after, size_t limit) override;
  // Invalid when `revision` is newer than revision(); a no-op when already compacted past it.
  Status compact(int64_t revision) override;
  Result<int64_t> revision() override;
  Result<int64_t> compacted_revision() override;
  Result<int64_t> append_log(const std::string& uid, std::span<const LogPiece> pieces) override;
  Result<std::vector<LogChunk>> read_log(const std::string& uid, int64_t offset,
                                         size_t max_bytes) override;
  Result<LogSummary> log_summary(const std::string& uid) override;
  Status delete_log(const std::string& uid) override;
  Status trim_log(const std::string& uid, int keep_from_attempt) override;
  Status put_archive(const std::string& digest, std::string_view bytes) override;
  Result<std::string> get_archive(const std::string& digest) override;
  Result<bool> has_archive(const std::string& digest) override;
  Result<std::vector<std::string>> list_archives() override;

  const std::string& path() const { return path_; }
  // Checkpoints the background thread has done (for tests).
  int64_t checkpoints() const;

 private:
  SqliteStore(std::string path, const Clock& clock, SqliteStoreOptions options);

  Status init();
  Status migrate();
  Status exec(const char* sql);
  // A Status for the connection's last error: Unavailable when the database is busy or
  // locked, Internal otherwise; "sqlite: <what>: <message>".
  Status error(int rc, const char* what) const;
  // The cached prepared statement `id` (an index into sqlite_store.cc's statement table).
  sqlite3_stmt* statement(int id) const { return stmts_[id]; }
  // Runs a statement that returns no rows (BEGIN, COMMIT, ...).
  Status run(int id);
  // Ends a failed transaction; safe when SQLite has already rolled it back.
  void rollback();

  Result<int64_t> read_meta(const char* key);
  Status write_meta(const char* key, int64_t value);
  // The stored object of `key` (nullopt when absent), its memory from `storage`.
  Result<std::optional<Object>> read_object(const ObjectKey& key,
                                            boost::json::storage_ptr storage = {});
  Status compact_locked(int64_t revision, int64_t current);
  Status maybe_auto_compact(int64_t current);
  Result<std::vector<Object>> commit_locked(std::span<const Write> writes);

  const std::string path_;
  const Clock& clock_;
  const SqliteStoreOptions options_;
  class Checkpointer;
  std::unique_ptr<Checkpointer> checkpointer_;  // null for ":memory:" or interval 0

  std::mutex mu_;
  sqlite3* db_ = nullptr;             // guarded by mu_
  std::vector<sqlite3_stmt*> stmts_;  // guarded by mu_; owned, finalized by ~SqliteStore
};

}  // namespace cenv
