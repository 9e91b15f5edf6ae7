#include "controller/store/postgres_store.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "controller/store/libpq.h"

namespace cenv {

namespace json = boost::json;

namespace {

// libpq's functions. PostgresStore::open() loads them before anything here calls one.
const LibPq& pq() {
  static const LibPq* const table = LibPq::load().value();
  return *table;
}

constexpr const char* kRevisionKey = "revision";
constexpr const char* kCompactedKey = "compacted_revision";

// Type OIDs of the binary array parameters (fixed in PostgreSQL's catalog, pg_type.dat).
constexpr uint32_t kInt8Oid = 20;
constexpr uint32_t kTextOid = 25;
constexpr uint32_t kByteaOid = 17;

// Rows per INSERT/DELETE statement of a commit: large enough that a 10,000-object commit is a
// handful of statements, small enough that no parameter grows past a few megabytes.
constexpr size_t kRowsPerStatement = 2000;

// Schema version 1. Idempotent; runs inside migrate()'s transaction and advisory lock.
// Key columns use the "C" collation: byte order (as SQLite's) whatever the database locale,
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

// The prepared statements, prepared on every connection (named "cenv_<index>").
enum Stmt : int {
  kGetMeta,
  kLockRevision,
  kSetMeta,
  kGetObject,
  kGetObjects,
  kInsertObjects,
  kUpdateObjects,
  kDeleteObjects,
  kInsertEvents,
  kList,
  kListNamespace,
  kEventsSince,
  kDeleteEvents,
  kAppendLog,
  kReadLog,
  kLogSummary,
  kDeleteLog,
  kDeleteLogs,
  kStmtCount,
};

constexpr const char* kStmtSql[kStmtCount] = {
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
    // From the chunk holding byte $2 (the last starting at or before it) to about $3 bytes on.
    "SELECT seq, byte_offset, stream, attempt, time_ns, data FROM log_chunks "
    "WHERE uid = $1 AND byte_offset >= coalesce((SELECT max(byte_offset) FROM log_chunks "
    "WHERE uid = $1 AND byte_offset <= $2), 0) AND byte_offset < $2::bigint + $3::bigint "
    "ORDER BY byte_offset",
    "SELECT attempt, stream, count(*), sum(octet_length(data)) FROM log_chunks WHERE uid = $1 "
    "GROUP BY attempt, stream ORDER BY attempt, stream",
    "DELETE FROM log_chunks WHERE uid = $1",
    "DELETE FROM log_chunks WHERE uid = ANY($1::text[])",
};

std::string statement_name(int id) { return "cenv_" + std::to_string(id); }

struct ResultDeleter {
  void operator()(PGresult* r) const { pq().PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's messages end in newlines and indent their second lines; one line reads better.
std::string one_line(const char* text) {
  std::string out;
  bool space = false;
  for (const char* p = text ? text : ""; *p; ++p) {
    if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(*p);
  }
  return out;
}

// True for errors that a later retry may not see: the server going away or refusing
// connections, lock and statement timeouts, serialisation failures and deadlocks.
bool is_transient(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return false;
  std::string_view cls = sqlstate.substr(0, 2);
  return cls == "08" || cls == "53" || cls == "40" || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03" || sqlstate == "55P03" || sqlstate == "57014";
}

// A value of a parameter or column given as text by libpq.
Result<int64_t> parse_int(const char* text, const char* what) {
  int64_t v = 0;
  std::string_view s(text ? text : "");
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return Status::Internal(std::string("postgres: ") + what + " is not an integer: \"" +
                            std::string(s) + "\"");
  }
  return v;
}

Result<EventType> parse_event_type(std::string_view s) {
  if (s == "ADDED") return EventType::kAdded;
  if (s == "MODIFIED") return EventType::kModified;
  if (s == "DELETED") return EventType::kDeleted;
  return Status::Internal("postgres: unknown event type \"" + std::string(s) + "\" in events");
}

Result<Object> parse_stored(std::string_view data, const char* table) {
  auto obj = Object::from_json(data);
  if (!obj.ok()) {
    return Status::Internal(std::string("postgres: corrupt row in ") + table + ": " +
                            obj.status().message());
  }
  return obj;
}

std::string_view column(const PGresult* r, int row, int col) {
  return std::string_view(pq().PQgetvalue(r, row, col),
                          static_cast<size_t>(pq().PQgetlength(r, row, col)));
}

// A bytea column in text format ("\\x" and two hex digits per byte) as its bytes.
Result<std::string> decode_bytea(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
    return Status::Internal("postgres: bytea column is not in hex format");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.resize((text.size() - 2) / 2);
  for (size_t i = 2, j = 0; i < text.size(); i += 2, ++j) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return Status::Internal("postgres: bad hex digit in a bytea column");
    out[j] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// A one-dimensional array parameter in PostgreSQL's binary format (array_recv): header
// (ndim, has-nulls flag, element type, length, lower bound), then each element as a 4-byte
// length (-1 for NULL) and its bytes. Binary needs no escaping of the JSON text.
class ArrayParam {
 public:
  explicit ArrayParam(uint32_t element_oid) {
    put32(1);  // ndim
    put32(0);  // has nulls, patched by take()
    put32(element_oid);
    put32(0);  // length, patched by take()
    put32(1);  // lower bound
  }
  void text(std::string_view v) {
    put32(static_cast<uint32_t>(v.size()));
    buf_.append(v);
    ++count_;
  }
  void null() {
    put32(0xffffffffu);
    has_null_ = true;
    ++count_;
  }
  void int64(int64_t v) {
    put32(8);
    put32(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
    put32(static_cast<uint32_t>(static_cast<uint64_t>(v)));
    ++count_;
  }
  std::string take() && {
    patch(4, has_null_ ? 1 : 0);
    patch(12, count_);
    return std::move(buf_);
  }

 private:
  void put32(uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    buf_.append(b, 4);
  }
  void patch(size_t at, uint32_t v) {
    buf_[at] = static_cast<char>(v >> 24);
    buf_[at + 1] = static_cast<char>(v >> 16);
    buf_[at + 2] = static_cast<char>(v >> 8);
    buf_[at + 3] = static_cast<char>(v);
  }
  std::string buf_;
  uint32_t count_ = 0;
  bool has_null_ = false;
};

// One statement of a pipeline: a prepared statement with its parameters, or plain SQL
// without parameters (BEGIN, COMMIT).
struct Call {
  int stmt = -1;
  const char* sql = nullptr;
  std::vector<std::string> values;
  std::vector<int> formats;  // 0 text, 1 binary

  static Call plain(const char* sql) {
    Call c;
    c.sql = sql;
    return c;
  }
  static Call prepared(int stmt) {
    Call c;
    c.stmt = stmt;
    return c;
  }
  Call& text(std::string v) {
    values.push_back(std::move(v));
    formats.push_back(0);
    return *this;
  }
  Call& binary(std::string v) {
    values.push_back(std::move(v));
    formats.push_back(1);
    return *this;
  }
  const char* what() const { return sql ? sql : kStmtSql[stmt]; }
};

// A short description of a statement for messages ("SELECT value FROM meta WHERE key...").
std::string describe_sql(const char* sql) {
  std::string s = one_line(sql);
  return s.size() > 48 ? s.substr(0, 45) + "..." : s;
}

// Parses `url` with libpq; returns its password (empty when it has none) or Invalid.
Result<std::string> parse_conninfo(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = pq().PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string msg = err ? one_line(err) : "out of memory";
    pq().PQfreemem(err);
    return Status::Invalid("postgres: invalid connection URL " + redacted_url(url) + ": " + msg);
  }
  std::string password, port;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (o->val && std::strcmp(o->keyword, "password") == 0) password = o->val;
    if (o->val && std::strcmp(o->keyword, "port") == 0) port = o->val;
  }
  pq().PQconninfoFree(opts);
  // libpq checks ports only when it connects, and then reports a typo like an outage.
  for (size_t start = 0; start <= port.size();) {
    size_t end = std::min(port.find(',', start), port.size());
    std::string_view p(port.data() + start, end - start);
    int n = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (!p.empty() && (ec != std::errc() || ptr != p.data() + p.size() || n < 1 || n > 65535)) {
      return Status::Invalid("postgres: invalid connection URL " + redacted_url(url) +
                             ": invalid port \"" + std::string(p) + "\"");
    }
    start = end + 1;
  }
  return password;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// redacted_url

namespace {

constexpr std::string_view kMask = "***";

bool is_secret_key(std::string_view key) {
  std::string k;
  for (size_t i = 0; i < key.size(); ++i) {
    // Query keys may be percent-encoded; decode the simple cases so %70assword is caught.
    if (key[i] == '%' && i + 2 < key.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(key[i + 1]), lo = hex(key[i + 2]);
      if (hi >= 0 && lo >= 0) {
        k.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(key[i]))));
  }
  return k == "password" || k == "sslpassword";
}

// scheme://user:password@host... → scheme://user:***@host...; then password query parameters.
std::string redact_uri(const std::string& url, size_t authority) {
  std::string out = url.substr(0, authority);
  // libpq takes the user info from before an '@' ahead of the first '/'. A password with a
  // raw '/', '?' or '@' (which a URI should percent-encode) still counts as one here: the
  // user info ends at the last '@' before the first '/', or before the first '?' when that is
  // later, so such a password is masked whole.
  auto last_at_before = [&](char stop) {
    size_t end = std::min(url.find(stop, authority), url.size());
    size_t at = end > authority ? url.rfind('@', end - 1) : std::string::npos;
    return at != std::string::npos && at >= authority ? at : std::string::npos;
  };
  size_t at = last_at_before('/');
  if (size_t q = last_at_before('?');
      q != std::string::npos && (at == std::string::npos || q > at)) {
    at = q;
  }
  size_t rest = authority;
  if (at != std::string::npos) {
    std::string_view userinfo(url.data() + authority, at - authority);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      out.append(userinfo);
    } else {
      out.append(userinfo.substr(0, colon + 1));
      out.append(kMask);
    }
    out.push_back('@');
    rest = at + 1;
  }
  size_t query = url.find('?', rest);
  if (query == std::string::npos) {
    out.append(url, rest, std::string::npos);
    return out;
  }
  out.append(url, rest, query + 1 - rest);
  size_t pos = query + 1;
  while (pos <= url.size()) {
    size_t end = url.find_first_of("&#", pos);
    if (end == std::string::npos) end = url.size();
    std::string_view param(url.data() + pos, end - pos);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && is_secret_key(param.substr(0, eq))) {
      out.append(param.substr(0, eq + 1));
      out.append(kMask);
    } else {
      out.append(param);
    }
    if (end == url.size()) break;
    if (url[end] == '#') {
      out.append(url, end, std::string::npos);
      break;
    }
    out.push_back('&');
    pos = end + 1;
  }
  return out;
}

// key = value pairs, values optionally single-quoted with backslash escapes (libpq's
// conninfo syntax). Masks the value of every password key; text it cannot parse after a
// password key is masked to the end.
std::string redact_key_values(const std::string& s) {
  std::string out;
  size_t i = 0;
  const size_t n = s.size();
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (i < n) {
    size_t start = i;
    while (i < n && is_space(s[i])) ++i;
    size_t key_start = i;
    while (i < n && !is_space(s[i]) && s[i] != '=') ++i;
    std::string_view key(s.data() + key_start, i - key_start);
    const bool secret = is_secret_key(key);
    while (i < n && is_space(s[i])) ++i;
    if (i >= n || s[i] != '=') {
      // Not key=value: copy as is, unless it follows a password key.
      if (secret) {
        out.append(s, start, key_start + key.size() - start);
        if (i < n) out.append(" ").append(kMask);
        return out;
      }
      out.append(s, start, i - start);
      continue;
    }
    ++i;  // '='
    while (i < n && is_space(s[i])) ++i;
    out.append(s, start, i - start);
    size_t value_start = i;
    if (i < n && s[i] == '\'') {
      ++i;
      while (i < n && s[i] != '\'') i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
      if (i < n) ++i;  // closing quote
    } else {
      while (i < n && !is_space(s[i])) i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
    }
    if (secret) {
      out.append(kMask);
    } else {
      out.append(s, value_start, i - value_start);
    }
  }
  return out;
}

// Where the authority of "scheme://..." starts, or npos when `url` has no such scheme.
size_t uri_authority(const std::string& url) {
  size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return std::string::npos;
  for (size_t i = 0; i < sep; ++i) {
    char c = url[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 &&
               (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return std::string::npos;
  }
  return sep + 3;
}

}  // namespace

std::string redacted_url(const std::string& url) {
  size_t authority = uri_authority(url);
  if (authority != std::string::npos) return redact_uri(url, authority);
  return redact_key_values(url);
}

// ---------------------------------------------------------------------------------------------
// Connection

// One libpq connection with the store's prepared statements. Used by one thread at a time
// (lent out by the pool).
class PostgresStore::Connection {
 public:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  ~Connection() { pq().PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() const { return conn_; }
  bool broken() const { return broken_ || pq().PQstatus(conn_) != CONNECTION_OK; }

  // Session settings and prepared statements, after every (re)connect.
  Status setup(const PostgresStoreOptions& options) {
    std::string set =
        "SET lock_timeout = " + std::to_string(options.lock_timeout.count()) +
        "; SET statement_timeout = " + std::to_string(options.statement_timeout.count());
    CENV_RETURN_IF_ERROR(exec(set.c_str(), "configure the session"));
    if (!pq().PQenterPipelineMode(conn_)) return connection_error("prepare statements");
    for (int i = 0; i < kStmtCount; ++i) {
      if (!pq().PQsendPrepare(conn_, statement_name(i).c_str(), kStmtSql[i], 0, nullptr)) {
        broken_ = true;
        return connection_error("prepare statements");
      }
    }
    if (!pq().PQpipelineSync(conn_)) {
      broken_ = true;
      return connection_error("prepare statements");
    }
    Status first;
    for (int i = 0; i < kStmtCount; ++i) {
      PgResult r(pq().PQgetResult(conn_));
      if (!r) {
        broken_ = true;
        return connection_error("prepare statements");
      }
      if (first.ok() && pq().PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        first = result_error(r.get(), kStmtSql[i]);
      }
      while (PgResult extra{pq().PQgetResult(conn_)}) {
      }
    }
    PgResult sync(pq().PQgetResult(conn_));
    if (!sync || pq().PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
        !pq().PQexitPipelineMode(conn_)) {
      broken_ = true;
      if (first.ok()) first = connection_error("prepare statements");
    }
    return first;
  }

  // Makes the connection usable: resets it when the server dropped it (also while idle:
  // a restarted server closes every session) and sets it up again. Unavailable with libpq's
  // reason when the server cannot be reached.
  Status ensure_healthy(const PostgresStoreOptions& options, const std::string& target) {
    if (!broken()) {
      pollfd p{pq().PQsocket(conn_), POLLIN, 0};
      // Readable while idle: the server said goodbye (or sent a notice); let libpq read it.
      if (poll(&p, 1, 0) > 0 && !pq().PQconsumeInput(conn_)) broken_ = true;
      if (!broken() && pq().PQtransactionStatus(conn_) == PQTRANS_IDLE) return Status::Ok();
      if (!broken()) {
        // A transaction left open by a failed call: end it rather than reconnect.
        if (exec("ROLLBACK", "roll back").ok() && pq().PQtransactionStatus(conn_) == PQTRANS_IDLE) {
          return Status::Ok();
        }
      }
    }
    pq().PQreset(conn_);
    if (pq().PQstatus(conn_) != CONNECTION_OK) {
      broken_ = true;
      return Status::Unavailable("postgres: cannot connect to " + target + ": " +
                                 one_line(pq().PQerrorMessage(conn_)));
    }
    broken_ = false;
    Status s = setup(options);
    if (!s.ok()) broken_ = true;
    return s;
  }

  // Runs `sql` (one or more statements, no parameters) with the simple query protocol.
  Status exec(const char* sql, const char* what) {
    PgResult r(pq().PQexec(conn_, sql));
    if (!r) return connection_error(what);
    ExecStatusType st = pq().PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return result_error(r.get(), what);
    return Status::Ok();
  }

  // Like exec(), for one statement returning one integer.
  Result<int64_t> query_int(const char* sql, const char* what) {
    PgResult r(pq().PQexec(conn_, sql));
    if (!r) return connection_error(what);
    if (pq().PQresultStatus(r.get()) != PGRES_TUPLES_OK) return result_error(r.get(), what);
    if (pq().PQntuples(r.get()) != 1 || pq().PQnfields(r.get()) != 1) {
      return Status::Internal(std::string("postgres: ") + what + ": expected one value");
    }
    return parse_int(pq().PQgetvalue(r.get(), 0, 0), what);
  }

  // Sends `calls` as one pipeline (one round trip) and returns their results in order, or
  // the first failure (the statements after a failed one do not run).
  Result<std::vector<PgResult>> pipeline(std::vector<Call>& calls) {
    if (!pq().PQenterPipelineMode(conn_)) return connection_error("start a pipeline");
    size_t sent = 0;
    bool send_failed = false;
    for (Call& c : calls) {
      int ok;
      if (c.sql) {
        ok = pq().PQsendQueryParams(conn_, c.sql, 0, nullptr, nullptr, nullptr, nullptr, 0);
      } else {
        std::vector<const char*> values;
        std::vector<int> lengths;
        values.reserve(c.values.size());
        lengths.reserve(c.values.size());
        for (const std::string& v : c.values) {
          values.push_back(v.data());
          lengths.push_back(static_cast<int>(v.size()));
        }
        ok = pq().PQsendQueryPrepared(conn_, statement_name(c.stmt).c_str(),
                                      static_cast<int>(values.size()), values.data(),
                                      lengths.data(), c.formats.data(), 0);
      }
      if (!ok) {
        send_failed = true;
        break;
      }
      ++sent;
    }
    if (send_failed || !pq().PQpipelineSync(conn_)) {
      // The connection is in an unknown state: reconnect before the next use.
      broken_ = true;
      return connection_error(sent < calls.size() ? calls[sent].what() : "send");
    }

    std::vector<PgResult> results;
    results.reserve(sent);
    Status first;
    for (size_t i = 0; i < sent; ++i) {
      PgResult r(pq().PQgetResult(conn_));
      if (!r) {
        broken_ = true;
        return first.ok() ? connection_error(calls[i].what()) : first;
      }
      ExecStatusType st = pq().PQresultStatus(r.get());
      if (st == PGRES_FATAL_ERROR && first.ok()) first = result_error(r.get(), calls[i].what());
      if (pq().PQstatus(conn_) == CONNECTION_BAD) {
        broken_ = true;
        return first.ok() ? connection_error(calls[i].what()) : first;
      }
      while (PgResult extra{pq().PQgetResult(conn_)}) {
      }
      results.push_back(std::move(r));
    }
    PgResult sync(pq().PQgetResult(conn_));
    if (!sync || pq().PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
        !pq().PQexitPipelineMode(conn_)) {
      broken_ = true;
      return first.ok() ? connection_error("end the pipeline") : first;
    }
    if (!first.ok()) return first;
    return results;
  }

  // Ends a transaction a failed call left open; a broken connection is reset on next use.
  void rollback_if_open() {
    if (broken()) return;
    PGTransactionStatusType t = pq().PQtransactionStatus(conn_);
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR) {
      if (!exec("ROLLBACK", "roll back").ok()) broken_ = true;
    }
  }

  // A Status for a failed statement: Unavailable when the failure is transient (the server
  // going away, timeouts, serialisation), Internal otherwise.
  Status result_error(const PGresult* r, const char* what) {
    const char* state = pq().PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* primary = pq().PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    std::string msg = "postgres: " + describe_sql(what) + ": " +
                      one_line(primary ? primary : pq().PQresultErrorMessage(r));
    if (state) msg += std::string(" (SQLSTATE ") + state + ")";
    if (pq().PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
    if (broken() || (state && is_transient(state))) return Status::Unavailable(msg);
    return Status::Internal(msg);
  }

  // A Status for a failure of the connection itself (libpq returned no result).
  Status connection_error(const char* what) {
    if (pq().PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
    std::string msg =
        "postgres: " + describe_sql(what) + ": " + one_line(pq().PQerrorMessage(conn_));
    return broken() ? Status::Unavailable(msg) : Status::Internal(msg);
  }

 private:
  PGconn* conn_;
  bool broken_ = false;  // reset before the next use
};

// A connection borrowed from the pool; returns it on destruction.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, std::unique_ptr<Connection> c) : store_(store), c_(std::move(c)) {}
  Lease(Lease&& o) noexcept : store_(o.store_), c_(std::move(o.c_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (c_) store_->release(std::move(c_));
  }
  Connection& operator*() const { return *c_; }
  Connection* operator->() const { return c_.get(); }

 private:
  PostgresStore* store_;
  std::unique_ptr<Connection> c_;
};

// ---------------------------------------------------------------------------------------------
// PostgresStore

PostgresStore::PostgresStore(std::string url, const Clock& clock, PostgresStoreOptions options)
    : url_(std::move(url)),
      redacted_url_(redacted_url(url_)),
      clock_(clock),
      options_(std::move(options)) {}

PostgresStore::~PostgresStore() {
  std::lock_guard lock(mu_);
  assert(static_cast<int>(idle_.size()) == open_connections_ && "store destroyed while in use");
  idle_.clear();
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url,
                                                           const Clock& clock,
                                                           PostgresStoreOptions options) {
  auto lib = LibPq::load();
  if (!lib.ok()) return lib.status();
  auto password = parse_conninfo(url);
  if (!password.ok()) return password.status();
  options.pool_size = std::max(1, options.pool_size);
  std::unique_ptr<PostgresStore> store(new PostgresStore(url, clock, std::move(options)));
  store->password_ = std::move(password).value();

  auto first = store->connect(/*prepare=*/false);
  if (!first.ok()) return store->redact(first.status());
  Status s = store->migrate(**first);
  if (s.ok()) s = (*first)->setup(store->options_);
  if (!s.ok()) return store->redact(s);
  {
    std::lock_guard lock(store->mu_);
    store->open_connections_ = 1;
  }
  store->release(std::move(first).value());
  return store;
}

Result<std::unique_ptr<PostgresStore::Connection>> PostgresStore::connect(bool prepare) {
  // Our defaults come before the URL (expanded from "dbname"), so the URL's settings win;
  // the client encoding comes after: every text we send and read is UTF-8.
  const std::string timeout =
      std::to_string(std::max<int64_t>(2, options_.connect_timeout.count()));
  const char* keys[] = {
      "connect_timeout", "keepalives_idle",           "keepalives_interval", "keepalives_count",
      "dbname",          "fallback_application_name", "client_encoding",     nullptr};
  const char* values[] = {timeout.c_str(), "30", "10", "3", url_.c_str(), "cenv", "UTF8", nullptr};
  PGconn* raw = pq().PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!raw)
    return Status::Unavailable("postgres: cannot connect to " + redacted_url_ + ": out of memory");
  auto c = std::make_unique<Connection>(raw);
  // Notices (CREATE TABLE IF NOT EXISTS "skipping", ...) would go to stderr; PQreset keeps this.
  pq().PQsetNoticeProcessor(
      raw, [](void*, const char* message) { spdlog::debug("postgres: {}", one_line(message)); },
      nullptr);
  if (pq().PQstatus(raw) != CONNECTION_OK) {
    return Status::Unavailable("postgres: cannot connect to " + redacted_url_ + ": " +
                               one_line(pq().PQerrorMessage(raw)));
  }
  if (prepare) CENV_RETURN_IF_ERROR(c->setup(options_));
  return c;
}

Status PostgresStore::migrate(Connection& c) {
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
      return Status::FailedPrecondition("postgres: " + redacted_url_ + " has schema version " +
                                        std::to_string(*version) +
                                        ", newer than this cenv supports (" +
                                        std::to_string(kPostgresSchemaVersion) + "); upgrade cenv");
    }
    if (*version < 1) CENV_RETURN_IF_ERROR(c.exec(kSchemaV1, "create the schema"));
    if (*version < 2) CENV_RETURN_IF_ERROR(c.exec(kSchemaV2, "add the log table"));
    // Later versions: `if (*version < 3) exec(kSchemaV3)`, each setting schema_version.
    return c.exec("COMMIT", "commit the migration");
  }();
  if (!s.ok()) c.rollback_if_open();
  return s;
}

Status PostgresStore::redact(const Status& s) const {
  if (s.ok() || password_.empty() || s.message().find(password_) == std::string::npos) return s;
  std::string msg = s.message();
  for (size_t at; (at = msg.find(password_)) != std::string::npos;) {
    msg.replace(at, password_.size(), kMask);
  }
  return Status(s.code(), std::move(msg), s.fields());
}

Result<PostgresStore::Lease> PostgresStore::acquire() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      Lease lease(this, std::move(c));
      CENV_RETURN_IF_ERROR(lease->ensure_healthy(options_, redacted_url_));
      return lease;
    }
    if (open_connections_ < options_.pool_size) {
      ++open_connections_;
      lock.unlock();
      auto c = connect(/*prepare=*/true);
      if (!c.ok()) {
        std::lock_guard relock(mu_);
        --open_connections_;
        idle_cv_.notify_one();
        return c.status();
      }
      return Lease(this, std::move(c).value());
    }
    idle_cv_.wait(lock);
  }
}

