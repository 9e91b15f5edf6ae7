#include "controller/store/copy_store.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "controller/store/open_store.h"
#include "test/unit/controller/store/store_suite.h"

namespace cenv {
namespace {

using testing::FakeClock;
using testing::must;
using testing::service;
using testing::suite_time;

std::unique_ptr<Store> memory_store(const Clock& clock) {
  return must(open_store("sqlite::memory:", clock));
}

TEST_CASE("copy_store replaces the target's objects with the source's, uid and status kept",
          "[store][copy]") {
  FakeClock clock(suite_time());
  FakeClock later(suite_time() + std::chrono::hours(1));
  auto from = memory_store(clock);
  auto to = memory_store(later);

  Object web = must(from->create(service("web")));
  Object changed = web;
  changed.json()["spec"] = boost::json::object{{"image", "nginx:2"}};
  web = must(from->update(changed));
  REQUIRE(web.generation() == 2);
  Object with_status = web;
  with_status.json()["status"] = boost::json::object{{"phase", "Ready"}};
  with_status = must(from->update_status(with_status));
  must(from->create(service("db")));
  // The target has an object the source lacks and a stale copy of one it has.
  must(to->create(service("stale")));
  must(to->create(service("web", R"({"image":"old"})")));

  CopyReport report = must(copy_store(*from, *to, {"Service"}));
  CHECK(report.copied == 2);
  CHECK(report.removed == 2);

  auto listed = must(to->list(ListOptions{.kind = "Service", .ns = {}, .selector = {}}));
  REQUIRE(listed.items.size() == 2);
  CHECK(listed.items[0].name() == "db");
  const Object& copied = listed.items[1];
  CHECK(copied.name() == "web");
  CHECK(copied.uid() == web.uid());
  CHECK(copied.json().at("metadata").at("creationTimestamp") ==
        web.json().at("metadata").at("creationTimestamp"));
  CHECK(copied.generation() == web.generation());
  CHECK(copied.json().at("spec") == web.json().at("spec"));
  CHECK(copied.json().at("status").at("phase").as_string() == "Ready");
  CHECK(to->get(service("stale").key()).status().code() == Code::kNotFound);
}

TEST_CASE("copy_store copies each CommandRun's output with its streams and attempts",
          "[store][copy]") {
  FakeClock clock(suite_time());
  auto from = memory_store(clock);
  auto to = memory_store(clock);
  Object run = must(from->create(
      testing::make_object("CommandRun", "default", "job", R"({"command":["true"]})", "")));
  std::string uid(run.uid());
  std::string big(3 << 20, 'x');  // more than one read batch with the next pieces
  std::vector<LogPiece> pieces{{LogStream::kStdout, 1, clock.now(), "out\n"},
                               {LogStream::kStderr, 1, clock.now(), "err\n"},
                               {LogStream::kStdout, 2, clock.now(), big},
                               {LogStream::kStdout, 2, clock.now(), big}};
  int64_t size = must(from->append_log(uid, split_log_pieces(pieces)));

  CopyReport report = must(copy_store(*from, *to, {"CommandRun"}));
  CHECK(report.log_bytes == static_cast<size_t>(size));
  LogSummary copied = must(to->log_summary(uid));
  LogSummary original = must(from->log_summary(uid));
  CHECK(copied.bytes == original.bytes);
  CHECK(copied.bytes_of(1, LogStream::kStderr) == 4);
  CHECK(copied.bytes_of(2, LogStream::kStdout) == static_cast<int64_t>(2 * big.size()));
  auto head = must(to->read_log(uid, 0, 8));
  REQUIRE(!head.empty());
  CHECK(head[0].data == "out\n");

  // Copying again replaces, not doubles, the output.
  must(copy_store(*from, *to, {"CommandRun"}));
  CHECK(must(to->log_summary(uid)).bytes == original.bytes);
}

TEST_CASE("copy_store of an empty source empties the target's kinds only", "[store][copy]") {
  FakeClock clock(suite_time());
  auto from = memory_store(clock);
  auto to = memory_store(clock);
  must(to->create(service("web")));
  CopyReport report = must(copy_store(*from, *to, {"Module"}));
  CHECK(report.copied == 0);
  CHECK(report.removed == 0);
  CHECK(must(to->get(service("web").key())).name() == "web");
  report = must(copy_store(*from, *to, {"Service"}));
  CHECK(report.removed == 1);
  CHECK(to->get(service("web").key()).status().code() == Code::kNotFound);
}

}  // namespace
}  // namespace cenv
