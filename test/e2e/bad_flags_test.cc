// Bad selectors, --for conditions and JSONPaths: one clear line each, exit code 1, nothing
// waited for.

#include <catch2/catch.hpp>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

TEST_CASE("bad label selectors, --for values and JSONPaths fail with clear errors", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f manifests/quickstart.yaml").exit_code == 0);
  struct Case {
    std::string args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"get svc -n demo -l 'app in (a'", "invalid label selector \"app in (a\": expected ')'"},
      {"get svc -n demo -l 'a b'", "invalid label selector \"a b\""},
      {"get svc -n demo -l '=web'", "invalid label selector \"=web\""},
      {"get svc -n demo -w -l 'app notin'", "invalid label selector \"app notin\""},
      {"wait svc/web -n demo --for=readiness", "unrecognized condition: \"readiness\""},
      {"wait svc/web -n demo --for=condition=", "a condition name is required"},
      {"wait svc/web -n demo --for=jsonpath='{.spec.nope}'=x",
       "field \"spec.nope\" does not exist in Service (`cenv explain service.spec` lists"},
      {"wait svc/web -n demo "
       "--for=jsonpath='{.status.conditions[?(@.type==\"Ready\")].stauts}'=True",
       "field \"status.conditions[].stauts\" does not exist in Service"},
      {"wait svc/web -n demo --for=jsonpath='{.spec.ports[0}'", "invalid JSONPath"},
      {"wait svc/web -n demo --for=jsonpath='{.spec.ports[0].containerPort}'=80 --timeout=x",
       "duration"},
      {"events -n demo --for svc", "--for: expected KIND/NAME"},
  };
  for (const Case& c : cases) {
    INFO("cenv " << c.args);
    auto r = cenv.run(c.args);
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, c.error));
    // One clear line, not a usage dump.
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  // Free-form parts of an object (labels) are not checked against the schema.
  auto labels = cenv.run("wait svc/web -n demo --for=jsonpath='{.metadata.labels.app}'=web");
  CHECK(labels.exit_code == 0);
}

}  // namespace
}  // namespace cenv::e2e