void PostgresStore::release(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(c));
  idle_cv_.notify_one();
}

template <typename T, typename Op>
Result<T> PostgresStore::with_connection(Op op) {
  // A pooled connection may have lost its server since its last use without showing it
  // yet; a call that failed only because of that is safe to run once more on a new one.
  for (int attempt = 0;; ++attempt) {
    auto lease = acquire();
    if (!lease.ok()) return redact(lease.status());
    bool retry_safe = true;
    Result<T> r = op(**lease, retry_safe);
    if (r.ok()) return r;
    (*lease)->rollback_if_open();
    if (attempt == 0 && retry_safe && (*lease)->broken() &&
        r.status().code() == Code::kUnavailable) {
      continue;
    }
    return redact(r.status());
  }
}

Result<std::vector<Object>> PostgresStore::commit(std::span<const Write> writes) {
  if (writes.empty()) return std::vector<Object>();
  return with_connection<std::vector<Object>>(
      [&](Connection& c, bool& retry_safe) { return commit_on(c, writes, retry_safe); });
}

namespace {

// Where one key of a commit stands as the writes are applied in memory.
struct KeyState {
  std::optional<Object> loaded;     // as stored before the commit; nullopt when absent
  const Object* current = nullptr;  // as it stands now: &*loaded, an element of the
                                    // commit's results, or nullptr when absent
  size_t event = 0;                 // when touched and present: the event holding its JSON
  bool touched = false;             // written by this commit
};

struct EventRow {
  int64_t revision;
  EventType type;
  const ObjectKey* key;
  std::string data;
};

}  // namespace

