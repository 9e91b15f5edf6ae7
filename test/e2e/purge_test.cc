// `cenv delete` keeps a Service's named volumes; `cenv delete --purge` removes them. Against
// the real dockerd, in a namespace of this test's own (removed at the end by the runner).

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <random>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

std::string manifest(const std::string& ns) {
  return "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: " + ns +
         "\nspec:\n  baseImage: cenv/base:bookworm\n---\n"
         "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: store\n  namespace: " +
         ns +
         "\nspec:\n  command: [sh, -c, 'date > /data/stamp; exec sleep 600']\n"
         "  volumes:\n  - name: data\n    mountPath: /data\n";
}

TEST_CASE("delete keeps a Service's volumes, delete --purge removes them", "[e2e][docker]") {
  CenvRunner cenv;
  std::string ns = "purge-" + std::to_string(std::random_device{}() % 1000000);
  std::string volume = cenv.docker_name(ns + "-store-data");
  std::string find = "docker volume ls -q --filter name=^" + volume + "$";

  REQUIRE(cenv.run("apply -f -", manifest(ns)).exit_code == 0);
  auto ready = cenv.run("wait svc/store -n " + ns + " --for=condition=Ready --timeout=120s");
  INFO(ready.out << ready.err);
  REQUIRE(ready.exit_code == 0);
  REQUIRE(shell(find) == volume + "\n");

  auto kept = cenv.run("delete svc store -n " + ns);
  INFO(kept.out << kept.err);
  REQUIRE(kept.exit_code == 0);
  CHECK(shell(find) == volume + "\n");

  // Back on the same volume, then deleted with --purge.
  REQUIRE(cenv.run("apply -f -", manifest(ns)).exit_code == 0);
  REQUIRE(cenv.run("wait svc/store -n " + ns + " --for=condition=Ready --timeout=120s").exit_code ==
          0);
  auto purged = cenv.run("delete svc store -n " + ns + " --purge");
  INFO(purged.out << purged.err);
  REQUIRE(purged.exit_code == 0);
  CHECK(purged.out == "service \"store\" deleted\n");
  CHECK(shell(find).empty());
  CHECK(cenv.run("delete env " + ns).exit_code == 0);
}

}  // namespace
}  // namespace cenv::e2e
