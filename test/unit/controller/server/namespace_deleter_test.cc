// Deleting an Environment with many objects, through ApiService on a real SqliteStore: the
// Delete call marks it terminating and does one batch; NamespaceDeleter's worker does the rest,
// one transaction per batch, and resumes after a restart.

#include "controller/server/namespace_deleter.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "api/yaml_codec.h"
#include "controller/server/api_service.h"
#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"

namespace cenv {
namespace {

constexpr size_t kBatch = 500;

struct Fixture {
  Fixture() {
    dir = std::filesystem::temp_directory_path() /
          ("cenv-nsdel-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    store = std::move(SqliteStore::open((dir / "cenv.db").string(), clock).value());
    start_api();
    REQUIRE(api->ensure_default_namespace().ok());
  }
  ~Fixture() {
    api.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  // A new ApiService on the same store, as after a controller restart; counts its commits and
  // keeps what it tells as Events.
  void start_api() {
    api.reset();
    api = std::make_unique<ApiService>(*store, KindRegistry::builtin().value(), clock, options);
    api->set_on_commit([this] { ++commits; });
    api->set_on_event([this](const Object& about, std::string_view, std::string_view reason,
                             std::string_view, std::string_view) {
      std::lock_guard lock(mu);
      told.push_back(std::string(reason) + " " + std::string(about.name()));
    });
  }

  void apply(const std::string& yaml) {
    auto docs = parse_manifest(yaml, "test.yaml");
    REQUIRE(docs.ok());
    std::vector<ApplyItem> items;
    for (auto& d : docs.value()) items.push_back({Object(d.value.as_object()), "test.yaml"});
    auto applied = api->apply(std::move(items), {});
    INFO(applied.status().message());
    REQUIRE(applied.ok());
  }

  // Environment `ns` with `count` Modules (no controller holds a Module: no finalizers).
  void apply_modules(const std::string& ns, int count) {
    std::string yaml =
        "apiVersion: cenv.io/v1\nkind: Environment\nmetadata: {name: " + ns + "}\nspec: {}\n";
    for (int i = 0; i < count; ++i) {
      yaml += "---\napiVersion: cenv.io/v1\nkind: Module\nmetadata: {name: m" + std::to_string(i) +
              ", namespace: " + ns + "}\nspec: {install: \"true\"}\n";
    }
    apply(yaml);
  }

  size_t count(const std::string& kind, const std::string& ns) {
    auto list = api->list(kind, ns, "");
    REQUIRE(list.ok());
    return list->items.size();
  }

  bool environment_gone(const std::string& name) {
    return api->get("env", "", name).status().code() == Code::kNotFound;
  }

  std::vector<std::string> told_so_far() {
    std::lock_guard lock(mu);
    return told;
  }

  NamespaceDeletionOptions options{.batch_size = kBatch};
  testing::FakeClock clock;
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ApiService> api;
  std::atomic<int> commits{0};
  std::mutex mu;
  std::vector<std::string> told;  // guarded by mu
};

// Waits until `done` holds, looking every few milliseconds; false after a minute (a bound for
// a stuck deletion, not a measure of speed).
template <typename Pred>
bool eventually(Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_CASE("deleting an Environment of 3,000 Modules returns after one batch, and the rest follows",
          "[api][delete][namespace]") {
  Fixture f;
  f.apply_modules("big", 3000);
  f.commits = 0;

  auto deleted = f.api->remove("env", "", "big", 0, Propagation::kBackground);
  REQUIRE(deleted.ok());
  // The call marked the Environment and removed one batch, in one commit.
  REQUIRE(!deleted->empty());
  CHECK(deleted->front().kind() == "Environment");
  CHECK(is_being_deleted(deleted->front()));
  CHECK(deleted->size() == kBatch + 1);
  CHECK(f.commits == 1);
  auto env = f.api->get("env", "", "big");
  REQUIRE(env.ok());
  CHECK(is_being_deleted(env.value()));
  CHECK(has_finalizer(env.value(), kNamespaceFinalizer));
  CHECK(f.count("Module", "big") == 3000 - kBatch);

  // The worker removes the rest, one commit per batch, then the Environment.
  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(eventually([&] { return f.environment_gone("big"); }));
  CHECK(f.count("Module", "big") == 0);
  CHECK(f.commits >= 1 + static_cast<int>((3000 - kBatch) / kBatch));
}

TEST_CASE("a namespace deletion left unfinished resumes when the next ApiService starts",
          "[api][delete][namespace]") {
  Fixture f;
  f.apply_modules("big", 3000);
  REQUIRE(f.api->remove("env", "", "big", 0, Propagation::kBackground).ok());
  // The controller stops before its worker ran.
  f.start_api();
  CHECK(f.count("Module", "big") == 3000 - kBatch);
  CHECK(is_being_deleted(f.api->get("env", "", "big").value()));

  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(eventually([&] { return f.environment_gone("big"); }));
  CHECK(f.count("Module", "big") == 0);
}

TEST_CASE("a large namespace waits for objects held by finalizers, and its Events go last",
          "[api][delete][namespace]") {
  Fixture f;
  f.apply_modules("big", 1200);
  f.apply(R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: held, namespace: big, finalizers: [example.com/wait]}
spec: {}
)");
  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(f.api->remove("env", "", "big", 0, Propagation::kBackground).ok());
  REQUIRE(eventually([&] { return f.count("Module", "big") == 0; }));

  // Everything else went; the Service waits for its finalizer, and the Environment for it.
  auto held = f.api->get("svc", "big", "held");
  REQUIRE(held.ok());
  CHECK(is_being_deleted(held.value()));
  auto env = f.api->get("env", "", "big");
  REQUIRE(env.ok());
  CHECK(has_finalizer(env.value(), kNamespaceFinalizer));
  // The deleter tells what it waits for after its last batch is committed: wait for that.
  auto pending_told = [&] {
    auto t = f.told_so_far();
    return std::count(t.begin(), t.end(), "FinalizersPending held") > 0;
  };
  CHECK(eventually(pending_told));
  auto told = f.told_so_far();
  for (const auto& t : told) INFO(t);
  CHECK(std::count(told.begin(), told.end(), "FinalizersPending held") == 1);
  CHECK(std::count(told.begin(), told.end(), "NamespaceTerminating big") == 1);
  // An Event recorded while it waits stays while it waits.
  f.apply(R"(
apiVersion: cenv.io/v1
kind: Event
metadata: {name: held-1, namespace: big}
involvedObject: {kind: Service, name: held, namespace: big}
reason: FinalizersPending
type: Normal
)");
  CHECK(f.count("Event", "big") == 1);

  // The finalizer goes: the Service, the Event and the Environment go.
  Object released = held.value();
  released.metadata().erase("finalizers");
  REQUIRE(f.api->update(released, "controller").ok());
  REQUIRE(eventually([&] { return f.environment_gone("big"); }));
  CHECK(f.count("Service", "big") == 0);
  CHECK(f.count("Event", "big") == 0);
}

TEST_CASE("deleting an Environment again while its namespace empties changes nothing",
          "[api][delete][namespace]") {
  Fixture f;
  f.apply_modules("big", 1000);
  auto first = f.api->remove("env", "", "big", 0, Propagation::kBackground);
  REQUIRE(first.ok());
  auto again = f.api->remove("env", "", "big", 0, Propagation::kBackground);
  REQUIRE(again.ok());
  REQUIRE(again->size() == 1);
  CHECK(again->front().resource_version() == first->front().resource_version());
  CHECK(f.count("Module", "big") == 1000 - kBatch);
  // Foreground asked afterwards: the Environment also waits under foregroundDeletion.
  auto foreground = f.api->remove("env", "", "big", 0, Propagation::kForeground);
  REQUIRE(foreground.ok());
  CHECK(has_finalizer(f.api->get("env", "", "big").value(), kForegroundFinalizer));
  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(eventually([&] { return f.environment_gone("big"); }));
}

TEST_CASE("the worker stops cleanly with a deletion under way", "[api][delete][namespace]") {
  Fixture f;
  f.apply_modules("big", 2000);
  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(f.api->remove("env", "", "big", 0, Propagation::kBackground).ok());
  f.api->stop_namespace_deletions();
  f.api->stop_namespace_deletions();  // idempotent
  // Whatever is left (maybe nothing) goes after a restart.
  f.start_api();
  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(eventually([&] { return f.environment_gone("big"); }));
}

TEST_CASE(
    "a replica's namespace deletion waiting on a finalizer sees it removed through another "
    "replica, and rewrites nothing while it waits",
    "[api][delete][namespace]") {
  Fixture f;
  f.options.recheck_waiting = std::chrono::milliseconds(50);
  f.start_api();
  // A second replica: its own ApiService on the same store; neither hears the other's commits.
  ApiService other(*f.store, KindRegistry::builtin().value(), f.clock, f.options);
  REQUIRE(other.start_namespace_deletions().ok());
  f.apply_modules("held", 3);
  f.apply(R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: held, namespace: held, finalizers: [example.com/wait]}
spec: {}
)");
  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(f.api->remove("env", "", "held", 0, Propagation::kBackground).ok());
  REQUIRE(eventually([&] { return f.count("Module", "held") == 0; }));
  // Waiting: several rechecks later, nothing was written again.
  const int64_t waiting_at = f.store->revision().value();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.store->revision().value() == waiting_at);

