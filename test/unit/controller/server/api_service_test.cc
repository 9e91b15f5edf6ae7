// ApiService in process, on a real SqliteStore in a temp dir.

#include "controller/server/api_service.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <set>

#include "api/yaml_codec.h"
#include "controller/store/sqlite_store.h"
#include "test/fakes/fake_clock.h"
#include "test/metrics_sample.h"

namespace cenv {
namespace {

struct Fixture {
  Fixture() {
    dir = std::filesystem::temp_directory_path() /
          ("cenv-api-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    store = std::move(SqliteStore::open((dir / "cenv.db").string(), clock).value());
    api = std::make_unique<ApiService>(*store, KindRegistry::builtin().value(), clock);
    REQUIRE(api->ensure_default_namespace().ok());
  }
  ~Fixture() {
    api.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  std::vector<ApplyItem> items(const std::string& yaml) {
    auto docs = parse_manifest(yaml, "test.yaml");
    REQUIRE(docs.ok());
    std::vector<ApplyItem> out;
    for (auto& d : docs.value()) {
      out.push_back(
          {Object(d.value.as_object()), "test.yaml (document " + std::to_string(d.index) + ")"});
    }
    return out;
  }

  testing::FakeClock clock;
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ApiService> api;
};

const char* kEnvAndService = R"(
apiVersion: cenv.io/v1
kind: Environment
metadata: {name: demo}
spec: {}
---
apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  ports: [{containerPort: 80}]
)";

TEST_CASE("apply creates, then reports unchanged, then configured", "[api]") {
  Fixture f;
  auto first = f.api->apply(f.items(kEnvAndService), {});
  REQUIRE(first.ok());
  CHECK(first->at(0).action == "created");
  CHECK(first->at(1).action == "created");
  CHECK(first->at(1).object.resource_version() > 0);

  auto again = f.api->apply(f.items(kEnvAndService), {});
  REQUIRE(again.ok());
  CHECK(again->at(0).action == "unchanged");
  CHECK(again->at(1).action == "unchanged");

  std::string changed = kEnvAndService;
  changed.replace(changed.find("80"), 2, "81");
  auto third = f.api->apply(f.items(changed), {});
  REQUIRE(third.ok());
  CHECK(third->at(0).action == "unchanged");
  CHECK(third->at(1).action == "configured");
  CHECK(third->at(1).object.generation() == 2);
}

TEST_CASE("every store commit is timed in the registry the service is given", "[api][metrics]") {
  Fixture f;
  metrics::Registry registry;
  f.api->set_metrics(registry);
  auto commits = [&] {
    return testing::sample_value(registry, "cenv_store_commit_duration_seconds").value_or(-1);
  };
  CHECK(commits() == 0);
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  double after_create = commits();
  CHECK(after_create >= 1);
  std::string changed = kEnvAndService;
  changed.replace(changed.find("80"), 2, "81");
  REQUIRE(f.api->apply(f.items(changed), {}).ok());
  CHECK(commits() > after_create);
}

TEST_CASE("apply applies schema defaults and fills the default namespace", "[api]") {
  Fixture f;
  auto r = f.api->apply(f.items(R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: web}
spec: {ports: [{containerPort: 80}]}
)"),
                        {});
  REQUIRE(r.ok());
  const Object& o = r->at(0).object;
  CHECK(o.ns() == "default");
  CHECK(o.json().at("spec").at("ports").at(0).at("protocol").as_string() == "TCP");
  CHECK(o.json().at("spec").at("restartPolicy").as_string() == "Always");
}

TEST_CASE("apply is all or nothing and names source, object and field", "[api]") {
  Fixture f;
  auto before = f.store->revision().value();
  auto r = f.api->apply(f.items(std::string(kEnvAndService) + R"(
---
apiVersion: cenv.io/v1
kind: Service
metadata: {name: bad, namespace: demo}
spec: {ports: [{containerPort: 70000}]}
)"),
                        {});
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kInvalid);
  CHECK_THAT(r.status().message(),
             Catch::Contains("test.yaml (document 3): Service \"bad\" in namespace \"demo\": "
                             "spec.ports[0].containerPort"));
  CHECK(f.store->revision().value() == before);
  CHECK(!f.api->get("env", "", "demo").ok());
}

TEST_CASE("apply refuses a namespace without an Environment", "[api]") {
  Fixture f;
  auto r = f.api->apply(f.items(R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: ghost}
spec: {}
)"),
                        {});
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kNotFound);
  CHECK_THAT(r.status().message(), Catch::Contains("namespace \"ghost\" not found"));
}

