// Server-side apply's field ownership: merges, removals, conflicts and shared ownership.

#include "api/field_manager.h"

#include <catch2/catch.hpp>

#include "api/kinds.h"

namespace cenv {
namespace {

namespace json = boost::json;

KindInfo service_kind() {
  KindInfo k;
  k.kind = "Service";
  k.plural = "services";
  k.schema = json::parse(R"({"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
      "image": {"type": "string"},
      "command": {"type": "array", "items": {"type": "string"}},
      "ports": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["containerPort"],
                "items": {"type": "object", "properties": {
                  "containerPort": {"type": "integer"}, "hostPort": {"type": "integer"}}}}}}}})")
                 .as_object();
  return k;
}

Object obj(const char* text) { return Object(json::parse(text).as_object()); }

ApplyOptionsSsa as(const std::string& manager, bool force = false) {
  return {manager, force, "2026-11-28T00:00:00Z"};
}

std::vector<std::string> managers(const Object& o) {
  std::vector<std::string> out;
  for (const auto& e : o.json().at("metadata").at("managedFields").as_array()) {
    out.push_back(std::string(e.at("manager").as_string()) + "/" +
                  std::string(e.at("operation").as_string()));
  }
  return out;
}

TEST_CASE("a first apply records the manager's fields", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  auto r = fm.apply(nullptr, obj(R"({"kind":"Service","metadata":{"name":"web","labels":{"a":"1"}},
                                      "spec":{"image":"x","ports":[{"containerPort":80}]}})"),
                    as("cenv"));
  REQUIRE(r.ok());
  CHECK(managers(r.value()) == std::vector<std::string>{"cenv/Apply"});
  const auto& fields = r->json().at("metadata").at("managedFields").at(0).at("fieldsV1");
  CHECK(fields.at("f:spec").at("f:image").as_object().empty());
  CHECK(fields.at("f:spec").at("f:ports").as_object().contains("k:{\"containerPort\":80}"));
  CHECK(fields.at("f:metadata").at("f:labels").as_object().contains("f:a"));
}

TEST_CASE("a field dropped from the manifest is removed", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  auto first = fm.apply(nullptr, obj(R"({"metadata":{"name":"web"},
                                          "spec":{"image":"x","command":["a"]}})"),
                        as("cenv"));
  REQUIRE(first.ok());
  auto second = fm.apply(&first.value(), obj(R"({"metadata":{"name":"web"},"spec":{"image":"x"}})"),
                         as("cenv"));
  REQUIRE(second.ok());
  CHECK(!second->json().at("spec").as_object().contains("command"));
  CHECK(second->json().at("spec").at("image") == "x");
}

TEST_CASE("a field set by another manager is kept when the applier does not mention it", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  Object live =
      fm.apply(nullptr, obj(R"({"metadata":{"name":"web"},"spec":{"image":"x"}})"), as("cenv"))
          .value();
  Object edited = live;
  edited.spec()["command"] = json::array{"sleep", "1"};
  live = fm.update(live, edited, "cenv-edit", "t");
  CHECK(managers(live) == std::vector<std::string>{"cenv/Apply", "cenv-edit/Update"});
  auto again =
      fm.apply(&live, obj(R"({"metadata":{"name":"web"},"spec":{"image":"y"}})"), as("cenv"));
  REQUIRE(again.ok());
  CHECK(again->json().at("spec").at("command").as_array().size() == 2);
  CHECK(again->json().at("spec").at("image") == "y");
}

TEST_CASE("changing a field another manager owns is a conflict unless forced", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  Object live =
      fm.apply(nullptr, obj(R"({"metadata":{"name":"web"},"spec":{"image":"x"}})"), as("cenv"))
          .value();
  Object edited = live;
  edited.spec()["image"] = "edited";
  live = fm.update(live, edited, "cenv-edit", "t");

  auto conflict =
      fm.apply(&live, obj(R"({"metadata":{"name":"web"},"spec":{"image":"z"}})"), as("cenv"));
  REQUIRE(!conflict.ok());
  CHECK(conflict.status().code() == Code::kConflict);
  CHECK_THAT(conflict.status().message(),
             Catch::Contains("conflict with \"cenv-edit\" using cenv.io/v1: .spec.image"));

  auto forced =
      fm.apply(&live, obj(R"({"metadata":{"name":"web"},"spec":{"image":"z"}})"), as("cenv", true));
  REQUIRE(forced.ok());
  CHECK(forced->json().at("spec").at("image") == "z");
  // cenv-edit lost its only field and so its entry.
  CHECK(managers(forced.value()) == std::vector<std::string>{"cenv/Apply"});
}

