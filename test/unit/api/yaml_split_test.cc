#include "api/yaml_split.h"

#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "api/yaml_reader.h"

namespace cenv {
namespace {

namespace json = boost::json;

constexpr size_t kPart = 256 * 1024;  // yaml_reader.cc's smallest part

// One Service document (11 lines, "---" first), with a block scalar that ends at the next "---".
std::string service_document(int n) {
  return "---\napiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: svc-" + std::to_string(n) +
         "\nspec:\n  note: |\n    first line\n    second line\n  ports:\n" +
         "    - containerPort: " + std::to_string(8000 + n % 1000) + "\n";
}

// `count` documents, an empty one after every 1000th.
std::string large_manifest(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i) {
    text += service_document(i);
    if (i % 1000 == 0) text += "---\n";
  }
  return text;
}

// `message` with each "line N" told `by` lines later.
std::string shift_lines(const std::string& message, int by) {
  std::string out;
  std::smatch m;
  std::string rest = message;
  static const std::regex kLine("line ([0-9]+)");
  while (std::regex_search(rest, m, kLine)) {
    out += m.prefix().str() + "line " + std::to_string(std::stoi(m[1].str()) + by);
    rest = m.suffix().str();
  }
  return out + rest;
}

TEST_CASE("yaml_cut_points cuts only at document starts of plain ASCII text", "[yaml]") {
  const std::string text = large_manifest(8000);
  auto cuts = yaml_cut_points(text, 4, kPart);
  REQUIRE(cuts.size() == 3);
  size_t last = 0;
  for (size_t cut : cuts) {
    INFO(cut);
    CHECK(cut >= last + kPart);
    CHECK(text.compare(cut - 1, 5, "\n---\n") == 0);
    last = cut;
  }
  CHECK(text.size() - last >= kPart);

  struct Row {
    const char* why;
    std::string text;
  };
  const std::string filler(kPart, 'x');
  for (const Row& row : std::vector<Row>{
           {"too small", large_manifest(10)},
           {"a carriage return", large_manifest(8000) + "a: b\r\n"},
           {"a byte that is not ASCII", "n: \xc3\xa9\n" + large_manifest(8000)},
           {"no line that starts a document", "a: |\n  " + filler + "\n  ---\nb: |\n  " + filler},
           {"\"---\" followed by more than a blank", "a: " + filler + "\n---x: 1\nb: " + filler},
       }) {
    INFO(row.why);
    CHECK(yaml_cut_points(row.text, 4, kPart).empty());
  }
  // The one document start past the middle, with a whole part after it.
  CHECK(yaml_cut_points("a: " + filler + filler + "\n--- \nb: " + filler, 2, kPart).size() == 1);
  CHECK(yaml_cut_points("a: " + filler + filler + "\n---\tb: " + filler, 2, kPart).size() == 1);
}

TEST_CASE("a large manifest read in parts has the documents, numbers and lines of a whole read",
          "[yaml]") {
  const int count = 8000;
  const std::string text = large_manifest(count);
  REQUIRE(yaml_cut_points(text, 2, kPart).size() == 1);
  auto docs = parse_manifest(text, "big.yaml");
  REQUIRE(docs.ok());
  REQUIRE(docs->size() == static_cast<size_t>(count));
  int line = 1;
  int index = 0;
  for (int i = 1; i <= count; ++i) {
    const Document& d = docs.value()[static_cast<size_t>(i - 1)];
    ++index;
    INFO("document " << i);
    CHECK(d.index == index);
    CHECK(d.line == line + 1);  // the line after "---"
    auto alone = parse_manifest(service_document(i), "one.yaml");
    REQUIRE(alone.ok());
    CHECK(d.value == alone->front().value);
    line += 11;
    if (i % 1000 == 0) {
      ++index;  // the empty document is counted, not returned
      ++line;
    }
  }
}

TEST_CASE("an error in a later part of a large manifest is told as a whole read tells it",
          "[yaml]") {
  const int count = 8000;
  const std::string text = large_manifest(count);
  const int lines = 11 * count + count / 1000;
  // A mapping key repeated, and a syntax error (a tab where indentation is expected).
  auto duplicate = parse_manifest(text + "---\na: 1\na: 2\n", "big.yaml");
  CHECK(duplicate.status().message() ==
        "big.yaml: line " + std::to_string(lines + 3) + ": duplicate key \"a\"");
  auto syntax = parse_manifest(text + "---\na:\n\t- b\n", "big.yaml");
  auto syntax_small = parse_manifest("---\na:\n\t- b\n", "big.yaml");
  REQUIRE_FALSE(syntax_small.ok());
  CHECK(syntax.status().message() == shift_lines(syntax_small.status().message(), lines));
  // An error in the first part, with a later part that is fine, is the first part's.
  auto early = parse_manifest("---\na: [\n" + text, "big.yaml");
  auto early_small = parse_manifest("---\na: [\n" + service_document(1), "big.yaml");
  REQUIRE_FALSE(early_small.ok());
  CHECK(early.status().message() == early_small.status().message());
}

TEST_CASE("the node limit counts the nodes of every part of a large manifest together", "[yaml]") {
  // The nodes of one document: the smallest limit it is read under.
  const std::string one = service_document(1);
  size_t per_document = 1;
  ParseLimits limits;
  for (;; ++per_document) {
    limits.max_total_nodes = per_document;
    if (parse_manifest(one, "one.yaml", limits).ok()) break;
    REQUIRE(per_document < 100);
  }
  const int count = 8000;
  std::string text;
  for (int i = 1; i <= count; ++i) text += service_document(i);
  REQUIRE(yaml_cut_points(text, 2, kPart).size() == 1);
  limits.max_total_nodes = per_document * count;
  CHECK(parse_manifest(text, "big.yaml", limits).ok());
  limits.max_total_nodes = per_document * count - 1;
  CHECK(parse_manifest(text, "big.yaml", limits).status().message() ==
        "big.yaml: has more than " + std::to_string(limits.max_total_nodes) +
            " nodes in all documents");
}

}  // namespace
}  // namespace cenv
