// WatchHub::subscribe_from: subscribe, then replay the store's history from a resourceVersion,
// on a real SqliteStore in a temp dir.

#include "controller/server/watch_hub.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"
#include "test/fakes/forwarding_store.h"
#include "test/temp_dir.h"

namespace cenv {
namespace {

using namespace std::chrono_literals;

Object make(const std::string& kind, const std::string& ns, const std::string& name) {
  Object o;
  o.json()["apiVersion"] = kApiVersion;
  o.json()["kind"] = kind;
  o.set_name(name);
  if (!ns.empty()) o.set_ns(ns);
  o.spec();
  return o;
}

struct Fixture {
  Fixture() {
    store = std::move(SqliteStore::open((dir.path() / "cenv.db").string(), clock).value());
  }
  int64_t create(const std::string& kind, const std::string& ns, const std::string& name) {
    auto stored = store->create(make(kind, ns, name));
    REQUIRE(stored.ok());
    return stored->resource_version();
  }
  // The hub starts at the store's revision when it is made: make it after the history.
  WatchHub& start_hub() {
    hub = std::make_unique<WatchHub>(*store);
    return *hub;
  }

  testing::TempDir dir{"cenv-watch-hub-test"};
  testing::FakeClock clock;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<WatchHub> hub;
};

// "ADDED Service web@3" for each event, to compare whole sequences at once.
std::vector<std::string> describe(const std::vector<WatchEvent>& events) {
  std::vector<std::string> out;
  for (const WatchEvent& e : events) {
    out.push_back(std::string(event_type_name(e.type)) + " " + std::string(e.object.kind()) + " " +
                  std::string(e.object.name()) + "@" + std::to_string(e.revision));
  }
  return out;
}

// The first events the subscription hands over, waiting up to 5 s for them.
std::vector<WatchEvent> first_events(WatchHub::Subscription& sub) {
  std::vector<WatchEvent> live;
  for (int i = 0; i < 50 && live.empty(); ++i) {
    auto next = sub.next(100ms);
    REQUIRE(next.ok());
    live = std::move(next.value());
  }
  return live;
}

TEST_CASE("subscribe_from replays the matching history up to the subscription, which goes on",
          "[watch_hub]") {
  Fixture f;
  int64_t first = f.create("Service", "default", "a");
  f.create("Environment", "", "demo");  // another kind
  int64_t b = f.create("Service", "default", "b");
  f.create("Service", "demo", "c");  // another namespace
  Object a = f.store->get({"Service", "default", "a"}).value();
  a.spec()["command"] = boost::json::array{"true"};
  int64_t a_changed = f.store->update(a)->resource_version();
  WatchHub& hub = f.start_hub();

  auto replay = hub.subscribe_from({"Service", "default", {}}, first);
  REQUIRE(replay.ok());
  CHECK(replay->subscription->start_revision() == a_changed);
  CHECK(describe(replay->history) ==
        std::vector<std::string>{"ADDED Service b@" + std::to_string(b),
                                 "MODIFIED Service a@" + std::to_string(a_changed)});
  CHECK(replay->last == a_changed);

  // What is committed afterwards comes through the subscription, once.
  int64_t later = f.create("Service", "default", "d");
  hub.notify();
  std::vector<WatchEvent> live = first_events(*replay->subscription);
  CHECK(describe(live) == std::vector<std::string>{"ADDED Service d@" + std::to_string(later)});
}

TEST_CASE("subscribe_from at or past the subscription's start replays nothing", "[watch_hub]") {
  Fixture f;
  f.create("Service", "default", "a");
  int64_t last = f.create("Service", "default", "b");
  WatchHub& hub = f.start_hub();
  for (int64_t after : {last, last + 5}) {
    auto replay = hub.subscribe_from({"Service", "", {}}, after);
    REQUIRE(replay.ok());
    CHECK(replay->history.empty());
    CHECK(replay->last == after);
  }
}

TEST_CASE("subscribe_from reads a long history in several batches", "[watch_hub]") {
  Fixture f;
  std::vector<Write> writes;
  for (int i = 0; i < 2'500; ++i) {
    writes.push_back({WriteOp::kCreate, make("Service", "default", "s" + std::to_string(i))});
  }
  REQUIRE(f.store->commit(writes).ok());
  int64_t top = f.store->revision().value();
  WatchHub& hub = f.start_hub();
  auto replay = hub.subscribe_from({"Service", "", {}}, 0);
  REQUIRE(replay.ok());
  REQUIRE(replay->history.size() == 2'500);
  CHECK(replay->history.front().object.name() == "s0");
  CHECK(replay->history.back().object.name() == "s2499");
  CHECK(replay->last == top);
}

TEST_CASE("subscribe_from a compacted revision is Gone and leaves nothing subscribed",
          "[watch_hub]") {
  Fixture f;
  int64_t first = f.create("Service", "default", "a");
  f.create("Service", "default", "b");
  int64_t last = f.create("Service", "default", "c");
  REQUIRE(f.store->compact(last - 1).ok());
  WatchHub& hub = f.start_hub();
  auto replay = hub.subscribe_from({"Service", "", {}}, first);
  REQUIRE(!replay.ok());
  CHECK(replay.status().code() == Code::kGone);
  CHECK_THAT(replay.status().message(), Catch::Contains("relist"));
  CHECK(hub.watcher_count() == 0);
  // From the compacted revision on, the history is still there.
  auto resumed = hub.subscribe_from({"Service", "", {}}, last - 1);
  REQUIRE(resumed.ok());
  CHECK(describe(resumed->history) ==
        std::vector<std::string>{"ADDED Service c@" + std::to_string(last)});
}

// Counts the events the hub reads from the store.
class CountingStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<std::vector<WatchEvent>> events_since(int64_t a, size_t l) override {
    auto r = inner_.events_since(a, l);
    if (r.ok()) events_read += static_cast<int>(r->size());
    return r;
  }
  std::atomic<int> events_read{0};
};

// Waits (up to 5 s) until the hub has dispatched up to `revision`.
bool dispatched_to(WatchHub& hub, int64_t revision) {
  for (int i = 0; i < 500; ++i) {
    if (hub.dispatched_revision() >= revision) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST_CASE("a hub nobody watches skips to the store's revision without reading the events",
          "[watch_hub]") {
  // A follower replica serves no watcher most of the time: reading every event that the other
  // replicas commit only to drop it costs it as much CPU as the writes themselves.
  Fixture f;
  CountingStore counting(*f.store);
  WatchHub hub(counting);
  int64_t first = f.create("Service", "default", "a");
  int64_t last = f.create("Service", "default", "b");
  hub.notify();
  REQUIRE(dispatched_to(hub, last));
  CHECK(counting.events_read == 0);

  // A watcher that comes later still gets the history it asks for, then what follows.
  auto replay = hub.subscribe_from({"Service", "default", {}}, first - 1);
  REQUIRE(replay.ok());
  CHECK(describe(replay->history) ==
        std::vector<std::string>{"ADDED Service a@" + std::to_string(first),
                                 "ADDED Service b@" + std::to_string(last)});
  int64_t later = f.create("Service", "default", "c");
  hub.notify();
  std::vector<WatchEvent> live = first_events(*replay->subscription);
  CHECK(describe(live) == std::vector<std::string>{"ADDED Service c@" + std::to_string(later)});

  // Once the watcher is gone, the hub skips again.
  int read = counting.events_read;
  replay->subscription.reset();
  int64_t unwatched = f.create("Service", "default", "d");
  hub.notify();
  REQUIRE(dispatched_to(hub, unwatched));
  CHECK(counting.events_read == read);
}

}  // namespace
}  // namespace cenv
