// WorkQueue: dedup, dirty requeue, delays, back-off and the token bucket, and its metrics, on a
// fake clock.

#include "controller/runtime/work_queue.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "test/fakes/fake_steady_clock.h"
#include "test/metrics_sample.h"

namespace cenv {
namespace {

using std::chrono::milliseconds;

Request key(const std::string& name) { return {"Service", "default", name}; }

// The bucket off, so only the per-key back-off shapes the delays.
WorkQueueOptions no_bucket() {
  WorkQueueOptions o;
  o.qps = 0;
  return o;
}

TEST_CASE("work queue: a key added twice is handed out once", "[runtime][workqueue]") {
  FakeSteadyClock clock;
  WorkQueue q(clock);
  q.add(key("a"));
  q.add(key("b"));
  q.add(key("a"));
  CHECK(q.len() == 2);
  auto first = q.get();
  auto second = q.get();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(*first == key("a"));
  CHECK(*second == key("b"));
  CHECK(q.len() == 0);
  CHECK(q.processing() == 2);
  q.done(*first);
  q.done(*second);
  CHECK(q.idle());
}

TEST_CASE("work queue: a key added while processing is queued again only after done",
          "[runtime][workqueue]") {
  FakeSteadyClock clock;
  WorkQueue q(clock);
  q.add(key("a"));
  auto got = q.get();
  REQUIRE(got);
  q.add(key("a"));
  q.add(key("a"));
  // Not handed to a second worker while the first one holds it.
  CHECK(q.len() == 0);
  q.done(*got);
  CHECK(q.len() == 1);
  auto again = q.get();
  REQUIRE(again);
  CHECK(*again == key("a"));
  q.done(*again);
  CHECK(q.idle());
}

TEST_CASE("work queue: add_after waits for the clock and keeps the earlier time",
          "[runtime][workqueue]") {
  FakeSteadyClock clock;
  WorkQueue q(clock);
  q.add_after(key("a"), milliseconds(100));
  q.add_after(key("a"), milliseconds(50));
  q.add_after(key("a"), milliseconds(200));
  CHECK(q.waiting() == 1);
  clock.advance(milliseconds(49));
  CHECK(q.len() == 0);
  clock.advance(milliseconds(1));
  CHECK(q.len() == 1);
  CHECK(q.waiting() == 0);
  q.add_after(key("b"), milliseconds(0));  // no delay: at once
  CHECK(q.len() == 2);
}

TEST_CASE("work queue: back-off doubles per failure up to the max and forget resets it",
          "[runtime][workqueue]") {
  FakeSteadyClock clock;
  WorkQueueOptions options = no_bucket();
  options.base_delay = milliseconds(5);
  options.max_delay = milliseconds(40);
  WorkQueue q(clock, options);
  const Request a = key("a");
  // Expected delays: 5, 10, 20, 40, 40 (capped).
  for (int64_t expected : {5, 10, 20, 40, 40}) {
    INFO("expected delay " << expected << " ms");
    q.add_rate_limited(a);
    clock.advance(milliseconds(expected - 1));
    CHECK(q.len() == 0);
    clock.advance(milliseconds(1));
    REQUIRE(q.len() == 1);
    auto got = q.get();
    REQUIRE(got);
    q.done(*got);
  }
  CHECK(q.num_requeues(a) == 5);
  q.forget(a);
  CHECK(q.num_requeues(a) == 0);
  q.add_rate_limited(a);
  clock.advance(milliseconds(5));
  CHECK(q.len() == 1);
}

TEST_CASE("work queue: back-off is per key", "[runtime][workqueue]") {
  FakeSteadyClock clock;
  WorkQueue q(clock, no_bucket());
  q.add_rate_limited(key("a"));  // 5 ms
  q.add_rate_limited(key("a"));  // still waiting: keeps 5 ms, counts a failure
  q.add_rate_limited(key("b"));  // 5 ms: b's own count
  CHECK(q.num_requeues(key("a")) == 2);
  CHECK(q.num_requeues(key("b")) == 1);
  clock.advance(milliseconds(5));
  CHECK(q.len() == 2);
}

TEST_CASE("work queue: the token bucket spaces rate-limited adds once the burst is spent",
          "[runtime][workqueue]") {
  FakeSteadyClock clock;
  WorkQueueOptions options;
  options.qps = 10;  // one token per 100 ms
  options.burst = 2;
  options.base_delay = milliseconds(1);
  WorkQueue q(clock, options);
  q.add_rate_limited(key("a"));  // token 1: back-off 1 ms
  q.add_rate_limited(key("b"));  // token 2: back-off 1 ms
  q.add_rate_limited(key("c"));  // owes a token: 100 ms
  q.add_rate_limited(key("d"));  // owes two: 200 ms
  clock.advance(milliseconds(1));
  CHECK(q.len() == 2);
  clock.advance(milliseconds(98));
  CHECK(q.len() == 2);
  clock.advance(milliseconds(1));
  CHECK(q.len() == 3);
  clock.advance(milliseconds(99));
  CHECK(q.len() == 3);
  clock.advance(milliseconds(1));
  CHECK(q.len() == 4);
  // Refilled while idle, up to the burst only.
  clock.advance(std::chrono::seconds(10));
  q.add_rate_limited(key("e"));
  q.add_rate_limited(key("f"));
  q.add_rate_limited(key("g"));
  clock.advance(milliseconds(1));
  CHECK(q.len() == 6);
  clock.advance(milliseconds(99));
  CHECK(q.len() == 7);
}

TEST_CASE("work queue: a blocked get wakes when the fake clock reaches a delayed key",
          "[runtime][workqueue]") {
  FakeSteadyClock clock;
  WorkQueue q(clock);
  q.add_after(key("a"), milliseconds(30));
  std::optional<Request> got;
  std::thread getter([&] { got = q.get(); });
  // Parked on the clock: no real time is involved.
  while (clock.waiters() == 0) std::this_thread::yield();
  clock.advance(milliseconds(30));
  getter.join();
  REQUIRE(got);
  CHECK(*got == key("a"));
}

TEST_CASE("work queue: shutdown unblocks get and ignores later adds", "[runtime][workqueue]") {
  MonotonicClock clock;
  WorkQueue q(clock);
  std::atomic<int> returned{0};
  std::vector<std::thread> getters;
  getters.reserve(3);
  for (int i = 0; i < 3; ++i) {
    getters.emplace_back([&] {
      if (!q.get()) returned++;
    });
  }
  q.shutdown();
  for (auto& t : getters) t.join();
  CHECK(returned == 3);
  q.add(key("a"));
  CHECK(q.len() == 0);
  CHECK_FALSE(q.get());
}

TEST_CASE("work queue: many threads adding never hand one key to two workers at once",
          "[runtime][workqueue]") {
  MonotonicClock clock;
  WorkQueue q(clock);
  constexpr int kKeys = 8;
  std::array<std::atomic<int>, kKeys> in_flight{};
  std::atomic<bool> overlap{false};
  std::atomic<int> handled{0};
  std::vector<std::thread> workers;
  workers.reserve(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto k = q.get()) {
        int i = std::stoi(k->name);
        if (in_flight[i].fetch_add(1) != 0) overlap = true;
        std::this_thread::yield();
        in_flight[i].fetch_sub(1);
        handled++;
        q.done(*k);
      }
    });
  }
  std::vector<std::thread> adders;
  adders.reserve(4);
  for (int a = 0; a < 4; ++a) {
    adders.emplace_back([&] {
      for (int n = 0; n < 2000; ++n) q.add(key(std::to_string(n % kKeys)));
    });
  }
  for (auto& t : adders) t.join();
  // Drain: everything added is processed (dirty keys included).
  while (!q.idle()) std::this_thread::yield();
  q.shutdown();
  for (auto& t : workers) t.join();
  CHECK_FALSE(overlap);
  CHECK(handled > 0);
  CHECK(handled <= 8000);
}