Result<std::vector<Object>> PostgresStore::commit_on(Connection& c, std::span<const Write> writes,
                                                     bool& retry_safe) {
  // Every key the batch touches, read in one statement after taking the revision lock (so
  // the resourceVersion checks see every earlier commit of every process).
  std::map<ObjectKey, KeyState> state;
  for (const Write& w : writes) state.try_emplace(w.object.key());
  int64_t start = 0;      // the revision before this commit
  int64_t compacted = 0;  // the compacted revision before this commit
  {
    ArrayParam kinds(kTextOid), namespaces(kTextOid), names(kTextOid);
    for (const auto& [key, unused] : state) {
      kinds.text(key.kind);
      namespaces.text(key.ns);
      names.text(key.name);
    }
    std::vector<Call> calls;
    calls.push_back(Call::plain("BEGIN"));
    calls.push_back(Call::prepared(kLockRevision));
    calls.push_back(std::move(Call::prepared(kGetMeta).text(kCompactedKey)));
    calls.push_back(std::move(Call::prepared(kGetObjects)
                                  .binary(std::move(kinds).take())
                                  .binary(std::move(namespaces).take())
                                  .binary(std::move(names).take())));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const auto& rs = *results;
    if (pq().PQntuples(rs[1].get()) != 1 || pq().PQntuples(rs[2].get()) != 1) {
      return Status::Internal("postgres: meta is missing its revision rows");
    }
    auto current = parse_int(pq().PQgetvalue(rs[1].get(), 0, 0), "meta revision");
    if (!current.ok()) return current.status();
    start = *current;
    auto compacted_now = parse_int(pq().PQgetvalue(rs[2].get(), 0, 0), "meta compacted_revision");
    if (!compacted_now.ok()) return compacted_now.status();
    compacted = *compacted_now;
    const PGresult* objs = rs[3].get();
    for (int i = 0, n = pq().PQntuples(objs); i < n; ++i) {
      ObjectKey key{std::string(column(objs, i, 0)), std::string(column(objs, i, 1)),
                    std::string(column(objs, i, 2))};
      auto it = state.find(key);
      if (it == state.end()) continue;
      auto obj = parse_stored(column(objs, i, 3), "objects");
      if (!obj.ok()) return obj.status();
      it->second.loaded = std::move(obj).value();
      it->second.current = &*it->second.loaded;
    }
  }
  // From here on the transaction is open and holds the lock; a failure rolls it back
  // (with_connection()).

  int64_t rev = start;
  std::vector<Object> out;
  out.reserve(writes.size());  // never reallocates: KeyState::current points into it
  std::vector<EventRow> events;
  events.reserve(writes.size());
  for (const Write& w : writes) {
    auto it = state.find(w.object.key());
    KeyState& ks = it->second;
    auto outcome = apply_write(w, ks.current, rev + 1, clock_, options_.uid_generator);
    if (!outcome.ok()) return outcome.status();  // names the object already
    WriteOutcome& o = *outcome;
    if (!o.changed) {
      out.push_back(std::move(o.object));
      continue;
    }
    ++rev;
    ks.touched = true;
    events.push_back({rev, o.type, &it->first, o.object.to_json()});
    out.push_back(std::move(o.object));
    if (o.type == EventType::kDeleted) {
      ks.current = nullptr;
    } else {
      ks.current = &out.back();
      ks.event = events.size() - 1;
    }
  }

  std::vector<Call> calls;
  if (rev != start) {
    for (size_t from = 0; from < events.size(); from += kRowsPerStatement) {
      ArrayParam revs(kInt8Oid), types(kTextOid), kinds(kTextOid), namespaces(kTextOid),
          names(kTextOid), data(kTextOid);
      for (size_t i = from, to = std::min(events.size(), from + kRowsPerStatement); i < to; ++i) {
        const EventRow& e = events[i];
        revs.int64(e.revision);
        types.text(event_type_name(e.type));
        kinds.text(e.key->kind);
        namespaces.text(e.key->ns);
        names.text(e.key->name);
        data.text(e.data);
      }
      calls.push_back(std::move(Call::prepared(kInsertEvents)
                                    .binary(std::move(revs).take())
                                    .binary(std::move(types).take())
                                    .binary(std::move(kinds).take())
                                    .binary(std::move(namespaces).take())
                                    .binary(std::move(names).take())
                                    .binary(std::move(data).take())));
    }
    // Objects: the final state of each key the batch wrote, by what happened to the row.
    using Row = std::pair<const ObjectKey*, const KeyState*>;
    std::vector<Row> inserts, updates, deletes;
    for (const auto& [key, ks] : state) {
      if (!ks.touched) continue;
      if (ks.current) {
        (ks.loaded ? updates : inserts).emplace_back(&key, &ks);
      } else if (ks.loaded) {
        deletes.emplace_back(&key, &ks);
      }  // created and deleted within the batch: no row
    }
    std::string labels;
    auto store_rows = [&](int stmt, const std::vector<Row>& rows) {
      for (size_t from = 0; from < rows.size(); from += kRowsPerStatement) {
        ArrayParam kinds(kTextOid), namespaces(kTextOid), names(kTextOid), uids(kTextOid),
            revs(kInt8Oid), label_col(kTextOid), data(kTextOid);
        for (size_t i = from, to = std::min(rows.size(), from + kRowsPerStatement); i < to; ++i) {
          const auto& [key, ks] = rows[i];
          kinds.text(key->kind);
          namespaces.text(key->ns);
          names.text(key->name);
          uids.text(ks->current->uid());
          revs.int64(ks->current->resource_version());
          if (const json::object* l = ks->current->labels()) {
            labels = json::serialize(*l);
            label_col.text(labels);
          } else {
            label_col.null();
          }
          data.text(events[ks->event].data);
        }
        calls.push_back(std::move(Call::prepared(stmt)
                                      .binary(std::move(kinds).take())
                                      .binary(std::move(namespaces).take())
                                      .binary(std::move(names).take())
                                      .binary(std::move(uids).take())
                                      .binary(std::move(revs).take())
                                      .binary(std::move(label_col).take())
                                      .binary(std::move(data).take())));
      }
    };
    store_rows(kInsertObjects, inserts);
    store_rows(kUpdateObjects, updates);
    for (size_t from = 0; from < deletes.size(); from += kRowsPerStatement) {
      ArrayParam kinds(kTextOid), namespaces(kTextOid), names(kTextOid);
      for (size_t i = from, to = std::min(deletes.size(), from + kRowsPerStatement); i < to; ++i) {
        kinds.text(deletes[i].first->kind);
        namespaces.text(deletes[i].first->ns);
        names.text(deletes[i].first->name);
      }
      calls.push_back(std::move(Call::prepared(kDeleteObjects)
                                    .binary(std::move(kinds).take())
                                    .binary(std::move(namespaces).take())
                                    .binary(std::move(names).take())));
      // Their logs go with them.
      ArrayParam uids(kTextOid);
      for (size_t i = from, to = std::min(deletes.size(), from + kRowsPerStatement); i < to; ++i) {
        uids.text(deletes[i].second->loaded->uid());
      }
      calls.push_back(std::move(Call::prepared(kDeleteLogs).binary(std::move(uids).take())));
    }
    calls.push_back(
        std::move(Call::prepared(kSetMeta).text(kRevisionKey).text(std::to_string(rev))));
    // Auto-compaction, as SqliteStore: every revision above the compacted one has exactly
    // one event row.
    const int64_t keep = options_.auto_compact_keep;
    if (keep > 0 && rev - compacted > keep + keep / 10) {
      calls.push_back(std::move(Call::prepared(kDeleteEvents).text(std::to_string(rev - keep))));
      calls.push_back(
          std::move(Call::prepared(kSetMeta).text(kCompactedKey).text(std::to_string(rev - keep))));
    }
  }
  calls.push_back(Call::plain("COMMIT"));
  // Once COMMIT is sent, a lost connection leaves the outcome unknown: do not retry.
  retry_safe = false;
  auto results = c.pipeline(calls);
  if (!results.ok()) {
    if (c.broken()) {
      return Status::Unavailable(results.status().message() +
                                 " (the connection was lost during the commit; it may or may not "
                                 "have been applied)");
    }
    return results.status();
  }
  return out;
}

