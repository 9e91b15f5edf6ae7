#pragma once
// PostgresConnection: one libpq connection to a cenv database, set up with the session
// settings and the prepared statements of postgres_schema.h, which sends statements as one
// pipeline (one round trip) and turns libpq's failures into Status. Also the helpers that
// read libpq's results and build its binary array parameters.
//
// Every message starts with "postgres: ". A failure of the connection itself, a lock or
// statement timeout and a serialisation failure are Unavailable; other errors Internal.
// Not thread-safe: one thread at a time (PostgresStore lends each connection to one call).

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "api/status.h"
#include "controller/store/libpq.h"
#include "controller/store/postgres_schema.h"

namespace cenv {

// libpq's functions. Only once LibPq::load() has succeeded: PostgresStore::open() loads them
// before anything here calls one.
const LibPq& pq();

struct PgResultDeleter {
  void operator()(PGresult* r) const { pq().PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// A libpq message on one line: its newlines and indentation become single spaces, the trailing
// newline goes.
std::string pg_one_line(const char* text);

// The value of column `col` in row `row` of `r` as libpq returns it (text format).
std::string_view pg_column(const PGresult* r, int row, int col);
// The same column as an integer; Internal, naming `what`, when it is not one.
Result<int64_t> pg_int(const PGresult* r, int row, int col, const char* what);
// A bytea column in text format ("\\x" and two hex digits per byte) as its bytes; Internal
// when it is not in that format.
Result<std::string> decode_bytea(std::string_view text);

// Checks `url` (a libpq connection URI or key=value string) as libpq parses it, and its ports,
// which libpq checks only when it connects (and then reports a typo like an outage). Returns
// its password (empty when it has none). Invalid, with the redacted URL, when it does not parse.
Result<std::string> parse_connection_url(const std::string& url);

// Type OIDs of the binary array parameters (fixed in PostgreSQL's catalog, pg_type.dat).
inline constexpr uint32_t kPgInt8Oid = 20;
inline constexpr uint32_t kPgTextOid = 25;
inline constexpr uint32_t kPgByteaOid = 17;

// A one-dimensional array parameter in PostgreSQL's binary format (array_recv): header
// (ndim, has-nulls flag, element type, length, lower bound), then each element as a 4-byte
// length (-1 for NULL) and its bytes. Binary needs no escaping of the JSON text.
class PostgresArray {
 public:
  // `element_oid`: kPgInt8Oid, kPgTextOid or kPgByteaOid.
  explicit PostgresArray(uint32_t element_oid);
  // Appends a text element (or a bytea one: its binary form is its bytes).
  void text(std::string_view v);
  // Appends a NULL element.
  void null();
  // Appends an int8 element.
  void int64(int64_t v);
  // The parameter's bytes; the array is spent.
  std::string take() &&;

 private:
  void put32(uint32_t v);
  void patch(size_t at, uint32_t v);
  std::string buf_;
  uint32_t count_ = 0;
  bool has_null_ = false;
};

// One statement of a pipeline: a prepared statement with its parameters, or plain SQL
// without parameters (BEGIN, COMMIT).
struct PostgresCall {
  PostgresStatement stmt = PostgresStatement::kCount;  // kCount: `sql` instead
  const char* sql = nullptr;
  std::vector<std::string> values;
  std::vector<int> formats;  // 0 text, 1 binary

  static PostgresCall plain(const char* sql);
  static PostgresCall prepared(PostgresStatement stmt);
  PostgresCall& text(std::string v);
  PostgresCall& binary(std::string v);
  // The SQL, for messages.
  const char* what() const;
};

// The kinds, namespaces and names of object keys as three text array parameters, for the
// statements that take keys so (kGetObjects, kDeleteObjects).
class PostgresKeyArrays {
 public:
  void add(const ObjectKey& key);
  // `stmt` with the three arrays as its parameters $1, $2 and $3; the arrays are spent.
  PostgresCall call(PostgresStatement stmt) &&;

 private:
  PostgresArray kinds_{kPgTextOid}, namespaces_{kPgTextOid}, names_{kPgTextOid};
};

// What a session is set up with after every (re)connect.
struct PostgresSession {
  std::chrono::milliseconds lock_timeout{0};       // PostgreSQL lock_timeout; 0: none
  std::chrono::milliseconds statement_timeout{0};  // PostgreSQL statement_timeout; 0: none
};

class PostgresConnection {
 public:
  // Connects to `url` without setting the session up (setup() does). `target` (the redacted
  // URL) names the server in messages. Unavailable with libpq's reason when the server
  // cannot be reached or refuses the connection.
  static Result<std::unique_ptr<PostgresConnection>> open(const std::string& url,
                                                          const std::string& target,
                                                          std::chrono::seconds connect_timeout,
                                                          PostgresSession session);
  ~PostgresConnection();
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  // True when the connection must be reset before its next use.
  bool broken() const;

  // Session settings and prepared statements, after every (re)connect; not before the
  // schema exists.
  Status setup();

  // Makes the connection usable: resets it when the server dropped it (also while idle:
  // a restarted server closes every session) and sets it up again. Unavailable with libpq's
  // reason when the server cannot be reached.
  Status ensure_healthy();

  // Runs `sql` (one or more statements, no parameters) with the simple query protocol.
  // `what` names it in messages.
  Status exec(const char* sql, const char* what);
  // Like exec(), for one statement returning one integer.
  Result<int64_t> query_int(const char* sql, const char* what);

  // Sends `calls` as one pipeline (one round trip) and returns their results in order, or
  // the first failure (the statements after a failed one do not run).
  Result<std::vector<PgResult>> pipeline(const std::vector<PostgresCall>& calls);

  // Ends a transaction a failed call left open; a broken connection is reset on next use.
  void rollback_if_open();

 private:
  PostgresConnection(PGconn* conn, std::string target, PostgresSession session);

  // A Status for a failed statement: Unavailable when the failure is transient (the server
  // going away, timeouts, serialisation), Internal otherwise.
  Status result_error(const PGresult* r, const char* what);
  // A Status for a failure of the connection itself (libpq returned no result).
  Status connection_error(const char* what);

  PGconn* conn_;
  const std::string target_;
  const PostgresSession session_;
  bool broken_ = false;  // reset before the next use
};

}  // namespace cenv
