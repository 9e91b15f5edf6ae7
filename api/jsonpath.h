#pragma once
// A kubectl-style JSONPath evaluator, for printer columns (crds/ additionalPrinterColumns) and
// `cenv wait --for=jsonpath=...`. Supported syntax, braces and a leading `$` optional:
//   .status.phase            field               ['my.key'] / ["k"]   field by quoted name
//   .spec.ports[0]           index (negative counts from the end)   [1:3]  slice (end excluded)
//   .spec.ports[*] / .*      every element or member                 ..name recursive descent
//   .metadata.labels.app\.kubernetes\.io/name    `\` escapes a character in a field name
//   .status.conditions[?(@.type=="Ready")].status   filter: ==, !=, <, <=, >, >= against a
//       string ('..' or ".."), number, true, false or null literal; [?(@.field)] tests presence.
// A parsed JsonPath is immutable and thread-safe.

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv {

class JsonPath {
 public:
  // Parses an expression; Invalid ("invalid JSONPath "<expr>": <what> at position N", N the
  // 0-based offset into `expr`) on a syntax error.
  static Result<JsonPath> parse(std::string_view expr);

  // Every value the expression selects in `root`, in document order. Empty when nothing
  // matches (a missing field is not an error). Pointers point into `root`.
  std::vector<const boost::json::value*> eval(const boost::json::value& root) const;

  // The expression as given to parse().
  const std::string& text() const { return text_; }

  // The path's leading steps as schema elements, to check field names against a schema: a
  // field step gives its name, an index, slice, wildcard or filter step gives "[]" (into the
  // items of a list). Ends before the first recursive step (`..`) or wildcard over members.
  std::vector<std::string> schema_path() const;

  struct Step;  // one parsed step (defined in jsonpath.cc)

 private:
  JsonPath() = default;
  std::string text_;
  std::shared_ptr<const std::vector<Step>> steps_;
};

// One value as kubectl prints it: strings bare, numbers and booleans as text, null as "null",
// objects and arrays as compact JSON.
std::string jsonpath_text(const boost::json::value& v);
// Several results joined by single spaces ("" when empty).
std::string jsonpath_text(const std::vector<const boost::json::value*>& values);

}  // namespace cenv
