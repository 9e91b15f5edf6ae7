#include "controller/security/authorizer.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cenv::security {
namespace {

Object binding(const std::string& kind, const std::string& ns, const std::string& name,
               const std::string& spec_json) {
  Object o;
  o.json()["apiVersion"] = "cenv.io/v1";
  o.json()["kind"] = kind;
  o.set_name(name);
  if (!ns.empty()) o.set_ns(ns);
  o.json()["spec"] = boost::json::parse(spec_json);
  return o;
}

Caller user(const std::string& name, std::vector<std::string> groups = {}) {
  return Caller{name, std::move(groups), false};
}

const Authorizer& bindings() {
  static const Authorizer a = Authorizer::from_bindings({
      binding("RoleBinding", "team-a", "alice-edits",
              R"({"role": "edit", "subjects": [{"kind": "User", "name": "alice"}]})"),
      binding("RoleBinding", "team-a", "readers",
              R"({"role": "view", "subjects": [{"kind": "Group", "name": "readers"}]})"),
      binding("RoleBinding", "team-b", "bob-admin",
              R"({"role": "admin", "subjects": [{"kind": "User", "name": "bob"}]})"),
      binding("ClusterRoleBinding", "", "auditors",
              R"({"role": "view", "subjects": [{"kind": "Group", "name": "auditors"}]})"),
      binding("ClusterRoleBinding", "", "ops",
              R"({"role": "edit", "subjects": [{"kind": "User", "name": "olga"}]})"),
      // Ignored: not a role, no subjects, another kind.
      binding("RoleBinding", "team-a", "bad", R"({"role": "root", "subjects": []})"),
      binding("Service", "team-a", "web",
              R"({"role": "admin", "subjects": [{"kind": "User", "name": "mallory"}]})"),
  });
  return a;
}

TEST_CASE("authorizer: roles allow what they name and nothing else", "[security][authorizer]") {
  struct Row {
    std::string what;
    Caller caller;
    Access access;
    bool allowed;
  };
  auto svc = [](Verb v, std::string ns, std::string name = "web") {
    return Access{v, "Service", true, std::move(ns), std::move(name)};
  };
  auto env = [](Verb v, std::string name) {
    return Access{v, "Environment", false, "", std::move(name)};
  };
  const std::vector<Row> rows = {
      {"the local owner does anything", Caller{"local", {}, true}, svc(Verb::kDelete, "x"), true},
      {"cenv:admins is admin without a binding", user("root", {"cenv:admins"}),
       Access{Verb::kCreate, "ClusterRoleBinding", false, "", "x"}, true},
      {"edit applies in its namespace", user("alice"), svc(Verb::kApply, "team-a"), true},
      {"edit runs in its namespace", user("alice"),
       Access{Verb::kRun, "CommandRun", true, "team-a", "job"}, true},
      {"edit reads logs", user("alice"), svc(Verb::kLogs, "team-a"), true},
      {"edit does not reach another namespace", user("alice"), svc(Verb::kGet, "team-b"), false},
      {"edit cannot write bindings", user("alice"),
       Access{Verb::kApply, "RoleBinding", true, "team-a", "more"}, false},
      {"edit reads bindings", user("alice"),
       Access{Verb::kGet, "RoleBinding", true, "team-a", "readers"}, true},
      {"edit cannot write status", user("alice"), svc(Verb::kUpdateStatus, "team-a"), false},
      {"edit updates its Environment", user("alice"), env(Verb::kUpdate, "team-a"), true},
      {"edit cannot delete its Environment", user("alice"), env(Verb::kDelete, "team-a"), false},
      {"edit cannot create Environments", user("alice"), env(Verb::kCreate, "team-c"), false},
      {"a group's view reads", user("carol", {"readers"}), svc(Verb::kWatch, "team-a", ""), true},
      {"view cannot apply", user("carol", {"readers"}), svc(Verb::kApply, "team-a"), false},
      {"view cannot delete", user("carol", {"readers"}), svc(Verb::kDelete, "team-a"), false},
      {"view cannot run", user("carol", {"readers"}),
       Access{Verb::kRun, "CommandRun", true, "team-a", "job"}, false},
      {"admin writes bindings in its namespace", user("bob"),
       Access{Verb::kApply, "RoleBinding", true, "team-b", "x"}, true},
      {"admin deletes its Environment", user("bob"), env(Verb::kDelete, "team-b"), true},
      {"admin of one namespace is nothing in another", user("bob"), svc(Verb::kGet, "team-a"),
       false},
      {"a cluster view reads everywhere", user("dan", {"auditors"}), svc(Verb::kGet, "team-b"),
       true},
      {"a cluster view reads cluster bindings", user("dan", {"auditors"}),
       Access{Verb::kList, "ClusterRoleBinding", false, "", ""}, true},
      {"a cluster view cannot write", user("dan", {"auditors"}), svc(Verb::kPatch, "team-b"),
       false},
      {"a cluster edit creates Environments", user("olga"), env(Verb::kCreate, "new"), true},
      {"a cluster edit cannot write cluster bindings", user("olga"),
       Access{Verb::kApply, "ClusterRoleBinding", false, "", "x"}, false},
      {"nobody without a binding", user("eve"), svc(Verb::kGet, "team-a"), false},
      {"a binding of another kind grants nothing", user("mallory"), svc(Verb::kGet, "team-a"),
       false},
      {"a user is not a group of the same name", user("readers"), svc(Verb::kGet, "team-a"), false},
      {"listing across namespaces is filtered, not refused", user("eve"), svc(Verb::kList, "", ""),
       true},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    CHECK(bindings().check(row.caller, row.access).ok() == row.allowed);
  }
}

TEST_CASE("authorizer: a refusal names the user, the verb, the object and the roles",
          "[security][authorizer]") {
  Status s = bindings().check(user("carol", {"readers"}),
                              Access{Verb::kDelete, "Service", true, "team-a", "web"});
  REQUIRE(s.code() == Code::kForbidden);
  CHECK(s.message() ==
        "user \"carol\" (groups readers) cannot delete service/web in namespace \"team-a\": "
        "that needs role edit in namespace \"team-a\", and it has role view there (a RoleBinding "
        "or ClusterRoleBinding grants roles)");
  Status none = bindings().check(user("eve"), Access{Verb::kCreate, "Environment", false, "", "x"});
  CHECK(none.message() ==
        "user \"eve\" cannot create environment/x: that needs role edit cluster-wide, and it has "
        "no role there (a RoleBinding or ClusterRoleBinding grants roles)");
}

TEST_CASE("authorizer: list and watch results show only what the caller may read",
          "[security][authorizer]") {
  Object in_a = binding("Service", "team-a", "web", "{}");
  Object in_b = binding("Service", "team-b", "web", "{}");
  Object env_a = binding("Environment", "", "team-a", "{}");
  Object env_b = binding("Environment", "", "team-b", "{}");
  CHECK(bindings().may_read(user("alice"), in_a));
  CHECK_FALSE(bindings().may_read(user("alice"), in_b));
  CHECK(bindings().may_read(user("alice"), env_a));
  CHECK_FALSE(bindings().may_read(user("alice"), env_b));
  CHECK(bindings().may_read(user("dan", {"auditors"}), in_b));
  CHECK(bindings().may_read(Caller{"local", {}, true}, in_b));
}

}  // namespace
}  // namespace cenv::security