Status PostgresStore::compact_on(Connection& c, int64_t revision) {
  std::vector<Call> calls;
  calls.push_back(Call::plain("BEGIN"));
  calls.push_back(Call::prepared(kLockRevision));
  calls.push_back(std::move(Call::prepared(kGetMeta).text(kCompactedKey)));
  auto results = c.pipeline(calls);
  if (!results.ok()) return results.status();
  const auto& rs = *results;
  if (pq().PQntuples(rs[1].get()) != 1 || pq().PQntuples(rs[2].get()) != 1) {
    return Status::Internal("postgres: meta is missing its revision rows");
  }
  auto current = parse_int(pq().PQgetvalue(rs[1].get(), 0, 0), "meta revision");
  if (!current.ok()) return current.status();
  auto compacted = parse_int(pq().PQgetvalue(rs[2].get(), 0, 0), "meta compacted_revision");
  if (!compacted.ok()) return compacted.status();
  if (revision > *current) {
    return Status::Invalid("cannot compact to revision " + std::to_string(revision) +
                           ": newer than the current revision " + std::to_string(*current));
  }
  std::vector<Call> finish;
  if (revision > *compacted) {
    finish.push_back(std::move(Call::prepared(kDeleteEvents).text(std::to_string(revision))));
    finish.push_back(
        std::move(Call::prepared(kSetMeta).text(kCompactedKey).text(std::to_string(revision))));
  }
  finish.push_back(Call::plain("COMMIT"));
  auto done = c.pipeline(finish);
  return done.ok() ? Status::Ok() : done.status();
}

