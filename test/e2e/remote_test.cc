// Remote mode end to end (DESIGN sections 1 and 7): a controller started with --listen and
// --certs, and the CLI talking to it through a context over mutual TLS, compared with the same
// commands over the local unix socket.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "test/e2e/cenv_runner.h"
#include "test/e2e/remote_fixture.h"

namespace cenv::e2e {
namespace {

constexpr const char* kCommandRun = R"(apiVersion: cenv.io/v1
kind: CommandRun
metadata:
  name: hello
spec:
  command: ["sh", "-c", "echo hello remote; exit 0"]
)";

TEST_CASE(
    "a remote client with the admin certificate applies, gets, watches, logs and runs "
    "exactly as a local one",
    "[e2e][remote]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  REQUIRE(cenv.run("context add r --server " + remote.address() + " --certs '" +
                   remote.certs().string() + "'")
              .exit_code == 0);

  auto applied = cenv.run("apply -f - --wait --timeout 2m --context r", kCommandRun);
  INFO(applied.out << applied.err);
  CHECK(applied.exit_code == 0);
  CHECK(has(applied.out, "commandrun/hello created"));

  auto local_get = cenv.run("get cr hello -o yaml");
  auto remote_get = cenv.run("--context r get cr hello -o yaml");
  CHECK(remote_get.exit_code == 0);
  CHECK(remote_get.out == local_get.out);
  auto remote_logs = cenv.run("logs cr/hello --context r");
  CHECK(remote_logs.exit_code == 0);
  CHECK(remote_logs.out == "hello remote\n");

  // A watch streams the list over TLS, then runs until `timeout` ends it.
  auto watched = shell_in(cenv, "timeout 3 '" CENV_BINARY "' get env -w --context r");
  CHECK(has(watched, "default"));

  auto local_run = cenv.run("run -- sh -c 'echo out; echo err >&2; exit 3'");
  auto remote_run = cenv.run("run --context r -- sh -c 'echo out; echo err >&2; exit 3'");
  INFO(remote_run.err);
  CHECK(local_run.exit_code == 3);
  CHECK(remote_run.exit_code == 3);
  CHECK(remote_run.out == local_run.out);
  CHECK(remote_run.err == local_run.err);
  auto piped = cenv.run("run -i --context r -- cat", "from stdin\n");
  CHECK(piped.exit_code == 0);
  CHECK(piped.out == "from stdin\n");
}

TEST_CASE(
    "contexts are added, listed, used, shown and removed, and --context (before or after "
    "the verb) beats $CENV_CONTEXT and the current context",
    "[e2e][remote]") {
  CenvRunner cenv;
  RemoteController remote(cenv);
  const std::string certs = remote.certs().string();
  REQUIRE(cenv.run("context add r --server " + remote.address() + " --certs '" + certs + "'")
              .exit_code == 0);
  CHECK(mode_of(cenv.home() / "config.yaml") == 0600);
  CHECK(cenv.run("context current").out == "local\n");

  auto list = cenv.run("context list");
  INFO(list.out);
  CHECK(has(list.out, "CURRENT   NAME    SERVER"));
  CHECK(has(list.out, "*         local   unix:"));
  const std::string row = list.out.substr(list.out.find("\n   ") + 1);
  CHECK(row.starts_with("          r       " + remote.address() + "   "));
  CHECK(row.ends_with("   admin\n"));

  auto used = cenv.run("context use r");
  CHECK(used.out == "Switched to context \"r\".\n");
  CHECK(cenv.run("context current").out == "r\n");
  CHECK(has(cenv.run("context list").out, "*         r "));
  CHECK(cenv.run("context current --context local").out == "local\n");
  CHECK(shell_in(cenv, "CENV_CONTEXT=local '" CENV_BINARY "' context current") == "local\n");
  // The flag beats the environment, before or after the verb.
  CHECK(shell_in(cenv, "CENV_CONTEXT=nope '" CENV_BINARY "' --context r context current") == "r\n");
  auto unknown = cenv.run("get env --context nope");
  CHECK(unknown.exit_code == 1);
  CHECK(has(unknown.err, "no context \"nope\""));

  auto via_remote = cenv.run("get env --context r -o name");
  CHECK(via_remote.exit_code == 0);
  CHECK(via_remote.out == "environment/default\n");

  auto removed = cenv.run("context remove r");
  CHECK(removed.exit_code == 0);
  CHECK(cenv.run("context current").out == "local\n");
  CHECK(cenv.run("context remove r").exit_code == 1);
  CHECK(cenv.run("context remove local").exit_code == 1);
}

TEST_CASE("a context naming a missing file is refused, naming the context and the file",
          "[e2e][remote]") {
  CenvRunner cenv;
  const auto certs = cenv.home() / "certs";
  REQUIRE(cenv.run("certs init --dir '" + certs.string() + "'").exit_code == 0);

  auto no_user =
      cenv.run("context add r --server 127.0.0.1:1 --certs '" + certs.string() + "' --user bob");
  CHECK(no_user.exit_code == 1);
  CHECK(has(no_user.err, "context \"r\": " + (certs / "bob.crt").string()));
  CHECK_FALSE(std::filesystem::exists(cenv.home() / "config.yaml"));

  REQUIRE(
      cenv.run("context add r --server 127.0.0.1:1 --certs '" + certs.string() + "'").exit_code ==
      0);
  std::filesystem::remove(certs / "admin.key");
  auto missing = cenv.run("get env --context r");
  CHECK(missing.exit_code == 1);
  CHECK(has(missing.err, "context \"r\": " + (certs / "admin.key").string()));
}

TEST_CASE("a remote context never starts a controller", "[e2e][remote]") {
  CenvRunner cenv;
  const auto certs = cenv.home() / "certs";
  REQUIRE(cenv.run("certs init --dir '" + certs.string() + "'").exit_code == 0);
  REQUIRE(cenv.run("context add dead --server 127.0.0.1:1 --certs '" + certs.string() + "'")
              .exit_code == 0);
  auto r = cenv.run("get env --context dead");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "cannot reach the controller of context \"dead\" at 127.0.0.1:1"));
  CHECK_FALSE(std::filesystem::exists(cenv.home() / "run" / "controller.sock"));
}

TEST_CASE("controller run --listen refuses missing or malformed certificate files, naming them",
          "[e2e][remote]") {
  CenvRunner cenv;
  const auto certs = cenv.home() / "certs";
  REQUIRE(cenv.run("certs init --dir '" + certs.string() + "'").exit_code == 0);
  const std::string run = "controller run --listen 127.0.0.1:0 --certs '" + certs.string() + "'";

  auto no_certs = cenv.run("controller run --listen 127.0.0.1:0");
  CHECK(no_certs.exit_code == 1);
  CHECK(has(no_certs.err, "--listen needs --certs DIR"));

  std::ofstream(certs / "server.crt") << "garbage\n";
  auto malformed = cenv.run(run);
  CHECK(malformed.exit_code == 1);
  CHECK(has(malformed.err, "error: " + (certs / "server.crt").string() + ": not a PEM"));

  std::filesystem::remove(certs / "ca.crt");
  auto missing = cenv.run(run);
  CHECK(missing.exit_code == 1);
  CHECK(has(missing.err, "error: " + (certs / "ca.crt").string() + ": no such file"));
  CHECK_FALSE(std::filesystem::exists(cenv.home() / "run" / "listen.addr"));
}

}  // namespace
}  // namespace cenv::e2e
