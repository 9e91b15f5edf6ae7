// Controller + Manager against a real ApiService + WatchHub: one reconcile per change, never
// two at once for a key, back-off, requeue-after, owner mapping, idleness, and the counts of
// reconciles by result.

#include "controller/runtime/controller.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "api/conditions.h"
#include "controller/runtime/manager.h"
#include "test/fakes/fake_steady_clock.h"
#include "test/metrics_sample.h"
#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using testing::ApiFixture;
using testing::eventually;

// Counts calls per key, notes any key reconciled by two workers at once, and answers with
// whatever `respond` says.
class CountingReconciler : public Reconciler {
 public:
  explicit CountingReconciler(
      std::function<ReconcileResult(const Request&, int call)> respond = nullptr)
      : respond_(std::move(respond)) {}

  ReconcileResult reconcile(const Request& req) override {
    int call;
    {
      std::lock_guard lock(mu_);
      if (!in_flight_.insert(req).second) overlap_ = true;
      call = ++calls_[req];
      ++total_;
    }
    // Give another worker every chance to pick the same key meanwhile.
    for (int i = 0; i < 20; ++i) std::this_thread::yield();
    ReconcileResult result = respond_ ? respond_(req, call) : ReconcileResult::done();
    std::lock_guard lock(mu_);
    in_flight_.erase(req);
    return result;
  }

  int calls(const Request& req) {
    std::lock_guard lock(mu_);
    auto it = calls_.find(req);
    return it == calls_.end() ? 0 : it->second;
  }
  int total() {
    std::lock_guard lock(mu_);
    return total_;
  }
  std::set<Request> keys() {
    std::lock_guard lock(mu_);
    std::set<Request> out;
    for (auto& [k, n] : calls_) out.insert(k);
    return out;
  }
  bool overlap() const { return overlap_.load(); }

 private:
  std::function<ReconcileResult(const Request&, int)> respond_;
  std::mutex mu_;
  std::map<Request, int> calls_;  // guarded by mu_
  std::set<Request> in_flight_;   // guarded by mu_
  int total_ = 0;                 // guarded by mu_
  std::atomic<bool> overlap_{false};
};

ManagerOptions fast_manager() {
  ManagerOptions o;
  o.informers.poll_interval = std::chrono::milliseconds(10);
  o.informers.retry_delay = std::chrono::milliseconds(10);
  return o;
}

boost::json::object port(int p) {
  return {{"ports", boost::json::array{boost::json::object{{"containerPort", p}}}}};
}

Request svc(const std::string& name) { return {"Service", "default", name}; }

// True once the informer of `kind` has handed over every write up to the store's newest
// revision (the last write must be of that kind) and the controller has nothing left to do.
bool settled(ApiFixture& f, Manager& m, Controller& c, const std::string& kind) {
  return m.cache().informer(kind).last_revision() == f.revision() && c.idle();
}

TEST_CASE("controller: each change is reconciled once, and a key never by two workers at once",
          "[runtime][controller]") {
  ApiFixture f;
  CountingReconciler rec;
  MonotonicClock clock;
  Manager manager(*f.source, clock, fast_manager());
  ControllerOptions options;
  options.workers = 4;
  auto& c = manager.add(
      std::make_unique<Controller>("services", "Service", rec, manager.cache(), clock, options));
  REQUIRE(manager.start().ok());

  constexpr int kKeys = 10;
  for (int i = 0; i < kKeys; ++i) f.create("Service", "default", "s" + std::to_string(i), port(80));
  REQUIRE(eventually([&] { return settled(f, manager, c, "Service"); }));
  for (int i = 0; i < kKeys; ++i) CHECK(rec.calls(svc("s" + std::to_string(i))) == 1);

  for (int i = 0; i < kKeys; ++i) {
    auto o = f.client->get(svc("s" + std::to_string(i)).key());
    REQUIRE(o.ok());
    o->spec() = port(81);
    REQUIRE(f.client->update(o.value()).ok());
  }
  REQUIRE(eventually([&] { return settled(f, manager, c, "Service"); }));
  for (int i = 0; i < kKeys; ++i) CHECK(rec.calls(svc("s" + std::to_string(i))) == 2);

  // A storm of external events for the same keys from several threads.
  std::vector<std::thread> storm;
  storm.reserve(4);
  for (int t = 0; t < 4; ++t) {
    storm.emplace_back([&] {
      for (int n = 0; n < 500; ++n) c.enqueue(svc("s" + std::to_string(n % kKeys)));
    });
  }
  for (auto& t : storm) t.join();
  REQUIRE(eventually([&] { return c.idle(); }));
  CHECK_FALSE(rec.overlap());
  for (int i = 0; i < kKeys; ++i) {
    int n = rec.calls(svc("s" + std::to_string(i)));
    CHECK(n >= 3);
    CHECK(n <= 2 + 200);
  }
  manager.stop();
}

