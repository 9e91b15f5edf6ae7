#include "controller/store/postgres_connection.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "controller/store/postgres_url.h"

namespace cenv {

const LibPq& pq() {
  static const LibPq* const table = LibPq::load().value();
  return *table;
}

namespace {

std::string statement_name(PostgresStatement s) {
  return "cenv_" + std::to_string(static_cast<int>(s));
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

// A short description of a statement for messages ("SELECT value FROM meta WHERE key...").
std::string describe_sql(const char* sql) {
  std::string s = pg_one_line(sql);
  return s.size() > 48 ? s.substr(0, 45) + "..." : s;
}

}  // namespace

std::string pg_one_line(const char* text) {
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

std::string_view pg_column(const PGresult* r, int row, int col) {
  return std::string_view(pq().PQgetvalue(r, row, col),
                          static_cast<size_t>(pq().PQgetlength(r, row, col)));
}

Result<int64_t> pg_int(const PGresult* r, int row, int col, const char* what) {
  return parse_int(pq().PQgetvalue(r, row, col), what);
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

Result<std::string> parse_connection_url(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = pq().PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string msg = err ? pg_one_line(err) : "out of memory";
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

// ---------------------------------------------------------------------------------------------
// PostgresArray

PostgresArray::PostgresArray(uint32_t element_oid) {
  put32(1);  // ndim
  put32(0);  // has nulls, patched by take()
  put32(element_oid);
  put32(0);  // length, patched by take()
  put32(1);  // lower bound
}

void PostgresArray::text(std::string_view v) {
  put32(static_cast<uint32_t>(v.size()));
  buf_.append(v);
  ++count_;
}

void PostgresArray::null() {
  put32(0xffffffffu);
  has_null_ = true;
  ++count_;
}

void PostgresArray::int64(int64_t v) {
  put32(8);
  put32(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
  put32(static_cast<uint32_t>(static_cast<uint64_t>(v)));
  ++count_;
}

std::string PostgresArray::take() && {
  patch(4, has_null_ ? 1 : 0);
  patch(12, count_);
  return std::move(buf_);
}

void PostgresArray::put32(uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  buf_.append(b, 4);
}

void PostgresArray::patch(size_t at, uint32_t v) {
  buf_[at] = static_cast<char>(v >> 24);
  buf_[at + 1] = static_cast<char>(v >> 16);
  buf_[at + 2] = static_cast<char>(v >> 8);
  buf_[at + 3] = static_cast<char>(v);
}

// ---------------------------------------------------------------------------------------------
// PostgresCall

PostgresCall PostgresCall::plain(const char* sql) {
  PostgresCall c;
  c.sql = sql;
  return c;
}

PostgresCall PostgresCall::prepared(PostgresStatement stmt) {
  PostgresCall c;
  c.stmt = stmt;
  return c;
}

PostgresCall& PostgresCall::text(std::string v) {
  values.push_back(std::move(v));
  formats.push_back(0);
  return *this;
}

PostgresCall& PostgresCall::binary(std::string v) {
  values.push_back(std::move(v));
  formats.push_back(1);
  return *this;
}

const char* PostgresCall::what() const { return sql ? sql : postgres_statement_sql(stmt); }

void PostgresKeyArrays::add(const ObjectKey& key) {
  kinds_.text(key.kind);
  namespaces_.text(key.ns);
  names_.text(key.name);
}

PostgresCall PostgresKeyArrays::call(PostgresStatement stmt) && {
  return std::move(PostgresCall::prepared(stmt)
                       .binary(std::move(kinds_).take())
                       .binary(std::move(namespaces_).take())
                       .binary(std::move(names_).take()));
}

// ---------------------------------------------------------------------------------------------
// PostgresConnection

PostgresConnection::PostgresConnection(PGconn* conn, std::string target, PostgresSession session)
    : conn_(conn), target_(std::move(target)), session_(session) {}

PostgresConnection::~PostgresConnection() { pq().PQfinish(conn_); }

Result<std::unique_ptr<PostgresConnection>> PostgresConnection::open(
    const std::string& url, const std::string& target, std::chrono::seconds connect_timeout,
    PostgresSession session) {
  // Our defaults come before the URL (expanded from "dbname"), so the URL's settings win;
  // the client encoding comes after: every text we send and read is UTF-8.
  const std::string timeout = std::to_string(std::max<int64_t>(2, connect_timeout.count()));
  const char* keys[] = {
      "connect_timeout", "keepalives_idle",           "keepalives_interval", "keepalives_count",
      "dbname",          "fallback_application_name", "client_encoding",     nullptr};
  const char* values[] = {timeout.c_str(), "30", "10", "3", url.c_str(), "cenv", "UTF8", nullptr};
  PGconn* raw = pq().PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!raw) return Status::Unavailable("postgres: cannot connect to " + target + ": out of memory");
  std::unique_ptr<PostgresConnection> c(new PostgresConnection(raw, target, session));
  // Notices (CREATE TABLE IF NOT EXISTS "skipping", ...) would go to stderr; PQreset keeps this.
  pq().PQsetNoticeProcessor(
      raw, [](void*, const char* message) { spdlog::debug("postgres: {}", pg_one_line(message)); },
      nullptr);
  if (pq().PQstatus(raw) != CONNECTION_OK) {
    return Status::Unavailable("postgres: cannot connect to " + target + ": " +
                               pg_one_line(pq().PQerrorMessage(raw)));
  }
  return c;
}

bool PostgresConnection::broken() const { return broken_ || pq().PQstatus(conn_) != CONNECTION_OK; }

Status PostgresConnection::setup() {
  std::string set =
      "SET lock_timeout = " + std::to_string(session_.lock_timeout.count()) +
      "; SET statement_timeout = " + std::to_string(session_.statement_timeout.count());
  CENV_RETURN_IF_ERROR(exec(set.c_str(), "configure the session"));
  if (!pq().PQenterPipelineMode(conn_)) return connection_error("prepare statements");
  for (int i = 0; i < kPostgresStatementCount; ++i) {
    const auto stmt = static_cast<PostgresStatement>(i);
    if (!pq().PQsendPrepare(conn_, statement_name(stmt).c_str(), postgres_statement_sql(stmt), 0,
                            nullptr)) {
      broken_ = true;
      return connection_error("prepare statements");
    }
  }
  if (!pq().PQpipelineSync(conn_)) {
    broken_ = true;
    return connection_error("prepare statements");
  }
  Status first;
  for (int i = 0; i < kPostgresStatementCount; ++i) {
    PgResult r(pq().PQgetResult(conn_));
    if (!r) {
      broken_ = true;
      return connection_error("prepare statements");
    }
    if (first.ok() && pq().PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      first = result_error(r.get(), postgres_statement_sql(static_cast<PostgresStatement>(i)));
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

Status PostgresConnection::ensure_healthy() {
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
    return Status::Unavailable("postgres: cannot connect to " + target_ + ": " +
                               pg_one_line(pq().PQerrorMessage(conn_)));
  }
  broken_ = false;
  Status s = setup();
  if (!s.ok()) broken_ = true;
  return s;
}

Status PostgresConnection::exec(const char* sql, const char* what) {
  PgResult r(pq().PQexec(conn_, sql));
  if (!r) return connection_error(what);
  ExecStatusType st = pq().PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return result_error(r.get(), what);
  return Status::Ok();
}

Result<int64_t> PostgresConnection::query_int(const char* sql, const char* what) {
  PgResult r(pq().PQexec(conn_, sql));
  if (!r) return connection_error(what);
  if (pq().PQresultStatus(r.get()) != PGRES_TUPLES_OK) return result_error(r.get(), what);
  if (pq().PQntuples(r.get()) != 1 || pq().PQnfields(r.get()) != 1) {
    return Status::Internal(std::string("postgres: ") + what + ": expected one value");
  }
  return parse_int(pq().PQgetvalue(r.get(), 0, 0), what);
}

Result<std::vector<PgResult>> PostgresConnection::pipeline(const std::vector<PostgresCall>& calls) {
  if (!pq().PQenterPipelineMode(conn_)) return connection_error("start a pipeline");
  size_t sent = 0;
  bool send_failed = false;
  for (const PostgresCall& c : calls) {
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
                                    static_cast<int>(values.size()), values.data(), lengths.data(),
                                    c.formats.data(), 0);
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

void PostgresConnection::rollback_if_open() {
  if (broken()) return;
  PGTransactionStatusType t = pq().PQtransactionStatus(conn_);
  if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR) {
    if (!exec("ROLLBACK", "roll back").ok()) broken_ = true;
  }
}

Status PostgresConnection::result_error(const PGresult* r, const char* what) {
  const char* state = pq().PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* primary = pq().PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  std::string msg = "postgres: " + describe_sql(what) + ": " +
                    pg_one_line(primary ? primary : pq().PQresultErrorMessage(r));
  if (state) msg += std::string(" (SQLSTATE ") + state + ")";
  if (pq().PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  if (broken() || (state && is_transient(state))) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

Status PostgresConnection::connection_error(const char* what) {
  if (pq().PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  std::string msg =
      "postgres: " + describe_sql(what) + ": " + pg_one_line(pq().PQerrorMessage(conn_));
  return broken() ? Status::Unavailable(msg) : Status::Internal(msg);
}

}  // namespace cenv
