#include "api/jsonpath.h"

#include <catch2/catch.hpp>
#include <string>

namespace cenv {
namespace {

namespace json = boost::json;

const char* kDoc = R"({
  "metadata": {"name": "web", "labels": {"app": "web", "app.kubernetes.io/name": "w"}},
  "spec": {"ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
           "ratio": 1.5, "empty": [], "flag": false, "nothing": null},
  "status": {"phase": "Running", "restarts": 2,
             "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 3},
                            {"type": "Healthy", "status": "False", "observedGeneration": 1}]}
})";

struct Row {
  std::string expr;
  std::string text;  // jsonpath_text of all results
  size_t count;      // how many results
};

TEST_CASE("JSONPath expressions select and print like kubectl", "[jsonpath]") {
  auto row = GENERATE(values<Row>({
      {".status.phase", "Running", 1},
      {"{.status.phase}", "Running", 1},
      {"{ .status.phase }", "Running", 1},
      {"$.status.phase", "Running", 1},
      {"{$.status.restarts}", "2", 1},
      {".spec.ports[0].containerPort", "80", 1},
      {".spec.ports[1].containerPort", "443", 1},
      {".spec.ports[-1].containerPort", "443", 1},
      {".spec.ports[2].containerPort", "", 0},
      {".spec.ports[*].containerPort", "80 443", 2},
      {".spec.ports[*].name", "http", 1},
      {".spec.ports[0:1].containerPort", "80", 1},
      {".spec.ports[:].containerPort", "80 443", 2},
      {".spec.ports[1:].containerPort", "443", 1},
      {R"(.status.conditions[?(@.type=="Ready")].status)", "True", 1},
      {R"(.status.conditions[?(@.type == 'Healthy')].status)", "False", 1},
      {R"(.status.conditions[?(@.type!="Ready")].type)", "Healthy", 1},
      {R"(.status.conditions[?(@.observedGeneration>=2)].type)", "Ready", 1},
      {R"(.status.conditions[?(@.observedGeneration<3)].type)", "Healthy", 1},
      {R"(.status.conditions[?(@.type=="Missing")].status)", "", 0},
      {R"(.spec.ports[?(@.name)].containerPort)", "80", 1},
      {".metadata.labels.app", "web", 1},
      {R"(.metadata.labels.app\.kubernetes\.io/name)", "w", 1},
      {".metadata.labels['app.kubernetes.io/name']", "w", 1},
      {R"(.metadata["name"])", "web", 1},
      {".spec.ports[0]", R"({"containerPort":80,"name":"http"})", 1},
      {".spec.empty", "[]", 1},
      {".spec.ratio", "1.5", 1},
      {".spec.flag", "false", 1},
      {".spec.nothing", "null", 1},
      {".metadata.labels.*", "web w", 2},
      {"..containerPort", "80 443", 2},
      {".status.phase.missing", "", 0},
      {".nope", "", 0},
      {".spec.ports.containerPort", "", 0},
      {"", R"({"x":1})", 1},
  }));
  CAPTURE(row.expr);
  json::value doc = row.expr.empty() ? json::parse(R"({"x":1})") : json::parse(kDoc);
  auto p = JsonPath::parse(row.expr);
  INFO(p.status().to_string());
  REQUIRE(p.ok());
  auto values = p->eval(doc);
  CHECK(values.size() == row.count);
  CHECK(jsonpath_text(values) == row.text);
  CHECK(p->text() == row.expr);
}

struct ErrorRow {
  std::string expr;
  std::string message;
};

TEST_CASE("JSONPath parse errors name the position", "[jsonpath]") {
  auto row = GENERATE(values<ErrorRow>({
      {"status.phase",
       "invalid JSONPath \"status.phase\": unexpected 's', expected '.' or '[' at position 0"},
      {".spec.ports[0", "invalid JSONPath \".spec.ports[0\": unterminated '[' at position 11"},
      {".spec.ports[x]",
       "invalid JSONPath \".spec.ports[x]\": unexpected 'x' in brackets at position 12"},
      {"{.status.phase", "invalid JSONPath \"{.status.phase\": unterminated '{' at position 0"},
      {".a..", "invalid JSONPath \".a..\": expected a field name after '..' at position 4"},
      {".a[?(@.b=)]",
       "invalid JSONPath \".a[?(@.b=)]\": expected a comparison operator or ')' at position 8"},
      {".a[?(@.b==)]",
       "invalid JSONPath \".a[?(@.b==)]\": expected a string, number, true, false or null at "
       "position 10"},
      {".a[?(@.b=='x)]", "invalid JSONPath \".a[?(@.b=='x)]\": unterminated string at position 10"},
      {".a[?(x)]", "invalid JSONPath \".a[?(x)]\": expected '@', found 'x' at position 5"},
      {".a.[0]", "invalid JSONPath \".a.[0]\": unexpected '[' after '.' at position 3"},
      {".a\\", "invalid JSONPath \".a\\\": dangling '\\' at position 2"},
      {"\x01.a",
       "invalid JSONPath \"\\x01.a\": unexpected '\\x01', expected '.' or '[' at position 0"},
      {".a[\n]", "invalid JSONPath \".a[\\n]\": unexpected '\\n' in brackets at position 3"},
  }));
  CAPTURE(row.expr);
  auto p = JsonPath::parse(row.expr);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Code::kInvalid);
  CHECK(p.status().message() == row.message);
}

TEST_CASE("jsonpath_text renders single values", "[jsonpath]") {
  CHECK(jsonpath_text(json::value("a b")) == "a b");
  CHECK(jsonpath_text(json::value(-3)) == "-3");
  CHECK(jsonpath_text(json::value(2.0)) == "2");
  CHECK(jsonpath_text(json::value(true)) == "true");
  CHECK(jsonpath_text(json::parse(R"([1,"x"])")) == R"([1,"x"])");
  CHECK(jsonpath_text(std::vector<const json::value*>{}).empty());
}

}  // namespace
}  // namespace cenv

namespace cenv {
namespace {

TEST_CASE("jsonpath: schema_path names fields and list items up to a recursive step",
          "[jsonpath]") {
  struct Row {
    std::string expr;
    std::vector<std::string> path;
  };
  const std::vector<Row> rows = {
      {"{.status.phase}", {"status", "phase"}},
      {".spec.ports[0].containerPort", {"spec", "ports", "[]", "containerPort"}},
      {"{.status.conditions[?(@.type==\"Ready\")].status}",
       {"status", "conditions", "[]", "status"}},
      {"{.spec.ports[1:2].hostPort}", {"spec", "ports", "[]", "hostPort"}},
      {"{.metadata.labels['app.kubernetes.io/name']}",
       {"metadata", "labels", "app.kubernetes.io/name"}},
      {"{.spec..name}", {"spec"}},
      {"{.spec.*.x}", {"spec"}},
  };
  for (const Row& r : rows) {
    INFO(r.expr);
    auto p = JsonPath::parse(r.expr);
    REQUIRE(p.ok());
    CHECK(p->schema_path() == r.path);
  }
}

}  // namespace
}  // namespace cenv
