#include "controller/store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <stop_token>
#include <string_view>
#include <thread>
#include <utility>

#include "controller/store/stored_rows.h"

namespace cenv {

namespace json = boost::json;

namespace {

constexpr const char* kRevisionKey = "revision";
constexpr const char* kCompactedKey = "compacted_revision";

// Schema version 1. Every statement is idempotent, so a half-applied migration (impossible
// inside one transaction, but cheap to guard) re-runs cleanly.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS objects (
  kind      TEXT    NOT NULL,
  namespace TEXT    NOT NULL,
  name      TEXT    NOT NULL,
  uid       TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  labels    TEXT,
  data      TEXT    NOT NULL,
  PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
  revision  INTEGER PRIMARY KEY,
  type      TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  namespace TEXT    NOT NULL,
  name      TEXT    NOT NULL,
  data      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('revision', 0), ('compacted_revision', 0);
PRAGMA user_version = 1;
)sql";

// Schema version 2: CommandRun output in chunks (store.h, LogChunk). `byte_offset` is the
// chunk's position in the object's whole log; `time_ns` Unix nanoseconds.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS log_chunks (
  uid         TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  stream      INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  time_ns     INTEGER NOT NULL,
  data        BLOB    NOT NULL,
  PRIMARY KEY (uid, seq)
);
CREATE INDEX IF NOT EXISTS log_chunks_by_offset ON log_chunks(uid, byte_offset);
PRAGMA user_version = 2;
)sql";

// Schema version 3: source archives by content digest (store.h, put_archive).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS archives (
  digest TEXT    PRIMARY KEY,
  size   INTEGER NOT NULL,
  data   BLOB    NOT NULL
);
PRAGMA user_version = 3;
)sql";

// The prepared statements, cached on the connection for its lifetime.
enum Stmt : int {
  kBeginWrite,
  kBeginRead,
  kCommit,
  kRollback,
  kGetMeta,
  kSetMeta,
  kGetObject,
  kPutObject,
  kDeleteObject,
  kInsertEvent,
  kListAll,
  kListNamespace,
  kEventsSince,
  kDeleteEvents,
  kLogTail,
  kInsertLog,
  kReadLog,
  kLogSummary,
  kDeleteLog,
  kTrimLog,
  kPutArchive,
  kGetArchive,
  kHasArchive,
  kListArchives,
  kStmtCount,
};

constexpr const char* kStmtSql[kStmtCount] = {
    "BEGIN IMMEDIATE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SELECT value FROM meta WHERE key = ?1",
    "INSERT INTO meta(key, value) VALUES (?1, ?2) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    "SELECT data FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
    "INSERT INTO objects(kind, namespace, name, uid, revision, labels, data) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT(kind, namespace, name) DO UPDATE SET uid = excluded.uid, "
    "revision = excluded.revision, labels = excluded.labels, data = excluded.data",
    "DELETE FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
    "INSERT INTO events(revision, type, kind, namespace, name, data) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "SELECT labels, data FROM objects WHERE kind = ?1 ORDER BY namespace, name",
    "SELECT labels, data FROM objects WHERE kind = ?1 AND namespace = ?2 ORDER BY name",
    "SELECT revision, type, data FROM events WHERE revision > ?1 ORDER BY revision LIMIT ?2",
    "DELETE FROM events WHERE revision <= ?1",
    "SELECT seq, byte_offset + length(data) FROM log_chunks WHERE uid = ?1 "
    "ORDER BY seq DESC LIMIT 1",
    "INSERT INTO log_chunks(uid, seq, byte_offset, stream, attempt, time_ns, data) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    // From the chunk holding byte ?2 (the last starting at or before it) on.
    "SELECT seq, byte_offset, stream, attempt, time_ns, data FROM log_chunks "
    "WHERE uid = ?1 AND byte_offset >= coalesce((SELECT max(byte_offset) FROM log_chunks "
    "WHERE uid = ?1 AND byte_offset <= ?2), 0) ORDER BY byte_offset",
    "SELECT attempt, stream, count(*), sum(length(data)) FROM log_chunks WHERE uid = ?1 "
    "GROUP BY attempt, stream ORDER BY attempt, stream",
    "DELETE FROM log_chunks WHERE uid = ?1",
    "DELETE FROM log_chunks WHERE uid = ?1 AND attempt < ?2",
    "INSERT INTO archives(digest, size, data) VALUES (?1, ?2, ?3) ON CONFLICT(digest) DO NOTHING",
    "SELECT data FROM archives WHERE digest = ?1",
    "SELECT 1 FROM archives WHERE digest = ?1",
    "SELECT digest FROM archives ORDER BY digest",
};