TEST_CASE("controller: a failing reconcile is retried with growing back-off, then forgotten",
          "[runtime][controller]") {
  ApiFixture f;
  f.create("Service", "default", "a", port(80));
  CountingReconciler rec([](const Request&, int call) {
    return call <= 2 ? ReconcileResult::failed(Status::Unavailable("docker is away"))
                     : ReconcileResult::done();
  });
  FakeSteadyClock clock;
  Manager manager(*f.source, clock, fast_manager());
  auto& c =
      manager.add(std::make_unique<Controller>("services", "Service", rec, manager.cache(), clock));
  REQUIRE(manager.start().ok());
  const Request a = svc("a");

  REQUIRE(eventually([&] { return rec.calls(a) == 1 && c.queue().waiting() == 1; }));
  CHECK(c.queue().num_requeues(a) == 1);
  clock.advance(std::chrono::milliseconds(4));  // first back-off: 5 ms
  CHECK(c.queue().len() == 0);
  CHECK(c.queue().waiting() == 1);
  clock.advance(std::chrono::milliseconds(1));
  REQUIRE(eventually([&] { return rec.calls(a) == 2 && c.queue().waiting() == 1; }));
  clock.advance(std::chrono::milliseconds(9));  // second back-off: 10 ms
  CHECK(c.queue().len() == 0);
  CHECK(rec.calls(a) == 2);
  clock.advance(std::chrono::milliseconds(1));
  REQUIRE(eventually([&] { return rec.calls(a) == 3 && c.idle(); }));
  CHECK(c.queue().num_requeues(a) == 0);
  manager.stop();
}

TEST_CASE("controller: requeue_after reconciles again once the delay has passed",
          "[runtime][controller]") {
  ApiFixture f;
  f.create("Service", "default", "a", port(80));
  CountingReconciler rec([](const Request&, int call) {
    return call == 1 ? ReconcileResult::after(std::chrono::seconds(1)) : ReconcileResult::done();
  });
  FakeSteadyClock clock;
  Manager manager(*f.source, clock, fast_manager());
  auto& c =
      manager.add(std::make_unique<Controller>("services", "Service", rec, manager.cache(), clock));
  REQUIRE(manager.start().ok());
  const Request a = svc("a");

  REQUIRE(eventually([&] { return rec.calls(a) == 1 && c.queue().waiting() == 1; }));
  clock.advance(std::chrono::milliseconds(999));
  CHECK(c.queue().len() == 0);
  CHECK(rec.calls(a) == 1);
  clock.advance(std::chrono::milliseconds(1));
  REQUIRE(eventually([&] { return rec.calls(a) == 2 && c.idle(); }));
  manager.stop();
}

TEST_CASE("controller: an exception in reconcile is an error, retried", "[runtime][controller]") {
  ApiFixture f;
  f.create("Service", "default", "a", port(80));
  CountingReconciler rec([](const Request&, int call) -> ReconcileResult {
    if (call == 1) throw std::runtime_error("boom");
    return ReconcileResult::done();
  });
  MonotonicClock clock;
  Manager manager(*f.source, clock, fast_manager());
  auto& c =
      manager.add(std::make_unique<Controller>("services", "Service", rec, manager.cache(), clock));
  REQUIRE(manager.start().ok());
  REQUIRE(eventually([&] { return rec.calls(svc("a")) == 2 && c.idle(); }));
  manager.stop();
}

// Writes Ready=True and observedGeneration, as a real reconciler does on every pass.
class StatusReconciler : public Reconciler {
 public:
  explicit StatusReconciler(Client& client) : client_(client) {}
  ReconcileResult reconcile(const Request& req) override {
    calls++;
    auto obj = client_.get(req.key());
    if (!obj.ok()) {
      return obj.status().code() == Code::kNotFound ? ReconcileResult::done()
                                                    : ReconcileResult::failed(obj.status());
    }
    set_condition(obj.value(), "Ready", kConditionTrue, "Reconciled", "all good", obj->generation(),
                  std::chrono::system_clock::now());
    set_observed_generation(obj.value());
    auto written = client_.update_status(obj.value());
    if (!written.ok()) return ReconcileResult::failed(written.status());
    return ReconcileResult::done();
  }
  std::atomic<int> calls{0};