TEST_CASE("apply refuses the same object twice in one call", "[api]") {
  Fixture f;
  auto r = f.api->apply(
      f.items(std::string(kEnvAndService) + "---\n" +
              (std::string(kEnvAndService).substr(std::string(kEnvAndService).find("---") + 4))),
      {});
  REQUIRE(!r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("duplicate object"));
}

TEST_CASE("create_only refuses an existing object and writes nothing", "[api][create]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  auto before = f.api->get("Service", "demo", "web");
  REQUIRE(before.ok());
  std::string changed = kEnvAndService;
  changed.replace(changed.find("containerPort: 80"), 17, "containerPort: 81");
  ApplyOptions create;
  create.create_only = true;
  auto again = f.api->apply(f.items(changed), create);
  REQUIRE(!again.ok());
  CHECK(again.status().code() == Code::kAlreadyExists);
  CHECK(again.status().message().find("test.yaml (document 2): Service \"web\" in namespace "
                                      "\"demo\" already exists") != std::string::npos);
  auto after = f.api->get("Service", "demo", "web");
  REQUIRE(after.ok());
  CHECK(after->resource_version() == before->resource_version());
  CHECK(after->to_json() == before->to_json());
}

TEST_CASE("generateName: create names the object, apply refuses it", "[api][create]") {
  Fixture f;
  const char* run = R"(
apiVersion: cenv.io/v1
kind: CommandRun
metadata: {generateName: job-, namespace: default}
spec: {command: ["true"]}
)";
  auto applied = f.api->apply(f.items(run), {});
  REQUIRE(!applied.ok());
  CHECK(applied.status().message().find("apply cannot use generateName") != std::string::npos);

  ApplyOptions create;
  create.create_only = true;
  std::set<std::string> names;
  for (int i = 0; i < 20; ++i) {
    auto made = f.api->apply(f.items(run), create);
    REQUIRE(made.ok());
    REQUIRE(made->size() == 1);
    CHECK(made->at(0).action == "created");
    std::string name(made->at(0).object.name());
    CHECK(name.size() == 9);
    CHECK(name.rfind("job-", 0) == 0);
    CHECK(made->at(0).object.generate_name() == "job-");
    names.insert(name);
  }
  CHECK(names.size() == 20);  // every create made a new object
  auto listed = f.api->list("CommandRun", "default", "");
  REQUIRE(listed.ok());
  CHECK(listed->items.size() == 20);
}

TEST_CASE("dry run computes outcomes and writes nothing", "[api]") {
  Fixture f;
  auto before = f.store->revision().value();
  ApplyOptions options;
  options.dry_run = true;
  auto r = f.api->apply(f.items(kEnvAndService), options);
  REQUIRE(r.ok());
  CHECK(r->at(0).action == "created");
  CHECK(f.store->revision().value() == before);
}

TEST_CASE("get, list by short name and selector, kinds resolve by any name", "[api]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  CHECK(f.api->get("svc", "demo", "web").ok());
  CHECK(f.api->get("services", "demo", "web").ok());
  CHECK(f.api->get("Service", "demo", "web").ok());
  auto missing = f.api->get("svc", "demo", "nope");
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains("services \"nope\" not found"));
  CHECK(f.api->get("widgets", "", "x").status().code() == Code::kNotFound);

  auto all = f.api->list("svc", "", "");
  REQUIRE(all.ok());
  CHECK(all->items.size() == 1);
  CHECK(f.api->list("svc", "", "app=web")->items.empty());
  CHECK(f.api->list("svc", "", "app in (").status().code() == Code::kInvalid);
}

TEST_CASE("update with a stale resourceVersion is a conflict", "[api]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  Object web = f.api->get("svc", "demo", "web").value();
  Object stale = web;
  web.spec()["command"] = boost::json::array{"true"};
  REQUIRE(f.api->update(web, "test").ok());
  stale.spec()["command"] = boost::json::array{"false"};
  CHECK(f.api->update(stale, "test").status().code() == Code::kConflict);
}

