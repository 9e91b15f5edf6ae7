// What several controller replicas share through one PostgreSQL database (issue 15): the leader
// lease (PostgresLeaseStore) and change notifications (PostgresChangeFeed), on the private
// test server.

#include <sys/types.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "controller/server/watch_hub.h"
#include "controller/store/open_store.h"
#include "controller/store/postgres_change_feed.h"
#include "controller/store/postgres_lease.h"
#include "controller/store/postgres_store.h"
#include "test/fakes/fake_clock.h"
#include "test/integration/store/postgres_server.h"

namespace cenv {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::postgres_server;
using testing::TestDatabase;

LeaseStore::Deadline in(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

Object environment(const std::string& name) {
  Object o;
  o.json()["apiVersion"] = "cenv.io/v1";
  o.json()["kind"] = "Environment";
  o.set_name(name);
  o.json()["spec"] = boost::json::object{};
  return o;
}

// Thaws the server when the test that froze it ends, however it ends.
struct ThawAtEnd {
  ~ThawAtEnd() { postgres_server().freeze(false); }
};

TEST_CASE("the lease on PostgreSQL goes to one holder at a time, by generation",
          "[postgres][lease]") {
  TestDatabase db(postgres_server());
  FakeClock clock;
  REQUIRE(PostgresStore::open(db.url(), clock).ok());  // makes the schema
  auto a = PostgresLeaseStore::open(db.url());
  auto b = PostgresLeaseStore::open(db.url());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto& la = *a.value();
  auto& lb = *b.value();
  const std::string L = "cenv-controller";

  auto none = la.read(L, in(2s));
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  auto first = la.try_acquire(L, "a", 400ms, in(2s));
  REQUIRE(first.ok());
  CHECK(first->holder == "a");
  CHECK(first->generation == 1);
  auto refused = lb.try_acquire(L, "b", 400ms, in(2s));
  REQUIRE(refused.ok());
  CHECK(refused->holder == "a");
  CHECK_FALSE(refused->expired());
  CHECK(la.renew(L, "a", 1, 400ms, in(2s)).value() == true);
  CHECK(lb.renew(L, "b", 1, 400ms, in(2s)).value() == false);
  CHECK(la.renew(L, "a", 2, 400ms, in(2s)).value() == false);  // not its generation

  // Not renewed for its duration (the server's clock): free for b, as a new generation.
  std::this_thread::sleep_for(450ms);
  auto taken = lb.try_acquire(L, "b", 400ms, in(2s));
  REQUIRE(taken.ok());
  CHECK(taken->holder == "b");
  CHECK(taken->generation == 2);
  CHECK(la.renew(L, "a", 1, 400ms, in(2s)).value() == false);

  // Released: taken at once, without waiting for the duration.
  REQUIRE(lb.release(L, "b", 2, in(2s)).ok());
  auto back = la.try_acquire(L, "a", 10'000ms, in(2s));
  REQUIRE(back.ok());
  CHECK(back->holder == "a");
  CHECK(back->generation == 3);
  CHECK(back->transitions == 3);
  auto seen = lb.read(L, in(2s));
  REQUIRE(seen.ok());
  REQUIRE(seen->has_value());
  CHECK((*seen)->holder == "a");
  CHECK((*seen)->duration == 10'000ms);
  CHECK((*seen)->since_renewal < 5'000ms);
}

TEST_CASE("a lease call to a server that stops answering fails at its deadline, then recovers",
          "[postgres][lease]") {
  TestDatabase db(postgres_server());
  FakeClock clock;
  REQUIRE(PostgresStore::open(db.url(), clock).ok());
  auto leases = PostgresLeaseStore::open(db.url());
  REQUIRE(leases.ok());
  auto& l = *leases.value();
  REQUIRE(l.try_acquire("x", "a", 60s, in(2s))->holder == "a");
  {
    ThawAtEnd thaw;
    postgres_server().freeze(true);
    auto started = std::chrono::steady_clock::now();
    auto renewed = l.renew("x", "a", 1, 60s, in(500ms));
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(renewed.status().code() == Code::kUnavailable);
    CHECK(took < 1500ms);  // the deadline, not TCP's minutes
  }
  // Thawed: the next call connects again and finds its lease.
  CHECK(eventually([&] {
    auto r = l.renew("x", "a", 1, 60s, in(2s));
    return r.ok() && *r;
  }));
}

TEST_CASE(
    "a write through one store reaches the watch hub of another at once, and after a "
    "server restart",
    "[postgres][watch]") {
  TestDatabase db(postgres_server());
  FakeClock clock;
  auto writer = PostgresStore::open(db.url(), clock);
  auto reader = PostgresStore::open(db.url(), clock);
  REQUIRE(writer.ok());
  REQUIRE(reader.ok());
  // The hub would read the store only once an hour by itself: what arrives comes by NOTIFY.
  WatchHubOptions hub_options;
  hub_options.poll_interval = std::chrono::hours(1);
  WatchHub hub(*reader.value(), hub_options);
  std::atomic<int> notified{0};
  auto feed = open_change_feed(db.url(), [&] {
    ++notified;
    hub.notify();
  });
  REQUIRE(feed.ok());
  REQUIRE(feed.value() != nullptr);
  REQUIRE(eventually([&] { return notified.load() >= 1; }));  // connected
  WatchFilter filter;
  filter.kind = "Environment";
  auto sub = hub.subscribe(filter);

  auto received = [&](const std::string& name) {
    for (int i = 0; i < 100; ++i) {
      auto events = sub->next(50ms);
      REQUIRE(events.ok());
      for (const WatchEvent& e : *events) {
        if (e.object.name() == name) return true;
      }
    }
    return false;
  };
  auto started = std::chrono::steady_clock::now();
  REQUIRE(writer.value()->create(environment("one")).ok());
  CHECK(received("one"));
  CHECK(std::chrono::steady_clock::now() - started < 2s);

  // The server restarts: the feed connects again and the hub reads what it missed.
  postgres_server().stop();
  REQUIRE(postgres_server().start().empty());
  REQUIRE(eventually([&] { return writer.value()->create(environment("two")).ok(); }, 10s));
  CHECK(received("two"));
  REQUIRE(writer.value()->create(environment("three")).ok());
  CHECK(received("three"));
}

TEST_CASE("SQLite stores have no lease and no change feed", "[store]") {
  auto leases = open_lease_store("sqlite::memory:");
  REQUIRE(leases.ok());
  CHECK(leases.value() == nullptr);
  auto feed = open_change_feed("sqlite::memory:", [] {});
  REQUIRE(feed.ok());
  CHECK(feed.value() == nullptr);
  CHECK(open_lease_store("mysql://x").status().code() == Code::kInvalid);
}

}  // namespace
}  // namespace cenv
