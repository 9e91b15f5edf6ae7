#include "api/yaml_codec.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace cenv {
namespace {

namespace json = boost::json;

std::vector<Document> parse_ok(std::string_view text, const ParseLimits& limits = {}) {
  auto r = parse_manifest(text, "test.yaml", limits);
  INFO("input: " << text.substr(0, 300));
  INFO("error: " << r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

// The one document's value.
json::value parse_one(std::string_view text) {
  auto docs = parse_ok(text);
  INFO("input: " << text);
  REQUIRE(docs.size() == 1);
  return docs[0].value;
}

std::string parse_error(std::string_view text, const ParseLimits& limits = {}) {
  auto r = parse_manifest(text, "test.yaml", limits);
  INFO("input: " << text.substr(0, 300));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalid);
  return r.status().message();
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// --------------------------------------------------------------------------------------------
// Scalar typing

TEST_CASE("plain, quoted and tagged scalars are typed by the YAML 1.2 core schema",
          "[yaml_codec]") {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  struct Row {
    const char* yaml;  // the value after "v: "
    json::value want;
  };
  const std::vector<Row> rows = {
      {"", nullptr},
      {"~", nullptr},
      {"null", nullptr},
      {"Null", nullptr},
      {"NULL", nullptr},
      {"nULL", "nULL"},
      {"true", true},
      {"True", true},
      {"TRUE", true},
      {"false", false},
      {"False", false},
      {"FALSE", false},
      {"yes", "yes"},  // YAML 1.1 booleans are strings in 1.2
      {"no", "no"},
      {"on", "on"},
      {"off", "off"},
      {"tRUE", "tRUE"},
      {"0", int64_t{0}},
      {"-17", int64_t{-17}},
      {"+5", int64_t{5}},
      {"0777", int64_t{777}},  // no YAML 1.1 octal
      {"0x1F", int64_t{31}},
      {"0xff", int64_t{255}},
      {"0o17", int64_t{15}},
      {"0x", "0x"},
      {"0xG", "0xG"},
      {"0o8", "0o8"},
      {"1_000", "1_000"},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
      {"9223372036854775808", uint64_t{9223372036854775808u}},
      {"18446744073709551615", std::numeric_limits<uint64_t>::max()},
      {"18446744073709551616", 18446744073709551616.0},
      {"-9223372036854775809", -9223372036854775809.0},
      {"1.5", 1.5},
      {"-0.25", -0.25},
      {"1e3", 1000.0},
      {"1E-2", 0.01},
      {"2.5e+2", 250.0},
      {".5", 0.5},
      {"+.5", 0.5},
      {"1.", 1.0},
      {"1e400", kInf},
      {".inf", kInf},
      {"+.Inf", kInf},
      {"-.INF", -kInf},
      {"inf", "inf"},
      {"1e", "1e"},
      {"e3", "e3"},
      {"1.2.3", "1.2.3"},
      {"12:30:00", "12:30:00"},
      {"2024-01-01", "2024-01-01"},
      {"abc", "abc"},
      {"a b  c", "a b  c"},
      {"'123'", "123"},
      {"\"true\"", "true"},
      {"'null'", "null"},
      {"\"\"", ""},
      {"''", ""},
      {"\"a\\tb\\u00e9\"", "a\tb\xC3\xA9"},
      {"'it''s'", "it's"},
      {"!!str 123", "123"},
      {"!!str", ""},
      {"!!str true", "true"},
      {"!!int \"42\"", int64_t{42}},
      {"!!float 1", 1.0},
      {"!!bool 'true'", true},
      {"!!null ''", nullptr},
      {"! 12", "12"},
      {"!custom 12", "12"},
      {"|\n  line1\n  line2\n", "line1\nline2\n"},
      {"|-\n  text\n", "text"},
      {">\n  folded\n  text\n", "folded text\n"},
  };
  for (const auto& row : rows) {
    std::string text = std::string("v: ") + row.yaml + "\n";
    INFO("yaml: " << text);
    json::value got = parse_one(text).at("v");
    INFO("got: " << json::serialize(got) << " want: " << json::serialize(row.want));
    CHECK(got.kind() == row.want.kind());
    CHECK(got == row.want);
  }
}

TEST_CASE("nan scalars become a NaN double", "[yaml_codec]") {
  for (const char* text : {"v: .nan", "v: .NaN", "v: .NAN", "v: !!float .nan"}) {
    INFO(text);
    json::value got = parse_one(text).at("v");
    REQUIRE(got.is_double());
    CHECK(std::isnan(got.get_double()));
  }
  CHECK(parse_one("v: NaN").at("v") == "NaN");
}

TEST_CASE("a scalar whose explicit tag does not fit its text is an error with its line",
          "[yaml_codec]") {
  CHECK(parse_error("a: 1\nb: !!int abc\n") == "test.yaml: line 2: \"abc\" is not a valid !!int");
  CHECK(parse_error("b: !!bool yes\n") == "test.yaml: line 1: \"yes\" is not a valid !!bool");
}

TEST_CASE("mapping keys of any scalar type become their text", "[yaml_codec]") {
  json::value v = parse_one("1: a\ntrue: b\n1.5: c\n'q': d\n~: e\n");
  CHECK(v == json::parse(R"({"1":"a","true":"b","1.5":"c","q":"d","null":"e"})"));
}

TEST_CASE("a collection as a mapping key is an error", "[yaml_codec]") {
  CHECK(parse_error("? [a, b]\n: c\n") == "test.yaml: line 1: mapping keys must be scalars");
  CHECK(parse_error("{[a]: b}\n").find("mapping keys must be scalars") != std::string::npos);
}

// --------------------------------------------------------------------------------------------
// Documents

TEST_CASE("empty and null documents are skipped but keep their numbers", "[yaml_codec]") {
  const std::string text =
      "# header comment\n"  // 1
      "---\n"               // 2  document 1: empty
      "---\n"               // 3  document 2
      "\n"                  // 4
      "kind: A\n"           // 5
      "---\n"               // 6  document 3: only a comment
      "# nothing here\n"    // 7
      "---\n"               // 8  document 4
      "kind: B\n"           // 9
      "...\n"               // 10
      "--- null\n"          // 11 document 5: null
      "--- ~\n"             // 12 document 6: null
      "---\n"               // 13 document 7
      "- x\n"               // 14
      "---\n";              // 15 document 8: empty
  auto docs = parse_ok(text);
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].value == json::parse(R"({"kind":"A"})"));
  CHECK(docs[0].index == 2);
  CHECK(docs[0].line == 5);
  CHECK(docs[1].value == json::parse(R"({"kind":"B"})"));
  CHECK(docs[1].index == 4);
  CHECK(docs[1].line == 9);
  CHECK(docs[2].value == json::parse(R"(["x"])"));
  CHECK(docs[2].index == 7);
  CHECK(docs[2].line == 14);
}

TEST_CASE("a document without a leading marker is document 1 at its first line", "[yaml_codec]") {
  auto docs = parse_ok("\n\n  # c\napiVersion: cenv.io/v1\nkind: Service\n");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].index == 1);
  CHECK(docs[0].line == 4);
}

