// Informer: list, watch, relist after Gone and resync, against a real ApiService + WatchHub.

#include "controller/runtime/informer.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/owner_references.h"
#include "controller/runtime/informer_cache.h"
#include "test/fakes/fake_steady_clock.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::ApiFixture;
using testing::eventually;

// Records what the handlers were told, as "add web", "update web 5->7", "delete web".
class Recorder {
 public:
  EventHandler handler() {
    EventHandler h;
    h.on_add = [this](const Object& o) { record("add " + std::string(o.name())); };
    h.on_update = [this](const Object& a, const Object& b) {
      record("update " + std::string(b.name()) + " " + std::to_string(a.resource_version()) + "->" +
             std::to_string(b.resource_version()));
    };
    h.on_delete = [this](const Object& o) { record("delete " + std::string(o.name())); };
    return h;
  }
  bool saw(const std::string& what) {
    std::lock_guard lock(mu_);
    return seen_.count(what) > 0;
  }
  size_t count_prefix(const std::string& prefix) {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& e : events_) n += e.rfind(prefix, 0) == 0;
    return n;
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  void record(std::string e) {
    std::lock_guard lock(mu_);
    seen_.insert(e);
    events_.push_back(std::move(e));
  }
  std::mutex mu_;
  std::set<std::string> seen_;
  std::vector<std::string> events_;
};

InformerOptions fast() {
  InformerOptions o;
  o.poll_interval = std::chrono::milliseconds(10);
  o.retry_delay = std::chrono::milliseconds(10);
  return o;
}

boost::json::object port(int p) {
  return {{"ports", boost::json::array{boost::json::object{{"containerPort", p}}}}};
}

TEST_CASE("informer: lists into the cache, then follows adds, updates and deletes",
          "[runtime][informer]") {
  ApiFixture f;
  f.create("Service", "default", "a", port(80));
  f.create("Service", "default", "b", port(80));
  FakeSteadyClock clock;
  Informer informer("Service", *f.source, clock, fast());
  Recorder rec;
  informer.add_handler(rec.handler());
  informer.start();
  REQUIRE(informer.wait_for_sync({}, std::chrono::seconds(30)));
  CHECK(rec.saw("add a"));
  CHECK(rec.saw("add b"));
  CHECK(informer.size() == 2);
  CHECK(informer.list("default").size() == 2);
  CHECK(informer.list("elsewhere").empty());

  Object c = f.create("Service", "default", "c", port(80));
  auto a = f.client->get({"Service", "default", "a"});
  REQUIRE(a.ok());
  int64_t old_rv = a->resource_version();
  Object changed = a.value();
  changed.spec() = port(81);
  auto updated = f.client->update(changed);
  REQUIRE(updated.ok());
  REQUIRE(f.client->remove({"Service", "default", "b"}, {}).ok());

  std::string update_a =
      "update a " + std::to_string(old_rv) + "->" + std::to_string(updated->resource_version());
  REQUIRE(eventually([&] { return informer.last_revision() == f.revision(); }));
  CHECK(rec.saw("delete b"));
  CHECK(rec.saw("add c"));
  CHECK(rec.saw(update_a));
  CHECK(informer.get("default", "b") == nullptr);
  auto cached_a = informer.get("default", "a");
  REQUIRE(cached_a);
  CHECK(cached_a->resource_version() == updated->resource_version());
  REQUIRE(informer.get_by_uid(c.uid()));
  CHECK(informer.get_by_uid(c.uid())->name() == "c");
  CHECK(informer.list_count() == 1);
  // Each change was told once.
  CHECK(rec.count_prefix("add c") == 1);
  CHECK(rec.count_prefix("delete b") == 1);
  informer.stop();
}

TEST_CASE("informer: filters a list by namespace and label selector", "[runtime][informer]") {
  ApiFixture f;
  f.create("Environment", "", "demo");
  f.create("Service", "default", "a", port(80));
  Object labelled;
  labelled.json()["apiVersion"] = kApiVersion;
  labelled.json()["kind"] = "Service";
  labelled.set_name("b");
  labelled.set_ns("demo");
  labelled.metadata()["labels"] = boost::json::object{{"tier", "web"}};
  labelled.json()["spec"] = port(80);
  REQUIRE(f.client->create(labelled).ok());
  f.create("Service", "demo", "c", port(80));
  FakeSteadyClock clock;
  Informer informer("Service", *f.source, clock, fast());
  informer.start();
  REQUIRE(informer.wait_for_sync({}, std::chrono::seconds(30)));
  CHECK(informer.list().size() == 3);
  auto demo = informer.list("demo");
  REQUIRE(demo.size() == 2);
  CHECK(demo[0]->name() == "b");
  CHECK(demo[1]->name() == "c");
  auto web = informer.list("", LabelSelector::parse("tier=web").value());
  REQUIRE(web.size() == 1);
  CHECK(web[0]->name() == "b");
}

