#pragma once
// PostgresStore: the Store engine on a PostgreSQL database through libpq (DESIGN section 4),
// for several controllers sharing one store or a store bigger than a local file should hold.
// It follows the same rules as SqliteStore (write_semantics.h): same errors, same revisions,
// same compaction.
//
// Tables (postgres_schema.h; schema version in schema_version, see kPostgresSchemaVersion):
//   objects(kind, namespace, name, uid, revision, labels, data)  one row per stored object
//   events(revision, type, kind, namespace, name, data)          the watch history
//   meta(key, value)  "revision" (newest written) and "compacted_revision"
//   log_chunks(uid, seq, byte_offset, stream, attempt, time_ns, data)  objects' output (v2)
//   archives(digest, size, data)                                   module sources (v3)
//   leases(name, holder, generation, renew_time, duration_ms, transitions)  leader lease (v4)
// Text columns that order or identify objects use the "C" collation, so lists come back in
// byte order whatever the database's locale. Cluster-scoped objects have namespace ''.
//
// The revision is global and gap-free across every process sharing the database: commit()
// and compact() lock meta's "revision" row (SELECT ... FOR UPDATE) for their transaction, so
// writers serialise, and read the stored objects (for the resourceVersion check) after
// taking the lock (postgres_commit.h). Each call runs on a PostgresConnection
// (postgres_connection.h), in one pipelined round trip where it can.
//
// Thread-safe: a pool of connections, each used by one call at a time, so reads do not wait
// behind a commit. A connection the server dropped is reset on its next use.
// Never shows the URL's password: every message uses redacted_url().

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/clock.h"
#include "controller/store/postgres_schema.h"
#include "controller/store/postgres_url.h"
#include "controller/store/store.h"
#include "controller/store/write_semantics.h"

namespace cenv {

class PostgresConnection;

struct PostgresStoreOptions {
  // Connections in the pool: at most this many calls run at once, the rest wait. Opened
  // lazily, the first by open(). Default 4; values below 1 mean 1.
  int pool_size = 4;
  // How long opening a connection may take (libpq connect_timeout, whole seconds, at least
  // 2); a connect_timeout in the URL wins. Default 10 s.
  std::chrono::seconds connect_timeout{10};
  // How long a write waits for another writer (in this or another process) holding the
  // revision lock before it fails with Unavailable (PostgreSQL lock_timeout). Default 5 s,
  // as SqliteStoreOptions::busy_timeout.
  std::chrono::milliseconds lock_timeout{5000};
  // Longest a single statement may run before it fails with Unavailable (PostgreSQL
  // statement_timeout). 0 disables. Default 60 s.
  std::chrono::milliseconds statement_timeout{60000};
  // Keeps at least this many newest events: when the history grows past it by 10%, commit()
  // compacts it back to this size in the same transaction. 0 disables auto-compaction.
  // Default 100000 (as SqliteStoreOptions).
  int64_t auto_compact_keep = 100000;
  // Makes metadata.uid for created objects that carry none. Empty (the default):
  // random_uuid_v4(). May be called from several threads at once.
  UidGenerator uid_generator;
};

class PostgresStore final : public Store {
 public:
  // Connects to `url`, a libpq connection URI (postgres://user:pass@host:port/db?sslmode=...)
  // or key=value string ("host=... dbname=..."), and creates or migrates the schema to
  // kPostgresSchemaVersion (idempotent; concurrent opens of one database are safe).
  // Invalid when `url` does not parse; Unavailable (with libpq's reason) when the server
  // cannot be reached or refuses the connection; FailedPrecondition when the database's
  // schema is newer than this binary knows; Internal on other SQL errors. `clock` must
  // outlive the store.
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url, const Clock& clock,
                                                     PostgresStoreOptions options = {});
  ~PostgresStore() override;

  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // Store. Failures of the rules (write_semantics.h) are returned as apply_write() words
  // them (each names its object). A lost or unreachable server, a lock or statement timeout
  // and a serialisation failure are Unavailable (retry later); other PostgreSQL errors are
  // Internal. Messages start with "postgres: ".
  Result<std::vector<Object>> commit(std::span<const Write> writes) override;
  Result<Object> get(const ObjectKey& key) override;
  // One SELECT joining the keys as arrays: one round trip for any number of keys.
  Result<std::vector<std::optional<Object>>> get_many(std::span<const ObjectKey> keys) override;
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

  // The URL the store was opened with, password masked (redacted_url()).
  const std::string& url() const { return redacted_url_; }

 private:
  class Lease;  // a PostgresConnection borrowed from the pool for one call

  PostgresStore(std::string url, const Clock& clock, PostgresStoreOptions options);

  // Borrows a healthy connection: an idle one (reset if the server dropped it), a new one
  // while the pool is below pool_size, or waits for one. Unavailable when it cannot connect.
  Result<Lease> acquire();
  void release(std::unique_ptr<PostgresConnection> c);
  // A new connection to url_; with `prepare`, set up for use (not before the schema exists).
  Result<std::unique_ptr<PostgresConnection>> connect(bool prepare);
  // `s` with every occurrence of the URL's password masked.
  Status redact(const Status& s) const;

  // Runs op(connection, retry_safe) on a borrowed connection and ends any transaction it
  // left open. When it fails because the connection was lost and op left retry_safe true,
  // runs it once more on a fresh connection.
  template <typename T, typename Op>
  Result<T> with_connection(Op op);
  Result<int64_t> read_meta(const char* key);

  const std::string url_;           // secret: never put it in a message
  std::string password_;            // url_'s password, masked in every message; set by open()
  const std::string redacted_url_;  // for messages
  const Clock& clock_;
  const PostgresStoreOptions options_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<PostgresConnection>> idle_;  // guarded by mu_
  int open_connections_ = 0;                               // guarded by mu_; idle plus lent out
};

}  // namespace cenv