TEST_CASE("applying the value another manager set shares the field without conflict", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  Object live =
      fm.apply(nullptr, obj(R"({"metadata":{"name":"web"},"spec":{"image":"x"}})"), as("a"))
          .value();
  auto shared =
      fm.apply(&live, obj(R"({"metadata":{"name":"web"},"spec":{"image":"x"}})"), as("b"));
  REQUIRE(shared.ok());
  CHECK(managers(shared.value()) == std::vector<std::string>{"a/Apply", "b/Apply"});
  // a drops image: b still owns it, so it stays.
  auto dropped =
      fm.apply(&shared.value(), obj(R"({"metadata":{"name":"web"},"spec":{}})"), as("a"));
  REQUIRE(dropped.ok());
  CHECK(dropped->json().at("spec").at("image") == "x");
}

TEST_CASE("list items merge by key across managers", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  Object live = fm.apply(nullptr, obj(R"({"metadata":{"name":"web"},
                                           "spec":{"ports":[{"containerPort":80}]}})"),
                         as("a"))
                    .value();
  auto both = fm.apply(&live, obj(R"({"metadata":{"name":"web"},
                                      "spec":{"ports":[{"containerPort":90,"hostPort":9090}]}})"),
                       as("b"));
  REQUIRE(both.ok());
  CHECK(both->json().at("spec").at("ports").as_array().size() == 2);
  auto a_drops = fm.apply(&both.value(), obj(R"({"metadata":{"name":"web"},"spec":{}})"), as("a"));
  REQUIRE(a_drops.ok());
  const auto& ports = a_drops->json().at("spec").at("ports").as_array();
  REQUIRE(ports.size() == 1);
  CHECK(ports.at(0).at("containerPort") == 90);
  auto b_drops =
      fm.apply(&a_drops.value(), obj(R"({"metadata":{"name":"web"},"spec":{}})"), as("b"));
  REQUIRE(b_drops.ok());
  CHECK(!b_drops->json().at("spec").as_object().contains("ports"));
}

TEST_CASE("labels are owned key by key", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  Object live = fm.apply(nullptr, obj(R"({"metadata":{"name":"web","labels":{"app":"web"}},
                                           "spec":{}})"),
                         as("a"))
                    .value();
  auto b = fm.apply(&live, obj(R"({"metadata":{"name":"web","labels":{"team":"x"}},"spec":{}})"),
                    as("b"));
  REQUIRE(b.ok());
  CHECK(b->labels()->size() == 2);
  auto a = fm.apply(&b.value(), obj(R"({"metadata":{"name":"web"},"spec":{}})"), as("a"));
  REQUIRE(a.ok());
  REQUIRE(a->labels() != nullptr);
  CHECK(a->labels()->size() == 1);
  CHECK(a->labels()->contains("team"));
}

TEST_CASE("path_text renders keys as kubectl does", "[ssa]") {
  CHECK(FieldManager::path_text({"f:spec", "f:ports", "k:{\"containerPort\":80}", "f:hostPort"}) ==
        ".spec.ports[containerPort=80].hostPort");
  CHECK(FieldManager::path_text({"f:spec", "f:env", "f:A\nB", "v:\"x\ty\""}) ==
        ".spec.env.A\\nB[\"x\\ty\"]");
}