TEST_CASE("text without documents yields no documents", "[yaml_codec]") {
  for (const char* text :
       {"", "\n\n", "   \n", "# just a comment\n# another\n", "---\n", "---\n...\n"}) {
    INFO(text);
    CHECK(parse_ok(text).empty());
  }
}

TEST_CASE("scalar and list documents are returned as they are", "[yaml_codec]") {
  auto docs = parse_ok("--- hello\n--- 42\n--- [1, 2]\n");
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].value == "hello");
  CHECK(docs[1].value == 42);
  CHECK(docs[2].value == json::parse("[1,2]"));
}

TEST_CASE("anchors and aliases copy the anchored value", "[yaml_codec]") {
  json::value v = parse_one("base: &b {x: 1, y: [a]}\nuse: *b\nname: &n web\nref: *n\n");
  CHECK(v == json::parse(R"({"base":{"x":1,"y":["a"]},"use":{"x":1,"y":["a"]},"name":"web",
                              "ref":"web"})"));
}

TEST_CASE("merge keys bring in the keys the mapping does not set itself", "[yaml_codec]") {
  json::value v = parse_one(
      "defaults: &d {restartPolicy: Always, image: base}\n"
      "extra: &e {image: other, env: {A: '1'}}\n"
      "svc:\n"
      "  image: mine\n"
      "  <<: [*d, *e]\n"
      "  restartPolicy: Never\n");
  CHECK(v.at("svc") == json::parse(R"({"image":"mine","restartPolicy":"Never","env":{"A":"1"}})"));
  CHECK(parse_error("a:\n  <<: 3\n") ==
        "test.yaml: line 2: the merge key \"<<\" needs a mapping or a list of mappings");
  // A quoted "<<" is an ordinary key.
  CHECK(parse_one("'<<': 3\n") == json::parse(R"({"<<":3})"));
}

