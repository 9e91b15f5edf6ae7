// Events as a user meets them: `cenv events`, `cenv describe`, and Events going with their
// namespace.

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

TEST_CASE("a deletion held by finalizers is an Event shown by events and describe", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  // Events about Environments are in namespace default: an empty namespace has none.
  REQUIRE(cenv.run("apply -f -",
                   "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: quiet\n"
                   "spec:\n  baseImage: cenv/base:bookworm\n")
              .exit_code == 0);
  auto none = cenv.run("events -n quiet");
  CHECK(none.exit_code == 0);
  CHECK(has(none.err, "No events found in quiet namespace."));
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

TEST_CASE("events -w prints the events so far, then each new one", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  REQUIRE(cenv.run("patch svc web -n demo -p '{\"metadata\":{\"finalizers\":[\"example.com/x\"]}}'")
              .exit_code == 0);
  REQUIRE(cenv.run("delete svc web -n demo --no-wait").exit_code == 0);
  std::filesystem::path out = cenv.home() / "events.out";
  std::string cmd = "CENV_HOME='" + cenv.home().string() +
                    "' '" CENV_BINARY "' events -n demo -w > '" + out.string() + "' 2>&1 & echo $!";
  FILE* p = popen(cmd.c_str(), "r");
  int pid = 0;
  REQUIRE(fscanf(p, "%d", &pid) == 1);
  pclose(p);
  // Waits on the file's content (the limit only keeps a broken build from hanging).
  auto wait_for = [&](const std::string& text) {
    for (int i = 0; i < 1500; ++i) {
      if (has(CenvRunner::slurp(out), text)) return true;
      usleep(20'000);
    }
    return false;
  };
  // The events so far: the apply's (each object's Created) and the deletion's.
  CHECK(wait_for("example.com/x"));
  INFO("events -w printed: " << CenvRunner::slurp(out));
  CHECK(has(CenvRunner::slurp(out), "service/web"));
  CHECK(has(CenvRunner::slurp(out), "LAST SEEN"));
  // A new event while watching: the CommandRun's deletion waits for a finalizer too.
  REQUIRE(
      cenv.run("patch cr hello -n demo -p '{\"metadata\":{\"finalizers\":[\"example.com/y\"]}}'")
          .exit_code == 0);
  REQUIRE(cenv.run("delete cr hello -n demo --no-wait").exit_code == 0);
  CHECK(wait_for("example.com/y"));
  kill(pid, SIGTERM);
  // The header once, at the top.
  std::string text = CenvRunner::slurp(out);
  CHECK(text.find("LAST SEEN") == text.rfind("LAST SEEN"));
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
  // The namespace waits for the Service's finalizer; Events are recorded meanwhile, just
  // after the deletion's commit (read until they show, within a bound).
  auto shows = [&](const std::string& args, const std::string& text) {
    for (int i = 0; i < 100; ++i) {
      if (has(cenv.run(args).out, text)) return true;
      usleep(100'000);
    }
    return false;
  };
  REQUIRE(shows("events -n demo", "FinalizersPending"));
  REQUIRE(shows("events --for env/demo", "NamespaceTerminating"));
  // Every finalizer on the Service goes (the controller's own too): the namespace goes, with
  // its Events.
  REQUIRE(cenv.run("patch svc web -n demo --type json "
                   "-p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'")
              .exit_code == 0);
  auto wait = cenv.run("wait env/demo --for=delete --timeout=60s");
  CHECK(wait.exit_code == 0);
  CHECK(cenv.run("get env demo").exit_code == 1);
  auto left = cenv.run("get events -n demo -o wide");
  INFO(left.out);
  CHECK(left.out.empty());
}

}  // namespace
}  // namespace cenv::e2e