// One use of a cached statement: binds, steps, and on destruction resets it (so no read
// lock outlives the call) and clears its bindings. Bound text must outlive the Use.
class Use {
 public:
  explicit Use(sqlite3_stmt* s) : s_(s) {}
  ~Use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  Use& text(int i, std::string_view v) {
    keep(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  Use& integer(int i, int64_t v) {
    keep(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Use& blob(int i, std::string_view v) {
    keep(sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_STATIC));
    return *this;
  }
  Use& null(int i) {
    keep(sqlite3_bind_null(s_, i));
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code (a failed bind included).
  int step() { return rc_ != SQLITE_OK ? rc_ : sqlite3_step(s_); }

  int64_t column_int(int i) const { return sqlite3_column_int64(s_, i); }
  bool column_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
  std::string_view column_blob(int i) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, i));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }
  std::string_view column_text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }

 private:
  void keep(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
  }
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
};

// The engine's name in messages of stored_rows.h.
constexpr std::string_view kEngine = "sqlite";

}  // namespace

// Copies the WAL into the database file every interval from a connection of its own.
class SqliteStore::Checkpointer {
 public:
  Checkpointer(sqlite3* db, std::chrono::milliseconds interval)
      : db_(db), interval_(interval), thread_([this](std::stop_token stop) { run(stop); }) {}
  ~Checkpointer() {
    thread_.request_stop();
    thread_.join();
    sqlite3_close_v2(db_);
  }
  int64_t done() const { return done_.load(); }

 private:
  void run(std::stop_token stop) {
    std::mutex mu;
    std::unique_lock lock(mu);
    while (!cv_.wait_for(lock, stop, interval_, [] { return false; }) && !stop.stop_requested()) {
      // PASSIVE: copies what no reader still needs, waits for nobody. Errors (the file went
      // away, the disk is full) are left for the commits to report.
      int log = 0, copied = 0;
      int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      // log is -1 when the connection does not see the database in WAL mode.
      if (rc == SQLITE_OK && log >= 0) done_.fetch_add(1);
    }
  }

  sqlite3* const db_;
  const std::chrono::milliseconds interval_;
  std::condition_variable_any cv_;
  std::atomic<int64_t> done_{0};
  std::jthread thread_;  // last: started once the members above exist
};

SqliteStore::SqliteStore(std::string path, const Clock& clock, SqliteStoreOptions options)
    : path_(std::move(path)), clock_(clock), options_(std::move(options)) {}

int64_t SqliteStore::checkpoints() const { return checkpointer_ ? checkpointer_->done() : 0; }

SqliteStore::~SqliteStore() {
  checkpointer_.reset();
  for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
  if (db_) sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, const Clock& clock,
                                                       SqliteStoreOptions options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, clock, std::move(options)));
  CENV_RETURN_IF_ERROR(store->init());
  return store;
}

Status SqliteStore::error(int rc, const char* what) const {
  std::string msg =
      std::string("sqlite: ") + what + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

Status SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  std::string text = "sqlite: " + std::string(sql).substr(0, 40) + ": " + msg;
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable(text);
  return Status::Internal(text);
}