// --------------------------------------------------------------------------------------------
// Errors

TEST_CASE("duplicate keys are an error naming the key and its line", "[yaml_codec]") {
  struct Row {
    const char* text;
    const char* want;
  };
  const std::vector<Row> rows = {
      {"a: 1\nb: 2\na: 3\n", "test.yaml: line 3: duplicate key \"a\""},
      {"spec:\n  x: 1\n  y: 2\n  x: 3\n", "test.yaml: line 4: duplicate key \"x\""},
      {"{a: 1, b: 2, a: 3}\n", "test.yaml: line 1: duplicate key \"a\""},
      {"- name: a\n  name: b\n", "test.yaml: line 2: duplicate key \"name\""},
      {"{\n  \"a\": 1,\n  \"a\": 2\n}\n", "test.yaml: line 3: duplicate key \"a\""},
      {"1: a\n'1': b\n", "test.yaml: line 2: duplicate key \"1\""},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    CHECK(parse_error(row.text) == row.want);
  }
}

TEST_CASE("malformed YAML is an error with line and column and no library prefix", "[yaml_codec]") {
  struct Row {
    const char* text;
    const char* want;
  };
  const std::vector<Row> rows = {
      {"a: [1, 2\n",
       "test.yaml: line 2, column 1: did not find expected ',' or ']' (while parsing a flow "
       "sequence from line 1, column 4)"},
      {"a: 1\n b: 2\n",
       "test.yaml: line 2, column 3: mapping values are not allowed in this context"},
      {"a: *nope\n", "test.yaml: line 1, column 4: the referenced anchor \"nope\" is not defined"},
      {"a: b: c\n", "test.yaml: line 1, column 5: mapping values are not allowed in this context"},
      {"{\"a\": 1,\n\"b\": [}",
       "test.yaml: line 2, column 7: did not find expected node content (while parsing a flow "
       "node)"},
      {"a: 1\n- b\n",
       "test.yaml: line 2, column 1: did not find expected key (while parsing a block mapping "
       "from line 1, column 1)"},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    std::string msg = parse_error(row.text);
    CHECK(msg == row.want);
    CHECK(msg.find("libyaml") == std::string::npos);
  }
}

TEST_CASE("an alias to the node that contains it is an error", "[yaml_codec]") {
  CHECK(parse_error("a: &x [1, *x]\n") ==
        "test.yaml: line 1: an alias cannot refer to a node that contains it");
}

// --------------------------------------------------------------------------------------------
// Limits

TEST_CASE("text larger than max_bytes is refused before parsing", "[yaml_codec]") {
  ParseLimits limits;
  limits.max_bytes = 10;
  CHECK(parse_error("a: 12345678\n", limits) ==
        "test.yaml: file is 12 bytes, larger than the limit of 10 bytes");
  CHECK(parse_ok("a: 1234567", limits).size() == 1);
}

TEST_CASE("nesting deeper than max_depth is refused with its line", "[yaml_codec]") {
  auto block_maps = [](size_t depth) {
    std::string s;
    for (size_t i = 0; i < depth; ++i) s += std::string(2 * i, ' ') + "k:\n";
    return s + std::string(2 * depth, ' ') + "v\n";
  };
  CHECK(parse_ok(block_maps(63)).size() == 1);  // 63 maps + the scalar: depth 63
  CHECK(parse_ok(block_maps(64)).size() == 1);
  CHECK(parse_error(block_maps(65)) ==
        "test.yaml: line 65: nesting is deeper than the limit of 64 levels");

  ParseLimits limits;
  limits.max_depth = 3;
  struct Row {
    const char* text;
    const char* want;
  };
  const std::vector<Row> rows = {
      {"a: [[1]]\n", nullptr},
      {"a: [[[1]]]\n", "test.yaml: line 1: nesting is deeper than the limit of 3 levels"},
      {"a:\n- - - 1\n", "test.yaml: line 2: nesting is deeper than the limit of 3 levels"},
      {"[[[1]]]", nullptr},
      {"[[[[1]]]]", "test.yaml: line 1: nesting is deeper than the limit of 3 levels"},
      {"\n{\"a\": {\"b\":\n {\"c\": {}}}}",
       "test.yaml: line 3: nesting is deeper than the limit of 3 levels"},
      {"x: |\n  [[[[[[\ny: '[[[[['\nz: \"{{{{{\" # [[[[[\nw: a[[[[[\n", nullptr},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    if (row.want == nullptr) {
      CHECK(parse_ok(row.text, limits).size() == 1);
    } else {
      CHECK(parse_error(row.text, limits) == row.want);
    }
  }
}