TEST_CASE("update_status validates the status and keeps the spec", "[api]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  Object web = f.api->get("svc", "demo", "web").value();
  web.status()["phase"] = "Running";
  web.spec()["command"] = boost::json::array{"ignored"};
  auto stored = f.api->update_status(web);
  REQUIRE(stored.ok());
  CHECK(stored->json().at("status").at("phase").as_string() == "Running");
  CHECK(!stored->json().at("spec").as_object().contains("command"));
  web = stored.value();
  web.status()["phase"] = "Dancing";
  CHECK(f.api->update_status(web).status().code() == Code::kInvalid);
}

TEST_CASE("deleting an Environment deletes its namespace, default is protected", "[api]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  auto deleted = f.api->remove("env", "", "demo", 0, Propagation::kBackground);
  REQUIRE(deleted.ok());
  CHECK(deleted->size() == 2);
  CHECK(f.api->get("svc", "demo", "web").status().code() == Code::kNotFound);
  CHECK(f.api->remove("env", "", "default", 0, Propagation::kBackground).status().code() ==
        Code::kForbidden);
}

}  // namespace
}  // namespace cenv

namespace cenv {
namespace {

// Applies one Service in "demo" (the Environment comes with it) and returns it as stored.
Object apply_service(Fixture& f, const std::string& name, const std::string& extra_meta = "") {
  auto r = f.api->apply(f.items(R"(
apiVersion: cenv.io/v1
kind: Environment
metadata: {name: demo}
spec: {}
---
apiVersion: cenv.io/v1
kind: Service
metadata:
  name: )" + name + R"(
  namespace: demo
)" + extra_meta + R"(
spec: {}
)"),
                        {});
  REQUIRE(r.ok());
  return r->at(1).object;
}

std::string owner_ref(const Object& owner) {
  return "  ownerReferences: [{apiVersion: cenv.io/v1, kind: " + std::string(owner.kind()) +
         ", name: " + std::string(owner.name()) + ", uid: " + std::string(owner.uid()) + "}]\n";
}

Object without_finalizers(Object o) {
  o.metadata().erase("finalizers");
  return o;
}

TEST_CASE("an object with finalizers is only marked, losing them completes the delete",
          "[api][delete]") {
  Fixture f;
  apply_service(f, "web", "  finalizers: [example.com/wait]\n");
  auto deleted = f.api->remove("svc", "demo", "web", 0, Propagation::kBackground);
  REQUIRE(deleted.ok());
  auto marked = f.api->get("svc", "demo", "web");
  REQUIRE(marked.ok());
  CHECK(is_being_deleted(marked.value()));
  REQUIRE(f.api->update(without_finalizers(marked.value()), "controller").ok());
  CHECK(f.api->get("svc", "demo", "web").status().code() == Code::kNotFound);
}

TEST_CASE("background deletion takes dependents along, orphan releases them", "[api][delete]") {
  Fixture f;
  Object owner = apply_service(f, "owner");
  apply_service(f, "child", owner_ref(owner));
  SECTION("background") {
    REQUIRE(f.api->remove("svc", "demo", "owner", 0, Propagation::kBackground).ok());
    CHECK(f.api->get("svc", "demo", "child").status().code() == Code::kNotFound);
  }
  SECTION("orphan") {
    REQUIRE(f.api->remove("svc", "demo", "owner", 0, Propagation::kOrphan).ok());
    auto child = f.api->get("svc", "demo", "child");
    REQUIRE(child.ok());
    CHECK(!child->metadata().contains("ownerReferences"));
  }
}

TEST_CASE("foreground deletion waits for dependents with finalizers", "[api][delete]") {
  Fixture f;
  Object owner = apply_service(f, "owner");
  apply_service(f, "child", owner_ref(owner) + "  finalizers: [example.com/wait]\n");
  REQUIRE(f.api->remove("svc", "demo", "owner", 0, Propagation::kForeground).ok());
  auto waiting = f.api->get("svc", "demo", "owner");
  REQUIRE(waiting.ok());
  CHECK(is_being_deleted(waiting.value()));
  CHECK(has_finalizer(waiting.value(), kForegroundFinalizer));
  auto child = f.api->get("svc", "demo", "child");
  REQUIRE(child.ok());
  CHECK(is_being_deleted(child.value()));
  // The child's controller finishes its cleanup: both go.
  REQUIRE(f.api->update(without_finalizers(child.value()), "controller").ok());
  CHECK(f.api->get("svc", "demo", "child").status().code() == Code::kNotFound);
  CHECK(f.api->get("svc", "demo", "owner").status().code() == Code::kNotFound);
}

TEST_CASE("an Environment waits for the objects of its namespace", "[api][delete]") {
  Fixture f;
  apply_service(f, "web", "  finalizers: [example.com/wait]\n");
  REQUIRE(f.api->remove("env", "", "demo", 0, Propagation::kBackground).ok());
  auto env = f.api->get("env", "", "demo");
  REQUIRE(env.ok());
  CHECK(has_finalizer(env.value(), kNamespaceFinalizer));
  auto web = f.api->get("svc", "demo", "web");
  REQUIRE(web.ok());
  REQUIRE(f.api->update(without_finalizers(web.value()), "controller").ok());
  CHECK(f.api->get("env", "", "demo").status().code() == Code::kNotFound);
}

TEST_CASE("an Environment deleted in the foreground goes once its namespace is empty",
          "[api][delete]") {
  Fixture f;
  apply_service(f, "web", "  finalizers: [example.com/wait]\n");
  REQUIRE(f.api->remove("env", "", "demo", 0, Propagation::kForeground).ok());
  auto env = f.api->get("env", "", "demo");
  REQUIRE(env.ok());
  CHECK(has_finalizer(env.value(), kForegroundFinalizer));
  CHECK(has_finalizer(env.value(), kNamespaceFinalizer));
  auto web = f.api->get("svc", "demo", "web");
  REQUIRE(web.ok());
  REQUIRE(f.api->update(without_finalizers(web.value()), "controller").ok());
  CHECK(f.api->get("svc", "demo", "web").status().code() == Code::kNotFound);
  CHECK(f.api->get("env", "", "demo").status().code() == Code::kNotFound);
}

TEST_CASE("prune deletes the members of the apply set that the apply no longer has",
          "[api][prune]") {
  Fixture f;
  ApplyOptions options;
  options.applyset = "demo-set";
  options.prune = true;
  REQUIRE(f.api->apply(f.items(kEnvAndService), options).ok());
  // Not a member: must survive the prune.
  REQUIRE(f.api
              ->apply(f.items(R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: other, namespace: demo}
spec: {}
)"),
                      {})
              .ok());
  std::string only_env =
      std::string(kEnvAndService).substr(0, std::string(kEnvAndService).find("---"));
  auto r = f.api->apply(f.items(only_env), options);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK(r->at(1).action == "pruned");
  CHECK(f.api->get("svc", "demo", "web").status().code() == Code::kNotFound);
  CHECK(f.api->get("svc", "demo", "other").ok());
}

TEST_CASE("prune keeps a member annotated cenv.io/prune: disabled", "[api][prune]") {
  Fixture f;
  ApplyOptions options;
  options.applyset = "demo-set";
  options.prune = true;
  REQUIRE(f.api
              ->apply(f.items(std::string(kEnvAndService) + R"(
---
apiVersion: cenv.io/v1
kind: Service
metadata:
  name: kept
  namespace: demo
  annotations: {cenv.io/prune: disabled}
spec: {}
)"),
                      options)
              .ok());
  std::string only_env =
      std::string(kEnvAndService).substr(0, std::string(kEnvAndService).find("---"));
  auto r = f.api->apply(f.items(only_env), options);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK(r->at(1).action == "pruned");
  CHECK(r->at(1).object.name() == "web");
  CHECK(f.api->get("svc", "demo", "kept").ok());
}

TEST_CASE("apply keeps fields another manager set and reports conflicts", "[api][ssa]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  Object web = f.api->get("svc", "demo", "web").value();
  web.spec()["command"] = boost::json::array{"sleep", "9"};
  REQUIRE(f.api->update(web, "cenv-edit").ok());
  auto again = f.api->apply(f.items(kEnvAndService), {});
  REQUIRE(again.ok());
  CHECK(again->at(1).action == "unchanged");
  CHECK(f.api->get("svc", "demo", "web")->json().at("spec").at("command").as_array().size() == 2);

  std::string takes = std::string(kEnvAndService) + "  command: [\"true\"]\n";
  auto conflict = f.api->apply(f.items(takes), {});
  REQUIRE(!conflict.ok());
  CHECK(conflict.status().code() == Code::kConflict);
  CHECK_THAT(conflict.status().message(), Catch::Contains("\"cenv-edit\""));
  ApplyOptions force;
  force.force = true;
  auto forced = f.api->apply(f.items(takes), force);
  REQUIRE(forced.ok());
  CHECK(forced->at(1).action == "configured");
}

// kEnvAndService with the Service's metadata.resourceVersion set to `rv` and its port changed
// to `port`, as a user edits the output of `cenv get -o yaml`.
std::string with_resource_version(const std::string& rv, int port = 81) {
  return R"(
apiVersion: cenv.io/v1
kind: Environment
metadata: {name: demo}
spec: {}
---
apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: demo, resourceVersion: ")" +
         rv + R"("}
spec:
  ports: [{containerPort: )" +
         std::to_string(port) + "}]\n";
}

TEST_CASE("apply with a stale resourceVersion is a conflict and writes nothing",
          "[api][precondition]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  Object web = f.api->get("svc", "demo", "web").value();
  std::string seen = std::to_string(web.resource_version());
  web.spec()["command"] = boost::json::array{"true"};
  REQUIRE(f.api->update(web, "cenv-edit").ok());
  int64_t before = f.store->revision().value();

  auto r = f.api->apply(f.items(with_resource_version(seen)), {});
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kConflict);
  CHECK(r.status().message() ==
        "test.yaml (document 2): Operation cannot be fulfilled on Service \"web\" in namespace "
        "\"demo\": the object has been modified; please apply your changes to the latest "
        "version and try again");
  CHECK(f.store->revision().value() == before);
  CHECK(f.api->get("svc", "demo", "web")->json().at("spec").at("ports").at(0).at("containerPort") ==
        80);

