// Events as a user meets them: `cenv events`, `cenv describe`, and Events going with their
// namespace.

#include <catch2/catch.hpp>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("a deletion held by finalizers is an Event shown by events and describe", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  auto none = cenv.run("events -n demo");
  CHECK(none.exit_code == 0);
  CHECK(has(none.err, "No events found in demo namespace."));
  REQUIRE(cenv.run("patch svc web -n demo -p '{\"metadata\":{\"finalizers\":[\"example.com/x\"]}}'")
              .exit_code == 0);
  REQUIRE(cenv.run("delete svc web -n demo --no-wait").exit_code == 0);

  auto events = cenv.run("events -n demo");
  CHECK(events.exit_code == 0);
  CHECK(has(events.out, "LAST SEEN"));
  CHECK(has(events.out, "REASON"));
  CHECK(has(events.out, "FinalizersPending"));
  CHECK(has(events.out, "service/web"));
  CHECK(has(events.out, "example.com/x"));

  auto all = cenv.run("events -A");
  CHECK(has(all.out, "NAMESPACE"));
  CHECK(has(all.out, "demo"));

  auto for_web = cenv.run("events -n demo --for svc/web");
  CHECK(has(for_web.out, "FinalizersPending"));
  auto for_other = cenv.run("events -n demo --for commandrun/hello");
  CHECK_FALSE(has(for_other.out, "FinalizersPending"));

  auto describe = cenv.run("describe svc web -n demo");
  CHECK(describe.exit_code == 0);
  CHECK(has(describe.out, "Events:"));
  CHECK(has(describe.out, "FinalizersPending"));
  CHECK(has(describe.out, "cenv-controller"));

  // `get all` leaves Events out, as kubectl's does; `get events` lists them.
  CHECK_FALSE(has(cenv.run("get all -n demo").out, "event/"));
  CHECK(has(cenv.run("get ev -n demo").out, "FinalizersPending"));
}

TEST_CASE("events --for refuses what is not KIND/NAME of a known kind", "[e2e]") {
  CenvRunner cenv;
  auto no_slash = cenv.run("events --for web");
  CHECK(no_slash.exit_code == 1);
  CHECK(has(no_slash.err, "--for: expected KIND/NAME"));
  auto unknown = cenv.run("events --for gadget/web");
  CHECK(unknown.exit_code == 1);
  CHECK(has(unknown.err, "doesn't have a resource type \"gadget\""));
}

TEST_CASE("Events go with their namespace and never keep it from being deleted", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  REQUIRE(cenv.run("patch svc web -n demo -p '{\"metadata\":{\"finalizers\":[\"example.com/x\"]}}'")
              .exit_code == 0);
  REQUIRE(cenv.run("delete env demo --no-wait").exit_code == 0);
  // The namespace waits for the Service's finalizer; Events were recorded meanwhile.
  REQUIRE(has(cenv.run("events -n demo").out, "FinalizersPending"));
  REQUIRE(has(cenv.run("events --for env/demo").out, "NamespaceTerminating"));
  // Every finalizer on the Service goes (the controller's own too): the namespace goes, with
  // its Events.
  REQUIRE(cenv.run("patch svc web -n demo --type json "
                   "-p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'")
              .exit_code == 0);
  auto wait = cenv.run("wait env/demo --for=delete --timeout=60s");
  CHECK(wait.exit_code == 0);
  CHECK(cenv.run("get env demo").exit_code == 1);
  auto left = cenv.run("get events -n demo -o name");
  CHECK(left.out.empty());
}

}  // namespace
}  // namespace cenv::e2e
