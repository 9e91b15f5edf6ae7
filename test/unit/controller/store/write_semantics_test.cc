#include "controller/store/write_semantics.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "test/unit/controller/store/store_suite.h"

namespace cenv {
namespace {

using testing::FakeClock;
using testing::must;
using testing::service;
using testing::suite_time;

TEST_CASE("random_uuid_v4 makes distinct RFC 4122 version 4 UUIDs", "[store]") {
  // xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lower-case hex.
  auto is_v4 = [](const std::string& u) {
    if (u.size() != 36 || u[14] != '4' || std::string("89ab").find(u[19]) == std::string::npos) {
      return false;
    }
    for (size_t i = 0; i < u.size(); ++i) {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      bool hex = (u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f');
      if (dash ? u[i] != '-' : !hex) return false;
    }
    return true;
  };
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = random_uuid_v4();
    INFO(u);
    REQUIRE(is_v4(u));
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("apply_write create stamps metadata at the given revision", "[store]") {
  FakeClock clock(suite_time());
  auto o = must(apply_write({WriteOp::kCreate, service("web")}, nullptr, 7, clock,
                            [] { return std::string("u-1"); }));
  CHECK(o.changed);
  CHECK(o.type == EventType::kAdded);
  CHECK(o.object.uid() == "u-1");
  CHECK(o.object.resource_version() == 7);
  CHECK(o.object.generation() == 1);
  CHECK(o.object.metadata().at("creationTimestamp") == testing::kSuiteTimeText);
}

TEST_CASE("apply_write reports an unchanged update without taking the revision", "[store]") {
  FakeClock clock(suite_time());
  Object stored =
      must(apply_write({WriteOp::kCreate, service("web")}, nullptr, 3, clock, {})).object;
  auto o = must(apply_write({WriteOp::kUpdate, service("web")}, &stored, 4, clock, {}));
  CHECK_FALSE(o.changed);
  CHECK(o.object == stored);
  CHECK(o.object.resource_version() == 3);

  auto changed = must(
      apply_write({WriteOp::kUpdate, service("web", R"({"image":"x"})")}, &stored, 4, clock, {}));
  CHECK(changed.changed);
  CHECK(changed.type == EventType::kModified);
  CHECK(changed.object.resource_version() == 4);
  CHECK(changed.object.generation() == 2);
}

TEST_CASE("apply_write accepts a numeric resourceVersion precondition", "[store]") {
  FakeClock clock(suite_time());
  Object stored =
      must(apply_write({WriteOp::kCreate, service("web")}, nullptr, 3, clock, {})).object;
  Object del = service("web");
  del.metadata()["resourceVersion"] = 3;
  auto o = must(apply_write({WriteOp::kDelete, del}, &stored, 4, clock, {}));
  CHECK(o.type == EventType::kDeleted);
  CHECK(o.object == stored);
  del.metadata()["resourceVersion"] = 2;
  CHECK(apply_write({WriteOp::kDelete, del}, &stored, 4, clock, {}).status().code() ==
        Code::kConflict);
}

}  // namespace
}  // namespace cenv