TEST_CASE("100000 nested brackets are refused without a crash", "[yaml_codec]") {
  struct Row {
    std::string prefix;
    std::string open;
    const char* want;
  };
  const char* kDepth = "nesting is deeper than the limit of 64 levels";
  const std::vector<Row> rows = {
      {"", "[", kDepth},
      {"", "{", "mapping keys must be scalars"},
      {"", "[{\"k\":", kDepth},
      {"", "- ", kDepth},
      {"a: ", "[", kDepth},
      {"a: ", "{", "mapping keys must be scalars"},
      {"a: ", "[{\"k\":", kDepth},
      {"- ", "[", kDepth},
      {"a:\n  ", "{", "mapping keys must be scalars"},
      {"a:\n  ", "- ", kDepth},
      {"[{\"a\": ", "[", kDepth},
      {"a: ", "- ", "block sequence entries are not allowed in this context"},
  };
  for (const auto& row : rows) {
    std::string text = row.prefix + repeat(row.open, 100000);
    INFO("prefix: " << row.prefix << " open: " << row.open);
    std::string msg = parse_error(text);
    INFO(msg);
    CHECK(msg.find(row.want) != std::string::npos);
  }
}

TEST_CASE("deep nesting under a raised depth limit is read without a crash", "[yaml_codec]") {
  ParseLimits limits;
  limits.max_depth = 100000;
  std::string text = "a: " + repeat("[", 5000) + repeat("]", 5000) + "\n";
  CHECK(parse_ok(text, limits).size() == 1);
}

TEST_CASE("a byte order mark inside the text is an error, not read forever", "[yaml_codec]") {
  // yaml-cpp returned empty documents for ever here (found by fuzz_manifest_decoder).
  CHECK(parse_error("\xEF\xBB\xBF, a\xEF\xBB\xBF\n").starts_with("test.yaml: line 1, column 1: "));
}

TEST_CASE("a YAML string that is not valid UTF-8 is refused, naming the line", "[yaml_codec]") {
  // The schema validator read past a table on such bytes (found by fuzz_manifest_decoder).
  CHECK(parse_error("a: ok\nb: \"x\x8a\x8a\"\n") ==
        "test.yaml: line 2: invalid leading UTF-8 octet (byte 0x8a); a manifest must be UTF-8 "
        "text");
  CHECK(parse_error("\xff: 1\n") ==
        "test.yaml: line 1: invalid leading UTF-8 octet (byte 0xff); a manifest must be UTF-8 "
        "text");
  CHECK(parse_one("a: \"h\xc3\xa9 \xe2\x82\xac\"\n").at("a") == "h\xc3\xa9 \xe2\x82\xac");
}

TEST_CASE("an alias bomb is refused while it expands", "[yaml_codec]") {
  const std::string billion_laughs =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
  CHECK(parse_error("kind: A\n---\n" + billion_laughs) ==
        "test.yaml: document 2: expands to more than 1000000 nodes (alias bomb?)");

  const std::string block_bomb =
      "a: &a\n- x\n- x\n- x\n- x\n- x\n- x\n- x\n- x\n- x\n- x\n"
      "b: &b\n- *a\n- *a\n- *a\n- *a\n- *a\n- *a\n- *a\n- *a\n- *a\n- *a\n"
      "c: &c\n- *b\n- *b\n- *b\n- *b\n- *b\n- *b\n- *b\n- *b\n- *b\n- *b\n"
      "d: &d\n- *c\n- *c\n- *c\n- *c\n- *c\n- *c\n- *c\n- *c\n- *c\n- *c\n";
  ParseLimits limits;
  limits.max_nodes_per_document = 5000;
  CHECK(parse_error(block_bomb, limits) ==
        "test.yaml: document 1: expands to more than 5000 nodes (alias bomb?)");
  limits.max_nodes_per_document = 20000;
  CHECK(parse_ok(block_bomb, limits).size() == 1);
}

TEST_CASE("node counts are limited across all documents", "[yaml_codec]") {
  ParseLimits limits;
  limits.max_total_nodes = 9;
  CHECK(parse_ok("a: [1, 2]\n---\nb: [3, 4]\n", limits).size() == 2);  // 4 + 4 nodes
  CHECK(parse_error("a: [1, 2]\n---\nb: [3, 4]\n---\nc: 5\n", limits) ==
        "test.yaml: has more than 9 nodes in all documents");
}

