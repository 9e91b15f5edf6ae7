#include "controller/store/stored_rows.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "test/unit/controller/store/store_suite.h"

namespace cenv {
namespace {

using testing::must;
using testing::service;

TEST_CASE("parse_event_row reads a stored event", "[store][stored_rows]") {
  const std::string data = service("web").to_json();
  WatchEvent e = must(parse_event_row("sqlite", 7, "MODIFIED", data));
  CHECK(e.revision == 7);
  CHECK(e.type == EventType::kModified);
  CHECK(e.object.name() == "web");
  CHECK(must(parse_event_row("sqlite", 1, "ADDED", data)).type == EventType::kAdded);
  CHECK(must(parse_event_row("sqlite", 1, "DELETED", data)).type == EventType::kDeleted);
}

TEST_CASE("stored rows that do not parse are Internal errors naming the engine and table",
          "[store][stored_rows]") {
  struct Row {
    const char* what;
    Status status;
    const char* message;
  };
  LabelSelector app = must(LabelSelector::parse("app=web"));
  const std::vector<Row> rows = {
      {"event type", parse_event_row("postgres", 1, "RENAMED", "{}").status(),
       "postgres: unknown event type \"RENAMED\" in events"},
      {"event object", parse_event_row("sqlite", 1, "ADDED", "not json").status(),
       "sqlite: corrupt row in events: "},
      {"object", parse_stored_object("sqlite", "[1]", "objects").status(),
       "sqlite: corrupt row in objects: "},
      {"labels", stored_labels_match("postgres", app, "[1]").status(),
       "postgres: corrupt labels in objects"},
  };
  for (const Row& row : rows) {
    INFO(row.what << ": " << row.status.to_string());
    CHECK(row.status.code() == Code::kInternal);
    CHECK_THAT(row.status.message(), Catch::StartsWith(row.message));
  }
}

TEST_CASE("stored_labels_match decides on the labels column", "[store][stored_rows]") {
  LabelSelector app = must(LabelSelector::parse("app=web"));
  LabelSelector no_app = must(LabelSelector::parse("!app"));
  CHECK(must(stored_labels_match("sqlite", app, R"({"app":"web"})")));
  CHECK_FALSE(must(stored_labels_match("sqlite", app, R"({"app":"db"})")));
  CHECK_FALSE(must(stored_labels_match("sqlite", app, std::nullopt)));
  CHECK(must(stored_labels_match("sqlite", no_app, std::nullopt)));
}

TEST_CASE("log_chunk_from cuts a stored chunk to start at the offset asked for",
          "[store][stored_rows]") {
  auto row = [] {
    return StoredLogChunk{3, 10, 2, 1, 1'500'000'000, "abcdef"};  // bytes 10 to 15
  };
  struct Case {
    int64_t from;
    std::optional<std::string> data;  // nullopt: no chunk
  };
  for (const Case& c : std::vector<Case>{
           {0, "abcdef"}, {10, "abcdef"}, {12, "cdef"}, {15, "f"}, {16, std::nullopt}, {99, {}}}) {
    INFO("from " << c.from);
    auto chunk = log_chunk_from(row(), c.from);
    REQUIRE(chunk.has_value() == c.data.has_value());
    if (!chunk) continue;
    CHECK(chunk->data == *c.data);
    CHECK(chunk->offset == std::max<int64_t>(10, c.from));
    CHECK(chunk->seq == 3);
    CHECK(chunk->stream == LogStream::kStderr);
    CHECK(chunk->attempt == 1);
    CHECK(chunk->time.time_since_epoch() == std::chrono::milliseconds(1500));
  }
  CHECK(log_chunk_from({0, 0, 1, 0, 0, "x"}, 0)->stream == LogStream::kStdout);
}

TEST_CASE("add_log_summary_row adds up the parts of a log", "[store][stored_rows]") {
  LogSummary summary;
  add_log_summary_row(summary, 1, 1, 2, 30);
  add_log_summary_row(summary, 1, 2, 1, 5);
  CHECK(summary.chunks == 3);
  CHECK(summary.bytes == 35);
  CHECK(summary.bytes_of(1, LogStream::kStdout) == 30);
  CHECK(summary.bytes_of(1, LogStream::kStderr) == 5);
}

TEST_CASE("the engines' shared answers word their errors as Kubernetes does",
          "[store][stored_rows]") {
  CHECK(object_not_found({"Service", "demo", "web"}).message() ==
        "Service \"web\" not found in namespace \"demo\"");
  CHECK(object_not_found({"Environment", "", "demo"}).message() ==
        "Environment \"demo\" not found");
  CHECK(check_events_after(0).ok());
  CHECK(check_events_after(-1).code() == Code::kInvalid);
  CHECK(check_not_compacted(5, 5).ok());
  CHECK(check_not_compacted(4, 5).code() == Code::kGone);
  CHECK(check_compact_revision(5, 5).ok());
  CHECK(check_compact_revision(6, 5).code() == Code::kInvalid);
}

}  // namespace
}  // namespace cenv
