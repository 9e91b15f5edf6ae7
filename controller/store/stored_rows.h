#pragma once
// Reading stored rows back, the same for every engine: both engines keep the same tables
// (sqlite_store.h lists them), so each reads a row's columns its own way (SQLite's typed
// columns, libpq's text) and turns them into the Store's types here, with the same checks and
// the same words. Every error message starts with the engine's name (`engine`: "sqlite",
// "postgres"). Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/object.h"
#include "api/selector.h"
#include "api/status.h"
#include "controller/store/store.h"

namespace cenv {

// The object stored as JSON text `data` in `table` ("objects", "events"). Internal, naming the
// table and the parser's reason, when the text is not an object.
Result<Object> parse_stored_object(std::string_view engine, std::string_view data,
                                   const char* table);

// One row of the events table: its revision, type ("ADDED", ...) and the object's JSON text.
// Internal for an unknown type or a corrupt object.
Result<WatchEvent> parse_event_row(std::string_view engine, int64_t revision, std::string_view type,
                                   std::string_view data);

// Whether `selector` selects the object whose labels column holds `labels` (the JSON text of
// metadata.labels; nullopt for NULL, an object without labels), decided without parsing the
// whole object. Internal when the column is not a JSON object.
Result<bool> stored_labels_match(std::string_view engine, const LabelSelector& selector,
                                 std::optional<std::string_view> labels);

// One row of log_chunks, its columns as stored.
struct StoredLogChunk {
  int64_t seq = 0;
  int64_t byte_offset = 0;
  int64_t stream = 0;  // LogStream's value; anything but 2 (stderr) reads as stdout
  int64_t attempt = 0;
  int64_t time_ns = 0;  // Unix nanoseconds
  std::string data;
};

// The chunk `row` holds from byte `from` of the log on (the whole chunk when it starts there
// or later); nullopt when it ends at or before `from`.
std::optional<LogChunk> log_chunk_from(StoredLogChunk row, int64_t from);

// Adds one row of the per (attempt, stream) log summary query to `summary`: `chunks` chunks of
// `bytes` bytes in all. Rows come ordered by attempt, then stream.
void add_log_summary_row(LogSummary& summary, int64_t attempt, int64_t stream, int64_t chunks,
                         int64_t bytes);

// ---- answers both engines give alike ----

// NotFound for get() of a key nothing is stored under: `Service "web" not found in namespace
// "demo"`.
Status object_not_found(const ObjectKey& key);

// For events_since(after): Invalid when `after` is negative.
Status check_events_after(int64_t after);

// For events_since(after) on a history compacted to `compacted`: Gone (the caller must
// relist) when `after` is older than the history kept; Ok otherwise.
Status check_not_compacted(int64_t after, int64_t compacted);

// For compact(revision) at the store's revision `current`: Invalid when `revision` is newer.
Status check_compact_revision(int64_t revision, int64_t current);

}  // namespace cenv
