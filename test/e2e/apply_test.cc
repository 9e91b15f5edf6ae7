// apply --dry-run=client|server and apply --wait, as a user runs them.

#include <catch2/catch.hpp>
#include <filesystem>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

constexpr const char* kBadService = R"(apiVersion: cenv.io/v1
kind: Service
metadata:
  name: bad
spec:
  ports:
  - containerPort: 0
  colour: red
)";

TEST_CASE("apply --dry-run=client validates locally and starts no controller", "[e2e]") {
  CenvRunner cenv;
  auto r = cenv.run("apply -f manifests/quickstart.yaml --dry-run=client");
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "environment/demo validated (dry run)\nservice/web validated (dry run)\n"
        "commandrun/hello validated (dry run)\n");
  CHECK_FALSE(std::filesystem::exists(cenv.home() / "run" / "controller.sock"));

  // Defaults from crds/ are filled in the printed objects.
  auto yaml = cenv.run("apply -f manifests/quickstart.yaml --dry-run=client -o yaml");
  CHECK(yaml.exit_code == 0);
  CHECK(has(yaml.out, "restartPolicy: Always"));
  CHECK(has(yaml.out, "protocol: TCP"));

  auto bad = cenv.run("apply -f - --dry-run=client", kBadService);
  CHECK(bad.exit_code == 1);
  CHECK(has(bad.err, "spec.ports[0].containerPort: must be between 1 and 65535"));
  CHECK(has(bad.err, "spec.colour: unknown field"));
  CHECK_FALSE(std::filesystem::exists(cenv.home() / "run" / "controller.sock"));
}

TEST_CASE("apply --dry-run=client compares with live objects and writes nothing", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  auto same = cenv.run("apply -f manifests/quickstart.yaml --dry-run=client");
  CHECK(same.exit_code == 0);
  CHECK(has(same.out, "service/web unchanged (dry run)"));
  auto changed = cenv.run("apply -f - --dry-run=client", R"(apiVersion: cenv.io/v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  image: nginx:2
)");
  CHECK(changed.exit_code == 0);
  CHECK(changed.out == "service/web configured (dry run)\n");
  auto server = cenv.run("apply -f - --dry-run=server", R"(apiVersion: cenv.io/v1
kind: Service
metadata:
  name: other
  namespace: demo
spec:
  image: nginx:2
)");
  CHECK(server.exit_code == 0);
  CHECK(server.out == "service/other created (server dry run)\n");
  CHECK(cenv.run("get svc other -n demo").exit_code == 1);
  auto get = cenv.run("get svc web -n demo -o yaml");
  CHECK_FALSE(has(get.out, "nginx:2"));
}

TEST_CASE("apply --wait names what it still waits for and fails at the timeout", "[e2e]") {
  CenvRunner cenv;
  // A health check that can never pass: the Service is never Ready, with or without Docker.
  auto r = cenv.run("apply -f - --wait --timeout=1s", R"(apiVersion: cenv.io/v1
kind: Service
metadata:
  name: never
spec:
  image: cenv-test/does-not-exist:1
  healthCheck:
    exec: ["false"]
)");
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "service/never created"));
  CHECK(has(r.err, "waiting for service/never: "));
  CHECK(has(r.err, "error: timed out after 1s waiting for 1 object to be ready:"));
  CHECK(has(r.err, "  service/never ("));

  auto bad_timeout = cenv.run("apply -f manifests/quickstart.yaml --wait --timeout=soon");
  CHECK(bad_timeout.exit_code == 1);
  CHECK(has(bad_timeout.err, "--timeout"));
  auto with_dry_run = cenv.run("apply -f manifests/quickstart.yaml --wait --dry-run=server");
  CHECK(with_dry_run.exit_code == 1);
  CHECK(has(with_dry_run.err, "--wait cannot be used with --dry-run"));
}

}  // namespace
}  // namespace cenv::e2e
