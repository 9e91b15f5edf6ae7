#pragma once
// The PostgreSQL engine's SQL: its tables (created and migrated by migrate_postgres_schema())
// and the statements every connection prepares over them (PostgresStatement). postgres_store.h
// describes the tables.

#include <string>

#include "api/status.h"

namespace cenv {

class PostgresConnection;

inline constexpr int kPostgresSchemaVersion = 4;

// The rows of the meta table.
inline constexpr const char* kPostgresRevisionKey = "revision";  // newest revision written
inline constexpr const char* kPostgresCompactedKey = "compacted_revision";

// The prepared statements, prepared on every connection; postgres_schema.cc has their SQL.
enum class PostgresStatement : int {
  kGetMeta,        // $1 key -> value
  kLockRevision,   // -> the revision, locked until the transaction ends
  kSetMeta,        // $1 key, $2 value
  kGetObject,      // $1 kind, $2 namespace, $3 name -> data
  kGetObjects,     // $1 kinds[], $2 namespaces[], $3 names[] -> kind, namespace, name, data
  kInsertObjects,  // $1..$7 arrays of kind, namespace, name, uid, revision, labels, data
  kUpdateObjects,  // as kInsertObjects, for keys that exist
  kDeleteObjects,  // $1 kinds[], $2 namespaces[], $3 names[]
  kInsertEvents,   // $1..$6 arrays of revision, type, kind, namespace, name, data
  kList,           // $1 kind -> revision, then labels, data per object (or one NULL row)
  kListNamespace,  // $1 kind, $2 namespace -> as kList
  kEventsSince,    // $1 after, $2 limit -> compacted revision, then revision, type, data
  kDeleteEvents,   // $1 revision: drops the events at or below it
  kAppendLog,      // $1 uid, $2..$7 arrays of seq, offset, stream, attempt, time_ns, data
  kReadLog,        // $1 uid, $2 offset, $3 bytes -> seq, offset, stream, attempt, time_ns, data
  kLogSummary,     // $1 uid -> attempt, stream, chunk count, bytes
  kDeleteLog,      // $1 uid
  kDeleteLogs,     // $1 uids[]
  kTrimLog,        // $1 uid, $2 attempt: drops the chunks of attempts before it
  kPutArchive,     // $1 digest, $2 size, $3 data (bytea); nothing when the digest is stored
  kGetArchive,     // $1 digest -> data
  kHasArchive,     // $1 digest -> 1 when stored
  kListArchives,   // -> digest, in byte order
  kNotify,         // $1 the new revision: NOTIFY cenv_revision when the transaction commits
  kCount,          // not a statement: how many there are
};

inline constexpr int kPostgresStatementCount = static_cast<int>(PostgresStatement::kCount);

// The SQL text of `s`.
const char* postgres_statement_sql(PostgresStatement s);

// Creates the schema on `c` (a connection without prepared statements) or migrates it to
// kPostgresSchemaVersion, in one transaction under an advisory lock, so concurrent opens of
// one database are safe. FailedPrecondition, naming `target` (the redacted URL), when the
// database's schema is newer than this binary knows; the connection's errors otherwise.
Status migrate_postgres_schema(PostgresConnection& c, const std::string& target);

}  // namespace cenv
