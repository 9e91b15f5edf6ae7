// ApiService in process, on a real SqliteStore in a temp dir.

#include "controller/server/api_service.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "api/yaml_codec.h"
#include "controller/store/sqlite_store.h"

namespace cenv {
namespace {

class FixedClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::from_time_t(1'800'000'000);
  }
};

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
      out.push_back({Object(d.value.as_object()), "test.yaml (document " +
                                                       std::to_string(d.index) + ")"});
    }
    return out;
  }

  FixedClock clock;
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
  auto r = f.api->apply(f.items(std::string(kEnvAndService) + "---\n" +
                                (std::string(kEnvAndService).substr(
                                    std::string(kEnvAndService).find("---") + 4))),
                        {});
  REQUIRE(!r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("duplicate object"));
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

TEST_CASE("get, list by short name and selector; kinds resolve by any name", "[api]") {
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

TEST_CASE("deleting an Environment deletes its namespace; default is protected", "[api]") {
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
