#include "api/write_normalization.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

namespace cenv {
namespace {

namespace json = boost::json;

const KindRegistry& kinds() {
  static std::shared_ptr<const KindRegistry> registry = KindRegistry::builtin().value();
  return *registry;
}

Object parse(const std::string& text) { return Object(json::parse(text).as_object()); }

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

TEST_CASE("manifest_kind takes a kind's own name in cenv.io/v1 only", "[write_normalization]") {
  struct Row {
    std::string api_version;
    std::string kind;
    std::string want;  // the kind found, or the error
  };
  const std::vector<Row> rows = {
      {"cenv.io/v1", "Service", "Service"},
      {"cenv.io/v1", "Environment", "Environment"},
      {"cenv.io/v2", "Service",
       "apiVersion: Unsupported value: \"cenv.io/v2\": supported values: \"cenv.io/v1\""},
      {"", "Service", "apiVersion: Unsupported value: \"\": supported values: \"cenv.io/v1\""},
      {"cenv.io/v1", "svc", "kind: Unsupported value: \"svc\": no such kind in cenv.io/v1"},
      {"cenv.io/v1", "service", "kind: Unsupported value: \"service\": no such kind in cenv.io/v1"},
      {"cenv.io/v1", "Widget", "kind: Unsupported value: \"Widget\": no such kind in cenv.io/v1"},
  };
  for (const Row& row : rows) {
    INFO("apiVersion \"" << row.api_version << "\", kind \"" << row.kind << "\"");
    Object o;
    o.json()["apiVersion"] = row.api_version;
    o.json()["kind"] = row.kind;
    auto found = manifest_kind(o, kinds());
    if (found.ok()) {
      CHECK(found.value()->kind == row.want);
    } else {
      CHECK(found.status().code() == Code::kInvalid);
      CHECK(found.status().message() == row.want);
    }
  }
}

TEST_CASE("normalize_for_write defaults, strips server fields and keeps the precondition",
          "[write_normalization]") {
  struct Row {
    std::string what;
    std::string input;          // the object as JSON
    std::string applyset;       // WriteNormalizationOptions::applyset
    std::string error;          // expected in the problem lines; empty: valid
    int64_t version = 0;        // the precondition of a valid row
    std::string ns = "";        // metadata.namespace after a valid row (empty: none)
    std::string contains = "";  // expected in the normalized object's JSON
  };
  const std::string svc = R"("apiVersion":"cenv.io/v1","kind":"Service",)";
  const std::string env = R"("apiVersion":"cenv.io/v1","kind":"Environment",)";
  const std::vector<Row> rows = {
      {"a namespaced object without a namespace goes to default",
       "{" + svc + R"("metadata":{"name":"web"},"spec":{}})", "", "", 0, "default", ""},
      {"a namespace given is kept",
       "{" + svc + R"("metadata":{"name":"web","namespace":"demo"},"spec":{}})", "", "", 0, "demo",
       ""},
      {"schema defaults are filled",
       "{" + svc + R"("metadata":{"name":"web"},"spec":{"ports":[{"containerPort":80}]}})", "", "",
       0, "default", R"("protocol":"TCP")"},
      {"server-owned metadata goes, resourceVersion as the precondition",
       "{" + svc +
           R"("metadata":{"name":"web","uid":"u-1","resourceVersion":"12","generation":3,)"
           R"("creationTimestamp":"2026-01-01T00:00:00Z","managedFields":[]},"spec":{}})",
       "", "", 12, "default", ""},
      {"a resourceVersion given as a number",
       "{" + svc + R"("metadata":{"name":"web","resourceVersion":7},"spec":{}})", "", "", 7,
       "default", ""},
      {"an empty resourceVersion is none",
       "{" + svc + R"("metadata":{"name":"web","resourceVersion":""},"spec":{}})", "", "", 0,
       "default", ""},
      {"a null resourceVersion is none",
       "{" + svc + R"("metadata":{"name":"web","resourceVersion":null},"spec":{}})", "", "", 0,
       "default", ""},
      {"a resourceVersion that is not a number",
       "{" + svc + R"("metadata":{"name":"web","resourceVersion":"latest"}})", "",
       "Service \"web\" in namespace \"default\": metadata.resourceVersion: Invalid value: "
       "\"latest\": must be a resourceVersion the server gave (a non-negative integer)"},
      {"a negative resourceVersion",
       "{" + svc + R"("metadata":{"name":"web","resourceVersion":-3}})", "",
       "metadata.resourceVersion: Invalid value: -3"},
      {"a resourceVersion with trailing text",
       "{" + svc + R"("metadata":{"name":"web","resourceVersion":"12a"}})", "",
       "metadata.resourceVersion: Invalid value: \"12a\""},
      {"an apply set labels the object",
       "{" + svc + R"("metadata":{"name":"web","labels":{"app":"web"}},"spec":{}})", "demo", "", 0,
       "default", R"("labels":{"app":"web","applyset.cenv.io/part-of":"demo"})"},
      {"an apply set replaces labels that are not a map",
       "{" + svc + R"("metadata":{"name":"web","labels":"x"},"spec":{}})", "demo", "", 0, "default",
       R"("labels":{"applyset.cenv.io/part-of":"demo"})"},
      {"a cluster-scoped kind drops an empty namespace",
       "{" + env + R"("metadata":{"name":"demo","namespace":""},"spec":{}})", "", "", 0, "", ""},
      {"a cluster-scoped kind refuses a namespace",
       "{" + env + R"("metadata":{"name":"demo","namespace":"x"},"spec":{}})", "",
       "Environment \"demo\" in namespace \"x\": metadata.namespace: must not be set for a "
       "cluster-scoped kind"},
      {"a name is required", "{" + svc + R"("metadata":{}})", "",
       "Service \"\" in namespace \"default\": metadata.name: required"},
      {"schema errors name the field",
       "{" + svc + R"("metadata":{"name":"web"},"spec":{"ports":[{"containerPort":0}]}})", "",
       "Service \"web\" in namespace \"default\": spec.ports[0].containerPort: must be between 1 "
       "and 65535"},
      {"unknown fields are errors",
       "{" + svc + R"("metadata":{"name":"web"},"spec":{"colour":"red"}})", "",
       "spec.colour: unknown field"},
  };
  const std::vector<std::string> server_owned = {
      "uid",          "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
      "managedFields"};
  for (const Row& row : rows) {
    INFO(row.what << ": " << row.input);
    Object o = parse(row.input);
    auto kind = manifest_kind(o, kinds());
    REQUIRE(kind.ok());
    auto normalized = normalize_for_write(o, *kind.value(), kinds(), {row.applyset});
    if (!row.error.empty()) {
      REQUIRE(!normalized.ok());
      CHECK(normalized.status().code() == Code::kInvalid);
      CHECK_THAT(joined(write_problems(normalized.status(), o)), Catch::Contains(row.error));
      continue;
    }
    INFO(normalized.status().to_string());
    REQUIRE(normalized.ok());
    CHECK(normalized->resource_version == row.version);
    CHECK(o.ns() == row.ns);
    for (const auto& key : server_owned) CHECK(!o.metadata().contains(key));
    if (!row.contains.empty()) CHECK_THAT(o.to_json(), Catch::Contains(row.contains));
  }
}

TEST_CASE("check_precondition holds without a version or with the stored one",
          "[write_normalization]") {
  struct Row {
    int64_t wanted;
    int64_t stored;     // 0: nothing stored
    std::string error;  // the Conflict's message ends with this; empty: holds
  };
  const std::vector<Row> rows = {
      {0, 5, ""},
      {0, 0, ""},
      {5, 5, ""},
      {4, 5,
       ": the object has been modified; please apply your changes to the latest version and try "
       "again"},
      {6, 5,
       ": the object has been modified; please apply your changes to the latest version and try "
       "again"},
      {5, 0,
       ": the object does not exist (metadata.resourceVersion names a version that is gone); "
       "remove metadata.resourceVersion to create it"},
  };
  Object web = parse(R"({"apiVersion":"cenv.io/v1","kind":"Service",)"
                     R"("metadata":{"name":"web","namespace":"demo"}})");
  for (const Row& row : rows) {
    INFO("wanted " << row.wanted << ", stored " << row.stored);
    Object stored = web;
    stored.set_resource_version(row.stored);
    Status held = check_precondition({row.wanted}, web, row.stored != 0 ? &stored : nullptr);
    if (row.error.empty()) {
      CHECK(held.ok());
      continue;
    }
    CHECK(held.code() == Code::kConflict);
    CHECK(held.message() ==
          "Operation cannot be fulfilled on Service \"web\" in namespace "
          "\"demo\"" +
              row.error);
  }
}

TEST_CASE("write_problems names the object and each field, or says the message alone",
          "[write_normalization]") {
  Object web = parse(R"({"apiVersion":"cenv.io/v1","kind":"Service",)"
                     R"("metadata":{"name":"web","namespace":"demo"}})");
  Object demo = parse(R"({"apiVersion":"cenv.io/v1","kind":"Environment",)"
                      R"("metadata":{"name":"demo"}})");
  CHECK(write_problems(Status::Invalid("kind: Unsupported value"), web) ==
        std::vector<std::string>{"kind: Unsupported value"});
  CHECK(write_problems(
            Status::Invalid("Service \"web\" is invalid", {{"spec.a", "x"}, {"", "whole object"}}),
            web) ==
        std::vector<std::string>{"Service \"web\" in namespace \"demo\": spec.a: x",
                                 "Service \"web\" in namespace \"demo\": whole object"});
  CHECK(write_problems(Status::Invalid("bad", {{"metadata.name", "required"}}), demo) ==
        std::vector<std::string>{"Environment \"demo\": metadata.name: required"});
}

}  // namespace
}  // namespace cenv
