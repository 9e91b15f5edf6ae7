// ${VAR} interpolation of compose files and dotenv files, as docker compose reads them.

#include "cli/compose_variables.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

namespace cenv::cli {
namespace {

namespace json = boost::json;

VariableLookup lookup_in(const std::map<std::string, std::string>& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST_CASE("interpolation substitutes variables as docker compose does", "[compose_variables]") {
  struct Row {
    std::string text;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"${TAG}", "1.2"},
      {"$TAG", "1.2"},
      {"app:${TAG}-x", "app:1.2-x"},
      {"$$TAG costs $$5", "$TAG costs $5"},
      {"${UNSET:-fallback}", "fallback"},
      {"${EMPTY:-fallback}", "fallback"},
      {"${EMPTY-fallback}", ""},
      {"${UNSET-fallback}", "fallback"},
      {"${TAG:-fallback}", "1.2"},
      {"${TAG:+alt}", "alt"},
      {"${EMPTY:+alt}", ""},
      {"${EMPTY+alt}", "alt"},
      {"${UNSET:-${TAG}}", "1.2"},
      {"${UNSET:-${ALSO_UNSET:-deep}}", "deep"},
      {"cost: $5", "cost: $5"},
      {"no variables", "no variables"},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    json::value doc =
        json::object{{"services", json::object{{"a", json::object{{"image", row.text}}}}}};
    std::vector<std::string> warnings;
    Status s =
        interpolate_compose(doc, lookup_in({{"TAG", "1.2"}, {"EMPTY", ""}}), "c.yml", &warnings);
    REQUIRE(s.ok());
    CHECK(doc.at("services").at("a").at("image") == json::value(row.want));
    CHECK(warnings.empty());
  }
}

TEST_CASE("interpolation warns about unset variables and fails on required ones naming the key",
          "[compose_variables]") {
  json::value doc =
      json::parse(R"({"services":{"a":{"image":"x:${TAG}","ports":["${PORT}:80"]}}})");
  std::vector<std::string> warnings;
  REQUIRE(interpolate_compose(doc, lookup_in({}), "c.yml", &warnings).ok());
  CHECK(doc.at("services").at("a").at("image") == "x:");
  CHECK(doc.at("services").at("a").at("ports").at(0) == ":80");
  CHECK(warnings ==
        std::vector<std::string>{"the \"TAG\" variable is not set: a blank string is used",
                                 "the \"PORT\" variable is not set: a blank string is used"});

  struct Row {
    std::string text;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"${DB_PASSWORD:?set it in .env}",
       "c.yml: services.a.environment[1]: required variable DB_PASSWORD is missing a value: set "
       "it in .env"},
      {"${EMPTY:?}",
       "c.yml: services.a.environment[1]: required variable EMPTY is missing a value"},
      {"${OPEN",
       "c.yml: services.a.environment[1]: invalid interpolation format in \"${OPEN\": a "
       "\"${\" is not closed"},
      {"${}",
       "c.yml: services.a.environment[1]: invalid interpolation format in \"${}\": a "
       "variable name must follow \"${\""},
      {"${A*B}",
       "c.yml: services.a.environment[1]: invalid interpolation format in \"${A*B}\": "
       "expected :-, -, :?, ?, :+ or + after the variable name"},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    json::value d = json::object{
        {"services",
         json::object{{"a", json::object{{"environment", json::array{"OK=1", row.text}}}}}}};
    Status s = interpolate_compose(d, lookup_in({{"EMPTY", ""}}), "c.yml", nullptr);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message() == row.want);
  }
}

TEST_CASE("interpolation leaves keys alone", "[compose_variables]") {
  json::value doc = json::parse(R"({"services":{"${NAME}":{"image":"x"}}})");
  REQUIRE(interpolate_compose(doc, lookup_in({{"NAME", "web"}}), "c.yml", nullptr).ok());
  CHECK(doc.at("services").as_object().contains("${NAME}"));
}

TEST_CASE("dotenv files read as docker compose reads them", "[compose_variables]") {
  auto entries = parse_dotenv(
      "# comment\n\nA=1\nexport B=two\nC = spaced \nD='single $X # kept'\nE=\"dq \\\"x\\\" \\n\"\n"
      "F=value # comment\nG=\nH\r\n",
      ".env");
  REQUIRE(entries.ok());
  DotenvEntries want = {
      {"A", "1"},           {"B", "two"},   {"C", "spaced"}, {"D", "single $X # kept"},
      {"E", "dq \"x\" \n"}, {"F", "value"}, {"G", ""},       {"H", ""}};
  CHECK(entries.value() == want);
  VariableLookup shell = lookup_in({{"HOST", "db"}, {"A", "shell-a"}});
  std::vector<std::string> unset;
  auto expanded =
      parse_dotenv("A=1\nURL=pg://${HOST}:5432/${A}\nQ=\"${HOST:-x}\"\nLIT='${HOST}'\nU=${NOPE}\n",
                   ".env", &shell, &unset);
  REQUIRE(expanded.ok());
  DotenvEntries want_expanded = {
      {"A", "1"}, {"URL", "pg://db:5432/1"}, {"Q", "db"}, {"LIT", "${HOST}"}, {"U", ""}};
  CHECK(expanded.value() == want_expanded);
  CHECK(unset ==
        std::vector<std::string>{"the \"NOPE\" variable is not set: a blank string is used"});
  CHECK(parse_dotenv("A=${B:?needed}\n", "app.env", &shell).status().message() ==
        "app.env: line 1: A: required variable B is missing a value: needed");

  auto bad = parse_dotenv("A=1\nB='open\n", "app.env");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "app.env: line 2: the quoted value of B is not closed");
  CHECK(parse_dotenv("=x\n", "app.env").status().message() ==
        "app.env: line 1: expected NAME=VALUE");
}

}  // namespace
}  // namespace cenv::cli