  // A server dry run says the same.
  ApplyOptions dry;
  dry.dry_run = true;
  CHECK(f.api->apply(f.items(with_resource_version(seen)), dry).status().code() == Code::kConflict);
}

TEST_CASE("apply with the current resourceVersion writes, and it is never stored as given",
          "[api][precondition]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  int64_t current = f.api->get("svc", "demo", "web")->resource_version();
  auto r = f.api->apply(f.items(with_resource_version(std::to_string(current))), {});
  REQUIRE(r.ok());
  CHECK(r->at(1).action == "configured");
  CHECK(r->at(1).object.resource_version() > current);
}

TEST_CASE("apply with a resourceVersion of an object that does not exist is a conflict",
          "[api][precondition]") {
  Fixture f;
  int64_t before = f.store->revision().value();
  auto r = f.api->apply(f.items(with_resource_version("7")), {});
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kConflict);
  CHECK_THAT(r.status().message(),
             Catch::Contains("test.yaml (document 2): Operation cannot be fulfilled on Service "
                             "\"web\" in namespace \"demo\": the object does not exist"));
  CHECK(f.store->revision().value() == before);
  CHECK(!f.api->get("env", "", "demo").ok());
}

TEST_CASE("apply refuses a resourceVersion that is not a version", "[api][precondition]") {
  Fixture f;
  auto r = f.api->apply(f.items(with_resource_version("latest")), {});
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kInvalid);
  CHECK_THAT(r.status().message(),
             Catch::Contains("test.yaml (document 2): Service \"web\" in namespace \"demo\": "
                             "metadata.resourceVersion: Invalid value: \"latest\""));
}

