#include "controller/store/copy_store.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "controller/store/open_store.h"
#include "test/unit/controller/store/store_suite.h"

namespace cenv {
namespace {

using testing::FixedClock;
using testing::must;
using testing::service;
using testing::suite_time;

std::unique_ptr<Store> memory_store(const Clock& clock) {
  return must(open_store("sqlite::memory:", clock));
}

TEST_CASE("copy_store replaces the target's objects with the source's, uid and status kept",
          "[store][copy]") {
  FixedClock clock(suite_time());
  FixedClock later(suite_time() + std::chrono::hours(1));
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

TEST_CASE("copy_store of an empty source empties the target's kinds only", "[store][copy]") {
  FixedClock clock(suite_time());
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