TEST_CASE("a kind's top-level fields outside spec are applied and owned like spec", "[ssa]") {
  // An Event has no spec: involvedObject, reason, message... sit at the top level. Kubernetes
  // tracks every field but status; so does cenv, or a changed message would read "unchanged".
  auto registry = KindRegistry::builtin();
  REQUIRE(registry.ok());
  const KindInfo* event = registry.value()->find("Event");
  REQUIRE(event);
  FieldManager fm(*event);
  auto first = fm.apply(nullptr, obj(R"({"apiVersion":"cenv.io/v1","kind":"Event",
      "metadata":{"name":"probe","namespace":"default"},
      "involvedObject":{"kind":"Environment","name":"default"},
      "reason":"Probe","message":"one","type":"Normal"})"),
                        as("cenv"));
  REQUIRE(first.ok());
  const auto& fields = first->json().at("metadata").at("managedFields").at(0).at("fieldsV1");
  CHECK(fields.as_object().contains("f:message"));
  CHECK(fields.at("f:involvedObject").as_object().contains("f:name"));

  // Changed, and `type` dropped from the manifest: applied and removed.
  auto second = fm.apply(&first.value(), obj(R"({"apiVersion":"cenv.io/v1","kind":"Event",
      "metadata":{"name":"probe","namespace":"default"},
      "involvedObject":{"kind":"Environment","name":"default"},
      "reason":"Probe","message":"two"})"),
                         as("cenv"));
  REQUIRE(second.ok());
  CHECK(second->json().at("message") == "two");
  CHECK_FALSE(second->json().contains("type"));
  CHECK(fm.owned_view(second->json()) != fm.owned_view(first->json()));

  // Another manager's change of the message is a conflict for the next apply.
  Object edited = second.value();
  edited.json()["message"] = "three";
  Object updated = fm.update(second.value(), edited, "kubectl-edit", "2026-11-28T00:00:01Z");
  auto third = fm.apply(&updated, obj(R"({"apiVersion":"cenv.io/v1","kind":"Event",
      "metadata":{"name":"probe","namespace":"default"},
      "involvedObject":{"kind":"Environment","name":"default"},
      "reason":"Probe","message":"two"})"),
                        as("cenv"));
  REQUIRE_FALSE(third.ok());
  CHECK(third.status().message().find("kubectl-edit") != std::string::npos);
  CHECK(third.status().message().find(".message") != std::string::npos);
}

}  // namespace
}  // namespace cenv

namespace cenv {
namespace {

// "manager/operation by user at time" of each managedFields entry ("-" for no user).
std::vector<std::string> writers(const Object& o) {
  std::vector<std::string> out;
  for (const auto& e : o.json().at("metadata").at("managedFields").as_array()) {
    const auto& entry = e.as_object();
    const auto* user = entry.if_contains("user");
    out.push_back(std::string(entry.at("manager").as_string()) + "/" +
                  std::string(entry.at("operation").as_string()) + " by " +
                  (user ? std::string(user->as_string()) : "-") + " at " +
                  std::string(entry.at("time").as_string()));
  }
  return out;
}

TEST_CASE("each manager's entry names the user of its last change", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  auto created = fm.apply(nullptr, obj(R"({"metadata":{"name":"web"},"spec":{"image":"x"}})"),
                          {"cenv", false, "t1", "alice"});
  REQUIRE(created.ok());
  CHECK(writers(created.value()) == std::vector<std::string>{"cenv/Apply by alice at t1"});

  Object edited = created.value();
  edited.spec()["command"] = json::array{"sleep"};
  Object live = fm.update(created.value(), edited, "cenv-edit", "t2", "bob");
  CHECK(writers(live) ==
        std::vector<std::string>{"cenv/Apply by alice at t1", "cenv-edit/Update by bob at t2"});

  // The same manifest by someone else changes nothing: the entry keeps its user and time.
  auto same = fm.apply(&live, obj(R"({"metadata":{"name":"web"},"spec":{"image":"x"}})"),
                       {"cenv", false, "t3", "carol"});
  REQUIRE(same.ok());
  CHECK(writers(same.value()) == writers(live));
  // An update that changes nothing leaves it too.
  CHECK(writers(fm.update(live, live, "cenv-edit", "t3", "carol")) == writers(live));

  // A change moves user and time together.
  auto changed = fm.apply(&live, obj(R"({"metadata":{"name":"web"},"spec":{"image":"y"}})"),
                          {"cenv", false, "t4", "carol"});
  REQUIRE(changed.ok());
  CHECK(writers(changed.value()) ==
        std::vector<std::string>{"cenv/Apply by carol at t4", "cenv-edit/Update by bob at t2"});

  // Without a user (entries written before users were recorded) none is shown.
  auto anonymous =
      fm.apply(nullptr, obj(R"({"metadata":{"name":"db"},"spec":{"image":"x"}})"), as("cenv"));
  REQUIRE(anonymous.ok());
  CHECK(writers(anonymous.value()) ==
        std::vector<std::string>{"cenv/Apply by - at 2026-11-28T00:00:00Z"});
}

}  // namespace
}  // namespace cenv