Status PostgresStore::compact(int64_t revision) {
  auto r = with_connection<bool>([&](Connection& c, bool& retry_safe) -> Result<bool> {
    retry_safe = true;  // compaction is idempotent
    CENV_RETURN_IF_ERROR(compact_on(c, revision));
    return true;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<Object> PostgresStore::get(const ObjectKey& key) {
  auto r = with_connection<std::optional<Object>>(
      [&](Connection& c, bool&) -> Result<std::optional<Object>> {
        std::vector<Call> calls;
        calls.push_back(
            std::move(Call::prepared(kGetObject).text(key.kind).text(key.ns).text(key.name)));
        auto results = c.pipeline(calls);
        if (!results.ok()) return results.status();
        const PGresult* res = (*results)[0].get();
        if (pq().PQntuples(res) == 0) return std::optional<Object>();
        auto obj = parse_stored(column(res, 0, 0), "objects");
        if (!obj.ok()) return obj.status();
        return std::optional<Object>(std::move(obj).value());
      });
  if (!r.ok()) return r.status().with_prefix(key.to_string());
  if (!r->has_value()) {
    std::string msg = key.kind + " \"" + key.name + "\" not found";
    if (!key.ns.empty()) msg += " in namespace \"" + key.ns + "\"";
    return Status::NotFound(std::move(msg));
  }
  return std::move(**r);
}

Result<std::vector<std::optional<Object>>> PostgresStore::get_many(
    std::span<const ObjectKey> keys) {
  std::map<ObjectKey, size_t> index;  // first position of each key (a key may repeat)
  for (size_t i = 0; i < keys.size(); ++i) index.try_emplace(keys[i], i);
  auto found = with_connection<std::map<ObjectKey, Object>>(
      [&](Connection& c, bool& retry_safe) -> Result<std::map<ObjectKey, Object>> {
        retry_safe = true;  // a read
        ArrayParam kinds(kTextOid), namespaces(kTextOid), names(kTextOid);
        for (const auto& [key, unused] : index) {
          kinds.text(key.kind);
          namespaces.text(key.ns);
          names.text(key.name);
        }
        std::vector<Call> calls;
        calls.push_back(std::move(Call::prepared(kGetObjects)
                                      .binary(std::move(kinds).take())
                                      .binary(std::move(namespaces).take())
                                      .binary(std::move(names).take())));
        auto results = c.pipeline(calls);
        if (!results.ok()) return results.status();
        const PGresult* objs = (*results)[0].get();
        std::map<ObjectKey, Object> out;
        for (int i = 0, n = pq().PQntuples(objs); i < n; ++i) {
          ObjectKey key{std::string(column(objs, i, 0)), std::string(column(objs, i, 1)),
                        std::string(column(objs, i, 2))};
          auto obj = parse_stored(column(objs, i, 3), "objects");
          if (!obj.ok()) return obj.status();
          out.emplace(std::move(key), std::move(obj).value());
        }
        return out;
      });
  if (!found.ok()) return found.status();
  std::vector<std::optional<Object>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = found->find(keys[i]);
    if (it == found->end()) continue;
    size_t first = index.at(keys[i]);
    if (first == i) {
      out[i] = std::move(it->second);
    } else {
      out[i] = out[first];  // a repeated key: the same object again
    }
  }
  return out;
}

Result<ObjectList> PostgresStore::list(const ListOptions& options) {
  return with_connection<ObjectList>([&](Connection& c, bool&) -> Result<ObjectList> {
    std::vector<Call> calls;
    if (options.ns.empty()) {
      calls.push_back(std::move(Call::prepared(kList).text(options.kind)));
    } else {
      calls.push_back(
          std::move(Call::prepared(kListNamespace).text(options.kind).text(options.ns)));
    }
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    const int n = pq().PQntuples(res);
    if (n == 0) return Status::Internal("postgres: meta has no revision");
    ObjectList list;
    auto rev = parse_int(pq().PQgetvalue(res, 0, 0), "meta revision");
    if (!rev.ok()) return rev.status();
    list.revision = *rev;
    const bool filter = !options.selector.empty();
    for (int i = 0; i < n; ++i) {
      if (pq().PQgetisnull(res, i, 2)) continue;  // the LEFT JOIN's row when nothing matched
      if (filter) {
        // Decide on the small labels column before parsing the whole object.
        if (pq().PQgetisnull(res, i, 1)) {
          if (!options.selector.matches(nullptr)) continue;
        } else {
          boost::system::error_code ec;
          json::value labels = json::parse(column(res, i, 1), ec);
          if (ec || !labels.is_object()) {
            return Status::Internal("postgres: corrupt labels in objects");
          }
          if (!options.selector.matches(&labels.get_object())) continue;
        }
      }
      auto obj = parse_stored(column(res, i, 2), "objects");
      if (!obj.ok()) return obj.status();
      list.items.push_back(std::move(obj).value());
    }
    return list;
  });
}

Result<std::vector<WatchEvent>> PostgresStore::events_since(int64_t after, size_t limit) {
  if (after < 0) {
    return Status::Invalid("resourceVersion " + std::to_string(after) + " must not be negative");
  }
  return with_connection<std::vector<WatchEvent>>([&](Connection& c,
                                                      bool&) -> Result<std::vector<WatchEvent>> {
    std::vector<Call> calls;
    calls.push_back(std::move(
        Call::prepared(kEventsSince)
            .text(std::to_string(after))
            .text(std::to_string(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max())))));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    const int n = pq().PQntuples(res);
    if (n == 0) return Status::Internal("postgres: meta has no compacted_revision");
    auto compacted = parse_int(pq().PQgetvalue(res, 0, 0), "meta compacted_revision");
    if (!compacted.ok()) return compacted.status();
    if (after < *compacted) {
      return Status::Gone("the requested resourceVersion " + std::to_string(after) +
                          " is too old (compacted to " + std::to_string(*compacted) + "); relist");
    }
    std::vector<WatchEvent> events;
    events.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      if (pq().PQgetisnull(res, i, 1)) continue;  // the LEFT JOIN's row when there is none
      WatchEvent e;
      auto rev = parse_int(pq().PQgetvalue(res, i, 1), "events revision");
      if (!rev.ok()) return rev.status();
      e.revision = *rev;
      auto type = parse_event_type(column(res, i, 2));
      if (!type.ok()) return type.status();
      e.type = *type;
      auto obj = parse_stored(column(res, i, 3), "events");
      if (!obj.ok()) return obj.status();
      e.object = std::move(obj).value();
      events.push_back(std::move(e));
    }
    return events;
  });
}