TEST_CASE("scalars longer than max_scalar_bytes are refused", "[yaml_codec]") {
  ParseLimits limits;
  limits.max_scalar_bytes = 8;
  CHECK(parse_ok("k: '12345678'\n", limits).size() == 1);
  CHECK(parse_error("k: ok\nv: '123456789'\n", limits) ==
        "test.yaml: line 2: a scalar of 9 bytes is longer than the limit of 8 bytes");
  CHECK(parse_error("k: ok\n123456789: v\n", limits) ==
        "test.yaml: line 2: a scalar of 9 bytes is longer than the limit of 8 bytes");
  CHECK(parse_error("{\"k\":\n\"123456789\"}", limits) ==
        "test.yaml: line 2: a scalar of 9 bytes is longer than the limit of 8 bytes");
}

TEST_CASE("large nested flow collections in YAML are read", "[yaml_codec]") {
  std::string items = repeat("1,", 150000) + "1";
  CHECK(parse_ok("- [[" + items + "]]\n")[0].value.at(0).at(0).as_array().size() == 150001);
  CHECK(parse_ok("x: [" + items + "]\n")[0].value.at("x").as_array().size() == 150001);
  CHECK(parse_ok("[[" + items + "]]")[0].value.at(0).as_array().size() == 150001);
}

TEST_CASE("a stream of many flow-style documents is read document by document", "[yaml_codec]") {
  // 5,000 small JSON documents, about 600 KiB in all: each opens a top-level flow mapping.
  std::string stream;
  for (int i = 0; i < 5000; ++i) {
    if (i > 0) stream += "---\n";
    stream += R"({"apiVersion":"cenv.io/v1","kind":"Service","metadata":{"name":"web-)" +
              std::to_string(i) +
              R"("},"spec":{"image":"nginx:1.27","ports":[{"containerPort":80}],"env":{"A":"1"}}})"
              "\n";
  }
  auto docs = parse_ok(stream);
  REQUIRE(docs.size() == 5000);
  CHECK(docs[4999].index == 5000);
  CHECK(docs[4999].value.at("metadata").at("name") == "web-4999");
  // Documents ended by "..." too (the next one starts with "---", as YAML 1.1 wants).
  CHECK(parse_ok(repeat("---\n{\"a\": [" + repeat("1,", 1000) + "1]}\n...\n", 200)).size() == 200);
}

