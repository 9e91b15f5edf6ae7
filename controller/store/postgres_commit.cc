#include "controller/store/postgres_commit.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "controller/store/stored_rows.h"
#include "controller/store/write_semantics.h"

namespace cenv {

namespace json = boost::json;

namespace {

using Stmt = PostgresStatement;

// Rows per INSERT/DELETE statement of a commit: large enough that a 10,000-object commit is a
// handful of statements, small enough that no parameter grows past a few megabytes.
constexpr size_t kRowsPerStatement = 2000;

// Where one key of a commit stands as the writes are applied in memory.
struct KeyState {
  std::optional<Object> loaded;     // as stored before the commit; nullopt when absent
  const Object* current = nullptr;  // as it stands now: &*loaded, an element of the
                                    // commit's results, or nullptr when absent
  size_t event = 0;                 // when touched and present: the event holding its JSON
  bool touched = false;             // written by this commit
};

using KeyStates = std::map<ObjectKey, KeyState>;

struct EventRow {
  int64_t revision;
  EventType type;
  const ObjectKey* key;
  std::string data;
};

// What the transaction found after taking the revision lock.
struct Locked {
  int64_t revision = 0;        // the newest revision written
  int64_t compacted = 0;       // the compacted revision
  std::vector<PgResult> more;  // the results of `more` given to lock_revision()
};

// Opens the transaction, locks meta's revision row, reads the revision and the compacted
// revision, and runs `more` in the same round trip.
Result<Locked> lock_revision(PostgresConnection& c, std::vector<PostgresCall> more) {
  std::vector<PostgresCall> calls;
  calls.push_back(PostgresCall::plain("BEGIN"));
  calls.push_back(PostgresCall::prepared(Stmt::kLockRevision));
  calls.push_back(std::move(PostgresCall::prepared(Stmt::kGetMeta).text(kPostgresCompactedKey)));
  for (PostgresCall& call : more) calls.push_back(std::move(call));
  auto results = c.pipeline(calls);
  if (!results.ok()) return results.status();
  auto& rs = *results;
  if (pq().PQntuples(rs[1].get()) != 1 || pq().PQntuples(rs[2].get()) != 1) {
    return Status::Internal("postgres: meta is missing its revision rows");
  }
  Locked locked;
  auto current = pg_int(rs[1].get(), 0, 0, "meta revision");
  if (!current.ok()) return current.status();
  locked.revision = *current;
  auto compacted = pg_int(rs[2].get(), 0, 0, "meta compacted_revision");
  if (!compacted.ok()) return compacted.status();
  locked.compacted = *compacted;
  for (size_t i = 3; i < rs.size(); ++i) locked.more.push_back(std::move(rs[i]));
  return locked;
}

// Reads every key the batch touches into `state`, in one statement after taking the revision
// lock (so the resourceVersion checks see every earlier commit of every process).
Result<Locked> lock_and_load(PostgresConnection& c, KeyStates& state) {
  PostgresKeyArrays keys;
  for (const auto& [key, unused] : state) keys.add(key);
  std::vector<PostgresCall> get;
  get.push_back(std::move(keys).call(Stmt::kGetObjects));
  auto locked = lock_revision(c, std::move(get));
  if (!locked.ok()) return locked.status();
  const PGresult* objs = locked->more[0].get();
  for (int i = 0, n = pq().PQntuples(objs); i < n; ++i) {
    ObjectKey key{std::string(pg_column(objs, i, 0)), std::string(pg_column(objs, i, 1)),
                  std::string(pg_column(objs, i, 2))};
    auto it = state.find(key);
    if (it == state.end()) continue;
    auto obj = parse_stored_object("postgres", pg_column(objs, i, 3), "objects");
    if (!obj.ok()) return obj.status();
    it->second.loaded = std::move(obj).value();
    it->second.current = &*it->second.loaded;
  }
  return locked;
}

// The batch applied in memory.
struct Applied {
  int64_t revision = 0;     // the newest revision after the batch
  std::vector<Object> out;  // commit()'s result; KeyState::current points into it
  std::vector<EventRow> events;
};

// Applies `writes` in order to `state` (as loaded at revision `start`) with apply_write().
// Fails as apply_write() does, naming the object.
Result<Applied> apply_writes(std::span<const Write> writes, KeyStates& state, int64_t start,
                             const Clock& clock, const UidGenerator& new_uid) {
  Applied a;
  a.revision = start;
  a.out.reserve(writes.size());  // never reallocates: KeyState::current points into it
  a.events.reserve(writes.size());
  for (const Write& w : writes) {
    auto it = state.find(w.object.key());
    KeyState& ks = it->second;
    auto outcome = apply_write(w, ks.current, a.revision + 1, clock, new_uid);
    if (!outcome.ok()) return outcome.status();  // names the object already
    WriteOutcome& o = *outcome;
    if (!o.changed) {
      a.out.push_back(std::move(o.object));
      continue;
    }
    ++a.revision;
    ks.touched = true;
    a.events.push_back({a.revision, o.type, &it->first, o.object.to_json()});
    a.out.push_back(std::move(o.object));
    if (o.type == EventType::kDeleted) {
      ks.current = nullptr;
    } else {
      ks.current = &a.out.back();
      ks.event = a.events.size() - 1;
    }
  }
  return a;
}

// Appends the INSERTs of `events` to `calls`.
void insert_events(const std::vector<EventRow>& events, std::vector<PostgresCall>& calls) {
  for (size_t from = 0; from < events.size(); from += kRowsPerStatement) {
    PostgresArray revs(kPgInt8Oid), types(kPgTextOid), kinds(kPgTextOid), namespaces(kPgTextOid),
        names(kPgTextOid), data(kPgTextOid);
    for (size_t i = from, to = std::min(events.size(), from + kRowsPerStatement); i < to; ++i) {
      const EventRow& e = events[i];
      revs.int64(e.revision);
      types.text(event_type_name(e.type));
      kinds.text(e.key->kind);
      namespaces.text(e.key->ns);
      names.text(e.key->name);
      data.text(e.data);
    }
    calls.push_back(std::move(PostgresCall::prepared(Stmt::kInsertEvents)
                                  .binary(std::move(revs).take())
                                  .binary(std::move(types).take())
                                  .binary(std::move(kinds).take())
                                  .binary(std::move(namespaces).take())
                                  .binary(std::move(names).take())
                                  .binary(std::move(data).take())));
  }
}

using Row = std::pair<const ObjectKey*, const KeyState*>;

// Appends `stmt` (kInsertObjects or kUpdateObjects) for the final state of `rows` to `calls`;
// an object's JSON is its event's.
void store_objects(Stmt stmt, const std::vector<Row>& rows, const std::vector<EventRow>& events,
                   std::vector<PostgresCall>& calls) {
  std::string labels;
  for (size_t from = 0; from < rows.size(); from += kRowsPerStatement) {
    PostgresArray kinds(kPgTextOid), namespaces(kPgTextOid), names(kPgTextOid), uids(kPgTextOid),
        revs(kPgInt8Oid), label_col(kPgTextOid), data(kPgTextOid);
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
    calls.push_back(std::move(PostgresCall::prepared(stmt)
                                  .binary(std::move(kinds).take())
                                  .binary(std::move(namespaces).take())
                                  .binary(std::move(names).take())
                                  .binary(std::move(uids).take())
                                  .binary(std::move(revs).take())
                                  .binary(std::move(label_col).take())
                                  .binary(std::move(data).take())));
  }
}

// Appends the DELETEs of `rows` and of their logs to `calls`.
void delete_objects(const std::vector<Row>& rows, std::vector<PostgresCall>& calls) {
  for (size_t from = 0; from < rows.size(); from += kRowsPerStatement) {
    const size_t to = std::min(rows.size(), from + kRowsPerStatement);
    PostgresKeyArrays keys;
    for (size_t i = from; i < to; ++i) keys.add(*rows[i].first);
    calls.push_back(std::move(keys).call(Stmt::kDeleteObjects));
    // Their logs go with them.
    PostgresArray uids(kPgTextOid);
    for (size_t i = from; i < to; ++i) uids.text(rows[i].second->loaded->uid());
    calls.push_back(
        std::move(PostgresCall::prepared(Stmt::kDeleteLogs).binary(std::move(uids).take())));
  }
}

// Appends the writes of the objects: the final state of each key the batch wrote, by what
// happened to the row.
void write_objects(const KeyStates& state, const std::vector<EventRow>& events,
                   std::vector<PostgresCall>& calls) {
  std::vector<Row> inserts, updates, deletes;
  for (const auto& [key, ks] : state) {
    if (!ks.touched) continue;
    if (ks.current) {
      (ks.loaded ? updates : inserts).emplace_back(&key, &ks);
    } else if (ks.loaded) {
      deletes.emplace_back(&key, &ks);
    }  // created and deleted within the batch: no row
  }
  store_objects(Stmt::kInsertObjects, inserts, events, calls);
  store_objects(Stmt::kUpdateObjects, updates, events, calls);
  delete_objects(deletes, calls);
}

// Appends the compaction of the event history to `revision`.
void compact_to(int64_t revision, std::vector<PostgresCall>& calls) {
  calls.push_back(
      std::move(PostgresCall::prepared(Stmt::kDeleteEvents).text(std::to_string(revision))));
  calls.push_back(std::move(PostgresCall::prepared(Stmt::kSetMeta)
                                .text(kPostgresCompactedKey)
                                .text(std::to_string(revision))));
}

}  // namespace

Result<std::vector<Object>> postgres_commit(PostgresConnection& c, std::span<const Write> writes,
                                            const Clock& clock, const PostgresStoreOptions& options,
                                            bool& retry_safe) {
  KeyStates state;
  for (const Write& w : writes) state.try_emplace(w.object.key());
  auto locked = lock_and_load(c, state);
  if (!locked.ok()) return locked.status();
  // From here on the transaction is open and holds the lock; a failure rolls it back
  // (PostgresStore::with_connection()).
  auto applied = apply_writes(writes, state, locked->revision, clock, options.uid_generator);
  if (!applied.ok()) return applied.status();
  const int64_t rev = applied->revision;

  std::vector<PostgresCall> calls;
  if (rev != locked->revision) {
    insert_events(applied->events, calls);
    write_objects(state, applied->events, calls);
    calls.push_back(std::move(PostgresCall::prepared(Stmt::kSetMeta)
                                  .text(kPostgresRevisionKey)
                                  .text(std::to_string(rev))));
    // Every process sharing the database hears of the new revision once it commits
    // (watchers on other controller replicas; postgres_change_feed.h).
    calls.push_back(std::move(PostgresCall::prepared(Stmt::kNotify).text(std::to_string(rev))));
    // Auto-compaction, as SqliteStore: every revision above the compacted one has exactly
    // one event row.
    const int64_t keep = options.auto_compact_keep;
    if (keep > 0 && rev - locked->compacted > keep + keep / 10) compact_to(rev - keep, calls);
  }
  calls.push_back(PostgresCall::plain("COMMIT"));
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
  return std::move(applied->out);
}

Status postgres_compact(PostgresConnection& c, int64_t revision) {
  auto locked = lock_revision(c, {});
  if (!locked.ok()) return locked.status();
  CENV_RETURN_IF_ERROR(check_compact_revision(revision, locked->revision));
  std::vector<PostgresCall> finish;
  if (revision > locked->compacted) compact_to(revision, finish);
  finish.push_back(PostgresCall::plain("COMMIT"));
  auto done = c.pipeline(finish);
  return done.ok() ? Status::Ok() : done.status();
}

}  // namespace cenv