TEST_CASE("informer: relists after the watch is cut off and reports what it missed",
          "[runtime][informer]") {
  WatchHubOptions tiny = ApiFixture::fast_hub();
  tiny.queue_limit = 2;  // three events in one commit overflow the watcher's queue
  ApiFixture f(tiny);
  Object x = f.create("Service", "default", "x", port(80));
  FakeSteadyClock clock;
  Informer informer("Service", *f.source, clock, fast());
  Recorder rec;
  informer.add_handler(rec.handler());
  informer.start();
  REQUIRE(informer.wait_for_sync({}, std::chrono::seconds(30)));
  REQUIRE(rec.saw("add x"));
  // Watching through the hub (not still reading the history), so the overflow happens there.
  REQUIRE(eventually([&] { return f.hub->watcher_count() == 1; }));

  // One transaction: x goes, three arrive. The hub drops x's deletion with the overflow.
  auto make = [](const std::string& name) {
    Object o;
    o.json()["apiVersion"] = kApiVersion;
    o.json()["kind"] = "Service";
    o.set_name(name);
    o.set_ns("default");
    o.json()["spec"] = boost::json::object{};
    return o;
  };
  f.commit_raw({{WriteOp::kDelete, x},
                {WriteOp::kCreate, make("p")},
                {WriteOp::kCreate, make("q")},
                {WriteOp::kCreate, make("r")}});
  REQUIRE(
      eventually([&] { return informer.size() == 3 && informer.get("default", "x") == nullptr; }));
  CHECK(informer.list_count() >= 2);
  CHECK(rec.saw("delete x"));
  CHECK(rec.saw("add p"));
  CHECK(rec.saw("add q"));
  CHECK(rec.saw("add r"));
  CHECK(rec.count_prefix("add p") == 1);

  // And it keeps watching after the relist.
  f.create("Service", "default", "s", port(80));
  REQUIRE(eventually([&] { return rec.saw("add s"); }));
}

TEST_CASE("informer: resync hands every cached object to on_update again", "[runtime][informer]") {
  ApiFixture f;
  Object a = f.create("Service", "default", "a", port(80));
  Object b = f.create("Service", "default", "b", port(80));
  FakeSteadyClock clock;
  InformerOptions options = fast();
  options.resync_period = std::chrono::minutes(1);
  Informer informer("Service", *f.source, clock, options);
  Recorder rec;
  informer.add_handler(rec.handler());
  informer.start();
  REQUIRE(informer.wait_for_sync({}, std::chrono::seconds(30)));
  std::string resync_a = "update a " + std::to_string(a.resource_version()) + "->" +
                         std::to_string(a.resource_version());
  std::string resync_b = "update b " + std::to_string(b.resource_version()) + "->" +
                         std::to_string(b.resource_version());
  CHECK_FALSE(rec.saw(resync_a));  // the clock has not moved: no resync yet
  clock.advance(std::chrono::minutes(1));
  REQUIRE(eventually([&] { return rec.saw(resync_a) && rec.saw(resync_b); }));
}

TEST_CASE("informer: a handler added after sync is first given every cached object",
          "[runtime][informer]") {
  ApiFixture f;
  f.create("Service", "default", "a", port(80));
  FakeSteadyClock clock;
  Informer informer("Service", *f.source, clock, fast());
  informer.start();
  REQUIRE(informer.wait_for_sync({}, std::chrono::seconds(30)));
  Recorder rec;
  informer.add_handler(rec.handler());
  CHECK(rec.events() == std::vector<std::string>{"add a"});
}

TEST_CASE("informer: indexes dependents by owner uid", "[runtime][informer]") {
  ApiFixture f;
  Object owner = f.create("Service", "default", "owner", port(80));
  f.create("Service", "default", "dep", port(80), {testing::owner_ref(owner)});
  FakeSteadyClock clock;
  InformerCache cache(*f.source, clock, fast());
  Informer& informer = cache.informer("Service");
  cache.start();
  REQUIRE(cache.wait_for_sync({}, std::chrono::seconds(30)));
  auto deps = informer.dependents_of(owner.uid());
  REQUIRE(deps.size() == 1);
  CHECK(deps[0].name == "dep");
  CHECK(informer.dependents_of("no-such-uid").empty());
  CHECK(&cache.informer("Service") == &informer);
  cache.stop();
}

}  // namespace
}  // namespace cenv
