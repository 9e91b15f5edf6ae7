// GarbageCollector: dependents whose owners are gone (by uid) are deleted; others are kept.

#include "controller/runtime/garbage_collector.h"

#include <catch2/catch.hpp>

#include "controller/runtime/manager.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::ApiFixture;
using testing::eventually;
using testing::owner_ref;

boost::json::object port(int p) {
  return {{"ports", boost::json::array{boost::json::object{{"containerPort", p}}}}};
}

struct GcBed {
  GcBed() : manager(*f.source, clock, options()) {
    std::vector<std::string> kinds;
    for (const KindInfo& k : f.api->kinds().kinds()) kinds.push_back(k.kind);
    gc = &manager.add(std::make_unique<GarbageCollector>(manager.cache(), *f.client, kinds, clock));
    REQUIRE(manager.start().ok());
  }
  static ManagerOptions options() {
    ManagerOptions o;
    o.informers.poll_interval = std::chrono::milliseconds(10);
    return o;
  }
  bool gone(const ObjectKey& key) {
    auto o = f.client->get(key);
    return !o.ok() && o.status().code() == Code::kNotFound;
  }
  // Every informer has caught up with the store and the collector has nothing left to check.
  bool settled() {
    int64_t rev = f.revision();
    int64_t seen = 0;
    for (Informer* inf : manager.cache().informers()) seen = std::max(seen, inf->last_revision());
    return seen == rev && gc->idle();
  }

  ApiFixture f;
  MonotonicClock clock;
  Manager manager;
  GarbageCollector* gc = nullptr;
};

TEST_CASE("garbage collector: deletes a dependent whose owner was deleted", "[runtime][gc]") {
  GcBed bed;
  Object owner = bed.f.create("Service", "default", "owner", port(80));
  Object dep = bed.f.create("Service", "default", "dep", port(80), {owner_ref(owner)});
  Object other = bed.f.create("Service", "default", "other", port(80));
  // Straight to the store, past the API's own cascade: only the collector can clean up.
  bed.f.commit_raw({{WriteOp::kDelete, owner}});
  REQUIRE(eventually([&] { return bed.gone(dep.key()) && bed.settled(); }));
  CHECK(bed.gc->deleted() == 1);
  CHECK_FALSE(bed.gone(other.key()));
}

TEST_CASE(
    "garbage collector: an owner recreated under the same name does not keep the "
    "dependent",
    "[runtime][gc]") {
  GcBed bed;
  Object owner = bed.f.create("Service", "default", "owner", port(80));
  Object dep = bed.f.create("Service", "default", "dep", port(80), {owner_ref(owner)});
  Object again = owner;
  again.json()["metadata"].as_object().erase("uid");
  again.clear_resource_version();
  bed.f.commit_raw({{WriteOp::kDelete, owner}, {WriteOp::kCreate, again}});
  REQUIRE(eventually([&] { return bed.gone(dep.key()); }));
  CHECK_FALSE(bed.gone(owner.key()));  // the new owner stays
}

TEST_CASE("garbage collector: keeps dependents while one owner remains, and of unknown kinds",
          "[runtime][gc]") {
  GcBed bed;
  Object env = bed.f.create("Environment", "", "demo");
  Object a = bed.f.create("Service", "demo", "a", port(80));
  Object b = bed.f.create("Service", "demo", "b", port(80));
  // Two owners, one of them cluster-scoped.
  Object dep = bed.f.create("Service", "demo", "dep", port(80), {owner_ref(a), owner_ref(env)});
  boost::json::object alien{
      {"apiVersion", "other.io/v1"}, {"kind", "Widget"}, {"name", "w"}, {"uid", "0000"}};
  Object kept = bed.f.create("Service", "demo", "kept", port(80), {alien});
  Object dangling = bed.f.create(
      "Service", "demo", "dangling", port(80),
      {boost::json::object{
          {"apiVersion", "cenv.io/v1"}, {"kind", "Service"}, {"name", "never"}, {"uid", "1111"}}});
  REQUIRE(eventually([&] { return bed.gone(dangling.key()); }));
  bed.f.commit_raw({{WriteOp::kDelete, a}, {WriteOp::kDelete, b}});
  REQUIRE(eventually([&] { return bed.settled(); }));
  CHECK_FALSE(bed.gone(dep.key()));   // the Environment still owns it
  CHECK_FALSE(bed.gone(kept.key()));  // an owner we cannot check
  CHECK(bed.gc->deleted() == 1);
}

TEST_CASE("garbage collector: deleting an owner through the API takes its dependents",
          "[runtime][gc]") {
  GcBed bed;
  Object owner = bed.f.create("Service", "default", "owner", port(80));
  Object dep = bed.f.create("Service", "default", "dep", port(80), {owner_ref(owner)});
  Object grandchild = bed.f.create("Service", "default", "grandchild", port(80), {owner_ref(dep)});
  REQUIRE(bed.f.client->remove(owner.key(), {}).ok());
  REQUIRE(eventually([&] { return bed.gone(dep.key()) && bed.gone(grandchild.key()); }));
}

}  // namespace
}  // namespace cenv