  Object released = other.get("svc", "held", "held").value();
  released.metadata().erase("finalizers");
  REQUIRE(other.update(released, "controller").ok());
  REQUIRE(eventually([&] { return f.environment_gone("held"); }));
}

TEST_CASE("resume takes up a namespace deletion that another replica began and left",
          "[api][delete][namespace]") {
  Fixture f;
  ApiService leader(*f.store, KindRegistry::builtin().value(), f.clock, f.options);
  REQUIRE(leader.start_namespace_deletions().ok());
  f.apply_modules("big", 2000);
  // This replica begins (one batch) and stops before its worker runs: it died.
  REQUIRE(f.api->remove("env", "", "big", 0, Propagation::kBackground).ok());
  f.api.reset();
  CHECK(leader.list("Module", "big", "")->items.size() == 2000 - kBatch);
  REQUIRE(leader.resume_namespace_deletions().ok());
  REQUIRE(
      eventually([&] { return leader.get("env", "", "big").status().code() == Code::kNotFound; }));
  CHECK(leader.list("Module", "big", "")->items.empty());
}

TEST_CASE("a user's write that releases the last holder of a namespace tells nothing there",
          "[api][delete][namespace]") {
  // The namespace goes within that write (its Events first): an Event told afterwards about
  // the removed object would be left in a namespace that no longer exists.
  Fixture f;
  f.apply(R"(
apiVersion: cenv.io/v1
kind: Environment
metadata: {name: held}
spec: {}
---
apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: held, finalizers: [example.com/wait]}
spec: {}
)");
  REQUIRE(f.api->start_namespace_deletions().ok());
  REQUIRE(f.api->remove("env", "", "held", 0, Propagation::kBackground).ok());
  auto pending_told = [&] {
    auto t = f.told_so_far();
    return std::count(t.begin(), t.end(), "FinalizersPending web") > 0;
  };
  REQUIRE(eventually(pending_told));
  Object released = f.api->get("svc", "held", "web").value();
  released.metadata().erase("finalizers");
  Caller alice{.user = "alice", .groups = {}, .local = false, .system = false};
  REQUIRE(f.api->update(released, "kubectl-patch", alice).ok());
  REQUIRE(eventually([&] { return f.environment_gone("held"); }));
  auto told = f.told_so_far();
  CHECK(std::count(told.begin(), told.end(), "Updated web") == 0);
}

}  // namespace
}  // namespace cenv