namespace {

// A connection to `path` (`flags` plus NOMUTEX), or Unavailable naming the file, `purpose`
// (" to checkpoint", say) and SQLite's reason.
Result<sqlite3*> open_connection(const std::string& path, int flags, const char* purpose) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc == SQLITE_OK) return db;
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  sqlite3_close_v2(db);
  return Status::Unavailable("sqlite: cannot open " + path + purpose + ": " + msg);
}

// Creates the database file at `path`, when missing, readable and writable by its owner only
// (it holds every object, secrets included). SQLite would create it 0644 less the umask; the
// WAL and shared memory files it creates beside it take the database file's mode, so they
// follow. An existing file keeps its mode. A file that cannot be created here is left
// for SQLite to report when it opens it.
void create_owner_only(const std::string& path) {
  if (path.empty() || path == ":memory:") return;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

}  // namespace

Status SqliteStore::init() {
  create_owner_only(path_);
  auto opened = open_connection(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "");
  if (!opened.ok()) return opened.status();
  db_ = opened.value();
  int rc = SQLITE_OK;
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(std::clamp<int64_t>(options_.busy_timeout.count(), 0,
                                                                 std::numeric_limits<int>::max())));
  // WAL: readers never block the writer; NORMAL: no fsync per commit (a power loss may lose
  // the last commits, never corrupt the file).
  CENV_RETURN_IF_ERROR(exec("PRAGMA journal_mode = WAL"));
  CENV_RETURN_IF_ERROR(exec("PRAGMA synchronous = NORMAL"));
  CENV_RETURN_IF_ERROR(exec("PRAGMA foreign_keys = OFF"));
  // A WAL that once grew large (a 10,000-object apply) is cut back to this when it restarts.
  CENV_RETURN_IF_ERROR(exec("PRAGMA journal_size_limit = 67108864"));
  CENV_RETURN_IF_ERROR(migrate());
  if (options_.checkpoint_interval.count() > 0 && path_ != ":memory:") {
    auto second = open_connection(path_, SQLITE_OPEN_READWRITE, " to checkpoint");
    if (!second.ok()) return second.status();
    sqlite3* ckpt = second.value();
    // A connection reads the database header (and so finds its WAL) on first use only.
    rc = sqlite3_exec(ckpt, "PRAGMA schema_version", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(ckpt);
      sqlite3_close_v2(ckpt);
      return Status::Unavailable("sqlite: cannot read " + path_ + " to checkpoint: " + msg);
    }
    // The commits no longer checkpoint; the background thread does.
    sqlite3_wal_autocheckpoint(db_, 0);
    checkpointer_ = std::make_unique<Checkpointer>(ckpt, options_.checkpoint_interval);
  }

  stmts_.assign(kStmtCount, nullptr);
  for (int i = 0; i < kStmtCount; ++i) {
    rc = sqlite3_prepare_v3(db_, kStmtSql[i], -1, SQLITE_PREPARE_PERSISTENT, &stmts_[i], nullptr);
    if (rc != SQLITE_OK) return error(rc, kStmtSql[i]);
  }
  return Status::Ok();
}

Status SqliteStore::migrate() {
  CENV_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  auto done = [&](Status s) {
    if (!s.ok()) {
      if (!sqlite3_get_autocommit(db_)) (void)exec("ROLLBACK");
      return s;
    }
    return exec("COMMIT");
  };
  int version = 0;
  {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &s, nullptr);
    if (rc != SQLITE_OK) return done(error(rc, "PRAGMA user_version"));
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return done(error(rc, "PRAGMA user_version"));
  }
  if (version > kSqliteSchemaVersion) {
    return done(
        Status::FailedPrecondition("sqlite: " + path_ + " has schema version " +
                                   std::to_string(version) + ", newer than this cenv supports (" +
                                   std::to_string(kSqliteSchemaVersion) + "); upgrade cenv"));
  }
  if (version < 1) {
    Status s = exec(kSchemaV1);
    if (!s.ok()) return done(s);
  }
  if (version < 2) {
    Status s = exec(kSchemaV2);
    if (!s.ok()) return done(s);
  }
  if (version < 3) {
    Status s = exec(kSchemaV3);
    if (!s.ok()) return done(s);
  }
  // Later versions: `if (version < 4) exec(kSchemaV4)`, each ending in PRAGMA user_version.
  return done(Status::Ok());
}

