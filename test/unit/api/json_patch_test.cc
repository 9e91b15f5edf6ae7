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

TEST_CASE("json patch refuses a copy bomb: it may add at most kMaxNodesPerDocument nodes",
          "[patch][limits]") {
  // Each copy doubles the document: 40 of them would make 2^40 nodes.
  json::value t = json::parse(R"({"a":[1,2,3,4,5,6,7,8]})");
  json::array patch;
  for (int i = 0; i < 40; ++i) {
    patch.push_back(json::parse(R"({"op":"copy","from":"/a","path":"/b"})"));
    patch.push_back(json::parse(R"({"op":"add","path":"/a/-","value":0})"));
    patch.push_back(json::parse(R"({"op":"copy","from":"/b","path":"/a/-"})"));
  }
  json::value before = t;
  Status s = apply_json_patch(t, patch);
  REQUIRE(s.code() == Code::kInvalid);
  CHECK_THAT(s.message(), Catch::Contains("adds more than the limit of 1000000 nodes"));
  CHECK(t == before);
}

TEST_CASE("json patch moves do not count against the node budget", "[patch][limits]") {
  json::array big;
  for (int i = 0; i < 600'000; ++i) big.push_back(i);
  json::value t = json::object{{"a", big}};
  json::array patch;
  for (int i = 0; i < 4; ++i) {
    patch.push_back(json::parse(i % 2 ? R"({"op":"move","from":"/b","path":"/a"})"
                                      : R"({"op":"move","from":"/a","path":"/b"})"));
  }
  CHECK(apply_json_patch(t, patch).ok());
  CHECK(t.as_object().at("a").as_array().size() == 600'000);
}

TEST_CASE("json patch refuses a result nested deeper than kMaxNestingDepth", "[patch][limits]") {
  // Each add puts 30 more levels below the last: the nesting would grow without bound.
  json::value t = json::object();
  json::value deep = 1;
  for (int i = 0; i < 30; ++i) deep = json::object{{"x", deep}};
  std::string path;
  Status s;
  for (int round = 0; round < 4 && s.ok(); ++round) {
    json::array patch{json::object{{"op", "add"}, {"path", path + "/y"}, {"value", deep}}};
    s = apply_json_patch(t, patch);
    path += "/y";
    for (int i = 0; i < 29; ++i) path += "/x";  // the innermost object
  }
  REQUIRE(s.code() == Code::kInvalid);
  CHECK_THAT(s.message(), Catch::Contains("nest deeper than the limit of 64 levels"));
}

TEST_CASE("json patch refuses more than kMaxJsonPatchOperations operations", "[patch][limits]") {
  json::value t = json::object();
  json::array patch(10'001, json::parse(R"({"op":"test","path":"","value":{}})"));
  Status s = apply_json_patch(t, patch);
  REQUIRE(s.code() == Code::kInvalid);
  CHECK(s.message() == "a JSON patch of 10001 operations is longer than the limit of 10000");
  patch.pop_back();
  CHECK(apply_json_patch(t, patch).ok());
}

}  // namespace
}  // namespace cenv