TEST_CASE("control characters of the source name are escaped in errors", "[yaml_codec]") {
  auto r = parse_manifest("a: 1\na: 2\n", "dir/\x1b[31mx\n.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "dir/\\x1b[31mx\\n.yaml: line 2: duplicate key \"a\"");
}

// --------------------------------------------------------------------------------------------
// JSON

TEST_CASE("a JSON file is one document and Lists are not expanded", "[yaml_codec]") {
  struct Row {
    const char* text;
    int line;
  };
  const std::vector<Row> rows = {
      {R"({"kind":"List","items":[{"kind":"A"},{"kind":"B"}]})", 1},
      {"\n\n  [{\"kind\":\"A\"}, {\"kind\":\"B\"}]\n", 3},
      {"\xEF\xBB\xBF{\"a\": [1, 2.5, \"x\", null, true, {}]}", 1},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    auto docs = parse_ok(row.text);
    REQUIRE(docs.size() == 1);
    CHECK(docs[0].index == 1);
    CHECK(docs[0].line == row.line);
    std::string body = row.text;
    if (body.starts_with("\xEF\xBB\xBF")) body = body.substr(3);
    CHECK(docs[0].value == json::parse(body));
  }
}

TEST_CASE("text that starts like JSON but is not JSON is read as YAML", "[yaml_codec]") {
  CHECK(parse_one("{a: 1, b: [x, y]}") == json::parse(R"({"a":1,"b":["x","y"]})"));
  auto docs = parse_ok("{\"a\": 1}\n---\n{\"b\": 2}\n");
  REQUIRE(docs.size() == 2);
  CHECK(docs[1].value == json::parse(R"({"b":2})"));
  CHECK(docs[1].line == 3);
  CHECK(parse_one("[1, 2] # trailing comment\n") == json::parse("[1,2]"));
  CHECK(parse_error("{\"a\": 1\n\"b\": 2}") ==
        "test.yaml: line 2, column 4: did not find expected ',' or '}' (while parsing a flow "
        "mapping from line 1, column 1)");
}

TEST_CASE("JSON and YAML give the same numbers", "[yaml_codec]") {
  const char* text =
      R"({"i": -5, "u": 18446744073709551615, "d": 1.5, "e": 1e3, "big": 1e400, "z": 0})";
  json::value from_json = parse_one(text);
  json::value from_yaml = parse_one(std::string(text) + "\n# yaml\n---\n");
  CHECK(from_json == from_yaml);
  CHECK(from_json.at("e").is_double());
  CHECK(from_yaml.at("e").is_double());
}

// --------------------------------------------------------------------------------------------
// Files

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("cenv-yaml-codec-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = (path / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

TEST_CASE("read_manifest_file parses a file and names it in errors", "[yaml_codec]") {
  TempDir dir;
  std::string good = dir.write("good.yaml", "kind: A\n---\nkind: B\n");
  auto docs = read_manifest_file(good);
  REQUIRE(docs.ok());
  CHECK(docs->size() == 2);

  std::string bad = dir.write("bad.yaml", "a: 1\na: 2\n");
  auto r = read_manifest_file(bad);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == bad + ": line 2: duplicate key \"a\"");
}

TEST_CASE("read_manifest_file of empty or comment-only files returns no documents",
          "[yaml_codec]") {
  TempDir dir;
  for (const char* text : {"", "\n", "# nothing\n"}) {
    auto r = read_manifest_file(dir.write("empty.yaml", text));
    REQUIRE(r.ok());
    CHECK(r->empty());
  }
}

TEST_CASE("read_manifest_file refuses missing paths, directories and large files", "[yaml_codec]") {
  TempDir dir;
  std::string missing = (dir.path / "missing.yaml").string();
  auto r = read_manifest_file(missing);
  CHECK(r.status().code() == Code::kNotFound);
  CHECK(r.status().message() == missing + ": no such file");

  r = read_manifest_file(dir.path.string());
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(r.status().message() == dir.path.string() + ": is a directory, not a file");

  ParseLimits limits;
  limits.max_bytes = 4;
  std::string big = dir.write("big.yaml", "a: 12345\n");
  r = read_manifest_file(big, limits);
  CHECK(r.status().code() == Code::kInvalid);
  CHECK(r.status().message() == big + ": file is 9 bytes, larger than the limit of 4 bytes");
}

// --------------------------------------------------------------------------------------------
// Writing

TEST_CASE("to_yaml writes block style like kubectl", "[yaml_codec]") {
  json::value v = json::parse(R"({
    "apiVersion": "cenv.io/v1",
    "kind": "Service",
    "metadata": {"name": "web", "labels": {}, "annotations": {"example.com/x": "true"}},
    "spec": {
      "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
      "args": [],
      "command": ["sh", "-c", "echo hi\necho there\n"],
      "matrix": [[1, 2], [], [[3]]],
      "env": {"EMPTY": "", "NUM": "8080", "ratio": 0.5, "on": null, "flag": false}
    }
  })");
  const std::string want =
      "apiVersion: cenv.io/v1\n"
      "kind: Service\n"
      "metadata:\n"
      "  name: web\n"
      "  labels: {}\n"
      "  annotations:\n"
      "    example.com/x: \"true\"\n"
      "spec:\n"
      "  ports:\n"
      "  - containerPort: 80\n"
      "    protocol: TCP\n"
      "  - containerPort: 443\n"
      "  args: []\n"
      "  command:\n"
      "  - sh\n"
      "  - -c\n"
      "  - |\n"
      "    echo hi\n"
      "    echo there\n"
      "  matrix:\n"
      "  - - 1\n"
      "    - 2\n"
      "  - []\n"
      "  - - - 3\n"
      "  env:\n"
      "    EMPTY: \"\"\n"
      "    NUM: \"8080\"\n"
      "    ratio: 0.5\n"
      "    \"on\": null\n"
      "    flag: false\n";
  CHECK(to_yaml(v) == want);
}

