// What `cenv module list|show|tree` print, from Module and Environment objects written here
// with the status their reconcilers write.

#include "cli/module_views.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "api/clock.h"

namespace cenv::cli {
namespace {

namespace json = boost::json;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000));
const std::string kCreated = format_rfc3339(kNow - std::chrono::minutes(5));

Object module(const std::string& name, json::object status, json::object spec = {}) {
  Object o;
  o.json()["apiVersion"] = "cenv.io/v1";
  o.json()["kind"] = "Module";
  o.set_name(name);
  o.set_ns("demo");
  o.set_uid("uid-" + name);
  o.set_creation_timestamp(kCreated);
  if (spec.empty()) spec["source"] = json::object{{"path", name}};
  o.json()["spec"] = std::move(spec);
  if (!status.empty()) o.json()["status"] = std::move(status);
  return o;
}

json::object ready_status(const std::string& version, const std::string& revision,
                          json::array requires_modules = {}, json::object commands = {}) {
  return {{"version", version},
          {"revision", revision},
          {"requires", json::object{{"apt", json::array{}}, {"modules", requires_modules}}},
          {"commands", commands},
          {"conditions", json::array{json::object{{"type", "Ready"},
                                                  {"status", "True"},
                                                  {"reason", "Ready"},
                                                  {"lastTransitionTime", kCreated}}}}};
}

Object environment(json::array modules, const std::string& image) {
  Object o;
  o.json()["apiVersion"] = "cenv.io/v1";
  o.json()["kind"] = "Environment";
  o.set_name("demo");
  json::object status{{"modules", modules}};
  if (!image.empty()) status["image"] = image;
  o.json()["status"] = std::move(status);
  return o;
}

const std::string kRevA = "sha256:aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
const std::string kRevB = "0123456789abcdef0123456789abcdef01234567";  // a commit
const std::string kRevC = "sha256:cccccccccccc3333333333333333333333333333333333333333333333333333";

TEST_CASE("short revisions drop sha256 and keep 12 characters", "[cli][module]") {
  CHECK(short_revision(kRevA) == "aaaaaaaaaaaa");
  CHECK(short_revision(kRevB) == "0123456789ab");
  CHECK(short_revision("") == "");
}

TEST_CASE("required module names read names with or without a range", "[cli][module]") {
  Object m = module(
      "x",
      {{"requires", json::object{{"modules", json::array{
                                                 "base",
                                                 "python@^3.1",
                                                 "node >=18",
                                                 json::object{{"name", "jq"}, {"version", "^1"}},
                                             }}}}});
  CHECK(required_module_names(m) == std::vector<std::string>{"base", "python", "node", "jq"});
}

TEST_CASE("module list prints version short revision readiness and command count",
          "[cli][module]") {
  json::object commands{{"greet", json::object{{"command", json::array{"greet"}}}},
                        {"wave", json::object{{"command", json::array{"wave"}}}}};
  std::vector<Object> modules = {module("greeter", ready_status("0.2.0", kRevA, {}, commands)),
                                 module("pending", {})};
  std::ostringstream out;
  print_module_table(modules, true, kNow, out);
  CHECK(out.str() ==
        "NAME      VERSION   REVISION       READY    COMMANDS   AGE\n"
        "greeter   0.2.0     aaaaaaaaaaaa   True     2          5m\n"
        "pending   <none>    <none>         <none>   <none>     5m\n");
  std::ostringstream bare;
  print_module_table(modules, false, kNow, bare);
  CHECK(bare.str().find("NAME") == std::string::npos);
}

TEST_CASE("module show prints source requires commands owned services and conditions",
          "[cli][module]") {
  json::object commands{{"greet", json::object{{"command", json::array{"greet"}},
                                               {"args", json::array{"big world"}},
                                               {"description", "Print a greeting"}}}};
  json::object status = ready_status("0.2.0", kRevA, json::array{"jq"}, commands);
  status["requires"].as_object()["apt"] = json::array{"jq", "curl"};
  json::object spec{
      {"source",
       json::object{{"git", json::object{{"url", "https://h/greeter.git"}, {"ref", "v0.2.0"}}}}},
      {"options", json::object{{"greeting", "Hi"}, {"shout", true}}}};
  Object m = module("greeter", status, spec);

  Object owned;
  owned.json()["kind"] = "Service";
  owned.set_name("greeter-web");
  owned.metadata()["ownerReferences"] =
      json::array{json::object{{"kind", "Module"}, {"name", "greeter"}, {"uid", "uid-greeter"}}};
  owned.json()["status"] = json::object{{"phase", "Ready"}};
  Object other;
  other.json()["kind"] = "Service";
  other.set_name("db");

  std::ostringstream out;
  print_module_details(m, {owned, other}, kNow, out);
  std::string text = out.str();
  INFO(text);
  CHECK(text.find("Name:         greeter\n") != std::string::npos);
  CHECK(text.find("Source:       git https://h/greeter.git (ref v0.2.0)\n") != std::string::npos);
  CHECK(text.find("Options:      greeting=Hi, shout=true\n") != std::string::npos);
  CHECK(text.find("Version:      0.2.0\n") != std::string::npos);
  CHECK(text.find("Revision:     " + kRevA + "\n") != std::string::npos);
  CHECK(text.find("  apt:      jq, curl\n") != std::string::npos);
  CHECK(text.find("  pip:      <none>\n") != std::string::npos);
  CHECK(text.find("  modules:  jq\n") != std::string::npos);
  CHECK(text.find("  greet  Print a greeting  (greet 'big world')\n") != std::string::npos);
  CHECK(text.find("  greeter-web  Ready\n") != std::string::npos);
  CHECK(text.find("db") == std::string::npos);
  CHECK(text.find("  Ready  True    Ready   5m") != std::string::npos);
}