Result<int64_t> PostgresStore::read_meta(const char* key) {
  return with_connection<int64_t>([&](Connection& c, bool&) -> Result<int64_t> {
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(kGetMeta).text(key)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    if (pq().PQntuples(res) != 1)
      return Status::Internal(std::string("postgres: meta has no ") + key);
    return parse_int(pq().PQgetvalue(res, 0, 0), key);
  });
}

Result<int64_t> PostgresStore::revision() { return read_meta(kRevisionKey); }

Result<int64_t> PostgresStore::append_log(const std::string& uid,
                                          std::span<const LogPiece> pieces) {
  CENV_RETURN_IF_ERROR(check_log_pieces(uid, pieces));
  if (pieces.empty()) {
    auto summary = log_summary(uid);
    if (!summary.ok()) return summary.status();
    return summary->bytes;
  }
  ArrayParam seqs(kInt8Oid), offsets(kInt8Oid), streams(kInt8Oid), attempts(kInt8Oid),
      times(kInt8Oid), data(kByteaOid);
  int64_t offset = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const LogPiece& p = pieces[i];
    seqs.int64(static_cast<int64_t>(i));
    offsets.int64(offset);
    streams.int64(static_cast<int64_t>(p.stream));
    attempts.int64(p.attempt);
    times.int64(
        std::chrono::duration_cast<std::chrono::nanoseconds>(p.time.time_since_epoch()).count());
    data.text(p.data);  // a bytea element's binary form is its bytes
    offset += static_cast<int64_t>(p.data.size());
  }
  Call call = std::move(Call::prepared(kAppendLog)
                            .text(uid)
                            .binary(std::move(seqs).take())
                            .binary(std::move(offsets).take())
                            .binary(std::move(streams).take())
                            .binary(std::move(attempts).take())
                            .binary(std::move(times).take())
                            .binary(std::move(data).take()));
  auto r = with_connection<int64_t>([&](Connection& c, bool& retry_safe) -> Result<int64_t> {
    // One statement in its own transaction: a lost connection leaves it unknown whether the
    // chunks were stored, so it is not retried.
    retry_safe = false;
    std::vector<Call> calls;
    calls.push_back(call);
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    int64_t end = 0;
    for (int i = 0, n = pq().PQntuples(res); i < n; ++i) {
      auto v = parse_int(pq().PQgetvalue(res, i, 0), "log chunk end");
      if (!v.ok()) return v.status();
      end = std::max(end, *v);
    }
    return end;
  });
  if (!r.ok()) return r.status().with_prefix("log of " + uid);
  return r;
}

