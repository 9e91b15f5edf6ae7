#include "modules/options.h"

#include <catch2/catch.hpp>
#include <string>

#include "modules/manifest.h"

using cenv::modules::ModuleManifest;
using cenv::modules::option_variable;
using cenv::modules::parse_module_manifest;
using cenv::modules::resolve_options;

namespace {

ModuleManifest manifest() {
  auto m = parse_module_manifest(R"(
name: py
version: 1.0.0
options:
  version: {type: string, default: "3.11"}
  with-pip: {type: boolean, default: true}
  jobs: {type: integer, default: 2}
  flavour: {type: enum, enum: [slim, full], default: slim}
)",
                                 "py/cenv-module.yaml");
  INFO(m.status().to_string());
  REQUIRE(m.ok());
  return *m;
}

boost::json::object set(const char* json) { return boost::json::parse(json).as_object(); }

}  // namespace

TEST_CASE("option_variable names variables as Dev Container Features do", "[modules][options]") {
  CHECK(option_variable("version") == "VERSION");
  CHECK(option_variable("install-dir") == "INSTALL_DIR");
  CHECK(option_variable("withPip.v2") == "WITHPIP_V2");
}

TEST_CASE("options not set take their defaults", "[modules][options]") {
  auto env = resolve_options(manifest(), nullptr, "spec.options");
  REQUIRE(env.ok());
  CHECK(*env == std::map<std::string, std::string>{
                    {"FLAVOUR", "slim"}, {"JOBS", "2"}, {"VERSION", "3.11"}, {"WITH_PIP", "true"}});
}

TEST_CASE("set options override defaults with typed values", "[modules][options]") {
  auto values = set(R"({"version":"3.12","with-pip":false,"jobs":8,"flavour":"full"})");
  auto env = resolve_options(manifest(), &values, "spec.options");
  REQUIRE(env.ok());
  CHECK(*env ==
        std::map<std::string, std::string>{
            {"FLAVOUR", "full"}, {"JOBS", "8"}, {"VERSION", "3.12"}, {"WITH_PIP", "false"}});
}

TEST_CASE("strings from --set are read as booleans and integers", "[modules][options]") {
  auto values = set(R"({"with-pip":"false","jobs":"-3"})");
  auto env = resolve_options(manifest(), &values, "spec.options");
  REQUIRE(env.ok());
  CHECK(env->at("WITH_PIP") == "false");
  CHECK(env->at("JOBS") == "-3");
}

TEST_CASE("an unknown option or a value of the wrong type is refused", "[modules][options]") {
  struct Row {
    const char* set;
    const char* error;
  };
  const Row rows[] = {
      {R"({"colour":"red"})",
       "spec.options.colour: module py has no option \"colour\" (its options: flavour, jobs, "
       "version, with-pip)"},
      {R"({"version":3.12})",
       "spec.options.version: option of type string: must be a string (quote it: \"...\"), not "
       "3.12"},
      {R"({"with-pip":"yes"})",
       "spec.options[with-pip]: option of type boolean: must be a boolean (true or false), not "
       "\"yes\""},
      {R"({"with-pip":1})",
       "spec.options[with-pip]: option of type boolean: must be a boolean (true or false), not 1"},
      {R"({"jobs":1.5})", "spec.options.jobs: option of type integer: must be an integer, not 1.5"},
      {R"({"jobs":"08"})",
       "spec.options.jobs: option of type integer: must be an integer, not \"08\""},
      {R"({"jobs":true})",
       "spec.options.jobs: option of type integer: must be an integer, not true"},
      {R"({"flavour":"huge"})",
       "spec.options.flavour: option of type enum: must be one of \"slim\", \"full\", not "
       "\"huge\""},
  };
  ModuleManifest m = manifest();
  for (const Row& row : rows) {
    INFO(row.set);
    auto values = set(row.set);
    auto env = resolve_options(m, &values, "spec.options");
    REQUIRE_FALSE(env.ok());
    CHECK(env.status().code() == cenv::Code::kInvalid);
    CHECK(env.status().message() == row.error);
  }
}

TEST_CASE("a module without options says so for any option set", "[modules][options]") {
  auto m = parse_module_manifest("name: jq\nversion: 1.0.0\n", "jq/cenv-module.yaml");
  REQUIRE(m.ok());
  auto values = set(R"({"a":"1","b":"2"})");
  auto env = resolve_options(*m, &values, "spec.options");
  REQUIRE_FALSE(env.ok());
  CHECK(env.status().message() ==
        "spec.options.a: module jq has no option \"a\" (it has no options)\n"
        "spec.options.b: module jq has no option \"b\" (it has no options)");
}