TEST_CASE("module show of a module not fetched yet says what is unknown", "[cli][module]") {
  std::ostringstream out;
  print_module_details(module("jq", {}), {}, kNow, out);
  std::string text = out.str();
  INFO(text);
  CHECK(text.find("Source:       path jq\n") != std::string::npos);
  CHECK(text.find("Requires:     <unknown until fetched>") != std::string::npos);
  CHECK(text.find("Commands:     <none>") != std::string::npos);
  CHECK(text.find("Conditions:  <none>") != std::string::npos);
}

TEST_CASE("module tree prints dependencies under their dependents in install order",
          "[cli][module]") {
  std::vector<Object> modules = {
      module("jq", ready_status("1.0.0", kRevA)),
      module("report", ready_status("1.1.0", kRevB, json::array{"jq"})),
      module("greeter", ready_status("0.2.0", kRevC)),
  };
  Object env = environment(json::array{"jq@" + kRevA, "greeter@" + kRevC, "report@" + kRevB},
                           "cenv-runtime/demo:abc");
  std::ostringstream out;
  print_module_tree("demo", &env, modules, out);
  CHECK(out.str() ==
        "demo cenv-runtime/demo:abc\n"
        "├── greeter@0.2.0 (cccccccccccc)\n"
        "└── report@1.1.0 (0123456789ab)\n"
        "    └── jq@1.0.0 (aaaaaaaaaaaa)\n");
}

TEST_CASE("module tree flags unresolved missing stale removed and shared modules",
          "[cli][module]") {
  std::vector<Object> modules = {
      module("base", ready_status("2.0.0", kRevA)),
      module("a", ready_status("1.0.0", kRevB, json::array{"base", "ghost"})),
      module("b", ready_status("1.0.0", kRevC, json::array{"a"})),
      module("c", ready_status("1.0.0", kRevC, json::array{"a"})),
      module("new", {}),
  };
  // The image was built with an older revision of base, and with a module since deleted.
  Object env = environment(json::array{"base@sha256:dddddddddddd9999", "a@" + kRevB, "b@" + kRevC,
                                       "c@" + kRevC, "old@" + kRevA},
                           "cenv-runtime/demo:1");
  std::ostringstream out;
  print_module_tree("demo", &env, modules, out);
  CHECK(out.str() ==
        "demo cenv-runtime/demo:1\n"
        "├── b@1.0.0 (cccccccccccc)\n"
        "│   └── a@1.0.0 (0123456789ab)\n"
        "│       ├── base@2.0.0 (aaaaaaaaaaaa) (image has dddddddddddd)\n"
        "│       └── ghost (missing)\n"
        "├── c@1.0.0 (cccccccccccc)\n"
        "│   └── a@1.0.0 (0123456789ab) deduped\n"
        "├── old (aaaaaaaaaaaa) (removed, still in the image)\n"
        "└── new@? (not resolved)\n");
}

TEST_CASE("module tree shows a cycle once and an Environment without an image", "[cli][module]") {
  std::vector<Object> modules = {
      module("x", ready_status("1.0.0", kRevA, json::array{"y"})),
      module("y", ready_status("1.0.0", kRevB, json::array{"x"})),
  };
  Object env = environment(json::array{}, "");
  std::ostringstream out;
  print_module_tree("demo", &env, modules, out);
  CHECK(out.str() ==
        "demo (no runtime image yet)\n"
        "└── x@1.0.0 (aaaaaaaaaaaa) (not resolved)\n"
        "    └── y@1.0.0 (0123456789ab) (not resolved)\n"
        "        └── x@1.0.0 (aaaaaaaaaaaa) (not resolved) (cycle)\n");
  std::ostringstream none;
  print_module_tree("demo", nullptr, {}, none);
  CHECK(none.str() == "demo (no such Environment)\n└── (no modules)\n");
}

}  // namespace
}  // namespace cenv::cli