TEST_CASE("to_yaml quotes strings only when they would read back differently", "[yaml_codec]") {
  struct Row {
    const char* value;
    const char* want;  // the line written for {"k": value}
  };
  const std::vector<Row> rows = {
      {"plain", "k: plain"},
      {"with spaces inside", "k: with spaces inside"},
      {"http://example.com/a?b=c#frag", "k: http://example.com/a?b=c#frag"},
      {"a:b", "k: a:b"},
      {"-Xmx1g", "k: -Xmx1g"},
      {"it's", "k: it's"},
      {"héllo wörld", "k: héllo wörld"},
      {"", "k: \"\""},
      {"true", "k: \"true\""},
      {"False", "k: \"False\""},
      {"yes", "k: \"yes\""},
      {"null", "k: \"null\""},
      {"~", "k: \"~\""},
      {"123", "k: \"123\""},
      {"1.5", "k: \"1.5\""},
      {"0x1F", "k: \"0x1F\""},
      {".inf", "k: \".inf\""},
      {"1_000", "k: \"1_000\""},
      {"2024-01-01", "k: \"2024-01-01\""},
      {" lead", "k: \" lead\""},
      {"trail ", "k: \"trail \""},
      {"a: b", "k: \"a: b\""},
      {"end:", "k: \"end:\""},
      {"a #b", "k: \"a #b\""},
      {"#x", "k: \"#x\""},
      {"- x", "k: \"- x\""},
      {"-", "k: \"-\""},
      {"---", "k: \"---\""},
      {"*x", "k: \"*x\""},
      {"&x", "k: \"&x\""},
      {"!x", "k: \"!x\""},
      {"{x", "k: \"{x\""},
      {"[x", "k: \"[x\""},
      {"|x", "k: \"|x\""},
      {">x", "k: \">x\""},
      {"'x'", "k: \"'x'\""},
      {"\"x\"", "k: \"\\\"x\\\"\""},
      {"%x", "k: \"%x\""},
      {"@x", "k: \"@x\""},
      {"?x", "k: \"?x\""},
      {"<<", "k: \"<<\""},
      {"tab\there", "k: \"tab\\there\""},
      {"cr\rlf", "k: \"cr\\rlf\""},
      {"bell\x07", "k: \"bell\\x07\""},
      {"\xE2\x80\xA8", "k: \"\\u2028\""},
  };
  for (const auto& row : rows) {
    json::value v = {{"k", row.value}};
    INFO("value: " << json::serialize(v));
    CHECK(to_yaml(v) == std::string(row.want) + "\n");
  }
}

TEST_CASE("to_yaml writes multi-line strings as literal blocks with the right chomping",
          "[yaml_codec]") {
  struct Row {
    const char* value;
    const char* want;
  };
  const std::vector<Row> rows = {
      {"a\nb", "k: |-\n  a\n  b\n"},
      {"a\nb\n", "k: |\n  a\n  b\n"},
      {"a\nb\n\n", "k: |+\n  a\n  b\n\n"},
      {"a\n\nb", "k: |-\n  a\n\n  b\n"},
      {"a\n  indented\n", "k: |\n  a\n    indented\n"},
      {" a\nb", "k: \" a\\nb\"\n"},  // leading space: indentation would be lost
      {"a \nb", "k: \"a \\nb\"\n"},  // trailing space on a line
      {"\na", "k: \"\\na\"\n"},      // empty first line
      {"\n", "k: \"\\n\"\n"},
  };
  for (const auto& row : rows) {
    json::value v = {{"k", row.value}};
    INFO("value: " << json::serialize(v));
    CHECK(to_yaml(v) == row.want);
  }
}

TEST_CASE("to_yaml of scalars and empty collections at the top", "[yaml_codec]") {
  CHECK(to_yaml(json::value(nullptr)) == "null\n");
  CHECK(to_yaml(json::object()) == "{}\n");
  CHECK(to_yaml(json::array()) == "[]\n");
  CHECK(to_yaml(json::value(1.0)) == "1.0\n");
  CHECK(to_yaml(json::value("x")) == "x\n");
  CHECK(to_yaml(json::parse("[1, {\"a\": 2, \"b\": 3}]")) == "- 1\n- a: 2\n  b: 3\n");
}

void check_round_trip(const json::value& v) {
  std::string yaml = to_yaml(v);
  INFO("value: " << json::serialize(v));
  INFO("yaml:\n" << yaml);
  auto r = parse_manifest(yaml, "round-trip");
  INFO("error: " << r.status().to_string());
  REQUIRE(r.ok());
  if (v.is_null()) {
    CHECK(r->empty());  // a null document is skipped
    return;
  }
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].value == v);
  CHECK(json::serialize((*r)[0].value) == json::serialize(v));  // kinds and key order too
}