namespace cenv {
namespace {

// unchanged_by is apply's shortcut: whenever it answers true, apply must return the live object
// as it is; and the plain re-apply of what a manager applied last must take it.
TEST_CASE("unchanged_by answers true only where apply changes nothing", "[ssa]") {
  KindInfo kind = service_kind();
  FieldManager fm(kind);
  const std::vector<const char*> configs = {
      R"({"kind":"Service","metadata":{"name":"web"},"spec":{"image":"x"}})",
      R"({"kind":"Service","metadata":{"name":"web","labels":{"a":"1"}},"spec":{"image":"x"}})",
      R"({"kind":"Service","metadata":{"name":"web","labels":{"a":"2"}},"spec":{"image":"x"}})",
      R"({"kind":"Service","metadata":{"name":"web"},"spec":{"image":"y","command":["a","b"]}})",
      R"({"kind":"Service","metadata":{"name":"web"},"spec":{"command":["b","a"]}})",
      R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"containerPort":80}]}})",
      R"({"kind":"Service","metadata":{"name":"web"},
          "spec":{"ports":[{"containerPort":80,"hostPort":8080},{"containerPort":81}]}})",
      R"({"kind":"Service","metadata":{"name":"web"},
          "spec":{"ports":[{"containerPort":81},{"containerPort":80,"hostPort":8080}]}})",
      R"({"kind":"Service","metadata":{"name":"web","finalizers":["f/a","f/b"]},"spec":{}})",
      R"({"kind":"Service","metadata":{"name":"web","finalizers":["f/b"]},"spec":{"image":"x"}})",
      R"({"kind":"Service","metadata":{"name":"web","labels":{}},"spec":{"image":"x"}})",
  };
  const std::vector<std::string> who = {"cenv", "other"};
  // Live states: every config applied first by each manager, then every config by each.
  std::vector<Object> lives;
  for (const char* first : configs) {
    for (const std::string& m1 : who) {
      auto a = fm.apply(nullptr, obj(first), as(m1));
      REQUIRE(a.ok());
      lives.push_back(a.value());
      for (const char* second : configs) {
        for (const std::string& m2 : who) {
          auto b = fm.apply(&a.value(), obj(second), as(m2, /*force=*/true));
          if (b.ok()) lives.push_back(b.value());
        }
      }
    }
  }
  size_t shortcuts = 0;
  for (const Object& live : lives) {
    for (const char* text : configs) {
      for (const std::string& m : who) {
        for (bool force : {false, true}) {
          Object config = obj(text);
          if (!fm.unchanged_by(live, config, as(m, force))) continue;
          ++shortcuts;
          auto full = fm.apply(&live, config, as(m, force));
          INFO("live: " << json::serialize(live.json()) << "\nconfig: " << text << "\nby " << m);
          REQUIRE(full.ok());
          CHECK(full->json() == live.json());
        }
      }
    }
  }
  CHECK(shortcuts > 0);
  // The plain re-apply takes the shortcut.
  for (const char* text : configs) {
    auto a = fm.apply(nullptr, obj(text), as("cenv"));
    REQUIRE(a.ok());
    INFO(text);
    bool claims_nothing = std::string_view(text).find("\"labels\":{}") != std::string_view::npos;
    CHECK(fm.unchanged_by(a.value(), obj(text), as("cenv")) != claims_nothing);
    CHECK_FALSE(fm.unchanged_by(a.value(), obj(text), as("other")));
  }
}

}  // namespace
}  // namespace cenv
