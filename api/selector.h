#pragma once
// Label selectors as kubectl writes them: "app=web,tier!=db,env in (a,b),!legacy,release".

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv {

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  // Parses a selector; an empty string selects everything. Invalid with the offending part.
  static Result<LabelSelector> parse(std::string_view text);

  // True when every requirement holds for `labels` (nullptr means no labels).
  bool matches(const boost::json::object* labels) const;
  bool empty() const { return reqs_.empty(); }
  const std::vector<Requirement>& requirements() const { return reqs_; }
  // Canonical text form, parseable by parse().
  std::string to_string() const;

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace cenv
