#include "api/object.h"

#include <catch2/catch.hpp>
#include <string>

#include "api/limits.h"
#include "api/yaml_codec.h"

namespace cenv {
namespace {

// {"kind":"X","spec":{"a":{"a":...1...}}}: an object nesting `levels` deep in all.
std::string nested_object(size_t levels) {
  std::string open, close;
  for (size_t i = 2; i < levels; ++i) {
    open += R"({"a":)";
    close += "}";
  }
  return R"({"kind":"X","spec":)" + open + "{\"a\":1}" + close + "}";
}

TEST_CASE("Object::from_json accepts nesting up to kMaxNestingDepth, as manifests do",
          "[object][limits]") {
  // Boost.JSON's own default (32 levels) refused objects that manifests allow.
  for (size_t levels : {size_t{33}, size_t{50}, kMaxNestingDepth}) {
    INFO(levels);
    std::string text = nested_object(levels);
    auto manifest = parse_manifest(text, "deep.json");
    REQUIRE(manifest.ok());
    auto obj = Object::from_json(boost::json::serialize(manifest->front().value));
    CHECK(obj.ok());
  }
}

TEST_CASE("Object::from_json refuses deeper nesting and larger text, naming the limit",
          "[object][limits]") {
  auto deep = Object::from_json(nested_object(kMaxNestingDepth + 1));
  REQUIRE(deep.status().code() == Code::kInvalid);
  CHECK(deep.status().message() == "object nests deeper than the limit of 64 levels");

  std::string big = R"({"kind":"X","pad":")" + std::string(kMaxObjectBytes, 'x') + "\"}";
  auto large = Object::from_json(big);
  REQUIRE(large.status().code() == Code::kInvalid);
  CHECK(large.status().message() == "object is " + std::to_string(big.size()) +
                                        " bytes of JSON, larger than the limit of 16777216 bytes");
}

TEST_CASE("Object::from_json refuses what is not one JSON object", "[object]") {
  CHECK(Object::from_json("[1]").status().message() == "object is not a JSON object");
  CHECK(Object::from_json("{").status().code() == Code::kInvalid);
}

TEST_CASE("numbers survive serializing and reading again unchanged", "[object]") {
  // Boost.JSON 1.81 read 1.86666666E62 as the double after the right one and wrote that as
  // 1.8666666600000002E62, which it read back as the right one: every store round trip flipped it.
  for (const char* number : {"1.86666666E62", "1.8666666600000002E62",
                             "186666666000000000000000000000000000000000000876700727461455967",
                             "0.1", "-2.5e-300", "1e308"}) {
    INFO(number);
    std::string text = std::string(R"({"kind":"X","spec":{"n":)") + number + "}}";
    auto first = Object::from_json(text);
    REQUIRE(first.ok());
    auto again = Object::from_json(first->to_json());
    REQUIRE(again.ok());
    CHECK(again.value() == first.value());
    auto manifest = parse_manifest(text, "n.json");
    REQUIRE(manifest.ok());
    CHECK(manifest->front().value == boost::json::value(first->json()));
  }
  auto exact = Object::from_json(R"({"n":1.86666666E62})");
  REQUIRE(exact.ok());
  CHECK(exact->json().at("n").as_double() == 1.86666666E62);
}

TEST_CASE("a number out of double's range is refused, naming it", "[object]") {
  for (const char* number : {"5e880", "-5e880", "1e-400"}) {
    INFO(number);
    std::string text = std::string(R"({"n":)") + number + "}";
    auto object = Object::from_json(text);
    CHECK(object.status().message() == std::string("object is not valid JSON: the number ") +
                                           number + " is out of the range of a double");
  }
}

}  // namespace
}  // namespace cenv