Status SqliteStore::run(int id) {
  Use u(statement(id));
  int rc = u.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return error(rc, kStmtSql[id]);
  return Status::Ok();
}

void SqliteStore::rollback() {
  // Some errors (disk full, I/O) end the transaction inside SQLite already.
  if (!sqlite3_get_autocommit(db_)) (void)run(kRollback);
}

Result<int64_t> SqliteStore::read_meta(const char* key) {
  Use u(statement(kGetMeta));
  u.text(1, key);
  int rc = u.step();
  if (rc == SQLITE_ROW) return u.column_int(0);
  if (rc == SQLITE_DONE) return Status::Internal(std::string("sqlite: meta has no ") + key);
  return error(rc, "read meta");
}

Status SqliteStore::write_meta(const char* key, int64_t value) {
  Use u(statement(kSetMeta));
  u.text(1, key).integer(2, value);
  int rc = u.step();
  return rc == SQLITE_DONE ? Status::Ok() : error(rc, "write meta");
}

Result<std::optional<Object>> SqliteStore::read_object(const ObjectKey& key,
                                                       boost::json::storage_ptr storage) {
  Use u(statement(kGetObject));
  u.text(1, key.kind).text(2, key.ns).text(3, key.name);
  int rc = u.step();
  if (rc == SQLITE_DONE) return std::optional<Object>();
  if (rc != SQLITE_ROW) return error(rc, "read object");
  auto obj = Object::from_json(u.column_text(0), std::move(storage));
  // A corrupt row: parse_stored_object() words it (parsing again, on this failure only).
  if (!obj.ok()) return parse_stored_object(kEngine, u.column_text(0), "objects").status();
  return std::optional<Object>(std::move(obj).value());
}

Result<std::vector<Object>> SqliteStore::commit(std::span<const Write> writes) {
  std::lock_guard lock(mu_);
  if (writes.empty()) return std::vector<Object>();
  CENV_RETURN_IF_ERROR(run(kBeginWrite));
  auto result = commit_locked(writes);
  if (!result.ok()) rollback();
  return result;
}

Result<std::vector<Object>> SqliteStore::commit_locked(std::span<const Write> writes) {
  auto start = read_meta(kRevisionKey);
  if (!start.ok()) return start.status();
  int64_t rev = *start;

  std::vector<Object> out;
  out.reserve(writes.size());
  std::string data, labels;
  for (const Write& w : writes) {
    const ObjectKey key = w.object.key();
    auto engine_error = [&](const Status& s) { return s.with_prefix(key.to_string()); };

    auto stored = read_object(key);
    if (!stored.ok()) return engine_error(stored.status());
    auto outcome = apply_write(w, stored->has_value() ? &**stored : nullptr, rev + 1, clock_,
                               options_.uid_generator);
    if (!outcome.ok()) return outcome.status();  // names the object already
    WriteOutcome& o = *outcome;
    if (!o.changed) {
      out.push_back(std::move(o.object));
      continue;
    }
    ++rev;
    data = o.object.to_json();

    if (o.type == EventType::kDeleted) {
      Use u(statement(kDeleteObject));
      u.text(1, key.kind).text(2, key.ns).text(3, key.name);
      int rc = u.step();
      if (rc != SQLITE_DONE) return engine_error(error(rc, "delete object"));
      // The object's log goes with it.
      Use logs(statement(kDeleteLog));
      logs.text(1, o.object.uid());
      rc = logs.step();
      if (rc != SQLITE_DONE) return engine_error(error(rc, "delete log"));
    } else {
      Use u(statement(kPutObject));
      u.text(1, key.kind).text(2, key.ns).text(3, key.name).text(4, o.object.uid());
      u.integer(5, rev);
      if (const json::object* l = o.object.labels()) {
        labels = json::serialize(*l);
        u.text(6, labels);
      } else {
        u.null(6);
      }
      u.text(7, data);
      int rc = u.step();
      if (rc != SQLITE_DONE) return engine_error(error(rc, "store object"));
    }
    {
      Use u(statement(kInsertEvent));
      u.integer(1, rev).text(2, event_type_name(o.type));
      u.text(3, key.kind).text(4, key.ns).text(5, key.name).text(6, data);
      int rc = u.step();
      if (rc != SQLITE_DONE) return engine_error(error(rc, "append event"));
    }
    out.push_back(std::move(o.object));
  }

  if (rev != *start) {
    CENV_RETURN_IF_ERROR(write_meta(kRevisionKey, rev));
    CENV_RETURN_IF_ERROR(maybe_auto_compact(rev));
  }
  CENV_RETURN_IF_ERROR(run(kCommit));
  return out;
}

