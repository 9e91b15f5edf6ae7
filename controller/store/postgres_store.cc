#include "controller/store/postgres_store.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "controller/store/libpq.h"
#include "controller/store/postgres_commit.h"
#include "controller/store/postgres_connection.h"
#include "controller/store/stored_rows.h"

namespace cenv {

namespace {

using Stmt = PostgresStatement;
using Connection = PostgresConnection;
using Call = PostgresCall;

}  // namespace

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
  auto password = parse_connection_url(url);
  if (!password.ok()) return password.status();
  options.pool_size = std::max(1, options.pool_size);
  std::unique_ptr<PostgresStore> store(new PostgresStore(url, clock, std::move(options)));
  store->password_ = std::move(password).value();

  auto first = store->connect(/*prepare=*/false);
  if (!first.ok()) return store->redact(first.status());
  Status s = migrate_postgres_schema(**first, store->redacted_url_);
  if (s.ok()) s = (*first)->setup();
  if (!s.ok()) return store->redact(s);
  {
    std::lock_guard lock(store->mu_);
    store->open_connections_ = 1;
  }
  store->release(std::move(first).value());
  return store;
}

Result<std::unique_ptr<PostgresConnection>> PostgresStore::connect(bool prepare) {
  PostgresSession session{options_.lock_timeout, options_.statement_timeout};
  auto c = PostgresConnection::open(url_, redacted_url_, options_.connect_timeout, session);
  if (!c.ok()) return c.status();
  if (prepare) CENV_RETURN_IF_ERROR((*c)->setup());
  return c;
}

Status PostgresStore::redact(const Status& s) const {
  if (s.ok() || password_.empty() || s.message().find(password_) == std::string::npos) return s;
  return Status(s.code(), mask_password(s.message(), password_), s.fields());
}

Result<PostgresStore::Lease> PostgresStore::acquire() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      Lease lease(this, std::move(c));
      CENV_RETURN_IF_ERROR(lease->ensure_healthy());
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
  return with_connection<std::vector<Object>>([&](Connection& c, bool& retry_safe) {
    return postgres_commit(c, writes, clock_, options_, retry_safe);
  });
}

Status PostgresStore::compact(int64_t revision) {
  auto r = with_connection<bool>([&](Connection& c, bool& retry_safe) -> Result<bool> {
    retry_safe = true;  // compaction is idempotent
    CENV_RETURN_IF_ERROR(postgres_compact(c, revision));
    return true;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<Object> PostgresStore::get(const ObjectKey& key) {
  auto r = with_connection<std::optional<Object>>(
      [&](Connection& c, bool&) -> Result<std::optional<Object>> {
        std::vector<Call> calls;
        calls.push_back(
            std::move(Call::prepared(Stmt::kGetObject).text(key.kind).text(key.ns).text(key.name)));
        auto results = c.pipeline(calls);
        if (!results.ok()) return results.status();
        const PGresult* res = (*results)[0].get();
        if (pq().PQntuples(res) == 0) return std::optional<Object>();
        auto obj = parse_stored_object("postgres", pg_column(res, 0, 0), "objects");
        if (!obj.ok()) return obj.status();
        return std::optional<Object>(std::move(obj).value());
      });
  if (!r.ok()) return r.status().with_prefix(key.to_string());
  if (!r->has_value()) {
    return object_not_found(key);
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
        PostgresKeyArrays wanted;
        for (const auto& [key, unused] : index) wanted.add(key);
        std::vector<Call> calls;
        calls.push_back(std::move(wanted).call(Stmt::kGetObjects));
        auto results = c.pipeline(calls);
        if (!results.ok()) return results.status();
        const PGresult* objs = (*results)[0].get();
        std::map<ObjectKey, Object> out;
        for (int i = 0, n = pq().PQntuples(objs); i < n; ++i) {
          ObjectKey key{std::string(pg_column(objs, i, 0)), std::string(pg_column(objs, i, 1)),
                        std::string(pg_column(objs, i, 2))};
          auto obj = parse_stored_object("postgres", pg_column(objs, i, 3), "objects");
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
      calls.push_back(std::move(Call::prepared(Stmt::kList).text(options.kind)));
    } else {
      calls.push_back(
          std::move(Call::prepared(Stmt::kListNamespace).text(options.kind).text(options.ns)));
    }
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    const int n = pq().PQntuples(res);
    if (n == 0) return Status::Internal("postgres: meta has no revision");
    ObjectList list;
    auto rev = pg_int(res, 0, 0, "meta revision");
    if (!rev.ok()) return rev.status();
    list.revision = *rev;
    const bool filter = !options.selector.empty();
    for (int i = 0; i < n; ++i) {
      if (pq().PQgetisnull(res, i, 2)) continue;  // the LEFT JOIN's row when nothing matched
      if (filter) {
        auto labels =
            pq().PQgetisnull(res, i, 1) ? std::nullopt : std::optional(pg_column(res, i, 1));
        auto selected = stored_labels_match("postgres", options.selector, labels);
        if (!selected.ok()) return selected.status();
        if (!*selected) continue;
      }
      auto obj = parse_stored_object("postgres", pg_column(res, i, 2), "objects");
      if (!obj.ok()) return obj.status();
      list.items.push_back(std::move(obj).value());
    }
    return list;
  });
}

Result<std::vector<WatchEvent>> PostgresStore::events_since(int64_t after, size_t limit) {
  CENV_RETURN_IF_ERROR(check_events_after(after));
  return with_connection<std::vector<WatchEvent>>([&](Connection& c,
                                                      bool&) -> Result<std::vector<WatchEvent>> {
    std::vector<Call> calls;
    calls.push_back(std::move(
        Call::prepared(Stmt::kEventsSince)
            .text(std::to_string(after))
            .text(std::to_string(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max())))));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    const int n = pq().PQntuples(res);
    if (n == 0) return Status::Internal("postgres: meta has no compacted_revision");
    auto compacted = pg_int(res, 0, 0, "meta compacted_revision");
    if (!compacted.ok()) return compacted.status();
    CENV_RETURN_IF_ERROR(check_not_compacted(after, *compacted));
    std::vector<WatchEvent> events;
    events.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      if (pq().PQgetisnull(res, i, 1)) continue;  // the LEFT JOIN's row when there is none
      auto rev = pg_int(res, i, 1, "events revision");
      if (!rev.ok()) return rev.status();
      auto e = parse_event_row("postgres", *rev, pg_column(res, i, 2), pg_column(res, i, 3));
      if (!e.ok()) return e.status();
      events.push_back(std::move(e).value());
    }
    return events;
  });
}

