// `cenv db start|stop|rm|status` as a user runs them, against the real dockerd: PostgreSQL
// runs as the system Service, the controller's objects move onto it and back, and survive.

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

constexpr const char* kKeep = R"(apiVersion: cenv.io/v1
kind: Environment
metadata:
  name: keep
spec:
  baseImage: cenv/base:bookworm
  variables:
    COLOUR: blue
)";

TEST_CASE("cenv db start moves the store onto PostgreSQL, db stop back, db rm removes it",
          "[e2e][db][docker]") {
  // The runner's controller is a cenv instance of its own: its system database's Docker
  // names are its own too, so a user's `cenv db` on this host is never touched.
  CenvRunner cenv;
  const std::string find_container =
      "docker ps -aq --filter name=^" + cenv.docker_name("cenv-system-postgres") + "$";
  const std::string find_volume =
      "docker volume ls -q --filter name=^" + cenv.docker_name("cenv-system-postgres-data") + "$";
  REQUIRE(cenv.run("apply -f -", kKeep).exit_code == 0);

  auto start = cenv.run("db start --timeout 240");
  INFO(start.out << start.err);
  REQUIRE(start.exit_code == 0);
  CHECK(has(start.out, "service/postgres created"));
  CHECK(has(start.out, "the controller's store is now postgres://cenv:***@127.0.0.1:"));
  // The password is kept private and never printed.
  std::string password = CenvRunner::slurp(cenv.home() / "db" / "password");
  while (!password.empty() && password.back() == '\n') password.pop_back();
  REQUIRE(password.size() == 48);
  CHECK_FALSE(has(start.out + start.err, password));

  // The restarted controller adopts the container and probes it afresh: Ready again shortly.
  REQUIRE(
      cenv.run("wait svc/postgres -n cenv-system --for=condition=Ready --timeout=60s").exit_code ==
      0);
  auto status = cenv.run("db status");
  CHECK(status.exit_code == 0);
  CHECK(has(status.out, "store:    postgres://"));
  CHECK(has(status.out, "phase Ready, Ready True"));
  CHECK(has(cenv.run("controller status").out, "postgres://"));
  // The objects came along, and new writes go to PostgreSQL.
  CHECK(has(cenv.run("get env keep -o yaml").out, "COLOUR: blue"));
  REQUIRE(
      cenv.run("patch env keep -p '{\"spec\":{\"variables\":{\"COLOUR\":\"green\"}}}'").exit_code ==
      0);

  auto stop = cenv.run("db stop");
  INFO(stop.out << stop.err);
  REQUIRE(stop.exit_code == 0);
  CHECK(has(stop.out, "controller restarted on sqlite:"));
  CHECK(has(cenv.run("controller status").out, "sqlite:"));
  CHECK(has(cenv.run("get env keep -o yaml").out, "COLOUR: green"));
  CHECK(cenv.run("get env cenv-system").exit_code == 1);
  CHECK(shell(find_container).empty());
  CHECK_FALSE(shell(find_volume).empty());

  // Again: the data volume is reused and the objects move over once more.
  auto again = cenv.run("db start --timeout 240");
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(has(cenv.run("get env keep -o yaml").out, "COLOUR: green"));

  auto rm = cenv.run("db rm");
  INFO(rm.out << rm.err);
  CHECK(rm.exit_code == 0);
  CHECK(has(cenv.run("controller status").out, "sqlite:"));
  CHECK(has(cenv.run("get env keep -o yaml").out, "COLOUR: green"));
  CHECK(shell(find_volume).empty());
  auto gone = cenv.run("db status");
  CHECK(has(gone.out, "postgres: not running"));
}

}  // namespace
}  // namespace cenv::e2e