Status SqliteStore::maybe_auto_compact(int64_t current) {
  const int64_t keep = options_.auto_compact_keep;
  if (keep <= 0) return Status::Ok();
  auto compacted = read_meta(kCompactedKey);
  if (!compacted.ok()) return compacted.status();
  // Every revision above the compacted one has exactly one event row.
  if (current - *compacted <= keep + keep / 10) return Status::Ok();
  return compact_locked(current - keep, current);
}

Status SqliteStore::compact_locked(int64_t revision, int64_t current) {
  CENV_RETURN_IF_ERROR(check_compact_revision(revision, current));
  auto compacted = read_meta(kCompactedKey);
  if (!compacted.ok()) return compacted.status();
  if (revision <= *compacted) return Status::Ok();
  {
    Use u(statement(kDeleteEvents));
    u.integer(1, revision);
    int rc = u.step();
    if (rc != SQLITE_DONE) return error(rc, "delete events");
  }
  return write_meta(kCompactedKey, revision);
}

Status SqliteStore::compact(int64_t revision) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(run(kBeginWrite));
  Status s = [&]() -> Status {
    auto current = read_meta(kRevisionKey);
    if (!current.ok()) return current.status();
    CENV_RETURN_IF_ERROR(compact_locked(revision, *current));
    return run(kCommit);
  }();
  if (!s.ok()) rollback();
  return s;
}

Result<Object> SqliteStore::get(const ObjectKey& key) {
  std::lock_guard lock(mu_);
  auto obj = read_object(key);
  if (!obj.ok()) return obj.status().with_prefix(key.to_string());
  if (!obj->has_value()) return object_not_found(key);
  return std::move(**obj);
}

Result<std::vector<std::optional<Object>>> SqliteStore::get_many(std::span<const ObjectKey> keys) {
  return get_many_into(keys, {});
}

Result<std::vector<std::optional<Object>>> SqliteStore::get_many_into(
    std::span<const ObjectKey> keys, boost::json::storage_ptr storage) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(run(kBeginRead));
  auto result = [&]() -> Result<std::vector<std::optional<Object>>> {
    std::vector<std::optional<Object>> out;
    out.reserve(keys.size());
    for (const ObjectKey& key : keys) {
      auto obj = read_object(key, storage);
      if (!obj.ok()) return obj.status().with_prefix(key.to_string());
      out.push_back(std::move(obj).value());
    }
    return out;
  }();
  if (!result.ok()) {
    rollback();
    return result;
  }
  CENV_RETURN_IF_ERROR(run(kCommit));
  return result;
}