Result<int64_t> PostgresStore::read_meta(const char* key) {
  return with_connection<int64_t>([&](Connection& c, bool&) -> Result<int64_t> {
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(Stmt::kGetMeta).text(key)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    if (pq().PQntuples(res) != 1)
      return Status::Internal(std::string("postgres: meta has no ") + key);
    return pg_int(res, 0, 0, key);
  });
}

Result<int64_t> PostgresStore::revision() { return read_meta(kPostgresRevisionKey); }

Result<int64_t> PostgresStore::append_log(const std::string& uid,
                                          std::span<const LogPiece> pieces) {
  CENV_RETURN_IF_ERROR(check_log_pieces(uid, pieces));
  if (pieces.empty()) {
    auto summary = log_summary(uid);
    if (!summary.ok()) return summary.status();
    return summary->bytes;
  }
  PostgresArray seqs(kPgInt8Oid), offsets(kPgInt8Oid), streams(kPgInt8Oid), attempts(kPgInt8Oid),
      times(kPgInt8Oid), data(kPgByteaOid);
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
  Call call = std::move(Call::prepared(Stmt::kAppendLog)
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
      auto v = pg_int(res, i, 0, "log chunk end");
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
  auto r = with_connection<std::vector<LogChunk>>([&](Connection& c,
                                                      bool&) -> Result<std::vector<LogChunk>> {
    std::vector<Call> calls;
    const int64_t limit = static_cast<int64_t>(
        std::min<uint64_t>(std::max<size_t>(max_bytes, 1), std::numeric_limits<int32_t>::max()));
    calls.push_back(std::move(Call::prepared(Stmt::kReadLog)
                                  .text(uid)
                                  .text(std::to_string(offset))
                                  .text(std::to_string(limit))));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    std::vector<LogChunk> out;
    for (int i = 0, n = pq().PQntuples(res); i < n; ++i) {
      auto seq = pg_int(res, i, 0, "log seq");
      auto off = pg_int(res, i, 1, "log byte_offset");
      auto stream = pg_int(res, i, 2, "log stream");
      auto attempt = pg_int(res, i, 3, "log attempt");
      auto time = pg_int(res, i, 4, "log time_ns");
      for (const auto* v : {&seq, &off, &stream, &attempt, &time}) {
        if (!v->ok()) return v->status();
      }
      auto data = decode_bytea(pg_column(res, i, 5));
      if (!data.ok()) return data.status();
      auto chunk =
          log_chunk_from({*seq, *off, *stream, *attempt, *time, std::move(data).value()}, offset);
      if (chunk) out.push_back(std::move(*chunk));
    }
    return out;
  });
  if (!r.ok()) return r.status().with_prefix("log of " + uid);
  return r;
}

Result<LogSummary> PostgresStore::log_summary(const std::string& uid) {
  auto r = with_connection<LogSummary>([&](Connection& c, bool&) -> Result<LogSummary> {
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(Stmt::kLogSummary).text(uid)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    LogSummary summary;
    for (int i = 0, n = pq().PQntuples(res); i < n; ++i) {
      auto attempt = pg_int(res, i, 0, "log attempt");
      auto stream = pg_int(res, i, 1, "log stream");
      auto count = pg_int(res, i, 2, "log chunk count");
      auto bytes = pg_int(res, i, 3, "log bytes");
      for (const auto* v : {&attempt, &stream, &count, &bytes}) {
        if (!v->ok()) return v->status();
      }
      add_log_summary_row(summary, *attempt, *stream, *count, *bytes);
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
    calls.push_back(std::move(Call::prepared(Stmt::kDeleteLog).text(uid)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    return true;
  });
  return r.ok() ? Status::Ok() : r.status().with_prefix("log of " + uid);
}

Status PostgresStore::trim_log(const std::string& uid, int keep_from_attempt) {
  auto r = with_connection<bool>([&](Connection& c, bool& retry_safe) -> Result<bool> {
    retry_safe = true;  // idempotent
    std::vector<Call> calls;
    calls.push_back(std::move(
        Call::prepared(Stmt::kTrimLog).text(uid).text(std::to_string(keep_from_attempt))));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    return true;
  });
  return r.ok() ? Status::Ok() : r.status().with_prefix("log of " + uid);
}

Status PostgresStore::put_archive(const std::string& digest, std::string_view bytes) {
  if (digest.empty()) return Status::Invalid("archive digest is empty");
  auto r = with_connection<bool>([&](Connection& c, bool& retry_safe) -> Result<bool> {
    retry_safe = true;  // idempotent: the same digest names the same bytes
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(Stmt::kPutArchive)
                                  .text(digest)
                                  .text(std::to_string(bytes.size()))
                                  .binary(std::string(bytes))));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    return true;
  });
  return r.ok() ? Status::Ok() : r.status().with_prefix("archive " + digest);
}

Result<std::string> PostgresStore::get_archive(const std::string& digest) {
  auto r = with_connection<std::string>([&](Connection& c, bool&) -> Result<std::string> {
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(Stmt::kGetArchive).text(digest)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    const PGresult* res = (*results)[0].get();
    if (pq().PQntuples(res) == 0) return Status::NotFound("archive " + digest + " not found");
    return decode_bytea(pg_column(res, 0, 0));
  });
  if (!r.ok() && r.status().code() != Code::kNotFound) {
    return r.status().with_prefix("archive " + digest);
  }
  return r;
}

Result<bool> PostgresStore::has_archive(const std::string& digest) {
  auto r = with_connection<bool>([&](Connection& c, bool&) -> Result<bool> {
    std::vector<Call> calls;
    calls.push_back(std::move(Call::prepared(Stmt::kHasArchive).text(digest)));
    auto results = c.pipeline(calls);
    if (!results.ok()) return results.status();
    return pq().PQntuples((*results)[0].get()) > 0;
  });
  if (!r.ok()) return r.status().with_prefix("archive " + digest);
  return r;
}

Result<std::vector<std::string>> PostgresStore::list_archives() {
  return with_connection<std::vector<std::string>>(
      [&](Connection& c, bool&) -> Result<std::vector<std::string>> {
        std::vector<Call> calls;
        calls.push_back(Call::prepared(Stmt::kListArchives));
        auto results = c.pipeline(calls);
        if (!results.ok()) return results.status();
        const PGresult* res = (*results)[0].get();
        std::vector<std::string> out;
        for (int i = 0, n = pq().PQntuples(res); i < n; ++i) {
          out.emplace_back(pg_column(res, i, 0));
        }
        return out;
      });
}

Result<int64_t> PostgresStore::compacted_revision() { return read_meta(kPostgresCompactedKey); }

}  // namespace cenv
