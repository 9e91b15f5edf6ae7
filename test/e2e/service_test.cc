// Services end to end, as a user runs them, against the real dockerd: `cenv apply` of an
// Environment and a Service (busybox httpd with a tcpPort health check), `cenv wait
// --for=condition=Ready`, `cenv get` columns, adoption after the controller is killed with
// SIGKILL, and `cenv delete`. Everything the controller creates is in this test's own
// namespace (io.cenv.namespace=<ns>) and is removed at the end.

#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

// Removes whatever Docker objects the controller made for namespace `ns`.
struct NamespaceCleanup {
  std::string ns;
  std::string filter() const { return "--filter label=io.cenv.namespace=" + ns; }
  ~NamespaceCleanup() {
    shell("docker ps -aq " + filter() +
          " | xargs -r docker rm -f >/dev/null 2>&1; "
          "docker network ls -q " +
          filter() +
          " | xargs -r docker network rm >/dev/null 2>&1; "
          "docker volume ls -q " +
          filter() + " | xargs -r docker volume rm -f >/dev/null 2>&1");
  }
  std::string container_ids() const { return shell("docker ps -aq --no-trunc " + filter()); }
};

std::string manifest(const std::string& ns) {
  return "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: " + ns +
         "\nspec:\n  baseImage: cenv/base:bookworm\n"
         "---\napiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: web\n  namespace: " +
         ns +
         "\nspec:\n  command: [busybox, httpd, -f, -p, \"8080\"]\n"
         "  ports:\n  - containerPort: 8080\n    hostPort: 0\n    hostIP: 127.0.0.1\n"
         "  healthCheck:\n    tcpPort: 8080\n    interval: 1s\n";
}

TEST_CASE("a Service is applied, becomes Ready, survives a controller SIGKILL and is deleted",
          "[e2e][service]") {
  CenvRunner cenv;
  std::random_device rd;
  std::string ns = "e2e-svc-" + std::to_string(rd() % 1000000);
  NamespaceCleanup cleanup{ns};

  auto applied = cenv.run("apply -f -", manifest(ns));
  INFO(applied.out << applied.err);
  REQUIRE(applied.exit_code == 0);
  auto waited = cenv.run("wait svc/web -n " + ns + " --for=condition=Ready --timeout=120s");
  INFO(waited.out << waited.err);
  REQUIRE(waited.exit_code == 0);

  auto table = cenv.run("get svc -n " + ns);
  INFO(table.out << table.err);
  REQUIRE(table.exit_code == 0);
  for (const char* column : {"PHASE", "READY", "HEALTH", "RESTARTS", "ENDPOINTS", "AGE"}) {
    CHECK(has(table.out, column));
  }
  CHECK(has(table.out, "Ready"));
  CHECK(has(table.out, "127.0.0.1:"));
  auto env = cenv.run("get env " + ns);
  CHECK(has(env.out, "cenv/base:bookworm"));
  CHECK(has(env.out, "IMAGE"));

  auto json = cenv.run("get svc web -n " + ns + " -o json");
  REQUIRE(json.exit_code == 0);
  std::string id(boost::json::parse(json.out).at("status").at("containerID").as_string());
  std::string before = cleanup.container_ids();
  CHECK(before == id + "\n");  // exactly one container, the one status names

  // SIGKILL the controller: the next command starts a new one, which adopts the container.
  std::ifstream pid_in(cenv.home() / "run" / "controller.pid");
  int pid = 0;
  pid_in >> pid;
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGKILL) == 0);
  REQUIRE(eventually([&] { return kill(pid, 0) != 0; }, std::chrono::seconds(30)));
  auto again = cenv.run("wait svc/web -n " + ns + " --for=condition=Ready --timeout=120s");
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  // Let the new controller reconcile (it would create a duplicate now if it were to).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(cleanup.container_ids() == before);

  auto deleted = cenv.run("delete env " + ns);
  INFO(deleted.out << deleted.err);
  REQUIRE(deleted.exit_code == 0);
  CHECK(eventually([&] { return cleanup.container_ids().empty(); }, std::chrono::seconds(60)));
  CHECK(eventually([&] { return shell("docker network ls -q " + cleanup.filter()).empty(); },
                   std::chrono::seconds(60)));
}

}  // namespace
}  // namespace cenv::e2e