 private:
  Client& client_;
};

TEST_CASE(
    "controller: with nothing changing it sits idle, its own no-op status writes do not "
    "wake it",
    "[runtime][controller]") {
  ApiFixture f;
  StatusReconciler rec(*f.client);
  MonotonicClock clock;
  Manager manager(*f.source, clock, fast_manager());
  auto& c =
      manager.add(std::make_unique<Controller>("services", "Service", rec, manager.cache(), clock));
  Informer& environments = manager.cache().informer("Environment");  // an unrelated kind
  REQUIRE(manager.start().ok());

  f.create("Service", "default", "web", port(80));
  // Create, reconcile (writes status), the status event, reconcile (writes nothing).
  REQUIRE(eventually([&] { return rec.calls >= 2 && settled(f, manager, c, "Service"); }));
  CHECK(rec.calls == 2);
  auto web = f.client->get(svc("web").key());
  REQUIRE(web.ok());
  CHECK(is_condition_true(web.value(), "Ready"));
  int64_t quiet_from = f.revision();

  for (int i = 0; i < 20; ++i) f.create("Environment", "", "env" + std::to_string(i));
  REQUIRE(eventually([&] { return environments.last_revision() == f.revision(); }));
  CHECK(c.idle());
  CHECK(rec.calls == 2);
  // Nothing but the 20 Environments was written meanwhile: no status write, no event.
  auto events = f.store->events_since(quiet_from, 1000);
  REQUIRE(events.ok());
  CHECK(events->size() == 20);
  for (const WatchEvent& e : events.value()) CHECK(e.object.kind() == "Environment");
  auto again = f.client->get(svc("web").key());
  REQUIRE(again.ok());
  CHECK(again->resource_version() == web->resource_version());
  manager.stop();
}

TEST_CASE("controller: a change to a dependent enqueues its owner", "[runtime][controller]") {
  ApiFixture f;
  Object demo = f.create("Environment", "", "demo");
  f.create("Service", "demo", "web", port(80), {testing::owner_ref(demo)});
  f.create("Service", "demo", "orphan", port(80));
  CountingReconciler rec;
  MonotonicClock clock;
  Manager manager(*f.source, clock, fast_manager());
  auto& c = manager.add(
      std::make_unique<Controller>("environments", "Environment", rec, manager.cache(), clock));
  c.watches("Service", enqueue_owner("Environment", Scope::kCluster));
  REQUIRE(manager.start().ok());
  const Request env{"Environment", "", "demo"};

  REQUIRE(eventually([&] { return rec.calls(env) >= 1 && settled(f, manager, c, "Service"); }));
  int before = rec.calls(env);
  auto web = f.client->get({"Service", "demo", "web"});
  REQUIRE(web.ok());
  web->spec() = port(81);
  REQUIRE(f.client->update(web.value()).ok());
  REQUIRE(eventually([&] { return settled(f, manager, c, "Service"); }));
  CHECK(rec.calls(env) == before + 1);
  // Owners are cluster-scoped: no request ever carried the dependent's namespace.
  for (const Request& r : rec.keys()) CHECK(r.ns.empty());

  // A change to a Service without an owner wakes no Environment.
  int total = rec.total();
  auto orphan = f.client->get({"Service", "demo", "orphan"});
  REQUIRE(orphan.ok());
  orphan->spec() = port(82);
  REQUIRE(f.client->update(orphan.value()).ok());
  REQUIRE(eventually([&] { return settled(f, manager, c, "Service"); }));
  CHECK(rec.total() == total);
  manager.stop();
}

TEST_CASE("controller: enqueue takes external events", "[runtime][controller]") {
  ApiFixture f;
  CountingReconciler rec;
  MonotonicClock clock;
  Manager manager(*f.source, clock, fast_manager());
  auto& c =
      manager.add(std::make_unique<Controller>("services", "Service", rec, manager.cache(), clock));
  REQUIRE(manager.start().ok());
  c.enqueue(svc("from-docker"));
  REQUIRE(eventually([&] { return rec.calls(svc("from-docker")) == 1 && c.idle(); }));
  manager.stop();
}

