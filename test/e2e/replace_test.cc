// metadata.resourceVersion as a precondition of apply, patch and replace, and `cenv replace`,
// as a user runs them.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace json = boost::json;

constexpr const char* kModified =
    "Operation cannot be fulfilled on Service \"web\" in namespace \"default\": the object has "
    "been modified; please apply your changes to the latest version and try again";

// A Service in namespace default with `labels` (YAML flow map) and `args`, carrying
// metadata.resourceVersion `rv` unless it is empty.
std::string web(const std::string& labels, const std::string& args, const std::string& rv = "") {
  std::string yaml =
      "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: web\n  labels: " + labels + "\n";
  if (!rv.empty()) yaml += "  resourceVersion: \"" + rv + "\"\n";
  yaml += "spec:\n  command: [\"sleep\", \"3600\"]\n  args: " + args + "\n";
  return yaml;
}

json::object live_web(const CenvRunner& cenv) {
  auto r = cenv.run("get svc web -o json");
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).as_object();
}

std::string resource_version(const json::object& o) {
  return std::string(o.at("metadata").at("resourceVersion").as_string());
}

TEST_CASE("a stale resourceVersion makes apply, patch and replace a Conflict that changes nothing",
          "[e2e][replace]") {
  CenvRunner cenv;
  auto created = cenv.run("apply -f -", web("{tier: front}", "[\"a\"]"));
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  std::string seen = resource_version(live_web(cenv));
  auto patched = cenv.run("patch svc web -p '{\"spec\":{\"args\":[\"b\"]}}'");
  INFO(patched.err);
  REQUIRE(patched.out == "service/web patched\n");

  auto applied = cenv.run("apply -f -", web("{tier: front}", "[\"c\"]", seen));
  CHECK(applied.exit_code == 1);
  CHECK(applied.out.empty());
  CHECK(has(applied.err, "Error from server (Conflict): "));
  CHECK(has(applied.err, kModified));

  auto stale_patch = cenv.run("patch svc web -p '{\"metadata\":{\"resourceVersion\":\"" + seen +
                              "\"},\"spec\":{\"args\":[\"d\"]}}'");
  CHECK(stale_patch.exit_code == 1);
  CHECK(stale_patch.out.empty());
  CHECK(stale_patch.err == "Error from server (Conflict): " + std::string(kModified) + "\n");

  auto replaced = cenv.run("replace -f -", web("{tier: front}", "[\"e\"]", seen));
  CHECK(replaced.exit_code == 1);
  CHECK(replaced.out.empty());
  CHECK(has(replaced.err, "Error from server (Conflict): "));
  CHECK(has(replaced.err, kModified));

  CHECK(live_web(cenv).at("spec").at("args") == json::array{"b"});
}

TEST_CASE("replace replaces spec, labels and annotations as given, NotFound when missing",
          "[e2e][replace]") {
  CenvRunner cenv;
  auto missing = cenv.run("replace -f -", web("{tier: front}", "[\"a\"]"));
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.empty());
  CHECK(has(missing.err, "Error from server (NotFound): "));
  CHECK(has(missing.err, "services \"web\" not found"));

  REQUIRE(cenv.run("apply -f -", web("{tier: front}", "[\"a\"]")).exit_code == 0);
  REQUIRE(cenv.run("patch svc web -p '{\"metadata\":{\"labels\":{\"extra\":\"1\"},"
                   "\"annotations\":{\"note\":\"x\"}}}'")
              .exit_code == 0);
  auto replaced = cenv.run("replace -f -", web("{tier: back}", "[\"b\"]"));
  INFO(replaced.err);
  CHECK(replaced.exit_code == 0);
  CHECK(replaced.out == "service/web replaced\n");
  json::object live = live_web(cenv);
  CHECK(live.at("metadata").at("labels") == json::object{{"tier", "back"}});
  CHECK(!live.at("metadata").as_object().contains("annotations"));
  CHECK(live.at("spec").at("args") == json::array{"b"});

  // With the version just read the precondition holds (the controller writes the status
  // meanwhile, which takes a new version too: read again then).
  bool done = false;
  for (int attempt = 0; attempt < 10 && !done; ++attempt) {
    std::string rv = resource_version(live_web(cenv));
    auto r = cenv.run("replace -f -", web("{tier: back}", "[\"c\"]", rv));
    if (r.exit_code == 0) {
      CHECK(r.out == "service/web replaced\n");
      done = true;
    } else {
      REQUIRE(has(r.err, kModified));
    }
  }
  CHECK(done);
  CHECK(live_web(cenv).at("spec").at("args") == json::array{"c"});
}

}  // namespace
}  // namespace cenv::e2e
