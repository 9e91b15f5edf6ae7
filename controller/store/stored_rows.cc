#include "controller/store/stored_rows.h"

#include <boost/json.hpp>
#include <chrono>
#include <utility>

namespace cenv {

namespace {

LogStream stored_stream(int64_t stream) {
  return stream == 2 ? LogStream::kStderr : LogStream::kStdout;
}

std::string prefix(std::string_view engine) { return std::string(engine) + ": "; }

}  // namespace

Result<Object> parse_stored_object(std::string_view engine, std::string_view data,
                                   const char* table) {
  auto obj = Object::from_json(data);
  if (!obj.ok()) {
    return Status::Internal(prefix(engine) + "corrupt row in " + table + ": " +
                            obj.status().message());
  }
  return obj;
}

Result<WatchEvent> parse_event_row(std::string_view engine, int64_t revision, std::string_view type,
                                   std::string_view data) {
  WatchEvent e;
  e.revision = revision;
  if (type == "ADDED") {
    e.type = EventType::kAdded;
  } else if (type == "MODIFIED") {
    e.type = EventType::kModified;
  } else if (type == "DELETED") {
    e.type = EventType::kDeleted;
  } else {
    return Status::Internal(prefix(engine) + "unknown event type \"" + std::string(type) +
                            "\" in events");
  }
  auto obj = parse_stored_object(engine, data, "events");
  if (!obj.ok()) return obj.status();
  e.object = std::move(obj).value();
  return e;
}

Result<bool> stored_labels_match(std::string_view engine, const LabelSelector& selector,
                                 std::optional<std::string_view> labels) {
  if (!labels) return selector.matches(nullptr);
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(*labels, ec);
  if (ec || !parsed.is_object()) {
    return Status::Internal(prefix(engine) + "corrupt labels in objects");
  }
  return selector.matches(&parsed.get_object());
}

std::optional<LogChunk> log_chunk_from(StoredLogChunk row, int64_t from) {
  LogChunk chunk;
  chunk.seq = row.seq;
  chunk.offset = row.byte_offset;
  chunk.stream = stored_stream(row.stream);
  chunk.attempt = static_cast<int>(row.attempt);
  chunk.time = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(row.time_ns)));
  chunk.data = std::move(row.data);
  if (chunk.end() <= from) return std::nullopt;
  if (chunk.offset < from) {
    chunk.data.erase(0, static_cast<size_t>(from - chunk.offset));
    chunk.offset = from;
  }
  return chunk;
}

void add_log_summary_row(LogSummary& summary, int64_t attempt, int64_t stream, int64_t chunks,
                         int64_t bytes) {
  LogSummary::Part part;
  part.attempt = static_cast<int>(attempt);
  part.stream = stored_stream(stream);
  part.bytes = bytes;
  summary.chunks += chunks;
  summary.bytes += bytes;
  summary.parts.push_back(part);
}

Status object_not_found(const ObjectKey& key) {
  std::string msg = key.kind + " \"" + key.name + "\" not found";
  if (!key.ns.empty()) msg += " in namespace \"" + key.ns + "\"";
  return Status::NotFound(std::move(msg));
}

Status check_events_after(int64_t after) {
  if (after >= 0) return Status::Ok();
  return Status::Invalid("resourceVersion " + std::to_string(after) + " must not be negative");
}

Status check_not_compacted(int64_t after, int64_t compacted) {
  if (after >= compacted) return Status::Ok();
  return Status::Gone("the requested resourceVersion " + std::to_string(after) +
                      " is too old (compacted to " + std::to_string(compacted) + "); relist");
}

Status check_compact_revision(int64_t revision, int64_t current) {
  if (revision <= current) return Status::Ok();
  return Status::Invalid("cannot compact to revision " + std::to_string(revision) +
                         ": newer than the current revision " + std::to_string(current));
}

}  // namespace cenv