TEST_CASE("controller: counts reconciles by result with their durations and its queue",
          "[runtime][controller][metrics]") {
  ApiFixture f;
  for (const char* name : {"ok", "fails-once", "later", "again"}) {
    f.create("Service", "default", name, port(80));
  }
  // ok: success; fails-once: error then success; later: requeue_after (an hour: once);
  // again: requeue then success.
  CountingReconciler rec([](const Request& req, int call) {
    if (req.name == "fails-once" && call == 1) {
      return ReconcileResult::failed(Status::Unavailable("docker is away"));
    }
    if (req.name == "later") return ReconcileResult::after(std::chrono::hours(1));
    if (req.name == "again" && call == 1) return ReconcileResult{true, {}, Status::Ok()};
    return ReconcileResult::done();
  });
  MonotonicClock clock;
  metrics::Registry registry;
  Manager manager(*f.source, clock, fast_manager());
  ControllerOptions options;
  options.metrics = &registry;
  manager.add(
      std::make_unique<Controller>("services", "Service", rec, manager.cache(), clock, options));
  auto count = [&](const std::string& name, std::vector<std::string> labels) {
    return testing::sample_value(registry, name, labels).value_or(-1);
  };
  auto result = [&](const std::string& r) {
    return count("cenv_reconcile_total", {"services", "Service", r});
  };
  // Every result is there from the start, at 0.
  for (const char* r : {"success", "error", "requeue", "requeue_after"}) CHECK(result(r) == 0);
  REQUIRE(manager.start().ok());

  REQUIRE(eventually([&] {
    return result("success") + result("error") + result("requeue") + result("requeue_after") == 6;
  }));
  CHECK(result("success") == 3);
  CHECK(result("error") == 1);
  CHECK(result("requeue") == 1);
  CHECK(result("requeue_after") == 1);
  CHECK(count("cenv_reconcile_errors_total", {"services", "Service"}) == 1);
  CHECK(count("cenv_reconcile_duration_seconds", {"services", "Service"}) == 6);
  CHECK(rec.total() == 6);
  // The queue counts under the controller's name: the error and the requeue were retries.
  CHECK(count("cenv_workqueue_retries_total", {"services"}) == 2);
  CHECK(count("cenv_workqueue_adds_total", {"services"}) >= 6);
  CHECK(count("cenv_workqueue_queue_duration_seconds", {"services"}) == 6);
  manager.stop();
}

class FlagRunnable : public Runnable {
 public:
  void start(std::stop_token stop) override {
    running = true;
    wait_for_stop(stop);
    stopped = true;
  }
  std::atomic<bool> running{false};
  std::atomic<bool> stopped{false};
};

TEST_CASE("manager: runs runnables after its informers synced and stops them all",
          "[runtime][manager]") {
  ApiFixture f;
  MonotonicClock clock;
  Manager manager(*f.source, clock, fast_manager());
  Informer& envs = manager.cache().informer("Environment");
  auto& early = manager.add(std::make_unique<FlagRunnable>());
  REQUIRE(manager.start().ok());
  CHECK(envs.has_synced());
  CHECK(envs.get("", "default") != nullptr);
  REQUIRE(eventually([&] { return early.running.load(); }));
  auto& late = manager.add(std::make_unique<FlagRunnable>());
  REQUIRE(eventually([&] { return late.running.load(); }));
  CHECK(manager.start().code() == Code::kFailedPrecondition);
  manager.stop();
  CHECK(early.stopped);
  CHECK(late.stopped);
  manager.stop();  // idempotent
}

TEST_CASE("manager: start fails, naming the kind, when an informer cannot list",
          "[runtime][manager]") {
  ApiFixture f;
  MonotonicClock clock;
  ManagerOptions options = fast_manager();
  options.sync_timeout = std::chrono::milliseconds(50);
  Manager manager(*f.source, clock, options);
  manager.cache().informer("Environment");
  manager.cache().informer("Widget");  // no such kind: its list keeps failing
  auto& never = manager.add(std::make_unique<FlagRunnable>());
  Status started = manager.start();
  CHECK(started.code() == Code::kUnavailable);
  CHECK_THAT(started.message(), Catch::Matches(".*: Widget"));
  CHECK_FALSE(never.running);
  manager.stop();
}

}  // namespace
}  // namespace cenv
