// Service.spec.env and CommandRun.spec.env written as a map {NAME: value} (as docker compose
// writes it): normalized to the stored list of {name, value}, so server-side apply merges it by
// name as it merges the list.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "api/field_manager.h"
#include "api/write_normalization.h"

namespace cenv {
namespace {

namespace json = boost::json;

const KindRegistry& kinds() {
  static std::shared_ptr<const KindRegistry> registry = KindRegistry::builtin().value();
  return *registry;
}

// `spec_yaml_json` is the spec as JSON text.
Object object_of(const std::string& kind, const std::string& spec) {
  return Object(json::parse(R"({"apiVersion":"cenv.io/v1","kind":")" + kind +
                            R"(","metadata":{"name":"web","namespace":"demo"},"spec":)" + spec +
                            "}")
                    .as_object());
}

Result<Object> normalized(Object o) {
  auto kind = manifest_kind(o, kinds());
  if (!kind.ok()) return kind.status();
  auto written = normalize_for_write(o, *kind.value(), kinds());
  if (!written.ok()) return written.status();
  return o;
}

std::string problems(const Status& s, const Object& o) {
  std::string out;
  for (const auto& line : write_problems(s, o)) out += line + "\n";
  return out;
}

TEST_CASE("env as a map is stored as the list of name and value in the map's order",
          "[env_map_form]") {
  struct Row {
    std::string kind;
    std::string spec;
    std::string want_env;  // spec.env as JSON after normalization
  };
  const std::vector<Row> rows = {
      {"Service", R"({"env":{"B":"2","A":"1"}})",
       R"([{"name":"B","value":"2"},{"name":"A","value":"1"}])"},
      {"Service", R"({"env":{"PORT":8080,"DEBUG":true,"OFF":false,"RATIO":0.5}})",
       R"([{"name":"PORT","value":"8080"},{"name":"DEBUG","value":"true"},)"
       R"({"name":"OFF","value":"false"},{"name":"RATIO","value":"0.5"}])"},
      {"Service", R"({"env":{"EMPTY":null,"BLANK":""}})",
       R"([{"name":"EMPTY"},{"name":"BLANK","value":""}])"},
      {"Service", R"({"env":{}})", R"([])"},
      {"Service", R"({"env":[{"name":"A","value":"1"}]})", R"([{"name":"A","value":"1"}])"},
      {"CommandRun", R"({"command":["true"],"env":{"GREETING":"hi","N":-3}})",
       R"([{"name":"GREETING","value":"hi"},{"name":"N","value":"-3"}])"},
  };
  for (const Row& row : rows) {
    INFO(row.kind << " " << row.spec);
    auto o = normalized(object_of(row.kind, row.spec));
    REQUIRE(o.ok());
    CHECK(json::serialize(o->json().at("spec").at("env")) == row.want_env);
  }
}

TEST_CASE("env map values that are maps or lists and bad names are refused naming the field",
          "[env_map_form]") {
  struct Row {
    std::string kind;
    std::string spec;
    std::string want;  // the problem lines
  };
  const std::vector<Row> rows = {
      {"Service", R"({"env":{"A":"1","DB":{"host":"db"}}})",
       "Service \"web\" in namespace \"demo\": spec.env.DB: Invalid value: a map: must be a "
       "string, a number or a boolean\n"},
      {"CommandRun", R"({"command":["true"],"env":{"LIST":[1,2]}})",
       "CommandRun \"web\" in namespace \"demo\": spec.env.LIST: Invalid value: a list: must be "
       "a string, a number or a boolean\n"},
      {"Service", R"({"env":{"not-a-name":"x"}})",
       "Service \"web\" in namespace \"demo\": spec.env[0].name: Invalid value: \"not-a-name\": "
       "must be a C identifier (letters, digits and '_', not starting with a digit)\n"},
  };
  for (const Row& row : rows) {
    INFO(row.kind << " " << row.spec);
    Object o = object_of(row.kind, row.spec);
    auto result = normalized(o);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == Code::kInvalid);
    CHECK(problems(result.status(), o) == row.want);
  }
}

TEST_CASE("env applied as a map merges by name with env another manager applied as a list",
          "[env_map_form]") {
  const KindInfo& service = *kinds().find("Service");
  FieldManager fields(service);
  ApplyOptionsSsa by_a{"a", false, "2026-12-03T00:00:00Z"};
  ApplyOptionsSsa by_b{"b", false, "2026-12-03T00:00:00Z"};

  auto first = normalized(object_of("Service", R"({"env":{"A":"1","SHARED":"x"}})"));
  REQUIRE(first.ok());
  auto live = fields.apply(nullptr, *first, by_a);
  REQUIRE(live.ok());

  auto second = normalized(object_of("Service", R"({"env":[{"name":"B","value":"2"}]})"));
  REQUIRE(second.ok());
  live = fields.apply(&live.value(), *second, by_b);
  REQUIRE(live.ok());
  CHECK(json::serialize(live->json().at("spec").at("env")) ==
        R"([{"name":"A","value":"1"},{"name":"SHARED","value":"x"},{"name":"B","value":"2"}])");

  // Manager a drops SHARED from its map: that entry goes, b's B stays.
  auto third = normalized(object_of("Service", R"({"env":{"A":"1"}})"));
  REQUIRE(third.ok());
  live = fields.apply(&live.value(), *third, by_a);
  REQUIRE(live.ok());
  CHECK(json::serialize(live->json().at("spec").at("env")) ==
        R"([{"name":"A","value":"1"},{"name":"B","value":"2"}])");

  // Manager b changing a's A through a map is a conflict, as through the list.
  auto fourth = normalized(object_of("Service", R"({"env":{"A":"changed","B":"2"}})"));
  REQUIRE(fourth.ok());
  auto conflict = fields.apply(&live.value(), *fourth, by_b);
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.status().code() == Code::kConflict);
}

}  // namespace
}  // namespace cenv
