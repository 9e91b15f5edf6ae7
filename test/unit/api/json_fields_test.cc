#include "api/json_fields.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

namespace cenv {
namespace {

namespace json = boost::json;

// One object with a field of each JSON type, and a null one.
const json::object& sample() {
  static const json::object kSample = json::parse(R"({
      "s": "text", "empty": "", "i": 7, "neg": -3, "d": 1.0, "big": 18446744073709551615,
      "t": true, "f": false, "n": null,
      "o": {"k": "v"}, "a": ["x", 1, "y", null],
      "m": {"a": "1", "b": 2, "c": null, "d": "4"}})")
                                          .as_object();
  return kSample;
}

TEST_CASE("value_field reads an absent or null field as nullptr", "[json_fields]") {
  CHECK(value_field(sample(), "s") != nullptr);
  CHECK(value_field(sample(), "f") != nullptr);
  CHECK(value_field(sample(), "n") == nullptr);
  CHECK(value_field(sample(), "missing") == nullptr);
}

TEST_CASE("string_field reads only strings and anything else as empty", "[json_fields]") {
  struct Row {
    const char* key;
    std::string_view want;
  };
  for (const Row& row : std::vector<Row>{{"s", "text"},
                                         {"empty", ""},
                                         {"i", ""},
                                         {"t", ""},
                                         {"n", ""},
                                         {"o", ""},
                                         {"missing", ""}}) {
    INFO(row.key);
    CHECK(string_field(sample(), row.key) == row.want);
    CHECK(string_field(&sample(), row.key) == row.want);
  }
  CHECK(string_field(static_cast<const json::object*>(nullptr), "s").empty());
}

TEST_CASE("int64_field reads integers only, not doubles, strings or values above INT64_MAX",
          "[json_fields]") {
  struct Row {
    const char* key;
    std::optional<int64_t> want;
  };
  for (const Row& row : std::vector<Row>{{"i", 7},
                                         {"neg", -3},
                                         {"d", std::nullopt},
                                         {"big", std::nullopt},
                                         {"s", std::nullopt},
                                         {"n", std::nullopt},
                                         {"missing", std::nullopt}}) {
    INFO(row.key);
    CHECK(int64_field(sample(), row.key) == row.want);
    CHECK(int64_field(&sample(), row.key) == row.want);
  }
  // A non-negative integer built in C++ as uint64 reads as int64.
  CHECK(int64_field(json::object{{"u", uint64_t{5}}}, "u") == 5);
  CHECK(int64_field(static_cast<const json::object*>(nullptr), "i") == std::nullopt);
}

TEST_CASE("bool_field is true only for a true boolean", "[json_fields]") {
  CHECK(bool_field(sample(), "t"));
  CHECK_FALSE(bool_field(sample(), "f"));
  CHECK_FALSE(bool_field(sample(), "s"));
  CHECK_FALSE(bool_field(sample(), "i"));
  CHECK_FALSE(bool_field(sample(), "missing"));
  CHECK(bool_field(&sample(), "t"));
  CHECK_FALSE(bool_field(static_cast<const json::object*>(nullptr), "t"));
}

TEST_CASE("object_field and array_field read only their own type", "[json_fields]") {
  REQUIRE(object_field(sample(), "o") != nullptr);
  CHECK(string_field(object_field(sample(), "o"), "k") == "v");
  CHECK(object_field(sample(), "a") == nullptr);
  CHECK(object_field(sample(), "n") == nullptr);
  CHECK(object_field(object_field(sample(), "missing"), "k") == nullptr);
  REQUIRE(array_field(sample(), "a") != nullptr);
  CHECK(array_field(sample(), "a")->size() == 4);
  CHECK(array_field(sample(), "o") == nullptr);
  CHECK(array_field(&sample(), "a") != nullptr);
  CHECK(array_field(static_cast<const json::object*>(nullptr), "a") == nullptr);
}

TEST_CASE("string_list_field keeps the strings of an array in order", "[json_fields]") {
  CHECK(string_list_field(sample(), "a") == std::vector<std::string>{"x", "y"});
  CHECK(string_list_field(sample(), "s").empty());
  CHECK(string_list_field(sample(), "missing").empty());
  CHECK(string_list_field(&sample(), "a") == std::vector<std::string>{"x", "y"});
  CHECK(string_list_field(static_cast<const json::object*>(nullptr), "a").empty());
}

TEST_CASE("string_map_field keeps the string members of an object", "[json_fields]") {
  const std::map<std::string, std::string> want{{"a", "1"}, {"d", "4"}};
  CHECK(string_map_field(sample(), "m") == want);
  CHECK(string_map_field(sample(), "a").empty());
  CHECK(string_map_field(sample(), "n").empty());
  CHECK(string_map_field(sample(), "missing").empty());
  CHECK(string_map_field(&sample(), "m") == want);
  CHECK(string_map_field(static_cast<const json::object*>(nullptr), "m").empty());
}

}  // namespace
}  // namespace cenv