Result<std::vector<LogChunk>> PostgresStore::read_log(const std::string& uid, int64_t offset,
                                                      size_t max_bytes) {
  auto r = with_connection<std::vector<LogChunk>>(
      [&](Connection& c, bool&) -> Result<std::vector<LogChunk>> {
        std::vector<Call> calls;
        const int64_t limit = static_cast<int64_t>(std::min<uint64_t>(
            std::max<size_t>(max_bytes, 1), std::numeric_limits<int32_t>::max()));
        calls.push_back(std::move(Call::prepared(kReadLog)
                                      .text(uid)
                                      .text(std::to_string(offset))
                                      .text(std::to_string(limit))));
        auto results = c.pipeline(calls);
        if (!results.ok()) return results.status();
        const PGresult* res = (*results)[0].get();
        std::vector<LogChunk> out;
        for (int i = 0, n = pq().PQntuples(res); i < n; ++i) {
          LogChunk chunk;
          auto seq = parse_int(pq().PQgetvalue(res, i, 0), "log seq");
          auto off = parse_int(pq().PQgetvalue(res, i, 1), "log byte_offset");
          auto stream = parse_int(pq().PQgetvalue(res, i, 2), "log stream");
          auto attempt = parse_int(pq().PQgetvalue(res, i, 3), "log attempt");
          auto time = parse_int(pq().PQgetvalue(res, i, 4), "log time_ns");
          for (const auto* v : {&seq, &off, &stream, &attempt, &time}) {
            if (!v->ok()) return v->status();
          }
          auto data = decode_bytea(column(res, i, 5));
          if (!data.ok()) return data.status();
          chunk.seq = *seq;
          chunk.offset = *off;
          chunk.stream = *stream == 2 ? LogStream::kStderr : LogStream::kStdout;
          chunk.attempt = static_cast<int>(*attempt);
          chunk.time = std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  std::chrono::nanoseconds(*time)));
          chunk.data = std::move(data).value();
          if (chunk.end() <= offset) continue;
          if (chunk.offset < offset) {
            chunk.data.erase(0, static_cast<size_t>(offset - chunk.offset));
            chunk.offset = offset;
          }
          out.push_back(std::move(chunk));
        }
        return out;
      });
  if (!r.ok()) return r.status().with_prefix("log of " + uid);
  return r;
}