TEST_CASE("update replaces labels and spec as given, keeps status, and checks the version",
          "[api][precondition]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());
  Object web = f.api->get("svc", "demo", "web").value();
  web.status()["phase"] = "Running";
  REQUIRE(f.api->update_status(web).ok());
  Object stored = f.api->get("svc", "demo", "web").value();

  auto replacement = f.items(R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: web, namespace: demo, labels: {tier: front}}
spec:
  ports: [{containerPort: 81}]
)");
  Object stale = replacement.front().object;
  stale.set_resource_version(stored.resource_version() - 1);
  CHECK(f.api->update(stale, "cenv-replace").status().code() == Code::kConflict);

  Object fresh = replacement.front().object;
  fresh.set_resource_version(stored.resource_version());
  auto replaced = f.api->update(fresh, "cenv-replace");
  REQUIRE(replaced.ok());
  CHECK(replaced->labels()->at("tier") == "front");
  CHECK(replaced->json().at("spec").at("ports").at(0).at("containerPort") == 81);
  CHECK(replaced->json().at("status").at("phase") == "Running");

  Object missing = replacement.front().object;
  missing.set_name("nobody");
  auto not_found = f.api->update(missing, "cenv-replace");
  CHECK(not_found.status().code() == Code::kNotFound);
  CHECK(not_found.status().message() == "services \"nobody\" not found in namespace \"demo\"");
}

}  // namespace
}  // namespace cenv

