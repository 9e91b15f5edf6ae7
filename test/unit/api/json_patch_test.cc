#include "api/json_patch.h"

#include <catch2/catch.hpp>

namespace cenv {
namespace {

namespace json = boost::json;

TEST_CASE("merge patch merges objects, replaces values and removes with null", "[patch]") {
  struct Row {
    const char* target;
    const char* patch;
    const char* want;
  };
  const Row rows[] = {
      {R"({"a":1})", R"({"a":2})", R"({"a":2})"},
      {R"({"a":{"b":1,"c":2}})", R"({"a":{"b":null}})", R"({"a":{"c":2}})"},
      {R"({"a":[1,2]})", R"({"a":[3]})", R"({"a":[3]})"},
      {R"({})", R"({"a":{"b":{"c":1}}})", R"({"a":{"b":{"c":1}}})"},
      {R"({"a":1})", R"("x")", R"("x")"},
  };
  for (const Row& r : rows) {
    INFO(r.target << " + " << r.patch);
    json::value t = json::parse(r.target);
    apply_merge_patch(t, json::parse(r.patch));
    CHECK(t == json::parse(r.want));
  }
}

TEST_CASE("json patch applies each op, all or nothing", "[patch]") {
  struct Row {
    const char* patch;
    const char* want;  // nullptr: must fail and leave the target unchanged
  };
  const char* target = R"({"spec":{"image":"a","ports":[{"p":1},{"p":2}]},"x~y":{"a/b":1}})";
  const Row rows[] = {
      {R"([{"op":"replace","path":"/spec/image","value":"b"}])",
       R"({"spec":{"image":"b","ports":[{"p":1},{"p":2}]},"x~y":{"a/b":1}})"},
      {R"([{"op":"add","path":"/spec/ports/-","value":{"p":3}}])",
       R"({"spec":{"image":"a","ports":[{"p":1},{"p":2},{"p":3}]},"x~y":{"a/b":1}})"},
      {R"([{"op":"remove","path":"/spec/ports/0"}])",
       R"({"spec":{"image":"a","ports":[{"p":2}]},"x~y":{"a/b":1}})"},
      {R"([{"op":"remove","path":"/x~0y/a~1b"}])",
       R"({"spec":{"image":"a","ports":[{"p":1},{"p":2}]},"x~y":{}})"},
      {R"([{"op":"test","path":"/spec/image","value":"a"},{"op":"copy","from":"/spec/image","path":"/img"}])",
       R"({"spec":{"image":"a","ports":[{"p":1},{"p":2}]},"x~y":{"a/b":1},"img":"a"})"},
      {R"([{"op":"replace","path":"/spec/image","value":"b"},{"op":"test","path":"/spec/image","value":"a"}])",
       nullptr},
      {R"([{"op":"remove","path":"/spec/missing"}])", nullptr},
      {R"([{"op":"frobnicate","path":"/spec"}])", nullptr},
      {R"([{"op":"add","path":"spec","value":1}])", nullptr},
      {R"({"op":"add"})", nullptr},
  };
  for (const Row& r : rows) {
    INFO(r.patch);
    json::value t = json::parse(target);
    Status s = apply_json_patch(t, json::parse(r.patch));
    if (r.want) {
      CHECK(s.ok());
      CHECK(t == json::parse(r.want));
    } else {
      CHECK(s.code() == Code::kInvalid);
      CHECK(t == json::parse(target));
    }
  }
}

TEST_CASE("json patch errors name the operation, with control characters escaped", "[patch]") {
  json::value t = json::parse(R"({"spec":{}})");
  Status s = apply_json_patch(t, json::parse(R"([{"op":"fr\u0000b\n","path":"/spec\t"}])"));
  CHECK(s.code() == Code::kInvalid);
  CHECK(
      s.message() ==
      "operation 0 (fr\\x00b\\n /spec\\t): unknown op \"fr\\x00b\\n\" (add, remove, replace, move, "
      "copy, test)");
}

}  // namespace
}  // namespace cenv