Result<LogSummary> PostgresStore::log_summary(const std::string& uid) {
  auto r = with_connection<LogSummary>([&](Connection& c, bool&) -> Result<LogSummary> {
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(kLogSummary).text(uid)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    LogSummary summary;
    for (int i = 0, n = pq().PQntuples(res); i < n; ++i) {
      auto attempt = parse_int(pq().PQgetvalue(res, i, 0), "log attempt");
      auto stream = parse_int(pq().PQgetvalue(res, i, 1), "log stream");
      auto count = parse_int(pq().PQgetvalue(res, i, 2), "log chunk count");
      auto bytes = parse_int(pq().PQgetvalue(res, i, 3), "log bytes");
      for (const auto* v : {&attempt, &stream, &count, &bytes}) {
        if (!v->ok()) return v->status();
      }
      LogSummary::Part part;
      part.attempt = static_cast<int>(*attempt);
      part.stream = *stream == 2 ? LogStream::kStderr : LogStream::kStdout;
      part.bytes = *bytes;
      summary.chunks += *count;
      summary.bytes += *bytes;
      summary.parts.push_back(part);
    }
    return summary;
  });
  if (!r.ok()) return r.status().with_prefix("log of " + uid);
  return r;
}

Status PostgresStore::delete_log(const std::string& uid) {
  auto r = with_connection<bool>([&](Connection& c, bool& retry_safe) -> Result<bool> {
    retry_safe = true;  // idempotent
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(kDeleteLog).text(uid)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    return true;
  });
  return r.ok() ? Status::Ok() : r.status().with_prefix("log of " + uid);
}

Result<int64_t> PostgresStore::compacted_revision() { return read_meta(kCompactedKey); }

}  // namespace cenv