TEST_CASE("to_yaml output parses back to the same value", "[yaml_codec]") {
  const std::string long_key(2000, 'k');
  const std::vector<std::string> texts = {
      R"({"a": 1, "b": [1, 2, 3], "c": {"d": {"e": [{"f": []}, {}]}}})",
      R"([[[]], [[1, [2, []]]], {}, [{}], [[{}]], [{"a": []}], [[{"a": {"b": [[]]}}]]])",
      R"({"nums": [0, -1, 9223372036854775807, -9223372036854775808, 18446744073709551615,
                   1.0, -0.0, 0.1, 1.5e300, 1e-300, 123456789.0, 2.5, -3.75e-5]})",
      R"({"unicode": "héllo wörld ✓ 日本語 😀", "日本": "キー", "emoji 😀": ["😀"]})",
      R"({"": "", "a: b": 1, "- x": 2, "true": 3, "1": 4, "#": 5, "key \"q\"": 6,
          "line\nbreak": 7, "  spaced  ": 8, "null": null, "~": "~", "<<": "<<"})",
      R"({"script": "#!/bin/sh\nset -e\necho \"hi\" # comment\n\tindented with tab\nend\n",
          "keep": "a\n\n\n", "strip": "x\ny", "tabs": "a\tb\nc\td",
          "crlf": "a\r\nb\r\n", "lone": "\n\n", "sp": " \n "})",
      R"({"list": ["- a", "? b", ": c", "[x]", "{y}", "a, b", "!tag", "&anchor", "*alias",
                   "|", ">", "'", "\"", "`", "@", "%", "---", "...", "--- x", "... y",
                   "0o7", "0x1f", "1e3", ".5", "+1", "-.inf", ".nan", "NaN", "0777", "1_0",
                   "12:30", "y", "N", "Yes", "OFF", "a #b", "a#b", "a:b", "a: b", "\\",
                   "\u0001\u007f\u0085\u00a0\u2028\u2029\ufeff", "\u0000nul"]})",
      R"([["a", ["b", ["c", ["d"]]]], {"x": [{"y": [{"z": "w"}]}]}])",
      R"("top-level string")",
      R"("multi\nline top")",
      R"(42)",
      R"(null)",
      R"(true)",
      R"([])",
      R"({})",
  };
  for (const auto& text : texts) check_round_trip(json::parse(text));

  json::object long_keys;
  long_keys[long_key] = "v";
  long_keys["nested " + long_key] = json::parse(R"({"a": [1, 2], "b": {"c": 1}})");
  long_keys["list " + long_key] = json::parse(R"([1, [2], {"x": 1}])");
  check_round_trip(long_keys);
  check_round_trip(json::array{long_keys});

  constexpr double kInf = std::numeric_limits<double>::infinity();
  check_round_trip(json::array{kInf, -kInf, 1e308, 5e-324, 0.30000000000000004});
}

TEST_CASE(
    "to_yaml round-trips random strings of YAML-significant characters as values, keys "
    "and items",
    "[yaml_codec]") {
  const std::vector<std::string> alphabet = {" ",   " ",    ":",    "#",   "-",
                                             "\n",  "\n",   "\t",   "'",   "\"",
                                             "\\",  "[",    "]",    "{",   "}",
                                             ",",   "a",    "b",    "1",   "0",
                                             ".",   "e",    "x",    "é",   "\xE2\x80\xA8",
                                             "|",   ">",    "!",    "&",   "*",
                                             "?",   "%",    "@",    "`",   "~",
                                             "\r",  "\x01", "<",    "=",   "😀",
                                             "---", "...",  "true", "null"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> length(0, 10);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    for (size_t n = length(rng); n > 0; --n) s += alphabet[pick(rng)];
    json::object obj;
    obj["v"] = s;
    obj[s] = "key";
    obj["list"] = json::array{s, json::array{s}, json::object{{s, s}}};
    check_round_trip(obj);
  }
}

TEST_CASE("to_json_text writes compact or two-space indented JSON in key order", "[yaml_codec]") {
  json::value v = json::parse(R"({"b": 1, "a": [1, {"x": "y\n"}, [], {}], "c": 1.0, "d": null})");
  CHECK(to_json_text(v, false) == R"({"b":1,"a":[1,{"x":"y\n"},[],{}],"c":1.0,"d":null})");
  CHECK(to_json_text(v, true) ==
        "{\n"
        "  \"b\": 1,\n"
        "  \"a\": [\n"
        "    1,\n"
        "    {\n"
        "      \"x\": \"y\\n\"\n"
        "    },\n"
        "    [],\n"
        "    {}\n"
        "  ],\n"
        "  \"c\": 1.0,\n"
        "  \"d\": null\n"
        "}\n");
  CHECK(to_json_text(json::object(), true) == "{}\n");
  CHECK(json::parse(to_json_text(v, true)) == v);
}

}  // namespace
}  // namespace cenv