Result<ObjectList> SqliteStore::list(const ListOptions& options) {
  std::lock_guard lock(mu_);
  // One read transaction, so the revision and the rows are the same snapshot.
  CENV_RETURN_IF_ERROR(run(kBeginRead));
  auto result = [&]() -> Result<ObjectList> {
    ObjectList list;
    auto rev = read_meta(kRevisionKey);
    if (!rev.ok()) return rev.status();
    list.revision = *rev;

    Use u(statement(options.ns.empty() ? kListAll : kListNamespace));
    u.text(1, options.kind);
    if (!options.ns.empty()) u.text(2, options.ns);
    const bool filter = !options.selector.empty();
    int rc;
    while ((rc = u.step()) == SQLITE_ROW) {
      if (filter) {
        auto labels = u.column_null(0) ? std::nullopt : std::optional(u.column_text(0));
        auto selected = stored_labels_match(kEngine, options.selector, labels);
        if (!selected.ok()) return selected.status();
        if (!*selected) continue;
      }
      auto obj = parse_stored_object(kEngine, u.column_text(1), "objects");
      if (!obj.ok()) return obj.status();
      list.items.push_back(std::move(obj).value());
    }
    if (rc != SQLITE_DONE) return error(rc, "list objects");
    return list;
  }();
  if (!result.ok()) {
    rollback();
    return result;
  }
  CENV_RETURN_IF_ERROR(run(kCommit));
  return result;
}

Result<std::vector<WatchEvent>> SqliteStore::events_since(int64_t after, size_t limit) {
  CENV_RETURN_IF_ERROR(check_events_after(after));
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(run(kBeginRead));
  auto result = [&]() -> Result<std::vector<WatchEvent>> {
    auto compacted = read_meta(kCompactedKey);
    if (!compacted.ok()) return compacted.status();
    CENV_RETURN_IF_ERROR(check_not_compacted(after, *compacted));
    std::vector<WatchEvent> events;
    Use u(statement(kEventsSince));
    u.integer(1, after);
    u.integer(2,
              static_cast<int64_t>(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max())));
    int rc;
    while ((rc = u.step()) == SQLITE_ROW) {
      auto e = parse_event_row(kEngine, u.column_int(0), u.column_text(1), u.column_text(2));
      if (!e.ok()) return e.status();
      events.push_back(std::move(e).value());
    }
    if (rc != SQLITE_DONE) return error(rc, "read events");
    return events;
  }();
  if (!result.ok()) {
    rollback();
    return result;
  }
  CENV_RETURN_IF_ERROR(run(kCommit));
  return result;
}

Result<int64_t> SqliteStore::revision() {
  std::lock_guard lock(mu_);
  return read_meta(kRevisionKey);
}

Result<int64_t> SqliteStore::compacted_revision() {
  std::lock_guard lock(mu_);
  return read_meta(kCompactedKey);
}

Result<int64_t> SqliteStore::append_log(const std::string& uid, std::span<const LogPiece> pieces) {
  CENV_RETURN_IF_ERROR(check_log_pieces(uid, pieces));
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(run(kBeginWrite));
  auto result = [&]() -> Result<int64_t> {
    int64_t seq = 0, offset = 0;
    {
      Use u(statement(kLogTail));
      u.text(1, uid);
      int rc = u.step();
      if (rc == SQLITE_ROW) {
        seq = u.column_int(0) + 1;
        offset = u.column_int(1);
      } else if (rc != SQLITE_DONE) {
        return error(rc, "read the log's end");
      }
    }
    for (const LogPiece& p : pieces) {
      Use u(statement(kInsertLog));
      u.text(1, uid).integer(2, seq).integer(3, offset).integer(4, static_cast<int>(p.stream));
      u.integer(5, p.attempt);
      u.integer(
          6,
          std::chrono::duration_cast<std::chrono::nanoseconds>(p.time.time_since_epoch()).count());
      u.blob(7, p.data);
      int rc = u.step();
      if (rc != SQLITE_DONE) return error(rc, "append log");
      ++seq;
      offset += static_cast<int64_t>(p.data.size());
    }
    CENV_RETURN_IF_ERROR(run(kCommit));
    return offset;
  }();
  if (!result.ok()) {
    rollback();
    return result.status().with_prefix("log of " + uid);
  }
  return result;
}