TEST_CASE("work queue: counts its depth adds retries and how long keys wait and are worked on",
          "[runtime][workqueue][metrics]") {
  FakeSteadyClock clock;
  metrics::Registry registry;
  WorkQueueOptions o = no_bucket();
  o.metrics = &registry;
  o.name = "services";
  WorkQueue q(clock, o);
  auto value = [&](const std::string& name) {
    return testing::sample_value(registry, name, {"services"}).value_or(-1);
  };
  auto histogram = [&](const std::string& name) {
    return registry.histogram(name, "", {"name"}).with({"services"}).snapshot();
  };

  q.add(key("a"));
  q.add(key("b"));
  q.add(key("a"));  // already queued: not an add
  CHECK(value("cenv_workqueue_adds_total") == 2);
  CHECK(value("cenv_workqueue_depth") == 2);

  clock.advance(milliseconds(30));
  auto a = q.get();
  REQUIRE(a);
  CHECK(value("cenv_workqueue_depth") == 1);
  CHECK(histogram("cenv_workqueue_queue_duration_seconds").count == 1);
  CHECK(histogram("cenv_workqueue_queue_duration_seconds").sum == Approx(0.030));
  clock.advance(milliseconds(20));
  q.done(*a);
  CHECK(histogram("cenv_workqueue_work_duration_seconds").count == 1);
  CHECK(histogram("cenv_workqueue_work_duration_seconds").sum == Approx(0.020));

  // A retry is counted at once; its add when its back-off (5 ms) has passed.
  q.add_rate_limited(key("a"));
  CHECK(value("cenv_workqueue_retries_total") == 1);
  CHECK(value("cenv_workqueue_adds_total") == 2);
  clock.advance(milliseconds(5));
  CHECK(q.len() == 2);
  CHECK(value("cenv_workqueue_adds_total") == 3);
  CHECK(value("cenv_workqueue_depth") == 2);

  // A key added while being processed is one add, queued (depth) only after done().
  auto b = q.get();
  REQUIRE(b);
  q.add(*b);
  CHECK(value("cenv_workqueue_adds_total") == 4);
  CHECK(value("cenv_workqueue_depth") == 1);
  q.done(*b);
  CHECK(value("cenv_workqueue_depth") == 2);
}

