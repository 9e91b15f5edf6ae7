// StoredBindings on a real ApiService and SqliteStore: the authorizer is built again when a
// RoleBinding or ClusterRoleBinding changes, and only then.

#include "controller/app/stored_bindings.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test/unit/controller/runtime/runtime_fixture.h"

namespace cenv {
namespace {

using security::Role;
using testing::ApiFixture;

const Caller kAlice{.user = "alice", .groups = {"devs"}};

boost::json::object binding_spec(const std::string& role, const std::string& user) {
  return boost::json::object{
      {"role", role},
      {"subjects", boost::json::array{boost::json::object{{"kind", "User"}, {"name", user}}}}};
}

TEST_CASE("stored bindings: a write of another kind does not rebuild the authorizer",
          "[app][authorization]") {
  ApiFixture f;
  StoredBindings bindings(*f.store);
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kNone);
  REQUIRE(bindings.builds() == 1);

  Object web = f.create("Service", "default", "web");
  f.create("Environment", "", "demo");
  web.metadata()["labels"] = boost::json::object{{"app", "web"}};
  REQUIRE(f.client->update(web).ok());
  REQUIRE(f.client->remove(web.key(), DeleteOptions{}).ok());
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kNone);
  CHECK(bindings.current()->role_in(kAlice, "demo") == Role::kNone);
  CHECK(bindings.builds() == 1);
}

TEST_CASE("stored bindings: a binding written, changed or deleted takes effect at once",
          "[app][authorization]") {
  ApiFixture f;
  StoredBindings bindings(*f.store);
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kNone);

  Object rb = f.create("RoleBinding", "default", "alice-edits", binding_spec("edit", "alice"));
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kEdit);
  CHECK(bindings.builds() == 2);

  rb.json()["spec"] = binding_spec("view", "alice");
  REQUIRE(f.client->update(rb).ok());
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kView);

  f.create("ClusterRoleBinding", "", "alice-admin", binding_spec("admin", "alice"));
  CHECK(bindings.current()->role_in(kAlice, "anywhere") == Role::kAdmin);

  REQUIRE(f.client->remove({"ClusterRoleBinding", "", "alice-admin"}, DeleteOptions{}).ok());
  REQUIRE(f.client->remove(rb.key(), DeleteOptions{}).ok());
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kNone);
  // One build per change seen: the first, the create, the update, the ClusterRoleBinding, and
  // the two deletions (seen together).
  CHECK(bindings.builds() == 5);
}

TEST_CASE("stored bindings: more unrelated writes than it scans reads the bindings again",
          "[app][authorization]") {
  ApiFixture f;
  StoredBindings bindings(*f.store, StoredBindingsOptions{.max_scan = 3});
  bindings.current();
  REQUIRE(bindings.builds() == 1);
  f.create("Service", "default", "a");
  f.create("Service", "default", "b");
  bindings.current();
  CHECK(bindings.builds() == 1);  // two events: read, no binding among them
  for (const char* name : {"c", "d", "e", "f"}) f.create("Service", "default", name);
  bindings.current();
  CHECK(bindings.builds() == 2);  // past max_scan: read again rather than scan on
}

TEST_CASE("stored bindings: compacted history reads the bindings again", "[app][authorization]") {
  ApiFixture f;
  StoredBindings bindings(*f.store);
  bindings.current();
  f.create("RoleBinding", "default", "alice-views", binding_spec("view", "alice"));
  f.create("Service", "default", "web");
  REQUIRE(f.store->compact(f.revision()).ok());
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kView);
  CHECK(bindings.builds() == 2);
}

TEST_CASE("stored bindings: callers on several threads see a binding once it is written",
          "[app][authorization]") {
  ApiFixture f;
  StoredBindings bindings(*f.store);
  std::atomic<bool> written{false};
  std::atomic<int> wrong{0};
  std::vector<std::jthread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        bool after = written.load();
        Role role = bindings.current()->role_in(kAlice, "default");
        if (after && role != Role::kEdit) ++wrong;
      }
    });
  }
  for (int i = 0; i < 20; ++i) f.create("Service", "default", "s" + std::to_string(i));
  f.create("RoleBinding", "default", "alice-edits", binding_spec("edit", "alice"));
  written = true;
  readers.clear();  // joins
  CHECK(wrong == 0);
  CHECK(bindings.current()->role_in(kAlice, "default") == Role::kEdit);
}

}  // namespace
}  // namespace cenv
