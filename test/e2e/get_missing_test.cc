// `cenv get KIND NAME -o yaml|json` of missing objects prints what kubectl prints: for one
// name, only the error (nothing on stdout); for several, a List of those found and an error
// for each of the others.

#include <catch2/catch.hpp>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

TEST_CASE("get -o yaml|json of one missing object prints only the NotFound error", "[e2e]") {
  CenvRunner cenv;
  for (const char* format : {"yaml", "json"}) {
    INFO("-o " << format);
    auto missing = cenv.run(std::string("get svc nope -o ") + format);
    CHECK(missing.exit_code == 1);
    CHECK(missing.out.empty());
    CHECK(has(missing.err, "Error from server (NotFound): services \"nope\" not found"));

    auto slash = cenv.run(std::string("get svc/nope -o ") + format);
    CHECK(slash.exit_code == 1);
    CHECK(slash.out.empty());
    CHECK(has(slash.err, "services \"nope\" not found"));
  }
}

TEST_CASE("get -o yaml|json of a found and a missing object lists the found one", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f -", R"(apiVersion: cenv.io/v1
kind: Service
metadata: {name: a, namespace: default}
spec: {}
)")
              .exit_code == 0);
  auto yaml = cenv.run("get svc a b -o yaml");
  CHECK(yaml.exit_code == 1);
  CHECK(has(yaml.out, "kind: List"));
  CHECK(has(yaml.out, "name: a"));
  CHECK_FALSE(has(yaml.out, "name: b"));
  CHECK(has(yaml.err, "services \"b\" not found"));
  CHECK_FALSE(has(yaml.err, "\"a\""));

  auto json = cenv.run("get svc a b -o json");
  CHECK(json.exit_code == 1);
  CHECK(has(json.out, "\"kind\": \"List\""));
  CHECK(has(json.out, "\"name\": \"a\""));
  CHECK(has(json.err, "services \"b\" not found"));

  // One name that exists: the object itself, not a List.
  auto one = cenv.run("get svc a -o yaml");
  CHECK(one.exit_code == 0);
  CHECK(has(one.out, "kind: Service"));
  CHECK_FALSE(has(one.out, "kind: List"));
}

}  // namespace
}  // namespace cenv::e2e
