#include "controller/store/postgres_schema.h"

#include <iterator>

#include "controller/store/postgres_connection.h"

namespace cenv {

namespace {

// Schema version 1. Idempotent; runs inside migrate_postgres_schema()'s transaction and advisory
// lock. Key columns use the "C" collation: byte order (as SQLite's) whatever the database locale,
// and the primary key index serves list's ORDER BY.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS objects (
  kind      TEXT COLLATE "C" NOT NULL,
  namespace TEXT COLLATE "C" NOT NULL,
  name      TEXT COLLATE "C" NOT NULL,
  uid       TEXT   NOT NULL,
  revision  BIGINT NOT NULL,
  labels    TEXT,
  data      TEXT   NOT NULL,
  PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
  revision  BIGINT PRIMARY KEY,
  type      TEXT NOT NULL,
  kind      TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name      TEXT NOT NULL,
  data      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO meta(key, value) VALUES ('revision', 0), ('compacted_revision', 0)
  ON CONFLICT (key) DO NOTHING;
DELETE FROM schema_version;
INSERT INTO schema_version(version) VALUES (1);
)sql";

// Schema version 2: CommandRun output in chunks (store.h, LogChunk), as SqliteStore's.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS log_chunks (
  uid         TEXT   NOT NULL,
  seq         BIGINT NOT NULL,
  byte_offset BIGINT NOT NULL,
  stream      BIGINT NOT NULL,
  attempt     BIGINT NOT NULL,
  time_ns     BIGINT NOT NULL,
  data        BYTEA  NOT NULL,
  PRIMARY KEY (uid, seq)
);
CREATE INDEX IF NOT EXISTS log_chunks_by_offset ON log_chunks(uid, byte_offset);
DELETE FROM schema_version;
INSERT INTO schema_version(version) VALUES (2);
)sql";

// Schema version 3: source archives by content digest (store.h, put_archive), as SqliteStore's.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS archives (
  digest TEXT   PRIMARY KEY,
  size   BIGINT NOT NULL,
  data   BYTEA  NOT NULL
);
DELETE FROM schema_version;
INSERT INTO schema_version(version) VALUES (3);
)sql";

// Schema version 4: the leader lease of controller replicas sharing the database
// (postgres_lease.h). renew_time is the server's clock, so the replicas' clocks never matter.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE IF NOT EXISTS leases (
  name        TEXT PRIMARY KEY,
  holder      TEXT   NOT NULL,
  generation  BIGINT NOT NULL,
  renew_time  TIMESTAMPTZ NOT NULL,
  duration_ms BIGINT NOT NULL,
  transitions BIGINT NOT NULL
);
DELETE FROM schema_version;
INSERT INTO schema_version(version) VALUES (4);
)sql";