Result<std::vector<LogChunk>> SqliteStore::read_log(const std::string& uid, int64_t offset,
                                                    size_t max_bytes) {
  std::lock_guard lock(mu_);
  std::vector<LogChunk> out;
  Use u(statement(kReadLog));
  u.text(1, uid).integer(2, offset);
  size_t bytes = 0;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    auto c = log_chunk_from({u.column_int(0), u.column_int(1), u.column_int(2), u.column_int(3),
                             u.column_int(4), std::string(u.column_blob(5))},
                            offset);
    if (!c) continue;  // ends before `offset`
    bytes += c->data.size();
    out.push_back(std::move(*c));
    if (bytes >= max_bytes) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return error(rc, "read log").with_prefix("log of " + uid);
  return out;
}

Result<LogSummary> SqliteStore::log_summary(const std::string& uid) {
  std::lock_guard lock(mu_);
  LogSummary summary;
  Use u(statement(kLogSummary));
  u.text(1, uid);
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    add_log_summary_row(summary, u.column_int(0), u.column_int(1), u.column_int(2),
                        u.column_int(3));
  }
  if (rc != SQLITE_DONE) return error(rc, "summarise log").with_prefix("log of " + uid);
  return summary;
}

Status SqliteStore::delete_log(const std::string& uid) {
  std::lock_guard lock(mu_);
  Use u(statement(kDeleteLog));
  u.text(1, uid);
  int rc = u.step();
  if (rc != SQLITE_DONE) return error(rc, "delete log").with_prefix("log of " + uid);
  return Status::Ok();
}

Status SqliteStore::trim_log(const std::string& uid, int keep_from_attempt) {
  std::lock_guard lock(mu_);
  Use u(statement(kTrimLog));
  u.text(1, uid).integer(2, keep_from_attempt);
  int rc = u.step();
  if (rc != SQLITE_DONE) return error(rc, "trim log").with_prefix("log of " + uid);
  return Status::Ok();
}

Status SqliteStore::put_archive(const std::string& digest, std::string_view bytes) {
  if (digest.empty()) return Status::Invalid("archive digest is empty");
  std::lock_guard lock(mu_);
  Use u(statement(kPutArchive));
  u.text(1, digest).integer(2, static_cast<int64_t>(bytes.size())).blob(3, bytes);
  int rc = u.step();
  if (rc != SQLITE_DONE) return error(rc, "store archive").with_prefix("archive " + digest);
  return Status::Ok();
}

Result<std::string> SqliteStore::get_archive(const std::string& digest) {
  std::lock_guard lock(mu_);
  Use u(statement(kGetArchive));
  u.text(1, digest);
  int rc = u.step();
  if (rc == SQLITE_ROW) return std::string(u.column_blob(0));
  if (rc == SQLITE_DONE) return Status::NotFound("archive " + digest + " not found");
  return error(rc, "read archive").with_prefix("archive " + digest);
}

Result<bool> SqliteStore::has_archive(const std::string& digest) {
  std::lock_guard lock(mu_);
  Use u(statement(kHasArchive));
  u.text(1, digest);
  int rc = u.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error(rc, "look up archive").with_prefix("archive " + digest);
}

Result<std::vector<std::string>> SqliteStore::list_archives() {
  std::lock_guard lock(mu_);
  Use u(statement(kListArchives));
  std::vector<std::string> out;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) out.emplace_back(u.column_text(0));
  if (rc != SQLITE_DONE) return error(rc, "list archives");
  return out;
}

}  // namespace cenv