namespace cenv {
namespace {

// ---- nothing new enters a namespace being deleted (Kubernetes' NamespaceLifecycle) ----------

constexpr std::string_view kTerminatingMessage =
    "is forbidden: unable to create new content in namespace demo because it is being "
    "terminated";

TEST_CASE("a namespace being deleted refuses new objects, but Events, and its objects still update",
          "[api][delete][admission]") {
  Fixture f;
  // The Service holds the namespace's deletion with its finalizer.
  apply_service(f, "web", "  finalizers: [example.com/wait]\n");
  REQUIRE(f.api->remove("env", "", "demo", 0, Propagation::kBackground).ok());
  REQUIRE(is_being_deleted(f.api->get("env", "", "demo").value()));

  const std::string late = R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: late, namespace: demo}
spec: {}
)";
  SECTION("apply, create and a dry run of either are Forbidden, and nothing is written") {
    ApplyOptions create;
    create.create_only = true;
    ApplyOptions dry_run;
    dry_run.dry_run = true;
    for (const ApplyOptions& options : {ApplyOptions{}, create, dry_run}) {
      auto refused = f.api->apply(f.items(late), options);
      REQUIRE(!refused.ok());
      CHECK(refused.status().code() == Code::kForbidden);
      CHECK(refused.status().message() == "services \"late\" " + std::string(kTerminatingMessage));
    }
    CHECK(f.api->get("svc", "demo", "late").status().code() == Code::kNotFound);
  }
  SECTION("an apply that also updates what exists is refused whole") {
    auto refused = f.api->apply(f.items(std::string(kEnvAndService) + "---" + late), {});
    REQUIRE(!refused.ok());
    CHECK(refused.status().code() == Code::kForbidden);
    CHECK(f.api->get("svc", "demo", "late").status().code() == Code::kNotFound);
  }
  SECTION("an Event still enters: it tells why the deletion waits") {
    auto event = f.api->apply(f.items(R"(
apiVersion: cenv.io/v1
kind: Event
metadata: {name: web-1, namespace: demo}
involvedObject: {kind: Service, name: web, namespace: demo}
reason: Stopping
type: Normal
)"),
                              {});
    REQUIRE(event.ok());
    CHECK(f.api->get("Event", "demo", "web-1").ok());
  }
  SECTION("objects there still update: spec, status, and the release of their finalizers") {
    Object web = f.api->get("svc", "demo", "web").value();
    web.metadata()["labels"] = boost::json::object{{"stage", "leaving"}};
    auto updated = f.api->update(web, "controller");
    REQUIRE(updated.ok());
    Object with_status = updated.value();
    with_status.status()["phase"] = "Stopped";
    REQUIRE(f.api->update_status(with_status).ok());
    REQUIRE(
        f.api->update(without_finalizers(f.api->get("svc", "demo", "web").value()), "controller")
            .ok());
    CHECK(f.api->get("svc", "demo", "web").status().code() == Code::kNotFound);
    CHECK(f.api->get("env", "", "demo").status().code() == Code::kNotFound);
  }
}

TEST_CASE(
    "a namespace not being deleted takes new objects, and a new namespace with its objects too",
    "[api][delete][admission]") {
  Fixture f;
  REQUIRE(f.api->apply(f.items(kEnvAndService), {}).ok());  // creates both in one commit
  auto more = f.api->apply(f.items(R"(
apiVersion: cenv.io/v1
kind: Service
metadata: {name: more, namespace: demo}
spec: {}
)"),
                           {});
  REQUIRE(more.ok());
  CHECK(more->at(0).action == "created");
}

}  // namespace
}  // namespace cenv
