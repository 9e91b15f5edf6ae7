// `cenv run`, `cenv logs`, `cenv get cr` and `cenv wait cr/...` end to end, as a user runs
// them, against the real dockerd. CenvRunner's controller labels every container it creates
// with the runner's label and the runner removes them when the test ends.

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

// How many containers (running or not) the runner's controller has in Docker.
int container_count(const CenvRunner& cenv) {
  std::string out = shell("docker ps -aq --filter label=" + cenv.label() + " | wc -l");
  return out.empty() ? -1 : std::stoi(out);
}

// The name of the only CommandRun in namespace default.
std::string only_run(const CenvRunner& cenv) {
  auto r = cenv.run("get cr -o name");
  REQUIRE(r.exit_code == 0);
  std::string name = r.out.substr(r.out.find('/') + 1);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  REQUIRE(!name.empty());
  REQUIRE(!has(name, "\n"));
  return name;
}

TEST_CASE("cenv run separates stdout and stderr and exits with the command's code", "[e2e][run]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("controller start").exit_code == 0);
  auto r = cenv.run("run -- sh -c 'echo out; echo err >&2; exit 3'");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");

  // The run stays, with its output, after its container is gone.
  std::string name = only_run(cenv);
  auto logs = cenv.run("logs cr/" + name);
  CHECK(logs.exit_code == 0);
  CHECK(logs.out == "out\n");
  CHECK(logs.err == "err\n");
  // The two streams' order relative to each other is Docker's; each stream's is kept. Two
  // bytes in, the first two bytes of whichever stream came first are skipped.
  auto tail = cenv.run("logs cr/" + name + " --since-bytes 2");
  CHECK(tail.out.size() + tail.err.size() == 6);
  CHECK(std::string("out\n").ends_with(tail.out));
  CHECK(std::string("err\n").ends_with(tail.err));
  auto stamped = cenv.run("logs " + name + " --timestamps");
  CHECK(has(stamped.out, "Z out\n"));
  auto table = cenv.run("get cr");
  INFO(table.out);
  CHECK(has(table.out, "PHASE"));
  CHECK(has(table.out, "EXIT"));
  CHECK(has(table.out, "ATTEMPTS"));
  CHECK(has(table.out, "Failed"));
  auto waited = cenv.run("wait cr/" + name + " --for=condition=Failed --timeout=60s");
  CHECK(waited.exit_code == 0);
  CHECK(container_count(cenv) == 0);  // the finished run's container was removed
}

TEST_CASE("cenv run --rm succeeds, deletes the run, and -i feeds stdin", "[e2e][run]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("controller start").exit_code == 0);
  auto r = cenv.run("run --rm -i -- sh -c 'tr a-z A-Z'", "hello stdin\n");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "HELLO STDIN\n");
  auto left = cenv.run("get cr -o name");
  CHECK(left.out.empty());
  auto waited = cenv.run("run --name done -- true");
  CHECK(waited.exit_code == 0);
  CHECK(cenv.run("wait cr/done --for=condition=Complete --timeout=60s").exit_code == 0);
}

TEST_CASE("cenv run says clearly what is wrong with bad input", "[e2e][run]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("controller start").exit_code == 0);

  auto empty = cenv.run("run --");
  CHECK(empty.exit_code == 1);
  CHECK(has(empty.err, "needs a command"));

  auto missing = cenv.run("run -- no-such-command");
  INFO(missing.err);
  CHECK(missing.exit_code == 127);
  CHECK(has(missing.err, "no-such-command"));

  auto service = cenv.run("run --service nope -- true");
  INFO(service.err);
  CHECK(service.exit_code == 1);
  CHECK(has(service.err, "ServiceNotFound"));
  CHECK(has(service.err, "\"nope\""));

  auto ns = cenv.run("run -n nowhere -- true");
  CHECK(ns.exit_code == 1);
  CHECK(has(ns.err, "nowhere"));

  auto logs = cenv.run("logs cr/absent");
  CHECK(logs.exit_code == 1);
  CHECK(has(logs.err, "absent"));
}

TEST_CASE(
    "cenv run --service runs in the Service's container, a timeout kills the process there, "
    "a retry waits out its back-off, shown by describe",
    "[e2e][run]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("controller start").exit_code == 0);
  auto applied = cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: Service
metadata:
  name: box
spec:
  image: cenv/base:bookworm
  command: [sleep, infinity]
)");
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  REQUIRE(cenv.run("wait service/box --for=condition=Ready --timeout=120s").exit_code == 0);

  auto r = cenv.run("run --service box -- sh -c 'echo in box; exit 4'");
  INFO(r.err);
  CHECK(r.exit_code == 4);
  CHECK(r.out == "in box\n");

  REQUIRE(cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: CommandRun
metadata:
  name: slow
spec:
  service: box
  command: [sh, -c, "echo started; sleep 306"]
  timeoutSeconds: 1
---
apiVersion: cenv.io/v1
kind: CommandRun
metadata:
  name: flaky
spec:
  command: [sh, -c, "exit 1"]
  backoffLimit: 1
)")
              .exit_code == 0);
  // Between its attempts (10 s by default) the retried run says when the next one starts.
  auto described = cenv.run("describe cr/flaky");
  for (int i = 0; i < 200 && !has(described.out, "BackOff"); ++i) {
    shell("sleep 0.05");
    described = cenv.run("describe cr/flaky");
  }
  INFO(described.out);
  CHECK(has(described.out, "BackOff"));
  CHECK(has(described.out, "attempt 2 starts in 10s"));
  CHECK(has(cenv.run("get cr flaky").out, "Pending"));

  REQUIRE(cenv.run("wait cr/slow --for=condition=Failed --timeout=60s").exit_code == 0);
  auto slow = cenv.run("describe cr/slow");
  INFO(slow.out);
  CHECK(has(slow.out, "DeadlineExceeded"));
  std::string box =
      shell("docker ps -q --filter label=" + cenv.label() + " --filter label=io.cenv.name=box");
  while (!box.empty() && box.back() == '\n') box.pop_back();
  REQUIRE(!box.empty());
  CHECK(!has(shell("docker exec " + box + " ps -o args"), "sleep 306"));

  REQUIRE(cenv.run("wait cr/flaky --for=condition=Failed --timeout=60s").exit_code == 0);
  CHECK(has(cenv.run("get cr flaky").out, "Failed"));
}

}  // namespace
}  // namespace cenv::e2e