TEST_CASE("work queue: at each collect its gauges say how long the keys in progress have been",
          "[runtime][workqueue][metrics]") {
  FakeSteadyClock clock;
  metrics::Registry registry;
  WorkQueueOptions o;
  o.metrics = &registry;
  o.name = "services";
  auto q = std::make_unique<WorkQueue>(clock, o);
  auto value = [&](const std::string& name) {
    return testing::sample_value(registry, name, {"services"}).value_or(-1);
  };
  CHECK(value("cenv_workqueue_unfinished_work_seconds") == 0);
  q->add(key("a"));
  q->add(key("b"));
  auto a = q->get();
  REQUIRE(a);
  clock.advance(milliseconds(3000));
  auto b = q->get();
  REQUIRE(b);
  clock.advance(milliseconds(1000));
  // a: 4 s, b: 1 s.
  CHECK(value("cenv_workqueue_unfinished_work_seconds") == Approx(5));
  CHECK(value("cenv_workqueue_longest_running_processor_seconds") == Approx(4));
  q->done(*a);
  CHECK(value("cenv_workqueue_unfinished_work_seconds") == Approx(1));
  CHECK(value("cenv_workqueue_longest_running_processor_seconds") == Approx(1));
  q->done(*b);
  CHECK(value("cenv_workqueue_longest_running_processor_seconds") == 0);
  // A queue gone no longer refreshes (its gauges keep their last values).
  q->add(key("c"));
  REQUIRE(q->get());
  q.reset();
  clock.advance(milliseconds(1000));
  CHECK(value("cenv_workqueue_unfinished_work_seconds") == 0);
}

TEST_CASE("work queue: without a registry nothing is counted", "[runtime][workqueue][metrics]") {
  FakeSteadyClock clock;
  metrics::Registry registry;
  WorkQueueOptions o;
  o.name = "services";  // a name alone does not count
  WorkQueue q(clock, o);
  q.add(key("a"));
  auto got = q.get();
  REQUIRE(got);
  q.done(*got);
  CHECK(registry.collect().empty());
  CHECK(q.idle());
}

}  // namespace
}  // namespace cenv