// In PostgresStatement's order.
constexpr const char* kStatementSql[] = {
    "SELECT value FROM meta WHERE key = $1",
    // Serialises writers across every process sharing the database: held until the
    // transaction ends, so the revision counter is gap-free in commit order.
    "SELECT value FROM meta WHERE key = 'revision' FOR UPDATE",
    "UPDATE meta SET value = $2 WHERE key = $1",
    "SELECT data FROM objects WHERE kind = $1 AND namespace = $2 AND name = $3",
    "SELECT o.kind, o.namespace, o.name, o.data FROM objects o "
    "JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(kind, namespace, name) "
    "ON o.kind = k.kind COLLATE \"C\" AND o.namespace = k.namespace COLLATE \"C\" "
    "AND o.name = k.name COLLATE \"C\"",
    // commit() knows which keys exist (it holds the lock), so a plain INSERT or UPDATE
    // does, without the cost of an upsert.
    "INSERT INTO objects(kind, namespace, name, uid, revision, labels, data) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
    "$6::text[], $7::text[])",
    "UPDATE objects o SET uid = k.uid, revision = k.revision, labels = k.labels, data = k.data "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], "
    "$7::text[]) AS k(kind, namespace, name, uid, revision, labels, data) "
    "WHERE o.kind = k.kind COLLATE \"C\" AND o.namespace = k.namespace COLLATE \"C\" "
    "AND o.name = k.name COLLATE \"C\"",
    "DELETE FROM objects o "
    "USING unnest($1::text[], $2::text[], $3::text[]) AS k(kind, namespace, name) "
    "WHERE o.kind = k.kind COLLATE \"C\" AND o.namespace = k.namespace COLLATE \"C\" "
    "AND o.name = k.name COLLATE \"C\"",
    "INSERT INTO events(revision, type, kind, namespace, name, data) "
    "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::text[])",
    // One statement, so the revision and the rows are one snapshot; the LEFT JOIN yields the
    // revision even when no object matches.
    "SELECT m.value, o.labels, o.data FROM meta m "
    "LEFT JOIN objects o ON o.kind = $1 "
    "WHERE m.key = 'revision' ORDER BY o.namespace, o.name",
    "SELECT m.value, o.labels, o.data FROM meta m "
    "LEFT JOIN objects o ON o.kind = $1 AND o.namespace = $2 "
    "WHERE m.key = 'revision' ORDER BY o.name",
    "SELECT m.value, e.revision, e.type, e.data FROM meta m "
    "LEFT JOIN LATERAL (SELECT revision, type, data FROM events WHERE revision > $1 "
    "ORDER BY revision LIMIT $2) e ON true "
    "WHERE m.key = 'compacted_revision' ORDER BY e.revision",
    "DELETE FROM events WHERE revision <= $1",
    // One statement: the chunks go after the log's last one ($2, $3 are relative to it).
    "WITH tail AS (SELECT "
    "coalesce((SELECT seq + 1 FROM log_chunks WHERE uid = $1 ORDER BY seq DESC LIMIT 1), 0) "
    "AS seq, coalesce((SELECT byte_offset + octet_length(data) FROM log_chunks WHERE uid = $1 "
    "ORDER BY seq DESC LIMIT 1), 0) AS off) "
    "INSERT INTO log_chunks(uid, seq, byte_offset, stream, attempt, time_ns, data) "
    "SELECT $1, tail.seq + k.s, tail.off + k.o, k.st, k.a, k.t, k.d FROM tail, "
    "unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
    "$7::bytea[]) AS k(s, o, st, a, t, d) "
    "RETURNING byte_offset + octet_length(data)",
    // From the chunk holding byte $2 (the last starting at or before it; the first kept when
    // that was trimmed) to about $3 bytes on.
    "WITH start AS (SELECT coalesce((SELECT max(byte_offset) FROM log_chunks "
    "WHERE uid = $1 AND byte_offset <= $2::bigint), (SELECT min(byte_offset) FROM log_chunks "
    "WHERE uid = $1), 0) AS s) "
    "SELECT seq, byte_offset, stream, attempt, time_ns, data FROM log_chunks, start "
    "WHERE uid = $1 AND byte_offset >= start.s "
    "AND byte_offset < greatest($2::bigint, start.s) + $3::bigint ORDER BY byte_offset",
    "SELECT attempt, stream, count(*), sum(octet_length(data)) FROM log_chunks WHERE uid = $1 "
    "GROUP BY attempt, stream ORDER BY attempt, stream",
    "DELETE FROM log_chunks WHERE uid = $1",
    "DELETE FROM log_chunks WHERE uid = ANY($1::text[])",
    "DELETE FROM log_chunks WHERE uid = $1 AND attempt < $2::bigint",
    "INSERT INTO archives(digest, size, data) VALUES ($1, $2::bigint, $3::bytea) "
    "ON CONFLICT (digest) DO NOTHING",
    "SELECT data FROM archives WHERE digest = $1",
    "SELECT 1 FROM archives WHERE digest = $1",
    "SELECT digest FROM archives ORDER BY digest COLLATE \"C\"",
    // Delivered to every listener when the transaction commits (postgres_change_feed.h).
    "SELECT pg_notify('cenv_revision', $1)",
};

static_assert(std::size(kStatementSql) == kPostgresStatementCount);

}  // namespace

const char* postgres_statement_sql(PostgresStatement s) {
  return kStatementSql[static_cast<int>(s)];
}

Status migrate_postgres_schema(PostgresConnection& c, const std::string& target) {
  CENV_RETURN_IF_ERROR(c.exec("BEGIN", "begin the migration"));
  Status s = [&]() -> Status {
    // Concurrent opens of a fresh database would race on CREATE TABLE IF NOT EXISTS.
    CENV_RETURN_IF_ERROR(
        c.exec("SELECT pg_advisory_xact_lock(x'63656e7673636d61'::bigint);"  // "cenvscma"
               "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
               "lock the schema"));
    auto version =
        c.query_int("SELECT coalesce(max(version), 0) FROM schema_version", "read schema_version");
    if (!version.ok()) return version.status();
    if (*version > kPostgresSchemaVersion) {
      return Status::FailedPrecondition("postgres: " + target + " has schema version " +
                                        std::to_string(*version) +
                                        ", newer than this cenv supports (" +
                                        std::to_string(kPostgresSchemaVersion) + "); upgrade cenv");
    }
    if (*version < 1) CENV_RETURN_IF_ERROR(c.exec(kSchemaV1, "create the schema"));
    if (*version < 2) CENV_RETURN_IF_ERROR(c.exec(kSchemaV2, "add the log table"));
    if (*version < 3) CENV_RETURN_IF_ERROR(c.exec(kSchemaV3, "add the archive table"));
    if (*version < 4) CENV_RETURN_IF_ERROR(c.exec(kSchemaV4, "add the lease table"));
    // Later versions: `if (*version < 5) exec(kSchemaV5)`, each setting schema_version.
    return c.exec("COMMIT", "commit the migration");
  }();
  if (!s.ok()) c.rollback_if_open();
  return s;
}

}  // namespace cenv
