// metrics::Registry: families by name, children by label values, histogram buckets, and counts
// that add up under concurrent updates.

#include "api/metrics_registry.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "test/metrics_sample.h"

namespace cenv {
namespace {

using testing::sample_value;

TEST_CASE("metrics registry: a family is made once per name and its children once per labels",
          "[metrics]") {
  metrics::Registry r;
  auto& a = r.counter("cenv_things_total", "Things.", {"kind"});
  auto& again = r.counter("cenv_things_total", "Things.", {"kind"});
  CHECK(&a == &again);
  a.with({"Service"}).inc();
  again.with({"Service"}).inc(2);
  a.with({"Module"}).inc();
  CHECK(&a.with({"Service"}) == &again.with({"Service"}));
  CHECK(sample_value(r, "cenv_things_total", {"Service"}) == 3);
  CHECK(sample_value(r, "cenv_things_total", {"Module"}) == 1);
  CHECK_FALSE(sample_value(r, "cenv_things_total", {"CommandRun"}));
}

TEST_CASE("metrics registry: a family without labels reports 0 before anything counted",
          "[metrics]") {
  metrics::Registry r;
  r.counter("cenv_bytes_total", "Bytes.");
  r.gauge("cenv_depth", "Depth.");
  CHECK(sample_value(r, "cenv_bytes_total") == 0);
  CHECK(sample_value(r, "cenv_depth") == 0);
  // A labelled family has no sample until a child is asked for.
  r.counter("cenv_calls_total", "Calls.", {"call"});
  auto families = r.collect();
  REQUIRE(families.size() == 3);
  // Ordered by name.
  CHECK(families[0].name == "cenv_bytes_total");
  CHECK(families[1].name == "cenv_calls_total");
  CHECK(families[1].samples.empty());
  CHECK(families[2].name == "cenv_depth");
}

TEST_CASE("metrics registry: gauges go up and down", "[metrics]") {
  metrics::Registry r;
  auto& g = r.gauge("cenv_depth", "Depth.", {"name"}).with({"q"});
  g.set(5);
  g.add(-2);
  CHECK(g.value() == 3);
  CHECK(sample_value(r, "cenv_depth", {"q"}) == 3);
}

TEST_CASE("metrics registry: histogram buckets are cumulative and count every observation",
          "[metrics]") {
  metrics::Registry r;
  auto& h = r.histogram("cenv_wait_seconds", "Waits.", {}, {0.1, 1, 10}).with({});
  h.observe(0.05);
  h.observe(0.1);  // on a bound: counted in it (le)
  h.observe(0.5);
  h.observe(std::chrono::seconds(20));
  auto s = h.snapshot();
  CHECK(s.cumulative == std::vector<uint64_t>{2, 3, 3});
  CHECK(s.count == 4);
  CHECK(s.sum == Approx(20.65));
  auto families = r.collect();
  REQUIRE(families.size() == 1);
  CHECK(families[0].type == metrics::Type::kHistogram);
  CHECK(families[0].bounds == std::vector<double>{0.1, 1, 10});
}

TEST_CASE("metrics registry: the duration buckets ascend from 100 microseconds to 60 seconds",
          "[metrics]") {
  const auto& b = metrics::duration_buckets();
  REQUIRE(b.size() > 2);
  CHECK(b.front() == 0.0001);
  CHECK(b.back() == 60);
  CHECK(std::is_sorted(b.begin(), b.end()));
}

TEST_CASE("metrics registry: refresh functions run before each collect until their handle goes",
          "[metrics]") {
  metrics::Registry r;
  auto& g = r.gauge("cenv_now", "Now.").with({});
  int runs = 0;
  auto handle = r.on_collect([&] { g.set(++runs); });
  CHECK(sample_value(r, "cenv_now") == 1);
  CHECK(sample_value(r, "cenv_now") == 2);
  handle.reset();
  CHECK(sample_value(r, "cenv_now") == 2);
  CHECK(runs == 2);
}

TEST_CASE("metrics registry: concurrent updates all count", "[metrics]") {
  metrics::Registry r;
  auto& family = r.counter("cenv_events_total", "Events.", {"thread"});
  auto& h = r.histogram("cenv_event_seconds", "Event times.").with({});
  constexpr int kThreads = 4;
  constexpr int kEach = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        family.with({std::to_string(t % 2)}).inc();
        h.observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(sample_value(r, "cenv_events_total", {"0"}) == kThreads / 2 * kEach);
  CHECK(sample_value(r, "cenv_events_total", {"1"}) == kThreads / 2 * kEach);
  CHECK(h.snapshot().count == kThreads * kEach);
  CHECK(h.snapshot().sum == Approx(kThreads * kEach * 0.001));
}

}  // namespace
}  // namespace cenv
